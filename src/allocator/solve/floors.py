"""What a level rule settles before filling: no-duplicate groups and district floors.

Each group keeps one member; the floored districts are filled first, under the rule's level,
and what they reach (the exact rule value at which each floor is met) becomes a lower bound
of the main filling (docs/fairness.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.model.problem import (
    BoolArray,
    IntArray,
    Problem,
)
from allocator.solve import cpsat
from allocator.solve.context import Context
from allocator.solve.filling import Level, fill_levels, tolerance

FloatArray = npt.NDArray[np.float64]


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
    """Lower bounds that meet the district floors, and how they were found."""

    lb: FloatArray
    ok: bool
    method: str


def meet_floors(ctx: Context, lvl: Level, participating: BoolArray, fixed: FloatArray) -> Floors:
    """Lower bounds that meet every district floor, by progressive filling inside it.

    The floor's members rise (everyone else at ``fixed``) under the rule's level, with the
    floor itself acting as a cap: they reach it exactly, at the exact rule value, unless an
    all-or-nothing claim jumps past it or a cap stops them first (then ``ok`` is false).
    """
    problem = ctx.problem
    n = problem.size
    floors = ctx.covering
    if floors.count == 0:
        return Floors(fixed, True, "none")
    # A floor the amounts already fixed meet (one-offs paid first) asks nothing more; as a cap
    # it would be exceeded where the filling starts.
    held = np.bincount(floors.row, weights=fixed[floors.var], minlength=floors.count)
    floors = floors.select(held < floors.rhs - tolerance(floors.rhs))
    if floors.count == 0:
        return Floors(fixed, True, "none")
    members = np.zeros(n, dtype=bool)
    members[floors.var] = True
    members &= participating
    rows = ctx.packing.concat(floors)
    fill = fill_levels(ctx, lvl, rows, members, fixed, fixed, "floors")
    value = fill.value
    sums = np.bincount(floors.row, weights=value[floors.var], minlength=floors.count)
    met = bool((sums >= floors.rhs - tolerance(floors.rhs)).all())
    return Floors(value, met, fill.method)


def floors_by_cpsat(
    ctx: Context, upper: IntArray, lower: IntArray | None = None
) -> IntArray | None:
    """Fallback: the least total meeting every floor, found by a deterministic CP-SAT search.

    Used only when filling inside the districts cannot meet a floor that some other split
    would meet (a sub-budget crossing two floored districts).
    """
    problem = ctx.problem
    model = cpsat.build(problem, lower, upper)
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
    lb = np.where(members > 0, result.award, 0 if lower is None else lower)
    return lb.astype(np.int64)


__all__ = ["Floors", "floors_by_cpsat", "meet_floors", "resolve_exclusive"]
