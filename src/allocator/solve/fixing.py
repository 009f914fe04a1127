"""Reduced-cost fixing: shrink a priority phase to the claims it can still change.

A priority phase maximises ``c·x`` over whole-万元 awards ``x`` within ``[lower, upper]``
subject to linear rows, all-or-nothing items and no-duplicate groups. At 100,000 firms most
of its claims are settled before any search: they are paid in full, or not at all, in every
optimal allocation. This module finds them, and proves it, so that CP-SAT sees only the rest.

The proof is Lagrangian duality, checked in exact integer arithmetic. For any multipliers
``y ≥ 0`` on rows written as ``a·x ≤ b``, and any ``x`` meeting those rows,

    c·x ≤ y·b + (c − Aᵀy)·x ≤ y·b + Σᵢ max(rᵢ·lowerᵢ, rᵢ·upperᵢ) =: Z(y),   r = c − Aᵀy.

So ``Z(y)`` bounds the phase's optimum whatever ``y`` is; all-or-nothing items and
no-duplicate groups only shrink the feasible set, so the bound holds for the whole model.
Moving claim ``i`` from the bound its reduced cost ``rᵢ`` prefers by ``δᵢ`` (one 万元, or the
whole claim for an all-or-nothing item) lowers the bound by ``|rᵢ|·δᵢ``; when that falls
below the value ``v`` of a known allocation (the *incumbent*), no allocation as good as the
incumbent, and so no optimal one, moves claim ``i``: it is fixed at its preferred bound. And
when ``Z(y) < v + 1`` the incumbent itself is optimal (objectives are integers).

HiGHS's LP relaxation supplies ``y`` (its row duals); they are rounded to multiples of
``2**-k`` and everything after that is integer arithmetic, so the fixing and the optimality
proof never rest on a floating-point tolerance: a poor ``y`` only fixes fewer claims.
(Reduced-cost fixing is textbook integer programming, e.g. Nemhauser and Wolsey, *Integer and
Combinatorial Optimization*, 1988, I.2.3; the exact check of a float dual is Neumaier and
Shcherbina, *Safe bounds in linear and mixed-integer programming*, Math. Prog. 99, 2004.)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from allocator.model.problem import BoolArray, Family, IntArray, Problem
from allocator.solve import cpsat
from allocator.solve.group_bound import group_entries, payable_groups

FloatArray = npt.NDArray[np.float64]

#: Largest denominator exponent of the rounded multipliers.
_MAX_SCALE_BITS = 40
#: Reduced costs ``c·D − Aᵀ(y·D)`` are kept below this, so int64 holds them exactly.
_INT_ROOM = float(2**61)
#: The blocks' objective is kept below this, so CP-SAT's bound (a double) is an exact integer.
_CPSAT_ROOM = float(2**52)
#: How far below a whole number an LP value may be and still round up to it.
_LP_TOLERANCE = 1e-6
#: A row with at most this many open claims is kept whole in the blocks, not relaxed.
_SMALL_ROW = 8
#: More linked claims than this and no row is kept: one CP-SAT model of the blocks would no
#: longer be small.
_BLOCK_LIMIT = 20_000
#: CP-SAT's work limit on the blocks (deterministic time, so the bound does not depend on
#: the machine's load); when it runs out, the bound proven so far is used.
_BLOCK_WORK = 2.0


@dataclass(frozen=True)
class _Rows:
    """Linear rows ``Σ coef·x[var] <= rhs`` in coordinate form: entry ``p`` is in ``row[p]``."""

    row: IntArray
    var: IntArray
    coef: IntArray
    rhs: IntArray

    @property
    def count(self) -> int:
        return int(self.rhs.shape[0])

    def plus(self, coef: IntArray, rhs: int) -> _Rows:
        """These rows and one more, ``coef·x <= rhs`` (dense ``coef``; zeros are dropped)."""
        var = np.flatnonzero(coef).astype(np.int64)
        return _Rows(
            row=np.concatenate([self.row, np.full(var.shape[0], self.count, dtype=np.int64)]),
            var=np.concatenate([self.var, var]),
            coef=np.concatenate([self.coef, coef[var].astype(np.int64)]),
            rhs=np.concatenate([self.rhs, np.array([rhs], dtype=np.int64)]),
        )


def _problem_rows(problem: Problem) -> _Rows:
    """The family rows of ``problem`` as ``a·x <= b``: caps as they are, floors negated."""
    matrix = problem.rows
    sign = np.where(matrix.is_cap, 1, -1).astype(np.int64)
    return _Rows(
        row=matrix.row,
        var=matrix.var,
        coef=sign[matrix.row],
        rhs=sign * matrix.rhs,
    )


@dataclass(frozen=True)
class Reduction:
    """What :func:`reduce` proved.

    Attributes
    ----------
    lower, upper:
        The bounds with every fixed claim's bounds met (full length); every allocation at
        least as good as the incumbent lies within them.
    bound:
        An upper bound on the phase's objective (``None`` when the LP gave no multipliers).
    proven:
        The incumbent is optimal: ``bound`` equals its value.
    fixed:
        Claims fixed here (their bounds were apart on entry and meet now).
    seconds:
        Wall-clock seconds, the LP and the blocks' solve included.
    loss:
        Per claim, what moving it off its preferred bound costs the bound (``|r|·δ``, in
        objective units, as a float); ``inf`` for claims in blocks and for fixed ones, ``nan``
        when there was no bound. The smaller, the likelier an optimum moves it.
    direction:
        Per claim, the sign of its reduced cost: 1 where the bound prefers it at its upper
        bound, -1 at its lower, 0 where indifferent or unknown.
    better:
        The LP's solution rounded down to an allocation, when it meets every row, item and
        group and is worth more than the incumbent given; the fixing and ``proven`` are then
        against it.
    incumbent:
        The value the fixing was proven against (the given incumbent's, or ``better``'s).
    """

    lower: IntArray
    upper: IntArray
    bound: int | None
    proven: bool
    fixed: int
    seconds: float
    loss: FloatArray
    direction: npt.NDArray[np.int8]
    better: IntArray | None = None
    incumbent: int | None = None


def reduce(
    problem: Problem,
    cost: IntArray,
    lower: IntArray,
    upper: IntArray,
    incumbent: int,
    *,
    held: Sequence[tuple[IntArray, int]] = (),
    time_limit: float,
    seed: int = 0,
    complete: Callable[[IntArray, IntArray], IntArray] | None = None,
) -> Reduction:
    """Fix the claims that no allocation worth at least ``incumbent`` can move.

    Parameters
    ----------
    problem:
        The problem: its rows, all-or-nothing items and no-duplicate groups.
    cost:
        The objective ``c`` (integers), maximised.
    lower, upper:
        Bounds per claim (``0 <= lower``); an all-or-nothing claim spans ``[0, claim]`` or is
        fixed.
    incumbent:
        ``c·x`` of an allocation within the bounds that meets every row, item and group, and
        every row of ``held``.
    held:
        _Rows ``coef·x >= value`` besides the problem's: the optima of earlier phases.
    time_limit:
        Seconds for the LP and the blocks together; without an answer in time nothing is fixed.
    seed:
        CP-SAT's seed for the blocks (one worker, so the bound does not depend on workers).
    complete:
        ``complete(start, upper)`` raises an allocation that meets every row towards
        ``upper`` without breaking a cap (the greedy from ``start``); applied to the LP
        solution rounded down, whose value may then beat ``incumbent``.

    Returns
    -------
    Reduction
    """
    started = time.perf_counter()
    deadline = started + time_limit
    lo = np.asarray(lower, dtype=np.int64)
    hi = np.asarray(upper, dtype=np.int64)
    aon = problem.all_or_nothing.astype(bool)
    groups = problem.exclusive
    rows = _problem_rows(problem)
    families = rows.count  # the problem's own rows come first, then the held ones
    for coef, value in held:
        rows = rows.plus(-coef, -value)

    given = incumbent

    def unchanged() -> Reduction:
        nan = np.full(lo.shape[0], np.nan)
        none = np.zeros(lo.shape[0], dtype=np.int8)
        seconds = time.perf_counter() - started
        return Reduction(lo, hi, None, False, 0, seconds, nan, none, None, given)

    solved = _lp_duals(rows, cost, lo, hi, groups, time_limit, vertex=bool(held))
    if solved is None:
        return unchanged()
    duals, relaxed = solved
    # The LP's solution rounded to whole 万元 is often better than the incumbent where the
    # rows cross (on the crossing family the greedy stays far from the optimum): the better
    # of the two is what the fixing is proven against.
    better = _rounded(rows, relaxed, cost, lo, hi, aon, groups)
    if better is not None and complete is not None:
        better = complete(better, hi)
        if not _meets(rows, better):
            better = None
    if better is not None and int(np.dot(cost, better)) > incumbent:
        incumbent = int(np.dot(cost, better))
    else:
        better = None
    linked, kept = _blocks(rows, lo, hi, groups)
    # HiGHS gives a cap of a maximisation a non-negative dual; a stray negative is clipped
    # (any y >= 0 gives a valid bound). _Rows kept in the blocks need no multiplier.
    y = np.where(kept, 0.0, np.maximum(duals, 0.0))
    scaled = _reduced_costs(rows, cost, y)
    if scaled is None:
        return unchanged()
    scale, y_scaled, reduced = scaled
    z = sum(int(a) * int(b) for a, b in zip(y_scaled.tolist(), rows.rhs.tolist(), strict=True))
    # Too many linked claims for one CP-SAT model of the blocks: every row is relaxed, and
    # the no-duplicate groups are bounded one by one in closed form instead.
    grouped = None if linked.any() else group_entries(groups, lo, hi)
    single = ~linked
    if grouped is not None:
        single[grouped.member] = False
        z += grouped.bound(reduced, hi, aon)
    at = np.where(reduced > 0, hi, lo)
    z += int(np.sum(reduced[single].astype(object) * at[single].astype(object)))
    if linked.any():
        held_kept = [row for row, keep in zip(held, kept[families:], strict=True) if keep]
        block = _block_bound(
            problem,
            kept[:families],
            held_kept,
            reduced,
            lo,
            hi,
            linked,
            deadline - time.perf_counter(),
            seed,
        )
        if block is None:
            return unchanged()
        z += block
    bound = z // scale  # objectives are integers: the optimum is at most floor(Z)
    # Moving an unlinked claim off its preferred bound by δ (one 万元, or the whole claim of an
    # all-or-nothing item) lowers Z by |r|·δ; fix it when that exceeds the slack Z − v.
    step = np.where(aon & (lo == 0), hi - lo, 1)
    movable = single & (lo < hi)
    loss = np.where(movable, np.abs(reduced).astype(np.float64) * step / scale, np.inf)
    slack = z - incumbent * scale
    exact_loss = np.abs(reduced).astype(object) * step.astype(object)
    fix = movable & (reduced != 0) & np.asarray(exact_loss > slack, dtype=bool)
    new_lo = np.where(fix & (reduced > 0), hi, lo)
    new_hi = np.where(fix & (reduced < 0), lo, hi)
    direction = np.sign(reduced).astype(np.int8)
    fixed = int(fix.sum())
    if grouped is not None:
        fixed += grouped.fix(reduced, hi, aon, slack, scale, new_lo, new_hi, loss, direction)
    seconds = time.perf_counter() - started
    proven = bound <= incumbent
    return Reduction(
        new_lo, new_hi, int(bound), proven, fixed, seconds, loss, direction, better, incumbent
    )


def _lp_duals(
    rows: _Rows,
    cost: IntArray,
    lower: IntArray,
    upper: IntArray,
    groups: Sequence[IntArray],
    time_limit: float,
    vertex: bool,
) -> tuple[FloatArray, FloatArray] | None:
    """Duals of ``rows`` in the LP relaxation ``max c·x, A x <= b, lower <= x <= upper``,
    and its solution.

    Each no-duplicate group adds its share row ``Σ floor(K/claim)·x <= K``
    (:func:`cpsat.share_scale`), without which the relaxation would ignore the group. HiGHS's
    interior point method, presolve off: on a tie-break phase, whose row holding the first
    optimum is dense, the dual simplex took seconds and its presolve minutes at 100,000
    claims, where this takes a fraction of a second. Crossover (``vertex``) only where a row
    holds an earlier optimum: rounded down and filled greedily, an interior solution then
    falls short of that row, a vertex rarely does; without such a row the greedy fill makes
    up what rounding lost, and crossover would more than triple the time (100,000 claims of
    the crossing family: 2.6 s without, 9.1 s with, the same bound and incumbent).
    """
    shares = payable_groups(groups, upper)
    full = rows
    if shares:
        scales = [cpsat.share_scale(upper[m]) for m in shares]
        full = _Rows(
            row=np.concatenate(
                [rows.row]
                + [
                    np.full(m.shape[0], rows.count + g, dtype=np.int64)
                    for g, m in enumerate(shares)
                ]
            ),
            var=np.concatenate([rows.var, *shares]),
            coef=np.concatenate(
                [rows.coef] + [k // upper[m] for k, m in zip(scales, shares, strict=True)]
            ),
            rhs=np.concatenate([rows.rhs, np.asarray(scales, dtype=np.int64)]),
        )
    solved = _solve_lp(full, cost, lower, upper, time_limit, vertex)
    return None if solved is None else (solved[0][: rows.count], solved[1])


def _solve_lp(
    rows: _Rows,
    cost: IntArray,
    lower: IntArray,
    upper: IntArray,
    time_limit: float,
    vertex: bool,
) -> tuple[FloatArray, FloatArray] | None:
    """Row duals and the solution (full length) of ``max c·x, A x <= b, lower <= x <= upper``
    by HiGHS, or ``None``; with ``vertex``, crossover takes the solution to a vertex."""
    free = lower < upper
    index = np.flatnonzero(free)
    if index.shape[0] == 0 or rows.count == 0:
        return np.zeros(rows.count), lower.astype(np.float64)
    pos = np.full(lower.shape[0], -1, dtype=np.int64)
    pos[index] = np.arange(index.shape[0], dtype=np.int64)
    open_ = free[rows.var]
    fixed_part = np.bincount(
        rows.row[~open_],
        weights=(rows.coef[~open_] * lower[rows.var[~open_]]).astype(np.float64),
        minlength=rows.count,
    )
    row = rows.row[open_]
    col = pos[rows.var[open_]]
    order = np.lexsort((row, col))
    start = np.zeros(index.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=index.shape[0]), out=start[1:])

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", 0)
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("run_crossover", "on" if vertex else "off")
    highs.setOptionValue("time_limit", max(time_limit, 0.05))
    passed = highs.passModel(
        int(index.shape[0]),
        rows.count,
        int(row.shape[0]),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        cost[index].astype(np.float64),
        lower[index].astype(np.float64),
        upper[index].astype(np.float64),
        np.full(rows.count, -highspy.kHighsInf),
        rows.rhs.astype(np.float64) - fixed_part,
        start.astype(np.int32),
        row[order].astype(np.int32),
        rows.coef[open_][order].astype(np.float64),
        np.zeros(index.shape[0], dtype=np.int32),
    )
    if passed == highspy.HighsStatus.kError:
        return None
    try:
        highs.run()
    finally:
        # HiGHS keeps one worker pool per process; see highs._run.
        highspy.Highs.resetGlobalScheduler(True)
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = highs.getSolution()
    duals = np.asarray(solution.row_dual, dtype=np.float64)
    if duals.shape[0] != rows.count or not np.isfinite(duals).all():
        return None
    x = lower.astype(np.float64)
    x[index] = np.asarray(solution.col_value, dtype=np.float64)
    return duals, x


def _rounded(
    rows: _Rows,
    relaxed: FloatArray,
    cost: IntArray,
    lower: IntArray,
    upper: IntArray,
    aon: BoolArray,
    groups: Sequence[IntArray],
) -> IntArray | None:
    """The LP solution ``relaxed`` made an allocation, or ``None`` if that breaks a row.

    Each award rounded down (to 0 for an all-or-nothing item short of its claim), and in
    each no-duplicate group only the member adding most to ``c·x`` kept; lowering awards
    keeps every cap, and the result is checked against every row exactly.
    """
    x = np.clip(np.floor(relaxed + _LP_TOLERANCE).astype(np.int64), lower, upper)
    x = np.where(aon & (x < upper), lower, x)
    if groups:
        member = np.concatenate(list(groups)).astype(np.int64)
        group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        gain = np.where(x[member] > 0, cost[member] * x[member], -1)
        order = np.lexsort((member, -gain, group))
        first = np.ones(order.shape[0], dtype=bool)
        first[1:] = group[order][1:] != group[order][:-1]
        x[member[order][~first]] = 0
        if bool((x < lower).any()):
            return None
    return x if _meets(rows, x) else None


def _meets(rows: _Rows, x: IntArray) -> bool:
    """Whether ``x`` meets every row, in exact integers."""
    sums = np.zeros(rows.count, dtype=np.int64)
    np.add.at(sums, rows.row, rows.coef * x[rows.var])
    return not bool((sums > rows.rhs).any())


def _blocks(
    rows: _Rows, lower: IntArray, upper: IntArray, groups: Sequence[IntArray]
) -> tuple[BoolArray, BoolArray]:
    """Which claims are linked into blocks, and which rows are kept in them.

    Small rows (at most :data:`_SMALL_ROW` open members) and the no-duplicate groups are kept
    whole; their open claims are *linked*. Other rows are relaxed with multipliers. When the
    linked claims are too many for one small model, every row is relaxed and the groups are
    dropped (a valid bound still, a weaker one).
    """
    n = lower.shape[0]
    open_ = lower < upper
    entries = np.bincount(rows.row[open_[rows.var]], minlength=rows.count)
    kept = (entries > 0) & (entries <= _SMALL_ROW)
    linked = np.zeros(n, dtype=bool)
    linked[rows.var[kept[rows.row]]] = True
    for members in payable_groups(groups, upper):
        linked[members] = True
    linked &= open_
    if int(linked.sum()) > _BLOCK_LIMIT:
        return np.zeros(n, dtype=bool), np.zeros(rows.count, dtype=bool)
    return linked, kept


def _reduced_costs(
    rows: _Rows, cost: IntArray, y: FloatArray
) -> tuple[int, IntArray, IntArray] | None:
    """``D``, ``y·D`` rounded, and ``r·D = c·D − Aᵀ(y·D)``, exactly in int64.

    ``D = 2**k`` is as fine as int64 allows (at most ``2**40``).
    """
    weighted = np.abs(rows.coef).astype(np.float64) * y[rows.row]
    size = np.abs(cost).astype(np.float64)
    np.add.at(size, rows.var, weighted)
    largest = float(size.max(initial=1.0))
    if not math.isfinite(largest):
        return None
    bits = min(_MAX_SCALE_BITS, math.floor(math.log2(_INT_ROOM / max(largest, 1.0))))
    if bits < 0:
        return None
    scale = 1 << bits
    y_scaled = np.rint(y * scale).astype(np.int64)
    reduced = cost.astype(np.int64) * scale
    np.subtract.at(reduced, rows.var, rows.coef * y_scaled[rows.row])
    return scale, y_scaled, reduced


def _block_bound(
    problem: Problem,
    kept: BoolArray,
    held: Sequence[tuple[IntArray, int]],
    reduced: IntArray,
    lower: IntArray,
    upper: IntArray,
    linked: BoolArray,
    time_limit: float,
    seed: int,
) -> int | None:
    """An upper bound on ``Σ r·x`` over the linked claims, exact as CP-SAT proves it.

    One CP-SAT model (:func:`cpsat.build` of the problem with its kept rows alone, every
    claim outside the blocks fixed, and the kept ``held`` rows ``coef·x >= value``) holds
    every block; they share nothing, so its optimum is the sum of theirs. Its coefficients
    are ``r`` divided by ``s = 2**j`` and rounded up, so that CP-SAT's integers hold them; as
    awards are non-negative, ``s`` times its bound bounds the true sum. Returns ``None`` when
    CP-SAT finds no bound in time.
    """
    index = np.flatnonzero(linked)
    r = reduced[index]
    total = float(np.dot(np.abs(r).astype(np.float64), upper[index].astype(np.float64)))
    shift = max(0, math.ceil(math.log2(max(total, 1.0) / _CPSAT_ROOM)) + 1)
    step = 1 << shift
    coef = np.zeros(linked.shape[0], dtype=np.int64)
    coef[index] = -((-r) // step)  # ceil(r / step)

    blocks = dataclasses.replace(problem, families=_kept_families(problem, kept))
    model = cpsat.build(blocks, lower, np.where(linked, upper, lower))
    for row, value in held:
        expr, const = model.linear(row)
        model.cp.add(expr >= value - const)
    objective, _ = model.linear(coef)  # no constant: every fixed claim's coefficient is 0
    model.cp.maximize(objective)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    # One worker's default search keeps the bound of its first relaxation: with the full
    # linear relaxation (cuts included) it proves the blocks of the random instances of
    # benchmarks/baselines.py in hundredths of a second, where it stalled for seconds.
    solver.parameters.linearization_level = 2
    solver.parameters.max_time_in_seconds = max(time_limit, 1e-3)
    solver.parameters.max_deterministic_time = _BLOCK_WORK
    code = cpsat.run_solver(solver, model.cp)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return step * math.ceil(float(solver.best_objective_bound))


def _kept_families(problem: Problem, kept: BoolArray) -> list[Family]:
    """The problem's families with only the rows ``kept`` (numbered as :func:`_problem_rows`)."""
    out = []
    start = 0
    for fam in problem.families:
        keep = np.flatnonzero(kept[start : start + len(fam.labels)])
        start += len(fam.labels)
        if keep.shape[0]:
            out.append(
                Family(
                    fam.name,
                    fam.clause_id,
                    [fam.labels[k] for k in keep],
                    [fam.members[k] for k in keep],
                    fam.rhs[keep],
                    fam.sense,
                )
            )
    return out


__all__ = ["Reduction", "reduce"]
