"""The output folder of a run: awards, constraints, result and a workbook, written atomically.

``docs/outputs.md`` describes every file and column. In short:

- ``awards.csv``: one row per eligible (recipient, award item), with the claim, the award and,
  when the award is below the claim, the reason;
- ``constraints.csv``: every constraint row with its left side, right side, slack and
  whether it binds;
- ``result.json``: status, totals, counts, parameters, provenance, and ``timings``;
- ``awards.xlsx``: the same for a clerk, with Chinese headers;
- ``report.html``: one self-contained page for an auditor (``allocator.outputs.report``).

Same inputs give byte-identical ``awards.csv``, ``constraints.csv``, ``awards.xlsx`` and
``report.html``;
``result.json`` differs only under ``timings``. A run writes into a temporary sibling folder
and renames it into place when complete, so an interrupted run leaves the previous output
untouched. When the scenario is infeasible, or the solver finds no allocation in time, the
folder holds ``result.json`` alone.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core import interrupt
from allocator.core.errors import InputError, Problem
from allocator.core.files import fixed_zip
from allocator.inputs.choices import Rule
from allocator.inputs.scenario import LoadedScenario
from allocator.inputs.schema import DISTRICTS
from allocator.model.build import Build
from allocator.model.problem import NO_DUPLICATE, Allocation, Status
from allocator.outputs.names import (
    AWARD_COLUMNS,
    AWARDS,
    CONSTRAINT_COLUMNS,
    CONSTRAINTS,
    OUTPUT_FILES,
    REPORT,
    RESULT,
    WORKBOOK,
)
from allocator.outputs.report import report_bytes
from allocator.policy.model import Basis, PolicyModel

LEVEL_RULES = (Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD)

# The workbook's fixed creation and modification time, so that equal content gives equal bytes.
FIXED_TIME = "2000-01-01T00:00:00Z"
EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit, less the header


@dataclass(frozen=True)
class InputFile:
    """One input file and the hash of its bytes."""

    role: str  # scenario, model, data
    path: Path
    shown: str  # as the user named it, for the provenance stamp
    sha256: str


@dataclass
class RunResult:
    """Everything a run hands to :func:`write_outputs`.

    Attributes
    ----------
    scenario, model:
        The loaded scenario and policy model.
    build:
        The built problem and its rows.
    allocation:
        The solver's allocation; None when the run stopped before or without one.
    status:
        The run's status (the allocation's, or INFEASIBLE when the build already shows it).
    message:
        For INFEASIBLE and UNKNOWN: why, in a sentence or a few.
    inputs:
        The input files with their hashes.
    command:
        The command line, as a provenance stamp.
    timings:
        Seconds per phase (load, claims, build, solve, write) and per solve phase.
    versions:
        Versions of allocate, OR-Tools, Python and the main libraries.
    solver_details:
        What the fairness rule reports besides the awards (methods, rounds, levels of the
        rows, conflicting rows), kept even when the allocation is not.
    diagnosis:
        For INFEASIBLE: what clashes and the least change that would make it feasible
        (:meth:`allocator.solve.diagnose.Diagnosis.to_json`).
    """

    scenario: LoadedScenario
    model: PolicyModel
    build: Build
    allocation: Allocation | None
    status: Status
    message: str
    inputs: list[InputFile]
    command: str
    timings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    solver_details: dict[str, object] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------
# Tables


def award_vector(build: Build, allocation: Allocation | None) -> npt.NDArray[np.int64]:
    """The award per row of ``build.rows`` (0 where the row is no variable)."""
    var = build.rows["var"].to_numpy(dtype=np.int64)
    out = np.zeros(len(var), dtype=np.int64)
    if allocation is not None:
        has = var >= 0
        out[has] = np.asarray(allocation.award, dtype=np.int64)[var[has]]
    return out


def constraints_table(build: Build, allocation: Allocation) -> pd.DataFrame:
    """One row per constraint row and per no-duplicate group, with slack and binding.

    A ``<=`` row binds when its slack is 0, or when the slack is smaller than the smallest
    step any member below its upper bound could take: 1万元, or the whole upper bound for an
    all-or-nothing award still at 0; a member at 0 whose no-duplicate group already pays
    another item cannot step at all. A ``>=`` row binds when its slack is 0. A no-duplicate
    group binds when one of its members is paid.
    """
    p = build.problem
    award = np.asarray(allocation.award, dtype=np.int64)
    step = _steps(build, award)
    frames = []
    for fam in p.families:
        lengths = np.array([m.size for m in fam.members], dtype=np.int64)
        flat = np.concatenate(fam.members) if fam.members else np.zeros(0, np.int64)
        row = np.repeat(np.arange(len(fam.labels)), lengths)
        lhs = np.bincount(row, weights=award[flat], minlength=len(fam.labels)).astype(np.int64)
        rhs = np.asarray(fam.rhs, dtype=np.int64)
        if fam.sense == "<=":
            slack = rhs - lhs
            min_step = np.full(len(fam.labels), np.inf)
            np.minimum.at(min_step, row, step[flat])
            binding = (slack == 0) | (slack < min_step)
        else:
            slack = lhs - rhs
            binding = slack == 0
        frames.append(
            pd.DataFrame(
                {
                    "name": fam.labels,
                    "family": fam.name,
                    "clause_id": fam.clause_id,
                    "sense": fam.sense,
                    "lhs": lhs,
                    "rhs": rhs,
                    "slack": slack,
                    "binding": binding,
                    "members": lengths,
                }
            )
        )
    if p.exclusive:
        lengths = np.array([m.size for m in p.exclusive], dtype=np.int64)
        row = np.repeat(np.arange(len(p.exclusive)), lengths)
        flat = np.concatenate(p.exclusive)
        paid = np.bincount(row, weights=award[flat] > 0, minlength=len(p.exclusive))
        paid = paid.astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "name": p.exclusive_labels,
                    "family": NO_DUPLICATE,
                    "clause_id": p.exclusive_clause_ids,
                    "sense": "<=",
                    "lhs": paid,
                    "rhs": 1,
                    "slack": 1 - paid,
                    "binding": paid >= 1,
                    "members": lengths,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in CONSTRAINT_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    for col in ("lhs", "rhs", "slack", "members"):
        out[col] = out[col].astype(np.int64)
    out["binding"] = out["binding"].astype(bool)
    return out[list(CONSTRAINT_COLUMNS)]


def _steps(build: Build, award: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The smallest raise each variable could take on its own (inf: none)."""
    p = build.problem
    step = np.ones(p.size, dtype=np.float64)
    zero = award == 0
    aon = p.all_or_nothing & zero
    step[aon] = p.upper[aon]
    step[award >= p.upper] = np.inf
    blocked, _ = _blocked_by_group(build, award)
    step[blocked] = np.inf
    return step


def _blocked_by_group(
    build: Build, award: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Variables at 0 whose no-duplicate group pays another member, and that group's index."""
    p = build.problem
    blocked = np.zeros(p.size, dtype=bool)
    group_of = np.full(p.size, -1, dtype=np.int64)
    if not p.exclusive:
        return blocked, group_of
    lengths = np.array([m.size for m in p.exclusive], dtype=np.int64)
    row = np.repeat(np.arange(len(p.exclusive)), lengths)
    flat = np.concatenate(p.exclusive)
    paid = np.bincount(row, weights=award[flat] > 0, minlength=len(p.exclusive)) > 0
    hit = paid[row] & (award[flat] == 0)
    # The first group (in problem order) that blocks a variable names the reason.
    hit_vars, first = np.unique(flat[hit], return_index=True)
    blocked[hit_vars] = True
    group_of[hit_vars] = row[hit][first]
    return blocked, group_of


def awards_table(
    build: Build, allocation: Allocation | None, constraints: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per eligible (recipient, item), in output order, with award and reason."""
    rows = build.rows
    award = award_vector(build, allocation)
    out = rows[list(AWARD_COLUMNS[:7])].copy()
    out["claim_wan"] = rows["claim_wan"].to_numpy(dtype=np.int64)
    out["award_wan"] = award
    out["reason"] = _reasons(build, allocation, award, constraints)
    return out[list(AWARD_COLUMNS)]


def _reasons(
    build: Build,
    allocation: Allocation | None,
    award: npt.NDArray[np.int64],
    constraints: pd.DataFrame | None,
) -> npt.NDArray[np.object_]:
    rows = build.rows
    claim = rows["claim_wan"].to_numpy(dtype=np.int64)
    upper = rows["upper_wan"].to_numpy(dtype=np.int64)
    var = rows["var"].to_numpy(dtype=np.int64)
    note = rows["note"].to_numpy(dtype=object)
    reason = np.full(len(rows), "", dtype=object)

    # Reasons known before solving: not applied for, the provincial rule.
    pre = (award < claim) & ((var < 0) | (upper < claim)) & (note != "")
    reason[pre] = note[pre]
    if allocation is None:
        return reason

    solver = _solver_reasons(build, allocation, constraints)
    has = var >= 0
    below = np.zeros(len(rows), dtype=bool)
    below[has] = award[has] < upper[has]
    text = np.full(len(rows), "", dtype=object)
    text[below] = solver[var[below]]
    both = below & (reason != "")
    reason[both] = reason[both] + "; " + text[both]
    only = below & ~both
    reason[only] = text[only]
    return reason


def _solver_reasons(
    build: Build, allocation: Allocation, constraints: pd.DataFrame | None
) -> npt.NDArray[np.object_]:
    """Per variable below its upper bound, what stopped it; "" elsewhere.

    A reason is a core (``fund_cap binding``) and the clause it comes from (``clause 18``):
    ``fund_cap binding (clause 18)``, or under a level rule
    ``proportional level 0.8123 (fund_cap binding, clause 18)``.
    """
    p = build.problem
    award = np.asarray(allocation.award, dtype=np.int64)
    below = award < p.upper
    core = np.full(p.size, "", dtype=object)
    where = np.full(p.size, "", dtype=object)
    if not below.any():
        return core
    if constraints is None:
        constraints = constraints_table(build, allocation)

    # Words for every label a variable can be frozen by.
    words: dict[str, tuple[str, str]] = {}
    for fam in p.families:
        if fam.clause_id != "scenario":
            source = f"clause {fam.clause_id}"
        else:
            source = "scenario budget" if fam.name == "fund_cap" else ""
        for label in fam.labels:
            words[label] = (f"{label} binding", source)
    group_words = [
        (f"{NO_DUPLICATE}[{name}]: another item of the group was chosen", "")
        for name in build.exclusive_groups
    ]
    words.update(zip(p.exclusive_labels, group_words, strict=True))
    aon_words = ("all_or_nothing: not funded", "")
    words["all_or_nothing"] = aon_words

    def put(mask: npt.NDArray[np.bool_], text: tuple[str, str]) -> None:
        core[mask], where[mask] = text

    blocked, group_of = _blocked_by_group(build, award)
    frozen = list(allocation.frozen_by) or [""] * p.size
    codes, uniques = pd.factorize(pd.Series(frozen, dtype=object))
    known = np.zeros(p.size, dtype=bool)
    for k, label in enumerate(uniques):
        if label in words:
            hit = (codes == k) & below
            put(hit, words[label])
            known |= hit

    # What the solver did not name, the constraints explain: a paid member of the group,
    # an all-or-nothing award left out, or the first binding row holding the variable.
    todo = below & ~known
    by_group = np.flatnonzero(todo & blocked)
    core[by_group] = np.asarray([w for w, _ in group_words], dtype=object)[group_of[by_group]]
    todo[by_group] = False
    aon = todo & p.all_or_nothing & (award == 0)
    put(aon, aon_words)
    todo &= ~aon
    if todo.any():
        binding_labels = set(constraints.loc[constraints["binding"], "name"])
        for fam in p.families:
            for label, members in zip(fam.labels, fam.members, strict=True):
                if label in binding_labels:
                    hit = members[todo[members]]
                    core[hit], where[hit] = words[label]
                    todo[hit] = False
            if not todo.any():
                break
        put(todo, (f"below claim: no binding constraint found (status {allocation.status})", ""))

    text = pd.Series(core, dtype=object)
    src = pd.Series(where, dtype=object)
    has_src = src != ""
    levels = np.asarray(allocation.levels, dtype=np.float64)
    level = np.zeros(p.size, dtype=bool)
    if allocation.rule in LEVEL_RULES and levels.shape[0] == p.size:
        level = below & np.isfinite(levels)
    plain = ~level & has_src.to_numpy()
    text[plain] = text[plain] + " (" + src[plain] + ")"
    if level.any():
        value = pd.Series(np.char.mod("%.4f", levels[level]), index=np.flatnonzero(level))
        inner = text[level].where(~has_src[level], text[level] + ", " + src[level])
        text[level] = f"{allocation.rule.value} level " + value + " (" + inner + ")"
    # An indivisible award left at 0 by a row: the row's share was not the whole award.
    aon_too = below & p.all_or_nothing & (award == 0) & (core != aon_words[0])
    text[aon_too] = text[aon_too] + "; " + aon_words[0]
    return text.to_numpy(dtype=object)


def totals(awards: pd.DataFrame, model: PolicyModel) -> dict[str, list[dict[str, Any]]]:
    """Claims and awards per clause, per item and per district."""
    clause_order = {c.id: n for n, c in enumerate(model.clauses)}
    titles = {c.id: c.title for c in model.clauses}
    item_titles = {f"{c.id}/{i.id}": i.title for c, i in model.items()}
    item_order = {k: n for n, k in enumerate(item_titles)}
    district_order = {d: n for n, d in enumerate(DISTRICTS)}

    def table(key: str, order: dict[str, int]) -> pd.DataFrame:
        g = awards.groupby(key, sort=False)
        t = pd.DataFrame(
            {
                "claims": g["claim_wan"].apply(lambda s: int((s > 0).sum())),
                "funded": g["award_wan"].apply(lambda s: int((s > 0).sum())),
                "claim_wan": g["claim_wan"].sum(),
                "award_wan": g["award_wan"].sum(),
            }
        )
        t.index = t.index.astype(str)
        position = [order.get(k, len(order)) for k in t.index]
        t = t.assign(_o=position).sort_values(["_o"], kind="stable").drop(columns="_o")
        return t.reset_index(names=key)

    clauses = table("clause_id", clause_order)
    clauses.insert(1, "title", clauses["clause_id"].map(titles).fillna(""))
    items = table("item_key", item_order)
    items.insert(1, "title", items["item_key"].map(item_titles).fillna(""))
    districts = table("district", district_order)
    return {
        "per_clause": _records(clauses),
        "per_item": _records(items),
        "per_district": _records(districts),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rec in frame.to_dict(orient="records"):
        out.append({str(k): (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()})
    return out


def parameters(model: PolicyModel, overrides: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The model's assumed parameters in force, and the ones the scenario overrode."""
    assumed: list[dict[str, Any]] = []
    overridden: list[dict[str, Any]] = []
    for c, i in model.items():
        for name, p in i.params.items():
            address = f"{c.id}/{i.id}/{name}"
            if address in overrides:
                overridden.append(
                    {
                        "address": address,
                        "value": overrides[address],
                        "model_value": p.value,
                        "model_basis": p.basis.value,
                        "unit": p.unit,
                    }
                )
            elif p.basis is Basis.ASSUMED:
                assumed.append(
                    {
                        "address": address,
                        "value": p.value,
                        "unit": p.unit,
                        "rationale": p.rationale or "",
                    }
                )
    for name in ("fund_cap", "rounding", "stacking", "provincial"):
        rule = getattr(model.rules, name)
        if rule.basis is Basis.ASSUMED:
            value = rule.model_dump(exclude={"basis", "quote", "rationale", "clause"})
            assumed.append(
                {
                    "address": f"rules/{name}",
                    "value": value,
                    "unit": "",
                    "rationale": rule.rationale or "",
                }
            )
    return {"assumed": assumed, "overridden": overridden}


def summary(run: RunResult) -> dict[str, Any]:
    """The few figures a person wants first: status, budget, claimed, awarded, recipients."""
    rows = run.build.rows
    award = award_vector(run.build, run.allocation)
    funded = award > 0
    return {
        "status": run.status.value,
        "budget_wan": run.build.budget.value_wan,
        "budget_source": run.build.budget.source,
        "claimed_wan": int(rows["claim_wan"].sum()),
        "awarded_wan": int(award.sum()),
        "recipients": int(rows["recipient_id"].nunique()),
        "funded_recipients": int(rows.loc[funded, "recipient_id"].nunique()),
        "funded_claims": int(funded.sum()),
    }


# --------------------------------------------------------------------------------------------
# result.json


def result_document(
    run: RunResult, awards: pd.DataFrame | None, constraints: pd.DataFrame | None
) -> dict[str, Any]:
    """The content of ``result.json``; only ``timings`` differs between equal runs."""
    build, alloc, spec = run.build, run.allocation, run.scenario.spec
    rows = build.rows
    claim_total = int(rows["claim_wan"].sum())
    doc: dict[str, Any] = {
        "scenario": spec.name,
        "policy": {
            "title": run.model.title,
            "document_number": run.model.document_number,
            "status": run.model.status,
        },
        "status": run.status.value,
        "message": run.message,
        "rule": spec.fairness.rule.value,
        "budget_wan": build.budget.value_wan,
        "budget_source": build.budget.source,
        "document_fund_cap_wan": build.budget.document_cap_wan,
        "total_claim_wan": claim_total,
        "total_awarded_wan": None,
        "objective": None,
        "best_bound": None,
        "gap": None,
        "counts": {
            "recipients": int(rows["recipient_id"].nunique()),
            "eligible_claims": len(rows),
            "variables": build.problem.size,
            "constraint_rows": sum(len(f.labels) for f in build.problem.families)
            + len(build.problem.exclusive),
            "funded_claims": None,
            "funded_recipients": None,
        },
        "files": [RESULT],
        "parameters": parameters(run.model, dict(spec.overrides)),
        "inputs": [{"role": f.role, "path": f.shown, "sha256": f.sha256} for f in run.inputs],
        "versions": dict(sorted(run.versions.items())),
        "command": run.command,
        "infeasible_because": list(build.infeasible),
        "solver": {},
    }
    if run.solver_details:
        doc["solver"] = _plain(run.solver_details)
    if run.diagnosis is not None:
        doc["diagnosis"] = _plain(run.diagnosis)
    if alloc is not None and awards is not None:
        awarded = awards["award_wan"].to_numpy(dtype=np.int64)
        doc["total_awarded_wan"] = int(awarded.sum())
        doc["objective"] = _num(alloc.objective)
        doc["best_bound"] = _num(alloc.best_bound)
        doc["gap"] = _gap(alloc)
        doc["counts"]["funded_claims"] = int((awarded > 0).sum())
        doc["counts"]["funded_recipients"] = int(awards.loc[awarded > 0, "recipient_id"].nunique())
        doc["files"] = sorted(OUTPUT_FILES)
        doc["totals"] = totals(awards, run.model)
    doc["timings"] = {k: _timing(v) for k, v in run.timings.items()}
    return doc


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars and arrays to Python, floats rounded, the rest as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(float(value))
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _gap(alloc: Allocation) -> float | None:
    if alloc.status is Status.OPTIMAL:
        return 0.0
    if not (math.isfinite(alloc.objective) and math.isfinite(alloc.best_bound)):
        return None
    return _num(abs(alloc.best_bound - alloc.objective) / max(1.0, abs(alloc.best_bound)))


def _num(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def _timing(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _timing(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_timing(x) for x in v]
    if isinstance(v, str):
        return v
    return round(float(v), 3)


def _json_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


# --------------------------------------------------------------------------------------------
# The workbook

_AWARD_ZH = {
    "recipient_id": "对象编号",
    "recipient_name": "对象名称",
    "recipient_kind": "对象类型",
    "district": "所属县区",
    "industry": "所属行业",
    "clause_id": "条款",
    "item_key": "奖补项目",
    "claim_wan": "测算金额（万元）",
    "award_wan": "奖补金额（万元）",
    "reason": "低于测算的原因",
}
_TOTAL_ZH = {
    "clause_id": "条款",
    "item_key": "奖补项目",
    "district": "县区",
    "title": "名称",
    "claims": "申报数",
    "funded": "获奖补数",
    "claim_wan": "测算金额（万元）",
    "award_wan": "奖补金额（万元）",
}
_CONSTRAINT_ZH = {
    "name": "约束",
    "family": "类别",
    "clause_id": "条款",
    "sense": "方向",
    "lhs": "左端（万元）",
    "rhs": "右端（万元）",
    "slack": "松弛",
    "binding": "是否紧",
    "members": "变量数",
}


def workbook_bytes(doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame) -> bytes:
    """``awards.xlsx``: summary, awards, per clause, per district, constraints.

    The bytes are those pandas and openpyxl write for these sheets. openpyxl spends about
    12 µs on each cell (23 s for the 1.8 million cells of 184,000 awards), so the data rows
    are written here instead (:func:`_sheet_rows`), in exactly the form openpyxl gives them,
    into a skeleton that openpyxl writes with the header rows alone (styles, column widths,
    frozen panes). A value openpyxl would treat specially (a formula, an error code, an
    illegal character, a float, a boolean) sends the whole workbook through openpyxl instead.
    """
    sheets = _workbook_sheets(doc, awards, constraints)
    widths = {name: [_width(frame, col) for col in frame.columns] for name, frame in sheets.items()}
    try:
        rows = {name: _sheet_rows(frame) for name, frame in sheets.items()}
        skeleton = _openpyxl_workbook({k: f.iloc[:0] for k, f in sheets.items()}, widths)
        parts = _fill_skeleton(skeleton, sheets, rows)
    except _NotPlainError:
        return _fixed_zip(_openpyxl_workbook(sheets, widths))
    # The rows go into the zip in chunks, never as one string: a sheet of 184,000 awards is
    # 110 million characters of XML.
    return _fixed_zip(skeleton, parts)


def _workbook_sheets(
    doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets by name, in order, with Chinese headers."""
    summary = pd.DataFrame(
        [
            ("情景", doc["scenario"]),
            ("政策文件", doc["policy"]["title"]),
            ("文号", doc["policy"]["document_number"] or "（征求意见稿）"),
            ("求解状态", doc["status"]),
            ("分配规则", doc["rule"]),
            ("资金总额（万元）", doc["budget_wan"]),
            ("资金总额来源", "文件规定" if doc["budget_source"] == "document" else "情景设定"),
            ("测算总额（万元）", doc["total_claim_wan"]),
            ("奖补总额（万元）", doc["total_awarded_wan"]),
            ("对象数", doc["counts"]["recipients"]),
            ("符合条件的申报数", doc["counts"]["eligible_claims"]),
            ("获奖补的申报数", doc["counts"]["funded_claims"]),
            ("获奖补的对象数", doc["counts"]["funded_recipients"]),
        ],
        columns=["项目", "内容"],
    )
    summary["内容"] = summary["内容"].astype(object)
    detail = awards
    if len(detail) > EXCEL_MAX_ROWS:
        detail = detail.iloc[:EXCEL_MAX_ROWS]
        note = f"奖补明细超过 Excel 行数上限，只列前 {EXCEL_MAX_ROWS} 行；完整明细见 {AWARDS}"
        summary.loc[len(summary)] = ["说明", note]
    per_clause = pd.DataFrame(doc["totals"]["per_clause"]).rename(columns=_TOTAL_ZH)
    per_district = pd.DataFrame(doc["totals"]["per_district"]).rename(columns=_TOTAL_ZH)
    cons = constraints.assign(binding=constraints["binding"].map({True: "是", False: "否"}))
    return {
        "汇总": summary,
        "奖补明细": detail.rename(columns=_AWARD_ZH),
        "按条款": per_clause,
        "按县区": per_district,
        "约束": cons.rename(columns=_CONSTRAINT_ZH),
    }


def _openpyxl_workbook(sheets: dict[str, pd.DataFrame], widths: dict[str, list[float]]) -> bytes:
    """The workbook as pandas and openpyxl write it (timestamps not yet fixed)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
            sheet = writer.sheets[name]
            for n, width in enumerate(widths[name]):
                sheet.column_dimensions[_column_letter(n)].width = width
    return buffer.getvalue()


class _NotPlainError(Exception):
    """A cell that :func:`_sheet_rows` does not write the way openpyxl would."""


# What openpyxl treats as other than plain text (openpyxl.cell.cell).
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_EMPTY_CELL = ' t="inlineStr" />'


def _cell_xml(value: Any) -> str:
    """A cell after its ``<c r="A2"``, as openpyxl writes the value pandas hands it."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return _EMPTY_CELL  # pandas writes missing values as ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, str | int | np.integer):
        raise _NotPlainError(repr(value))
    if not isinstance(value, str):
        return f' t="n"><v>{int(value):.16g}</v></c>'  # openpyxl: "%.16g"
    if value == "":
        return _EMPTY_CELL
    if (
        len(value) > 32767
        or _ILLEGAL_CHARACTERS.search(value)
        or (len(value) > 1 and value.startswith("="))
        or value in _ERROR_CODES
    ):
        raise _NotPlainError(value[:40])
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and stripped != value else ""
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _column_cells(column: pd.Series) -> list[str]:
    """Every cell of a column after its ``<c r="..."``, written once per distinct value."""
    if not (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or (
            pd.api.types.is_integer_dtype(column.dtype)
            and not pd.api.types.is_bool_dtype(column.dtype)
        )
    ):
        raise _NotPlainError(str(column.dtype))
    codes, uniques = pd.factorize(column)
    values = list(uniques)
    if not all(isinstance(v, str) for v in values) and pd.api.types.is_object_dtype(column.dtype):
        # 1, 1.0 and True are one value to factorize: look at every cell's own type.
        values = column.tolist()
        codes = np.arange(len(values))
    cells = np.array([*map(_cell_xml, values), _EMPTY_CELL], dtype=object)
    out: list[str] = cells[codes].tolist()  # code -1 (missing) takes the last
    return out


_ROWS_PER_CHUNK = 5_000


def _sheet_rows(frame: pd.DataFrame) -> Callable[[], Iterator[bytes]]:
    """The ``<row>`` elements of a sheet's data, rows 2 onwards, as openpyxl writes them.

    Every cell is checked here (:class:`_NotPlainError` for one openpyxl treats specially);
    the function returned then yields the rows as UTF-8, a few thousand at a time.
    """
    letters = [_column_letter(n) for n in range(frame.shape[1])]
    template = (
        '<row r="{0}">'
        + "".join(f'<c r="{letter}{{0}}"{{{n + 1}}}' for n, letter in enumerate(letters))
        + "</row>"
    )
    columns = [_column_cells(frame.iloc[:, n]) for n in range(frame.shape[1])]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(frame), _ROWS_PER_CHUNK):
            stop = min(start + _ROWS_PER_CHUNK, len(frame))
            cells = [column[start:stop] for column in columns]
            lines = range(start + 2, stop + 2)
            rows = itertools.starmap(template.format, zip(lines, *cells, strict=True))
            yield "".join(rows).encode("utf-8")

    return chunks


def _fill_skeleton(
    skeleton: bytes,
    sheets: dict[str, pd.DataFrame],
    rows: dict[str, Callable[[], Iterator[bytes]]],
) -> dict[str, Iterable[bytes]]:
    """The worksheets of the header-only ``skeleton`` with their data rows put in.

    openpyxl writes a header-only sheet with an empty row 2 (frozen panes create cell A2) and
    a dimension down to row 2; a sheet with rows has those rows there and the dimension down
    to its last row.
    """
    parts: dict[str, Iterable[bytes]] = {}
    with zipfile.ZipFile(io.BytesIO(skeleton)) as book:
        for n, (name, frame) in enumerate(sheets.items(), start=1):
            if frame.empty:
                continue
            part = f"xl/worksheets/sheet{n}.xml"
            xml = book.read(part).decode("utf-8")
            last = _column_letter(frame.shape[1] - 1)
            dimension = f'<dimension ref="A1:{last}2" />'
            empty_row = '<row r="2"></row></sheetData>'
            if xml.count(dimension) != 1 or xml.count(empty_row) != 1:
                raise _NotPlainError(f"{name}: unexpected skeleton")
            xml = xml.replace(dimension, f'<dimension ref="A1:{last}{len(frame) + 1}" />')
            head, tail = xml.split(empty_row)
            parts[part] = itertools.chain(
                [head.encode("utf-8")], rows[name](), [("</sheetData>" + tail).encode("utf-8")]
            )
    return parts


def _column_letter(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _width(frame: pd.DataFrame, col: str) -> float:
    """A column width from the header and the first rows; CJK characters count double."""
    texts = [str(col), *frame[col].head(500).astype(str).tolist()]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts)
    return float(min(max(longest + 2, 8), 80))


_STAMP = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes, parts: dict[str, Iterable[bytes]] | None = None) -> bytes:
    """Fix the workbook's timestamps: its document properties and the zip entries."""

    def stamp(name: str, content: bytes) -> bytes:
        if name == "docProps/core.xml":
            return _STAMP.sub(rb"\g<1>" + FIXED_TIME.encode() + rb"\g<3>", content)
        return content

    return fixed_zip(data, parts=parts, edit=stamp)


# --------------------------------------------------------------------------------------------
# Writing the folder


def check_out_dir(out_dir: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output folder that would put inputs or unrelated files at risk.

    Raises
    ------
    InputError
        When ``out_dir`` is a file, is or contains the folder of an input file, or exists
        with content that is not an earlier output of allocate.
    """
    out = Path(os.path.abspath(out_dir))
    real = out.resolve()
    where = str(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError([Problem(where, "an output folder", "a file")])
    for p in inputs:
        folder = p.resolve().parent
        if folder == real or real in folder.parents:
            raise InputError(
                [
                    Problem(
                        where,
                        "an output folder apart from the inputs (it is replaced on every run)",
                        f"it holds the input file {p}",
                    )
                ]
            )
    if out.is_dir():
        entries = sorted(e.name for e in out.iterdir())
        foreign = [e for e in entries if e not in OUTPUT_FILES]
        if foreign or (entries and RESULT not in entries):
            raise InputError(
                [
                    Problem(
                        where,
                        "an empty folder or the output of an earlier run, which is replaced",
                        f"other content: {', '.join(foreign or entries)[:200]}",
                    )
                ]
            )


def write_outputs(out_dir: Path | str, run: RunResult) -> list[Path]:
    """Write the run's output folder atomically.

    Everything goes into a temporary sibling folder first; only when it is complete does it
    replace ``out_dir`` (the previous run is renamed aside, the new one renamed in, the old one
    deleted). Any failure, Ctrl-C included, leaves ``out_dir`` as it was and removes the
    temporary folder and any parent folder made for it; the renames and the clean-up run with
    Ctrl-C held (:mod:`allocator.core.interrupt`), and a Ctrl-C during the renames undoes them.

    Parameters
    ----------
    out_dir:
        The output folder.
    run:
        The run's result.

    Returns
    -------
    list of Path
        The files written, under ``out_dir``.

    Raises
    ------
    InputError
        When the output folder is refused (see :func:`check_out_dir`).
    """
    out = Path(out_dir)
    check_out_dir(out, [f.path for f in run.inputs])
    made = _missing_folders(out.parent)
    tmp: list[Path] = []
    try:
        with interrupt.held():  # a folder made must be known, to be removed again
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.append(Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent)))
        os.chmod(tmp[0], 0o755)
        names = _write_files(tmp[0], run)
        with interrupt.held() as hold:
            _swap(tmp[0], out, hold)
    except BaseException:
        with interrupt.held():  # a second Ctrl-C must not stop the clean-up half-way
            for folder in tmp:
                shutil.rmtree(folder, ignore_errors=True)
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    return [out / n for n in names]


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, the deepest first."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _write_files(folder: Path, run: RunResult) -> list[str]:
    start = time.perf_counter()
    alloc = run.allocation
    if alloc is None or run.status in (Status.INFEASIBLE, Status.UNKNOWN):
        doc = result_document(run, None, None)
        run.timings["write"] = time.perf_counter() - start
        doc["timings"] = {k: _timing(v) for k, v in run.timings.items()}
        _write(folder / RESULT, _json_bytes(doc))
        return [RESULT]
    constraints = constraints_table(run.build, alloc)
    awards = awards_table(run.build, alloc, constraints)
    _write(folder / AWARDS, _csv_bytes(awards))
    _write(folder / CONSTRAINTS, _csv_bytes(constraints))
    doc = result_document(run, awards, constraints)
    _write(folder / WORKBOOK, workbook_bytes(doc, awards, constraints))
    _write(folder / REPORT, report_bytes(doc, awards, constraints))
    run.timings["write"] = time.perf_counter() - start
    doc["timings"] = {k: _timing(v) for k, v in run.timings.items()}
    # result.json last: its presence marks a complete folder.
    _write(folder / RESULT, _json_bytes(doc))
    return sorted(OUTPUT_FILES)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    if "binding" in out:
        out["binding"] = np.where(out["binding"].to_numpy(dtype=bool), "true", "false")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _swap(new: Path, out: Path, hold: interrupt.Hold) -> None:
    """Rename ``new`` to ``out``, moving an earlier ``out`` aside first and deleting it after.

    Runs with Ctrl-C held: if one came meanwhile, both renames are undone (``new`` is back,
    the earlier ``out`` in its place) and the caller, seeing the Ctrl-C, removes ``new``.
    """
    old: Path | None = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(out, old)
    try:
        os.rename(new, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        raise
    if hold.interrupted:
        os.rename(out, new)
        if old is not None:
            os.rename(old, out)
        return
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "AWARDS",
    "AWARD_COLUMNS",
    "CONSTRAINTS",
    "CONSTRAINT_COLUMNS",
    "OUTPUT_FILES",
    "REPORT",
    "RESULT",
    "WORKBOOK",
    "InputFile",
    "RunResult",
    "award_vector",
    "awards_table",
    "check_out_dir",
    "constraints_table",
    "parameters",
    "result_document",
    "summary",
    "totals",
    "workbook_bytes",
    "write_outputs",
]
