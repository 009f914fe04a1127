"""Commands on enterprise data: validate, template, generate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from allocator.commands.options import json_option, quiet_option
from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import N_, _

if TYPE_CHECKING:
    from rich.console import Console

    from allocator.inputs.data import EnterpriseData

# Piped output has no terminal width; rich would squeeze the tables into 80 characters.
_PIPE_WIDTH = 200


def _console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)


def summarise(data: EnterpriseData) -> dict[str, Any]:
    """What ``allocate validate`` reports, as a JSON-ready dict."""
    from allocator.inputs.schema import DISTRICTS, FIELDS, INDUSTRIES

    frame = data.frame
    districts = frame["district"].value_counts()
    industries = frame["industry"].value_counts()
    return {
        "rows": len(frame),
        "files": [
            {"path": str(path), "sha256": digest, "rows": int((data.source_file == k).sum())}
            for k, (path, digest) in enumerate(zip(data.files, data.sha256, strict=True))
        ],
        "fields_present": [f.name for f in FIELDS if f.name in data.present],
        "fields_absent": [f.name for f in FIELDS if f.name not in data.present],
        "districts": {name: int(districts.get(name, 0)) for name in DISTRICTS},
        "industries": {code: int(industries.get(code, 0)) for code in INDUSTRIES},
        "warnings": list(data.warnings),
    }


def no_firm_problems(summary: dict[str, Any]) -> list[InputProblem]:
    """A problem for each file of the summary that holds a header row and no firm."""
    return [
        InputProblem(entry["path"], "at least one firm: a row under the header row", "no firm rows")
        for entry in summary["files"]
        if entry["rows"] == 0
    ]


@click.command("validate")
@click.argument(
    "data_files", metavar="DATA_FILE [DATA_FILE ...]", nargs=-1, required=True,
    type=click.Path(path_type=Path),
)  # fmt: skip
@json_option
def validate(data_files: tuple[Path, ...], as_json: bool) -> None:
    """Check enterprise data files (CSV, XLSX or Parquet) and summarise them.

    Prints the rows, the fields present and absent, and two tables: the firms per district
    and the firms per industry. A file with problems exits with code 2 and lists every
    problem: file, row, column, the value found and what was expected; so do files that hold
    a header row and no firm, as a run would refuse them.
    """
    from rich.table import Table

    from allocator.inputs.data import load_enterprises
    from allocator.inputs.schema import FIELDS, INDUSTRIES

    data = load_enterprises(*data_files)
    summary = summarise(data)
    for warning in data.warnings:
        click.echo(_("warning: {warning}").format(warning=warning), err=True)
    empty = no_firm_problems(summary)
    if summary["rows"] == 0:
        # A header row alone reads as an empty table, but no run can use it: say so, exit 2.
        raise InputError(empty)
    for problem in empty:
        click.echo(_("warning: {warning}").format(warning=problem), err=True)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console = _console()
    files = Table(title=_("Files"), title_justify="left")
    files.add_column(_("file"))
    files.add_column(_("rows"), justify="right")
    files.add_column("sha256")
    for entry in summary["files"]:
        files.add_row(entry["path"], str(entry["rows"]), entry["sha256"][:16] + "…")
    console.print(files)

    districts = Table(title=_("Firms by district"), title_justify="left")
    districts.add_column(_("district"))
    districts.add_column(_("firms"), justify="right")
    for name, n in summary["districts"].items():
        districts.add_row(name, str(n))
    console.print(districts)

    industries = Table(title=_("Firms by industry"), title_justify="left")
    industries.add_column(_("industry"))
    industries.add_column(_("code"))
    industries.add_column(_("firms"), justify="right")
    for code, n in summary["industries"].items():
        industries.add_row(INDUSTRIES[code], code, str(n))
    console.print(industries)

    present, absent = summary["fields_present"], summary["fields_absent"]
    if absent:
        line = _("{rows} firms; {present} of {fields} fields present; absent: {absent}")
    else:
        line = _("{rows} firms; {present} of {fields} fields present")
    console.print(
        line.format(
            rows=summary["rows"],
            present=len(present),
            fields=len(FIELDS),
            absent=_(", ").join(absent),
        )
    )


@click.command("template")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help=N_("The .xlsx file to write."),
)
def template(out: Path) -> None:
    """Write the empty Excel template a clerk fills in (two header rows, drop-downs).

    Row 1 holds the Chinese headers, row 2 the English field name, unit and 必填/选填; a
    second sheet 字段说明 describes every field. The filled-in file loads as it is.
    """
    from allocator.core.files import write_atomic
    from allocator.inputs.template import workbook_bytes

    if out.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"the template is an .xlsx workbook, not {out.name!r}")
    write_atomic(out, workbook_bytes())
    click.echo(_("wrote {path}").format(path=out), err=True)


@click.command("generate")
@click.option(
    "--enterprises", "n", type=click.IntRange(min=1), default=1500, show_default=True,
    help=N_("How many firms to invent."),
)  # fmt: skip
@click.option("--seed", type=int, default=2025, show_default=True, help=N_("Random seed."))
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path),
    help=N_("File to write; .csv, .xlsx or .parquet."),
)  # fmt: skip
@click.option(
    "--format", "fmt", metavar="csv|xlsx|parquet", default=None,
    help=N_("Output format; by default from the extension of --out."),
)  # fmt: skip
@quiet_option
def generate(n: int, seed: int, out: Path, fmt: str | None, quiet: bool) -> None:
    """Write a synthetic population of Liuzhou firms (every name marked （模拟）).

    The same --enterprises and --seed give byte-identical files.
    """
    from allocator.inputs.export import format_of, write_population
    from allocator.inputs.generate import generate_population

    try:
        chosen = format_of(out, fmt)
    except ValueError as exc:
        raise click.BadParameter(
            str(exc), param_hint="--out" if fmt is None else "--format"
        ) from None
    start = time.perf_counter()
    frame = generate_population(n, seed)
    drawn = time.perf_counter()
    write_population(frame, out, chosen)
    done = time.perf_counter()
    if not quiet:
        click.echo(
            _(
                "generated {n} synthetic firms (seed {seed}) in {drawn:.2f} s, "
                "wrote {path} ({kind}) in {written:.2f} s"
            ).format(
                n=n, seed=seed, drawn=drawn - start, path=out, kind=chosen, written=done - drawn
            ),
            err=True,
        )


COMMANDS: list[click.Command] = [validate, template, generate]
