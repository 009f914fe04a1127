"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from allocator.core.i18n import N_
from allocator.inputs.choices import Engine

quiet_option = click.option("--quiet", "-q", is_flag=True, help=N_("No progress on stderr."))
json_option = click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for machines."))
ledger_option = click.option(
    "--ledger",
    metavar="URL",
    default=None,
    help=N_(
        "Ledger database: a SQLAlchemy URL or a SQLite file path "
        "(default: $ALLOCATE_LEDGER, else out/ledger.sqlite)."
    ),
)
solver_option = click.option(
    "--solver",
    type=click.Choice([e.value for e in Engine]),
    default=None,
    help=N_(
        "Solver of the priority phases: cpsat or highs (overrides the scenario's "
        "solver.solver; default cpsat)."
    ),
)


def backend_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--jobs``, ``--ray`` and ``--ray-address``: where the variants of a batch run."""
    command = click.option(
        "--ray-address",
        metavar="ADDRESS",
        default=None,
        help=N_(
            "Run the variants as Ray tasks on the cluster at ADDRESS (host:port of its head, "
            "as `ray start --head` prints it). Needs allocate installed with its ray extra."
        ),
    )(command)
    command = click.option(
        "--ray",
        "use_ray",
        is_flag=True,
        help=N_(
            "Run the variants as Ray tasks on a local Ray instance (started on 127.0.0.1 and "
            "stopped at the end)."
        ),
    )(command)
    return click.option(
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        help=N_(
            "Variants run at once: processes (default: the number of cores) or, with Ray, "
            "tasks in flight (default: as many as the cluster takes)."
        ),
    )(command)


time_limit_option = click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    help=N_("Solver time limit of each run in seconds (overrides the scenario)."),
)
