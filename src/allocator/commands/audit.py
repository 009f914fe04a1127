"""Commands for an auditor: audit (re-verify a run) and explain (why this award)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from allocator.commands.options import json_option, ledger_option
from allocator.core.i18n import LANGUAGES, N_, _, set_language

if TYPE_CHECKING:
    from rich.console import Console

    from allocator.analysis.audit_findings import AuditReport

# Piped output has no terminal width; rich would squeeze the tables into 80 characters.
_PIPE_WIDTH = 200

_STATUS_STYLE = {"passed": "green", "failed": "bold red", "warning": "yellow", "skipped": "dim"}

scenario_option = click.option(
    "--scenario",
    metavar="SCENARIO.yaml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=N_(
        "The run's scenario file, when the path result.json records does not lead to it "
        "(history takes the same file, or the scenario's name)."
    ),
)


def _console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=_PIPE_WIDTH)


@click.command("audit")
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path))
@ledger_option
@scenario_option
@json_option
@click.pass_context
def audit_command(
    ctx: click.Context, out_dir: Path, ledger: str | None, scenario: Path | None, as_json: bool
) -> None:
    """Re-verify the run in DIR without any solver.

    Checks the inputs against their recorded sha256, the folder against its ledger entry,
    the claims, every constraint and the fairness rule from their definitions, and every
    total of result.json, awards.xlsx and constraints.csv against awards.csv.

    Exit codes: 0 nothing wrong (warnings allowed); 1 something wrong; 2 unreadable input
    (no result.json, no scenario file ...).
    """
    from allocator.analysis.audit import audit

    # Without --ledger, the ledger the folder's result.json names (analysis.audit_folder).
    report = audit(out_dir, ledger=ledger, scenario=scenario)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    ctx.exit(0 if report.ok else 1)


def _print_report(report: AuditReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from allocator.analysis.audit_findings import severity_name, status_name

    console = _console()
    checks = Table(
        title=escape(_("Audit of {folder}").format(folder=report.folder)), title_justify="left"
    )
    checks.add_column(_("check"), no_wrap=True)
    checks.add_column(_("result"), no_wrap=True)
    checks.add_column(_("what"))
    checks.add_column(_("detail"))
    for c in report.checks:
        style = _STATUS_STYLE[c.status]
        checks.add_row(
            c.name, f"[{style}]{status_name(c.status)}[/]", escape(c.title), escape(c.detail)
        )
    console.print(checks)
    if report.findings:
        findings = Table(title=_("Findings"), title_justify="left")
        findings.add_column(_("severity"), no_wrap=True)
        findings.add_column(_("check"), no_wrap=True)
        findings.add_column(_("file"))
        findings.add_column(_("row"), justify="right")
        findings.add_column(_("finding"), overflow="fold")
        for f in report.findings:
            style = "bold red" if f.severity == "error" else "yellow"
            findings.add_row(
                f"[{style}]{severity_name(f.severity)}[/]",
                f.check,
                escape(f.file),
                "" if f.row is None else str(f.row),
                escape(f.message),
            )
        console.print(findings)
    # The verdict is plain text on its own line, so that a script can grep it.
    click.echo(report.verdict())


@click.command("explain")
@click.argument("out_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("recipient", metavar="RECIPIENT_ID")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help=N_(
        "Language of the explanation: zh or en (default: allocate --lang, $ALLOCATE_LANG, zh)."
    ),
)
@click.option("--all", "show_all", is_flag=True, help=N_("Show ineligible items in full too."))
@ledger_option
@scenario_option
@json_option
def explain_command(
    out_dir: Path,
    recipient: str,
    lang: str | None,
    show_all: bool,
    ledger: str | None,
    scenario: Path | None,
    as_json: bool,
) -> None:
    """Explain why RECIPIENT_ID got what it got in the run in DIR.

    RECIPIENT_ID is a credit code, or a district or chemical-park name. For each award item:
    the conditions with their values and thresholds, the formula with its numbers, the
    claim, the award, and what holds the award below the claim.
    """
    from allocator.analysis.explain import explain
    from allocator.analysis.explain_text import render

    if lang is not None:
        set_language(lang)
    result = explain(out_dir, recipient, ledger=ledger, scenario=scenario)
    for note in result.notes:  # information on stderr: stdout stays the explanation
        click.echo(note, err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(render(result, show_all=show_all))


COMMANDS: list[click.Command] = [audit_command, explain_command]
