"""What a level rule settles before filling: no-duplicate groups and district floors.

Each group keeps one member; the floored districts are filled first, under the rule's level,
and what they reach becomes a lower bound of the main filling (docs/fairness.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.model.problem import (
    BoolArray,
    IntArray,
    Problem,
)
from allocator.solve import cpsat
from allocator.solve.context import Context
from allocator.solve.filling import Level, fill_levels, targets


def resolve_exclusive(
    problem: Problem, prefer: BoolArray | None = None
) -> tuple[BoolArray, list[str]]:
    """Per exclusive group keep one member (largest claim, then weight, then lower rank).

    ``prefer`` marks members to keep before any other (the member a floor needs, see
    :func:`allocator.solve.levels.allocate_levels`). Returns the mask of excluded variables
    and, for each, the label of the group that excluded it. Groups are taken in their listed
    order.
    """
    n = problem.size
    first = np.zeros(n, dtype=bool) if prefer is None else prefer
    excluded = np.zeros(n, dtype=bool)
    reason = [""] * n
    for members, label in zip(problem.exclusive, problem.exclusive_labels, strict=True):
        open_ = members[~excluded[members]]
        if open_.shape[0] <= 1:
            continue
        key = np.lexsort(
            (problem.rank[open_], -problem.weight[open_], -problem.upper[open_], ~first[open_])
        )
        keep = int(open_[key[0]])
        for j in open_.tolist():
            if j != keep:
                excluded[j] = True
                reason[j] = label
    return excluded, reason


@dataclass
class Floors:
    lb: IntArray
    ok: bool
    method: str


def meet_floors(ctx: Context, lvl: Level, participating: BoolArray) -> Floors:
    """Lower bounds that meet every district floor, by progressive filling inside it.

    The floor's members rise (everyone else at 0) under the rule's level, with the floor
    itself acting as a cap; the whole-万元 gap left when the next step would overshoot is
    topped up one step per member in priority order, within every cap.
    """
    problem = ctx.problem
    n = problem.size
    floors = ctx.covering
    lb0 = np.zeros(n, dtype=np.int64)
    if floors.count == 0:
        return Floors(lb0, True, "none")
    members = np.zeros(n, dtype=bool)
    members[floors.var] = True
    members &= participating
    rows = ctx.packing.concat(floors)
    fill = fill_levels(ctx, lvl, rows, members, lb0, lb0, "floors")
    value = fill.value.copy()
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    residual = (ctx.packing.rhs - ctx.packing.sums(value)).tolist()
    ptr, var_rows = ctx.ptr, ctx.var_rows
    offset = ctx.packing.count
    for q in range(floors.count):
        in_row = floors.var[floors.row == q]
        deficit = int(floors.rhs[q]) - int(value[in_row].sum())
        if deficit <= 0:
            continue
        at_floor = in_row[
            members[in_row]
            & (fill.level[in_row] == fill.row_level[offset + q])
            & (value[in_row] < claim[in_row])
        ]
        order = at_floor[np.lexsort((problem.rank[at_floor], -problem.weight[at_floor]))]
        for i in order.tolist():
            if deficit <= 0:
                break
            if aon[i]:
                step = int(claim[i] - value[i])
            else:
                nxt = targets(
                    lvl,
                    np.array([fill.level[i] + 1]),
                    claim[i : i + 1],
                    lb0[i : i + 1],
                    aon[i : i + 1],
                )
                step = max(int(nxt[0] - value[i]), 0)
            rows_i = var_rows[ptr[i] : ptr[i + 1]]
            if step == 0 or any(residual[r] < step for r in rows_i):
                continue
            for r in rows_i:
                residual[r] -= step
            value[i] += step
            deficit -= step
    met = bool((floors.sums(value) >= floors.rhs).all())
    return Floors(value, met, fill.method)


def floors_by_cpsat(ctx: Context, upper: IntArray) -> IntArray | None:
    """Fallback: the least total meeting every floor, found by a deterministic CP-SAT search.

    Used only when filling inside the districts cannot meet a floor that some other split
    would meet (a sub-budget crossing two floored districts).
    """
    problem = ctx.problem
    model = cpsat.build(problem, None, upper)
    members = np.zeros(problem.size, dtype=np.int64)
    members[ctx.covering.var] = 1
    expr, _ = model.linear(members)
    model.cp.minimize(expr)
    start = time.perf_counter()
    result = cpsat.solve(
        model,
        ctx.settings,
        time_limit=ctx.remaining(),
        workers=1,
        deterministic_limit=max(1.0, ctx.settings.time_limit_s),
        phase="floors",
    )
    ctx.phases.append(("floors", time.perf_counter() - start))
    if result.award is None:
        return None
    lb = np.where(members > 0, result.award, 0)
    return lb.astype(np.int64)


__all__ = ["Floors", "floors_by_cpsat", "meet_floors", "resolve_exclusive"]
