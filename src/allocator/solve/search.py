"""The CP-SAT phases of a priority solve: weights, rank tie-break, canonical pick.

Each phase first narrows its bounds by reduced-cost fixing around a known allocation
(:mod:`allocator.solve.fixing`); CP-SAT then searches only the claims an optimum may still
move. The third, canonical phase makes the answer the same for any number of workers
(docs/fairness.md, "Why the answer is unique").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.model.problem import (
    BoolArray,
    IntArray,
    Status,
)
from allocator.solve import cpsat, fixing
from allocator.solve.context import Context, Solved, infeasible
from allocator.solve.greedy import greedy, rank_coefficients

FloatArray = npt.NDArray[np.float64]


def priority_cpsat(
    ctx: Context, lower: IntArray, upper: IntArray, given: IntArray, phase: str, explain: bool
) -> Solved:
    """CP-SAT phases of :func:`allocator.solve.priority.solve_priority`; ``given`` are the
    bounds before tightening, used to explain infeasibility in terms of the rows rather than of
    bounds they imply.

    Each phase first narrows its bounds around a known allocation by reduced-cost fixing
    (:func:`_narrow`); when the known allocation is proven optimal there is no search, and
    otherwise CP-SAT sees only the claims that an optimum may still move.
    """
    problem = ctx.problem
    weight = problem.weight.astype(np.int64)
    tie = rank_coefficients(problem)
    hint = greedy(ctx, lower, upper)
    hint_ok = bool((ctx.covering.sums(hint) >= ctx.covering.rhs).all())

    # Phase 1: the weights.
    first = _Phase(lower, upper, None, hint)
    if hint_ok:
        first = _narrow(ctx, [], weight, lower, upper, hint, phase)
    if first.proven is None:
        result = _search(ctx, first, [], weight, phase)
        if result.status is Status.INFEASIBLE:
            return infeasible(ctx, lower, given, explain)
        if result.award is None:
            if hint_ok:
                # The greedy start meets every row: a feasible answer, just not a proven one.
                value = int(np.dot(weight, hint))
                return Solved(hint, Status.FEASIBLE, value, result.bound, "greedy", False)
            nan = float("nan")
            return Solved(None, Status.UNKNOWN, nan, result.bound, "cpsat")
        if result.status is not Status.OPTIMAL:
            best = int(np.dot(weight, result.award))
            return Solved(result.award, Status.FEASIBLE, best, result.bound, "cpsat", False)
        first = dataclasses.replace(first, proven=result.award, hint=result.award)
    optimum = first.proven
    assert optimum is not None
    best = int(np.dot(weight, optimum))

    # Phase 2: the rank tie-break among the allocations worth ``best``.
    held = [(weight, best)]
    start = optimum
    if hint_ok and int(np.dot(weight, hint)) == best and np.dot(tie, hint) > np.dot(tie, start):
        start = hint
    second = _narrow(ctx, held, tie, first.lower, first.upper, start, f"{phase}:tie-break")
    if second.proven is None:
        result = _search(ctx, second, held, tie, f"{phase}:tie-break")
        if result.status is not Status.OPTIMAL or result.award is None:
            award = result.award if result.award is not None else second.hint
            return Solved(award, Status.FEASIBLE, best, best, "cpsat", False)
        second = dataclasses.replace(second, proven=result.award, hint=result.award)
    award = second.proven if second.proven is not None else second.hint
    return canonical_pick(ctx, lower, upper, award, phase, "cpsat", hint, (first, second))


def canonical_pick(
    ctx: Context,
    lower: IntArray,
    upper: IntArray,
    award: IntArray,
    phase: str,
    method: str,
    hint: IntArray | None = None,
    narrowed: tuple[_Phase, _Phase] | None = None,
) -> Solved:
    """The priority phase's third step: one award among the optima, whoever found them.

    ``award`` is optimal for the weights and, among those optima, for the rank tie-break,
    within ``[lower, upper]`` (the bounds :func:`allocator.solve.priority.solve_priority`
    tightened). Distinct tie-break coefficients do not make the optimum unique when the caps
    cross (two firms x two clauses can swap awards at equal cost), and parallel workers, or
    another engine, may stop at different optima. One worker, a deterministic work limit and
    a hint computed from the inputs make the final pick a function of the inputs and the
    seed alone. Its bounds are one fixing of the phase's bounds against each optimum's value,
    which are the same whichever engine found them, with any number of workers, so the model
    it searches is too. When the greedy allocation (``hint``, computed here when not given)
    is itself optimal in both phases, it is the pick, without a search (method ``bound``
    under CP-SAT). ``narrowed``: the weights' and tie-break's narrowings of a CP-SAT solve,
    reused where they are that one fixing already.
    """
    problem, settings = ctx.problem, ctx.settings
    weight = problem.weight.astype(np.int64)
    tie = rank_coefficients(problem)
    best = int(np.dot(weight, award))
    tie_best = int(np.dot(tie, award))
    held = [(weight, best)]
    if hint is None:
        hint = greedy(ctx, lower, upper)
    on_face = int(np.dot(weight, hint)) == best and int(np.dot(tie, hint)) == tie_best
    if on_face and bool((ctx.covering.sums(hint) >= ctx.covering.rhs).all()):
        # A function of the inputs already, whatever the engine or the number of workers.
        return Solved(hint, Status.OPTIMAL, best, best, "bound" if method == "cpsat" else method)
    canonical = f"{phase}:canonical"
    first, second = narrowed if narrowed is not None else (None, None)
    redo = first is None or first.value_used != best
    if redo or first is None:
        first = _narrow(ctx, [], weight, lower, upper, award, f"{canonical}:weights", kernel=False)
    if redo or second is None or second.value_used != tie_best:
        second = _narrow(ctx, held, tie, first.lower, first.upper, award, canonical, kernel=False)
    face = _Phase(second.lower, second.upper, None, award)
    third = _search(
        ctx,
        face,
        [(weight, best), (tie, tie_best)],
        None,
        canonical,
        hint=hint,
        workers=1,
        deterministic_limit=max(1.0, settings.time_limit_s),
    )
    if third.award is None:
        return Solved(award, Status.FEASIBLE, best, best, method, False)
    return Solved(third.award, Status.OPTIMAL, best, best, method)


#: When reduced-cost fixing leaves more claims open than this, a first search over the
#: claims likeliest to move (this many, and every claim in a block) improves the known
#: allocation, and the fixing is redone with its better value.
_KERNEL = 2_000


@dataclass
class _Phase:
    """Bounds of one priority phase after narrowing, and what is known inside them.

    ``proven`` is an optimal allocation of the phase when one is known; ``hint`` the start of
    a search (feasible when it came from :func:`_narrow`); ``value_used`` the value the
    fixing was proven against: every allocation worth at least that lies within the bounds,
    which are one fixing of the phase's own bounds against it, a function of those two alone.
    """

    lower: IntArray
    upper: IntArray
    proven: IntArray | None
    hint: IntArray
    value_used: int | None = None


def _narrow(
    ctx: Context,
    held: list[tuple[IntArray, int]],
    cost: IntArray,
    lower: IntArray,
    upper: IntArray,
    award: IntArray,
    phase: str,
    *,
    kernel: bool = True,
) -> _Phase:
    """Narrow a phase's bounds around ``award``, an allocation that meets every row and
    every ``coef·x >= value`` of ``held`` (the earlier phases' optima).

    Reduced-cost fixing (:mod:`allocator.solve.fixing`) fixes the claims no allocation as good as
    ``award`` can move, or proves ``award`` optimal. When more than :data:`_KERNEL` claims
    stay open, CP-SAT first searches a kernel — the claims cheapest to move, every other
    claim held at ``award`` — for a better allocation, and the fixing is redone with it.
    """
    value = int(np.dot(cost, award))
    seconds = 0.0

    def reduce(bounds_lo: IntArray, bounds_hi: IntArray, v: int) -> fixing.Reduction:
        nonlocal seconds
        reduction = fixing.reduce(
            ctx.problem,
            cost,
            bounds_lo,
            bounds_hi,
            v,
            held=held,
            # Half the time left: on a large model the fixing is what makes the phase
            # tractable at all (400,000 claims of the crossing family: an LP of 10-15 s on a
            # busy machine, and without it a search that proves nothing in a minute).
            time_limit=max(ctx.remaining() / 2, 0.1),
            seed=ctx.settings.seed,
            complete=lambda start, top: greedy(ctx, start, top),
        )
        seconds += reduction.seconds
        return reduction

    red = reduce(lower, upper, value)
    if red.better is not None:
        # The rounded LP solution beat ``award``; it is a function of the phase's bounds
        # and ``value``, and so are the bounds fixed against it.
        award = red.better
        value = int(np.dot(cost, award))
    inside = _kernel(red, award) if kernel and not red.proven else None
    if inside is not None:
        k_lo = np.where(inside, red.lower, award)
        k_hi = np.where(inside, red.upper, award)
        found = _search(
            ctx,
            _Phase(k_lo, k_hi, None, award),
            held,
            cost,
            f"{phase}:kernel",
            time_limit=min(ctx.remaining() / 4, 10.0),
        )
        if found.award is not None and int(np.dot(cost, found.award)) > value:
            award = found.award
            value = int(np.dot(cost, award))
            # Fixed again from the phase's own bounds, not from the first fixing's (which
            # the search's luck shaped): a function of the phase's bounds and the value
            # alone, which the canonical phase can take as they are.
            red = reduce(lower, upper, value)
            if red.better is not None:
                award = red.better
                value = int(np.dot(cost, award))
    ctx.phases.append((f"{phase}:fixing", seconds))
    if red.proven:
        if ctx.progress is not None:
            ctx.progress(phase, float(value), float(value))
        return _Phase(red.lower, red.upper, award, award, value)
    return _Phase(red.lower, red.upper, None, award, value)


def _kernel(red: fixing.Reduction, award: IntArray) -> BoolArray | None:
    """The claims a kernel search may move, ``None`` when no kernel is worth searching (few
    claims open, or a kernel that would hold most of them: that is the phase's own search).

    The kernel: the :data:`_KERNEL` open claims cheapest to move, every open claim in a block,
    and up to :data:`_KERNEL` open claims that ``award`` holds away from the bound their
    reduced cost prefers (a one-off the greedy left out, say), the cheapest first: these are
    where a better allocation differs from ``award``.
    """
    open_ = red.lower < red.upper
    count = int(open_.sum())
    if red.bound is None or count <= _KERNEL:
        return None
    loss = np.where(open_, red.loss, np.nan)
    inside = open_ & (_cheapest(loss, open_ & np.isfinite(loss)) | np.isinf(loss))
    away = ((red.direction > 0) & (award < red.upper)) | ((red.direction < 0) & (award > red.lower))
    inside |= _cheapest(loss, open_ & away)
    return inside if int(inside.sum()) <= count // 2 else None


def _cheapest(loss: FloatArray, among: BoolArray) -> BoolArray:
    """The (at most) :data:`_KERNEL` claims ``among`` with the smallest ``loss``, ties by index."""
    index = np.flatnonzero(among)
    order = index[np.argsort(loss[index], kind="stable")][:_KERNEL]
    out = np.zeros(loss.shape[0], dtype=bool)
    out[order] = True
    return out


def _search(
    ctx: Context,
    within: _Phase,
    held: list[tuple[IntArray, int]],
    cost: IntArray | None,
    phase: str,
    *,
    hint: IntArray | None = None,
    workers: int | None = None,
    deterministic_limit: float | None = None,
    time_limit: float | None = None,
) -> cpsat.Result:
    """One CP-SAT search within a phase's bounds: maximise ``cost`` (none: any allocation),
    every ``coef·x >= value`` of ``held`` kept, hinted with ``hint`` or the phase's own."""
    model = cpsat.build(ctx.problem, within.lower, within.upper)
    ctx.searched[phase] = int(model.index.shape[0])
    for coef, value in held:
        expr, const = model.linear(coef)
        model.cp.add(expr >= value - const)
    offset = 0
    if cost is not None:
        expr, offset = model.linear(cost)
        model.cp.maximize(expr)
    model.set_hint(hint if hint is not None else within.hint)
    result = cpsat.solve(
        model,
        ctx.settings,
        time_limit=ctx.remaining() if time_limit is None else time_limit,
        workers=workers,
        deterministic_limit=deterministic_limit,
        offset=offset,
        progress=ctx.progress if cost is not None else None,
        phase=phase,
    )
    ctx.phases.append((phase, result.seconds))
    return result


__all__ = ["canonical_pick", "priority_cpsat"]
