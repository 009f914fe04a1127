"""Re-check a finished run without the solver: ``allocate audit OUTPUT_DIR``.

An auditor must be able to verify a published allocation without trusting the program that
made it. :func:`audit` reads an output folder (``awards.csv``, ``constraints.csv``,
``result.json``, ``awards.xlsx``), the scenario, model and data the run recorded, and checks
every rule the allocation must obey, each from its own definition:

- the inputs still hash to the sha256 ``result.json`` recorded, and the folder still holds
  the files its ledger entry recorded;
- the claims, recomputed by :func:`allocator.policy.claims.evaluate`, are exactly the rows of
  ``awards.csv``; awards are whole, non-negative and at most the claim;
- the provincial rule, the fund, the sub-budgets, the firm and district caps and floors, the
  no-duplicate groups and the all-or-nothing items, each re-derived from the scenario and
  the model;
- the fairness rule, checked from outside: under ``priority`` no award below its claim could
  be raised without breaking a row; under a level rule every claim below its claim is held by
  a row, its group or its indivisibility, and claims held by the same rows share one level up
  to the whole-万元 rounding;
- the totals of ``result.json``, the sheets of ``awards.xlsx`` and every row of
  ``constraints.csv``, recomputed from ``awards.csv``.

Nothing here imports the model builder, the fairness rules or the solver
(``allocator.model``, ``allocator.solve``, nor ``allocator.outputs.write``, which imports the
builder; import-linter holds this): the constraint rows are derived again from
``docs/scenario.md``, so a mistake in the builder is not repeated here. Only the loaders and
the claims evaluation are shared. ``docs/audit.md`` explains each check.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, Problem
from allocator.core.files import sha256_file
from allocator.inputs.data import load_enterprises
from allocator.inputs.scenario import LoadedScenario, Scenario, load_scenario
from allocator.inputs.schema import DISTRICTS
from allocator.outputs.csvfile import QUOTE, csv_text
from allocator.outputs.ledger import check_against_ledger, find_run
from allocator.outputs.names import (
    AWARD_COLUMNS,
    AWARDS,
    CONSTRAINT_COLUMNS,
    CONSTRAINTS,
    RESULT,
    WORKBOOK,
)
from allocator.policy.bind import Budget, check_against_model
from allocator.policy.claims import Claims, evaluate
from allocator.policy.model import PolicyModel, load_model

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FIRM_KINDS = ("enterprise", "project")
EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit less the header: the workbook stops there

# A check that fails on every row would bury the report; the rest are counted.
MAX_FINDINGS_PER_CHECK = 50

Severity = Literal["error", "warning"]
Status = Literal["passed", "failed", "warning", "skipped"]

# The checks in the order they run and are shown.
CHECKS: tuple[tuple[str, str], ...] = (
    ("inputs", "scenario, model and data unchanged since the run (sha256)"),
    ("ledger", "output folder unchanged since the run was recorded"),
    ("files", "the folder holds the files result.json lists"),
    ("result", "result.json's rule and budget are the scenario's"),
    ("claims", "awards.csv rows are exactly the eligible claims, with their claims"),
    ("integrality", "awards whole 万元, non-negative, at most the claim"),
    ("provincial", "the relation to provincial awards of the same type"),
    ("fund_cap", "total of all awards within the budget"),
    ("sub_budget", "sub-budgets of the scenario"),
    ("firm_cap", "per-firm cap of the scenario"),
    ("district_cap", "district caps of the scenario"),
    ("district_floor", "district floors of the scenario"),
    ("no_duplicate", "at most one paid item per recipient and no-duplicate group"),
    ("all_or_nothing", "indivisible items paid 0 or in full"),
    ("fairness", "the fairness rule, from its definition"),
    ("totals", "result.json totals and counts equal the sums of awards.csv"),
    ("workbook", "awards.xlsx agrees with awards.csv, result.json and constraints.csv"),
    ("constraints", "constraints.csv rows recomputed from awards.csv"),
)
_TITLES = dict(CHECKS)


# --------------------------------------------------------------------------------------------
# Findings and the report


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
        if self.ok:
            extra = f", {self.warnings} warning(s)" if self.warnings else ""
            return f"audit passed: {ran} checks, no errors{extra} ({self.folder})"
        failed = [c.name for c in self.checks if c.status == "failed"]
        return (
            f"audit FAILED: {self.errors} error(s) in {len(failed)} of {ran} checks "
            f"({', '.join(failed)}); {self.folder}"
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


class _Collector:
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
                Finding(severity, check, "", None, f"... and {more} more finding(s) like these")
            )
        status: Status = (
            "failed" if counts["error"] else "warning" if counts["warning"] else "passed"
        )
        if total:
            detail = f"{counts['error']} error(s), {counts['warning']} warning(s)" + (
                f"; {detail}" if detail else ""
            )
        self.results[check] = CheckResult(check, _TITLES[check], status, detail)

    def skip(self, check: str, why: str) -> None:
        if check not in self.results:
            self.results[check] = CheckResult(check, _TITLES[check], "skipped", why)

    def report(self, folder: Path) -> AuditReport:
        checks = [self.results[name] for name, _ in CHECKS if name in self.results]
        return AuditReport(folder, checks, self.findings)


# --------------------------------------------------------------------------------------------
# Reading the folder


def read_result(folder: Path) -> dict[str, Any]:
    """``result.json`` of an output folder.

    Raises
    ------
    InputError
        When the folder or its ``result.json`` is missing, or the file is not a JSON object:
        there is nothing to audit.
    """
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "an output folder of allocate run", "no folder")])
    path = folder / RESULT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "the run's result.json", "no such file")]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(str(path), "a JSON object", str(exc))]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "a JSON object", type(data).__name__)])
    problems = []
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not all(
        isinstance(i, dict) and {"role", "path", "sha256"} <= i.keys() for i in inputs
    ):
        problems.append(
            Problem(str(path), "a list of {role, path, sha256}", _short(inputs), key="inputs")
        )
    if not isinstance(data.get("status"), str):
        problems.append(Problem(str(path), "a status", _short(data.get("status")), key="status"))
    if problems:
        raise InputError(problems)
    return data


def _short(value: object) -> str:
    text = "nothing" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def locate_scenario(
    folder: Path,
    result: dict[str, Any],
    *,
    explicit: Path | None = None,
    ledger: str | None = None,
) -> Path:
    """The scenario file of a run.

    ``result.json`` records the scenario's path as it was typed, possibly relative to the
    folder the run was started from; the ledger records it absolute. Tried in order: the
    path given (``--scenario``), the recorded path (relative to the current folder), the
    ledger's.

    Raises
    ------
    InputError
        When none of them is a file; the message lists what was tried.
    """
    tried: list[Path] = []
    if explicit is not None:
        tried.append(explicit)
    recorded = [i["path"] for i in result["inputs"] if i.get("role") == "scenario"]
    tried.extend(Path(p) for p in recorded)
    if ledger is not None:
        entry = find_run(ledger, folder)
        if entry is not None:
            tried.append(Path(entry.scenario_path))
    for path in tried:
        if path.is_file():
            return path
    shown = ", ".join(str(p) for p in tried) or "none recorded"
    raise InputError(
        [
            Problem(
                str(folder / RESULT),
                "a scenario file that exists (pass --scenario PATH)",
                f"tried {shown}",
                key="inputs",
            )
        ]
    )


@dataclass(frozen=True)
class InputChange:
    """An input file whose bytes differ from what the run recorded (or that is gone)."""

    role: str
    shown: str
    path: Path
    recorded: str
    now: str  # "" when the file is missing

    def message(self) -> str:
        if not self.now:
            return f"{self.role} file {self.shown} ({self.path}) is missing"
        return (
            f"{self.role} file {self.shown} ({self.path}) changed since the run: sha256 "
            f"recorded {self.recorded}, now {self.now}"
        )


def check_inputs(
    result: dict[str, Any], scenario_path: Path
) -> tuple[list[InputChange], LoadedScenario | None]:
    """Hash the scenario, model and data files again and compare with ``result.json``.

    The scenario is compared first: a changed scenario may point at other files, so its
    model and data are then not even looked at.

    Returns
    -------
    tuple
        The changed or missing files, and the loaded scenario when it is unchanged.
    """
    recorded = result["inputs"]
    changes: list[InputChange] = []
    scenario_rec = next(i for i in recorded if i.get("role") == "scenario")
    now = sha256_file(scenario_path)
    if now != scenario_rec["sha256"]:
        changes.append(
            InputChange(
                "scenario", scenario_rec["path"], scenario_path, scenario_rec["sha256"], now
            )
        )
        return changes, None
    loaded = load_scenario(scenario_path)
    files = [("model", loaded.model_path)] + [("data", p) for p in loaded.data_paths]
    wanted = [i for i in recorded if i.get("role") in ("model", "data")]
    if [r for r, _ in files] != [i["role"] for i in wanted]:
        changes.append(
            InputChange(
                "data",
                ", ".join(str(p) for p in loaded.data_paths),
                scenario_path,
                f"{sum(i['role'] == 'data' for i in wanted)} data file(s)",
                f"{len(loaded.data_paths)} data file(s)",
            )
        )
        return changes, loaded
    for (role, path), rec in zip(files, wanted, strict=True):
        digest = sha256_file(path) if path.is_file() else ""
        if digest != rec["sha256"]:
            changes.append(InputChange(role, rec["path"], path, rec["sha256"], digest))
    return changes, loaded


@dataclass(frozen=True)
class AwardsFile:
    """``awards.csv`` as read: text cells, and the two money columns as numbers.

    ``claim`` and ``award`` are NaN where a cell is not a number; ``csv_row`` is the row
    number a spreadsheet shows (the header is row 1).
    """

    frame: pd.DataFrame
    claim: FloatArray
    award: FloatArray
    claim_whole: BoolArray
    award_whole: BoolArray
    csv_row: IntArray

    def __len__(self) -> int:
        return len(self.frame)


_WHOLE = re.compile(r"-?\d+")


def _numbers(cells: pd.Series) -> tuple[FloatArray, BoolArray]:
    text = cells.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    whole = np.asarray([bool(_WHOLE.fullmatch(t)) for t in text], dtype=bool)
    return values, whole


def read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A CSV of the folder as text cells, with exactly ``columns``.

    Raises
    ------
    ValueError
        When the file cannot be read or has other columns; the message says which.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"cannot be read as CSV ({exc})") from None
    if list(frame.columns) != list(columns):
        raise ValueError(
            f"expected the columns {', '.join(columns)} "
            f"(found {', '.join(map(str, frame.columns))})"
        )
    # A text a spreadsheet would run as a formula was written with a quote in front.
    for col in frame.columns:
        quoted = frame[col].str.startswith(QUOTE).to_numpy(dtype=bool)
        if quoted.any():
            frame.loc[quoted, col] = frame.loc[quoted, col].map(csv_text)
    return frame


def read_awards(path: Path) -> AwardsFile:
    """Read ``awards.csv`` (see :func:`read_csv`)."""
    frame = read_csv(path, AWARD_COLUMNS)
    claim, claim_whole = _numbers(frame["claim_wan"])
    award, award_whole = _numbers(frame["award_wan"])
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    return AwardsFile(frame, claim, award, claim_whole, award_whole, rows)


# --------------------------------------------------------------------------------------------
# Recomputing the claims and the constraint rows from the inputs


@dataclass(frozen=True)
class Recomputed:
    """The claims and constraint rows of a run, derived again from its inputs.

    Attributes
    ----------
    scenario, spec, model, budget, claims:
        The loaded inputs and the claims evaluation.
    data:
        The enterprise table the claims were computed from (``firm_row`` points into it).
    eligible:
        One row per eligible claim in the order of ``awards.csv`` (item in document order,
        then recipient id), with the claims table's columns and ``upper`` (the most the
        claim can receive under the provincial rule, the amount a fairness rule shares),
        ``var`` (the claim can be paid: ``upper > 0``), ``expected_row`` (its row in a
        complete ``awards.csv``) and ``note`` (why ``upper`` is below the claim).
    rows:
        The constraint rows of docs/scenario.md: ``name``, ``family``, ``clause_id``,
        ``sense``, ``rhs``, ``members``, in the order of ``constraints.csv``.
    pair_row, pair_var:
        Membership: claim ``pair_var[k]`` (a position in ``eligible``) is in row
        ``pair_row[k]``.
    group_pairs:
        Every (claim, group) of a no-duplicate group, the model's and the scenario's, for
        claims that can be paid: columns ``var``, ``group``, ``recipient_id``.
    row_index:
        The position of each row in ``rows``, by name.
    """

    scenario: LoadedScenario
    spec: Scenario
    model: PolicyModel
    budget: Budget
    claims: Claims
    data: pd.DataFrame
    eligible: pd.DataFrame
    rows: pd.DataFrame
    pair_row: IntArray
    pair_var: IntArray
    group_pairs: pd.DataFrame
    row_index: dict[str, int]

    def rows_of(self, position: int) -> list[str]:
        """Names of the rows claim ``position`` belongs to, in row order."""
        hit = np.sort(self.pair_row[self.pair_var == position])
        return [str(n) for n in self.rows["name"].to_numpy()[hit]]


def recompute(scenario: LoadedScenario) -> Recomputed:
    """Load the model and data of ``scenario``, evaluate the claims, derive the rows.

    Raises
    ------
    InputError
        For a model, data file or scenario that does not load.
    """
    model = load_model(scenario.model_path)
    budget = check_against_model(scenario, model)
    data = load_enterprises(*scenario.data_paths)
    claims = evaluate(model, data, scenario.spec.overrides)
    eligible = _eligible(claims, model)
    upper, note, stacking = _upper(eligible, model)
    eligible["upper"] = upper
    eligible["var"] = upper > 0
    eligible["note"] = note
    group_pairs = _group_pairs(eligible, scenario.spec)
    rows, pair_row, pair_var = _derive_rows(eligible, scenario.spec, model, budget, stacking)
    rows, pair_row, pair_var = _with_groups(
        rows, pair_row, pair_var, group_pairs, model, scenario.spec
    )
    return Recomputed(
        scenario=scenario,
        spec=scenario.spec,
        model=model,
        budget=budget,
        claims=claims,
        data=data.frame,
        eligible=eligible,
        rows=rows,
        pair_row=pair_row,
        pair_var=pair_var,
        group_pairs=group_pairs,
        row_index={str(n): k for k, n in enumerate(rows["name"])},
    )


_ELIGIBLE_COLUMNS = (
    "recipient_kind",
    "recipient_id",
    "recipient_name",
    "district",
    "industry",
    "clause_id",
    "item_id",
    "item_key",
    "claim_wan",
    "exclusive_group",
    "all_or_nothing",
    "provincial_type",
    "provincial_applied",
    "provincial_award_wan",
    "firm_row",
)


def _eligible(claims: Claims, model: PolicyModel) -> pd.DataFrame:
    table = claims.table
    mask = table["eligible"].to_numpy(dtype=bool)
    out = pd.DataFrame(
        {c: table[c].to_numpy()[mask] for c in _ELIGIBLE_COLUMNS}, copy=False
    ).reset_index(drop=True)
    for col in ("recipient_id", "recipient_name", "district", "industry", "exclusive_group"):
        out[col] = out[col].fillna("").astype(str)
    out["provincial_type"] = out["provincial_type"].fillna("").astype(str)
    order = {f"{c.id}/{i.id}": n for n, (c, i) in enumerate(model.items())}
    out["_item"] = out["item_key"].map(order)
    # Output order: the item in document order, then the recipient id as text.
    out = out.sort_values(["_item", "recipient_id"], kind="stable").reset_index(drop=True)
    out = out.drop(columns="_item")
    out["expected_row"] = np.arange(2, len(out) + 2, dtype=np.int64)
    return out


@dataclass(frozen=True)
class _Stacking:
    """``better_of`` rows where several items of one type stack: (type, recipient, rhs, rows)."""

    rows: list[tuple[str, str, int, IntArray]]


def _upper(
    e: pd.DataFrame, model: PolicyModel
) -> tuple[IntArray, npt.NDArray[np.object_], _Stacking]:
    """The most each claim can receive under the provincial rule, as docs/scenario.md states it.

    ``exclude_if_applied``: nothing for an item whose type the firm applied for at the
    provincial level. ``better_of``: with a provincial award *P* of the type, an item that is
    the only one of its type the firm can be paid (alone, or all of them in one model group)
    gets ``max(0, claim − P)``; items that stack share one row holding their total to
    ``max(0, attainable − P)``, attainable counting each group by its largest claim.
    """
    claim = e["claim_wan"].to_numpy(dtype=np.int64)
    upper = np.maximum(claim, 0).astype(np.int64)
    note = np.full(len(e), "", dtype=object)
    rule = model.rules.provincial
    ptype = e["provincial_type"].to_numpy(dtype=object)
    typed = (ptype != "") & (upper > 0)
    if rule.mode == "exclude_if_applied":
        hit = typed & e["provincial_applied"].to_numpy(dtype=bool)
        upper[hit] = 0
        note[hit] = "applied for the provincial award of the same type"
        return upper, note, _Stacking([])
    prov = e["provincial_award_wan"].to_numpy(dtype=np.int64)
    pos = np.flatnonzero(typed & (prov > 0))
    stacked: list[tuple[str, str, int, IntArray]] = []
    if pos.size == 0:
        return upper, note, _Stacking(stacked)
    sub = pd.DataFrame(
        {
            "pos": pos,
            "rid": e["recipient_id"].to_numpy(dtype=object)[pos],
            "ptype": ptype[pos],
            "group": e["exclusive_group"].to_numpy(dtype=object)[pos],
            "claim": upper[pos],
            "prov": prov[pos],
        }
    )
    for (rid, t), g in sub.groupby(["rid", "ptype"], sort=True):
        p = int(g["prov"].max())
        groups = set(g["group"])
        if len(g) == 1 or (len(groups) == 1 and "" not in groups):
            at = g["pos"].to_numpy(dtype=np.int64)
            upper[at] = np.maximum(g["claim"].to_numpy(dtype=np.int64) - p, 0)
            note[at] = f"less the provincial award of the same type ({p}万元)"
            continue
        # Each group counts with its largest claim; an item outside any group on its own.
        keys = np.where(g["group"] == "", "#" + g["pos"].astype(str), g["group"])
        attainable = int(g.groupby(keys)["claim"].max().sum())
        rhs = max(attainable - p, 0)
        at = g["pos"].to_numpy(dtype=np.int64)
        upper[at] = np.minimum(upper[at], rhs)
        note[at] = f"type {t} together at most {rhs}万元 (claims less the provincial {p}万元)"
        if rhs > 0:
            stacked.append((str(t), str(rid), rhs, at))
    return upper, note, _Stacking(stacked)


def _group_pairs(e: pd.DataFrame, spec: Scenario) -> pd.DataFrame:
    """(claim, group) for every claim that can be paid, model groups then the scenario's."""
    var = e["var"].to_numpy(dtype=bool)
    model_group = e["exclusive_group"].to_numpy(dtype=object)
    item = e["item_key"].to_numpy(dtype=object)
    rid = e["recipient_id"].to_numpy(dtype=object)
    parts = []
    has = var & (model_group != "")
    parts.append(pd.DataFrame({"var": np.flatnonzero(has), "group": model_group[has], "src": 0}))
    for n, g in enumerate(spec.exclusive_groups):
        hit = var & np.isin(item, np.asarray(g.items, dtype=object))
        parts.append(pd.DataFrame({"var": np.flatnonzero(hit), "group": g.name, "src": n + 1}))
    pairs = pd.concat(parts, ignore_index=True)
    pairs["var"] = pairs["var"].astype(np.int64)
    pairs["recipient_id"] = rid[pairs["var"].to_numpy(dtype=np.int64)]
    return pairs


def _derive_rows(
    e: pd.DataFrame, spec: Scenario, model: PolicyModel, budget: Budget, stacking: _Stacking
) -> tuple[pd.DataFrame, IntArray, IntArray]:
    """The linear rows of docs/scenario.md, family by family (no-duplicate rows come later)."""
    names: list[str] = []
    families: list[str] = []
    clause_ids: list[str] = []
    senses: list[str] = []
    rhs: list[int] = []
    pair_row: list[IntArray] = []
    pair_var: list[IntArray] = []

    def add(
        name: str, family: str, clause_id: str, sense: str, bound: int, members: IntArray
    ) -> None:
        pair_row.append(np.full(members.size, len(names), dtype=np.int64))
        pair_var.append(members.astype(np.int64))
        names.append(name)
        families.append(family)
        clause_ids.append(clause_id)
        senses.append(sense)
        rhs.append(int(bound))

    var = e["var"].to_numpy(dtype=bool)
    variables = np.flatnonzero(var)
    add("fund_cap", "fund_cap", budget.clause_id, "<=", budget.value_wan, variables)

    clause = e["clause_id"].to_numpy(dtype=object)
    item = e["item_key"].to_numpy(dtype=object)
    for sb in spec.sub_budgets:
        keys = np.asarray(sb.clauses, dtype=object)
        members = np.flatnonzero(var & (np.isin(clause, keys) | np.isin(item, keys)))
        if members.size:
            add(f"sub_budget[{sb.name}]", "sub_budget", "scenario", "<=", sb.budget_wan, members)

    rule_clause = model.rules.provincial.clause or "provincial"
    for t, rid, bound, members in stacking.rows:
        add(f"provincial[{t}][{rid}]", "provincial", rule_clause, "<=", bound, members)

    recipients = e["recipient_id"].to_numpy(dtype=object)
    upper = e["upper"].to_numpy(dtype=np.int64)
    if spec.firm_cap_wan is not None:
        firms = var & np.isin(e["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS)
        for firm, members in _by_key(recipients, firms):
            if int(upper[members].sum()) > spec.firm_cap_wan:
                add(f"firm_cap[{firm}]", "firm_cap", "scenario", "<=", spec.firm_cap_wan, members)

    district = e["district"].to_numpy(dtype=object)
    for family, mapping, sense in (
        ("district_cap", spec.district_caps, "<="),
        ("district_floor", spec.district_floors, ">="),
    ):
        for d in sorted(mapping, key=list(DISTRICTS).index):
            members = np.flatnonzero(var & (district == d))
            if members.size and not (sense == ">=" and mapping[d] == 0):
                add(f"{family}[{d}]", family, "scenario", sense, mapping[d], members)

    rows = pd.DataFrame(
        {"name": names, "family": families, "clause_id": clause_ids, "sense": senses, "rhs": rhs}
    )
    empty = np.zeros(0, dtype=np.int64)
    return (
        rows,
        np.concatenate(pair_row) if pair_row else empty,
        np.concatenate(pair_var) if pair_var else empty,
    )


def _by_key(keys: npt.NDArray[np.object_], mask: BoolArray) -> Iterator[tuple[str, IntArray]]:
    """Positions where ``mask`` holds, grouped by key, keys in text order."""
    positions = np.flatnonzero(mask)
    if positions.size == 0:
        return
    codes, _ = pd.factorize(keys[positions], sort=True)
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    for chunk in np.split(positions[order], cuts):
        yield str(keys[chunk[0]]), chunk.astype(np.int64)


def _with_groups(
    rows: pd.DataFrame,
    pair_row: IntArray,
    pair_var: IntArray,
    group_pairs: pd.DataFrame,
    model: PolicyModel,
    spec: Scenario,
) -> tuple[pd.DataFrame, IntArray, IntArray]:
    """Add a ``no_duplicate[group][recipient]`` row where a recipient could be paid twice."""
    stacking_clause = model.rules.stacking.clause or "stacking"
    model_groups = sorted(set(group_pairs.loc[group_pairs["src"] == 0, "group"]))
    order = [(g, 0) for g in model_groups] + [
        (g.name, n + 1) for n, g in enumerate(spec.exclusive_groups)
    ]
    names = list(rows["name"])
    extra: list[dict[str, Any]] = []
    rows_parts = [pair_row]
    vars_parts = [pair_var]
    for group, src in order:
        sub = group_pairs[(group_pairs["group"] == group) & (group_pairs["src"] == src)]
        rid = sub["recipient_id"].to_numpy(dtype=object)
        var = sub["var"].to_numpy(dtype=np.int64)
        for recipient, at in _by_key(rid, np.ones(len(sub), dtype=bool)):
            if at.size < 2:
                continue
            k = len(names) + len(extra)
            extra.append(
                {
                    "name": f"no_duplicate[{group}][{recipient}]",
                    "family": "no_duplicate",
                    "clause_id": stacking_clause if src == 0 else "scenario",
                    "sense": "<=",
                    "rhs": 1,
                }
            )
            rows_parts.append(np.full(at.size, k, dtype=np.int64))
            vars_parts.append(var[at])
    out = pd.concat([rows, pd.DataFrame(extra, columns=rows.columns)], ignore_index=True)
    out["rhs"] = out["rhs"].astype(np.int64)
    all_rows = np.concatenate(rows_parts)
    all_vars = np.concatenate(vars_parts)
    out["members"] = np.bincount(all_rows, minlength=len(out)).astype(np.int64)
    return out, all_rows, all_vars


# --------------------------------------------------------------------------------------------
# Row arithmetic shared by the checks and by allocate explain


@dataclass(frozen=True)
class RowState:
    """Every derived row under an award vector: left side, slack, binding and tightness.

    ``binding`` follows docs/outputs.md: a ``<=`` row binds when its slack is 0 or smaller
    than the smallest step any member below its upper bound could take (1万元; the whole
    upper bound for an all-or-nothing award at 0; none for a member at 0 whose group already
    pays another). ``tight`` is what a level rule needs: the row cannot give every such member
    its next step at once (slack < the sum of their steps), which every row that stopped a
    common level satisfies.
    """

    lhs: FloatArray
    slack: FloatArray
    binding: BoolArray
    tight: BoolArray
    step: FloatArray  # per claim: its smallest raise, inf when it cannot rise
    blocked: BoolArray  # per claim: at 0 while its group pays another member


def row_state(rec: Recomputed, award: FloatArray) -> RowState:
    """Evaluate the derived rows of ``rec`` at ``award`` (aligned with ``rec.eligible``)."""
    e = rec.eligible
    n = len(e)
    upper = e["upper"].to_numpy(dtype=np.float64)
    aon = e["all_or_nothing"].to_numpy(dtype=bool)
    blocked = _blocked(rec, award)
    step = np.ones(n, dtype=np.float64)
    at0_aon = aon & (award == 0)
    step[at0_aon] = upper[at0_aon]
    step[award >= upper] = np.inf
    step[blocked] = np.inf
    rows = rec.rows
    count = len(rows)
    family = rows["family"].to_numpy(dtype=object)
    sense = rows["sense"].to_numpy(dtype=object)
    rhs = rows["rhs"].to_numpy(dtype=np.float64)
    lhs = np.zeros(count, dtype=np.float64)
    linear = family[rec.pair_row] != "no_duplicate"
    np.add.at(lhs, rec.pair_row[linear], award[rec.pair_var[linear]])
    paid = ~linear
    np.add.at(lhs, rec.pair_row[paid], (award[rec.pair_var[paid]] > 0).astype(np.float64))
    slack = np.where(sense == "<=", rhs - lhs, lhs - rhs)
    min_step = np.full(count, np.inf)
    np.minimum.at(min_step, rec.pair_row, step[rec.pair_var])
    sum_step = np.zeros(count, dtype=np.float64)
    finite = np.isfinite(step[rec.pair_var])
    np.add.at(sum_step, rec.pair_row[finite], step[rec.pair_var[finite]])
    binding = np.where(sense == "<=", (slack == 0) | (slack < min_step), slack == 0)
    binding = np.where(family == "no_duplicate", lhs >= 1, binding)
    tight = (sense == "<=") & (family != "no_duplicate") & (slack < sum_step)
    return RowState(lhs, slack, binding.astype(bool), tight, step, blocked)


def _blocked(rec: Recomputed, award: FloatArray) -> BoolArray:
    pairs = rec.group_pairs
    blocked = np.zeros(len(rec.eligible), dtype=bool)
    if pairs.empty:
        return blocked
    var = pairs["var"].to_numpy(dtype=np.int64)
    key = pairs["group"].astype(str) + "\x00" + pairs["recipient_id"].astype(str)
    codes, _ = pd.factorize(key)
    paid = np.bincount(codes, weights=(award[var] > 0).astype(np.float64))
    hit = (paid[codes] > 0) & (award[var] == 0)
    blocked[var[hit]] = True
    return blocked


# --------------------------------------------------------------------------------------------
# The fairness rules' definitions, on one set of claims held by the same rows


def level_violation(
    rule: str, claim: npt.ArrayLike, award: npt.ArrayLike
) -> tuple[int, int, str] | None:
    """Whether awards share one level of ``rule`` up to whole-万元 rounding.

    The claims are those a level rule treats alike (held by the same rows); ``claim`` is what
    the rule shares (the claim less any provincial deduction), ``award`` what was paid.

    - ``proportional``: some ratio ``r`` has ``|award − r·claim| < 1`` for all;
    - ``equal_awards``: the awards below their claims differ by at most 1万元, and an award
      paid in full is at most the lowest of them plus 1;
    - ``equal_losses``: the losses of the paid awards differ by at most 1万元, and an award of
      0 has a claim at most the lowest of those losses plus 1;
    - ``talmud`` (Aumann–Maschler): with ``λ`` in half-万元, ``min(c/2, λ)`` until every
      half-claim is reached, then ``c − min(c/2, μ)`` with a common loss ``μ``; some level has
      every award between the floor of its target and the floor of the next half-万元 step's.

    Returns
    -------
    tuple or None
        None when consistent; else two positions (into the arrays) that cannot share a
        level, and a sentence saying why.
    """
    c = np.asarray(claim, dtype=np.int64)
    x = np.asarray(award, dtype=np.float64)
    if c.size < 1:
        return None
    if rule == "proportional":
        return _proportional(c, x)
    if rule == "equal_awards":
        return _equal_awards(c, x)
    if rule == "equal_losses":
        return _equal_losses(c, x)
    if rule == "talmud":
        return _talmud(c, x)
    raise ValueError(f"not a level rule: {rule}")


def _proportional(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    # r must lie in ((x − 1)/c, (x + 1)/c) for every claim: the intervals must meet.
    low = (x - 1) / c
    high = (x + 1) / c
    i, j = int(np.argmax(low)), int(np.argmin(high))
    xi, xj = Fraction(float(x[i])), Fraction(float(x[j]))
    if (xi - 1) / int(c[i]) < (xj + 1) / int(c[j]):
        return None
    return (
        i,
        j,
        f"no common ratio r has |award − r·claim| < 1 for both: the first needs "
        f"r > {float((xi - 1) / int(c[i])):.4f}, the second r < {float((xj + 1) / int(c[j])):.4f}",
    )


def _equal_awards(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    cut = np.flatnonzero(x < c)
    if cut.size == 0:
        return None
    lo, hi = cut[np.argmin(x[cut])], cut[np.argmax(x[cut])]
    if x[hi] - x[lo] > 1:
        return (
            int(hi),
            int(lo),
            f"awards below their claims differ by {_num(x[hi] - x[lo])}万元 (at most 1 under "
            "equal awards)",
        )
    full = np.flatnonzero(x >= c)
    if full.size:
        big = full[np.argmax(c[full])]
        if c[big] > x[lo] + 1:
            return (
                int(big),
                int(lo),
                f"paid in full {int(c[big])}万元 while another award is held at "
                f"{_num(x[lo])}万元 (equal awards pays at most the level + 1)",
            )
    return None


def _equal_losses(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    paid = np.flatnonzero(x > 0)
    if paid.size == 0:
        return None
    loss = c - x
    lo, hi = paid[np.argmin(loss[paid])], paid[np.argmax(loss[paid])]
    if loss[hi] - loss[lo] > 1:
        return (
            int(hi),
            int(lo),
            f"losses of paid awards differ by {_num(loss[hi] - loss[lo])}万元 (at most 1 under "
            "equal losses)",
        )
    zero = np.flatnonzero(x == 0)
    if zero.size:
        big = zero[np.argmax(c[zero])]
        if c[big] > loss[lo] + 1:
            return (
                int(big),
                int(lo),
                f"a claim of {int(c[big])}万元 got nothing while another lost only "
                f"{_num(loss[lo])}万元 (equal losses takes at most the common loss + 1)",
            )
    return None


def _talmud_half(level: IntArray, c: IntArray, k: int) -> IntArray:
    """The Talmud target in half-万元 at half-万元 level ``level`` (0..2k, k the largest claim)."""
    first = np.minimum(c, level)  # equal awards on the half-claims: c/2 reached at level c
    second = 2 * c - np.minimum(c, 2 * k - level)  # then equal losses on the other halves
    return np.where(level <= k, first, second).astype(np.int64)


def _talmud(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    k = int(c.max())
    top = 2 * k

    def first_level(pred: Any) -> IntArray:
        """Least level in 0..top+1 where pred (monotone false → true) holds, per claim."""
        lo = np.full(c.size, -1, dtype=np.int64)
        hi = np.full(c.size, top + 1, dtype=np.int64)
        while bool((hi - lo > 1).any()):
            mid = (lo + hi) // 2
            ok = pred(mid)
            hi = np.where(ok & (hi - lo > 1), mid, hi)
            lo = np.where(~ok & (hi - lo > 1), mid, lo)
        return hi

    def target(level: IntArray) -> IntArray:
        return _talmud_half(np.minimum(level, top), c, k) // 2

    # Levels where the target already exceeds the award are too high; the award must be
    # reached by the next step's target: B <= L <= A for a common L.
    above = first_level(lambda lv: target(lv) > x)
    reach = first_level(lambda lv: target(lv + 1) >= x)
    a_max = above - 1
    i, j = int(np.argmax(reach)), int(np.argmin(a_max))
    if reach[i] <= a_max[j]:
        return None
    return (
        i,
        j,
        "no common Talmud level (half-claims first, then equal losses on the other halves) "
        f"gives both awards: the first needs λ ≥ {reach[i] / 2:g}万元, the second λ ≤ "
        f"{a_max[j] / 2:g}万元",
    )


def _num(x: float | np.floating[Any] | np.integer[Any]) -> str:
    v = float(x)
    if math.isnan(v):
        return "blank"
    return str(int(v)) if v.is_integer() else f"{v:g}"


# --------------------------------------------------------------------------------------------
# The audit


def audit(
    folder: Path | str,
    *,
    ledger: str,
    scenario: Path | None = None,
) -> AuditReport:
    """Re-verify a finished run from its folder and inputs, without any solver.

    Parameters
    ----------
    folder:
        The output folder of ``allocate run``.
    ledger:
        The ledger URL (:func:`allocator.outputs.ledger.ledger_url`), for the folder's entry.
    scenario:
        The scenario file, when the one ``result.json`` names cannot be found.

    Returns
    -------
    AuditReport
        Every check with its outcome, and every finding.

    Raises
    ------
    InputError
        When the folder, its ``result.json`` or the scenario cannot be read, or the inputs
        do not load: there is nothing to check against.
    """
    folder = Path(folder)
    result = read_result(folder)
    out = _Collector()

    scenario_path = locate_scenario(folder, result, explicit=scenario, ledger=ledger)
    changes, loaded = check_inputs(result, scenario_path)
    for change in changes:
        out.add("inputs", change.shown, change.message())
    out.done("inputs", f"{len(result['inputs'])} file(s) hashed")

    for lf in check_against_ledger(ledger, folder):
        named = _LEDGER_WHAT.fullmatch(lf.what)
        name = named.group(1) if named else "ledger"
        out.add("ledger", name, f"{lf.what}: {lf.detail}", warn=lf.severity == "warning")
    out.done("ledger")

    _check_files(out, folder, result)
    awards = _load_awards(out, folder, result)
    constraints = _load_constraints(out, folder, result)

    if awards is not None:
        _check_totals(out, result, awards)
        _check_workbook(out, folder, result, awards, constraints)
    else:
        for name in ("totals", "workbook"):
            out.skip(name, _no_awards(result))

    if changes or loaded is None:
        why = "the inputs changed since the run: nothing is recomputed from them"
        for name, _ in CHECKS:
            out.skip(name, why)
        return out.report(folder)

    rec = recompute(loaded)
    _check_result(out, result, rec)
    if awards is None:
        for name, _ in CHECKS:
            out.skip(name, _no_awards(result))
        return out.report(folder)

    x, matched = _check_claims(out, rec, awards)
    _check_integrality(out, rec, awards, x, matched)
    _check_provincial(out, rec, x, matched)
    state = row_state(rec, x)
    _check_families(out, rec, awards, x, matched, state)
    _check_fairness(out, rec, result, x, matched, state)
    if constraints is not None:
        _check_constraints(out, rec, result, constraints, state)
    else:
        out.skip("constraints", "constraints.csv could not be read")
    return out.report(folder)


_LEDGER_WHAT = re.compile(r"(.+) (?:changed since the run|missing|added)")


def _files_now(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


def _no_awards(result: dict[str, Any]) -> str:
    status = result.get("status")
    if status in ("INFEASIBLE", "UNKNOWN"):
        return f"status {status}: the run has no allocation"
    return "awards.csv could not be read"


def _check_files(out: _Collector, folder: Path, result: dict[str, Any]) -> None:
    listed = result.get("files")
    if not isinstance(listed, list):
        out.add("files", RESULT, f"result.json lists no files (found {_short(listed)})")
        out.done("files")
        return
    present = _files_now(folder)
    for name in listed:
        if str(name) not in present:
            out.add("files", str(name), f"{name} is listed in result.json but missing")
    for name in sorted(present - {str(n) for n in listed}):
        out.add("files", name, f"{name} is in the folder but not written by the run", warn=True)
    out.done("files", f"{len(listed)} file(s) listed")


def _load_awards(out: _Collector, folder: Path, result: dict[str, Any]) -> AwardsFile | None:
    if result.get("status") in ("INFEASIBLE", "UNKNOWN"):
        return None
    path = folder / AWARDS
    if not path.is_file():
        out.add("claims", AWARDS, "awards.csv is missing")
        out.done("claims")
        return None
    try:
        return read_awards(path)
    except ValueError as exc:
        out.add("claims", AWARDS, f"awards.csv {exc}")
        out.done("claims")
        return None


def _load_constraints(out: _Collector, folder: Path, result: dict[str, Any]) -> pd.DataFrame | None:
    if result.get("status") in ("INFEASIBLE", "UNKNOWN"):
        return None
    path = folder / CONSTRAINTS
    if not path.is_file():
        out.add("constraints", CONSTRAINTS, "constraints.csv is missing")
        out.done("constraints")
        return None
    try:
        return read_csv(path, CONSTRAINT_COLUMNS)
    except ValueError as exc:
        out.add("constraints", CONSTRAINTS, f"constraints.csv {exc}")
        out.done("constraints")
        return None


def _check_result(out: _Collector, result: dict[str, Any], rec: Recomputed) -> None:
    rule = rec.spec.fairness.rule.value
    if result.get("rule") != rule:
        out.add("result", RESULT, f"rule {result.get('rule')!r}, but the scenario says {rule!r}")
    if result.get("budget_wan") != rec.budget.value_wan:
        out.add(
            "result",
            RESULT,
            f"budget_wan {result.get('budget_wan')!r}, but the scenario and model give "
            f"{rec.budget.value_wan}万元 ({rec.budget.source})",
        )
    status = result.get("status")
    if status == "FEASIBLE":
        gap = result.get("gap")
        what = (
            "the weighted objective is optimal (gap 0), the rank tie-break among its optima "
            "was not proven"
            if gap == 0
            else f"gap {gap}"
        )
        out.add(
            "result",
            RESULT,
            "status FEASIBLE: the time limit stopped the solver before it proved the allocation "
            f"optimal ({what})",
            warn=True,
        )
    out.done("result", f"rule {rule}, budget {rec.budget.value_wan}万元, status {status}")


def text_of(frame: pd.DataFrame, column: str) -> list[str]:
    """A column as a list of text, for messages (pandas scalars are untyped)."""
    return [str(v) for v in frame[column].tolist()]


def _who(e: pd.DataFrame, k: int) -> str:
    return f"{e['recipient_id'].iloc[k]!s} {e['item_key'].iloc[k]!s}"


def _check_claims(
    out: _Collector, rec: Recomputed, awards: AwardsFile
) -> tuple[FloatArray, IntArray]:
    """Match awards.csv rows to the eligible claims.

    Returns the award per eligible claim (0 where the file has no row for it) and the CSV
    row of each eligible claim (−1 where none).
    """
    e = rec.eligible
    frame = awards.frame
    key_e = e["recipient_id"] + "\x00" + e["item_key"]
    key_a = frame["recipient_id"] + "\x00" + frame["item_key"]
    position = pd.Series(np.arange(len(e), dtype=np.int64), index=key_e.to_numpy())
    hit = key_a.map(position).to_numpy(dtype=np.float64, na_value=np.nan)
    dup = key_a.duplicated(keep="first").to_numpy(dtype=bool)
    x = np.zeros(len(e), dtype=np.float64)
    matched = np.full(len(e), -1, dtype=np.int64)

    unknown = np.isnan(hit)
    ineligible = _ineligible_reasons(
        rec, set(zip(frame["recipient_id"][unknown], frame["item_key"][unknown], strict=True))
    )
    cells = {c: text_of(frame, c) for c in AWARD_COLUMNS}
    compared = ("recipient_name", "recipient_kind", "district", "industry", "clause_id")
    inputs = {c: text_of(e, c) for c in compared}
    claim = e["claim_wan"].to_numpy(dtype=np.int64)
    expected_row = e["expected_row"].to_numpy(dtype=np.int64)
    for a in range(len(frame)):
        row = int(awards.csv_row[a])
        rid, key = cells["recipient_id"][a], cells["item_key"][a]
        if math.isnan(hit[a]):
            why = ineligible.get((rid, key), "no recipient or item of that name in the inputs")
            out.add(
                "claims",
                AWARDS,
                f"row {row}: {rid} {key} is not an eligible claim ({why})",
                row=row,
            )
            continue
        k = int(hit[a])
        if dup[a]:
            out.add(
                "claims",
                AWARDS,
                f"row {row}: {rid} {key} repeats row {int(matched[k])}",
                row=row,
            )
            continue
        matched[k] = row
        x[k] = 0.0 if math.isnan(awards.award[a]) else float(awards.award[a])
        if awards.claim[a] != claim[k]:
            out.add(
                "claims",
                AWARDS,
                f"row {row}: {rid} {key} claim_wan {cells['claim_wan'][a]!r}, but the "
                f"recomputed claim is {int(claim[k])}万元",
                row=row,
            )
        for col in compared:
            if cells[col][a] != inputs[col][k]:
                out.add(
                    "claims",
                    AWARDS,
                    f"row {row}: {rid} {key} {col} {cells[col][a]!r}, but the inputs say "
                    f"{inputs[col][k]!r}",
                    row=row,
                )
    for k in np.flatnonzero(matched < 0).tolist():
        out.add(
            "claims",
            AWARDS,
            f"the eligible claim {_who(e, k)} ({int(claim[k])}万元) has no row; "
            f"it belongs at row {int(expected_row[k])}",
        )
    out.done("claims", f"{len(frame)} rows, {len(e)} eligible claims recomputed")
    return x, matched


def _ineligible_reasons(
    rec: Recomputed, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Why each (recipient, item) of ``wanted`` that the claims table holds is not eligible."""
    reasons: dict[tuple[str, str], str] = {}
    for key in sorted({k for _, k in wanted} & set(rec.claims.items)):
        item = rec.claims.items[key]
        frame = item.frame
        ids = frame["recipient_id"].astype(str).to_numpy()
        for k in np.flatnonzero(np.isin(ids, [r for r, i in wanted if i == key])).tolist():
            failed = [c for c in item.conditions if not bool(frame[f"{c}.result"].iloc[k])]
            if failed:
                why = "condition " + ", ".join(failed) + " fails"
            elif not bool(frame["applied"].iloc[k]):
                why = "not applied for"
            else:
                why = "ineligible"
            reasons[(str(ids[k]), key)] = why
    return reasons


def _row_text(e: pd.DataFrame, matched: IntArray, k: int) -> str:
    row = int(matched[k])
    where = f"row {row}" if row > 0 else "no row"
    return f"{where}: {_who(e, k)}"


def _check_integrality(
    out: _Collector, rec: Recomputed, awards: AwardsFile, x: FloatArray, matched: IntArray
) -> None:
    frame = awards.frame
    rid, item, cells = (text_of(frame, c) for c in ("recipient_id", "item_key", "award_wan"))
    # Only the rows that break the rule are visited.
    for a in np.flatnonzero(~awards.award_whole | (awards.award < 0)).tolist():
        row = int(awards.csv_row[a])
        who, cell = f"{rid[a]} {item[a]}", cells[a]
        if not awards.award_whole[a]:
            out.add(
                "integrality",
                AWARDS,
                f"row {row}: {who} award_wan {cell!r} is not whole 万元",
                row=row,
            )
        elif awards.award[a] < 0:
            out.add(
                "integrality", AWARDS, f"row {row}: {who} award_wan {cell} is negative", row=row
            )
    e = rec.eligible
    claim = e["claim_wan"].to_numpy(dtype=np.float64)
    for k in np.flatnonzero((x > claim) & (matched > 0)).tolist():
        out.add(
            "integrality",
            AWARDS,
            f"row {int(matched[k])}: {_who(e, k)} award {_num(x[k])}万元 is above its claim "
            f"of {_num(claim[k])}万元",
            row=int(matched[k]),
        )
    out.done("integrality", f"{len(frame)} awards")


def _check_provincial(out: _Collector, rec: Recomputed, x: FloatArray, matched: IntArray) -> None:
    e = rec.eligible
    rule = rec.model.rules.provincial
    where = f"clause {rule.clause}" if rule.clause else "the provincial rule"
    ptype = e["provincial_type"].to_numpy(dtype=object)
    firm = np.isin(e["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS)
    typed = (ptype != "") & firm
    if rule.mode == "exclude_if_applied":
        # （二十）: no city award of a type the firm applied to the province for.
        hit = typed & e["provincial_applied"].to_numpy(dtype=bool) & (x > 0)
        for k in np.flatnonzero(hit).tolist():
            out.add(
                "provincial",
                AWARDS,
                f"{_row_text(e, matched, k)} is paid {_num(x[k])}万元, but the firm applied for "
                f"the provincial award of type {ptype[k]} ({where}: no city award of that type)",
                row=int(matched[k]) if matched[k] > 0 else None,
            )
        out.done("provincial", f"exclude_if_applied ({where})")
        return
    # better_of: the firm receives the better of the city's award and the provincial award,
    # never both. Its city awards of a type may therefore total at most what its city claims
    # of the type exceed the provincial award by. A group of items of which one only can be
    # paid counts with the claim of the item paid (else its largest claim): a firm paid the
    # smaller of two exclusive items cannot be topped up as if it had the larger.
    prov = e["provincial_award_wan"].to_numpy(dtype=np.int64)
    claim = e["claim_wan"].to_numpy(dtype=np.int64)
    sel = np.flatnonzero(typed & (prov > 0) & (claim > 0))
    groups_of: dict[int, list[str]] = {}
    for var, group in zip(
        rec.group_pairs["var"].to_numpy(dtype=np.int64),
        rec.group_pairs["group"].to_numpy(dtype=object),
        strict=True,
    ):
        groups_of.setdefault(int(var), []).append(str(group))
    rid = e["recipient_id"].to_numpy(dtype=object)
    item_keys = text_of(e, "item_key")
    sub = pd.DataFrame({"k": sel, "rid": rid[sel], "t": ptype[sel]})
    checked = 0
    for (r, t), g in sub.groupby(["rid", "t"], sort=True):
        ks = g["k"].to_numpy(dtype=np.int64).tolist()
        p = int(prov[ks].max())
        attainable = _attainable(ks, claim, x, groups_of)
        allowed = max(attainable - p, 0)
        total = float(x[ks].sum())
        checked += 1
        if total > allowed:
            rows = ", ".join(str(int(matched[k])) for k in ks if matched[k] > 0)
            items = ", ".join(f"{item_keys[k]} {_num(x[k])}万元" for k in ks)
            out.add(
                "provincial",
                AWARDS,
                f"rows {rows}: {r} is paid {_num(total)}万元 of type {t} ({items}) on top of a "
                f"provincial award of {p}万元; better of the two allows at most "
                f"max(0, {attainable} − {p}) = {allowed}万元 ({where})",
                row=int(matched[ks[0]]) if matched[ks[0]] > 0 else None,
            )
    out.done(
        "provincial", f"better_of ({where}), {checked} firm-type pair(s) with a provincial award"
    )


def _attainable(
    ks: list[int], claim: IntArray, x: FloatArray, groups_of: dict[int, list[str]]
) -> int:
    """The claims a firm can hold at once: ungrouped items in full, each group once."""
    # Items linked by any group form a component: one claim of it counts.
    parent = {k: k for k in ks}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    first: dict[str, int] = {}
    for k in ks:
        for g in groups_of.get(k, []):
            if g in first:
                parent[root(k)] = root(first[g])
            else:
                first[g] = k
    comps: dict[int, list[int]] = {}
    for k in ks:
        comps.setdefault(root(k), []).append(k)
    total = 0
    for members in comps.values():
        paid = [k for k in members if x[k] > 0]
        total += int(claim[paid].sum()) if paid else int(claim[members].max())
    return total


def _check_families(
    out: _Collector,
    rec: Recomputed,
    awards: AwardsFile,
    x: FloatArray,
    matched: IntArray,
    state: RowState,
) -> None:
    """Fund, sub-budgets, caps, floors, groups and indivisible items, from the scenario."""
    e = rec.eligible
    spec = rec.spec
    # The fund counts every row of the file, matched or not: money paid is money paid.
    total = float(np.nansum(awards.award))
    budget = rec.budget.value_wan
    clause_id = rec.budget.clause_id
    source = f"clause {clause_id}" if clause_id != "scenario" else "scenario budget"
    if total > budget:
        last = int(awards.csv_row[-1]) if len(awards) else 1
        out.add(
            "fund_cap",
            AWARDS,
            f"rows 2–{last}: the awards add up to {_num(total)}万元, above the budget of "
            f"{budget}万元 ({source})",
        )
    out.done("fund_cap", f"{_num(total)} of {budget}万元")

    def csv_rows(ks: Iterable[int]) -> str:
        found = [str(int(matched[k])) for k in ks if matched[k] > 0 and x[k] > 0]
        shown = ", ".join(found[:10]) + (f" and {len(found) - 10} more" if len(found) > 10 else "")
        return f"rows {shown}" if found else "no row"

    # Sub-budgets, firm caps and district caps: over every claim of the scope (not only
    # those the builder made rows for: a claim the provincial rule zeroed still counts).
    clause = e["clause_id"].to_numpy(dtype=object)
    item = e["item_key"].to_numpy(dtype=object)
    for sb in spec.sub_budgets:
        keys = np.asarray(sb.clauses, dtype=object)
        scope = np.flatnonzero(np.isin(clause, keys) | np.isin(item, keys))
        paid = float(x[scope].sum())
        if paid > sb.budget_wan:
            out.add(
                "sub_budget",
                AWARDS,
                f"{csv_rows(scope)}: sub-budget {sb.name} ({', '.join(sb.clauses)}) pays "
                f"{_num(paid)}万元, above its {sb.budget_wan}万元",
            )
    if spec.sub_budgets:
        out.done("sub_budget", f"{len(spec.sub_budgets)} sub-budget(s)")
    else:
        out.skip("sub_budget", "the scenario sets none")

    rid = e["recipient_id"].to_numpy(dtype=object)
    if spec.firm_cap_wan is not None:
        firms = np.isin(e["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS) & (x > 0)
        for firm, ks in _by_key(rid, firms):
            paid = float(x[ks].sum())
            if paid > spec.firm_cap_wan:
                out.add(
                    "firm_cap",
                    AWARDS,
                    f"{csv_rows(ks)}: {firm} receives {_num(paid)}万元 in total, above the "
                    f"firm cap of {spec.firm_cap_wan}万元",
                    row=int(matched[ks[0]]) if matched[ks[0]] > 0 else None,
                )
        out.done("firm_cap", f"{spec.firm_cap_wan}万元 per firm")
    else:
        out.skip("firm_cap", "the scenario sets none")

    district = e["district"].to_numpy(dtype=object)
    for d, cap in spec.district_caps.items():
        scope = np.flatnonzero(district == d)
        paid = float(x[scope].sum())
        if paid > cap:
            out.add(
                "district_cap",
                AWARDS,
                f"{csv_rows(scope)}: {d} receives {_num(paid)}万元, above its cap of {cap}万元",
            )
    if spec.district_caps:
        out.done("district_cap", f"{len(spec.district_caps)} district(s)")
    else:
        out.skip("district_cap", "the scenario sets none")
    for d, floor in spec.district_floors.items():
        paid = float(x[district == d].sum())
        if paid < floor:
            out.add(
                "district_floor",
                AWARDS,
                f"{d} receives {_num(paid)}万元, below its floor of {floor}万元",
            )
    if spec.district_floors:
        out.done("district_floor", f"{len(spec.district_floors)} district(s)")
    else:
        out.skip("district_floor", "the scenario sets none")

    # No duplicates: every group, the model's and the scenario's, over every claim.
    item_keys = text_of(e, "item_key")
    pairs = rec.group_pairs
    paid_pairs = pairs[x[pairs["var"].to_numpy(dtype=np.int64)] > 0]
    for (group, recipient), g in paid_pairs.groupby(["group", "recipient_id"], sort=True):
        if len(g) > 1:
            ks = g["var"].to_numpy(dtype=np.int64).tolist()
            shown = " and ".join(
                f"row {int(matched[k])} ({item_keys[k]} {_num(x[k])}万元)" for k in ks
            )
            out.add(
                "no_duplicate",
                AWARDS,
                f"{shown}: {recipient} is paid {len(ks)} items of no-duplicate group {group}",
                row=int(matched[ks[0]]),
            )
    out.done("no_duplicate", f"{pairs['group'].nunique()} group(s)")

    aon = e["all_or_nothing"].to_numpy(dtype=bool)
    upper = e["upper"].to_numpy(dtype=np.float64)
    bad = aon & (x > 0) & (x != upper)
    for k in np.flatnonzero(bad).tolist():
        out.add(
            "all_or_nothing",
            AWARDS,
            f"{_row_text(e, matched, k)} is all or nothing but paid {_num(x[k])}万元 of "
            f"{_num(upper[k])}万元",
            row=int(matched[k]) if matched[k] > 0 else None,
        )
    out.done("all_or_nothing", f"{int(aon.sum())} indivisible claim(s)")


def _check_fairness(
    out: _Collector,
    rec: Recomputed,
    result: dict[str, Any],
    x: FloatArray,
    matched: IntArray,
    state: RowState,
) -> None:
    e = rec.eligible
    rule = rec.spec.fairness.rule.value
    upper = e["upper"].to_numpy(dtype=np.float64)
    below = (x < upper) & e["var"].to_numpy(dtype=bool)
    rows = rec.rows
    linear = (rows["sense"].to_numpy(dtype=object) == "<=") & (
        rows["family"].to_numpy(dtype=object) != "no_duplicate"
    )
    pl = linear[rec.pair_row]
    min_slack = np.full(len(e), np.inf)
    np.minimum.at(min_slack, rec.pair_var[pl], state.slack[rec.pair_row[pl]])
    in_tight = np.zeros(len(e), dtype=bool)
    pt = state.tight[rec.pair_row]
    in_tight[rec.pair_var[pt]] = True
    step = state.step

    def row_of(k: int) -> int | None:
        return int(matched[k]) if matched[k] > 0 else None

    status = result.get("status")
    if rule == "priority":
        # Pareto: no award below its claim could take its next step within every row.
        raisable = below & np.isfinite(step) & (min_slack >= step)

        def raise_text(k: int) -> str:
            held = [n for n in rec.rows_of(k) if not n.startswith("no_duplicate")]
            slack = ", ".join(f"{n} slack {_num(state.slack[rec.row_index[n]])}" for n in held)
            return (
                f"{_row_text(e, matched, k)} at {_num(x[k])} of {_num(upper[k])}万元 could rise "
                f"by {_num(step[k])}万元 without breaking any row ({slack}): priority leaves no "
                "money a claim below its claim could take"
            )

        _add_some(
            out,
            "fairness",
            np.flatnonzero(raisable),
            matched,
            raise_text,
            "could rise as well",
            warn=status == "FEASIBLE",
        )
        out.done("fairness", "priority: no award below its claim could be raised")
        return

    # A level rule: each claim below its claim is held by something ...
    holds = state.blocked | (min_slack < step) | in_tight

    def loose_text(k: int) -> str:
        return (
            f"{_row_text(e, matched, k)} at {_num(x[k])} of {_num(upper[k])}万元 is held by no "
            f"row, group or indivisibility: {rule} raises every claim until a row stops it"
        )

    _add_some(
        out,
        "fairness",
        np.flatnonzero(below & ~holds),
        matched,
        loose_text,
        "are held by nothing either",
        warn=status == "FEASIBLE",
    )
    # ... and the claims held by the same rows share one level. Exempt: indivisible claims (0
    # or all), members of floored districts (a floor lifts them above the level), and claims
    # a no-duplicate group shut out.
    aon = e["all_or_nothing"].to_numpy(dtype=bool)
    floor_member = np.zeros(len(e), dtype=bool)
    floors = rows["family"].to_numpy(dtype=object)[rec.pair_row] == "district_floor"
    floor_member[rec.pair_var[floors]] = True
    grouped = np.zeros(len(e), dtype=bool)
    multi = (rows["family"].to_numpy(dtype=object) == "no_duplicate")[rec.pair_row]
    grouped[rec.pair_var[multi]] = True
    shut_out = grouped & (x == 0)
    comparable = e["var"].to_numpy(dtype=bool) & ~aon & ~floor_member & ~shut_out
    signature = _signatures(rec, state.tight, len(e))
    classes = pd.Series(np.flatnonzero(comparable)).groupby(signature[comparable])
    claims = e["upper"].to_numpy(dtype=np.int64)
    compared = 0
    for _, members in classes:
        ks = members.to_numpy(dtype=np.int64)
        if ks.size < 2:
            continue
        compared += 1
        bad = level_violation(rule, claims[ks], x[ks])
        if bad is None:
            continue
        i, j, why = int(ks[bad[0]]), int(ks[bad[1]]), bad[2]
        shared = [n for n in rec.rows_of(i) if state.tight[rec.row_index[n]]]
        out.add(
            "fairness",
            AWARDS,
            f"{_row_text(e, matched, i)} ({_num(x[i])} of {claims[i]}万元) and "
            f"{_row_text(e, matched, j)} ({_num(x[j])} of {claims[j]}万元), held by the same "
            f"rows ({', '.join(shared) or 'none'}): {why} ({rule})",
            row=row_of(i),
            warn=status == "FEASIBLE",
        )
    out.done("fairness", f"{rule}: {compared} set(s) of claims held by the same rows compared")


_LISTED = 10  # findings of one kind listed one by one; the rest are summed up in one


def _add_some(
    out: _Collector,
    check: str,
    positions: IntArray,
    matched: IntArray,
    text: Callable[[int], str],
    more: str,
    *,
    warn: bool,
) -> None:
    """Add the first findings of a kind one by one and the rest as one, naming their rows.

    Messages are built only for the claims listed: a run gone wrong everywhere may have
    hundreds of thousands of them.
    """
    for k in positions[:_LISTED].tolist():
        row = int(matched[k]) if matched[k] > 0 else None
        out.add(check, AWARDS, text(k), row=row, warn=warn)
    rest = positions[_LISTED:]
    if rest.size:
        rows = [str(int(r)) for r in matched[rest[:30]] if r > 0]
        shown = ", ".join(rows) + (" ..." if rest.size > 30 else "")
        out.add(check, AWARDS, f"{rest.size} more claims {more}: rows {shown}", warn=warn)


def _signatures(rec: Recomputed, tight: BoolArray, n: int) -> npt.NDArray[np.uint64]:
    """Per claim, a key of the set of tight rows holding it (equal sets, equal keys).

    Each row gets a random 64-bit key and a set the sum of its keys modulo 2**64: two
    different sets collide with probability 2**-64, and the sums take one pass over the
    memberships however many rows there are.
    """
    keys = np.random.default_rng(20250126).integers(
        1, np.iinfo(np.uint64).max, size=len(tight), dtype=np.uint64
    )
    sig = np.zeros(n, dtype=np.uint64)
    on = tight[rec.pair_row]
    np.add.at(sig, rec.pair_var[on], keys[rec.pair_row[on]])
    return sig


# --------------------------------------------------------------------------------------------
# Totals, workbook, constraints.csv


def _aggregate(awards: AwardsFile, key: str) -> dict[str, dict[str, int]]:
    frame = pd.DataFrame(
        {
            "key": awards.frame[key].astype(str),
            "claim": np.nan_to_num(awards.claim),
            "award": np.nan_to_num(awards.award),
        }
    )
    out: dict[str, dict[str, int]] = {}
    for k, g in frame.groupby("key", sort=False):
        out[str(k)] = {
            "claims": int((g["claim"] > 0).sum()),
            "funded": int((g["award"] > 0).sum()),
            "claim_wan": round(float(g["claim"].sum())),
            "award_wan": round(float(g["award"].sum())),
        }
    return out


def _counts(awards: AwardsFile) -> dict[str, int]:
    award = np.nan_to_num(awards.award)
    rid = awards.frame["recipient_id"]
    return {
        "total_claim_wan": round(float(np.nan_to_num(awards.claim).sum())),
        "total_awarded_wan": round(float(award.sum())),
        "recipients": int(rid.nunique()),
        "eligible_claims": len(awards),
        "funded_claims": int((award > 0).sum()),
        "funded_recipients": int(rid[award > 0].nunique()),
    }


_TOTAL_KEYS = (("per_clause", "clause_id"), ("per_item", "item_key"), ("per_district", "district"))


def _check_totals(out: _Collector, result: dict[str, Any], awards: AwardsFile) -> None:
    counts = _counts(awards)
    recorded_counts = result.get("counts") or {}
    for name in ("total_claim_wan", "total_awarded_wan"):
        if result.get(name) != counts[name]:
            out.add(
                "totals",
                RESULT,
                f"{name} is {result.get(name)!r}, but awards.csv adds up to {counts[name]}万元",
            )
    for name in ("recipients", "eligible_claims", "funded_claims", "funded_recipients"):
        if recorded_counts.get(name) != counts[name]:
            out.add(
                "totals",
                RESULT,
                f"counts.{name} is {recorded_counts.get(name)!r}, but awards.csv gives "
                f"{counts[name]}",
            )
    totals = result.get("totals") or {}
    for section, key in _TOTAL_KEYS:
        mine = _aggregate(awards, key)
        theirs = {str(r.get(key)): r for r in totals.get(section, []) if isinstance(r, dict)}
        for k in sorted(mine.keys() | theirs.keys()):
            if k not in theirs:
                out.add("totals", RESULT, f"totals.{section} lacks {key} {k!r} of awards.csv")
                continue
            if k not in mine:
                out.add(
                    "totals", RESULT, f"totals.{section} has {key} {k!r}, which awards.csv lacks"
                )
                continue
            for field_name, value in mine[k].items():
                if theirs[k].get(field_name) != value:
                    out.add(
                        "totals",
                        RESULT,
                        f"totals.{section}[{k}].{field_name} is {theirs[k].get(field_name)!r}, "
                        f"but awards.csv gives {value}",
                    )
    out.done("totals", f"{counts['total_awarded_wan']} of {counts['total_claim_wan']}万元 claimed")


_AWARD_ZH = (
    "对象编号",
    "对象名称",
    "对象类型",
    "所属县区",
    "所属行业",
    "条款",
    "奖补项目",
    "测算金额（万元）",
    "奖补金额（万元）",
    "低于测算的原因",
)
_CONSTRAINT_ZH = (
    "约束",
    "类别",
    "条款",
    "方向",
    "左端（万元）",
    "右端（万元）",
    "松弛",
    "是否紧",
    "变量数",
)
_SHEETS = ("汇总", "奖补明细", "按条款", "按县区", "约束")


def _cell(value: object) -> str:
    """A workbook cell as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_workbook(
    out: _Collector,
    folder: Path,
    result: dict[str, Any],
    awards: AwardsFile,
    constraints: pd.DataFrame | None,
) -> None:
    import openpyxl  # only the audit of the workbook needs it

    path = folder / WORKBOOK
    if not path.is_file():
        out.add("workbook", WORKBOOK, "awards.xlsx is missing")
        out.done("workbook")
        return
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any unreadable workbook is a finding, not a crash
        out.add("workbook", WORKBOOK, f"awards.xlsx cannot be read ({type(exc).__name__}: {exc})")
        out.done("workbook")
        return
    try:
        sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()
    for name in _SHEETS:
        if name not in sheets:
            out.add("workbook", WORKBOOK, f"sheet {name} is missing")
    if "奖补明细" in sheets:
        _compare_sheet(
            out,
            "奖补明细",
            sheets["奖补明细"],
            _AWARD_ZH,
            awards.frame.to_numpy(dtype=object)[:EXCEL_MAX_ROWS],
            AWARDS,
        )
    if "约束" in sheets and constraints is not None:
        cons = constraints.to_numpy(dtype=object).copy()
        binding = list(CONSTRAINT_COLUMNS).index("binding")
        cons[:, binding] = [
            {"true": "是", "false": "否"}.get(str(v), str(v)) for v in cons[:, binding]
        ]
        _compare_sheet(out, "约束", sheets["约束"], _CONSTRAINT_ZH, cons, CONSTRAINTS)
    counts = _counts(awards)
    if "汇总" in sheets:
        summary = {_cell(r[0]): r[1] if len(r) > 1 else None for r in sheets["汇总"][1:]}
        expected = {
            "求解状态": result.get("status"),
            "分配规则": result.get("rule"),
            "资金总额（万元）": result.get("budget_wan"),
            "测算总额（万元）": counts["total_claim_wan"],
            "奖补总额（万元）": counts["total_awarded_wan"],
            "对象数": counts["recipients"],
            "符合条件的申报数": counts["eligible_claims"],
            "获奖补的申报数": counts["funded_claims"],
            "获奖补的对象数": counts["funded_recipients"],
        }
        for label, want in expected.items():
            if _cell(summary.get(label)) != _cell(want):
                out.add(
                    "workbook",
                    WORKBOOK,
                    f"sheet 汇总, {label}: {summary.get(label)!r}, but should be {want!r}",
                )
    for sheet, key in (("按条款", "clause_id"), ("按县区", "district")):
        if sheet not in sheets:
            continue
        mine = _aggregate(awards, key)
        body = sheets[sheet][1:]
        seen = set()
        header = [_cell(h) for h in sheets[sheet][0]] if sheets[sheet] else []
        col = {h: n for n, h in enumerate(header)}
        fields = {
            "claims": "申报数",
            "funded": "获奖补数",
            "claim_wan": "测算金额（万元）",
            "award_wan": "奖补金额（万元）",
        }
        for n, r in enumerate(body, start=2):
            k = _cell(r[0])
            seen.add(k)
            if k not in mine:
                out.add(
                    "workbook",
                    WORKBOOK,
                    f"sheet {sheet} row {n}: {k!r} is not in awards.csv",
                    row=n,
                )
                continue
            for f, label in fields.items():
                got = r[col[label]] if label in col and col[label] < len(r) else None
                if _cell(got) != str(mine[k][f]):
                    out.add(
                        "workbook",
                        WORKBOOK,
                        f"sheet {sheet} row {n} ({k}), {label}: {got!r}, but awards.csv gives "
                        f"{mine[k][f]}",
                        row=n,
                    )
        for k in sorted(mine.keys() - seen):
            out.add("workbook", WORKBOOK, f"sheet {sheet} lacks {k!r} of awards.csv")
    out.done("workbook", f"{len(sheets)} sheet(s)")


def _compare_sheet(
    out: _Collector,
    sheet: str,
    rows: list[tuple[Any, ...]],
    header: Sequence[str],
    expected: npt.NDArray[np.object_],
    source: str,
) -> None:
    if not rows or tuple(_cell(h) for h in rows[0]) != tuple(header):
        out.add("workbook", WORKBOOK, f"sheet {sheet}: header differs from {', '.join(header)}")
        return
    body = rows[1:]
    if len(body) != len(expected):
        out.add(
            "workbook",
            WORKBOOK,
            f"sheet {sheet} has {len(body)} rows, {source} {len(expected)}",
        )
    for n, (got, want) in enumerate(zip(body, expected, strict=False), start=2):
        cells = [_cell(v) for v in got]
        wanted = [_cell(v) for v in want]
        if cells != wanted:
            diff = [
                f"{header[c]} {cells[c]!r} vs {wanted[c]!r}"
                for c in range(min(len(cells), len(wanted)))
                if cells[c] != wanted[c]
            ]
            out.add(
                "workbook",
                WORKBOOK,
                f"sheet {sheet} row {n} differs from {source} row {n}: {'; '.join(diff)}",
                row=n,
            )


def _check_constraints(
    out: _Collector,
    rec: Recomputed,
    result: dict[str, Any],
    constraints: pd.DataFrame,
    state: RowState,
) -> None:
    rows = rec.rows
    index = rec.row_index
    seen: dict[str, int] = {}
    cells = {c: text_of(constraints, c) for c in CONSTRAINT_COLUMNS}
    rhs = rows["rhs"].to_numpy(dtype=np.int64)
    members = rows["members"].to_numpy(dtype=np.int64)
    family, clause_id, sense = (text_of(rows, c) for c in ("family", "clause_id", "sense"))
    for a in range(len(constraints)):
        csv_row = a + 2
        name = cells["name"][a]
        if name in seen:
            out.add(
                "constraints",
                CONSTRAINTS,
                f"row {csv_row}: {name} repeats row {seen[name]}",
                row=csv_row,
            )
            continue
        seen[name] = csv_row
        k = index.get(name)
        if k is None:
            out.add(
                "constraints",
                CONSTRAINTS,
                f"row {csv_row}: {name} is no row of the scenario and model",
                row=csv_row,
            )
            continue
        want = {
            "family": family[k],
            "clause_id": clause_id[k],
            "sense": sense[k],
            "lhs": _num(state.lhs[k]),
            "rhs": str(int(rhs[k])),
            "slack": _num(state.slack[k]),
            "binding": "true" if state.binding[k] else "false",
            "members": str(int(members[k])),
        }
        for col, value in want.items():
            if cells[col][a] != value:
                out.add(
                    "constraints",
                    CONSTRAINTS,
                    f"row {csv_row}: {name} {col} {cells[col][a]!r}, recomputed {value}",
                    row=csv_row,
                )
    for name in rows["name"]:
        if name not in seen:
            out.add("constraints", CONSTRAINTS, f"the row {name} of the scenario is missing")
    counts = result.get("counts") or {}
    variables = int(rec.eligible["var"].sum())
    if counts.get("variables") != variables:
        out.add(
            "constraints",
            RESULT,
            f"counts.variables is {counts.get('variables')!r}; {variables} claims can be paid",
        )
    if counts.get("constraint_rows") != len(rows):
        out.add(
            "constraints",
            RESULT,
            f"counts.constraint_rows is {counts.get('constraint_rows')!r}; the scenario has "
            f"{len(rows)} rows",
        )
    out.done("constraints", f"{len(rows)} row(s) recomputed")


__all__ = [
    "AWARDS",
    "AWARD_COLUMNS",
    "CHECKS",
    "CONSTRAINTS",
    "CONSTRAINT_COLUMNS",
    "RESULT",
    "WORKBOOK",
    "AuditReport",
    "AwardsFile",
    "CheckResult",
    "Finding",
    "InputChange",
    "Recomputed",
    "RowState",
    "audit",
    "check_inputs",
    "level_violation",
    "locate_scenario",
    "read_awards",
    "read_csv",
    "read_result",
    "recompute",
    "row_state",
]
