"""The priority greedy and the bounds it works within.

Serving claims in order (weight descending, then rank ascending), each as far as every cap
allows, is exact on an integral polymatroid (nested caps without floors, all-or-nothing items
or binding exclusive groups; Edmonds 1970), and a good start for CP-SAT elsewhere.
"""

from __future__ import annotations

import numpy as np

from allocator.model.problem import (
    IntArray,
    Problem,
)
from allocator.solve.context import Context, laminar_heights


def rank_coefficients(problem: Problem) -> IntArray:
    """Distinct positive coefficients, larger for lower rank: rank 0 gets ``n``, the last 1."""
    return (problem.size - problem.rank).astype(np.int64)


def greedy(ctx: Context, lower: IntArray, upper: IntArray) -> IntArray:
    """Serve claims in order (weight desc, rank asc), each as far as every cap allows.

    Exact (the unique lexicographic optimum) when the open rows are laminar caps without
    floors, all-or-nothing items or binding exclusive groups: the feasible set is then an
    integral polymatroid, on which the greedy algorithm is optimal (Edmonds 1970). Elsewhere it
    is a feasible-for-caps starting point (a hint) for CP-SAT: it pays an all-or-nothing claim
    only in full and one member per exclusive group, but ignores floors.
    """
    problem = ctx.problem
    free = np.flatnonzero(lower < upper)
    order = free[np.lexsort((problem.rank[free], -problem.weight[free]))].tolist()
    residual = (ctx.packing.rhs - ctx.packing.sums(lower)).tolist()
    award = lower.astype(np.int64).tolist()
    room_of = (upper - lower).tolist()
    aon = problem.all_or_nothing.tolist()
    groups_of: dict[int, list[int]] = {}
    paid_in_group = [0] * len(problem.exclusive)
    for g, members in enumerate(problem.exclusive):
        for j in members.tolist():
            groups_of.setdefault(j, []).append(g)
            if award[j] > 0:
                paid_in_group[g] += 1
    ptr, var_rows = ctx.ptr, ctx.var_rows
    for i in order:
        room = room_of[i]
        rows_i = var_rows[ptr[i] : ptr[i + 1]]
        for r in rows_i:
            if residual[r] < room:
                room = residual[r]
        if room <= 0 or (aon[i] and room < room_of[i]):
            continue
        groups = groups_of.get(i, ())
        if award[i] == 0 and any(paid_in_group[g] for g in groups):
            continue
        for r in rows_i:
            residual[r] -= room
        if award[i] == 0:
            for g in groups:
                paid_in_group[g] += 1
        award[i] += room
    return np.asarray(award, dtype=np.int64)


def is_polymatroid(ctx: Context, lower: IntArray, upper: IntArray) -> bool:
    """True when the greedy is exact for these bounds (see :func:`greedy`)."""
    problem = ctx.problem
    free = lower < upper
    if bool((problem.all_or_nothing & free).any()):
        return False
    if ctx.covering.count and bool((ctx.covering.sums(lower) < ctx.covering.rhs).any()):
        return False  # a floor the lower bounds do not already meet
    if any(int((upper[m] > 0).sum()) > 1 for m in problem.exclusive):
        return False
    return laminar_heights(ctx.packing, free[ctx.packing.var]) is not None


def tighten(ctx: Context, lower: IntArray, upper: IntArray, residual: IntArray) -> IntArray:
    """Lower each upper bound to what the rows' residual room allows on their own.

    Exact (no feasible allocation exceeds the new bounds) and cheap; it fixes the claims of
    full rows, which in a remainder phase are most of them, so the search sees only the rest.
    """
    rows = ctx.packing
    room = upper - lower
    cap = room.copy()
    np.minimum.at(cap, rows.var, residual[rows.row])
    cap = np.maximum(np.minimum(cap, room), 0)
    aon = ctx.problem.all_or_nothing.astype(bool)
    cap = np.where(aon & (cap < room), 0, cap)  # an indivisible item that no longer fits
    return lower + cap


__all__ = ["greedy", "is_polymatroid", "rank_coefficients", "tighten"]
