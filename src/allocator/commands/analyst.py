"""The analyst's commands: compare run folders, sweep a scenario over a grid of values."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from allocator.commands.options import (
    backend_options,
    json_option,
    quiet_option,
    solver_option,
    time_limit_option,
)
from allocator.core.i18n import N_, _

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from allocator.analysis.compare import Comparison
    from allocator.pipeline.sweep import SweepResult, VariantResult

# Piped output has no terminal width; rich would squeeze one column per run into 80 characters.
_PIPE_WIDTH = 200


def _console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)


# --------------------------------------------------------------------------------------------
# compare


@click.command("compare")
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR_A DIR_B [DIR ...]",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write every figure as rows metric,run,value to FILE."),
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=N_("Write a self-contained page with the tables and charts to FILE."),
)
@click.option(
    "--charts",
    "charts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("Write the charts as SVG files (clauses, districts, lorenz, ratios) to DIR."),
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help=N_("Winners and losers listed per run."),
)
@json_option
def compare_command(
    folders: tuple[Path, ...],
    csv_file: Path | None,
    html_file: Path | None,
    charts_dir: Path | None,
    top: int,
    as_json: bool,
) -> None:
    """Compare the output folders of runs side by side; the first is the reference.

    Shows budget use, recipients funded, award ratios, Gini coefficients and objectives, the
    totals per clause and per district, and the recipients whose total award changed most
    against the first run. Exit code 2 for a folder without result.json and awards.csv.
    """
    from allocator.analysis.charts import chart_svgs
    from allocator.analysis.compare import compare_folders, csv_bytes, long_table, to_json
    from allocator.analysis.compare_page import render_html

    if len(folders) < 2:
        raise click.UsageError(_("compare needs at least two run folders"))
    comparison = compare_folders(folders, top=top)
    if csv_file is not None:
        csv_file.write_bytes(csv_bytes(long_table(comparison)))
    if html_file is not None:
        html_file.write_text(render_html(comparison), encoding="utf-8")
    if charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        for name, svg in chart_svgs(comparison).items():
            (charts_dir / f"{name}.svg").write_text(svg, encoding="utf-8")
    if as_json:
        click.echo(json.dumps(to_json(comparison), ensure_ascii=False, indent=2))
        return
    console = _console()
    for table in comparison_tables(comparison):
        console.print(table)
    for note in comparison.notes:
        console.print(note)


def comparison_tables(comparison: Comparison) -> list[Table]:
    """The terminal tables: metrics, per clause, per district, then winners and losers."""
    from rich.table import Table

    from allocator.analysis.compare import METRICS, metric_name, run_labels
    from allocator.analysis.compare_page import (
        change_rows,
        clause_rows,
        display_value,
        district_rows,
    )

    labels = comparison.labels
    shown = run_labels(comparison)
    metrics = Table(title=_("Runs compared"), title_justify="left")
    metrics.add_column(_("metric"))
    for label in labels:
        metrics.add_column(shown[label], justify="right", overflow="fold")
    for key in METRICS:
        metrics.add_row(
            metric_name(key), *(display_value(key, comparison.metric(key, lb)) for lb in labels)
        )
    tables = [metrics]
    for title, (header, rows), keys in (
        (_("Awards by clause (万元)"), clause_rows(comparison), 2),
        (_("Awards by district (万元)"), district_rows(comparison), 1),
    ):
        tables.append(_table(title, header, rows, keys))
    for change in comparison.changes:
        after, before = (
            shown.get(change.after, change.after),
            shown.get(change.before, change.before),
        )
        for which, title in (
            ("winners", _("{after} against {before}: largest rises")),
            ("losers", _("{after} against {before}: largest falls")),
        ):
            header, rows = change_rows(change, which)
            caption = _("{up} recipients receive more, {down} less").format(
                up=change.recipients_up, down=change.recipients_down
            )
            tables.append(
                _table(
                    title.format(after=after, before=before),
                    header,
                    rows,
                    2,
                    caption=caption if which == "winners" else None,
                )
            )
    return tables


def _table(
    title: str,
    header: list[str],
    rows: list[list[str]],
    text_columns: int,
    caption: str | None = None,
) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for n, name in enumerate(header):
        table.add_column(name, justify="left" if n < text_columns else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


# --------------------------------------------------------------------------------------------
# sweep


@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vary",
    "vary",
    multiple=True,
    required=True,
    metavar="KEY=VALUES",
    help=N_(
        "A scenario key and its values: start:stop:step or a comma list "
        "(budget_wan=3000:8000:500, fairness.rule=priority,proportional, "
        "overrides.5.1/booth/rate=0.3:0.6:0.1); budget, rule and engine stand for budget_wan, "
        "fairness.rule and solver.solver. Repeat to vary several; every combination runs."
    ),
)
@backend_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("Sweep folder (default: out/<name>-sweep); an earlier sweep there is replaced."),
)
@time_limit_option
@solver_option
@quiet_option
def sweep_command(
    scenario: Path,
    vary: tuple[str, ...],
    jobs: int | None,
    use_ray: bool,
    ray_address: str | None,
    out_dir: Path | None,
    time_limit: float | None,
    solver: str | None,
    quiet: bool,
) -> None:
    """Run SCENARIO once per combination of the varied values, in parallel.

    Each variant is a full run in DIR/<variant>/; DIR/sweep.csv has one row per variant (its
    values, status, budget used, recipients funded, coverage, mean ratio, Gini of awards) and
    DIR/sweep.svg plots them. A variant without an allocation is a row with its status; a
    variant whose run fails is a row with status ERROR, named on stderr with its values, and
    the exit code is then 1.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from allocator.analysis.labels import status_name
    from allocator.pipeline.backends import make_backend
    from allocator.pipeline.sweep import run_sweep
    from allocator.pipeline.vary import parse_vary

    varies = [parse_vary(v) for v in vary]
    err = Console(stderr=True)
    start = time.perf_counter()
    sweep = functools.partial(
        run_sweep,
        scenario,
        varies,
        out_dir=out_dir,
        backend=make_backend(jobs, ray=use_ray, ray_address=ray_address),
        time_limit_s=time_limit,
        solver=solver,
    )
    if quiet:
        result = sweep()
    else:
        with Progress(
            TextColumn(_("sweep")),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
        ) as progress:
            task = progress.add_task("", total=None)

            def done(r: VariantResult, n: int, total: int) -> None:
                progress.update(task, completed=n, total=total, description=r.variant.name)
                if r.status not in ("OPTIMAL", "FEASIBLE"):
                    progress.console.print(
                        _("{variant}: {status}: {message}").format(
                            variant=r.variant.name, status=status_name(r.status), message=r.message
                        ),
                        markup=False,
                    )

            result = sweep(on_done=done)
    seconds = time.perf_counter() - start
    if not quiet:
        err.print(
            _("{n} variants in {seconds} s on {backend}").format(
                n=len(result.results), seconds=f"{seconds:.1f}", backend=result.backend
            )
        )
    _console().print(sweep_summary(result))
    click.echo(_("wrote {csv} and {svg}").format(csv=result.csv_path, svg=result.svg_path))
    if result.failed:
        for r in result.failed:
            err.print(
                _("variant failed: {variant}: {message}").format(
                    variant=r.variant.describe(), message=r.message
                ),
                markup=False,
            )
        raise click.exceptions.Exit(1)


def sweep_summary(result: SweepResult) -> Table:
    """sweep.csv as a terminal table."""
    from rich.table import Table

    from allocator.analysis.compare_page import display_value
    from allocator.analysis.labels import status_name

    table = Table(
        title=_("Sweep of {scenario}").format(scenario=result.scenario), title_justify="left"
    )
    keys = [v.key for v in result.varies]
    table.add_column(_("variant"), overflow="fold")
    for key in keys:
        table.add_column(key, overflow="fold")
    names = _summary_names()
    # A varied budget is already a column of its own.
    figures = [c for c in names if c not in keys]
    table.add_column(_("status"))
    for column in figures:
        table.add_column(names[column], justify="right")
    for row in result.table.to_dict("records"):
        table.add_row(
            str(row["variant"]),
            *(str(row[k]) for k in keys),
            status_name(str(row["status"])),
            *(display_value(c, row[c]) for c in figures),
        )
    return table


def _summary_names() -> dict[str, str]:
    """The columns of sweep.csv the summary shows, with their headings."""
    return {
        "budget_wan": _("budget (万元)"),
        "budget_used_wan": _("used (万元)"),
        "recipients_funded": _("funded"),
        "coverage": _("coverage"),
        "mean_ratio": _("mean ratio"),
        "gini_awards": _("Gini"),
    }


COMMANDS: list[click.Command] = [compare_command, sweep_command]
