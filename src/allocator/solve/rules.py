"""Fairness rules: how a budget too small for every claim is shared (see docs/fairness.md).

Five rules, chosen by the scenario:

``priority``
    Maximise ``Σ weight·x``; among the optima, maximise ``Σ (n − rank)·x``, which weighs lower
    ranks more (strictly first under nested caps; see docs/fairness.md for when not).
``proportional`` (按比例核减)
    Cut every claim by the same ratio: ``x = floor(r·c)`` with ``r`` as large as allowed.
``equal_awards`` (constrained equal awards)
    ``x = min(c, λ)``.
``equal_losses`` (constrained equal losses)
    ``x = max(0, c − λ)``.
``talmud`` (Aumann–Maschler)
    Equal awards on the half-claims, then equal losses on the other halves.

The four level rules share one engine: each is a monotone, integer-valued target ``t(L)`` of an
integer level ``L``, raised by progressive filling until every claim is frozen by a constraint
row or paid in full; the whole-万元 remainders then go by priority. The level is found by exact
vectorised bisection, never by a max-min CP-SAT model, because the latter does not scale (see
the speed section of docs/fairness.md). CP-SAT decides what needs search: the priority rule
when its constraints are not a simple nest of caps, the remainder when it is not either, and
the explanation of infeasibility.

The claim ``c`` a rule shares is the variable's ``upper`` (the claim less what the provincial
rule withholds).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Engine, Rule
from allocator.model.limits import MAX_PROPORTIONAL_CLAIM
from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FUND_CAP,
    SUB_BUDGET,
    Allocation,
    BoolArray,
    IntArray,
    Problem,
    ProgressFn,
    SolverSettings,
    Status,
)
from allocator.solve import cpsat, fixing, highs

FloatArray = npt.NDArray[np.float64]

# Families whose per-row levels are worth reporting; firm caps are too many to list.
_REPORTED_FAMILIES = (FUND_CAP, SUB_BUDGET, DISTRICT_CAP, DISTRICT_FLOOR)


# --------------------------------------------------------------------------- constraint rows


@dataclass(frozen=True)
class _Rows:
    """Constraint rows of one sense in coordinate form: pair ``p`` puts ``var[p]`` in ``row[p]``.

    Rows keep the order of ``problem.families`` (then of their labels), so "the first row" is
    well defined and never depends on hashing.
    """

    labels: list[str]
    families: list[str]
    rhs: IntArray
    row: IntArray
    var: IntArray

    @property
    def count(self) -> int:
        return len(self.labels)

    def sums(self, values: IntArray) -> IntArray:
        """Per-row sum of ``values`` over the row's members."""
        return _bincount(self.row, values[self.var], self.count)

    def concat(self, other: _Rows) -> _Rows:
        return _Rows(
            labels=self.labels + other.labels,
            families=self.families + other.families,
            rhs=np.concatenate([self.rhs, other.rhs]),
            row=np.concatenate([self.row, other.row + self.count]),
            var=np.concatenate([self.var, other.var]),
        )


def _bincount(index: IntArray, values: IntArray, length: int) -> IntArray:
    # float64 sums are exact below 2**53; allocate() checks the total claim is far below that.
    out = np.bincount(index, weights=values.astype(np.float64), minlength=length)
    return np.rint(out).astype(np.int64)


def _collect_rows(problem: Problem, sense: str) -> _Rows:
    labels: list[str] = []
    families: list[str] = []
    rhs: list[int] = []
    rows: list[IntArray] = []
    variables: list[IntArray] = []
    for fam in problem.families:
        if fam.sense != sense:
            continue
        for label, members, bound in zip(fam.labels, fam.members, fam.rhs.tolist(), strict=True):
            k = len(labels)
            labels.append(label)
            families.append(fam.name)
            rhs.append(int(bound))
            members = np.unique(np.asarray(members, dtype=np.int64))
            rows.append(np.full(members.shape[0], k, dtype=np.int64))
            variables.append(members)
    empty = np.zeros(0, dtype=np.int64)
    return _Rows(
        labels=labels,
        families=families,
        rhs=np.asarray(rhs, dtype=np.int64),
        row=np.concatenate(rows) if rows else empty,
        var=np.concatenate(variables) if variables else empty,
    )


def _laminar_heights(rows: _Rows, use: BoolArray) -> IntArray | None:
    """Height of each row in its containment forest, or ``None`` if the rows cross.

    Only pairs with ``use`` count (claims still open). A family of sets is laminar (any two are
    nested or disjoint) exactly when, listing each variable's rows from the smallest up, every
    member of a row agrees on which row comes next: that row is then the row's parent.
    Rows without an open member get height ``-1``.
    """
    row = rows.row[use]
    var = rows.var[use]
    size = np.bincount(row, minlength=rows.count)
    order = np.lexsort((row, size[row], var))
    r = row[order]
    v = var[order]
    nxt = np.full(r.shape[0], -1, dtype=np.int64)
    if r.shape[0] > 1:
        same = v[1:] == v[:-1]
        nxt[:-1][same] = r[1:][same]
    lo = np.full(rows.count, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(rows.count, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lo, r, nxt)
    np.maximum.at(hi, r, nxt)
    present = size > 0
    if bool((lo[present] != hi[present]).any()):
        return None
    parent = np.where(present, lo, -1)
    height = np.where(present, 0, -1).astype(np.int64)
    child = np.flatnonzero(present & (parent >= 0))
    for _ in range(rows.count):
        if child.shape[0] == 0:
            break
        before = height.copy()
        np.maximum.at(height, parent[child], height[child] + 1)
        if np.array_equal(before, height):
            break
    return height


def _var_rows(rows: _Rows, n: int) -> tuple[list[int], list[int]]:
    """Rows of each variable as CSR lists (``ptr``, ``rows``) for the sequential greedy."""
    order = np.lexsort((rows.row, rows.var))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows.var, minlength=n), out=ptr[1:])
    return ptr.tolist(), rows.row[order].tolist()


@dataclass
class _Context:
    """Everything a rule needs, built once per call."""

    problem: Problem
    settings: SolverSettings
    progress: ProgressFn | None
    deadline: float
    packing: _Rows
    covering: _Rows
    ptr: list[int]
    var_rows: list[int]
    phases: list[tuple[str, float]] = field(default_factory=list)
    #: Claims open in each CP-SAT search, by phase: what reduced-cost fixing left to search.
    searched: dict[str, int] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()


# --------------------------------------------------------------------------- priority


@dataclass
class _Solved:
    """Outcome of a priority solve (the priority rule, or a level rule's remainder)."""

    award: IntArray | None
    status: Status
    objective: float
    bound: float
    method: str
    canonical: bool = True
    conflict: cpsat.Conflict | None = None


def _tie_break(problem: Problem) -> IntArray:
    """Distinct positive coefficients, larger for lower rank: rank 0 gets ``n``, the last 1."""
    return (problem.size - problem.rank).astype(np.int64)


def _greedy(ctx: _Context, lower: IntArray, upper: IntArray) -> IntArray:
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


def _is_polymatroid(ctx: _Context, lower: IntArray, upper: IntArray) -> bool:
    """True when the greedy is exact for these bounds (see :func:`_greedy`)."""
    problem = ctx.problem
    free = lower < upper
    if bool((problem.all_or_nothing & free).any()):
        return False
    if ctx.covering.count and bool((ctx.covering.sums(lower) < ctx.covering.rhs).any()):
        return False  # a floor the lower bounds do not already meet
    if any(int((upper[m] > 0).sum()) > 1 for m in problem.exclusive):
        return False
    return _laminar_heights(ctx.packing, free[ctx.packing.var]) is not None


def _solve_priority(
    ctx: _Context, lower: IntArray, upper: IntArray, phase: str, *, explain: bool = True
) -> _Solved:
    """Maximise ``Σ weight·x`` over ``[lower, upper]``, then ``Σ (n − rank)·x``.

    The engine of ``ctx.settings.solver``. CP-SAT: the exact greedy on a polymatroid, else
    three phases (weights; rank tie-break; a canonical single-worker search of the optimal
    face, see docs/fairness.md), the same whatever the number of workers. HiGHS: always its
    own branch and bound, weights then tie-break, never the greedy, so that a run with
    ``--solver highs`` checks the default engine's answer independently (docs/solvers.md).
    Infeasibility is explained by CP-SAT either way.
    """
    problem = ctx.problem
    weight = problem.weight.astype(np.int64)
    residual = ctx.packing.rhs - ctx.packing.sums(lower)
    if bool((residual < 0).any()):
        return _infeasible(ctx, lower, upper, explain)
    given = upper
    upper = _tighten(ctx, lower, upper, residual)
    if ctx.settings.solver == Engine.HIGHS:
        return _priority_highs(ctx, lower, upper, given, phase, explain)
    if _is_polymatroid(ctx, lower, upper):
        start = time.perf_counter()
        award = _greedy(ctx, lower, upper)
        ctx.phases.append((phase, time.perf_counter() - start))
        value = float(np.dot(weight, award))
        if ctx.progress is not None:
            ctx.progress(phase, value, value)
        return _Solved(award, Status.OPTIMAL, value, value, "greedy")
    return _priority_cpsat(ctx, lower, upper, given, phase, explain)


def _priority_highs(
    ctx: _Context, lower: IntArray, upper: IntArray, given: IntArray, phase: str, explain: bool
) -> _Solved:
    """HiGHS phases of :func:`_solve_priority`: the weights, then the rank tie-break.

    HiGHS starts from the greedy vector when it meets every row. Its branch and bound is
    deterministic, so the award is a function of the inputs, seed and thread count.
    """
    problem = ctx.problem
    weight = problem.weight.astype(np.int64)
    hint = _greedy(ctx, lower, upper)
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
        return _infeasible(ctx, lower, given, explain)
    if solution.award is None or solution.status is Status.UNKNOWN:
        if bool((ctx.covering.sums(hint) >= ctx.covering.rhs).all()):
            # The greedy start meets every row: a feasible answer, just not a proven one.
            value = int(np.dot(weight, hint))
            return _Solved(hint, Status.FEASIBLE, value, solution.bound, "greedy", False)
        nan = float("nan")
        return _Solved(None, Status.UNKNOWN, nan, solution.bound, "highs")
    best = int(np.dot(weight, solution.award))
    if solution.status is Status.OPTIMAL:
        return _Solved(solution.award, Status.OPTIMAL, best, best, "highs")
    return _Solved(solution.award, Status.FEASIBLE, best, solution.bound, "highs", False)


def _engine_name(engine: Engine) -> str:
    """The engine and its version, as ``result.json`` names it under ``solver.solver``."""
    if engine == Engine.HIGHS:
        return highs.engine_name()
    return f"CP-SAT {importlib.metadata.version('ortools')}"


def _tighten(ctx: _Context, lower: IntArray, upper: IntArray, residual: IntArray) -> IntArray:
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


def _infeasible(ctx: _Context, lower: IntArray, upper: IntArray, explain: bool) -> _Solved:
    conflict = None
    if explain:
        start = time.perf_counter()
        conflict = cpsat.explain_infeasible(
            ctx.problem,
            ctx.settings,
            lower=lower,
            upper=upper,
            time_limit=max(ctx.remaining(), 1.0),
        )
        ctx.phases.append(("explain", time.perf_counter() - start))
    nan = float("nan")
    return _Solved(None, Status.INFEASIBLE, nan, nan, "cpsat", conflict=conflict)


def _priority_cpsat(
    ctx: _Context, lower: IntArray, upper: IntArray, given: IntArray, phase: str, explain: bool
) -> _Solved:
    """CP-SAT phases of :func:`_solve_priority`; ``given`` are the bounds before tightening,
    used to explain infeasibility in terms of the rows rather than of bounds they imply.

    Each phase first narrows its bounds around a known allocation by reduced-cost fixing
    (:func:`_narrow`); when the known allocation is proven optimal there is no search, and
    otherwise CP-SAT sees only the claims that an optimum may still move.
    """
    problem, settings = ctx.problem, ctx.settings
    weight = problem.weight.astype(np.int64)
    tie = _tie_break(problem)
    hint = _greedy(ctx, lower, upper)
    hint_ok = bool((ctx.covering.sums(hint) >= ctx.covering.rhs).all())

    # Phase 1: the weights.
    first = _Phase(lower, upper, None, hint)
    if hint_ok:
        first = _narrow(ctx, [], weight, lower, upper, hint, phase)
    if first.proven is None:
        result = _search(ctx, first, [], weight, phase)
        if result.status is Status.INFEASIBLE:
            return _infeasible(ctx, lower, given, explain)
        if result.award is None:
            if hint_ok:
                # The greedy start meets every row: a feasible answer, just not a proven one.
                value = int(np.dot(weight, hint))
                return _Solved(hint, Status.FEASIBLE, value, result.bound, "greedy", False)
            nan = float("nan")
            return _Solved(None, Status.UNKNOWN, nan, result.bound, "cpsat")
        if result.status is not Status.OPTIMAL:
            best = int(np.dot(weight, result.award))
            return _Solved(result.award, Status.FEASIBLE, best, result.bound, "cpsat", False)
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
            return _Solved(award, Status.FEASIBLE, best, best, "cpsat", False)
        second = dataclasses.replace(second, proven=result.award, hint=result.award)
    award = second.proven if second.proven is not None else second.hint
    tie_best = int(np.dot(tie, award))
    if award is hint:
        # The greedy allocation, proven optimal without a search: a function of the inputs
        # already, whatever the number of workers.
        return _Solved(award, Status.OPTIMAL, best, best, "bound")

    # Phase 3: distinct tie-break coefficients do not make the optimum unique when the caps
    # cross (two firms x two clauses can swap awards at equal cost), and parallel workers may
    # stop at different optima. One worker, a deterministic work limit and a hint computed
    # from the inputs make the final pick a function of the inputs and the seed alone. Its
    # bounds are one fixing of the phase's bounds against each optimum, which are the same for
    # any number of workers, so the model it searches is too.
    canonical = f"{phase}:canonical"
    redo = not (first.direct and first.value_used == best)
    if redo:
        first = _narrow(
            ctx, [], weight, lower, upper, optimum, f"{canonical}:weights", kernel=False
        )
    if redo or not (second.direct and second.value_used == tie_best):
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
        return _Solved(award, Status.FEASIBLE, best, best, "cpsat", False)
    return _Solved(third.award, Status.OPTIMAL, best, best, "cpsat")


#: When reduced-cost fixing leaves more claims open than this, a first search over the
#: claims likeliest to move (this many, and every claim in a block) improves the known
#: allocation, and the fixing is redone with its better value.
_KERNEL = 2_000


@dataclass
class _Phase:
    """Bounds of one priority phase after narrowing, and what is known inside them.

    ``proven`` is an optimal allocation of the phase when one is known; ``hint`` the start of
    a search (feasible when it came from :func:`_narrow`); ``value_used`` the value the
    fixing was proven against: every allocation worth at least that lies within the bounds.
    ``direct`` is true when the bounds are one fixing of the phase's own bounds against
    ``value_used``: a function of those two alone, which a fixing that followed a kernel
    search (on bounds that depend on the search's luck) is not.
    """

    lower: IntArray
    upper: IntArray
    proven: IntArray | None
    hint: IntArray
    value_used: int | None = None
    direct: bool = True


def _narrow(
    ctx: _Context,
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
            time_limit=max(ctx.remaining() / 4, 0.1),
            seed=ctx.settings.seed,
        )
        seconds += reduction.seconds
        return reduction

    red = reduce(lower, upper, value)
    direct = True
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
            red = reduce(red.lower, red.upper, value)
            direct = False
    ctx.phases.append((f"{phase}:fixing", seconds))
    if red.proven:
        if ctx.progress is not None:
            ctx.progress(phase, float(value), float(value))
        return _Phase(red.lower, red.upper, award, award, value, direct)
    return _Phase(red.lower, red.upper, None, award, value, direct)


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
    ctx: _Context,
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


def _priority_frozen_by(ctx: _Context, award: IntArray) -> list[str]:
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


# --------------------------------------------------------------------------- level rules


class _Level:
    """A level rule as a monotone integer target ``t(L, c)`` of an integer level ``L``.

    ``L`` runs over ``0..lmax``; ``t(0, c) = 0`` and ``t(lmax, c) = c``; one step of ``L``
    raises any target by at most one 万元, so "the next level's target" is at most +1.

    proportional
        ``L/D`` is the ratio, ``D`` a power of two at least ``cmax²``: every step of the
        exact function ``floor(r·c)`` (they start at fractions ``k/c``, at least ``1/cmax²``
        apart) then holds a grid point, so the grid search is exact.
    equal_awards
        ``L`` is ``λ`` in 万元.
    equal_losses
        ``cmax − L`` is the common loss ``λ``.
    talmud
        ``L`` in half-万元 over ``0..2·cmax``: ``min(c, L)`` (equal awards on the half-claims)
        plus ``max(0, c − (2·cmax − L))`` (equal losses on the other halves), halved and
        floored. The first term is full (``c`` half-units = ``c/2`` 万元) before the second
        starts, so this is Aumann–Maschler's rule as one level.
    """

    def __init__(self, rule: Rule, claims: IntArray) -> None:
        self.rule = rule
        self.cmax = int(claims.max()) if claims.shape[0] else 0
        self.shift = 0
        if rule is Rule.PROPORTIONAL:
            if self.cmax > MAX_PROPORTIONAL_CLAIM:
                raise ValueError("claims above 2**20 万元 overflow the exact ratio grid")
            self.shift = max(1, (self.cmax * self.cmax).bit_length())
            self.lmax = 1 << self.shift
        elif rule is Rule.TALMUD:
            self.lmax = 2 * self.cmax
        else:
            self.lmax = self.cmax

    def target(self, level: IntArray, claim: IntArray) -> IntArray:
        if self.rule is Rule.PROPORTIONAL:
            return (level * claim) >> self.shift
        if self.rule is Rule.EQUAL_AWARDS:
            return np.asarray(np.minimum(claim, level), dtype=np.int64)
        if self.rule is Rule.EQUAL_LOSSES:
            return np.asarray(np.maximum(0, claim - (self.cmax - level)), dtype=np.int64)
        half = np.minimum(claim, level) + np.maximum(0, claim - (2 * self.cmax - level))
        return np.asarray(half // 2, dtype=np.int64)

    def display(self, level: IntArray) -> FloatArray:
        """The level in the rule's own unit: ratio, or 万元 (the loss for equal losses)."""
        lv = level.astype(np.float64)
        if self.rule is Rule.PROPORTIONAL:
            return lv / float(self.lmax)
        if self.rule is Rule.EQUAL_LOSSES:
            return float(self.cmax) - lv
        if self.rule is Rule.TALMUD:
            return lv / 2.0
        return lv


def _targets(
    lvl: _Level, level: IntArray, claim: IntArray, lb: IntArray, aon: BoolArray
) -> IntArray:
    t = lvl.target(level, claim)
    # An all-or-nothing claim is paid only once the level reaches all of it.
    t = np.where(aon & (t < claim), 0, t)
    return np.maximum(t, lb)


@dataclass
class _Fill:
    """Result of progressive filling."""

    value: IntArray  # target per variable
    level: IntArray  # level at which it froze (lmax when paid in full or not filled)
    row_level: IntArray  # per row: level at which it froze its members, lmax+1 if never
    by_row: IntArray  # per variable: first row that froze it, -1 if none
    rounds: int
    method: str


def _row_levels(
    lvl: _Level,
    nrows: int,
    prow: IntArray,
    claim: IntArray,
    lb: IntArray,
    aon: BoolArray,
    cap: IntArray | None,
    base: IntArray,
    rhs: IntArray,
    start: IntArray,
) -> IntArray:
    """Per row, the highest level its constraint allows; ``lmax + 1`` if it never binds.

    Row ``k`` holds at level ``L`` when ``base[k] + Σ t(min(L, cap))`` over its pairs is at
    most ``rhs[k]``; the sum is monotone in ``L``, so each row is bisected, all rows at once.
    ``start`` must hold for every row.
    """
    lmax = lvl.lmax

    def total(levels: IntArray) -> IntArray:
        at = levels[prow]
        if cap is not None:
            at = np.minimum(at, cap)
        return base + _bincount(prow, _targets(lvl, at, claim, lb, aon), nrows)

    level = start.copy()
    binding = total(np.full(nrows, lmax, dtype=np.int64)) > rhs
    if bool((binding & (total(start) > rhs)).any()):
        raise RuntimeError("a row is exceeded at the level filling starts from")
    level[~binding] = lmax + 1
    hi = np.full(nrows, lmax, dtype=np.int64)
    search = binding & (hi - level > 1)
    while search.any():
        mid = np.where(search, (level + hi) // 2, level)
        ok = total(mid) <= rhs
        level = np.where(search & ok, mid, level)
        hi = np.where(search & ~ok, mid, hi)
        search &= hi - level > 1
    return level


def _fill(
    ctx: _Context,
    lvl: _Level,
    rows: _Rows,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    phase: str,
) -> _Fill:
    """Progressive filling of the ``active`` variables; the others stay at ``fixed``.

    Raise the common level; when a row would be exceeded by raising further, freeze its open
    members at their current targets; go on with the rest until every claim is frozen or paid.
    Laminar rows (caps nested by firm, district, fund) are solved bottom-up in one pass per
    height; crossing rows by rounds (see :func:`_fill_rounds`). The two give the same result.
    """
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    heights = _laminar_heights(rows, active[rows.var])
    if heights is not None:
        fill = _fill_laminar(ctx, lvl, rows, active, fixed, lb, heights, phase)
    else:
        fill = _fill_rounds(ctx, lvl, rows, active, fixed, lb, phase)
    # Name the first row (in family order) among those that froze at the claim's level.
    match = (
        (fill.row_level[rows.row] == fill.level[rows.var])
        & active[rows.var]
        & (fill.value[rows.var] < claim[rows.var])
    )
    big = np.iinfo(np.int64).max
    by_row = np.full(problem.size, big, dtype=np.int64)
    np.minimum.at(by_row, rows.var[match], rows.row[match])
    fill.by_row = np.where(by_row == big, -1, by_row)
    return fill


def _fill_laminar(
    ctx: _Context,
    lvl: _Level,
    rows: _Rows,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    heights: IntArray,
    phase: str,
) -> _Fill:
    """Bottom-up filling of a laminar family.

    A row's level is computed with each member capped at the level of the smaller rows that
    hold it; a variable freezes at the least level along its chain. This is the progressive
    filling exactly: a smaller row that binds first freezes its members before the larger row
    binds, and a larger row that binds first freezes everything below it at its own level.
    Rows of one height are disjoint, so each height is one vectorised bisection.
    """
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    n = problem.size
    lmax = lvl.lmax
    open_pair = active[rows.var]
    base = _bincount(rows.row[~open_pair], fixed[rows.var[~open_pair]], rows.count)
    prow_all = rows.row[open_pair]
    pvar_all = rows.var[open_pair]
    cap = np.full(n, lmax, dtype=np.int64)
    row_level = np.full(rows.count, lmax + 1, dtype=np.int64)
    top = int(heights.max()) if heights.shape[0] else -1
    for h in range(top + 1):
        in_layer = heights[prow_all] == h
        prow = prow_all[in_layer]
        pvar = pvar_all[in_layer]
        layer, local = np.unique(prow, return_inverse=True)
        level = _row_levels(
            lvl,
            layer.shape[0],
            local,
            claim[pvar],
            lb[pvar],
            aon[pvar],
            cap[pvar],
            base[layer],
            rows.rhs[layer],
            np.zeros(layer.shape[0], dtype=np.int64),
        )
        row_level[layer] = level
        cap[pvar] = np.minimum(cap[pvar], level[local])
        if ctx.progress is not None:
            ctx.progress(phase, float(h + 1), float(top + 1))
    value = np.where(active, _targets(lvl, cap, claim, lb, aon), fixed)
    level_out = np.where(active, cap, lmax)
    empty = np.full(n, -1, dtype=np.int64)
    return _Fill(value, level_out, row_level, empty, top + 1, "laminar")


def _fill_rounds(
    ctx: _Context,
    lvl: _Level,
    rows: _Rows,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    phase: str,
) -> _Fill:
    """Progressive filling for rows that cross (e.g. clause sub-budgets across firm caps).

    Rows bind in the order (level, size, index): when two rows would both be exceeded by the
    next step, the smaller binds first and the larger is checked again without the members
    the smaller froze (the order the laminar pass follows, child before parent). Each round
    computes every row's level as if all its open members kept rising; a row whose
    (level, size, index) is least among all rows it shares an open member with binds exactly
    there, since a frozen member only slows a row down and computed levels never overstate
    when a row binds. All such rows freeze in the same round, which keeps rounds few.
    """
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    n = problem.size
    lmax = lvl.lmax
    never = lmax + 1
    size = np.bincount(rows.row, minlength=rows.count).astype(np.int64)
    open_ = active.copy()
    value = fixed.astype(np.int64).copy()
    level_out = np.full(n, lmax, dtype=np.int64)
    row_level = np.full(rows.count, never, dtype=np.int64)
    start = np.zeros(rows.count, dtype=np.int64)
    rounds = 0
    while open_.any():
        rounds += 1
        open_pair = open_[rows.var]
        base = _bincount(rows.row[~open_pair], value[rows.var[~open_pair]], rows.count)
        prow = rows.row[open_pair]
        pvar = rows.var[open_pair]
        live, local = np.unique(prow, return_inverse=True)
        level = _row_levels(
            lvl,
            live.shape[0],
            local,
            claim[pvar],
            lb[pvar],
            aon[pvar],
            None,
            base[live],
            rows.rhs[live],
            start[live],
        )
        key = size[live] * rows.count + live
        pair_level = level[local]
        pair_key = key[local]
        least = np.full(n, never, dtype=np.int64)
        np.minimum.at(least, pvar, pair_level)
        tied = pair_level == least[pvar]
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, pvar[tied], pair_key[tied])
        behind = ~tied | (pair_key != first[pvar])
        ready = (level < never) & (np.bincount(local, weights=behind, minlength=live.shape[0]) == 0)
        frozen_now = np.zeros(n, dtype=bool)
        frozen_now[pvar[ready[local]]] = True
        paid = open_ & (least == never)  # no row binds: paid in full
        frozen_now &= open_
        at = np.where(paid, lmax, least)
        chosen = frozen_now | paid
        value[chosen] = _targets(lvl, at[chosen], claim[chosen], lb[chosen], aon[chosen])
        level_out[chosen] = at[chosen]
        row_level[live[ready]] = level[ready]
        waiting = ~ready & (level < never)
        start[live[waiting]] = level[waiting]
        if not chosen.any():
            raise RuntimeError("progressive filling made no progress")  # pragma: no cover
        open_ &= ~chosen
        if ctx.progress is not None:
            ctx.progress(phase, float(n - int(open_.sum())), float(n))
    empty = np.full(n, -1, dtype=np.int64)
    return _Fill(value, level_out, row_level, empty, rounds, "rounds")


def _step_starts(
    lvl: _Level, fill: _Fill, rows: _Rows, claim: IntArray, lb: IntArray, aon: BoolArray
) -> IntArray:
    """Per row, the lowest level at which its members already had their frozen targets.

    Filling stops at the highest level a row allows; the targets are the same from the start
    of that step, which is the level a reader expects (λ = 33 for 100 万元 among three equal
    claims, not 33.99). Found per claim by bisection on its own target; a row's step starts
    at the latest start among the members it froze.
    """
    rising = (fill.level < lvl.lmax) & ~aon & (fill.value > lb)
    idx = np.flatnonzero(rising)
    value = fill.value[idx]
    c = claim[idx]
    lo = np.zeros(idx.shape[0], dtype=np.int64)  # target(0) = 0 < value
    hi = fill.level[idx].copy()  # target(hi) = value
    search = hi - lo > 1
    while search.any():
        mid = (lo + hi) // 2
        ok = lvl.target(mid, c) >= value
        hi = np.where(search & ok, mid, hi)
        lo = np.where(search & ~ok, mid, lo)
        search = hi - lo > 1
    own = np.full(claim.shape[0], -1, dtype=np.int64)
    own[idx] = hi
    froze = (fill.row_level[rows.row] == fill.level[rows.var]) & (own[rows.var] >= 0)
    start = np.full(rows.count, -1, dtype=np.int64)
    np.maximum.at(start, rows.row[froze], own[rows.var[froze]])
    return np.where(start >= 0, start, fill.row_level)


def resolve_exclusive(
    problem: Problem, prefer: BoolArray | None = None
) -> tuple[BoolArray, list[str]]:
    """Per exclusive group keep one member (largest claim, then weight, then lower rank).

    ``prefer`` marks members to keep before any other (the member a floor needs, see
    :func:`_allocate_levels`). Returns the mask of excluded variables and, for each, the label
    of the group that excluded it. Groups are taken in their listed order.
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
class _Floors:
    lb: IntArray
    ok: bool
    method: str


def _meet_floors(ctx: _Context, lvl: _Level, participating: BoolArray) -> _Floors:
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
        return _Floors(lb0, True, "none")
    members = np.zeros(n, dtype=bool)
    members[floors.var] = True
    members &= participating
    rows = ctx.packing.concat(floors)
    fill = _fill(ctx, lvl, rows, members, lb0, lb0, "floors")
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
                nxt = _targets(
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
    return _Floors(value, met, fill.method)


def _floors_by_cpsat(ctx: _Context, upper: IntArray) -> IntArray | None:
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


def _allocate_levels(ctx: _Context, rule: Rule) -> Allocation:
    problem = ctx.problem
    n = problem.size
    claim = problem.upper.astype(np.int64)
    aon = problem.all_or_nothing.astype(bool)
    lvl = _Level(rule, claim)
    details: dict[str, object] = {}

    excluded, excluded_by = resolve_exclusive(problem)
    participating = ~excluded
    upper = np.where(excluded, 0, claim)
    details["excluded"] = int(excluded.sum())

    start = time.perf_counter()
    floors = _meet_floors(ctx, lvl, participating)
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
            return _failed(ctx, rule, conflict, details)
        fallback = _floors_by_cpsat(ctx, claim if resettle else upper)
        if fallback is None:
            return _failed(ctx, rule, None, details)
        if resettle:
            # Keep, in each group, the member the floors were met with.
            excluded, excluded_by = resolve_exclusive(problem, prefer=fallback > 0)
            participating = ~excluded
            details["excluded"] = int(excluded.sum())
        lb, floors_method = fallback, "cpsat"
    details["floors"] = floors_method

    start = time.perf_counter()
    fill = _fill(ctx, lvl, ctx.packing, participating, np.zeros(n, dtype=np.int64), lb, "filling")
    ctx.phases.append(("filling", time.perf_counter() - start))
    value = fill.value
    details["filling"] = fill.method
    details["rounds"] = fill.rounds

    # The remainder: a claim stopped by a row may rise to its next level's target (at most
    # +1 万元; all or nothing for an indivisible item) where the rows still have room.
    stopped = participating & (fill.by_row >= 0) & (value < claim)
    nxt = _targets(lvl, np.minimum(fill.level + 1, lvl.lmax), claim, lb, aon)
    ub = np.where(aon & (value == 0), claim, np.minimum(nxt, claim))
    ub = np.where(stopped, np.maximum(ub, value), value)
    solved = _solve_priority(ctx, value, ub, "remainder", explain=False)
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
    start_level = _step_starts(lvl, fill, ctx.packing, claim, lb, aon)
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


def _failed(
    ctx: _Context, rule: Rule, conflict: cpsat.Conflict | None, details: dict[str, object]
) -> Allocation:
    """An allocation of zeros for a problem that is infeasible or could not be solved."""
    n = ctx.problem.size
    status = Status.UNKNOWN
    if conflict is not None and conflict.status is Status.INFEASIBLE:
        status = Status.INFEASIBLE
        details["conflict"] = conflict.labels
        details["conflict_families"] = conflict.families
    nan = float("nan")
    return Allocation(
        award=np.zeros(n, dtype=np.int64),
        status=status,
        rule=rule,
        objective=nan,
        best_bound=nan,
        levels=np.full(n, np.nan),
        frozen_by=[""] * n,
        phases=ctx.phases,
        details=details,
    )


# --------------------------------------------------------------------------- entry point


def allocate(
    problem: Problem,
    rule: Rule,
    settings: SolverSettings,
    *,
    progress: ProgressFn | None = None,
) -> Allocation:
    """Allocate the budget of ``problem`` under ``rule``.

    Parameters
    ----------
    problem:
        The allocation problem (claims, weights, ranks, constraint families).
    rule:
        The fairness rule of the scenario.
    settings:
        CP-SAT settings; ``time_limit_s`` bounds the whole call.
    progress:
        Optional ``progress(phase, incumbent, bound)``: for CP-SAT phases the objective of each
        improving solution and the best bound (weight × 万元); for filling, the layers or
        claims frozen so far and their total.

    Returns
    -------
    Allocation
        Status ``OPTIMAL`` when every CP-SAT phase proved optimality (filling and greedy are
        exact), ``FEASIBLE`` when a time limit stopped one with an allocation in hand,
        ``INFEASIBLE`` (awards zero, ``details["conflict"]`` naming the clashing rows) when the
        constraints cannot all hold, ``UNKNOWN`` when no allocation was found in time.
    """
    if float(problem.upper.sum()) >= 2.0**52:
        raise ValueError("the total claim is too large for exact row sums")
    if bool((problem.upper < 0).any()):
        raise ValueError("upper bounds must be non-negative")
    ctx = _context(problem, settings, progress)
    priority = rule is Rule.PRIORITY
    allocation = _allocate_priority(ctx) if priority else _allocate_levels(ctx, rule)
    allocation.details["solver"] = _engine_name(settings.solver)
    if ctx.searched:
        allocation.details["searched"] = dict(ctx.searched)
    return allocation


def _context(problem: Problem, settings: SolverSettings, progress: ProgressFn | None) -> _Context:
    packing = _collect_rows(problem, "<=")
    ptr, var_rows = _var_rows(packing, problem.size)
    return _Context(
        problem=problem,
        settings=settings,
        progress=progress,
        deadline=time.perf_counter() + settings.time_limit_s,
        packing=packing,
        covering=_collect_rows(problem, ">="),
        ptr=ptr,
        var_rows=var_rows,
    )


def _allocate_priority(ctx: _Context) -> Allocation:
    problem = ctx.problem
    n = problem.size
    claim = problem.upper.astype(np.int64)
    solved = _solve_priority(ctx, np.zeros(n, dtype=np.int64), claim, "priority")
    details: dict[str, object] = {"method": solved.method, "canonical": solved.canonical}
    if solved.award is None:
        return _failed(ctx, Rule.PRIORITY, solved.conflict, details)
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


__all__ = ["allocate", "resolve_exclusive"]
