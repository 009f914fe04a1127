"""The ``allocate`` command line: parse, call the library, render.

``allocate SCENARIO.yaml`` is short for ``allocate run SCENARIO.yaml``. Every error a user can
cause is an :class:`~allocator.core.errors.AllocatorError`; the group turns it into one message on
stderr and the error's exit code (2 for bad input, 130 for Ctrl-C), never a traceback.

Commands live in :mod:`allocator.commands`, one module per area; each module exposes
``COMMANDS``, and :data:`COMMAND_MODULES` lists the modules in the order ``--help`` shows them.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from allocator import __version__
from allocator.core.errors import AllocatorError

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "data",
    "policy",
    "ledger",
    "analyst",
    "sensitivity",
    "audit",
)


class _AllocateGroup(click.Group):
    """A group whose first argument may be a scenario file, and that maps errors to exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0].endswith((".yaml", ".yml")):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AllocatorError as exc:
            click.echo(f"allocate: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Ctrl-C outside a run (a run raises RunInterruptedError, having written nothing):
            # 130, as a shell reports a process SIGINT ended, and no traceback.
            click.echo("allocate: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_AllocateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="allocate")
def main() -> None:
    """Allocate an industrial-subsidy fund among firms, clause by clause, within budget.

    \b
    allocate SCENARIO.yaml          run a scenario (same as: allocate run SCENARIO.yaml)
    allocate validate DATA_FILE     check an enterprise data file
    allocate policy MODEL.yaml      show a policy model's clauses and parameters
    """


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"allocator.commands.{_name}").COMMANDS:
        main.add_command(_command)
