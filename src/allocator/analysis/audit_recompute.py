"""The claims and constraint rows of a run, derived again from its inputs.

The rows are those of ``docs/scenario.md``, built here from the scenario and the model without
the model builder (``allocator.model``), so that a mistake in the builder is not repeated.
:func:`row_state` evaluates every row under an award vector: the arithmetic the checks and
``allocate explain`` share.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.data import load_enterprises
from allocator.inputs.scenario import LoadedScenario, Scenario
from allocator.inputs.schema import DISTRICTS
from allocator.policy.bind import Budget, check_against_model
from allocator.policy.claims import Claims, evaluate
from allocator.policy.columns import TABLE_COLUMNS
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FIRM_KINDS = ("enterprise", "project")


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


# The claims table's columns an eligible claim carries on (eligibility and the amount before
# rounding are settled by then).
_ELIGIBLE_COLUMNS = tuple(c for c in TABLE_COLUMNS if c not in ("eligible", "applied", "amount"))


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
    eligible: pd.DataFrame, model: PolicyModel
) -> tuple[IntArray, npt.NDArray[np.object_], _Stacking]:
    """The most each claim can receive under the provincial rule, as docs/scenario.md states it.

    ``exclude_if_applied``: nothing for an item whose type the firm applied for at the
    provincial level. ``better_of``: with a provincial award *P* of the type, an item that is
    the only one of its type the firm can be paid (alone, or all of them in one model group)
    gets ``max(0, claim − P)``; items that stack share one row holding their total to
    ``max(0, attainable − P)``, attainable counting each group by its largest claim.
    """
    claim = eligible["claim_wan"].to_numpy(dtype=np.int64)
    upper = np.maximum(claim, 0).astype(np.int64)
    note = np.full(len(eligible), "", dtype=object)
    rule = model.rules.provincial
    ptype = eligible["provincial_type"].to_numpy(dtype=object)
    typed = (ptype != "") & (upper > 0)
    if rule.mode == "exclude_if_applied":
        hit = typed & eligible["provincial_applied"].to_numpy(dtype=bool)
        upper[hit] = 0
        note[hit] = "applied for the provincial award of the same type"
        return upper, note, _Stacking([])
    prov = eligible["provincial_award_wan"].to_numpy(dtype=np.int64)
    # Applied at the provincial level with no amount on file: held at 0 (build._provincial).
    pending = typed & eligible["provincial_applied"].to_numpy(dtype=bool) & (prov <= 0)
    upper[pending] = 0
    note[pending] = "applied for the provincial award of the same type, amount not on file"
    pos = np.flatnonzero(typed & (prov > 0))
    stacked: list[tuple[str, str, int, IntArray]] = []
    if pos.size == 0:
        return upper, note, _Stacking(stacked)
    sub = pd.DataFrame(
        {
            "pos": pos,
            "rid": eligible["recipient_id"].to_numpy(dtype=object)[pos],
            "ptype": ptype[pos],
            "group": eligible["exclusive_group"].to_numpy(dtype=object)[pos],
            "claim": upper[pos],
            "prov": prov[pos],
        }
    )
    for (rid, t), pair in sub.groupby(["rid", "ptype"], sort=True):
        p = int(pair["prov"].max())
        groups = set(pair["group"])
        if len(pair) == 1 or (len(groups) == 1 and "" not in groups):
            at = pair["pos"].to_numpy(dtype=np.int64)
            upper[at] = np.maximum(pair["claim"].to_numpy(dtype=np.int64) - p, 0)
            note[at] = f"less the provincial award of the same type ({p}万元)"
            continue
        # Each group counts with its largest claim; an item outside any group on its own.
        keys = np.where(pair["group"] == "", "#" + pair["pos"].astype(str), pair["group"])
        attainable = int(pair.groupby(keys)["claim"].max().sum())
        rhs = max(attainable - p, 0)
        at = pair["pos"].to_numpy(dtype=np.int64)
        upper[at] = np.minimum(upper[at], rhs)
        note[at] = f"type {t} together at most {rhs}万元 (claims less the provincial {p}万元)"
        if rhs > 0:
            stacked.append((str(t), str(rid), rhs, at))
    return upper, note, _Stacking(stacked)


def _group_pairs(eligible: pd.DataFrame, spec: Scenario) -> pd.DataFrame:
    """(claim, group) for every claim that can be paid, model groups then the scenario's."""
    var = eligible["var"].to_numpy(dtype=bool)
    model_group = eligible["exclusive_group"].to_numpy(dtype=object)
    item = eligible["item_key"].to_numpy(dtype=object)
    rid = eligible["recipient_id"].to_numpy(dtype=object)
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
    eligible: pd.DataFrame,
    spec: Scenario,
    model: PolicyModel,
    budget: Budget,
    stacking: _Stacking,
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

    var = eligible["var"].to_numpy(dtype=bool)
    variables = np.flatnonzero(var)
    add("fund_cap", "fund_cap", budget.clause_id, "<=", budget.value_wan, variables)

    clause = eligible["clause_id"].to_numpy(dtype=object)
    item = eligible["item_key"].to_numpy(dtype=object)
    for sb in spec.sub_budgets:
        keys = np.asarray(sb.clauses, dtype=object)
        members = np.flatnonzero(var & (np.isin(clause, keys) | np.isin(item, keys)))
        if members.size:
            add(f"sub_budget[{sb.name}]", "sub_budget", "scenario", "<=", sb.budget_wan, members)

    rule_clause = model.rules.provincial.clause or "provincial"
    for t, rid, bound, members in stacking.rows:
        add(f"provincial[{t}][{rid}]", "provincial", rule_clause, "<=", bound, members)

    recipients = eligible["recipient_id"].to_numpy(dtype=object)
    upper = eligible["upper"].to_numpy(dtype=np.int64)
    if spec.firm_cap_wan is not None:
        firms = var & np.isin(eligible["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS)
        for firm, members in by_key(recipients, firms):
            if int(upper[members].sum()) > spec.firm_cap_wan:
                add(f"firm_cap[{firm}]", "firm_cap", "scenario", "<=", spec.firm_cap_wan, members)

    district = eligible["district"].to_numpy(dtype=object)
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


def by_key(keys: npt.NDArray[np.object_], mask: BoolArray) -> Iterator[tuple[str, IntArray]]:
    """Positions where ``mask`` holds, grouped by key, keys in text order.

    Parameters
    ----------
    keys:
        One key per position (a recipient id, a district ...).
    mask:
        The positions to group.
    """
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
        for recipient, at in by_key(rid, np.ones(len(sub), dtype=bool)):
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
    eligible = rec.eligible
    n = len(eligible)
    upper = eligible["upper"].to_numpy(dtype=np.float64)
    aon = eligible["all_or_nothing"].to_numpy(dtype=bool)
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


__all__ = [
    "FIRM_KINDS",
    "Recomputed",
    "RowState",
    "by_key",
    "recompute",
    "row_state",
]
