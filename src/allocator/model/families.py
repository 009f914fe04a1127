"""The constraint families of a problem, one builder per family, named after its clause.

Called by :func:`allocator.model.build.build` once the variables are known; the table of
families, rows and clauses is in that module's docstring.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.scenario import Scenario
from allocator.inputs.schema import DISTRICTS
from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    NO_DUPLICATE,
    PROVINCIAL,
    SUB_BUDGET,
    BoolArray,
    Family,
    IntArray,
)
from allocator.policy.bind import Budget
from allocator.policy.model import PolicyModel


def families(
    v: pd.DataFrame,
    rec: IntArray,
    rec_names: npt.NDArray[np.object_],
    scenario: Scenario,
    model: PolicyModel,
    budget: Budget,
    prov_rows: list[tuple[str, str, int, IntArray]],
    var_of_row: IntArray,
) -> tuple[list[Family], list[str]]:
    """The constraint families of the variables ``v``, and the evident infeasibilities.

    ``rec`` codes each variable's recipient into ``rec_names``; ``prov_rows`` are the
    provincial rows the builder found, by claims-table position (``var_of_row`` maps
    positions to variables). Returns the families in their fixed order (fund, sub-budgets,
    provincial, firm caps, district caps, district floors) and the reasons, if any, the
    scenario cannot be met whatever the solver does.
    """
    n = len(v)
    upper = v["upper_wan"].to_numpy(dtype=np.int64)
    infeasible: list[str] = []
    families = [
        Family(
            FUND_CAP,
            budget.clause_id,
            [FUND_CAP],
            [np.arange(n, dtype=np.int64)],
            np.array([budget.value_wan], dtype=np.int64),
            "<=",
        )
    ]

    if scenario.sub_budgets:
        labels, members, rhs = [], [], []
        clause = v["clause_id"].to_numpy(dtype=object)
        item = v["item_key"].to_numpy(dtype=object)
        for sb in scenario.sub_budgets:
            keys = np.array(sb.clauses, dtype=object)
            idx = np.flatnonzero(np.isin(clause, keys) | np.isin(item, keys))
            if idx.size:
                labels.append(f"{SUB_BUDGET}[{sb.name}]")
                members.append(idx.astype(np.int64))
                rhs.append(sb.budget_wan)
        _append(families, SUB_BUDGET, "scenario", labels, members, rhs, "<=")

    if prov_rows:
        rule = model.rules.provincial
        labels = [f"{PROVINCIAL}[{t}][{rid}]" for t, rid, _, _ in prov_rows]
        members = [var_of_row[pos] for _, _, _, pos in prov_rows]
        rhs = [r for _, _, r, _ in prov_rows]
        _append(families, PROVINCIAL, rule.clause or PROVINCIAL, labels, members, rhs, "<=")

    cap = scenario.firm_cap_wan
    if cap is not None:
        firms = np.flatnonzero(v["recipient_kind"].isin(["enterprise", "project"]).to_numpy())
        totals = np.bincount(rec[firms], weights=upper[firms], minlength=len(rec_names))
        # A row only where the recipient's claims exceed the cap: elsewhere it cannot bind.
        over = totals > cap
        groups = _split(rec[firms], firms, keep=over)
        labels = [f"{FIRM_CAP}[{name}]" for name in rec_names[over]]
        _append(families, FIRM_CAP, "scenario", labels, groups, [cap] * len(labels), "<=")

    district = v["district"].to_numpy(dtype=object)
    by_district = pd.Series(upper).groupby(district).sum()
    totals_by_district = {d: int(by_district.get(d, 0)) for d in DISTRICTS}
    for name, mapping, sense in (
        (DISTRICT_CAP, scenario.district_caps, "<="),
        (DISTRICT_FLOOR, scenario.district_floors, ">="),
    ):
        labels, members, rhs = [], [], []
        for d in sorted(mapping, key=list(DISTRICTS).index):
            idx = np.flatnonzero(district == d).astype(np.int64)
            value = mapping[d]
            if sense == ">=" and value > totals_by_district[d]:
                infeasible.append(
                    f"district_floor[{d}] = {value}万元 exceeds all the claims of the district "
                    f"together ({totals_by_district[d]}万元)"
                )
            if idx.size and not (sense == ">=" and value == 0):
                labels.append(f"{name}[{d}]")
                members.append(idx)
                rhs.append(value)
        _append(families, name, "scenario", labels, members, rhs, sense)

    floors = sum(scenario.district_floors.values())
    if floors > budget.value_wan:
        infeasible.append(
            f"the district floors add up to {floors}万元, more than the budget of "
            f"{budget.value_wan}万元"
        )
    return families, infeasible


def _append(
    families: list[Family],
    name: str,
    clause_id: str,
    labels: list[str],
    members: list[IntArray],
    rhs: list[int],
    sense: str,
) -> None:
    if labels:
        families.append(
            Family(
                name,
                clause_id,
                labels,
                members,
                np.asarray(rhs, dtype=np.int64),
                "<=" if sense == "<=" else ">=",
            )
        )


def _split(codes: IntArray, positions: IntArray, *, keep: BoolArray) -> list[IntArray]:
    """Positions grouped by code (in code order), for the codes ``keep`` marks."""
    wanted = keep[codes]
    codes, positions = codes[wanted], positions[wanted]
    order = np.argsort(codes, kind="stable")
    codes, positions = codes[order], positions[order].astype(np.int64)
    if codes.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], cuts)).tolist()
    ends = np.concatenate((cuts, [codes.size])).tolist()
    # Slicing beats np.split, which costs a swapaxes per piece.
    return [positions[a:b] for a, b in zip(starts, ends, strict=True)]


def exclusive_groups(
    v: pd.DataFrame,
    rec: IntArray,
    rec_names: npt.NDArray[np.object_],
    scenario: Scenario,
    model: PolicyModel,
) -> tuple[list[IntArray], list[str], list[str], list[str]]:
    """No-duplicate groups per recipient: the model's, then the scenario's extra ones.

    Returns, per group, its members, label, clause and group name.
    """
    members: list[IntArray] = []
    labels: list[str] = []
    clause_ids: list[str] = []
    names: list[str] = []
    stacking = model.rules.stacking.clause or "stacking"

    def add(group: str, positions: IntArray, clause_id: str) -> None:
        if positions.size < 2:
            return
        codes = rec[positions]
        counts = np.bincount(codes, minlength=len(rec_names))
        keep = counts >= 2
        parts = _split(codes, positions, keep=keep)
        members.extend(parts)
        labels.extend(f"{NO_DUPLICATE}[{group}][{r}]" for r in rec_names[keep])
        clause_ids.extend([clause_id] * len(parts))
        names.extend([group] * len(parts))

    group_col = v["exclusive_group"].to_numpy(dtype=object)
    for group in sorted(set(group_col) - {""}):
        add(str(group), np.flatnonzero(group_col == group).astype(np.int64), stacking)
    item = v["item_key"].to_numpy(dtype=object)
    for g in scenario.exclusive_groups:
        idx = np.flatnonzero(np.isin(item, np.array(g.items, dtype=object)))
        add(g.name, idx.astype(np.int64), "scenario")
    return members, labels, clause_ids, names


__all__ = ["exclusive_groups", "families"]
