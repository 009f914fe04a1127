"""The priority model solved by HiGHS: a second engine, and a cross-check of CP-SAT.

This module builds the *same* priority model as ``allocator.solve.cpsat`` as a mixed-integer program
and hands it to HiGHS. With ``solver: highs`` (``allocate run --solver highs``)
``allocator.solve.rules`` solves every priority phase with :func:`solve_bounded` (the priority rule,
and the whole-万元 remainder of a level rule, each within per-claim bounds); without it,
:func:`solve_priority` confirms CP-SAT's priority objective with an independent solver and
:func:`lp_relaxation` reads the bound of the LP relaxation.

The model, with one integer column ``x[i]`` per variable of the :class:`Problem` whose bounds
leave it a choice (a claim with ``lower[i] == upper[i]`` is a constant, folded into the rows):

* ``lower[i] <= x[i] <= upper[i]``, integer (by default ``0`` and the claim);
* every row of every :class:`Family`: ``sum(x[members]) <= rhs`` (or ``>=`` for floors);
* a binary ``b[i]`` for each variable that is all-or-nothing or in an exclusive group, with
  ``x[i] = upper[i] * b[i]`` (all-or-nothing) or ``x[i] <= upper[i] * b[i]`` (otherwise), and
  ``sum(b[group]) <= 1`` for every exclusive group (less one for a member fixed at a positive
  amount; a group with fewer than two members that can be paid has no row);
* phase 1 maximises ``sum(weight * x)``;
* phase 2 (the tie-break) keeps ``sum(weight * x)`` at the phase-1 optimum and maximises
  ``sum((n - rank) * x)``, as ``allocator.solve.rules`` does, so that lower ranks are served first
  where the weights leave a choice.

The matrix is assembled column-wise from numpy index arrays; nothing loops over variables in
Python.

OR-Tools bundles HiGHS as ``libhighs.so.1``; highspy loads its own library under the same name,
and the dynamic loader keeps whichever comes first. The two work in one process only because
pyproject.toml pins highspy to the HiGHS release OR-Tools bundles.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy
import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Rule
from allocator.model.problem import Allocation, IntArray, Problem, SolverSettings, Status
from allocator.solve.highs_model import HighsModel, build_model, frozen_by, violated_rows

if TYPE_CHECKING:
    from allocator.model.problem import ProgressFn

FloatArray = npt.NDArray[np.float64]

_INF = highspy.kHighsInf

# Objectives are integers (integer weights and ranks times integer awards), so a gap below 1
# already proves optimality. HiGHS's default relative gap (1e-4) would stop early: on a
# weighted objective of 10^8 it accepts a solution 10^4 short of the optimum.
_MIP_REL_GAP = 0.0
_MIP_ABS_GAP = 0.5

# HiGHS's presolve is off for the MIP and on for the LP relaxation, as measured with HiGHS 1.12
# on random_problem() instances (benchmarks/baselines.py). On the MIP, presolve removes about
# 5 % of the model yet takes most of the run and does not check the time limit: at 100 000
# claims the MIP took 51 s with it and 20 s without; at 500 000 phase 1 took 190 s without it;
# on the tie-break model of 30 000 claims (its row fixing the priority optimum is dense)
# presolve ran 84 s past a 10 s limit where the whole phase takes 2 s without it. The pure LP
# is the other way round: 176 s with presolve at 500 000 claims, unfinished after 600 s
# without. (Interior point without crossover took 39 s but lands up to 0.07 below the LP
# optimum, which is no bound; with crossover it took 498 s.)
_MIP_PRESOLVE = "off"
_LP_PRESOLVE = "on"

# A phase is not started with less time than this: HiGHS would stop before its first LP.
_MIN_PHASE_S = 0.05


def _log_to_stderr(event: highspy.highs.HighsCallbackEvent) -> None:
    sys.stderr.write(event.message)


def _new_highs(model: HighsModel, settings: SolverSettings, mip: bool) -> highspy.Highs:
    """A HiGHS instance holding the priority model (phase-1 objective), log off unless asked."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", settings.log_progress)
    if settings.log_progress:
        # stdout carries results; the solver's log goes where progress goes, as CP-SAT's does.
        # (A logging callback replaces HiGHS's console output.)
        highs.cbLogging.subscribe(_log_to_stderr)
    highs.setOptionValue("threads", settings.workers)
    highs.setOptionValue("random_seed", settings.seed)
    highs.setOptionValue("mip_rel_gap", _MIP_REL_GAP)
    highs.setOptionValue("mip_abs_gap", _MIP_ABS_GAP)
    highs.setOptionValue("presolve", _MIP_PRESOLVE if mip else _LP_PRESOLVE)
    integrality = np.full(model.num_col, 1 if mip else 0, dtype=np.int32)
    passed = highs.passModel(
        model.num_col,
        model.num_row,
        int(model.a_index.shape[0]),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        model.col_cost,
        model.col_lower,
        model.col_upper,
        model.row_lower,
        model.row_upper,
        model.a_start,
        model.a_index,
        model.a_value,
        integrality,
    )
    if passed == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the priority model")  # pragma: no cover
    return highs


@dataclass
class _Run:
    """Outcome of one HiGHS run."""

    seconds: float
    status: Status
    highs_status: str
    objective: float
    bound: float
    nodes: int
    x: FloatArray | None


def _run(
    highs: highspy.Highs,
    time_limit_s: float,
    progress: ProgressFn | None = None,
    phase: str = "",
    offset: float = 0.0,
) -> _Run:
    """Run HiGHS for at most ``time_limit_s`` seconds (at least :data:`_MIN_PHASE_S`).

    ``progress(phase, incumbent, bound)`` hears of every improving solution, with ``offset``
    (the objective's part over the fixed claims) added to both figures.
    """
    # HiGHS 1.12 measures its time limit on a clock that runs on over every run of one
    # instance: a later phase's limit counts from the time already spent.
    highs.setOptionValue("time_limit", highs.getRunTime() + max(time_limit_s, _MIN_PHASE_S))
    callback = highs.cbMipImprovingSolution
    if progress is not None:

        def report(event: highspy.highs.HighsCallbackEvent) -> None:
            bound = float(event.data_out.mip_dual_bound)
            if math.isfinite(bound):  # no bound before the first LP: nothing to show yet
                progress(
                    phase, float(event.data_out.objective_function_value) + offset, bound + offset
                )

        callback.subscribe(report)
    started = time.perf_counter()
    try:
        highs.run()
    finally:
        # HiGHS keeps one worker pool per process, sized by the first run; a later run asking
        # for another thread count fails unless the pool is released first.
        highspy.Highs.resetGlobalScheduler(True)
        if progress is not None:
            callback.clear()
    seconds = time.perf_counter() - started
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = Status.OPTIMAL
    elif model_status in (
        highspy.HighsModelStatus.kInfeasible,
        # Every column is bounded, so "unbounded or infeasible" can only be infeasible.
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        status = Status.INFEASIBLE
    elif info.primal_solution_status == highspy.kSolutionStatusFeasible:
        status = Status.FEASIBLE  # stopped by the time limit (or another limit) with a solution
    else:
        status = Status.UNKNOWN
    x = None
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        x = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        bound = float(info.mip_dual_bound)
        if progress is not None and math.isfinite(bound):
            # The phase's last word, also when its start was already optimal (no callback).
            progress(phase, float(info.objective_function_value) + offset, bound + offset)
    return _Run(
        seconds=seconds,
        status=status,
        highs_status=highs.modelStatusToString(model_status),
        objective=float(info.objective_function_value),
        bound=float(info.mip_dual_bound),
        nodes=int(info.mip_node_count),
        x=x,
    )


@functools.cache
def engine_name() -> str:
    """The engine and its version as runs name it: ``HiGHS 1.12.0``."""
    return f"HiGHS {highspy.Highs().version()}"


@dataclass
class Solution:
    """Outcome of the HiGHS phases on one problem within bounds (:func:`solve_bounded`).

    Attributes
    ----------
    status:
        ``OPTIMAL`` when phase 1 and, if asked for, the tie-break were both proven optimal;
        ``FEASIBLE`` when a time limit stopped one with an award in hand; ``INFEASIBLE``;
        ``UNKNOWN`` when no award was found, or rounding HiGHS's values to whole 万元 broke a
        row (``details["rounding_broke"]`` names the rows).
    award:
        The whole award vector (fixed claims at their bound), ``None`` without one.
    objective:
        ``Σ weight·award`` over every claim, NaN without an award.
    bound:
        HiGHS's dual bound on the same sum from phase 1 (``mip_dual_bound``); NaN when
        infeasible or when no run took place.
    phases:
        ``("build", s)``, ``("priority", s)``, ``("tie_break", s)``, as far as they ran.
    details:
        HiGHS's status and node count of each phase, the tie-break objective
        ``Σ (n − rank)·award``.
    """

    status: Status
    award: IntArray | None
    objective: float
    bound: float
    phases: list[tuple[str, float]] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)


def solve_bounded(
    problem: Problem,
    settings: SolverSettings,
    *,
    lower: IntArray | None = None,
    upper: IntArray | None = None,
    time_limit_s: float | None = None,
    tie_break: bool = True,
    start: IntArray | None = None,
    progress: ProgressFn | None = None,
    phase: str = "priority",
) -> Solution:
    """Maximise ``Σ weight·x`` over ``lower <= x <= upper`` with HiGHS, then ``Σ (n − rank)·x``.

    The two phases of ``allocator.solve.rules``' priority solve: phase 1 the weights, phase 2 the
    rank tie-break with ``Σ weight·x`` held at the phase-1 optimum.

    Parameters
    ----------
    problem:
        The allocation problem.
    settings:
        ``workers`` sets HiGHS's ``threads``, ``seed`` its ``random_seed``; ``log_progress``
        turns HiGHS's log on.
    lower, upper:
        Bounds per variable; default 0 and ``problem.upper``. An all-or-nothing claim must be
        fixed at 0 or its claim, or span ``[0, claim]``.
    time_limit_s:
        Wall-clock seconds for both phases together, building included; default
        ``settings.time_limit_s``.
    tie_break:
        Run phase 2 after a proven phase-1 optimum.
    start:
        A full award vector to start phase 1 from (used only if it meets every row).
    progress, phase:
        ``progress(phase, incumbent, bound)`` on every improving solution, in weight × 万元
        for phase 1 and in tie-break units for ``f"{phase}:tie-break"``.

    Returns
    -------
    Solution
    """
    _, solution = _solve(
        problem,
        settings,
        lower=lower,
        upper=upper,
        time_limit_s=time_limit_s,
        tie_break=tie_break,
        start=start,
        progress=progress,
        phase=phase,
    )
    return solution


def _solve(
    problem: Problem,
    settings: SolverSettings,
    *,
    lower: IntArray | None,
    upper: IntArray | None,
    time_limit_s: float | None,
    tie_break: bool,
    start: IntArray | None,
    progress: ProgressFn | None,
    phase: str,
) -> tuple[HighsModel, Solution]:
    started = time.perf_counter()
    limit = settings.time_limit_s if time_limit_s is None else time_limit_s
    deadline = started + limit
    model = build_model(problem, lower, upper)
    phases: list[tuple[str, float]] = [("build", time.perf_counter() - started)]
    details: dict[str, object] = {}
    weight = problem.weight.astype(np.int64)
    nan = math.nan

    if model.n == 0:
        # Nothing left to choose: the bounds are the award, if it meets every row.
        award = model.lower.copy()
        if violated_rows(problem, model, award):
            return model, Solution(Status.INFEASIBLE, None, nan, nan, phases, details)
        value = float(weight @ award)
        return model, Solution(Status.OPTIMAL, award, value, value, phases, details)

    highs = _new_highs(model, settings, mip=True)
    if start is not None:
        # HiGHS checks a given solution and keeps it as incumbent only if it is feasible.
        highs.setSolution(
            model.num_col, np.arange(model.num_col, dtype=np.int32), model.columns(start)
        )
    offset = model.constant(weight)
    first = _run(highs, deadline - time.perf_counter(), progress, phase, offset)
    phases.append(("priority", first.seconds))
    details["priority_status"] = first.highs_status
    details["priority_nodes"] = first.nodes
    if first.x is None:
        bound = nan if first.status is Status.INFEASIBLE else first.bound + offset
        return model, Solution(first.status, None, nan, bound, phases, details)

    status = first.status
    award = model.full(first.x)
    if tie_break and status is Status.OPTIMAL:
        remaining = deadline - time.perf_counter()
        if remaining < _MIN_PHASE_S:
            details["tie_break_status"] = "not run: no time left"
            status = Status.FEASIBLE
        else:
            second = _tie_break_phase(
                highs, problem, model, award, first.x, remaining, progress, phase
            )
            phases.append(("tie_break", second.seconds))
            details["tie_break_status"] = second.highs_status
            details["tie_break_nodes"] = second.nodes
            if second.x is not None:
                award = model.full(second.x)
                details["tie_break_objective"] = int((problem.size - problem.rank) @ award)
            if second.status is not Status.OPTIMAL:
                status = Status.FEASIBLE

    broken = violated_rows(problem, model, award)
    if broken:
        details["rounding_broke"] = broken
        status = Status.UNKNOWN
    objective = float(weight @ award)
    return model, Solution(status, award, objective, first.bound + offset, phases, details)


def _tie_break_phase(
    highs: highspy.Highs,
    problem: Problem,
    model: HighsModel,
    award: IntArray,
    start: FloatArray,
    time_limit_s: float,
    progress: ProgressFn | None,
    phase: str,
) -> _Run:
    """Phase 2 on the phase-1 model: keep the priority optimum, serve lower ranks first."""
    columns = np.arange(model.n, dtype=np.int32)
    weight = problem.weight[model.index]
    best = int(weight @ award[model.index])
    # sum(weight * x) is an integer, so ">= best - 0.5" is ">= best" with room for HiGHS's
    # feasibility tolerance.
    highs.addRow(best - 0.5, _INF, model.n, columns, weight.astype(np.float64))
    tie = (problem.size - problem.rank).astype(np.int64)
    highs.changeColsCost(model.n, columns, tie[model.index].astype(np.float64))
    # Phase 1's optimum is feasible here: start from it, so that a time limit still leaves an
    # allocation with the optimal priority objective.
    highs.setSolution(start.shape[0], np.arange(start.shape[0], dtype=np.int32), start)
    offset = model.constant(tie)
    return _run(highs, time_limit_s, progress, f"{phase}:tie-break", offset)


def solve_priority(
    problem: Problem, settings: SolverSettings, *, tie_break: bool = True
) -> Allocation:
    """Solve the priority model with HiGHS.

    Parameters
    ----------
    problem:
        The allocation problem.
    settings:
        ``time_limit_s`` bounds both phases together; ``workers`` sets HiGHS's ``threads``,
        ``seed`` its ``random_seed``; ``log_progress`` turns HiGHS's log on.
    tie_break:
        Run phase 2, the tie-break by ``rank``, after a proven phase-1 optimum. Without it the
        award is whichever phase-1 optimum HiGHS returns: enough to check the objective, not
        to compare award vectors.

    Returns
    -------
    Allocation
        ``objective`` is ``sum(weight * award)`` of the award returned (NaN when none was
        found) and ``best_bound`` HiGHS's dual bound on it (``mip_dual_bound`` of phase 1;
        NaN when infeasible). ``status`` is ``OPTIMAL`` only when phase 1 and, if asked for,
        the tie-break were both proven optimal. ``frozen_by`` explains the award as
        ``allocator.solve.rules`` does; ``levels`` is NaN. ``details`` holds the HiGHS version, the
        HiGHS status and node count of each phase, the tie-break objective and, should
        rounding HiGHS's values to whole 万元 ever break a row, the rows broken (the status
        is then ``UNKNOWN``).
    """
    model, solution = _solve(
        problem,
        settings,
        lower=None,
        upper=None,
        time_limit_s=None,
        tie_break=tie_break,
        start=None,
        progress=None,
        phase="priority",
    )
    award = solution.award if solution.award is not None else np.zeros(problem.size, np.int64)
    has_award = solution.status in (Status.OPTIMAL, Status.FEASIBLE)
    return Allocation(
        award=award,
        status=solution.status,
        rule=Rule.PRIORITY,
        objective=solution.objective,
        best_bound=solution.bound,
        levels=np.full(problem.size, np.nan),
        frozen_by=frozen_by(problem, model, award) if has_award else [""] * problem.size,
        phases=solution.phases,
        details={"solver": engine_name(), **solution.details},
    )


def lp_relaxation(problem: Problem, settings: SolverSettings | None = None) -> tuple[float, float]:
    """Bound of the priority objective from the LP relaxation of the priority model.

    Every integer column, binaries included, is relaxed to its bounds; an exclusive group
    then reads ``sum(x[i] / upper[i]) <= 1``.

    Parameters
    ----------
    problem:
        The allocation problem.
    settings:
        Threads, seed and time limit, as for :func:`solve_priority`; defaults when omitted.

    Returns
    -------
    tuple[float, float]
        The optimal LP objective (an upper bound on ``sum(weight * award)``; ``-inf`` when
        even the relaxation is infeasible, NaN when HiGHS stopped without an answer) and the
        wall-clock seconds, building the model included.
    """
    settings = settings or SolverSettings()
    started = time.perf_counter()
    model = build_model(problem)
    if problem.size == 0:
        feasible = not violated_rows(problem, model, np.zeros(0, dtype=np.int64))
        return (0.0 if feasible else -math.inf), time.perf_counter() - started
    highs = _new_highs(model, settings, mip=False)
    run = _run(highs, settings.time_limit_s)
    seconds = time.perf_counter() - started
    if run.status is Status.OPTIMAL:
        return run.objective, seconds
    if run.status is Status.INFEASIBLE:
        return -math.inf, seconds
    return math.nan, seconds


__all__ = ["Solution", "engine_name", "lp_relaxation", "solve_bounded", "solve_priority"]
