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

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    Allocation,
    Problem,
    ProgressFn,
    SolverSettings,
)
from allocator.solve.context import make_context
from allocator.solve.levels import allocate_levels
from allocator.solve.priority import allocate_priority, engine_name


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
    ctx = make_context(problem, settings, progress)
    priority = rule is Rule.PRIORITY
    allocation = allocate_priority(ctx) if priority else allocate_levels(ctx, rule)
    allocation.details["solver"] = engine_name(settings.solver)
    if ctx.searched:
        allocation.details["searched"] = dict(ctx.searched)
    return allocation


__all__ = ["allocate"]
