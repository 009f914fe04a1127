"""What a rule's solve carries from phase to phase, and what a priority solve returns.

:class:`Context` is built once per call of :func:`allocator.solve.rules.allocate`: the problem,
its cap rows (``packing``) and floor rows (``covering``) from the problem's one row matrix, each
variable's rows for the sequential greedy, the deadline and the phases' timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    Allocation,
    BoolArray,
    IntArray,
    Problem,
    ProgressFn,
    SolverSettings,
    Status,
)
from allocator.model.rows import RowMatrix
from allocator.solve import cpsat


def laminar_heights(rows: RowMatrix, use: BoolArray) -> IntArray | None:
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


def _rows_of_variables(rows: RowMatrix, n: int) -> tuple[list[int], list[int]]:
    """Rows of each variable as CSR lists (``ptr``, ``rows``) for the sequential greedy."""
    order = np.lexsort((rows.row, rows.var))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows.var, minlength=n), out=ptr[1:])
    return ptr.tolist(), rows.row[order].tolist()


@dataclass
class Context:
    """Everything a rule needs, built once per call."""

    problem: Problem
    settings: SolverSettings
    progress: ProgressFn | None
    deadline: float
    packing: RowMatrix
    covering: RowMatrix
    ptr: list[int]
    var_rows: list[int]
    phases: list[tuple[str, float]] = field(default_factory=list)
    #: Claims open in each CP-SAT search, by phase: what reduced-cost fixing left to search.
    searched: dict[str, int] = field(default_factory=dict)
    #: Whether HiGHS's optima are followed by CP-SAT's canonical pick, so that the award does
    #: not depend on the engine (docs/solvers.md). :func:`make_context` sets it; a phase that
    #: builds its own context for a model HiGHS settles alone (a level rule's rounding: one
    #: thread, a totally unimodular box, where CP-SAT's search is what HiGHS replaces) leaves
    #: it off.
    canonical_after_highs: bool = False

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()


def make_context(
    problem: Problem, settings: SolverSettings, progress: ProgressFn | None
) -> Context:
    packing = problem.rows.caps
    ptr, var_rows = _rows_of_variables(packing, problem.size)
    return Context(
        problem=problem,
        settings=settings,
        progress=progress,
        deadline=time.perf_counter() + settings.time_limit_s,
        packing=packing,
        covering=problem.rows.floors,
        ptr=ptr,
        var_rows=var_rows,
        canonical_after_highs=True,
    )


@dataclass
class Solved:
    """Outcome of a priority solve (the priority rule, or a level rule's remainder)."""

    award: IntArray | None
    status: Status
    objective: float
    bound: float
    method: str
    canonical: bool = True
    conflict: cpsat.Conflict | None = None


def infeasible(ctx: Context, lower: IntArray, upper: IntArray, explain: bool) -> Solved:
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
    return Solved(None, Status.INFEASIBLE, nan, nan, "cpsat", conflict=conflict)


def failed(
    ctx: Context, rule: Rule, conflict: cpsat.Conflict | None, details: dict[str, object]
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


__all__ = [
    "Context",
    "Solved",
    "failed",
    "infeasible",
    "laminar_heights",
    "make_context",
]
