"""Progressive filling: a level rule's common level raised until rows freeze its claims.

A level rule is a monotone target ``t(L, c)`` of a real level ``L`` (:class:`Level`), the
rule's exact value; each row is searched on ``L``, all rows at once, laminar rows bottom-up
and crossing rows by rounds (docs/fairness.md, "Progressive filling" and "Speed"). Filling
gives the exact rule value under every cap; :mod:`allocator.solve.rounding` then turns it
into whole 万元.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    BoolArray,
    IntArray,
)
from allocator.model.rows import RowMatrix
from allocator.solve.context import Context, laminar_heights

FloatArray = npt.NDArray[np.float64]


class Level:
    """A level rule as a monotone, continuous target ``t(L, c)`` of a real level ``L``.

    ``L`` runs over ``[0, lmax]``; ``t(0, c) = 0`` and ``t(lmax, c) = c``. The targets are the
    rule's exact values, not rounded: rounding is applied once, to the whole vector, after
    filling (:mod:`allocator.solve.rounding`).

    proportional
        ``L`` is the ratio ``r`` in ``[0, 1]``, ``t = r·c``.
    equal_awards
        ``L`` is ``λ`` in 万元, ``t = min(c, λ)``.
    equal_losses
        ``cmax − L`` is the common loss ``λ``, ``t = max(0, c − λ)``.
    talmud
        ``L`` in half-万元 over ``[0, 2·cmax]``: ``(min(c, L) + max(0, c − (2·cmax − L))) / 2``,
        equal awards on the half-claims, then equal losses on the other halves. The first term
        is full before the second starts, so this is Aumann–Maschler's rule as one level.
    """

    def __init__(self, rule: Rule, claims: IntArray) -> None:
        self.rule = rule
        self.cmax = int(claims.max()) if claims.shape[0] else 0
        if rule is Rule.PROPORTIONAL:
            self.lmax = 1.0
        elif rule is Rule.TALMUD:
            self.lmax = float(2 * self.cmax)
        else:
            self.lmax = float(self.cmax)

    def target(self, level: FloatArray, claim: IntArray) -> FloatArray:
        """The exact (real) award of each claim at each level."""
        c = claim.astype(np.float64)
        if self.rule is Rule.PROPORTIONAL:
            return np.asarray(level * c, dtype=np.float64)
        if self.rule is Rule.EQUAL_AWARDS:
            return np.asarray(np.minimum(c, level), dtype=np.float64)
        if self.rule is Rule.EQUAL_LOSSES:
            return np.asarray(np.maximum(0.0, c - (self.cmax - level)), dtype=np.float64)
        half = np.minimum(c, level) + np.maximum(0.0, c - (2 * self.cmax - level))
        return np.asarray(half / 2.0, dtype=np.float64)

    def whole_at(self, claim: IntArray) -> FloatArray:
        """The least level at which each claim is paid in full."""
        if self.rule is Rule.EQUAL_AWARDS:
            return claim.astype(np.float64)
        return np.full(claim.shape[0], self.lmax, dtype=np.float64)

    def display(self, level: FloatArray) -> FloatArray:
        """The level in the rule's own unit: ratio, or 万元 (the loss for equal losses)."""
        lv = np.asarray(level, dtype=np.float64)
        if self.rule is Rule.EQUAL_LOSSES:
            return float(self.cmax) - lv
        if self.rule is Rule.TALMUD:
            return lv / 2.0
        return lv


def targets(
    lvl: Level,
    level: FloatArray,
    claim: IntArray,
    lb: FloatArray,
    aon: BoolArray,
    left: BoolArray | None = None,
) -> FloatArray:
    """The targets at ``level``: an all-or-nothing claim counts only once whole, and no
    target falls below its lower bound ``lb``.

    Where ``left`` is true the value is the limit from below: a row that binds at the level
    where an all-or-nothing claim becomes whole binds because of that jump, so the claim
    freezes at 0 there.
    """
    t = lvl.target(level, claim)
    short = t < claim
    if left is not None:
        short |= left & (level <= lvl.whole_at(claim))
    t = np.where(aon & short, 0.0, t)
    return np.maximum(t, lb)


def tolerance(rhs: FloatArray | IntArray) -> FloatArray:
    """How far a float row sum may pass ``rhs`` and still hold: rounding error, no more.

    Sums of at most 2**20 terms carry a relative rounding error far below 1e-11; anything a
    tolerance of 1e-11·(1 + rhs) lets through is the rounding of an exact equality.
    """
    return 1e-11 * (1.0 + np.abs(np.asarray(rhs, dtype=np.float64)))


def _accept(rhs: FloatArray) -> FloatArray:
    # A secant step lands on the level where a linear sum meets ``rhs`` up to its rounding;
    # accepting only that (1e-13 relative) keeps every value within 1e-13·rhs of exact.
    return 1e-13 * (1.0 + np.abs(rhs))


def _sums(index: IntArray, values: FloatArray, length: int) -> FloatArray:
    out: FloatArray = np.bincount(index, weights=values, minlength=length).astype(np.float64)
    return out


@dataclass
class Fill:
    """Result of progressive filling."""

    value: FloatArray  # exact target per variable
    level: FloatArray  # level at which it froze (lmax when paid in full or not filled)
    row_level: FloatArray  # per row: level at which it froze its members, lmax+1 if never
    by_row: IntArray  # per variable: first row that froze it, -1 if none
    rounds: int
    method: str


#: Bisection steps at most per row; each halves the interval, so 200 reach any float.
_MAX_STEPS = 200


def _row_levels(
    lvl: Level,
    nrows: int,
    prow: IntArray,
    claim: IntArray,
    lb: FloatArray,
    aon: BoolArray,
    cap: FloatArray | None,
    base: FloatArray,
    rhs: IntArray,
    start: FloatArray,
    cap_left: BoolArray | None = None,
) -> tuple[FloatArray, BoolArray]:
    """Per row, the highest level its constraint allows (``lmax + 1`` if it never binds), and
    whether its members freeze there from below (``left``).

    Row ``k`` holds at level ``L`` when ``base[k] + Σ t(min(L, cap))`` over its pairs is at
    most ``rhs[k]``; the sum is monotone and piecewise linear in ``L``. Each row is searched
    by bisection, all rows at once, with a secant step on every interval: once the interval
    holds no breakpoint the secant lands on the level where the sum meets ``rhs`` and the row
    is done, so a row takes about as many steps as it has breakpoints' bits, not a float's.
    Where the sum jumps over ``rhs`` (an all-or-nothing claim becoming whole) the bisection
    closes in on the jump, and the row binds at the jump with its members' values from below
    (``left``): the all-or-nothing claim stays at 0. ``cap_left`` says which capped members
    froze from below. ``start`` must hold for every row.
    """
    lmax = lvl.lmax
    rhs_f = rhs.astype(np.float64)
    tol = tolerance(rhs_f)
    accept = _accept(rhs_f)

    def total(levels: FloatArray, left: bool = False) -> FloatArray:
        at = levels[prow]
        below = np.full(at.shape[0], left)
        if cap is not None:
            # A member a smaller row froze counts at its value there (from below if so).
            frozen = cap <= at
            below = np.where(frozen, cap_left if cap_left is not None else False, below)
            at = np.minimum(at, cap)
        return base + _sums(prow, targets(lvl, at, claim, lb, aon, below), nrows)

    lo = start.astype(np.float64).copy()
    hi = np.full(nrows, lmax, dtype=np.float64)
    s_lo = total(lo)
    s_hi = total(hi)
    binding = s_hi > rhs_f + tol
    out = np.where(binding, lo, lmax + 1.0)
    # A row whose members jump past it at the very level it starts from binds there.
    now = binding & (s_lo > rhs_f + tol)
    if bool((now & (total(lo, left=True) > rhs_f + tol)).any()):
        raise RuntimeError("a row is exceeded at the level filling starts from")
    search = binding & ~now
    for _ in range(_MAX_STEPS):
        if not search.any():
            break
        slope = s_hi - s_lo
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = np.where(slope > 0, lo + (rhs_f - s_lo) * (hi - lo) / slope, lo)
        cand = np.where(search, np.clip(cand, lo, hi), lo)
        s_c = total(cand)
        met = search & (np.abs(s_c - rhs_f) <= accept)
        out = np.where(met, cand, out)
        search &= ~met
        ok = s_c <= rhs_f + tol
        lo, s_lo = np.where(search & ok, cand, lo), np.where(search & ok, s_c, s_lo)
        hi, s_hi = np.where(search & ~ok, cand, hi), np.where(search & ~ok, s_c, s_hi)
        mid = np.where(search, (lo + hi) / 2.0, lo)
        s_m = total(mid)
        ok = s_m <= rhs_f + tol
        lo, s_lo = np.where(search & ok, mid, lo), np.where(search & ok, s_m, s_lo)
        hi, s_hi = np.where(search & ~ok, mid, hi), np.where(search & ~ok, s_m, s_hi)
        narrow = search & ((hi - lo) <= 1e-13 * np.maximum(1.0, hi))
        # Closed in on a jump: the row binds at the jump itself, its members from below.
        # The jump is where an all-or-nothing member becomes whole: take that level itself,
        # so that rows closing in on the same jump from either side bind at one level.
        at_jump = _jump_at(lvl, prow, claim, aon, lo, hi, nrows)
        jump = total(at_jump, left=True) <= rhs_f + tol
        out = np.where(narrow, np.where(jump, at_jump, lo), out)
        search &= ~narrow
    out = np.where(search, lo, out)
    left = binding & (total(np.minimum(out, lmax)) > rhs_f + tol)
    return out, left


def _jump_at(
    lvl: Level,
    prow: IntArray,
    claim: IntArray,
    aon: BoolArray,
    lo: FloatArray,
    hi: FloatArray,
    nrows: int,
) -> FloatArray:
    """Per row, the level in ``[lo, hi]`` (up to rounding) at which one of its all-or-nothing
    members becomes whole, or ``hi`` when none does."""
    whole = lvl.whole_at(claim)
    eps = 1e-12 * (1.0 + np.abs(hi[prow]))
    near = aon & (whole >= lo[prow] - eps) & (whole <= hi[prow] + eps)
    out = hi.copy()
    np.minimum.at(out, prow[near], whole[near])
    return np.asarray(np.where(np.isin(np.arange(nrows), prow[near]), out, hi), dtype=np.float64)


def fill_levels(
    ctx: Context,
    lvl: Level,
    rows: RowMatrix,
    active: BoolArray,
    fixed: FloatArray,
    lb: FloatArray,
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
    fixed: FloatArray,
    lb: FloatArray,
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
    base = _sums(rows.row[~open_pair], fixed[rows.var[~open_pair]], rows.count)
    prow_all = rows.row[open_pair]
    pvar_all = rows.var[open_pair]
    never = lmax + 1.0
    cap = np.full(n, never, dtype=np.float64)
    cap_left = np.zeros(n, dtype=bool)
    row_level = np.full(rows.count, never, dtype=np.float64)
    top = int(heights.max()) if heights.shape[0] else -1
    for h in range(top + 1):
        in_layer = heights[prow_all] == h
        prow = prow_all[in_layer]
        pvar = pvar_all[in_layer]
        layer, local = np.unique(prow, return_inverse=True)
        level, left = _row_levels(
            lvl,
            layer.shape[0],
            local,
            claim[pvar],
            lb[pvar],
            aon[pvar],
            cap[pvar],
            base[layer],
            rows.rhs[layer],
            np.zeros(layer.shape[0], dtype=np.float64),
            cap_left[pvar],
        )
        row_level[layer] = level
        # A smaller row that froze a member at the same level froze it first.
        lower = level[local] < cap[pvar]
        cap_left[pvar[lower]] = left[local][lower]
        # A row binding from below at the same level binds before it (just under the level).
        same = (level[local] == cap[pvar]) & left[local]
        cap_left[pvar[same]] = True
        cap[pvar] = np.minimum(cap[pvar], level[local])
        if ctx.progress is not None:
            ctx.progress(phase, float(h + 1), float(top + 1))
    at = np.minimum(cap, lmax)
    value = np.where(active, targets(lvl, at, claim, lb, aon, cap_left & (cap <= lmax)), fixed)
    level_out = np.where(active, at, lmax)
    empty = np.full(n, -1, dtype=np.int64)
    return Fill(value, level_out, row_level, empty, top + 1, "laminar")


def fill_rounds(
    ctx: Context,
    lvl: Level,
    rows: RowMatrix,
    active: BoolArray,
    fixed: FloatArray,
    lb: FloatArray,
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
    value = fixed.astype(np.float64).copy()
    level_out = np.full(n, lmax, dtype=np.float64)
    row_level = np.full(rows.count, never, dtype=np.float64)
    start = np.zeros(rows.count, dtype=np.float64)
    rounds = 0
    while open_.any():
        rounds += 1
        open_pair = open_[rows.var]
        base = _sums(rows.row[~open_pair], value[rows.var[~open_pair]], rows.count)
        prow = rows.row[open_pair]
        pvar = rows.var[open_pair]
        live, local = np.unique(prow, return_inverse=True)
        level, left = _row_levels(
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
        # At one level a row that binds from below (at a jump) binds first: just under it.
        key = (~left).astype(np.int64) * (rows.count * (rows.count + 1)) + size[live] * rows.count
        key = key + live
        pair_level = level[local]
        pair_key = key[local]
        least = np.full(n, never, dtype=np.float64)
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
        # A member freezes from below when a row that froze it there binds at a jump.
        from_below = np.zeros(n, dtype=np.int64)
        froze_pair = ready[local] & tied
        np.maximum.at(from_below, pvar[froze_pair], left[local][froze_pair].astype(np.int64))
        below = (from_below > 0) & ~paid
        value[chosen] = targets(
            lvl, at[chosen], claim[chosen], lb[chosen], aon[chosen], below[chosen]
        )
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


__all__ = ["Fill", "Level", "fill_levels", "fill_rounds", "targets", "tolerance"]
