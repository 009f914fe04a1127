"""The priority rule: maximise ``Σ weight·x``, then the rank tie-break ``Σ (n − rank)·x``.

Also the engine of a level rule's last phase, which shares the whole-万元 remainder. CP-SAT
(the exact greedy on a polymatroid, else :mod:`allocator.solve.search`) or HiGHS
(:mod:`allocator.solve.highs`), as the scenario's ``solver.solver`` says.
"""

from __future__ import annotations

import importlib.metadata
import time

import numpy as np

from allocator.inputs.choices import Engine, Rule
from allocator.model.problem import (
    Allocation,
    IntArray,
    Status,
)
from allocator.solve import highs
from allocator.solve.context import Context, Solved, failed, infeasible
from allocator.solve.greedy import greedy, is_polymatroid, tighten
from allocator.solve.search import canonical_pick, priority_cpsat


def solve_priority(
    ctx: Context, lower: IntArray, upper: IntArray, phase: str, *, explain: bool = True
) -> Solved:
    """Maximise ``Σ weight·x`` over ``[lower, upper]``, then ``Σ (n − rank)·x``.

    The engine of ``ctx.settings.solver``. CP-SAT: the exact greedy on a polymatroid, else
    three phases (weights; rank tie-break; a canonical single-worker search of the optimal
    face, see docs/fairness.md), the same whatever the number of workers. HiGHS: always its
    own branch and bound, weights then tie-break, never the greedy, so that a run with
    ``--solver highs`` checks the default engine's optima independently (docs/solvers.md);
    then the same canonical pick, so that both engines give the same awards.
    Infeasibility is explained by CP-SAT either way.
    """
    problem = ctx.problem
    weight = problem.weight.astype(np.int64)
    residual = ctx.packing.rhs - ctx.packing.sums(lower)
    if bool((residual < 0).any()):
        return infeasible(ctx, lower, upper, explain)
    given = upper
    upper = tighten(ctx, lower, upper, residual)
    if ctx.settings.solver == Engine.HIGHS:
        return _priority_highs(ctx, lower, upper, given, phase, explain)
    if is_polymatroid(ctx, lower, upper):
        start = time.perf_counter()
        award = greedy(ctx, lower, upper)
        ctx.phases.append((phase, time.perf_counter() - start))
        value = float(np.dot(weight, award))
        if ctx.progress is not None:
            ctx.progress(phase, value, value)
        return Solved(award, Status.OPTIMAL, value, value, "greedy")
    return priority_cpsat(ctx, lower, upper, given, phase, explain)


def _priority_highs(
    ctx: Context, lower: IntArray, upper: IntArray, given: IntArray, phase: str, explain: bool
) -> Solved:
    """HiGHS phases of :func:`solve_priority`: the weights, then the rank tie-break, then
    CP-SAT's canonical pick among the optima (:func:`allocator.solve.search.canonical_pick`).

    HiGHS starts from the greedy vector when it meets every row. The canonical pick makes
    the award the one CP-SAT's phases lead to: a function of the inputs and the seed, not of
    the engine or the thread count.
    """
    problem = ctx.problem
    weight = problem.weight.astype(np.int64)
    hint = greedy(ctx, lower, upper)
    solution = highs.solve_bounded(
        problem,
        ctx.settings,
        lower=lower,
        upper=upper,
        time_limit_s=ctx.remaining(),
        start=hint,
        progress=ctx.progress,
        phase=phase,
    )
    seconds = dict(solution.phases)
    ctx.phases.append((phase, seconds["build"] + seconds.get("priority", 0.0)))
    if "tie_break" in seconds:
        ctx.phases.append((f"{phase}:tie-break", seconds["tie_break"]))
    if solution.status is Status.INFEASIBLE:
        return infeasible(ctx, lower, given, explain)
    if solution.award is None or solution.status is Status.UNKNOWN:
        if bool((ctx.covering.sums(hint) >= ctx.covering.rhs).all()):
            # The greedy start meets every row: a feasible answer, just not a proven one.
            value = int(np.dot(weight, hint))
            return Solved(hint, Status.FEASIBLE, value, solution.bound, "greedy", False)
        nan = float("nan")
        return Solved(None, Status.UNKNOWN, nan, solution.bound, "highs")
    best = int(np.dot(weight, solution.award))
    if solution.status is Status.OPTIMAL and ctx.canonical_after_highs:
        # The same canonical pick as after CP-SAT's phases: the award does not depend on
        # which engine proved the two optima.
        picked = canonical_pick(ctx, lower, upper, solution.award, phase, "highs")
        if picked.canonical:
            return picked
        # No canonical pick within its work limit: HiGHS's optima stand, proven, but the
        # award is HiGHS's own (``canonical`` false, as in result.json).
        return Solved(solution.award, Status.OPTIMAL, best, best, "highs", False)
    if solution.status is Status.OPTIMAL:
        return Solved(solution.award, Status.OPTIMAL, best, best, "highs")
    return Solved(solution.award, Status.FEASIBLE, best, solution.bound, "highs", False)


def engine_name(engine: Engine) -> str:
    """The engine and its version, as ``result.json`` names it under ``solver.solver``."""
    if engine == Engine.HIGHS:
        return highs.engine_name()
    return f"CP-SAT {importlib.metadata.version('ortools')}"


def _priority_frozen_by(ctx: Context, award: IntArray) -> list[str]:
    """Why each claim is below its amount under priority: its exclusive group if another
    member is paid, else the row with the least room left, the smallest such row (the most
    specific: a firm's cap before the fund), then the first."""
    problem = ctx.problem
    n = problem.size
    out = [""] * n
    below = award < problem.upper
    if not below.any():
        return out
    rows = ctx.packing
    slack = rows.rhs - rows.sums(award)
    size = np.bincount(rows.row, minlength=rows.count)
    order = np.lexsort((rows.row, size[rows.row], slack[rows.row], rows.var))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = rows.var[order][1:] != rows.var[order][:-1]
    for p in order[first].tolist():
        i = int(rows.var[p])
        if below[i]:
            out[i] = rows.labels[int(rows.row[p])]
    for members, label in zip(problem.exclusive, problem.exclusive_labels, strict=True):
        paid = members[award[members] > 0]
        if paid.shape[0]:
            for j in members.tolist():
                if award[j] == 0 and below[j]:
                    out[j] = label
    return out


def allocate_priority(ctx: Context) -> Allocation:
    problem = ctx.problem
    n = problem.size
    claim = problem.upper.astype(np.int64)
    solved = solve_priority(ctx, np.zeros(n, dtype=np.int64), claim, "priority")
    details: dict[str, object] = {"method": solved.method, "canonical": solved.canonical}
    if solved.award is None:
        return failed(ctx, Rule.PRIORITY, solved.conflict, details)
    return Allocation(
        award=solved.award.astype(np.int64),
        status=solved.status,
        rule=Rule.PRIORITY,
        objective=solved.objective,
        best_bound=solved.bound,
        levels=np.full(n, np.nan),
        frozen_by=_priority_frozen_by(ctx, solved.award),
        phases=ctx.phases,
        details=details,
    )


__all__ = ["allocate_priority", "engine_name", "solve_priority"]
