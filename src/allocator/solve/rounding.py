"""Whole 万元 from a level rule's exact value: one rounding principle for every level rule.

Filling (:mod:`allocator.solve.filling`) gives each claim its exact, real rule value ``e``
under every limit. ``fairness.rounding`` then says how it becomes whole 万元:

``spend_all``
    Every award ``floor(e)`` or ``ceil(e)``, as many rounded up as the limits allow (the fund
    spent exactly when ``Σ e`` is whole). The quota method (:mod:`allocator.solve.quota`)
    chooses which, so that no award falls when the fund rises; where the limits make that
    cross the order of the exact values at this fund, :func:`nearest` here chooses instead:
    the priority engine maximises first the number of units and then the largest-remainder
    (Hamilton) order (the larger fractional part first; on a tie the smaller exact award,
    then the larger claim, then the lower rank), exactly (the greedy on nested caps, else
    HiGHS).
``floor_each``
    Every award ``floor(e)`` (按比例核减, 不足万元部分不予补助); what the rounding leaves stays in
    the fund and is reported (``Allocation.rounding_left``).

The Hamilton tie rule keeps awards and losses in the order of the claims: between two claims
whose exact values share a fractional part, the one with the smaller exact award takes the
unit first. When the exact awards tie (equal awards) that is the larger claim, whose loss
stays the larger; when the exact losses tie (equal losses, 300/200/100 with 101: exact
100.5/0.5/0) it is the smaller claim, whose award stays the smaller: (100, 1, 0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Engine
from allocator.model.problem import BoolArray, IntArray
from allocator.solve.context import Context, Solved
from allocator.solve.greedy import is_polymatroid
from allocator.solve.priority import solve_priority

FloatArray = npt.NDArray[np.float64]

#: Exact values closer than this (in 万元, relative above 1万元) to a whole number are that
#: number, and fractional parts or awards closer than it tie. The filling computes the exact
#: values to about 1e-13 of the fund; a value misjudged by less than this still rounds to
#: within 1万元 of the exact one.
_GRID = 1e-7


def bounds(exact: FloatArray, claim: IntArray, aon: BoolArray) -> tuple[IntArray, IntArray]:
    """``floor(e)`` and ``ceil(e)`` of each exact value, an integer ``e`` giving both.

    An all-or-nothing claim's exact value is 0 or its whole claim: both bounds are that.
    """
    tol = _GRID * (1.0 + np.abs(exact))
    lo = np.floor(exact + tol).astype(np.int64)
    hi = np.ceil(exact - tol).astype(np.int64)
    hi = np.maximum(hi, lo)
    whole = np.where(exact >= claim - tol, claim, 0).astype(np.int64)
    lo = np.minimum(np.where(aon, whole, lo), claim)
    hi = np.minimum(np.where(aon, whole, hi), claim)
    return lo, hi


def hamilton_order(exact: FloatArray, claim: IntArray, rank: IntArray) -> IntArray:
    """Each claim's place in the order the whole-万元 units go (0 first).

    Larger fractional part first; then the smaller exact award, the larger claim, the lower
    rank. Values are compared on a grid of :data:`_GRID` so that equal rationals computed by
    different float paths tie.
    """
    lo = np.floor(exact + _GRID * (1.0 + np.abs(exact)))
    frac = np.clip(exact - lo, 0.0, 1.0)
    frac_key = np.rint(frac / _GRID).astype(np.int64)
    exact_key = np.rint(exact / _GRID).astype(np.int64)
    order = np.lexsort((rank, -claim, exact_key, -frac_key))
    place = np.empty(exact.shape[0], dtype=np.int64)
    place[order] = np.arange(exact.shape[0], dtype=np.int64)
    return place


@dataclass
class Rounded:
    """The whole-万元 awards and how they were found."""

    award: IntArray
    solved: Solved | None
    floor_total: int
    #: ``quota`` (the quota method), ``nearest`` (the nearest vector in Hamilton order) or
    #: ``floor`` (``floor_each``).
    method: str = "nearest"


def nearest(ctx: Context, exact: FloatArray, free: BoolArray, phase: str) -> Rounded:
    """The ``spend_all`` vector: ``floor(e)`` raised by one where ``free`` and the limits allow,
    the most units first, then in Hamilton order (:func:`hamilton_order`)."""
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    lo, hi = bounds(exact, claim, problem.all_or_nothing.astype(bool))
    hi = np.where(free, hi, lo)
    place = hamilton_order(exact, claim, problem.rank.astype(np.int64))
    ones = np.ones(problem.size, dtype=np.int64)
    settings = ctx.settings
    if not is_polymatroid(ctx, lo, hi):
        # The greedy is exact on nested caps. Elsewhere the box [floor e, ceil e] under caps
        # by firm, district and fund and sub-budgets by clause (two nested families) has a
        # totally unimodular matrix: HiGHS proves it at its root LP, where CP-SAT's search
        # of the tie-break ran past 20 s on 2,000 claims. One thread keeps the answer the
        # same whatever the scenario's workers.
        settings = dataclasses.replace(settings, solver=Engine.HIGHS, workers=1)
    sub = Context(
        problem=problem.with_priorities(ones, place),
        settings=settings,
        progress=ctx.progress,
        deadline=ctx.deadline,
        packing=ctx.packing,
        covering=ctx.covering,
        ptr=ctx.ptr,
        var_rows=ctx.var_rows,
        phases=ctx.phases,
        searched=ctx.searched,
    )
    solved = solve_priority(sub, lo, hi, phase, explain=False)
    award = solved.award if solved.award is not None else lo
    return Rounded(award, solved, int(lo.sum()))


def floored(exact: FloatArray, claim: IntArray, aon: BoolArray) -> IntArray:
    """The ``floor_each`` vector: every award its exact value rounded down."""
    lo, _ = bounds(exact, claim, aon)
    return lo


__all__ = ["Rounded", "bounds", "floored", "hamilton_order", "nearest"]
