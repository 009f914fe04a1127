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

Every ``a(c, t)`` is written with ``G(u) = Σ min(c, u)`` over the claims still rising, which a
sorted list and its prefix sums evaluate and invert exactly; the rows are taken from a heap
by the level at which they fill, each recomputed only when it comes up after one of its
claims stopped (the level a row fills at can only rise when a claim stops).
"""

from __future__ import annotations

import bisect
import heapq
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


class _Rising:
    """The claims of one row still rising: ``G(u) = Σ min(c, u)``, its inverse and total."""

    def __init__(self, claims: list[int]) -> None:
        self.sorted = sorted(claims)
        self.prefix = [0, *accumulate(self.sorted)]
        self.total = self.prefix[-1]

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
        if not self.sorted:
            return Fraction(0)
        if rule == "proportional":
            return level * self.total
        if rule == "equal_awards":
            return self.g(level)
        if rule == "equal_losses":
            return self.total - self.g(max(Fraction(0), largest - level))
        if level <= largest:
            return self.g(level) / 2
        return self.total - self.g(2 * largest - level) / 2

    def level_for(self, rule: str, y: Fraction, largest: int) -> Fraction:
        """The least level at which the rising claims hold ``y`` together (0 < y ≤ total)."""
        if rule == "proportional":
            return y / self.total
        if rule == "equal_awards":
            return self.g_inverse(y)
        if rule == "equal_losses":
            return largest - self.g_inverse(self.total - y)
        if 2 * y <= self.total:
            return self.g_inverse(2 * y)
        return 2 * largest - self.g_inverse(2 * (self.total - y))


def exact_levels(
    rule: str,
    claims: Sequence[int],
    rows: Sequence[LimitRow],
    fixed: Sequence[Fraction | int] | None = None,
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
        (all-or-nothing items paid in full): the row's claims share ``rhs − fixed``.

    Returns
    -------
    list of Fraction
        One exact award per claim: the level at which its first row filled, or its claim.
    """
    if rule not in LEVEL_RULES:
        raise ValueError(f"not a level rule: {rule}")
    n = len(claims)
    largest = max(claims, default=0)
    top = top_level(rule, largest)
    value: list[Fraction | None] = [None] * n
    rows_of: list[list[int]] = [[] for _ in range(n)]
    for j, row in enumerate(rows):
        for i in row.members:
            rows_of[i].append(j)
    taken = [Fraction(f) for f in (fixed if fixed is not None else [0] * len(rows))]
    version = [0] * len(rows)
    done = [False] * len(rows)
    level = Fraction(0)

    def fills_at(j: int) -> Fraction | None:
        rising = _Rising([claims[i] for i in rows[j].members if value[i] is None])
        if not rising.sorted:
            return None
        room = rows[j].rhs - taken[j]
        if room <= rising.amount(rule, level, largest):
            return level
        if room >= rising.amount(rule, top, largest):
            return None  # every claim of the row fits in full
        return max(level, rising.level_for(rule, room, largest))

    heap: list[tuple[Fraction, int, int]] = []
    for j in range(len(rows)):
        at = fills_at(j)
        if at is None:
            done[j] = True
        else:
            heap.append((at, j, 0))
    heapq.heapify(heap)
    while heap:
        at, j, seen = heapq.heappop(heap)
        if done[j]:
            continue
        if seen != version[j]:
            # A claim of the row stopped since: the row fills later, if at all.
            fresh = fills_at(j)
            if fresh is None:
                done[j] = True
            else:
                heapq.heappush(heap, (fresh, j, version[j]))
            continue
        level = max(level, at)
        done[j] = True
        for i in rows[j].members:
            if value[i] is not None:
                continue
            v = share(rule, claims[i], level, largest)
            value[i] = v
            for k in rows_of[i]:
                taken[k] += v
                version[k] += 1
    return [Fraction(claims[i]) if v is None else v for i, v in enumerate(value)]


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


__all__ = ["LEVEL_RULES", "LimitRow", "exact_levels", "order_broken", "share", "top_level"]
