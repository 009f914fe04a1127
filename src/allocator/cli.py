"""The ``allocate`` command line: parse, call the library, render.

``allocate SCENARIO.yaml`` is short for ``allocate run SCENARIO.yaml``; any other file named
first (a data workbook, say) goes to ``run`` too, which says what the file is and what to run
instead of "No such command". Every error a user can
cause is an :class:`~allocator.core.errors.AllocatorError`; the group turns it into one message on
stderr and the error's exit code (2 for bad input, 130 for Ctrl-C), never a traceback.

Commands live in :mod:`allocator.commands`, one module per area; each module exposes
``COMMANDS``, and :data:`COMMAND_MODULES` lists the modules in the order ``--help`` shows them.
The command modules import the library inside their functions, so that ``--help``, ``history``,
``policy`` and a refused input answer without loading pandas, numpy or a solver.
"""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import PurePath
from typing import Any

import click

from allocator import __version__
from allocator.core.errors import AllocatorError
from allocator.core.i18n import LANGUAGES, _, set_language

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "data",
    "policy",
    "ledger",
    "analyst",
    "sensitivity",
    "audit",
    "serve",
)


class _AllocateGroup(click.Group):
    """A group whose first argument may be a scenario file, and that maps errors to exit codes."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _tolerant_console()
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        k = self._first_argument(args)
        if k is not None and args[k] not in self.commands and _names_a_file(args[k]):
            args = [*args[:k], "run", *args[k:]]
        return super().parse_args(ctx, args)

    def _first_argument(self, args: list[str]) -> int | None:
        """Where the command (or the file standing for ``run FILE``) is, past the group's
        own options (``allocate --lang en data.xlsx``)."""
        valued = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        k = 0
        while k < len(args):
            if args[k] == "--":
                return k + 1 if k + 1 < len(args) else None
            if args[k] in valued:
                k += 2
            elif args[k].startswith("-"):
                k += 1
            else:
                return k
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AllocatorError as exc:
            click.echo(f"allocate: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Ctrl-C outside a run (a run raises RunInterruptedError, having written nothing):
            # 130, as a shell reports a process SIGINT ended, and no traceback.
            click.echo(_("allocate: interrupted"), err=True)
            ctx.exit(130)


def _tolerant_console() -> None:
    """Print what a console's encoding cannot show as an escape instead of failing.

    A Windows console or pipe in code page 936 (GBK) has no ✓ and no rarer characters of firm
    names; Python's default there is to raise UnicodeEncodeError mid-output. ``\\u2713`` keeps
    the information (and stays valid in --json output).
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def _names_a_file(arg: str) -> bool:
    """Whether a first argument that is no command reads as a file name (``x.yaml``, ``a/b``)."""
    return not arg.startswith("-") and (bool(PurePath(arg).suffix) or len(PurePath(arg).parts) > 1)


@click.group(cls=_AllocateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="allocate")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="Language of messages, sheets and pages: zh (default) or en; also $ALLOCATE_LANG.",
)
def main(lang: str | None) -> None:
    """Allocate an industrial-subsidy fund among firms, clause by clause, within budget.

    \b
    allocate SCENARIO.yaml          run a scenario (same as: allocate run SCENARIO.yaml)
    allocate validate DATA_FILE     check an enterprise data file
    allocate policy MODEL.yaml      show a policy model's clauses and parameters
    """
    try:
        set_language(lang)
    except ValueError as exc:  # a bad $ALLOCATE_LANG
        raise click.BadParameter(str(exc), param_hint="ALLOCATE_LANG") from None


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"allocator.commands.{_name}").COMMANDS:
        main.add_command(_command)
