"""Commands on enterprise data: validate, template, generate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from allocator.commands.options import json_option, quiet_option
from allocator.core.files import write_atomic
from allocator.core.i18n import _
from allocator.inputs.data import EnterpriseData, load_enterprises
from allocator.inputs.export import FORMATS, format_of, write_population
from allocator.inputs.generate import generate_population
from allocator.inputs.schema import DISTRICTS, FIELDS, INDUSTRIES
from allocator.inputs.template import workbook_bytes

# Piped output has no terminal width; rich would squeeze the tables into 80 characters.
_PIPE_WIDTH = 200


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)


def summarise(data: EnterpriseData) -> dict[str, Any]:
    """What ``allocate validate`` reports, as a JSON-ready dict."""
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


@click.command("validate")
@click.argument(
    "data_files", metavar="DATA_FILE [DATA_FILE ...]", nargs=-1, required=True,
    type=click.Path(path_type=Path),
)  # fmt: skip
@json_option
def validate(data_files: tuple[Path, ...], as_json: bool) -> None:
    """Check enterprise data files (CSV, XLSX or Parquet) and summarise them.

    Prints the rows, the fields present and absent, and the firms per district and per
    industry. A file with problems exits with code 2 and lists every problem: file, row,
    column, the value found and what was expected.
    """
    data = load_enterprises(*data_files)
    summary = summarise(data)
    for warning in data.warnings:
        click.echo(_("warning: {text}").format(text=warning), err=True)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console = _console()
    files = Table(title="Files", title_justify="left")
    files.add_column("file")
    files.add_column("rows", justify="right")
    files.add_column("sha256")
    for entry in summary["files"]:
        files.add_row(entry["path"], str(entry["rows"]), entry["sha256"][:16] + "…")
    console.print(files)

    counts = Table(title="Firms by district and industry", title_justify="left")
    counts.add_column("district")
    counts.add_column("firms", justify="right")
    counts.add_column("industry")
    counts.add_column("firms", justify="right")
    by_district = list(summary["districts"].items())
    by_industry = [(f"{INDUSTRIES[c]} ({c})", n) for c, n in summary["industries"].items()]
    for i in range(max(len(by_district), len(by_industry))):
        d = by_district[i] if i < len(by_district) else ("", "")
        k = by_industry[i] if i < len(by_industry) else ("", "")
        counts.add_row(d[0], str(d[1]), k[0], str(k[1]))
    console.print(counts)

    present, absent = summary["fields_present"], summary["fields_absent"]
    console.print(
        f"{summary['rows']} firms; {len(present)} of {len(FIELDS)} fields present"
        + (f"; absent: {', '.join(absent)}" if absent else "")
    )


@click.command("template")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="The .xlsx file to write."
)
def template(out: Path) -> None:
    """Write the empty Excel template a clerk fills in (two header rows, drop-downs).

    Row 1 holds the Chinese headers, row 2 the English field name, unit and 必填/选填; a
    second sheet 字段说明 describes every field. The filled-in file loads as it is.
    """
    if out.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"the template is an .xlsx workbook, not {out.name!r}")
    write_atomic(out, workbook_bytes())
    click.echo(f"wrote {out}", err=True)


@click.command("generate")
@click.option(
    "--enterprises", "n", type=click.IntRange(min=1), default=1500, show_default=True,
    help="How many firms to invent.",
)  # fmt: skip
@click.option("--seed", type=int, default=2025, show_default=True, help="Random seed.")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path),
    help="File to write; .csv, .xlsx or .parquet.",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(sorted(set(FORMATS.values()))), default=None,
    help="Output format; by default from the extension of --out.",
)  # fmt: skip
@quiet_option
def generate(n: int, seed: int, out: Path, fmt: str | None, quiet: bool) -> None:
    """Write a synthetic population of Liuzhou firms (every name marked （模拟）).

    The same --enterprises and --seed give byte-identical files.
    """
    try:
        chosen = format_of(out, fmt)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    start = time.perf_counter()
    frame = generate_population(n, seed)
    drawn = time.perf_counter()
    write_population(frame, out, chosen)
    done = time.perf_counter()
    if not quiet:
        click.echo(
            f"generated {n} synthetic firms (seed {seed}) in {drawn - start:.2f} s, "
            f"wrote {out} ({chosen}) in {done - drawn:.2f} s",
            err=True,
        )


COMMANDS: list[click.Command] = [validate, template, generate]
