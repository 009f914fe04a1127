"""The four level rules: proportional, equal awards, equal losses and the Talmud.

Groups and floors first (:mod:`allocator.solve.floors`), then progressive filling
(:mod:`allocator.solve.filling`), then the whole-万元 remainder by the priority engine
(:mod:`allocator.solve.priority`).
"""

from __future__ import annotations

import time

import numpy as np

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FUND_CAP,
    SUB_BUDGET,
    Allocation,
    Status,
)
from allocator.solve import cpsat
from allocator.solve.context import Context, failed
from allocator.solve.filling import Level, fill_levels, step_starts, targets
from allocator.solve.floors import floors_by_cpsat, meet_floors, resolve_exclusive
from allocator.solve.priority import solve_priority

# Families whose per-row levels are worth reporting; firm caps are too many to list.
_REPORTED_FAMILIES = (FUND_CAP, SUB_BUDGET, DISTRICT_CAP, DISTRICT_FLOOR)


def allocate_levels(ctx: Context, rule: Rule) -> Allocation:
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

    start = time.perf_counter()
    floors = meet_floors(ctx, lvl, participating)
    lb = floors.lb
    floors_method = floors.method
    if ctx.covering.count:
        ctx.phases.append(("floors", time.perf_counter() - start))
    if floors.ok and bool((ctx.packing.sums(lb) > ctx.packing.rhs).any()):
        floors.ok = False
    if not floors.ok:
        conflict = cpsat.explain_infeasible(
            problem, ctx.settings, upper=upper, time_limit=max(ctx.remaining(), 1.0)
        )
        resettle = False
        if conflict.status is Status.INFEASIBLE and bool(excluded.any()):
            # The floors may need a group member the rule set aside: only the problem with
            # the groups left to the solver can say whether they hold at all.
            whole = cpsat.explain_infeasible(
                problem, ctx.settings, time_limit=max(ctx.remaining(), 1.0)
            )
            resettle = whole.status is Status.OPTIMAL
            conflict = whole
        if conflict.status is not Status.OPTIMAL:
            return failed(ctx, rule, conflict, details)
        fallback = floors_by_cpsat(ctx, claim if resettle else upper)
        if fallback is None:
            return failed(ctx, rule, None, details)
        if resettle:
            # Keep, in each group, the member the floors were met with.
            excluded, excluded_by = resolve_exclusive(problem, prefer=fallback > 0)
            participating = ~excluded
            details["excluded"] = int(excluded.sum())
        lb, floors_method = fallback, "cpsat"
    details["floors"] = floors_method

    start = time.perf_counter()
    fill = fill_levels(
        ctx, lvl, ctx.packing, participating, np.zeros(n, dtype=np.int64), lb, "filling"
    )
    ctx.phases.append(("filling", time.perf_counter() - start))
    value = fill.value
    details["filling"] = fill.method
    details["rounds"] = fill.rounds

    # The remainder: a claim stopped by a row may rise to its next level's target (at most
    # +1 万元; all or nothing for an indivisible item) where the rows still have room.
    stopped = participating & (fill.by_row >= 0) & (value < claim)
    nxt = targets(lvl, np.minimum(fill.level + 1, lvl.lmax), claim, lb, aon)
    ub = np.where(aon & (value == 0), claim, np.minimum(nxt, claim))
    ub = np.where(stopped, np.maximum(ub, value), value)
    solved = solve_priority(ctx, value, ub, "remainder", explain=False)
    status = Status.OPTIMAL
    award = solved.award
    if award is None or solved.status is not Status.OPTIMAL:
        status = Status.FEASIBLE
    if award is None:
        award = value  # the targets are feasible on their own
    details["remainder"] = int(award.sum() - value.sum())
    details["remainder_method"] = solved.method
    details["canonical"] = solved.canonical

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
    start_level = step_starts(lvl, fill, ctx.packing, claim, lb, aon)
    levels[has_level] = lvl.display(start_level[fill.by_row[has_level]])
    reported = {
        labels[r]: float(lvl.display(start_level[r : r + 1])[0])
        for r in range(ctx.packing.count)
        if fill.row_level[r] <= lvl.lmax and ctx.packing.families[r] in _REPORTED_FAMILIES
    }
    details["row_levels"] = reported
    weight = problem.weight.astype(np.int64)
    objective = float(np.dot(weight, award))
    bound = objective if status is Status.OPTIMAL else solved.bound
    return Allocation(
        award=award.astype(np.int64),
        status=status,
        rule=rule,
        objective=objective,
        best_bound=bound,
        levels=levels,
        frozen_by=frozen_by,
        phases=ctx.phases,
        details=details,
    )


__all__ = ["allocate_levels"]
