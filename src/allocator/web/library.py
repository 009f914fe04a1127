"""Every call the workbench makes into the allocator library, in one place.

The pages never reach into the library's modules themselves: they call the functions here,
which import where they are used (so that starting the server stays quick and a solver is
loaded only in the process that solves). When a library module moves, this file is the one
to change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from allocator.analysis.audit_findings import AuditReport
    from allocator.analysis.compare import Comparison
    from allocator.inputs.data import EnterpriseData
    from allocator.outputs.ledger_entry import RunEntry
    from allocator.policy.model import PolicyModel

# Re-exported names the pages use as types or to catch: the error hierarchy is the library's.
from allocator.core.errors import AllocatorError, InputError, InputProblem
from allocator.core.files import sha256_bytes, sha256_file, write_atomic
from allocator.inputs.choices import Rule
from allocator.outputs.names import AWARD_COLUMNS, AWARDS, CONSTRAINTS, REPORT, RESULT, WORKBOOK

#: The files of a run folder a browser may download, and their media types.
DOWNLOADS: dict[str, str] = {
    WORKBOOK: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    AWARDS: "text/csv; charset=utf-8",
    RESULT: "application/json",
    REPORT: "text/html; charset=utf-8",
    CONSTRAINTS: "text/csv; charset=utf-8",
}


def ledger_url(explicit: str | None, *, create_parent: bool = True) -> str:
    """The ledger URL the command line would use (``--ledger``, ``ALLOCATE_LEDGER``, default)."""
    from allocator.outputs.ledger import ledger_url as resolve

    return resolve(explicit, create_parent=create_parent)


def list_runs(url: str) -> list[RunEntry]:
    """Every run in the ledger, newest first."""
    from allocator.outputs.ledger import list_runs as runs

    return runs(url)


def record_run(
    url: str,
    out_dir: Path,
    *,
    scenario: Path,
    started_at: Any,
    finished_at: Any,
    command_line: Sequence[str],
) -> RunEntry:
    """Record a finished run folder in the ledger, as ``allocate run`` does."""
    from allocator.outputs.ledger import record_run as record
    from allocator.outputs.ledger_entry import RunEntry

    entry = RunEntry.from_output_dir(
        out_dir,
        scenario_path=scenario,
        started_at=started_at,
        finished_at=finished_at,
        command_line=list(command_line),
    )
    return record(url, entry)


def load_enterprises(path: Path) -> EnterpriseData:
    """Load and validate one enterprise data file (raises :class:`InputError`)."""
    from allocator.inputs.data import load_enterprises as load

    return load(path)


def field_labels() -> dict[str, str]:
    """Each data field's Chinese header, by field name."""
    from allocator.inputs.schema import FIELDS

    return {f.name: f.zh for f in FIELDS}


def districts() -> list[str]:
    """The districts in the schema's order."""
    from allocator.inputs.schema import DISTRICTS

    return list(DISTRICTS)


def template_bytes() -> bytes:
    """The empty Excel template a clerk fills in (``allocate template``)."""
    from allocator.inputs.template import workbook_bytes

    return workbook_bytes()


def load_model(path: Path) -> PolicyModel:
    """Load and validate a policy model (raises :class:`InputError`)."""
    from allocator.policy.load import load_model as load

    return load(path)


def check_scenario(path: Path) -> None:
    """Load a scenario file and check it against its model, as a run would before solving.

    Raises
    ------
    InputError
        Every problem of the scenario, its model, or its overrides and budget.
    """
    from allocator.inputs.scenario import load_scenario
    from allocator.policy.bind import check_against_model
    from allocator.policy.load import load_model as load

    loaded = load_scenario(path)
    check_against_model(loaded, load(loaded.model_path))


def scenario_name_pattern() -> str:
    """The regular expression a scenario name must match."""
    from allocator.inputs.scenario import SAFE_NAME

    return SAFE_NAME


def run_scenario(
    scenario: Path,
    out_dir: Path,
    *,
    time_limit_s: float | None,
    command: str,
    on_phase: Callable[[str, float], None],
    on_progress: Callable[[str, float, float], None],
) -> dict[str, Any]:
    """Run a scenario end to end into ``out_dir``; returns the run's summary."""
    from allocator.outputs.result import summary
    from allocator.pipeline.run import run_scenario as run

    result, _ = run(
        scenario,
        out_dir=out_dir,
        time_limit_s=time_limit_s,
        command=command,
        on_phase=on_phase,
        on_progress=on_progress,
    )
    return summary(result)


def run_budget_sweep(scenario: Path, out_dir: Path, values: str) -> list[tuple[str, str]]:
    """Run a scenario once per budget in ``values`` (``3000:8000:500`` or ``3000,5000``).

    Returns
    -------
    list of (str, str)
        Each variant's folder name and status, in order.
    """
    from allocator.pipeline.sweep import run_sweep
    from allocator.pipeline.vary import parse_vary

    result = run_sweep(scenario, [parse_vary(f"budget_wan={values}")], out_dir=out_dir, jobs=1)
    return [(r.variant.name, r.status) for r in result.results]


def sweep_files() -> tuple[str, str]:
    """The names of a sweep folder's table and chart."""
    from allocator.pipeline.sweep import SWEEP_CSV, SWEEP_SVG

    return SWEEP_CSV, SWEEP_SVG


def sweep_table(folder: Path) -> list[dict[str, str]]:
    """The rows of a sweep folder's ``sweep.csv``, one per variant, as text."""
    import csv

    from allocator.pipeline.sweep import SWEEP_CSV

    with (folder / SWEEP_CSV).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sweep_variants(folder: Path) -> list[tuple[str, str]]:
    """Each variant of a sweep folder: its folder name and status."""
    return [(row["variant"], row["status"]) for row in sweep_table(folder)]


def sweep_variant_scenario(folder: Path, variant: str) -> Path:
    """The scenario file a sweep wrote for one variant."""
    from allocator.pipeline.sweep import SCENARIOS

    return folder / SCENARIOS / f"{variant}.yaml"


def audit(folder: Path, ledger: str) -> AuditReport:
    """Re-verify a run folder without any solver (``allocate audit``)."""
    from allocator.analysis.audit import audit as check

    return check(folder, ledger=ledger)


def explain_text(folder: Path, recipient: str, ledger: str, lang: str) -> str:
    """``allocate explain`` of one recipient, as text in Chinese or English."""
    from allocator.analysis.explain import explain
    from allocator.analysis.explain_text import render

    return render(explain(folder, recipient, ledger=ledger), "en" if lang == "en" else "zh")


def compare_folders(folders: Sequence[Path]) -> Comparison:
    """Compare run folders side by side, the first as reference (``allocate compare``)."""
    from allocator.analysis.compare import compare_folders as compare

    return compare(folders)


def comparison_tables(comparison: Comparison) -> dict[str, Any]:
    """The compare page's tables and charts as text, from the library's own formatting."""
    from allocator.analysis.charts import chart_svgs
    from allocator.analysis.compare import METRICS, metric_name
    from allocator.analysis.compare_page import (
        change_rows,
        clause_rows,
        display_value,
        district_rows,
    )

    labels = comparison.labels
    metrics = [
        [metric_name(key), *(display_value(key, comparison.metric(key, label)) for label in labels)]
        for key in METRICS
    ]
    changes = []
    for change in comparison.changes:
        changes.append(
            {
                "before": change.before,
                "after": change.after,
                "up": change.recipients_up,
                "down": change.recipients_down,
                "winners": change_rows(change, "winners"),
                "losers": change_rows(change, "losers"),
            }
        )
    return {
        "labels": labels,
        "metrics": metrics,
        "clauses": clause_rows(comparison),
        "districts": district_rows(comparison),
        "changes": changes,
        "charts": chart_svgs(comparison),
        "notes": list(comparison.notes),
    }


def reason_counts(awards: Any) -> list[dict[str, Any]]:
    """Awards below their claim, counted by reason, as the report counts them."""
    from allocator.outputs.report import reason_counts as counts

    return counts(awards)


__all__ = [
    "AWARDS",
    "AWARD_COLUMNS",
    "CONSTRAINTS",
    "DOWNLOADS",
    "REPORT",
    "RESULT",
    "WORKBOOK",
    "AllocatorError",
    "InputError",
    "InputProblem",
    "Rule",
    "audit",
    "check_scenario",
    "compare_folders",
    "comparison_tables",
    "districts",
    "explain_text",
    "field_labels",
    "ledger_url",
    "list_runs",
    "load_enterprises",
    "load_model",
    "reason_counts",
    "record_run",
    "run_budget_sweep",
    "run_scenario",
    "scenario_name_pattern",
    "sha256_bytes",
    "sha256_file",
    "sweep_files",
    "sweep_table",
    "sweep_variant_scenario",
    "sweep_variants",
    "template_bytes",
    "write_atomic",
]
