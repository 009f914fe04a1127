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

:func:`allocator.analysis.explain_text.render` prints it with Chinese (default) or English
labels. The inputs are the run folder's own copies (an older folder without copies: the
files the run recorded); explain refuses to explain a run whose copies, or files, changed.
"""

from __future__ import annotations

import ast
import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.analysis.audit_folder import (
    read_awards,
    read_csv,
    read_result,
    run_inputs,
    run_ledger,
)
from allocator.analysis.audit_recompute import Recomputed, recompute
from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs import creditcode
from allocator.outputs.names import AWARDS, CONSTRAINT_COLUMNS, CONSTRAINTS
from allocator.policy.model import AwardItem, Clause, ScaleGrowth, Steps

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
    budget_wan: int | None  # None when result.json holds no whole number there
    levels: dict[str, float]
    items: list[ItemExplanation] = field(default_factory=list)
    # Originals edited or gone since the run, the folder's copies intact (information).
    notes: list[str] = field(default_factory=list)

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
        The ledger URL, to find the run's entry (None: :func:`run_ledger`).
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
    inputs = run_inputs(folder, result, ledger=run_ledger(result, ledger), explicit=scenario)
    changes, loaded = inputs.changes, inputs.loaded
    if changes or loaded is None:
        raise InputError(
            [
                InputProblem(
                    c.shown,
                    _("the file the run used (allocate audit says more)"),
                    c.message(),
                )
                for c in changes
            ]
        )
    rec = recompute(loaded)
    rid = _resolve(rec, recipient)

    awards_path = folder / AWARDS
    # item → (award, csv row, reason); the award None where the cell is not a number
    award_of: dict[str, tuple[int | None, int, str]] = {}
    x = np.zeros(len(rec.eligible), dtype=np.float64)
    if awards_path.is_file():
        try:
            awards = read_awards(awards_path)
        except ValueError as exc:
            raise InputError(
                [InputProblem(str(awards_path), _("a readable awards.csv"), str(exc))]
            ) from None
        mine = np.flatnonzero(awards.frame["recipient_id"].to_numpy(dtype=object) == rid)
        for a in mine.tolist():
            value = awards.award[a]
            award_of[str(awards.frame.at[a, "item_key"])] = (
                None if math.isnan(value) else int(value),
                int(awards.csv_row[a]),
                str(awards.frame.at[a, "reason"]),
            )
        position = {
            (r, k): n
            for n, (r, k) in enumerate(
                zip(
                    rec.eligible["recipient_id"],
                    rec.eligible["item_key"],
                    strict=True,
                )
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
    eligible_claims = rec.eligible
    mine = np.flatnonzero(eligible_claims["recipient_id"].to_numpy(dtype=object) == rid)
    position_of = {str(eligible_claims.at[int(n), "item_key"]): int(n) for n in mine}
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
            district, industry = (
                str(eligible_claims.at[n, "district"]),
                str(eligible_claims.at[n, "industry"]),
            )
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
        budget_wan=_whole(result.get("budget_wan")),
        levels=levels,
        items=items,
        notes=[n.message() for n in inputs.notes],
    )


def _whole(value: object) -> int | None:
    """A whole number of result.json, or None for anything else (text, a list, a fraction)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


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
    # A credit code typed in lower case or full width is the code the loader read.
    code = creditcode.normalise(wanted)
    if (ids == code).any():
        return code
    by_name = sorted(set(ids[names == wanted]))
    if len(by_name) == 1:
        return by_name[0]
    pairs = dict(zip(ids, names, strict=True))
    candidates = list(pairs) + [n for n in set(pairs.values()) if n not in pairs]
    close = difflib.get_close_matches(wanted, candidates, n=5, cutoff=0.6)
    shown = [f"{c} ({pairs[c]})" if c in pairs and pairs[c] != c else c for c in close] or [
        _("none close")
    ]
    raise InputError(
        [
            InputProblem(
                "RECIPIENT_ID",
                _(
                    "a credit code, district or park name of the run's data (closest: {names})"
                ).format(names=_("; ").join(shown)),
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
    published: tuple[int | None, int, str] | None,
    x: np.ndarray[Any, np.dtype[np.float64]],
    binding: dict[str, dict[str, str]],
    levels: dict[str, float],
) -> ItemExplanation:
    eligible_claims = rec.eligible
    conditions = [_condition(rec, c.id, c.text, c.expr, row) for c in item.conditions]
    claim = int(row["claim_wan"])
    eligible = bool(row["eligible"])
    groups: list[str] = []
    paid: list[tuple[str, str, int]] = []
    rows_in: list[BindingRow] = []
    upper = 0
    ptype, papplied, paward = item.provincial_type or "", False, 0
    if n is not None:
        upper = int(eligible_claims["upper"].to_numpy(dtype=np.int64)[n])
        ptype = str(eligible_claims["provincial_type"].iloc[n])
        papplied = bool(eligible_claims["provincial_applied"].to_numpy(dtype=bool)[n])
        paward = int(eligible_claims["provincial_award_wan"].to_numpy(dtype=np.int64)[n])
        pairs = rec.group_pairs
        for g in pairs.loc[pairs["var"] == n, "group"].astype(str):
            groups.append(g)
            mates = pairs[
                (pairs["group"] == g)
                & (pairs["recipient_id"] == eligible_claims.at[n, "recipient_id"])
            ]
            for m in mates["var"].to_numpy(dtype=np.int64).tolist():
                if m != n and x[m] > 0:
                    paid.append((g, str(eligible_claims.at[m, "item_key"]), int(x[m])))
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


def number_text(value: float) -> str:
    """A number as a person writes it: no trailing zeros, blank for a missing figure.

    Parameters
    ----------
    value:
        The figure (NaN when the data left it blank).
    """
    if isinstance(value, float) and math.isnan(value):
        return _("blank")
    v = round(float(value), 6)
    if v.is_integer():
        return f"{int(v)}"
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _amount(value: float) -> str:
    """An amount before rounding, with at least one decimal so it reads as not yet rounded."""
    if math.isnan(value):
        return _("blank")
    v = round(float(value), 6)
    text = number_text(v)
    return text if "." in text else f"{text}.0"


def _formula(rec: Recomputed, clause: Clause, item: AwardItem, row: pd.Series) -> str:
    """The item's formula, then with the recipient's numbers, then the amount and the claim."""
    f = item.formula

    def op(name: str) -> str:
        column = f"formula.{name}"
        return number_text(float(row[column])) if column in row.index else "?"

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
            numbers = (
                f"{f.on} = {op('on')} ≥ {number_text(float(edge))} → {number_text(float(pay))}"
            )
            raw = float(pay)
        else:
            first = table[0][0] if table and isinstance(table[0], list) else float("nan")
            numbers = f"{f.on} = {op('on')} < {number_text(float(first))} → 0"
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
                f"{f.table}[{f.scale} = {op('scale')} ≥ {number_text(scale_at)}]"
                f"[{f.growth} = {op('growth')} ≥ {number_text(growth_at)}] = {number_text(pay)}"
            )
            raw = pay
        else:
            numbers = _(
                "{scale} = {scale_value}, {growth} = {growth_value}: below the first band"
            ).format(
                scale=f.scale,
                scale_value=op("scale"),
                growth=f.growth,
                growth_value=op("growth"),
            )
            raw = 0.0
    else:  # pragma: no cover - the format has no other block
        raise AssertionError(f.type)
    if f.type in ("fixed", "steps", "scale_growth"):
        # A looked-up or fixed amount is exact: it needs no decimal to show it unrounded.
        return f"{shape} = {numbers} → {claim}万元"
    return f"{shape} = {numbers} = {_amount(raw)} → {claim}万元"


__all__ = [
    "BindingRow",
    "ConditionCheck",
    "Explanation",
    "ItemExplanation",
    "explain",
    "number_text",
]
