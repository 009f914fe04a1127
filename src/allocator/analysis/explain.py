"""Why did this recipient get this much: ``allocate explain OUTPUT_DIR RECIPIENT_ID``.

For one recipient (a credit code, or a district or chemical-park name) and each award item of
the model it could receive, :func:`explain` gathers:

- each condition with its value, its threshold and whether it holds (the claims detail of
  :func:`allocator.policy.claims.evaluate`, recomputed from the run's inputs);
- the formula with its numbers (``min(rate × booth_fee_2026q1, cap) = min(0.5 × 24, 10) =
  10.0 → 10万元``) and the claim;
- the award and its reason, as ``awards.csv`` publishes them;
- and, found independently of that reason, what holds the award below the claim: the
  provincial award of the same type, a paid item of the same no-duplicate group, an
  indivisible award left out, the binding rows of ``constraints.csv`` that contain the claim
  (fund, sub-budget, firm and district caps, the shared provincial deduction), and the
  fairness rule's level for those rows from ``result.json``.

:func:`render` prints it with Chinese (default) or English labels. The inputs must be the
ones the run used: explain refuses to explain a run whose scenario, model or data changed.
"""

from __future__ import annotations

import ast
import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocator.analysis.audit import (
    AWARDS,
    CONSTRAINT_COLUMNS,
    CONSTRAINTS,
    Recomputed,
    check_inputs,
    locate_scenario,
    read_awards,
    read_csv,
    read_result,
    recompute,
)
from allocator.core.errors import InputError, Problem
from allocator.inputs.schema import INDUSTRIES
from allocator.policy.model import AwardItem, Clause, ScaleGrowth, Steps

Lang = Literal["zh", "en"]

_OPS = {
    ast.Gt: ">",
    ast.GtE: "≥",
    ast.Lt: "<",
    ast.LtE: "≤",
    ast.Eq: "==",
    ast.NotEq: "≠",
    ast.In: "in",
    ast.NotIn: "not in",
}


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of an item for the recipient.

    ``value`` and ``threshold`` are the two sides of a single comparison (``op``); None
    otherwise. ``fields`` holds the firm's data fields the condition reads (for any
    condition of a firm or project item), so a compound condition shows its numbers too.
    """

    id: str
    text: str
    expr: str
    value: float | bool | str | None
    op: str | None
    threshold: float | str | None
    passed: bool
    fields: dict[str, float | bool | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingRow:
    """A binding row of ``constraints.csv`` that contains the claim, as published."""

    name: str
    family: str
    clause_id: str
    lhs: str
    rhs: str
    slack: str
    level: float | None  # the fairness rule's level at this row (result.json), if reported


@dataclass(frozen=True)
class ItemExplanation:
    """One award item for the recipient: eligibility, formula, claim, award and why."""

    item_key: str
    clause_id: str
    clause_label: str
    clause_title: str
    item_title: str
    recipient_kind: str
    eligible: bool
    applied: bool
    requires_application: bool
    conditions: list[ConditionCheck]
    formula: str
    amount: float
    claim_wan: int
    award_wan: int | None
    csv_row: int | None
    reason: str
    upper_wan: int
    provincial_type: str
    provincial_mode: str
    provincial_applied: bool
    provincial_award_wan: int
    all_or_nothing: bool
    groups: list[str]
    group_paid: list[tuple[str, str, int]]  # (group, other item, its award) paying instead
    binding: list[BindingRow]

    @property
    def failed(self) -> list[ConditionCheck]:
        return [c for c in self.conditions if not c.passed]


@dataclass
class Explanation:
    """Everything :func:`explain` found about one recipient of one run."""

    folder: Path
    recipient_id: str
    recipient_name: str
    district: str
    industry: str
    scenario: str
    rule: str
    status: str
    budget_wan: int
    levels: dict[str, float]
    items: list[ItemExplanation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["folder"] = str(self.folder)
        for item, raw in zip(self.items, out["items"], strict=True):
            raw["failed"] = [c.id for c in item.failed]
            raw["group_paid"] = [
                {"group": g, "item_key": k, "award_wan": a} for g, k, a in item.group_paid
            ]
        return out


# --------------------------------------------------------------------------------------------
# Gathering


def explain(
    folder: Path | str,
    recipient: str,
    *,
    ledger: str | None = None,
    scenario: Path | None = None,
) -> Explanation:
    """Explain every award item of ``recipient`` in the run of ``folder``.

    Parameters
    ----------
    folder:
        The output folder of ``allocate run``.
    recipient:
        A credit code, or a district or chemical-park name (a firm's registered name is
        accepted too).
    ledger:
        The ledger URL, used only to find the scenario file when ``result.json``'s path
        does not lead to it.
    scenario:
        The scenario file, when the path ``result.json`` records cannot be found.

    Raises
    ------
    InputError
        When the folder, its result or the scenario cannot be read, when an input changed
        since the run, or when no recipient of the data has that id (the message lists the
        closest ids and names).
    """
    folder = Path(folder)
    result = read_result(folder)
    scenario_path = locate_scenario(folder, result, explicit=scenario, ledger=ledger)
    changes, loaded = check_inputs(result, scenario_path)
    if changes or loaded is None:
        raise InputError(
            [
                Problem(
                    c.shown,
                    "the file the run used (allocate audit says more)",
                    c.message(),
                )
                for c in changes
            ]
        )
    rec = recompute(loaded)
    rid = _resolve(rec, recipient)

    awards_path = folder / AWARDS
    award_of: dict[str, tuple[int, int, str]] = {}  # item → (award, csv row, reason)
    x = np.zeros(len(rec.eligible), dtype=np.float64)
    if awards_path.is_file():
        try:
            awards = read_awards(awards_path)
        except ValueError as exc:
            raise InputError(
                [Problem(str(awards_path), "a readable awards.csv", str(exc))]
            ) from None
        mine = np.flatnonzero(awards.frame["recipient_id"].to_numpy(dtype=object) == rid)
        for a in mine.tolist():
            value = awards.award[a]
            award_of[str(awards.frame.at[a, "item_key"])] = (
                0 if math.isnan(value) else int(value),
                int(awards.csv_row[a]),
                str(awards.frame.at[a, "reason"]),
            )
        position = {
            (r, k): n
            for n, (r, k) in enumerate(
                zip(rec.eligible["recipient_id"], rec.eligible["item_key"], strict=True)
            )
        }
        for a in range(len(awards)):
            n = position.get(
                (str(awards.frame.at[a, "recipient_id"]), str(awards.frame.at[a, "item_key"]))
            )
            if n is not None and not math.isnan(awards.award[a]):
                x[n] = awards.award[a]

    binding = _binding_rows(folder)
    solver = result.get("solver") if isinstance(result.get("solver"), dict) else {}
    raw_levels = solver.get("row_levels") if isinstance(solver, dict) else None
    levels = (
        {str(k): float(v) for k, v in raw_levels.items() if isinstance(v, int | float)}
        if isinstance(raw_levels, dict)
        else {}
    )
    e = rec.eligible
    mine = np.flatnonzero(e["recipient_id"].to_numpy(dtype=object) == rid)
    position_of = {str(e.at[int(n), "item_key"]): int(n) for n in mine}
    items: list[ItemExplanation] = []
    name, district, industry = "", "", ""
    for clause, item in rec.model.items():
        key = f"{clause.id}/{item.id}"
        evaluation = rec.claims.items[key]
        frame = evaluation.frame
        hit = np.flatnonzero(frame["recipient_id"].astype(str).to_numpy() == rid)
        if hit.size == 0:
            continue
        row = frame.iloc[int(hit[0])]
        name = name or str(row["recipient_name"])
        n = position_of.get(key)
        if n is not None and not district:
            district, industry = str(e.at[n, "district"]), str(e.at[n, "industry"])
        items.append(_item(rec, clause, item, key, row, n, award_of.get(key), x, binding, levels))
    if not district:
        district, industry = _firm_district(rec, rid)
    return Explanation(
        folder=folder,
        recipient_id=rid,
        recipient_name=name,
        district=district,
        industry=industry,
        scenario=str(result.get("scenario", "")),
        rule=str(result.get("rule", "")),
        status=str(result.get("status", "")),
        budget_wan=int(result.get("budget_wan") or 0),
        levels=levels,
        items=items,
    )


def _firm_district(rec: Recomputed, rid: str) -> tuple[str, str]:
    table = rec.claims.table
    hit = table[table["recipient_id"] == rid]
    if hit.empty:
        return "", ""
    first = hit.iloc[0]
    return str(first["district"] or ""), str(first["industry"] or "")


def _resolve(rec: Recomputed, recipient: str) -> str:
    """The recipient id of ``recipient`` (an id, or a registered name), or InputError."""
    table = rec.claims.table
    ids = table["recipient_id"].astype(str)
    names = table["recipient_name"].astype(str)
    wanted = recipient.strip()
    if (ids == wanted).any():
        return wanted
    by_name = sorted(set(ids[names == wanted]))
    if len(by_name) == 1:
        return by_name[0]
    pairs = dict(zip(ids, names, strict=True))
    candidates = list(pairs) + [n for n in set(pairs.values()) if n not in pairs]
    close = difflib.get_close_matches(wanted, candidates, n=5, cutoff=0.6)
    shown = [f"{c} ({pairs[c]})" if c in pairs and pairs[c] != c else c for c in close] or [
        "none close"
    ]
    raise InputError(
        [
            Problem(
                "RECIPIENT_ID",
                "a credit code, district or park name of the run's data "
                f"(closest: {'; '.join(shown)})",
                repr(recipient),
            )
        ]
    )


def _binding_rows(folder: Path) -> dict[str, dict[str, str]]:
    """Binding rows of constraints.csv by name (empty when the file is missing or bad)."""
    path = folder / CONSTRAINTS
    if not path.is_file():
        return {}
    try:
        frame = read_csv(path, CONSTRAINT_COLUMNS)
    except ValueError:
        return {}
    frame = frame[frame["binding"] == "true"]
    return {str(r["name"]): {str(k): str(v) for k, v in r.items()} for _, r in frame.iterrows()}


def _item(
    rec: Recomputed,
    clause: Clause,
    item: AwardItem,
    key: str,
    row: pd.Series,
    n: int | None,
    published: tuple[int, int, str] | None,
    x: np.ndarray[Any, np.dtype[np.float64]],
    binding: dict[str, dict[str, str]],
    levels: dict[str, float],
) -> ItemExplanation:
    e = rec.eligible
    conditions = [_condition(rec, c.id, c.text, c.expr, row) for c in item.conditions]
    claim = int(row["claim_wan"])
    eligible = bool(row["eligible"])
    groups: list[str] = []
    paid: list[tuple[str, str, int]] = []
    rows_in: list[BindingRow] = []
    upper = 0
    ptype, papplied, paward = item.provincial_type or "", False, 0
    if n is not None:
        upper = int(e["upper"].to_numpy(dtype=np.int64)[n])
        ptype = str(e["provincial_type"].iloc[n])
        papplied = bool(e["provincial_applied"].to_numpy(dtype=bool)[n])
        paward = int(e["provincial_award_wan"].to_numpy(dtype=np.int64)[n])
        pairs = rec.group_pairs
        for g in pairs.loc[pairs["var"] == n, "group"].astype(str):
            groups.append(g)
            mates = pairs[
                (pairs["group"] == g) & (pairs["recipient_id"] == e.at[n, "recipient_id"])
            ]
            for m in mates["var"].to_numpy(dtype=np.int64).tolist():
                if m != n and x[m] > 0:
                    paid.append((g, str(e.at[m, "item_key"]), int(x[m])))
        for name in rec.rows_of(n):
            # A group row binds because a member is paid; it holds only the unpaid ones.
            if name.startswith("no_duplicate[") and x[n] > 0:
                continue
            if name in binding:
                b = binding[name]
                rows_in.append(
                    BindingRow(
                        name,
                        b["family"],
                        b["clause_id"],
                        b["lhs"],
                        b["rhs"],
                        b["slack"],
                        levels.get(name),
                    )
                )
    award, csv_row, reason = published if published is not None else (None, None, "")
    return ItemExplanation(
        item_key=key,
        clause_id=clause.id,
        clause_label=clause.label,
        clause_title=clause.title,
        item_title=item.title,
        recipient_kind=item.recipient,
        eligible=eligible,
        applied=bool(row["applied"]),
        requires_application=item.requires_application,
        conditions=conditions,
        formula=_formula(rec, clause, item, row),
        amount=float(row["amount"]),
        claim_wan=claim,
        award_wan=award,
        csv_row=csv_row,
        reason=reason,
        upper_wan=upper,
        provincial_type=ptype,
        provincial_mode=rec.model.rules.provincial.mode,
        provincial_applied=papplied,
        provincial_award_wan=paward,
        all_or_nothing=item.all_or_nothing,
        groups=groups,
        group_paid=paid,
        binding=rows_in,
    )


def _plain(value: Any) -> float | bool | str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return str(value)


def _condition(rec: Recomputed, cid: str, text: str, expr: str, row: pd.Series) -> ConditionCheck:
    passed = bool(row[f"{cid}.result"])
    op: str | None = None
    value: float | bool | str | None = None
    threshold: float | str | None = None
    tree = ast.parse(expr, mode="eval").body  # the model loader has parsed it already
    if f"{cid}.value" in row.index:
        value = _plain(row[f"{cid}.value"])
        raw = _plain(row[f"{cid}.threshold"])
        threshold = raw if isinstance(raw, float | str) else None
        if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
            op = _OPS.get(type(tree.ops[0]))
    fields: dict[str, float | bool | str | None] = {}
    firm_row = int(row["firm_row"])
    if firm_row >= 0 and op is None:
        # No single comparison to show: show the firm's figures the condition reads.
        names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
        for name in dict.fromkeys(names):
            if name in rec.data.columns:
                fields[name] = _plain(rec.data[name].iloc[firm_row])
    return ConditionCheck(cid, text, expr, value, op, threshold, passed, fields)


def _fmt(value: float) -> str:
    """A number as a person writes it: no trailing zeros, blank for a missing figure."""
    if isinstance(value, float) and math.isnan(value):
        return "blank"
    v = round(float(value), 6)
    if v.is_integer():
        return f"{int(v)}"
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _amount(value: float) -> str:
    """An amount before rounding, with at least one decimal so it reads as not yet rounded."""
    if math.isnan(value):
        return "blank"
    v = round(float(value), 6)
    text = _fmt(v)
    return text if "." in text else f"{text}.0"


def _formula(rec: Recomputed, clause: Clause, item: AwardItem, row: pd.Series) -> str:
    """The item's formula, then with the recipient's numbers, then the amount and the claim."""
    f = item.formula

    def op(name: str) -> str:
        column = f"formula.{name}"
        return _fmt(float(row[column])) if column in row.index else "?"

    claim = int(row["claim_wan"])
    if f.type == "fixed":
        shape, numbers, raw = f.amount, op("amount"), float(row["formula.amount"])
    elif f.type == "rate":
        if f.cap:
            shape = f"min({f.rate} × {f.base}, {f.cap})"
            numbers = f"min({op('rate')} × {op('base')}, {op('cap')})"
            raw = float(row["formula.capped"])
        else:
            shape, numbers = f"{f.rate} × {f.base}", f"{op('rate')} × {op('base')}"
            raw = float(row["formula.raw"])
    elif f.type == "per_unit_above":
        inner = f"{f.per_unit} × max({f.on} − {f.threshold}, 0)"
        inner_n = f"{op('per_unit')} × max({op('on')} − {op('threshold')}, 0)"
        shape = f"min({inner}, {f.cap})" if f.cap else inner
        numbers = f"min({inner_n}, {op('cap')})" if f.cap else inner_n
        raw = float(row["formula.capped" if f.cap else "formula.raw"])
    elif f.type == "per_item":
        inner, inner_n = f"{f.per_item} × {f.count}", f"{op('per_item')} × {op('count')}"
        shape = f"min({inner}, {f.cap})" if f.cap else inner
        numbers = f"min({inner_n}, {op('cap')})" if f.cap else inner_n
        raw = float(row["formula.capped" if f.cap else "formula.raw"])
    elif isinstance(f, Steps):
        params = rec.claims.params.for_item(clause.id, item.id)
        table = params[f.table]
        assert isinstance(table, list)
        step = int(float(row["formula.step"]))
        shape = f"steps({f.on}, {f.table})"
        if step >= 0:
            edge, pay = table[step]  # type: ignore[misc]
            numbers = f"{f.on} = {op('on')} ≥ {_fmt(float(edge))} → {_fmt(float(pay))}"
            raw = float(pay)
        else:
            first = table[0][0] if table and isinstance(table[0], list) else float("nan")
            numbers = f"{f.on} = {op('on')} < {_fmt(float(first))} → 0"
            raw = 0.0
    elif isinstance(f, ScaleGrowth):
        params = rec.claims.params.for_item(clause.id, item.id)
        scale_edges, growth_edges, table = (
            params[f.scale_bands],
            params[f.growth_bands],
            params[f.table],
        )
        assert isinstance(scale_edges, list)
        assert isinstance(growth_edges, list)
        assert isinstance(table, list)
        s, g = int(float(row["formula.scale_band"])), int(float(row["formula.growth_band"]))
        shape = f"{f.table}[band({f.scale}, {f.scale_bands})][band({f.growth}, {f.growth_bands})]"
        if s >= 0 and g >= 0:
            pay = float(np.asarray(table, dtype=np.float64)[s, g])
            scale_at = float(np.asarray(scale_edges, dtype=np.float64)[s])
            growth_at = float(np.asarray(growth_edges, dtype=np.float64)[g])
            numbers = (
                f"{f.table}[{f.scale} = {op('scale')} ≥ {_fmt(scale_at)}]"
                f"[{f.growth} = {op('growth')} ≥ {_fmt(growth_at)}] = {_fmt(pay)}"
            )
            raw = pay
        else:
            numbers = (
                f"{f.scale} = {op('scale')}, {f.growth} = {op('growth')}: below the first band"
            )
            raw = 0.0
    else:  # pragma: no cover - the format has no other block
        raise AssertionError(f.type)
    if f.type in ("fixed", "steps", "scale_growth"):
        # A looked-up or fixed amount is exact: it needs no decimal to show it unrounded.
        return f"{shape} = {numbers} → {claim}万元"
    return f"{shape} = {numbers} = {_amount(raw)} → {claim}万元"


# --------------------------------------------------------------------------------------------
# Rendering

_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "run": "运行",
        "rule": "分配规则",
        "status": "状态",
        "budget": "资金总额",
        "eligible": "符合条件",
        "ineligible": "不符合条件",
        "conditions": "条件",
        "pass": "通过",
        "fail": "不通过",
        "not_applied": "未申报本条款（需申报）",
        "no_application": "免审即享，无需申报",
        "formula": "公式",
        "claim": "测算金额",
        "award": "奖补金额",
        "row": "awards.csv 第 {row} 行",
        "no_row": "awards.csv 无此行",
        "reason": "低于测算的原因（awards.csv）",
        "why": "独立核对",
        "full": "全额获得",
        "provincial_excluded": "已申请省级同类型（{type}）奖补：按规定本级不予奖补",
        "provincial_held": (
            "已申请省级同类型（{type}）奖补，金额未填报：从优、就高、不重复，待金额确定前暂不予奖补"
        ),
        "provincial_better": (
            "省级同类型（{type}）奖补 {award}万元，从优、就高、不重复：本级至多 {upper}万元"
        ),
        "group": "不可重复享受组 {group}：已获 {item} {paid}万元",
        "aon": "整额奖补（全额或不予）：未获资助",
        "binding": "紧约束 {name}（{family}，条款 {clause}）：左端 {lhs}，右端 {rhs}，松弛 {slack}",
        "level": "{rule} 水平 {level}",
        "no_binding": "constraints.csv 中无包含此项的紧约束",
        "failed": "未满足 {what}",
        "blank": "空",
        "yes": "是",
        "no": "否",
        "items": "共 {n} 个奖补项目，符合条件 {m} 个；奖补合计 {total}万元（测算 {claim}万元）",
        "hidden": "（--all 显示这 {n} 个项目的详情）",
        "brief": "不符合条件的项目：",
    },
    "en": {
        "run": "run",
        "rule": "rule",
        "status": "status",
        "budget": "budget",
        "eligible": "eligible",
        "ineligible": "not eligible",
        "conditions": "conditions",
        "pass": "pass",
        "fail": "fail",
        "not_applied": "did not apply for this clause (needed)",
        "no_application": "paid without an application (免审即享)",
        "formula": "formula",
        "claim": "claim",
        "award": "award",
        "row": "awards.csv row {row}",
        "no_row": "no row in awards.csv",
        "reason": "reason below the claim (awards.csv)",
        "why": "checked independently",
        "full": "paid in full",
        "provincial_excluded": (
            "applied for the provincial award of the same type ({type}): no city award"
        ),
        "provincial_held": (
            "applied for the provincial award of the same type ({type}), amount not on file: "
            "held at 0 until it is known (better of the two, not both)"
        ),
        "provincial_better": (
            "provincial award of the same type ({type}) {award}万元, better of the two, not both: "
            "the city pays at most {upper}万元"
        ),
        "group": "no-duplicate group {group}: paid {item} {paid}万元 instead",
        "aon": "all or nothing: not funded",
        "binding": "binding row {name} ({family}, clause {clause}): lhs {lhs}, rhs {rhs}, "
        "slack {slack}",
        "level": "{rule} level {level}",
        "no_binding": "no binding row of constraints.csv holds this claim",
        "failed": "fails: {what}",
        "blank": "blank",
        "yes": "yes",
        "no": "no",
        "items": "{n} award items, {m} eligible; awarded {total}万元 of {claim}万元 claimed",
        "hidden": "(--all shows these {n} items in full)",
        "brief": "Items not eligible:",
    },
}


def _value(value: float | bool | str | None, words: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, float):
        return words["blank"] if math.isnan(value) else _fmt(value)
    return value


def _numbers(c: ConditionCheck, words: dict[str, str]) -> str:
    """The condition with the recipient's numbers: ``9.94 > 0``, ``above_scale = 是``."""
    if c.op is not None and c.value is not None:
        threshold = words["blank"] if c.threshold is None else _value(c.threshold, words)
        return f"{_value(c.value, words)} {c.op} {threshold}"
    return ", ".join(f"{k} = {_value(v, words)}" for k, v in c.fields.items())


def _condition_line(c: ConditionCheck, words: dict[str, str]) -> str:
    mark = "✓" if c.passed else "✗"
    verdict = words["pass"] if c.passed else words["fail"]
    numbers = _numbers(c, words)
    shown = f"{c.expr}: {numbers}" if numbers and c.op is not None else numbers or c.expr
    return f"{mark} {c.id}（{c.text}）{shown} → {verdict}"


def _failed_brief(c: ConditionCheck, words: dict[str, str]) -> str:
    return f"{c.id} ({_numbers(c, words) or c.expr})"


def _why(item: ItemExplanation, rule: str, words: dict[str, str]) -> list[str]:
    """What holds the award below the claim, derived from the rules and constraints.csv."""
    lines: list[str] = []
    if item.provincial_type and item.upper_wan < item.claim_wan:
        if item.provincial_mode == "exclude_if_applied":
            lines.append(words["provincial_excluded"].format(type=item.provincial_type))
        elif item.provincial_applied and item.provincial_award_wan <= 0:
            lines.append(words["provincial_held"].format(type=item.provincial_type))
        else:
            lines.append(
                words["provincial_better"].format(
                    type=item.provincial_type,
                    award=item.provincial_award_wan,
                    upper=item.upper_wan,
                )
            )
    for group, other, paid in item.group_paid:
        lines.append(words["group"].format(group=group, item=other, paid=paid))
    if item.all_or_nothing and (item.award_wan or 0) == 0 and item.upper_wan > 0:
        lines.append(words["aon"])
    for b in item.binding:
        line = words["binding"].format(
            name=b.name, family=b.family, clause=b.clause_id, lhs=b.lhs, rhs=b.rhs, slack=b.slack
        )
        if b.level is not None:
            line += "; " + words["level"].format(rule=rule, level=_fmt(b.level))
        lines.append(line)
    if not item.binding and item.upper_wan > 0 and (item.award_wan or 0) < item.upper_wan:
        lines.append(words["no_binding"])
    return lines


def render(expl: Explanation, lang: Lang = "zh", *, show_all: bool = False) -> str:
    """The explanation as text, with ``lang``'s labels.

    Eligible items are shown in full: conditions, formula, claim, award and why. The others
    take one line each, naming the conditions they fail, unless ``show_all``.
    """
    words = _LABELS[lang]
    industry = INDUSTRIES.get(expl.industry, "")
    where = " · ".join(
        p
        for p in (
            expl.district if expl.district != expl.recipient_id else "",
            f"{expl.industry} ({industry})" if industry else "",
        )
        if p
    )
    same = expl.recipient_name == expl.recipient_id  # a district or park is its own name
    lines = [expl.recipient_id if same else f"{expl.recipient_name} {expl.recipient_id}"]
    if where:
        lines.append(where)
    lines.append(
        f"{words['run']}: {expl.scenario}, {words['rule']} {expl.rule}, "
        f"{words['status']} {expl.status}, {words['budget']} {expl.budget_wan}万元 "
        f"({expl.folder})"
    )
    eligible = [i for i in expl.items if i.eligible]
    total = sum(i.award_wan or 0 for i in eligible)
    claimed = sum(i.claim_wan for i in eligible)
    lines.append(
        words["items"].format(n=len(expl.items), m=len(eligible), total=total, claim=claimed)
    )
    full = [i for i in expl.items if i.eligible or show_all]
    brief = [i for i in expl.items if not (i.eligible or show_all)]
    for item in full:
        lines.append("")
        lines.extend(_item_lines(item, expl.rule, words))
    if brief:
        lines.append("")
        lines.append(words["brief"])
        for item in brief:
            what = [_failed_brief(c, words) for c in item.failed]
            if item.requires_application and not item.applied:
                what.append(words["not_applied"])
            lines.append(
                f"  ✗ {item.item_key} {item.clause_label} {item.clause_title}: "
                + words["failed"].format(what="; ".join(what))
            )
        lines.append(words["hidden"].format(n=len(brief)))
    return "\n".join(lines)


def _item_lines(item: ItemExplanation, rule: str, words: dict[str, str]) -> list[str]:
    state = words["eligible"] if item.eligible else words["ineligible"]
    lines = [
        f"{item.item_key} {item.clause_label} {item.clause_title} — {item.item_title}: {state}",
        f"  {words['conditions']}:",
    ]
    lines.extend(f"    {_condition_line(c, words)}" for c in item.conditions)
    if not item.requires_application:
        lines.append(f"    {words['no_application']}")
    elif not item.applied:
        lines.append(f"    ✗ {words['not_applied']}")
    lines.append(f"  {words['formula']}: {item.formula}")
    lines.append(f"  {words['claim']}: {item.claim_wan}万元")
    if not item.eligible:
        return lines
    row = words["row"].format(row=item.csv_row) if item.csv_row is not None else words["no_row"]
    award = "—" if item.award_wan is None else f"{item.award_wan}万元"
    lines.append(f"  {words['award']}: {award} ({row})")
    if item.award_wan is not None and item.award_wan >= item.claim_wan:
        lines.append(f"  {words['full']}")
        return lines
    if item.reason:
        lines.append(f"  {words['reason']}: {item.reason}")
    why = _why(item, rule, words)
    if why:
        lines.append(f"  {words['why']}:")
        lines.extend(f"    - {w}" for w in why)
    return lines


__all__ = [
    "BindingRow",
    "ConditionCheck",
    "Explanation",
    "ItemExplanation",
    "explain",
    "render",
]
