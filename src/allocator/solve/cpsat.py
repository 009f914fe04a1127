"""CP-SAT models of an allocation problem: build, solve, explain.

:func:`build` turns a :class:`~allocator.model.problem.Problem`, or one phase of it with tighter
bounds, into a CP-SAT model: one integer variable per claim, one linear constraint per family
row (named after the row's label, so a solver log or an infeasibility core points at the
clause), booleans for the no-duplicate groups (``x <= upper·b``, ``Σb <= 1``) and for the
all-or-nothing items (``x = upper·b``). Claims whose bounds meet are folded into constants, so a
phase that leaves a few hundred claims open builds a model of that size, not of the whole city.

The fairness rules (:mod:`allocator.solve.rules`) decide what to maximise; this module only builds,
solves (:func:`solve`) and explains infeasibility (:func:`explain_infeasible`).
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from allocator.core import interrupt
from allocator.model.limits import MAX_LINEAR
from allocator.model.problem import (
    ALL_OR_NOTHING,
    NO_DUPLICATE,
    IntArray,
    Problem,
    ProgressFn,
    SolverSettings,
    Status,
)

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
}


def claim_labels(problem: Problem, index: IntArray | None = None) -> list[str]:
    """One readable label per variable (or per variable of ``index``):
    ``recipient_id/clause_id/item_key``.

    Falls back to the variable's index when the claims table lacks those columns (as small
    hand-made problems in tests do).
    """
    rows = np.arange(problem.size) if index is None else np.asarray(index, dtype=np.int64)
    cols = ("recipient_id", "clause_id", "item_key")
    claims = problem.claims
    if len(claims) == problem.size and all(c in claims.columns for c in cols):
        parts = [claims[c].iloc[rows].astype(str).tolist() for c in cols]
        return ["/".join(p) for p in zip(*parts, strict=True)]
    return [str(i) for i in rows.tolist()]


@dataclass
class Literal:
    """An enforcement literal standing for one constraint row in an explaining model."""

    label: str
    family: str
    var: cp_model.IntVar


@dataclass
class Model:
    """A CP-SAT model of a problem phase.

    Attributes
    ----------
    cp:
        The CP-SAT model.
    lower, upper:
        Bounds per problem variable used to build it (full length).
    index:
        Problem variable index of each model variable, ascending; claims whose bounds meet are
        constants and have no model variable.
    x:
        Model variables, aligned with ``index``.
    literals:
        Enforcement literals, one per row, group and all-or-nothing item; empty unless built
        with ``explain=True``.
    """

    cp: cp_model.CpModel
    lower: IntArray
    upper: IntArray
    index: IntArray
    x: list[cp_model.IntVar]
    literals: list[Literal] = field(default_factory=list)

    def linear(self, coef: IntArray) -> tuple[cp_model.LinearExprT, int]:
        """``Σ coef·x`` over the model variables, and its constant part over the folded claims."""
        fixed = np.ones(self.lower.shape[0], dtype=bool)
        fixed[self.index] = False
        const = int(np.dot(coef[fixed], self.lower[fixed]))
        expr = cp_model.LinearExpr.weighted_sum(self.x, coef[self.index].tolist())
        return expr, const

    def full(self, values: Sequence[int] | IntArray) -> IntArray:
        """A full-length award vector from values of the model variables."""
        out = self.lower.copy()
        out[self.index] = np.asarray(values, dtype=np.int64)
        return out

    def set_hint(self, award: IntArray) -> None:
        """Replace the solution hint with ``award`` (full length)."""
        self.cp.clear_hints()  # type: ignore[no-untyped-call]
        for var, value in zip(self.x, award[self.index].tolist(), strict=True):
            self.cp.add_hint(var, value)


def build(
    problem: Problem,
    lower: IntArray | None = None,
    upper: IntArray | None = None,
    *,
    explain: bool = False,
) -> Model:
    """Build the CP-SAT model of ``problem`` with awards in ``[lower, upper]``.

    Parameters
    ----------
    problem:
        The allocation problem.
    lower, upper:
        Bounds per variable; default ``0`` and ``problem.upper``. An all-or-nothing claim must
        either be fixed (``lower == upper``) or span ``[0, problem.upper]``.
    explain:
        Give every row, exclusive group and all-or-nothing item an enforcement literal, for
        :func:`explain_infeasible`.

    Returns
    -------
    Model
        The model, with no objective.
    """
    n = problem.size
    lo = np.zeros(n, dtype=np.int64) if lower is None else np.asarray(lower, dtype=np.int64)
    hi = problem.upper.astype(np.int64) if upper is None else np.asarray(upper, dtype=np.int64)
    if lo.shape != (n,) or hi.shape != (n,) or bool((lo > hi).any()):
        raise ValueError("bounds must be two vectors of the problem's size with lower <= upper")
    aon = problem.all_or_nothing.astype(bool)
    free = lo < hi
    bad_aon = aon & free & ((lo != 0) | (hi != problem.upper))
    if bad_aon.any():
        raise ValueError(
            f"all-or-nothing claim {int(np.flatnonzero(bad_aon)[0])} must be fixed or span "
            "[0, upper]"
        )
    cp = cp_model.CpModel()
    index = np.flatnonzero(free).astype(np.int64)
    x = [
        cp.new_int_var(a, b, f"x[{i}]")
        for i, a, b in zip(index.tolist(), lo[index].tolist(), hi[index].tolist(), strict=True)
    ]
    pos = np.full(n, -1, dtype=np.int64)
    pos[index] = np.arange(index.shape[0], dtype=np.int64)
    model = Model(cp=cp, lower=lo, upper=hi, index=index, x=x)
    zero = cp.new_constant(0)

    def literal(label: str, family: str) -> cp_model.IntVar | None:
        if not explain:
            return None
        var = cp.new_bool_var(f"enforce[{label}]")
        model.literals.append(Literal(label=label, family=family, var=var))
        return var

    def constrain(ct: cp_model.Constraint, label: str, lit: cp_model.IntVar | None) -> None:
        ct.with_name(label)
        if lit is not None:
            ct.only_enforce_if(lit)

    for fam in problem.families:
        for label, row, rhs in zip(fam.labels, fam.members, fam.rhs.tolist(), strict=True):
            members = np.unique(np.asarray(row, dtype=np.int64))
            p = pos[members]
            open_ = p >= 0
            bound = int(rhs) - int(lo[members[~open_]].sum())
            lit = literal(label, fam.name)
            terms = [x[j] for j in p[open_].tolist()]
            expr = cp_model.LinearExpr.sum(terms) if terms else zero
            ct = cp.add(expr <= bound) if fam.sense == "<=" else cp.add(expr >= bound)
            constrain(ct, label, lit)

    # An all-or-nothing claim needs a row when it is open, or fixed at neither 0 nor its claim.
    constrained = np.flatnonzero(aon & (free | ((lo != 0) & (lo != problem.upper))))
    if constrained.shape[0]:
        labels = claim_labels(problem, constrained)
        for i, name in zip(constrained.tolist(), labels, strict=True):
            label = f"{ALL_OR_NOTHING}[{name}]"
            full_u = int(problem.upper[i])
            if pos[i] >= 0:
                lit = literal(label, ALL_OR_NOTHING)
                b = cp.new_bool_var(f"paid[{i}]")
                constrain(cp.add(x[pos[i]] == full_u * b), label, lit)
            elif int(lo[i]) not in (0, full_u):
                lit = literal(label, ALL_OR_NOTHING)
                constrain(cp.add(zero >= 1), label, lit)

    for members, label in zip(problem.exclusive, problem.exclusive_labels, strict=True):
        can_pay = members[hi[members] > 0]
        if can_pay.shape[0] <= 1:
            continue  # nobody to exclude: the group cannot bind
        lit = literal(label, NO_DUPLICATE)
        paid: list[cp_model.IntVar] = []
        already = 0
        for j in can_pay.tolist():
            if pos[j] < 0:
                already += 1  # fixed at a positive amount
                continue
            b = cp.new_bool_var(f"chosen[{j}]")
            cp.add(x[pos[j]] <= int(hi[j]) * b).with_name(label)
            if lo[j] > 0:
                cp.add(b == 1).with_name(label)
            paid.append(b)
        expr = cp_model.LinearExpr.sum(paid) if paid else zero
        constrain(cp.add(expr <= 1 - already), label, lit)
        open_members = can_pay[pos[can_pay] >= 0]
        if already == 0 and open_members.shape[0] > 1:
            # The same rule in the awards alone, Σ x/upper <= 1 scaled to integers: implied
            # by the booleans, but CP-SAT's presolve turns ``x <= upper·b`` into "b = 0 implies
            # x = 0", whose linear relaxation lets every member reach its upper bound at once.
            # With this row the relaxation is HiGHS's, whose bound proves the optimum of the
            # random instances in docs/solvers.md at once.
            scale = share_scale(hi[open_members])
            coef = (scale // hi[open_members]).tolist()
            terms = [x[j] for j in pos[open_members].tolist()]
            share = cp_model.LinearExpr.weighted_sum(terms, coef)
            constrain(cp.add(share <= scale), label, lit)
    return model


#: Largest scale of a no-duplicate group's share row (see :func:`share_scale`).
SHARE_SCALE_MAX = 1 << 31


def share_scale(upper: IntArray) -> int:
    """The ``K`` of a group's share row ``Σ floor(K/upper)·x <= K``.

    The row holds for any ``K`` (one member is paid, at most its upper bound, so the left side
    is at most ``floor(K/upper)·upper <= K``); it is exactly ``Σ x/upper <= 1`` when ``K`` is a
    multiple of every upper bound. That is the least common multiple, unless it exceeds
    :data:`SHARE_SCALE_MAX`; then the row is looser by at most ``upper/K`` per member.
    """
    scale = 1
    for u in sorted(set(upper.tolist())):
        scale = math.lcm(scale, u)
        if scale > SHARE_SCALE_MAX:
            return SHARE_SCALE_MAX
    return scale


@dataclass
class Result:
    """Outcome of one CP-SAT solve.

    ``award`` is the full-length award vector (``None`` without a solution); ``objective`` and
    ``bound`` include the constant part of the objective over the folded claims.
    """

    status: Status
    award: IntArray | None
    objective: float
    bound: float
    seconds: float
    stats: dict[str, float] = field(default_factory=dict)


class _Reporter(cp_model.CpSolverSolutionCallback):
    """Forwards every improving solution to the caller's progress function."""

    def __init__(self, progress: ProgressFn, phase: str, offset: float) -> None:
        super().__init__()
        self._progress = progress
        self._phase = phase
        self._offset = offset

    def on_solution_callback(self) -> None:
        self._progress(
            self._phase,
            self.objective_value + self._offset,
            self.best_objective_bound + self._offset,
        )


def _log_to_stderr(line: str) -> None:
    # stdout carries results; the solver's log goes where progress goes.
    print(line, file=sys.stderr)


def run_solver(
    solver: cp_model.CpSolver,
    cp: cp_model.CpModel,
    callback: cp_model.CpSolverSolutionCallback | None = None,
) -> cp_model.CpSolverStatus:
    """``solver.solve(cp, callback)``, which Ctrl-C stops at once, as a KeyboardInterrupt.

    CP-SAT's own SIGINT handler is turned off (``catch_sigint_signal``): with it, Ctrl-C only
    ends the search, which then returns its best allocation as if the time limit had run out,
    and SIGINT is left at the system's default action afterwards, so that a later Ctrl-C kills
    the process without any clean-up. Instead the search runs in a thread of its own while
    the main thread, where Python raises KeyboardInterrupt, waits for it; on Ctrl-C the main
    thread stops the search, waits until it has stopped (a process that exits while CP-SAT
    still runs aborts) and raises the KeyboardInterrupt again.

    Every CP-SAT solve of the package goes through here.
    """
    solver.parameters.catch_sigint_signal = False
    outcome: list[cp_model.CpSolverStatus] = []
    failure: list[BaseException] = []
    # A plain lock, released when the search ends: waiting on it can be interrupted without
    # harm, where an interrupted Thread.join may take a running thread for finished.
    finished = threading.Lock()
    finished.acquire()

    def search() -> None:
        try:
            outcome.append(solver.solve(cp, callback))
        except BaseException as exc:  # raised again in the caller's thread
            failure.append(exc)
        finally:
            finished.release()

    thread = threading.Thread(target=search, name="cp-sat", daemon=True)
    try:
        with interrupt.held():  # a Ctrl-C while the thread starts is acted on once it runs
            thread.start()
        while not finished.acquire(timeout=0.1):
            pass
    except KeyboardInterrupt:
        with interrupt.held():  # a second Ctrl-C must not leave the search running
            # stop_search does nothing until the search has begun: ask until it has ended.
            while thread.is_alive():
                solver.stop_search()
                finished.acquire(timeout=0.05)
        raise
    if failure:
        raise failure[0]
    return outcome[0]


def solve(
    model: Model,
    settings: SolverSettings,
    *,
    time_limit: float,
    workers: int | None = None,
    deterministic_limit: float | None = None,
    offset: int = 0,
    progress: ProgressFn | None = None,
    phase: str = "solve",
) -> Result:
    """Solve ``model`` with the scenario's CP-SAT settings.

    Parameters
    ----------
    model:
        The model, with its objective (if any) and hint already set.
    settings:
        Workers and seed come from here unless ``workers`` overrides them.
    time_limit:
        Wall-clock seconds for this solve.
    workers:
        Override of ``settings.workers`` (the canonical phase runs on one worker).
    deterministic_limit:
        Limit in CP-SAT's deterministic time units, which, unlike wall time, does not depend
        on the machine's speed or load.
    offset:
        Constant part of the objective, added to what ``progress`` and the result report.
    progress, phase:
        Called as ``progress(phase, incumbent, bound)`` on every improving solution.

    Returns
    -------
    Result
    """
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = workers if workers is not None else settings.workers
    params.random_seed = settings.seed
    params.max_time_in_seconds = max(time_limit, 1e-3)
    if deterministic_limit is not None:
        params.max_deterministic_time = deterministic_limit
    if settings.log_progress:
        params.log_search_progress = True
        params.log_to_stdout = False
        solver.log_callback = _log_to_stderr
    reporter = _Reporter(progress, phase, float(offset)) if progress is not None else None
    start = time.perf_counter()
    code = run_solver(solver, model.cp, reporter)
    seconds = time.perf_counter() - start
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT rejected the {phase} model: {model.cp.validate()}")
    status = _STATUS[code]
    award: IntArray | None = None
    objective = bound = float("nan")
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        solution = np.fromiter(solver.response_proto.solution, dtype=np.int64)
        award = model.full(solution[[v.index for v in model.x]])
        if model.cp.has_objective():
            objective = solver.objective_value + offset
            bound = solver.best_objective_bound + offset
    stats = {
        "wall_time": solver.wall_time,
        "deterministic_time": solver.deterministic_time,
        "conflicts": float(solver.num_conflicts),
        "branches": float(solver.num_branches),
    }
    return Result(status, award, objective, bound, seconds, stats)


@dataclass
class Conflict:
    """A set of constraints that cannot all hold, found by :func:`explain_infeasible`.

    ``status`` is ``INFEASIBLE`` when the set is proven, ``OPTIMAL`` when the model turned out
    feasible (no conflict), ``UNKNOWN`` when the time limit ran out first.
    """

    status: Status
    labels: list[str]
    families: list[str]


def explain_infeasible(
    problem: Problem,
    settings: SolverSettings,
    *,
    lower: IntArray | None = None,
    upper: IntArray | None = None,
    time_limit: float = 10.0,
    shrink_up_to: int = 40,
) -> Conflict:
    """Find constraint rows that together make ``problem`` infeasible.

    Every row, exclusive group and all-or-nothing item gets an enforcement literal; CP-SAT is
    asked to satisfy the model assuming them all, and on failure reports a subset of the
    assumptions that suffices for infeasibility. Bounds (claims) are never assumptions: they
    always hold. When the subset is small it is shrunk further by dropping one literal at a
    time, so the caller can name a handful of clauses rather than the whole policy.

    Assumptions need a single worker and no objective, so this solve ignores
    ``settings.workers``.

    Parameters
    ----------
    problem, settings:
        The problem and the scenario's solver settings (seed, logging).
    lower, upper:
        Optional bounds, as for :func:`build`.
    time_limit:
        Wall-clock seconds for the whole search.
    shrink_up_to:
        Shrink the core by deletion only when it has at most this many literals.

    Returns
    -------
    Conflict
    """
    deadline = time.perf_counter() + time_limit
    model = build(problem, lower, upper, explain=True)
    lits = model.literals

    def infeasible_with(subset: list[int]) -> tuple[Status, list[int]]:
        model.cp.clear_assumptions()
        model.cp.add_assumptions([lits[k].var for k in subset])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = settings.seed
        solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 1e-3)
        code = run_solver(solver, model.cp)
        if code == cp_model.INFEASIBLE:
            by_index = {lit.var.index: k for k, lit in enumerate(lits)}
            core = sorted(by_index[i] for i in solver.sufficient_assumptions_for_infeasibility())
            return Status.INFEASIBLE, core
        return _STATUS.get(code, Status.UNKNOWN), []

    status, core = infeasible_with(list(range(len(lits))))
    if status is not Status.INFEASIBLE:
        return Conflict(Status.UNKNOWN if status is Status.UNKNOWN else Status.OPTIMAL, [], [])
    if len(core) <= shrink_up_to:
        k = 0
        while k < len(core) and time.perf_counter() < deadline:
            trial = core[:k] + core[k + 1 :]
            verdict, smaller = infeasible_with(trial)
            if verdict is Status.INFEASIBLE:
                # The solver's own core of the trial may be smaller still.
                core = smaller if smaller else trial
            else:
                k += 1
    labels = [lits[k].label for k in core]
    families = sorted({lits[k].family for k in core})
    return Conflict(Status.INFEASIBLE, labels, families)


__all__ = [
    "MAX_LINEAR",
    "Conflict",
    "Literal",
    "Model",
    "ProgressFn",
    "Result",
    "build",
    "claim_labels",
    "explain_infeasible",
    "run_solver",
    "solve",
]
