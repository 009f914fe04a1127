"""What an audit reports: the checks in their order, findings, check results and the report.

:class:`Collector` gathers the findings of the checks (at most
:data:`MAX_FINDINGS_PER_CHECK` listed per check) and turns them into an :class:`AuditReport`.
The small text helpers at the end name claims and amounts the same way in every finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.i18n import _, ngettext

# A check that fails on every row would bury the report; the rest are counted.
MAX_FINDINGS_PER_CHECK = 50

Severity = Literal["error", "warning"]
Status = Literal["passed", "failed", "warning", "skipped"]

# The checks in the order they run and are shown.
CHECKS: tuple[str, ...] = (
    "inputs",
    "ledger",
    "files",
    "result",
    "claims",
    "integrality",
    "provincial",
    "fund_cap",
    "sub_budget",
    "firm_cap",
    "district_cap",
    "district_floor",
    "no_duplicate",
    "all_or_nothing",
    "fairness",
    "exact",
    "totals",
    "workbook",
    "constraints",
)


def check_title(name: str) -> str:
    """What the check ``name`` of :data:`CHECKS` verifies, in the reader's language."""
    titles = {
        "inputs": _("scenario, model and data unchanged since the run (sha256)"),
        "ledger": _("output folder unchanged since the run was recorded"),
        "files": _("the folder holds the files result.json lists"),
        "result": _("result.json's rule and budget are the scenario's"),
        "claims": _("awards.csv rows are exactly the eligible claims, with their claims"),
        "integrality": _("awards whole 万元, non-negative, at most the claim"),
        "provincial": _("the relation to provincial awards of the same type"),
        "fund_cap": _("total of all awards within the budget"),
        "sub_budget": _("sub-budgets of the scenario"),
        "firm_cap": _("per-firm cap of the scenario"),
        "district_cap": _("district caps of the scenario"),
        "district_floor": _("district floors of the scenario"),
        "no_duplicate": _("at most one paid item per recipient and no-duplicate group"),
        "all_or_nothing": _("indivisible items paid 0 or in full"),
        "fairness": _("the fairness rule, from its definition"),
        "exact": _(
            "each award within 1万元 of the rule's exact value, the total and the order kept"
        ),
        "totals": _("result.json totals and counts equal the sums of awards.csv"),
        "workbook": _("awards.xlsx agrees with awards.csv, result.json and constraints.csv"),
        "constraints": _("constraints.csv rows recomputed from awards.csv"),
    }
    return titles[name]


def status_name(status: str) -> str:
    """A check's outcome (:data:`Status`) in the reader's language."""
    names = {
        "passed": _("passed"),
        "failed": _("failed"),
        "warning": _("warning"),
        "skipped": _("skipped"),
    }
    return names.get(status, status)


def severity_name(severity: str) -> str:
    """A finding's severity (:data:`Severity`) in the reader's language."""
    return _("error") if severity == "error" else _("warning")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a run.

    Attributes
    ----------
    severity:
        ``error`` when the allocation or its files are wrong; ``warning`` when something
        cannot be traced or proven but is not shown to be wrong (no ledger entry, a file
        nobody wrote, a run stopped by its time limit).
    check:
        The check that found it (a name of :data:`CHECKS`).
    file:
        The file it concerns (``awards.csv``, the data file as the scenario names it ...).
    row:
        The row of that file, counted as a spreadsheet counts it (the header is row 1), or
        None when the finding is about a whole file or a total.
    message:
        What is wrong, with the figures.
    """

    severity: Severity
    check: str
    file: str
    row: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "check": self.check,
            "file": self.file,
            "row": self.row,
            "message": self.message,
        }


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``passed``, ``failed``, ``warning`` or ``skipped`` (why)."""

    name: str
    title: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class AuditReport:
    """Everything :func:`audit` found about one output folder."""

    folder: Path
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (warnings allowed)."""
        return self.errors == 0

    def verdict(self) -> str:
        """One line: passed or failed, with the counts."""
        ran = sum(c.status != "skipped" for c in self.checks)
        if self.ok and self.warnings:
            return ngettext(
                "audit passed: {ran} checks, no errors, {n} warning ({folder})",
                "audit passed: {ran} checks, no errors, {n} warnings ({folder})",
                self.warnings,
            ).format(ran=ran, n=self.warnings, folder=self.folder)
        if self.ok:
            return _("audit passed: {ran} checks, no errors ({folder})").format(
                ran=ran, folder=self.folder
            )
        failed = [c.name for c in self.checks if c.status == "failed"]
        return ngettext(
            "audit FAILED: {n} error in {failed} of {ran} checks ({names}); {folder}",
            "audit FAILED: {n} errors in {failed} of {ran} checks ({names}); {folder}",
            self.errors,
        ).format(
            n=self.errors,
            failed=len(failed),
            ran=ran,
            names=", ".join(failed),
            folder=self.folder,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "verdict": "passed" if self.ok else "failed",
            "summary": self.verdict(),
            "errors": self.errors,
            "warnings": self.warnings,
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
        }


class Collector:
    """Findings of the checks, at most :data:`MAX_FINDINGS_PER_CHECK` listed per check."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.results: dict[str, CheckResult] = {}

    def add(
        self, check: str, file: str, message: str, *, row: int | None = None, warn: bool = False
    ) -> None:
        severity: Severity = "warning" if warn else "error"
        counts = self.counts.setdefault(check, {"error": 0, "warning": 0})
        counts[severity] += 1
        if sum(counts.values()) <= MAX_FINDINGS_PER_CHECK:
            self.findings.append(Finding(severity, check, file, row, message))

    def done(self, check: str, detail: str = "") -> None:
        """Close a check: failed on an error, warning on a warning, passed otherwise."""
        counts = self.counts.get(check, {"error": 0, "warning": 0})
        total = sum(counts.values())
        if total > MAX_FINDINGS_PER_CHECK:
            more = total - MAX_FINDINGS_PER_CHECK
            severity: Severity = "error" if counts["error"] else "warning"
            self.findings.append(
                Finding(
                    severity,
                    check,
                    "",
                    None,
                    ngettext(
                        "... and {n} more finding like these",
                        "... and {n} more findings like these",
                        more,
                    ).format(n=more),
                )
            )
        status: Status = (
            "failed" if counts["error"] else "warning" if counts["warning"] else "passed"
        )
        if total:
            counted = _("{errors} error(s), {warnings} warning(s)").format(
                errors=counts["error"], warnings=counts["warning"]
            )
            detail = (
                _("{counted}; {detail}").format(counted=counted, detail=detail)
                if detail
                else counted
            )
        self.results[check] = CheckResult(check, check_title(check), status, detail)

    def skip(self, check: str, why: str) -> None:
        if check not in self.results:
            self.results[check] = CheckResult(check, check_title(check), "skipped", why)

    def report(self, folder: Path) -> AuditReport:
        checks = [self.results[name] for name in CHECKS if name in self.results]
        return AuditReport(folder, checks, self.findings)


# --------------------------------------------------------------------------------------------
# Naming claims and amounts in findings


def num(value: float | np.floating[Any] | np.integer[Any]) -> str:
    """An amount as a finding shows it: whole numbers without a decimal, ``blank`` for NaN."""
    v = float(value)
    if math.isnan(v):
        return _("blank")
    return str(int(v)) if v.is_integer() else f"{v:g}"


def short(value: object) -> str:
    """A value found in a file, cut to 60 characters for a message."""
    text = _("nothing") if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_of(frame: pd.DataFrame, column: str) -> list[str]:
    """A column as a list of text, for messages (pandas scalars are untyped)."""
    return [str(v) for v in frame[column].tolist()]


def who(eligible: pd.DataFrame, k: int) -> str:
    """Claim ``k`` of the eligible claims: its recipient id and item."""
    return f"{eligible['recipient_id'].iloc[k]!s} {eligible['item_key'].iloc[k]!s}"


def row_text(eligible: pd.DataFrame, matched: npt.NDArray[np.int64], k: int) -> str:
    """Claim ``k`` with the awards.csv row it was read from (``no row`` when it has none)."""
    row = int(matched[k])
    if row > 0:
        return _("row {row}: {claim}").format(row=row, claim=who(eligible, k))
    return _("no row: {claim}").format(claim=who(eligible, k))


__all__ = [
    "CHECKS",
    "MAX_FINDINGS_PER_CHECK",
    "AuditReport",
    "CheckResult",
    "Collector",
    "Finding",
    "check_title",
    "num",
    "row_text",
    "severity_name",
    "short",
    "status_name",
    "text_of",
    "who",
]
