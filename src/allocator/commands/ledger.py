"""Commands on the run ledger: history."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from allocator.commands.options import json_option, ledger_option
from allocator.outputs.ledger import ledger_url, list_runs, safe_url
from allocator.outputs.ledger_entry import RunEntry
from allocator.outputs.recovery import describe

# Piped output has no terminal width; rich would squeeze ten columns into 80 characters.
_PIPE_WIDTH = 200


@click.command("history")
@ledger_option
@click.option("--scenario", metavar="NAME", default=None, help="Only runs of this scenario.")
@click.option(
    "--limit", metavar="N", type=click.IntRange(min=1), default=None, help="At most N runs."
)
@json_option
def history(ledger: str | None, scenario: str | None, limit: int | None, as_json: bool) -> None:
    """List recorded runs, newest first."""
    # Reading history must not create folders as a side effect.
    url = ledger_url(ledger, create_parent=False)
    runs = list_runs(url, limit=limit, scenario=scenario)
    if as_json:
        click.echo(json.dumps([run.to_dict() for run in runs], ensure_ascii=False, indent=2))
        return
    if not runs:
        click.echo(f"No runs recorded in {safe_url(url)}.")
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPE_WIDTH)
    console.print(_table(runs, title=f"Runs in {safe_url(url)}"))
    # Leftovers of a run killed while it replaced its folder (the next run repairs them).
    for folder in sorted({Path(run.output_dir) for run in runs}):
        for line in describe(folder):
            click.echo(f"allocate: warning: {line}", err=True)


def _table(runs: list[RunEntry], *, title: str) -> Table:
    # Every cell is plain Text: a folder or user name such as "[/b]" is not rich markup.
    table = Table(title=Text(title), title_justify="left")
    table.add_column("finished (UTC)", no_wrap=True)
    table.add_column("user")
    table.add_column("scenario")
    table.add_column("status")
    table.add_column("rule")
    table.add_column("budget 万元", justify="right")
    table.add_column("awarded 万元", justify="right")
    table.add_column("recipients", justify="right")
    table.add_column("output folder", overflow="fold")
    table.add_column("run id", no_wrap=True)
    for run in runs:
        cells = (
            run.finished_at[:19].replace("T", " "),
            run.user,
            run.scenario_name,
            run.status,
            run.rule or "",
            f"{run.budget_wan:,}",
            f"{run.total_awarded_wan:,}",
            "" if run.recipients is None else f"{run.recipients:,}",
            run.output_dir,
            run.short_id,
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


COMMANDS: list[click.Command] = [history]
