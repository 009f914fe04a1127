"""Progressive filling: a level rule's common level raised until rows freeze its claims.

A level rule is a monotone integer target ``t(L, c)`` of an integer level ``L``
(:class:`Level`); each row is bisected on ``L``, all rows at once, laminar rows bottom-up and
crossing rows by rounds (docs/fairness.md, "Progressive filling" and "Speed").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Rule
from allocator.model.limits import MAX_PROPORTIONAL_CLAIM
from allocator.model.problem import (
    BoolArray,
    IntArray,
)
from allocator.model.rows import RowMatrix, row_sums
from allocator.solve.context import Context, laminar_heights

FloatArray = npt.NDArray[np.float64]


class Level:
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


def targets(lvl: Level, level: IntArray, claim: IntArray, lb: IntArray, aon: BoolArray) -> IntArray:
    t = lvl.target(level, claim)
    # An all-or-nothing claim is paid only once the level reaches all of it.
    t = np.where(aon & (t < claim), 0, t)
    return np.maximum(t, lb)


@dataclass
class Fill:
    """Result of progressive filling."""

    value: IntArray  # target per variable
    level: IntArray  # level at which it froze (lmax when paid in full or not filled)
    row_level: IntArray  # per row: level at which it froze its members, lmax+1 if never
    by_row: IntArray  # per variable: first row that froze it, -1 if none
    rounds: int
    method: str


def _row_levels(
    lvl: Level,
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
        return base + row_sums(prow, targets(lvl, at, claim, lb, aon), nrows)

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


def fill_levels(
    ctx: Context,
    lvl: Level,
    rows: RowMatrix,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    phase: str,
) -> Fill:
    """Progressive filling of the ``active`` variables; the others stay at ``fixed``.

    Raise the common level; when a row would be exceeded by raising further, freeze its open
    members at their current targets; go on with the rest until every claim is frozen or paid.
    Laminar rows (caps nested by firm, district, fund) are solved bottom-up in one pass per
    height; crossing rows by rounds (see :func:`fill_rounds`). The two give the same result.
    """
    problem = ctx.problem
    claim = problem.upper.astype(np.int64)
    heights = laminar_heights(rows, active[rows.var])
    if heights is not None:
        fill = _fill_laminar(ctx, lvl, rows, active, fixed, lb, heights, phase)
    else:
        fill = fill_rounds(ctx, lvl, rows, active, fixed, lb, phase)
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
    ctx: Context,
    lvl: Level,
    rows: RowMatrix,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    heights: IntArray,
    phase: str,
) -> Fill:
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
    base = row_sums(rows.row[~open_pair], fixed[rows.var[~open_pair]], rows.count)
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
    value = np.where(active, targets(lvl, cap, claim, lb, aon), fixed)
    level_out = np.where(active, cap, lmax)
    empty = np.full(n, -1, dtype=np.int64)
    return Fill(value, level_out, row_level, empty, top + 1, "laminar")


def fill_rounds(
    ctx: Context,
    lvl: Level,
    rows: RowMatrix,
    active: BoolArray,
    fixed: IntArray,
    lb: IntArray,
    phase: str,
) -> Fill:
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
        base = row_sums(rows.row[~open_pair], value[rows.var[~open_pair]], rows.count)
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
        value[chosen] = targets(lvl, at[chosen], claim[chosen], lb[chosen], aon[chosen])
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
    return Fill(value, level_out, row_level, empty, rounds, "rounds")


def step_starts(
    lvl: Level, fill: Fill, rows: RowMatrix, claim: IntArray, lb: IntArray, aon: BoolArray
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


__all__ = ["Fill", "Level", "fill_levels", "fill_rounds", "step_starts", "targets"]
