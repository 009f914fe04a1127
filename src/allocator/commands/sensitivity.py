"""``allocate sensitivity``: which assumptions move which awards, and by how much."""

from __future__ import annotations

import functools
import time
from collections.abc import Hashable, Mapping
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from allocator.commands.options import (
    backend_options,
    quiet_option,
    solver_option,
    time_limit_option,
)
from allocator.core.i18n import N_, _
from allocator.inputs.scenario import load_scenario
from allocator.inputs.sensitivity import MAX_SAMPLES
from allocator.pipeline.backends import make_backend
from allocator.pipeline.sensitivity import METHODS, Method, Options
from allocator.pipeline.sensitivity_run import (
    FILES,
    SensitivityResult,
    VariantResult,
    run_sensitivity,
)

# Piped output has no terminal width; rich would squeeze the table into 80 characters.
_PIPE_WIDTH = 160
_SHOWN = 10


@click.command("sensitivity")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="both",
    show_default=True,
    help=N_(
        "one-at-a-time: each factor at the ends of its range, the rest held; joint: samples "
        "of every factor at once (Latin hypercube); both."
    ),
)
@click.option(
    "--samples",
    type=click.IntRange(min=0, max=MAX_SAMPLES),
    default=None,
    help=N_("Joint samples (default: the scenario's sensitivity.samples, else 50)."),
)
@click.option(
    "--spread",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=None,
    help=N_(
        "Default range of every factor: ±SPREAD of its value (default: the scenario's "
        "sensitivity.spread, else 0.2)."
    ),
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help=N_("Seed of the samples."))
@click.option(
    "--include-document",
    is_flag=True,
    default=None,
    help=N_("Vary the parameters the document states too, not only the assumed ones."),
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="ADDRESS",
    help=N_("Vary only this parameter (<clause>/<item>/<name>, or budget_wan); repeat for more."),
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("Folder (default: out/<name>-sensitivity); an earlier analysis there is replaced."),
)
@time_limit_option
@solver_option
@backend_options
@quiet_option
def sensitivity_command(
    scenario: Path,
    method: Method,
    samples: int | None,
    spread: float | None,
    seed: int | None,
    include_document: bool | None,
    params: tuple[str, ...],
    out_dir: Path | None,
    time_limit: float | None,
    solver: str | None,
    jobs: int | None,
    use_ray: bool,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Move SCENARIO's assumptions and the budget, and measure what changes.

    Every parameter the model marks as assumed (and the budget the scenario sets) is moved
    over its range, by default ±20%, one at a time and jointly. DIR/sensitivity.csv has one
    row per variant; DIR/effects.csv ranks the factors by their effect on the total awarded,
    coverage and Gini; DIR/firm_ranges.csv gives each firm's least, median and most award;
    DIR/tornado.svg and DIR/sensitivity.html show them. Exit code 1 when a variant failed
    (the others are kept and written).
    """
    section = load_scenario(scenario).spec.sensitivity
    given = {
        "samples": samples,
        "spread": spread,
        "seed": seed,
        "include_document": include_document,
    }
    spec = section.model_copy(update={k: v for k, v in given.items() if v is not None})
    options = Options(spec=spec, method=method, only=tuple(dict.fromkeys(params)))
    backend = make_backend(jobs, ray=use_ray, ray_address=ray_address)
    err = Console(stderr=True)
    start = time.perf_counter()
    run = functools.partial(
        run_sensitivity,
        scenario,
        options=options,
        out_dir=out_dir,
        backend=backend,
        time_limit_s=time_limit,
        solver=solver,
    )
    if quiet:
        result = run()
    else:
        with Progress(
            TextColumn("sensitivity"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
        ) as progress:
            bar = progress.add_task("", total=None)

            def done(r: VariantResult, n: int, total: int) -> None:
                progress.update(bar, completed=n, total=total, description=r.variant.name)

            result = run(on_done=done)
        seconds = time.perf_counter() - start
        err.print(
            _("{n} variants in {seconds:.1f} s on {backend}").format(
                n=len(result.results), seconds=seconds, backend=result.backend
            )
        )
    console = Console() if Console().is_terminal else Console(width=_PIPE_WIDTH)
    console.print(effects_summary(result))
    for name in FILES:
        click.echo(_("wrote {path}").format(path=result.path(name)))
    if result.failed:
        for r in result.failed:
            described = r.variant.describe(list(result.factors))
            err.print(f"variant failed: {r.variant.name}: {described}: {r.message}", markup=False)
        raise click.exceptions.Exit(1)


def effects_summary(result: SensitivityResult) -> Table:
    """The factors that move the total awarded most, with coverage and Gini beside."""
    table = Table(
        title=f"Sensitivity of {result.name}: the {_SHOWN} factors that move the total most",
        title_justify="left",
    )
    for name, justify in (
        ("parameter", "left"),
        ("basis", "left"),
        ("range", "left"),
        ("total awarded (万元)", "right"),
        ("coverage", "right"),
        ("Gini", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in result.effects.head(_SHOWN).to_dict("records"):
        table.add_row(
            str(row["parameter"]),
            str(row["basis"]),
            f"{row['low']} → {row['high']}",
            _span(row, "budget_used_wan", "{:.0f}"),
            _span(row, "coverage", "{:.3f}"),
            _span(row, "gini_awards", "{:.3f}"),
        )
    return table


def _span(row: Mapping[Hashable, object], metric: str, fmt: str) -> str:
    low, high = row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return "—"
    if low != low or high != high:  # NaN: an end without an allocation
        return "—"
    return f"{fmt.format(low)} → {fmt.format(high)}"


COMMANDS: list[click.Command] = [sensitivity_command]

__all__ = ["COMMANDS", "effects_summary", "sensitivity_command"]
