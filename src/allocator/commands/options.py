"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

from allocator.inputs.choices import Engine

quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
ledger_option = click.option(
    "--ledger",
    metavar="URL",
    default=None,
    help="Ledger database: a SQLAlchemy URL or a SQLite file path "
    "(default: $ALLOCATE_LEDGER, else out/ledger.sqlite).",
)
solver_option = click.option(
    "--solver",
    type=click.Choice([e.value for e in Engine]),
    default=None,
    help="Solver of the priority phases: cpsat or highs (overrides the scenario's "
    "solver.solver; default cpsat).",
)
