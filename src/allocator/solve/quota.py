"""Whole 万元 that never fall when the fund rises: the quota method on a level rule's path.

The exact value ``e_i(B)`` of a level rule is nondecreasing in the fund ``B``: raising the
fund only lets the common level rise further. The ``k``-th 万元 of claim ``i`` is a unit job
with a *release*, the least fund at which ``e_i`` passes ``k − 1`` (before it, paying that unit
would put the award more than 1万元 above its exact value), and a *deadline*, the least fund
at which ``e_i`` reaches ``k`` (after it, withholding the unit would leave the award 1万元
below). The fund is handed out one 万元 at a time, each to the released job with the earliest
deadline (ties: the smaller award after it, the larger claim, the lower rank). Earliest
deadline first meets every deadline whenever any schedule does, and one exists (at every
fund the rounded-down values add up to at most the fund), so every award stays ``floor(e)``
or ``ceil(e)``; and as the awards at fund ``B + 1`` are those at ``B`` plus one unit, no
award falls when the fund rises (house monotonicity). Without other limits this is Balinski
and Young's quota method for the proportional rule, the same for every level rule.

The schedule need not be run unit by unit. At the fund ``T`` every job due by ``T`` is done;
of the others, the schedule has done the most urgent ones that the releases leave room for:
no fund ``s`` may see more jobs released at ``s`` or later than the whole 万元 from ``s`` to
``T``. Those limits are nested, so the most urgent set within them is found in one sweep
from ``T`` down (:func:`_fits`); a row short of room takes its jobs most urgent first. Only
where two such rows share a claim is the schedule run step by step (:func:`run_schedule`);
the tests check that both give the same awards.

A unit's release and deadline are funds on the path: the level at which the claim reaches a
whole number, inverted per rule (:func:`least_level`, :func:`sup_level`), then the fund at
that level, the sum over all claims of their values there (:class:`Path`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.inputs.choices import Rule
from allocator.model.problem import BoolArray, IntArray
from allocator.model.rows import RowMatrix
from allocator.solve.filling import Level

FloatArray = npt.NDArray[np.float64]

#: Funds closer than this (relative) to a whole number are that number: the filling is exact
#: to about 1e-13 of the fund and the sums here to about 1e-13 more, while two funds of the
#: path that differ are at least 1/claim apart.
_SNAP = 1e-11
#: Exact values closer than this (relative above 1万元) to a whole number are that number, as
#: :func:`allocator.solve.rounding.bounds` reads them.
_WHOLE = 1e-7
#: Deadlines are compared on this grid, so equal rationals computed by different float paths
#: tie and go by the next key.
_GRID = 1e-7
_NEVER = np.inf


def _snap(x: FloatArray, tol: float = _SNAP) -> FloatArray:
    near = np.rint(x)
    out: FloatArray = np.where(np.abs(x - near) <= tol * (1.0 + np.abs(x)), near, x)
    return out


def least_level(lvl: Level, value: FloatArray, claim: IntArray) -> FloatArray:
    """The least level at which the rule's target of ``claim`` reaches ``value`` (no bound)."""
    c = claim.astype(np.float64)
    v = np.asarray(value, dtype=np.float64)
    if lvl.rule is Rule.PROPORTIONAL:
        return np.asarray(np.where(c > 0, v / np.maximum(c, 1.0), 0.0), dtype=np.float64)
    if lvl.rule is Rule.EQUAL_AWARDS:
        return v
    if lvl.rule is Rule.EQUAL_LOSSES:
        return np.asarray(np.where(v > 0, lvl.cmax - c + v, 0.0), dtype=np.float64)
    first = 2.0 * v
    second = 2.0 * lvl.cmax - 2.0 * c + 2.0 * v
    return np.asarray(np.where(2.0 * v <= c, first, second), dtype=np.float64)


def sup_level(lvl: Level, value: FloatArray, claim: IntArray) -> FloatArray:
    """The last level at which the rule's target of ``claim`` is at most ``value``
    (``value`` below the claim): where the target leaves ``value``."""
    c = claim.astype(np.float64)
    v = np.asarray(value, dtype=np.float64)
    if lvl.rule is Rule.TALMUD:
        # The target stands at c/2 from level c to 2·cmax − c: it leaves c/2 at the end.
        first = 2.0 * v
        second = 2.0 * lvl.cmax - 2.0 * c + 2.0 * v
        return np.asarray(np.where(2.0 * v < c, first, second), dtype=np.float64)
    if lvl.rule is Rule.EQUAL_LOSSES:
        return np.asarray(lvl.cmax - c + v, dtype=np.float64)
    return least_level(lvl, v, claim)


class Path:
    """The fund at which a level is reached: ``F(L) = Σ max(lb, t(min(L, ℓ), c))``.

    ``ℓ`` is each claim's last level (where a row froze it, or the top level for a claim
    still rising); each claim's value is piecewise linear in ``L``, so ``F`` is a sum of
    ramps, evaluated for many levels at once from sorted breakpoints and prefix sums. The
    slopes are whole or half 万元 per level step (whole claims for the proportional rule)
    and the breakpoints of the claims still rising whole numbers of them, so the prefix sums
    are exact in doubles; only the few claims a row froze add a rounding error, far below
    what :data:`_SNAP` allows.
    """

    def __init__(self, lvl: Level, claim: IntArray, lb: FloatArray, last: FloatArray) -> None:
        c = claim.astype(np.float64)
        starts: list[FloatArray] = []
        ends: list[FloatArray] = []
        slopes: list[FloatArray] = []
        if lvl.rule is Rule.PROPORTIONAL:
            segs = [(np.where(c > 0, lb / np.maximum(c, 1.0), 0.0), np.minimum(1.0, last), c)]
        elif lvl.rule is Rule.EQUAL_AWARDS:
            segs = [(lb, np.minimum(c, last), np.ones_like(c))]
        elif lvl.rule is Rule.EQUAL_LOSSES:
            segs = [(lvl.cmax - c + lb, np.minimum(float(lvl.cmax), last), np.ones_like(c))]
        else:
            half = np.full_like(c, 0.5)
            second = np.maximum(2.0 * lvl.cmax - c, 2.0 * lvl.cmax - 2.0 * c + 2.0 * lb)
            segs = [
                (2.0 * lb, np.minimum(c, last), half),
                (second, np.minimum(2.0 * lvl.cmax, last), half),
            ]
        for a, b, s in segs:
            a = np.maximum(np.asarray(a, dtype=np.float64), 0.0)
            keep = b > a
            starts.append(a[keep])
            ends.append(np.asarray(b, dtype=np.float64)[keep])
            slopes.append(np.asarray(s, dtype=np.float64)[keep])
        self.base = float(np.sum(lb))
        self._a, self._sa, self._ssa = _ramps(np.concatenate(starts), np.concatenate(slopes))
        self._b, self._sb, self._ssb = _ramps(np.concatenate(ends), np.concatenate(slopes))

    def fund(self, level: FloatArray) -> FloatArray:
        """``F`` at each level (``-inf`` stays ``-inf``, ``inf`` stays ``inf``)."""
        lv = np.asarray(level, dtype=np.float64)
        finite = np.isfinite(lv)
        q = np.where(finite, lv, 0.0)
        ia = np.searchsorted(self._a, lv, side="left")
        ib = np.searchsorted(self._b, lv, side="left")
        up = self._sa[ia] * q - self._ssa[ia]
        down = self._sb[ib] * q - self._ssb[ib]
        out = np.asarray(self.base + up - down, dtype=np.float64)
        return np.where(finite, _snap(out), lv)


def _ramps(at: FloatArray, slope: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    order = np.argsort(at, kind="stable")
    a = at[order]
    s = slope[order]
    cs = np.concatenate([[0.0], np.cumsum(s)])
    css = np.concatenate([[0.0], np.cumsum(s * a)])
    return a, cs, css


@dataclass
class Jobs:
    """Unit jobs: claim, unit number (the award after it), release and deadline funds."""

    claim: IntArray
    unit: IntArray
    release: FloatArray
    deadline: FloatArray
    level: FloatArray


def _jobs(
    lvl: Level,
    path: Path,
    claim: IntArray,
    lb: FloatArray,
    last: FloatArray,
    rising: BoolArray,
    who: IntArray,
    unit: IntArray,
) -> Jobs:
    """Release and deadline of unit ``unit`` of each claim ``who``."""
    c = claim[who]
    k = unit.astype(np.float64)
    below = k - 1.0 < lb[who] - _WHOLE
    r_level = sup_level(lvl, k - 1.0, c)
    release = np.where(below, -_NEVER, path.fund(np.where(below, 0.0, r_level)))
    at_lb = k <= lb[who] + _WHOLE
    d_level = np.where(at_lb, 0.0, least_level(lvl, k, c))
    # A claim a row froze below its next whole 万元 never reaches it: that unit is due at the
    # fund where the claim would have reached it had it gone on rising (a fixed point of the
    # path, the same at every fund), so that it waits its turn among the units of the claims
    # still rising rather than after all of them.
    deadline = np.where(k <= c, path.fund(np.where(k <= c, d_level, 0.0)), _NEVER)
    return Jobs(who, unit, release, deadline, d_level)


def _order(jobs: Jobs, claim: IntArray, rank: IntArray) -> IntArray:
    """Jobs by urgency: deadline, then the smaller award after it, the larger claim, the
    lower rank."""
    finite = np.isfinite(jobs.deadline)
    key = np.where(finite, np.rint(np.where(finite, jobs.deadline, 0.0) / _GRID), np.inf)
    level = np.rint(jobs.level / _GRID)
    return np.lexsort((rank[jobs.claim], -claim[jobs.claim], jobs.unit, level, key))


def _slot(release: FloatArray) -> IntArray:
    """The first whole fund at which a job released at ``release`` may be paid: above it."""
    r = np.where(np.isfinite(release), release, -1.0)
    return np.maximum(np.floor(r).astype(np.int64) + 1, 1)


@dataclass
class Quota:
    """Awards of the quota method, and how they were found (``direct`` or ``steps``)."""

    award: IntArray
    method: str


def quota_awards(
    lvl: Level,
    claim: IntArray,
    rank: IntArray,
    exact: FloatArray,
    lb: FloatArray,
    last: FloatArray,
    rising: BoolArray,
    units: int,
    rows: RowMatrix,
    fixed: IntArray,
) -> Quota:
    """The quota method's awards at the fund that gives ``units`` whole 万元 to the claims.

    Parameters
    ----------
    lvl:
        The level rule.
    claim, rank:
        What the rule shares, and the rank, per claim (only the claims in the schedule).
    exact:
        The exact values at this fund.
    lb:
        Lower bounds the filling started from (district floors), exact.
    last:
        The level at which each claim froze; for ``rising`` claims (frozen by the fund, which
        would go on rising with a larger fund) any value.
    units:
        Whole 万元 the schedule may hand out (the fund less what other claims hold).
    rows:
        Cap rows over these claims, besides the fund; ``fixed`` is what other claims hold in
        each.

    Returns
    -------
    Quota
        The awards, and ``direct`` or ``steps`` for how they were found.
    """
    n = claim.shape[0]
    top = np.where(rising, lvl.lmax, last)
    path = Path(lvl, claim, lb, top)
    lo = np.floor(_snap(exact, _WHOLE)).astype(np.int64)
    hi = np.ceil(_snap(exact, _WHOLE)).astype(np.int64)
    m = units - int(lo.sum())
    frac = np.flatnonzero(hi > lo)
    if m <= 0 or frac.shape[0] == 0:
        return Quota(lo, "direct")
    opt = _jobs(lvl, path, claim, lb, top, rising, frac, hi[frac])
    order = _order(opt, claim, rank)
    allowed = _row_room(rows, fixed, lo, frac, order, n)
    if allowed is not None:
        order = order[allowed[order]]
        taken = _fits(lvl, path, claim, lb, lo, opt, order, min(m, order.shape[0]), units)
        if taken is not None:
            award = lo.copy()
            award[frac[taken]] += 1
            return Quota(award, "direct")
    return Quota(
        run_schedule(lvl, claim, rank, exact, lb, last, rising, units, rows, fixed), "steps"
    )


def _row_room(
    rows: RowMatrix, fixed: IntArray, lo: IntArray, frac: IntArray, order: IntArray, n: int
) -> BoolArray | None:
    """Which of the units not yet due (claims ``frac``, most urgent first in ``order``) the
    rows leave room for, taken in that order; ``None`` when two rows short of room share a
    claim (then only the schedule itself can say)."""
    allowed = np.ones(frac.shape[0], dtype=bool)
    if not rows.count:
        return allowed
    room = rows.rhs - fixed - rows.sums(lo)
    pos = np.full(n, -1, dtype=np.int64)
    pos[frac] = np.arange(frac.shape[0], dtype=np.int64)
    pair = pos[rows.var] >= 0
    prow = rows.row[pair]
    pcand = pos[rows.var[pair]]
    short = np.bincount(prow, minlength=rows.count) > room
    if not short.any():
        return allowed
    sel = short[prow]
    prow, pcand = prow[sel], pcand[sel]
    if np.unique(pcand).shape[0] < pcand.shape[0]:
        return None
    place = np.empty(frac.shape[0], dtype=np.int64)
    place[order] = np.arange(frac.shape[0], dtype=np.int64)
    by = np.lexsort((place[pcand], prow))
    prow, pcand = prow[by], pcand[by]
    first = np.searchsorted(prow, prow, side="left")
    within = np.arange(prow.shape[0]) - first
    allowed[pcand[within >= room[prow]]] = False
    return allowed


def _fits(
    lvl: Level,
    path: Path,
    claim: IntArray,
    lb: FloatArray,
    lo: IntArray,
    opt: Jobs,
    order: IntArray,
    m: int,
    units: int,
) -> BoolArray | None:
    """Which units not yet due the schedule has paid by the fund ``units``: the most urgent
    first (``order``), each taken while the releases leave room for it.

    Paying unit ``j`` by fund ``units`` needs, with the units due, no fund ``s`` with more of
    them released at ``s`` or later than the ``units − s + 1`` whole 万元 from ``s`` on. These
    limits are nested (every later fund's set inside the earlier one's), so the most urgent
    set within them is found from the last fund down: at each release, what was kept from the
    later funds and the units released there, the least urgent dropped while over the room.
    ``None`` when the units due alone do not fit (they always do on an exact path).
    """
    who = np.repeat(np.arange(claim.shape[0], dtype=np.int64), lo)
    start = np.repeat(np.cumsum(lo) - lo, lo)
    unit = np.arange(who.shape[0], dtype=np.int64) - start + 1
    c = claim[who]
    k = unit.astype(np.float64)
    below = k - 1.0 < lb[who] - _WHOLE
    release = np.where(below, -_NEVER, path.fund(np.where(below, 0.0, sup_level(lvl, k - 1.0, c))))
    due = _slot(release)
    if bool((due > units).any()):
        return None
    count = np.bincount(due, minlength=units + 2)[1 : units + 1]
    room = units - np.arange(units, dtype=np.int64) - np.cumsum(count[::-1])[::-1]
    if bool((room < 0).any()):
        return None
    slot = np.minimum(_slot(opt.release), units + 1)
    taken = np.zeros(opt.release.shape[0], dtype=bool)
    first = order[:m]
    later = np.cumsum(np.bincount(slot[first], minlength=units + 2)[::-1])[::-1][1 : units + 1]
    if bool((later <= room).all()):
        taken[first] = True
        return taken
    place = np.zeros(opt.release.shape[0], dtype=np.int64)
    place[order] = np.arange(order.shape[0], dtype=np.int64)
    cand = order[slot[order] <= units]
    up = np.unique(slot[cand])  # releases, ascending
    # Least room from each release up to the next (room at fund s is room[s - 1]); the room
    # at a release itself is applied again there, which changes nothing.
    padded = np.r_[room, np.iinfo(np.int64).max]
    least = np.minimum.reduceat(padded, np.r_[0, up]).tolist()
    groups = np.split(
        cand[np.lexsort((place[cand], slot[cand]))],
        np.searchsorted(slot[cand][np.lexsort((place[cand], slot[cand]))], up[1:]),
    )
    heap: list[int] = []
    kept = place.tolist()
    for g in range(up.shape[0] - 1, -1, -1):
        limit = least[g + 1]
        while len(heap) > limit:
            heapq.heappop(heap)
        for j in groups[g].tolist():
            heapq.heappush(heap, -kept[j])
        limit = int(room[int(up[g]) - 1])
        while len(heap) > limit:
            heapq.heappop(heap)
    final = min(least[0], m)
    while len(heap) > final:
        heapq.heappop(heap)
    taken[order[[-q for q in heap]]] = True
    return taken


def run_schedule(
    lvl: Level,
    claim: IntArray,
    rank: IntArray,
    exact: FloatArray,
    lb: FloatArray,
    last: FloatArray,
    rising: BoolArray,
    units: int,
    rows: RowMatrix,
    fixed: IntArray,
) -> IntArray:
    """The quota method run one whole 万元 at a time, up to ``units``.

    Each step pays the most urgent released job (:func:`_order`) that every row still has
    room for, keeping in each row room for the units due later in it. A job a row has no
    room for is dropped; a step with nothing to pay leaves its 万元 to the next.
    """
    n = claim.shape[0]
    top = np.where(rising, lvl.lmax, last)
    path = Path(lvl, claim, lb, top)
    hi = np.ceil(_snap(exact, _WHOLE)).astype(np.int64)
    lo = np.floor(_snap(exact, _WHOLE)).astype(np.int64)
    who = np.repeat(np.arange(n, dtype=np.int64), hi)
    start = np.repeat(np.cumsum(hi) - hi, hi)
    unit = np.arange(who.shape[0], dtype=np.int64) - start + 1
    jobs = _jobs(lvl, path, claim, lb, top, rising, who, unit)
    urgency = np.empty(who.shape[0], dtype=np.int64)
    urgency[_order(jobs, claim, rank)] = np.arange(who.shape[0], dtype=np.int64)
    slot = _slot(jobs.release)
    by_slot = np.lexsort((urgency, slot))
    # A unit at or below the claim's rounded-down value is due by this fund: rows keep room.
    due = unit <= lo[who]
    ptr = np.zeros(n + 1, dtype=np.int64)
    order_rows = np.lexsort((rows.row, rows.var))
    np.cumsum(np.bincount(rows.var, minlength=n), out=ptr[1:])
    rows_sorted = rows.row[order_rows].tolist()
    ptr_l = ptr.tolist()
    room = (rows.rhs - fixed - rows.sums(lo)).tolist()
    award = [0] * n
    heap: list[tuple[int, int]] = []
    slot_l = slot[by_slot].tolist()
    job_l = by_slot.tolist()
    urg = urgency.tolist()
    who_l = who.tolist()
    due_l = due.tolist()
    nxt = 0
    paid = 0
    total = len(job_l)
    step = 1
    while step <= units:
        while nxt < total and slot_l[nxt] <= step:
            j = job_l[nxt]
            heapq.heappush(heap, (urg[j], j))
            nxt += 1
        if not heap:
            if nxt >= total:
                break
            step = slot_l[nxt]
            continue
        # A step that found nothing to pay is made up at the next: up to ``step`` in all.
        while heap and paid < step:
            _u, j = heapq.heappop(heap)
            i = who_l[j]
            mine = rows_sorted[ptr_l[i] : ptr_l[i + 1]]
            if not due_l[j]:
                if not all(room[r] >= 1 for r in mine):
                    continue
                for r in mine:
                    room[r] -= 1
            award[i] += 1
            paid += 1
        step += 1
    return np.asarray(award, dtype=np.int64)


__all__ = ["Path", "Quota", "least_level", "quota_awards", "run_schedule", "sup_level"]


def order_breaks(exact: FloatArray, claim: IntArray, award: IntArray, rows: RowMatrix) -> bool:
    """Whether one whole 万元 moved between two claims would put awards or losses back in
    the order of the exact values without passing a full row.

    A break: a claim rounded down whose exact value (or exact loss) passes that of a claim
    rounded up from the same whole number (the loss: from the same whole loss), where every
    full row holding the first holds the second. Under the fund alone the quota method
    leaves none (the exact values keep their order all along the path); under rows that
    freeze some claims while others rise, the orders cross, and the caller then solves for
    the nearest vector instead. Only the smallest full row of the first claim is compared
    (exact for nested rows; elsewhere it may report a break that a larger row forbids, never
    miss one).
    """
    e = _snap(exact, _WHOLE)
    lo = np.floor(e).astype(np.int64)
    frac = e > lo
    down = frac & (award == lo)
    up = frac & (award == lo + 1)
    if not (down.any() and up.any()):
        return False
    n = claim.shape[0]
    size = np.bincount(rows.row, minlength=rows.count)
    full = rows.sums(award) >= rows.rhs
    pair_full = full[rows.row]
    # Per claim, its smallest full row (-1: none, any claim may give to it).
    big = np.iinfo(np.int64).max
    key = np.full(n, big, dtype=np.int64)
    rank_row = size.astype(np.int64) * (rows.count + 1) + np.arange(rows.count)
    np.minimum.at(key, rows.var[pair_full], rank_row[rows.row[pair_full]])
    held = np.where(key == big, -1, key % (rows.count + 1))
    loss = claim - e
    loss_lo = np.floor(_snap(loss, _WHOLE)).astype(np.int64)
    for value, bucket, worse in ((e, lo, 1.0), (-loss, loss_lo, 1.0)):
        # Givers: claims rounded up, by (row they are in or -1, whole part).
        g_row = np.concatenate([np.full(int(up.sum()), -1), rows.row[up[rows.var]]])
        g_var = np.concatenate([np.flatnonzero(up), rows.var[up[rows.var]]])
        d = np.flatnonzero(down)
        width = int(bucket.max()) - int(bucket.min()) + 1
        base = int(bucket.min())
        g_key = (g_row + 1) * width + (bucket[g_var] - base)
        d_key = (held[d] + 1) * width + (bucket[d] - base)
        order = np.argsort(g_key, kind="stable")
        sk = g_key[order]
        least = np.minimum.reduceat(
            value[g_var][order], np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        )
        uniq = sk[np.r_[True, sk[1:] != sk[:-1]]]
        at = np.searchsorted(uniq, d_key)
        found = (at < uniq.shape[0]) & (uniq[np.minimum(at, uniq.shape[0] - 1)] == d_key)
        tol = 1e-9 * (1.0 + np.abs(value[d]))
        if bool(
            (found & (value[d] > least[np.minimum(at, uniq.shape[0] - 1)] + tol * worse)).any()
        ):
            return True
    return False
