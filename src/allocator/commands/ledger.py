"""Commands on the run ledger: history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from allocator.commands.options import json_option, ledger_option
from allocator.commands.run import SCENARIO_SUFFIXES
from allocator.core.i18n import N_, _

if TYPE_CHECKING:
    from rich.table import Table

    from allocator.outputs.ledger_entry import RunEntry

# Piped output has no terminal width; rich would squeeze ten columns into 80 characters.
_PIPE_WIDTH = 200


@click.command("history")
@ledger_option
@click.option(
    "--scenario",
    metavar="SCENARIO.yaml|NAME",
    default=None,
    help=N_("Only runs of this scenario: its file, as audit and explain take it, or its name."),
)
@click.option(
    "--limit", metavar="N", type=click.IntRange(min=1), default=None, help=N_("At most N runs.")
)
@json_option
def history(ledger: str | None, scenario: str | None, limit: int | None, as_json: bool) -> None:
    """List recorded runs, newest first.

    --scenario takes the scenario file, as run, audit and explain do (the runs recorded under
    the name: it sets), or that name itself.
    """
    from rich.console import Console

    from allocator.outputs.ledger import ledger_url, list_runs, safe_url
    from allocator.outputs.recovery import describe

    # Reading history must not create folders as a side effect.
    url = ledger_url(ledger, create_parent=False)
    runs = list_runs(url, limit=limit, scenario=scenario_name(scenario))
    if as_json:
        click.echo(json.dumps([run.to_dict() for run in runs], ensure_ascii=False, indent=2))
        return
    if not runs:
        click.echo(_("No runs recorded in {ledger}.").format(ledger=safe_url(url)))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPE_WIDTH)
    console.print(_table(runs, title=_("Runs in {ledger}").format(ledger=safe_url(url))))
    # Leftovers of a run killed while it replaced its folder (the next run repairs them).
    for folder in sorted({Path(run.output_dir) for run in runs}):
        for line in describe(folder):
            click.echo(f"allocate: warning: {line}", err=True)


def scenario_name(scenario: str | None) -> str | None:
    """The name the ledger records for ``--scenario``: a scenario file's name:, or the name."""
    if scenario is None or not scenario.lower().endswith(SCENARIO_SUFFIXES):
        return scenario
    from allocator.inputs.scenario import load_scenario

    return load_scenario(Path(scenario)).spec.name


def _table(runs: list[RunEntry], *, title: str) -> Table:
    from rich.table import Table
    from rich.text import Text

    from allocator.inputs.choices import console_label

    # Every cell is plain Text: a folder or user name such as "[/b]" is not rich markup.
    table = Table(title=Text(title), title_justify="left")
    table.add_column(_("finished (UTC)"), no_wrap=True)
    table.add_column(_("user"))
    table.add_column(_("scenario"))
    table.add_column(_("status"))
    table.add_column(_("rule"))
    table.add_column(_("budget 万元"), justify="right")
    table.add_column(_("awarded 万元"), justify="right")
    table.add_column(_("recipients"), justify="right")
    table.add_column(_("warnings"), justify="right")
    table.add_column(_("output folder"), overflow="fold")
    table.add_column(_("run id"), no_wrap=True)
    for run in runs:
        cells = (
            run.finished_at[:19].replace("T", " "),
            run.user,
            run.scenario_name,
            console_label(run.status),
            console_label(run.rule) if run.rule else "",
            f"{run.budget_wan:,}",
            f"{run.total_awarded_wan:,}",
            "" if run.recipients is None else f"{run.recipients:,}",
            str(len(run.warnings)) if run.warnings else "",
            run.output_dir,
            run.short_id,
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


COMMANDS: list[click.Command] = [history]
