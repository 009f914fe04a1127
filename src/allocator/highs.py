"""The priority model solved by HiGHS, to cross-check CP-SAT.

The allocation itself is CP-SAT's (``allocator.rules``). This module builds the *same* priority
model as a mixed-integer program and hands it to HiGHS, so that an analyst can confirm the
priority objective with an independent solver, and read the bound of the LP relaxation.

The model, with one integer column ``x[i]`` per variable of the :class:`Problem`:

* ``0 <= x[i] <= upper[i]``, integer;
* every row of every :class:`Family`: ``sum(x[members]) <= rhs`` (or ``>=`` for floors);
* a binary ``b[i]`` for each variable that is all-or-nothing or in an exclusive group, with
  ``x[i] = upper[i] * b[i]`` (all-or-nothing) or ``x[i] <= upper[i] * b[i]`` (otherwise), and
  ``sum(b[group]) <= 1`` for every exclusive group;
* phase 1 maximises ``sum(weight * x)``;
* phase 2 (the tie-break) keeps ``sum(weight * x)`` at the phase-1 optimum and maximises
  ``sum((n - rank) * x)``, as ``allocator.rules`` does, so that lower ranks are served first
  where the weights leave a choice.

The matrix is assembled column-wise from numpy index arrays; nothing loops over variables in
Python.

OR-Tools bundles HiGHS as ``libhighs.so.1``; highspy loads its own library under the same name,
and the dynamic loader keeps whichever comes first. The two work in one process only because
pyproject.toml pins highspy to the HiGHS release OR-Tools bundles.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from allocator.problem import Allocation, IntArray, Problem, Rule, SolverSettings, Status

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

_ALL_OR_NOTHING = "all_or_nothing"


@dataclass(frozen=True)
class _Model:
    """The priority model in HiGHS's column-wise form, with what is needed to explain it.

    Columns ``0..n-1`` are the awards, ``n..n+m-1`` the binaries (one per variable that is
    all-or-nothing or in an exclusive group, in variable order). Rows are the family rows (in
    family order, then row order), then one linking row per binary, then one row per exclusive
    group.
    """

    n: int
    col_cost: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    a_start: npt.NDArray[np.int32]
    a_index: npt.NDArray[np.int32]
    a_value: FloatArray
    # The family rows alone, as (row, variable) pairs, to compute activities of an award.
    family_row: IntArray
    family_var: IntArray
    family_rhs: IntArray
    family_is_cap: npt.NDArray[np.bool_]
    family_labels: list[str]
    # The exclusive groups alone, as (group, variable) pairs.
    group_row: IntArray
    group_var: IntArray

    @property
    def num_col(self) -> int:
        return int(self.col_cost.shape[0])

    @property
    def num_row(self) -> int:
        return int(self.row_lower.shape[0])


def _rows_to_pairs(members: list[IntArray], first_row: int) -> tuple[IntArray, IntArray]:
    """Flatten index arrays into (row, variable) pairs, rows numbered from ``first_row``."""
    if not members:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    lengths = np.fromiter(map(len, members), dtype=np.int64, count=len(members))
    rows = np.repeat(np.arange(first_row, first_row + len(members), dtype=np.int64), lengths)
    variables = np.concatenate(members).astype(np.int64, copy=False)
    return rows, variables


def _build(problem: Problem) -> _Model:
    """Assemble the priority model of ``problem`` (phase-1 objective) for HiGHS."""
    n = problem.size
    upper = problem.upper.astype(np.float64)

    family_rows: list[IntArray] = []
    family_vars: list[IntArray] = []
    rhs_parts: list[IntArray] = []
    cap_parts: list[npt.NDArray[np.bool_]] = []
    labels: list[str] = []
    n_family_rows = 0
    for family in problem.families:
        rows, variables = _rows_to_pairs(family.members, n_family_rows)
        family_rows.append(rows)
        family_vars.append(variables)
        rhs_parts.append(np.asarray(family.rhs, dtype=np.int64))
        cap_parts.append(np.full(len(family.rhs), family.sense == "<=", dtype=np.bool_))
        labels.extend(family.labels)
        n_family_rows += len(family.rhs)
    family_row = np.concatenate([np.zeros(0, np.int64), *family_rows])
    family_var = np.concatenate([np.zeros(0, np.int64), *family_vars])
    family_rhs = np.concatenate([np.zeros(0, np.int64), *rhs_parts])
    family_is_cap = np.concatenate([np.zeros(0, np.bool_), *cap_parts])

    group_row, group_var = _rows_to_pairs(problem.exclusive, 0)

    # One binary per variable that needs one; a variable both all-or-nothing and exclusive
    # shares it, because "positive" and "at its claim" are then the same thing.
    needs_binary = problem.all_or_nothing.astype(np.bool_, copy=True)
    needs_binary[group_var] = True
    flagged = np.flatnonzero(needs_binary).astype(np.int64)
    m = int(flagged.shape[0])
    binary_col = np.full(n, -1, dtype=np.int64)
    binary_col[flagged] = n + np.arange(m, dtype=np.int64)

    # Linking rows x - upper * b <= 0, or = 0 for all-or-nothing.
    link_row = n_family_rows + np.arange(m, dtype=np.int64)
    aon = problem.all_or_nothing[flagged]
    # Exclusive rows sum(b) <= 1.
    first_group_row = n_family_rows + m
    n_groups = len(problem.exclusive)

    rows = np.concatenate([family_row, link_row, link_row, group_row + first_group_row])
    cols = np.concatenate([family_var, flagged, binary_col[flagged], binary_col[group_var]])
    values = np.concatenate(
        [
            np.ones(family_var.shape[0]),
            np.ones(m),
            -upper[flagged],
            np.ones(group_var.shape[0]),
        ]
    )

    num_col = n + m
    # Column-wise (CSC): sort the entries by column, then row, and count entries per column.
    order = np.lexsort((rows, cols))
    a_start = np.zeros(num_col + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=num_col), out=a_start[1:])

    family_lower = np.where(family_is_cap, -_INF, family_rhs.astype(np.float64))
    family_upper = np.where(family_is_cap, family_rhs.astype(np.float64), _INF)
    row_lower = np.concatenate([family_lower, np.where(aon, 0.0, -_INF), np.full(n_groups, -_INF)])
    row_upper = np.concatenate([family_upper, np.zeros(m), np.ones(n_groups)])

    return _Model(
        n=n,
        col_cost=np.concatenate([problem.weight.astype(np.float64), np.zeros(m)]),
        col_upper=np.concatenate([upper, np.ones(m)]),
        row_lower=row_lower,
        row_upper=row_upper,
        a_start=a_start.astype(np.int32),
        a_index=rows[order].astype(np.int32),
        a_value=values[order],
        family_row=family_row,
        family_var=family_var,
        family_rhs=family_rhs,
        family_is_cap=family_is_cap,
        family_labels=labels,
        group_row=group_row,
        group_var=group_var,
    )


def _violated_rows(problem: Problem, model: _Model, award: IntArray) -> list[str]:
    """Labels of the rows ``award`` breaks: family rows, exclusive groups, all-or-nothing."""
    activity = np.bincount(
        model.family_row, weights=award[model.family_var], minlength=model.family_rhs.shape[0]
    )
    broken = np.where(model.family_is_cap, activity > model.family_rhs, activity < model.family_rhs)
    labels = [model.family_labels[k] for k in np.flatnonzero(broken)]
    positives = np.bincount(
        model.group_row,
        weights=(award[model.group_var] > 0).astype(np.float64),
        minlength=len(problem.exclusive),
    )
    labels += [problem.exclusive_labels[g] for g in np.flatnonzero(positives > 1)]
    partial = problem.all_or_nothing & (award != 0) & (award != problem.upper)
    labels += [_ALL_OR_NOTHING] * int(np.count_nonzero(partial))
    return labels


def _frozen_by(problem: Problem, model: _Model, award: IntArray) -> list[str]:
    """Why each variable stays below its claim, ``""`` where it reached it.

    As ``allocator.rules`` explains a priority allocation: the cap or budget row containing
    the variable with the least slack (the first such row in family order on a tie), unless
    the variable is at zero while another member of one of its exclusive groups is positive,
    when it is that group's label (the last such group listed).
    """
    n = problem.size
    below = award < problem.upper
    label = np.full(n, -1, dtype=np.int64)  # index into ``names``

    activity = np.bincount(
        model.family_row, weights=award[model.family_var], minlength=model.family_rhs.shape[0]
    )
    slack = model.family_rhs - activity
    cap = model.family_is_cap[model.family_row]
    var = model.family_var[cap]
    row = model.family_row[cap]
    if var.shape[0]:
        order = np.lexsort((row, slack[row], var))
        first = np.ones(order.shape[0], dtype=np.bool_)
        first[1:] = var[order][1:] != var[order][:-1]
        label[var[order][first]] = row[order][first]
    names = list(model.family_labels)

    positives = np.bincount(
        model.group_row,
        weights=(award[model.group_var] > 0).astype(np.float64),
        minlength=len(problem.exclusive),
    )
    excluded = (award[model.group_var] == 0) & (positives[model.group_row] > 0)
    if excluded.any():
        group_of = np.full(n, -1, dtype=np.int64)
        np.maximum.at(group_of, model.group_var[excluded], model.group_row[excluded])
        label = np.where(group_of >= 0, len(names) + group_of, label)
    names.extend(problem.exclusive_labels)

    pairs = zip(label.tolist(), below.tolist(), strict=True)
    return [names[k] if k >= 0 and is_below else "" for k, is_below in pairs]


def _new_highs(
    model: _Model, settings: SolverSettings, time_limit_s: float, mip: bool
) -> highspy.Highs:
    """A HiGHS instance holding the priority model (phase-1 objective), log off unless asked."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", settings.log_progress)
    highs.setOptionValue("threads", settings.workers)
    highs.setOptionValue("random_seed", settings.seed)
    highs.setOptionValue("mip_rel_gap", _MIP_REL_GAP)
    highs.setOptionValue("mip_abs_gap", _MIP_ABS_GAP)
    highs.setOptionValue("presolve", _MIP_PRESOLVE if mip else _LP_PRESOLVE)
    highs.setOptionValue("time_limit", max(time_limit_s, _MIN_PHASE_S))
    integrality = np.full(model.num_col, 1 if mip else 0, dtype=np.int32)
    passed = highs.passModel(
        model.num_col,
        model.num_row,
        int(model.a_index.shape[0]),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        model.col_cost,
        np.zeros(model.num_col),
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


def _run(highs: highspy.Highs) -> _Run:
    started = time.perf_counter()
    try:
        highs.run()
    finally:
        # HiGHS keeps one worker pool per process, sized by the first run; a later run asking
        # for another thread count fails unless the pool is released first.
        highspy.Highs.resetGlobalScheduler(True)
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
    return _Run(
        seconds=seconds,
        status=status,
        highs_status=highs.modelStatusToString(model_status),
        objective=float(info.objective_function_value),
        bound=float(info.mip_dual_bound),
        nodes=int(info.mip_node_count),
        x=x,
    )


def _award(x: FloatArray, upper: IntArray) -> IntArray:
    # HiGHS returns integers up to its integrality tolerance (1e-6): round to whole 万元.
    return np.clip(np.rint(x).astype(np.int64), 0, upper)


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
        ``allocator.rules`` does; ``levels`` is NaN. ``details`` holds the HiGHS version, the
        HiGHS status and node count of each phase, the tie-break objective and, should
        rounding HiGHS's values to whole 万元 ever break a row, the rows broken (the status
        is then ``UNKNOWN``).
    """
    started = time.perf_counter()
    deadline = started + settings.time_limit_s
    model = _build(problem)
    phases: list[tuple[str, float]] = [("build", time.perf_counter() - started)]
    details: dict[str, object] = {"solver": f"HiGHS {highspy.Highs().version()}"}
    n = problem.size
    nan = math.nan

    if n == 0:
        award = np.zeros(0, dtype=np.int64)
        broken = _violated_rows(problem, model, award)
        status = Status.INFEASIBLE if broken else Status.OPTIMAL
        value = nan if broken else 0.0
        return _allocation(problem, model, award, status, value, value, phases, details)

    highs = _new_highs(model, settings, deadline - time.perf_counter(), mip=True)
    first = _run(highs)
    phases.append(("priority", first.seconds))
    details["priority_status"] = first.highs_status
    details["priority_nodes"] = first.nodes
    if first.x is None:
        award = np.zeros(n, dtype=np.int64)
        bound = nan if first.status is Status.INFEASIBLE else first.bound
        return _allocation(problem, model, award, first.status, nan, bound, phases, details)

    status = first.status
    award = _award(first.x[:n], problem.upper)
    if tie_break and status is Status.OPTIMAL:
        remaining = deadline - time.perf_counter()
        if remaining < _MIN_PHASE_S:
            details["tie_break_status"] = "not run: no time left"
            status = Status.FEASIBLE
        else:
            second = _tie_break(highs, problem, award, first.x, remaining)
            phases.append(("tie_break", second.seconds))
            details["tie_break_status"] = second.highs_status
            details["tie_break_nodes"] = second.nodes
            if second.x is not None:
                award = _award(second.x[:n], problem.upper)
                details["tie_break_objective"] = int((n - problem.rank) @ award)
            if second.status is not Status.OPTIMAL:
                status = Status.FEASIBLE

    broken = _violated_rows(problem, model, award)
    if broken:
        details["rounding_broke"] = broken
        status = Status.UNKNOWN
    objective = float(problem.weight @ award)
    return _allocation(problem, model, award, status, objective, first.bound, phases, details)


def _tie_break(
    highs: highspy.Highs,
    problem: Problem,
    award: IntArray,
    start: FloatArray,
    time_limit_s: float,
) -> _Run:
    """Phase 2 on the phase-1 model: keep the priority optimum, serve lower ranks first."""
    n = problem.size
    columns = np.arange(n, dtype=np.int32)
    best = int(problem.weight @ award)
    # sum(weight * x) is an integer, so ">= best - 0.5" is ">= best" with room for HiGHS's
    # feasibility tolerance.
    highs.addRow(best - 0.5, _INF, n, columns, problem.weight.astype(np.float64))
    highs.changeColsCost(n, columns, (n - problem.rank).astype(np.float64))
    highs.setOptionValue("time_limit", time_limit_s)
    # Phase 1's optimum is feasible here: start from it, so that a time limit still leaves an
    # allocation with the optimal priority objective.
    highs.setSolution(start.shape[0], np.arange(start.shape[0], dtype=np.int32), start)
    return _run(highs)


def _allocation(
    problem: Problem,
    model: _Model,
    award: IntArray,
    status: Status,
    objective: float,
    best_bound: float,
    phases: list[tuple[str, float]],
    details: dict[str, object],
) -> Allocation:
    has_award = status in (Status.OPTIMAL, Status.FEASIBLE)
    return Allocation(
        award=award,
        status=status,
        rule=Rule.PRIORITY,
        objective=objective,
        best_bound=best_bound,
        levels=np.full(problem.size, np.nan),
        frozen_by=_frozen_by(problem, model, award) if has_award else [""] * problem.size,
        phases=phases,
        details=details,
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
    model = _build(problem)
    if problem.size == 0:
        feasible = not _violated_rows(problem, model, np.zeros(0, dtype=np.int64))
        return (0.0 if feasible else -math.inf), time.perf_counter() - started
    highs = _new_highs(model, settings, settings.time_limit_s, mip=False)
    run = _run(highs)
    seconds = time.perf_counter() - started
    if run.status is Status.OPTIMAL:
        return run.objective, seconds
    if run.status is Status.INFEASIBLE:
        return -math.inf, seconds
    return math.nan, seconds


__all__ = ["lp_relaxation", "solve_priority"]
