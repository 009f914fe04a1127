"""The four level rules: proportional, equal awards, equal losses and the Talmud.

Groups and floors first (:mod:`allocator.solve.floors`), then progressive filling
(:mod:`allocator.solve.filling`), then whole 万元 by the quota method
(:mod:`allocator.solve.quota`) or, where it would break the order, the nearest vector
(:mod:`allocator.solve.rounding`).
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FUND_CAP,
    SUB_BUDGET,
    Allocation,
    BoolArray,
    Status,
)
from allocator.model.rows import RowMatrix
from allocator.solve import cpsat
from allocator.solve.context import Context, Solved, failed
from allocator.solve.filling import Fill, Level, fill_levels, tolerance
from allocator.solve.floors import floors_by_cpsat, meet_floors, resolve_exclusive
from allocator.solve.greedy import greedy
from allocator.solve.priority import solve_priority
from allocator.solve.quota import order_breaks, quota_awards
from allocator.solve.rounding import Rounded, bounds, floored, nearest

# Families whose per-row levels are worth reporting; firm caps are too many to list.
FloatArray = npt.NDArray[np.float64]

_REPORTED_FAMILIES = (FUND_CAP, SUB_BUDGET, DISTRICT_CAP, DISTRICT_FLOOR)


def allocate_levels(ctx: Context, rule: Rule) -> Allocation:
    """Allocate under a level rule: the exact rule value under every limit, then whole 万元.

    Groups first (one member kept each), then the all-or-nothing claims when
    ``one_offs: first``, then the district floors, then progressive filling to the exact
    value, then the problem's ``rounding`` (docs/fairness.md).
    """
    problem = ctx.problem
    n = problem.size
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    lvl = Level(rule, claim)
    details: dict[str, object] = {}

    excluded, excluded_by = resolve_exclusive(problem)
    participating = ~excluded
    upper = np.where(excluded, 0, claim)
    details["excluded"] = int(excluded.sum())

    # One-offs paid first: in priority order, whole, while every cap allows; the rule then
    # shares what is left among the divisible claims.
    paid_first = np.zeros(n, dtype=np.int64)
    first = problem.one_offs == "first" and bool((aon & participating).any())
    if first:
        paid_first = greedy(ctx, paid_first, np.where(aon & participating, claim, 0))
    rising = participating & ~aon if first else participating
    fixed = paid_first.astype(np.float64)

    start = time.perf_counter()
    floors = meet_floors(ctx, lvl, rising, fixed)
    lb = floors.lb
    floors_method = floors.method
    if ctx.covering.count:
        ctx.phases.append(("floors", time.perf_counter() - start))
    over = ctx.packing.rhs + tolerance(ctx.packing.rhs)
    if floors.ok and bool((_sums(ctx, lb) > over).any()):
        floors.ok = False
    if not floors.ok:
        bound_lo = paid_first if first else None
        conflict = cpsat.explain_infeasible(
            problem,
            ctx.settings,
            lower=bound_lo,
            upper=upper,
            time_limit=max(ctx.remaining(), 1.0),
        )
        resettle = False
        if conflict.status is Status.INFEASIBLE and bool(excluded.any()):
            # The floors may need a group member the rule set aside: only the problem with
            # the groups left to the solver can say whether they hold at all.
            whole = cpsat.explain_infeasible(
                problem, ctx.settings, lower=bound_lo, time_limit=max(ctx.remaining(), 1.0)
            )
            resettle = whole.status is Status.OPTIMAL
            conflict = whole
        if conflict.status is not Status.OPTIMAL:
            return failed(ctx, rule, conflict, details)
        fallback = floors_by_cpsat(ctx, claim if resettle else upper, bound_lo)
        if fallback is None:
            return failed(ctx, rule, None, details)
        if resettle:
            # Keep, in each group, the member the floors were met with.
            excluded, excluded_by = resolve_exclusive(problem, prefer=fallback > 0)
            participating = ~excluded
            rising = participating & ~aon if first else participating
            details["excluded"] = int(excluded.sum())
        lb, floors_method = fallback.astype(np.float64), "cpsat"
    details["floors"] = floors_method

    start = time.perf_counter()
    fill = fill_levels(ctx, lvl, ctx.packing, rising, np.maximum(fixed, lb), lb, "filling")
    ctx.phases.append(("filling", time.perf_counter() - start))
    exact = np.where(participating, fill.value, 0.0)
    details["filling"] = fill.method
    details["rounds"] = fill.rounds

    rounded = _round(ctx, lvl, exact, participating, fill, lb, first)
    award = rounded.award
    status = Status.OPTIMAL
    if rounded.solved is not None:
        details["remainder_method"] = rounded.solved.method
        details["canonical"] = rounded.solved.canonical
        if rounded.solved.award is None or rounded.solved.status is not Status.OPTIMAL:
            status = Status.FEASIBLE
    details["remainder"] = int(award.sum()) - rounded.floor_total
    details["rounding_method"] = rounded.method

    frozen_by = [""] * n
    row_of = fill.by_row.tolist()
    labels = ctx.packing.labels
    below = (award < claim).tolist()
    for i in range(n):
        if excluded[i]:
            frozen_by[i] = excluded_by[i]
        elif below[i] and row_of[i] >= 0:
            frozen_by[i] = labels[row_of[i]]
    levels = np.full(n, np.nan)
    has_level = participating & (fill.by_row >= 0)
    levels[has_level] = lvl.display(fill.row_level[fill.by_row[has_level]])
    reported = {
        labels[r]: float(lvl.display(fill.row_level[r : r + 1])[0])
        for r in range(ctx.packing.count)
        if fill.row_level[r] <= lvl.lmax and ctx.packing.families[r] in _REPORTED_FAMILIES
    }
    details["row_levels"] = reported
    weight = problem.weight.astype(np.int64)
    objective = float(np.dot(weight, award))
    spent = int(award.sum())
    rounding_left = 0
    if problem.rounding == "floor_each":
        rounding_left = max(int(np.floor(float(exact.sum()) + 1e-6)) - spent, 0)
    return Allocation(
        award=award.astype(np.int64),
        status=status,
        rule=rule,
        objective=objective,
        best_bound=objective,
        levels=levels,
        frozen_by=frozen_by,
        phases=ctx.phases,
        details=details,
        exact=exact,
        rounding=problem.rounding,
        one_offs=problem.one_offs,
        unspent=problem.budget - spent,
        rounding_left=rounding_left,
        one_offs_first=int((aon & (paid_first > 0)).sum()),
        one_offs_short=int((aon & participating & (paid_first == 0)).sum()) if first else 0,
    )


def _sums(ctx: Context, values: FloatArray) -> FloatArray:
    rows = ctx.packing
    out = np.bincount(rows.row, weights=values[rows.var], minlength=rows.count)
    return np.asarray(out, dtype=np.float64)


def _round(
    ctx: Context,
    lvl: Level,
    exact: FloatArray,
    participating: BoolArray,
    fill: Fill,
    lb: FloatArray,
    first: bool,
) -> Rounded:
    """Whole 万元 by the problem's ``rounding``; then, under ``one_offs: compete``, what is
    left pays, whole and in priority order, the all-or-nothing claims a row stopped at 0."""
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    by_row = fill.by_row
    if problem.rounding == "floor_each":
        award = floored(exact, claim, aon)
        short = ctx.covering.sums(award) < ctx.covering.rhs
        if not bool(short.any()):
            return Rounded(award, None, int(award.sum()), "floor")
        # A floor the rounded-down awards miss: its claims are rounded as under spend_all.
        free = np.zeros(problem.size, dtype=bool)
        free[ctx.covering.var[short[ctx.covering.row]]] = True
        return nearest(ctx, exact, free & participating, "rounding")
    rounded = _quota(ctx, lvl, exact, participating, fill, lb)
    waiting = participating & aon & (by_row >= 0) & (rounded.award == 0) & (claim > 0)
    if problem.one_offs == "compete" and bool(waiting.any()):
        upper = np.where(waiting, claim, rounded.award)
        solved = solve_priority(ctx, rounded.award, upper, "one-offs", explain=False)
        if solved.award is not None:
            return Rounded(solved.award, solved, rounded.floor_total, rounded.method)
    return rounded


def _quota(
    ctx: Context,
    lvl: Level,
    exact: FloatArray,
    participating: BoolArray,
    fill: Fill,
    lb: FloatArray,
) -> Rounded:
    """The ``spend_all`` awards by the quota method (:mod:`allocator.solve.quota`): the
    divisible claims share the fund left by the others one whole 万元 at a time. Where the
    result misses a district floor the nearest vector is solved for instead
    (:func:`allocator.solve.rounding.nearest`)."""
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    lo, _hi = bounds(exact, claim, aon)
    inside = participating & ~aon
    award = np.where(inside, 0, lo).astype(np.int64)
    idx = np.flatnonzero(inside)
    packing = ctx.packing
    fund = np.asarray([f == FUND_CAP for f in packing.families], dtype=bool)
    rising = np.zeros(problem.size, dtype=bool)
    froze = fill.by_row >= 0
    rising[froze] = fund[fill.by_row[froze]]
    side = packing.select(~fund)
    # A claim the fund froze goes on rising with a larger fund only if no other row is full:
    # one that is full at the same level holds it there however large the fund.
    full = side.count and np.bincount(side.row, weights=exact[side.var], minlength=side.count)
    if side.count:
        shut = np.asarray(full, dtype=np.float64) >= side.rhs - tolerance(side.rhs) * 1e4
        rising[side.var[shut[side.row]]] = False
    pos = np.full(problem.size, -1, dtype=np.int64)
    pos[idx] = np.arange(idx.shape[0], dtype=np.int64)
    keep = pos[side.var] >= 0
    fixed = side.sums(award)
    sub = RowMatrix(
        labels=side.labels,
        families=side.families,
        is_cap=side.is_cap,
        rhs=side.rhs,
        row=side.row[keep],
        var=pos[side.var[keep]],
    )
    units = problem.budget - int(award.sum())
    if fund.any():
        units = min(units, int((packing.rhs[fund] - packing.sums(award)[fund]).min()))
    start = time.perf_counter()
    got = quota_awards(
        lvl,
        claim[idx],
        problem.rank.astype(np.int64)[idx],
        exact[idx],
        lb[idx],
        fill.level[idx],
        rising[idx],
        max(units, 0),
        sub,
        fixed,
    )
    award[idx] = got.award
    ctx.phases.append(("quota", time.perf_counter() - start))
    missed = ctx.covering.count and bool((ctx.covering.sums(award) < ctx.covering.rhs).any())
    if missed or order_breaks(exact, claim, award, packing):
        # Rows that froze some claims while others rose: their exact values changed order
        # along the path, and the order at this fund comes first (docs/fairness.md).
        return nearest(ctx, exact, participating, "rounding")
    solved = Solved(award, Status.OPTIMAL, float("nan"), float("nan"), f"quota-{got.method}")
    return Rounded(award, solved, int(lo[participating].sum()), "quota")


__all__ = ["allocate_levels"]
