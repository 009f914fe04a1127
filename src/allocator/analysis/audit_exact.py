"""Each level rule again, in exact fractions, on a run's claims and limits.

A level rule raises one common level ``t`` and pays each claim ``c`` its share ``a(c, t)``:

- ``proportional``: ``a = t·c``, ``t`` from 0 to 1;
- ``equal_awards``: ``a = min(c, t)``, ``t`` from 0 to the largest claim ``K``;
- ``equal_losses``: ``a = max(0, c − (K − t))``, a common loss ``K − t``;
- ``talmud`` (Aumann–Maschler): ``a = min(c, t)/2`` for ``t ≤ K`` (equal awards on the
  half-claims), then ``c − min(c, 2K − t)/2`` up to ``t = 2K`` (equal losses on the other halves).

Under limits, the level rises until a row (the fund, a sub-budget, a firm or district cap, a
shared provincial deduction) is full; the claims in that row stop there, the others go on
rising, until every claim has stopped or reached its claim. :func:`exact_levels` computes this
in :class:`fractions.Fraction`, with nothing shared with the solver: the exact value an
integer allocation must stay within 1万元 of (``docs/audit.md``).

An all-or-nothing claim that competes (``fairness.one_offs: compete``) is 0 until ``a(c, t)``
reaches ``c`` and ``c`` from there: it rises with the level and jumps to its whole claim. A
row it would jump past is full at that level from below: its claims stop there and the item
stays at 0, even though the row still has room (docs/fairness.md, "All-or-nothing items").

District floors are met first (:func:`exact_with_floors`): the floored districts' claims rise
together, each floor acting as a cap, and what they reach bounds the main filling from below,
where a claim holds ``max(bound, a(c, t))``.

Every ``a(c, t)`` is written with ``G(u) = Σ min(c, u)`` over the claims still rising, which a
sorted list and its prefix sums evaluate and invert exactly; the rows are taken from a heap
by the level at which they fill, each recomputed only when it comes up after one of its
claims stopped (the level a row fills at can only rise when a claim stops).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

LEVEL_RULES = ("proportional", "equal_awards", "equal_losses", "talmud")


@dataclass(frozen=True)
class LimitRow:
    """A row ``Σ award ≤ rhs`` over ``members`` (positions into the claims)."""

    rhs: int
    members: Sequence[int]


def top_level(rule: str, largest: int) -> Fraction:
    """The level at which every claim is paid in full under ``rule``.

    Parameters
    ----------
    rule:
        One of :data:`LEVEL_RULES`.
    largest:
        The largest claim, in 万元.
    """
    if rule == "proportional":
        return Fraction(1)
    if rule in ("equal_awards", "equal_losses"):
        return Fraction(largest)
    if rule == "talmud":
        return Fraction(2 * largest)
    raise ValueError(f"not a level rule: {rule}")


def share(rule: str, claim: int, level: Fraction, largest: int) -> Fraction:
    """What ``rule`` pays a claim of ``claim`` at ``level`` (``largest``: the largest claim).

    Parameters
    ----------
    rule:
        One of :data:`LEVEL_RULES`.
    claim:
        The claim, in 万元.
    level:
        The common level, from 0 to :func:`top_level`.
    largest:
        The largest claim of the instance, in 万元.
    """
    c = Fraction(claim)
    if rule == "proportional":
        return level * c
    if rule == "equal_awards":
        return min(c, level)
    if rule == "equal_losses":
        return max(Fraction(0), c - (largest - level))
    if rule == "talmud":
        if level <= largest:
            return min(c, level) / 2
        return c - min(c, 2 * largest - level) / 2
    raise ValueError(f"not a level rule: {rule}")


def whole_at(rule: str, claim: int, largest: int) -> Fraction:
    """The least level at which ``rule`` pays a claim of ``claim`` in full.

    Parameters
    ----------
    rule:
        One of :data:`LEVEL_RULES`.
    claim:
        The claim, in 万元.
    largest:
        The largest claim of the instance, in 万元.
    """
    if rule == "equal_awards":
        return Fraction(claim)
    # proportional, equal losses and the Talmud pay a claim in full only at the top level.
    return top_level(rule, largest)


class _Rising:
    """The claims of one row still rising: ``G(u) = Σ min(c, u)``, its inverse and total.

    ``bounded`` are rising claims held at a lower bound, as ``(claim, bound)`` with
    ``0 < bound < claim``: each holds ``max(bound, a(c, t))``, and the row's amount is found
    again along its breakpoints when any is there.
    """

    def __init__(self, claims: list[int], bounded: Sequence[tuple[int, Fraction]] = ()) -> None:
        self.sorted = sorted(claims)
        self.prefix = [0, *accumulate(self.sorted)]
        self.bounded = list(bounded)
        self.total = self.prefix[-1] + sum(c for c, _ in self.bounded)

    def g(self, u: Fraction) -> Fraction:
        """``Σ min(c, u)`` for ``u ≥ 0``."""
        k = bisect.bisect_right(self.sorted, u)
        return self.prefix[k] + u * (len(self.sorted) - k)

    def g_inverse(self, y: Fraction) -> Fraction:
        """The least ``u ≥ 0`` with ``G(u) = y``, for ``0 ≤ y ≤ total``."""
        n = len(self.sorted)
        # G at the k-th smallest claim is prefix[k] + c_k·(n − k): find the first k it reaches y.
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            c = self.sorted[mid]
            if self.prefix[mid] + c * (n - mid) >= y:
                hi = mid
            else:
                lo = mid + 1
        # Between the (lo−1)-th and lo-th claims, G(u) = prefix[lo] + u·(n − lo).
        return (y - self.prefix[lo]) / (n - lo)

    def amount(self, rule: str, level: Fraction, largest: int) -> Fraction:
        """What the rising claims hold together at ``level``."""
        held = sum((max(b, share(rule, c, level, largest)) for c, b in self.bounded), Fraction(0))
        return held + self._free(rule, level, largest)

    def _free(self, rule: str, level: Fraction, largest: int) -> Fraction:
        """What the rising claims without a bound hold together at ``level``."""
        if not self.sorted:
            return Fraction(0)
        total = self.prefix[-1]
        if rule == "proportional":
            return level * total
        if rule == "equal_awards":
            return self.g(level)
        if rule == "equal_losses":
            return total - self.g(max(Fraction(0), largest - level))
        if level <= largest:
            return self.g(level) / 2
        return total - self.g(2 * largest - level) / 2

    def level_for(self, rule: str, y: Fraction, largest: int) -> Fraction:
        """The least level at which the rising claims hold ``y`` together (0 < y ≤ total)."""
        if self.bounded:
            return self._walk(rule, y, largest)
        if rule == "proportional":
            return y / self.total
        if rule == "equal_awards":
            return self.g_inverse(y)
        if rule == "equal_losses":
            return largest - self.g_inverse(self.total - y)
        if 2 * y <= self.total:
            return self.g_inverse(2 * y)
        return 2 * largest - self.g_inverse(2 * (self.total - y))

    def _walk(self, rule: str, y: Fraction, largest: int) -> Fraction:
        """:meth:`level_for` with bounded claims: the amount is linear between the levels at
        which a claim bends (its kinks and the level at which it leaves its bound), so the
        level is found between the two breakpoints around ``y``."""
        points = {Fraction(0), top_level(rule, largest)}
        for c in [*self.sorted, *(c for c, _ in self.bounded)]:
            points.update(_kinks(rule, c, largest))
        for c, b in self.bounded:
            points.add(released_at(rule, c, b, largest))
        ordered = sorted(points)
        lo, hi = 0, len(ordered) - 1
        if self.amount(rule, ordered[0], largest) >= y:
            return ordered[0]
        # The first breakpoint at which the amount reaches y: the amount is below it at lo.
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.amount(rule, ordered[mid], largest) >= y:
                hi = mid
            else:
                lo = mid
        a, b = ordered[lo], ordered[hi]
        f_a, f_b = self.amount(rule, a, largest), self.amount(rule, b, largest)
        return a + (y - f_a) * (b - a) / (f_b - f_a)


def _kinks(rule: str, claim: int, largest: int) -> tuple[Fraction, ...]:
    """The levels at which ``a(claim, t)`` bends."""
    if rule == "equal_awards":
        return (Fraction(claim),)
    if rule == "equal_losses":
        return (Fraction(largest - claim),)
    if rule == "talmud":
        return (Fraction(claim), Fraction(2 * largest - claim))
    return ()


def released_at(rule: str, claim: int, bound: Fraction, largest: int) -> Fraction:
    """The least level at which ``rule`` pays a claim of ``claim`` its lower bound ``bound``.

    Parameters
    ----------
    rule:
        One of :data:`LEVEL_RULES`.
    claim:
        The claim, in 万元 (positive).
    bound:
        The bound, ``0 < bound < claim``.
    largest:
        The largest claim of the instance, in 万元.
    """
    if rule == "proportional":
        return bound / claim
    if rule == "equal_awards":
        return bound
    if rule == "equal_losses":
        return largest - claim + bound
    if rule == "talmud":
        if 2 * bound <= claim:
            return 2 * bound
        return 2 * largest - 2 * (claim - bound)
    raise ValueError(f"not a level rule: {rule}")


def exact_levels(
    rule: str,
    claims: Sequence[int],
    rows: Sequence[LimitRow],
    fixed: Sequence[Fraction | int] | None = None,
    all_or_nothing: Sequence[bool] | None = None,
    lower: Sequence[Fraction | int] | None = None,
    largest: int | None = None,
) -> list[Fraction]:
    """The exact award of every claim under ``rule`` and the limits ``rows``.

    Parameters
    ----------
    rule:
        One of :data:`LEVEL_RULES`.
    claims:
        What the rule shares for each claim, in 万元 (non-negative).
    rows:
        The limits; a member is a position into ``claims``.
    fixed:
        Per row, an amount already taken from it by awards that do not follow the level
        (all-or-nothing items paid first, ``one_offs: first``): the row's claims share
        ``rhs − fixed``.
    all_or_nothing:
        Per claim, whether it is paid whole or not at all and competes with the level
        (``one_offs: compete``): 0 until the rule's share reaches its claim, then the claim;
        a row it would jump past stops the level just below and it stays at 0.
    lower:
        Per claim, a lower bound (what a district floor lifted it to): the claim holds
        ``max(lower, a(c, t))``, and is whole from the start when the bound reaches its
        claim. An all-or-nothing claim's bound is 0 or its claim.
    largest:
        The largest claim of the instance, when claims outside ``claims`` are larger; by
        default the largest of ``claims``.

    Returns
    -------
    list of Fraction
        One exact award per claim: its share at the level at which its first row filled, or
        its claim.
    """
    if rule not in LEVEL_RULES:
        raise ValueError(f"not a level rule: {rule}")
    n = len(claims)
    top_claim = max(claims, default=0) if largest is None else largest
    value: list[Fraction | None] = [None] * n
    indivisible = list(all_or_nothing) if all_or_nothing is not None else [False] * n
    bound = [Fraction(b) for b in (lower if lower is not None else [0] * n)]
    jump_at = [whole_at(rule, c, top_claim) for c in claims]
    rows_of: list[list[int]] = [[] for _ in range(n)]
    for j, row in enumerate(rows):
        for i in row.members:
            rows_of[i].append(j)
    taken = [Fraction(f) for f in (fixed if fixed is not None else [0] * len(rows))]
    for i in range(n):
        # A claim its bound pays in full holds its claim at every level: it is not rising.
        if bound[i] > 0 and (indivisible[i] or bound[i] >= claims[i]):
            value[i] = Fraction(claims[i])
            for k in rows_of[i]:
                taken[k] += claims[i]
    version = [0] * len(rows)
    done = [False] * len(rows)
    level = Fraction(0)

    def fills_at(j: int) -> tuple[Fraction, int] | None:
        members = [i for i in rows[j].members if value[i] is None]
        free = [i for i in members if not indivisible[i]]
        divisible = _Rising(
            [claims[i] for i in free if bound[i] == 0],
            [(claims[i], bound[i]) for i in free if bound[i] > 0],
        )
        jumps = sorted((jump_at[i], claims[i]) for i in members if indivisible[i])
        return _fill_point(rule, top_claim, divisible, jumps, rows[j].rhs - taken[j], level)

    # At one level: a row stopped just below a jump first, then the smaller row, then the first.
    heap: list[tuple[Fraction, int, int, int, int]] = []
    for j in range(len(rows)):
        point = fills_at(j)
        if point is None:
            done[j] = True
        else:
            heap.append((*point, len(rows[j].members), j, 0))
    heapq.heapify(heap)
    while heap:
        at, order, _, j, seen = heapq.heappop(heap)
        if done[j]:
            continue
        if seen != version[j]:
            # A claim of the row stopped since: the row fills later, if at all.
            fresh = fills_at(j)
            if fresh is None:
                done[j] = True
            else:
                heapq.heappush(heap, (*fresh, len(rows[j].members), j, version[j]))
            continue
        level = max(level, at)
        done[j] = True
        below = order == _FROM_BELOW
        for i in rows[j].members:
            if value[i] is not None:
                continue
            if indivisible[i]:
                # Whole once the level has reached it, unless this row stops the level just
                # below the jump: then it stays at 0.
                reached = jump_at[i] < level or (jump_at[i] == level and not below)
                v = Fraction(claims[i]) if reached else Fraction(0)
            else:
                v = max(bound[i], share(rule, claims[i], level, top_claim))
            value[i] = v
            for k in rows_of[i]:
                taken[k] += v
                version[k] += 1
    return [Fraction(claims[i]) if v is None else v for i, v in enumerate(value)]


def exact_with_floors(
    rule: str,
    claims: Sequence[int],
    rows: Sequence[LimitRow],
    floors: Sequence[LimitRow],
    fixed: Sequence[Fraction | int] | None = None,
    floor_fixed: Sequence[Fraction | int] | None = None,
    all_or_nothing: Sequence[bool] | None = None,
    largest: int | None = None,
) -> list[Fraction] | None:
    """The exact award of every claim under ``rule`` with district floors met first.

    The claims of the floored districts rise together under the rule's level, every other
    claim held at 0 and every limit of ``rows`` kept, each floor acting as the cap of its
    district: they reach it exactly. What they reach is a lower bound of the main filling,
    where every claim holds ``max(bound, a(c, t))`` (docs/fairness.md, "District floors").

    Parameters
    ----------
    rule, claims, rows, fixed, all_or_nothing, largest:
        As for :func:`exact_levels`.
    floors:
        The district floors, ``rhs`` the floor, members positions into ``claims``.
    floor_fixed:
        Per floor, what awards that do not follow the level already pay towards it.

    Returns
    -------
    list of Fraction or None
        One exact award per claim, or None when filling the districts cannot meet a floor:
        the rule alone then gives no value (the engine's one-worker search decides).
    """
    n = len(claims)
    top_claim = max(claims, default=0) if largest is None else largest
    aon = list(all_or_nothing) if all_or_nothing is not None else [False] * n
    lower = [Fraction(0)] * n
    if floors:
        inside = sorted({i for row in floors for i in row.members})
        where = {i: k for k, i in enumerate(inside)}
        kept = [
            (LimitRow(row.rhs, [where[i] for i in row.members if i in where]), f)
            for row, f in zip(rows, fixed if fixed is not None else [0] * len(rows), strict=True)
        ]
        kept = [(row, f) for row, f in kept if row.members]
        # The floors come after the other rows: at one level and size, those bind first.
        floor_rows = [LimitRow(row.rhs, [where[i] for i in row.members]) for row in floors]
        given = floor_fixed if floor_fixed is not None else [0] * len(floors)
        reached = exact_levels(
            rule,
            [claims[i] for i in inside],
            [row for row, _ in kept] + floor_rows,
            [f for _, f in kept] + list(given),
            [aon[i] for i in inside],
            largest=top_claim,
        )
        for row, f in zip(floor_rows, given, strict=True):
            if f + sum((reached[k] for k in row.members), Fraction(0)) < row.rhs:
                return None
        for i, v in zip(inside, reached, strict=True):
            lower[i] = v
    return exact_levels(rule, claims, rows, fixed, aon, lower, top_claim)


# At one level a row stopped just below a jump fills before a row that fills exactly there: the
# item it stops at 0 must not be counted whole by the other (docs/fairness.md).
_FROM_BELOW = 0
_EXACTLY = 1


def _fill_point(
    rule: str,
    largest: int,
    divisible: _Rising,
    jumps: list[tuple[Fraction, int]],
    room: Fraction,
    level: Fraction,
) -> tuple[Fraction, int] | None:
    """The least level from ``level`` on at which a row's rising claims fill ``room``.

    ``divisible`` are the row's divisible claims still rising, ``jumps`` its all-or-nothing
    ones as (the level at which each becomes whole, its claim), sorted. Returns the level and
    whether the row is full there exactly or only from below (a jump would pass ``room``),
    or None when every claim of the row fits in full.
    """
    top = top_level(rule, largest)
    whole = sum((c for at, c in jumps if at < level), Fraction(0))
    ahead = [(at, c) for at, c in jumps if at >= level]
    start = level
    n = 0
    while True:
        need = room - whole
        if need <= divisible.amount(rule, start, largest):
            # Full already: an item becoming whole right here would pass it.
            jumping = any(a == start and c > 0 for a, c in ahead[n:])
            return start, _FROM_BELOW if jumping else _EXACTLY
        if n == len(ahead):
            if need >= divisible.amount(rule, top, largest):
                return None  # every claim of the row fits in full
            return max(start, divisible.level_for(rule, need, largest)), _EXACTLY
        at = ahead[n][0]
        before = divisible.amount(rule, at, largest)
        if need < before:
            return max(start, divisible.level_for(rule, need, largest)), _EXACTLY
        step = sum(c for a, c in ahead[n:] if a == at)
        if before + step > need:
            return at, _FROM_BELOW
        if before + step == need:
            return at, _EXACTLY
        whole += step
        while n < len(ahead) and ahead[n][0] == at:
            n += 1
        start = at


def order_broken(key: list[Fraction], got: list[Fraction]) -> tuple[int, int] | None:
    """Two positions where ``key`` is strictly larger but ``got`` smaller, or None.

    Parameters
    ----------
    key:
        The exact values (awards or losses) that set the order.
    got:
        The values paid, in the same positions.

    Returns
    -------
    tuple or None
        ``(i, j)`` with ``key[i] > key[j]`` and ``got[i] < got[j]``; ties of ``key`` may come
        out in either order.
    """
    order = sorted(range(len(key)), key=lambda n: key[n])
    best: int | None = None  # the largest ``got`` of the smaller keys seen so far
    n = 0
    while n < len(order):
        m = n
        while m < len(order) and key[order[m]] == key[order[n]]:
            m += 1
        tie = order[n:m]
        low = min(tie, key=lambda p: got[p])
        if best is not None and got[low] < got[best]:
            return low, best
        high = max(tie, key=lambda p: got[p])
        if best is None or got[high] > got[best]:
            best = high
        n = m
    return None


def rounded_down_with_room(
    exact: Sequence[Fraction],
    awards: Sequence[int],
    rows_of: Sequence[frozenset[int]],
    tight: frozenset[int],
) -> list[int]:
    """The awards left at their exact value rounded down though no full row holds them.

    ``spend_all`` rounds up as many awards as the rows allow, so each of these could take one
    more 万元. Where rows cross and the fund has room, that can pay more than the exact values
    add up to: rows {a, b} and {b, c} of 1万元 each over values ½, ½, ½ pay (1, 0, 1).

    Parameters
    ----------
    exact, awards:
        The exact values and the whole-万元 awards, by claim.
    rows_of:
        Per claim, the rows it is in.
    tight:
        The rows without 1万元 of slack.
    """
    return [
        n
        for n, (a, v) in enumerate(zip(awards, exact, strict=True))
        if a < v and a == math.floor(v) and not rows_of[n] & tight
    ]


def movable_breaks(
    exact: Sequence[Fraction],
    claims: Sequence[int],
    awards: Sequence[int],
    rows_of: Sequence[frozenset[int]],
    tight: frozenset[int],
) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """Order broken where one whole 万元 moved between two claims would mend it.

    Under limits the order of the exact values cannot always be kept: two firms at their caps,
    one with claims at ½ and ½, the other at ⅓, ⅓ and ⅓, each pay one unit, so some ⅓ is paid
    1 and some ½ is paid 0. What the limits do allow is moving one unit from the claim paid
    more to the one paid less when no full row holds the receiver without the giver; a
    rounding that takes the larger fractional parts first (Hamilton) never leaves such a pair.

    Parameters
    ----------
    exact:
        The exact values.
    claims:
        The claims, in 万元.
    awards:
        The whole-万元 awards paid.
    rows_of:
        Per claim, the rows (any ids) it is in.
    tight:
        The rows without 1万元 of slack.

    Returns
    -------
    tuple
        ``(i, j)`` with ``exact[i] > exact[j]`` and ``awards[i] < awards[j]`` that one unit
        from ``j`` to ``i`` mends, or None; then ``(i, j)`` with the exact loss of ``i`` larger
        and its loss paid smaller that one unit from ``i`` to ``j`` mends, or None.
    """
    n = len(exact)
    floors = [math.floor(v) for v in exact]
    whole = [v.denominator == 1 for v in exact]
    down = [not whole[k] and awards[k] == floors[k] for k in range(n)]
    up = [not whole[k] and awards[k] == floors[k] + 1 for k in range(n)]
    loss = [claims[k] - exact[k] for k in range(n)]
    members: dict[int, list[int]] = {}
    for k in range(n):
        if up[k]:
            for r in rows_of[k]:
                members.setdefault(r, []).append(k)
    # Per set of full rows a receiver is in: the givers in all of them, by floor of the exact
    # value (the least value) and by floor of the exact loss (the largest loss).
    seen: dict[frozenset[int], tuple[dict[int, int], dict[int, int]]] = {}

    def givers(held: frozenset[int]) -> tuple[dict[int, int], dict[int, int]]:
        if held not in seen:
            if held:
                smallest = min(held, key=lambda r: (len(members.get(r, [])), r))
                pool = [k for k in members.get(smallest, []) if held <= rows_of[k]]
            else:
                pool = [k for k in range(n) if up[k]]
            least: dict[int, int] = {}
            most: dict[int, int] = {}
            for k in pool:
                f = floors[k]
                if f not in least or exact[k] < exact[least[f]]:
                    least[f] = k
                g = math.floor(loss[k])
                if g not in most or loss[k] > loss[most[g]]:
                    most[g] = k
            seen[held] = (least, most)
        return seen[held]

    award_break: tuple[int, int] | None = None
    loss_break: tuple[int, int] | None = None
    for d in range(n):
        if not down[d]:
            continue
        least, most = givers(rows_of[d] & tight)
        u = least.get(floors[d])
        if award_break is None and u is not None and exact[u] < exact[d]:
            award_break = (d, u)
        u = most.get(math.floor(loss[d]))
        if loss_break is None and u is not None and loss[u] > loss[d]:
            loss_break = (u, d)
        if award_break is not None and loss_break is not None:
            break
    return award_break, loss_break


__all__ = [
    "LEVEL_RULES",
    "LimitRow",
    "exact_levels",
    "exact_with_floors",
    "movable_breaks",
    "order_broken",
    "released_at",
    "rounded_down_with_room",
    "share",
    "top_level",
    "whole_at",
]
