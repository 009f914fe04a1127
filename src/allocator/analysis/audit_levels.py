"""Whether claims held by the same rows share one level of a fairness rule, up to the
whole-万元 rounding: the integer consistency check of :func:`level_violation`."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator.analysis.audit_findings import num
from allocator.core.i18n import _

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def level_violation(
    rule: str, claim: npt.ArrayLike, award: npt.ArrayLike
) -> tuple[int, int, str] | None:
    """Whether awards share one level of ``rule`` up to whole-万元 rounding.

    The claims are those a level rule treats alike (held by the same rows); ``claim`` is what
    the rule shares (the claim less any provincial deduction), ``award`` what was paid.

    - ``proportional``: some ratio ``r`` has ``|award − r·claim| < 1`` for all;
    - ``equal_awards``: the awards below their claims differ by at most 1万元, and an award
      paid in full is at most the lowest of them plus 1;
    - ``equal_losses``: the losses of the paid awards differ by at most 1万元, and an award of
      0 has a claim at most the lowest of those losses plus 1;
    - ``talmud`` (Aumann–Maschler): with ``λ`` in half-万元, ``min(c/2, λ)`` until every
      half-claim is reached, then ``c − min(c/2, μ)`` with a common loss ``μ``; some level has
      every award between the floor of its target and the floor of the next half-万元 step's.

    Returns
    -------
    tuple or None
        None when consistent; else two positions (into the arrays) that cannot share a
        level, and a sentence saying why.
    """
    c = np.asarray(claim, dtype=np.int64)
    x = np.asarray(award, dtype=np.float64)
    if c.size < 1:
        return None
    if rule == "proportional":
        return _proportional(c, x)
    if rule == "equal_awards":
        return _equal_awards(c, x)
    if rule == "equal_losses":
        return _equal_losses(c, x)
    if rule == "talmud":
        return _talmud(c, x)
    raise ValueError(f"not a level rule: {rule}")


def _proportional(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    # r must lie in ((x − 1)/c, (x + 1)/c) for every claim: the intervals must meet.
    low = (x - 1) / c
    high = (x + 1) / c
    i, j = int(np.argmax(low)), int(np.argmin(high))
    xi, xj = Fraction(float(x[i])), Fraction(float(x[j]))
    if (xi - 1) / int(c[i]) < (xj + 1) / int(c[j]):
        return None
    return (
        i,
        j,
        _(
            "no common ratio r has |award − r·claim| < 1 for both: the first needs r > {low}, "
            "the second r < {high}"
        ).format(
            low=f"{float((xi - 1) / int(c[i])):.4f}", high=f"{float((xj + 1) / int(c[j])):.4f}"
        ),
    )


def _equal_awards(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    cut = np.flatnonzero(x < c)
    if cut.size == 0:
        return None
    lo, hi = cut[np.argmin(x[cut])], cut[np.argmax(x[cut])]
    if x[hi] - x[lo] > 1:
        return (
            int(hi),
            int(lo),
            _(
                "awards below their claims differ by {difference}万元 (at most 1 under equal "
                "awards)"
            ).format(difference=num(x[hi] - x[lo])),
        )
    full = np.flatnonzero(x >= c)
    if full.size:
        big = full[np.argmax(c[full])]
        if c[big] > x[lo] + 1:
            return (
                int(big),
                int(lo),
                _(
                    "paid in full {claim}万元 while another award is held at {held}万元 (equal "
                    "awards pays at most the level + 1)"
                ).format(claim=int(c[big]), held=num(x[lo])),
            )
    return None


def _equal_losses(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    paid = np.flatnonzero(x > 0)
    if paid.size == 0:
        return None
    loss = c - x
    lo, hi = paid[np.argmin(loss[paid])], paid[np.argmax(loss[paid])]
    if loss[hi] - loss[lo] > 1:
        return (
            int(hi),
            int(lo),
            _(
                "losses of paid awards differ by {difference}万元 (at most 1 under equal losses)"
            ).format(difference=num(loss[hi] - loss[lo])),
        )
    zero = np.flatnonzero(x == 0)
    if zero.size:
        big = zero[np.argmax(c[zero])]
        if c[big] > loss[lo] + 1:
            return (
                int(big),
                int(lo),
                _(
                    "a claim of {claim}万元 got nothing while another lost only {loss}万元 (equal "
                    "losses takes at most the common loss + 1)"
                ).format(claim=int(c[big]), loss=num(loss[lo])),
            )
    return None


def _talmud_half(level: IntArray, c: IntArray, k: int) -> IntArray:
    """The Talmud target in half-万元 at half-万元 level ``level`` (0..2k, k the largest claim)."""
    first = np.minimum(c, level)  # equal awards on the half-claims: c/2 reached at level c
    second = 2 * c - np.minimum(c, 2 * k - level)  # then equal losses on the other halves
    return np.where(level <= k, first, second).astype(np.int64)


def _talmud(c: IntArray, x: FloatArray) -> tuple[int, int, str] | None:
    k = int(c.max())
    top = 2 * k

    def first_level(pred: Any) -> IntArray:
        """Least level in 0..top+1 where pred (monotone false → true) holds, per claim."""
        lo = np.full(c.size, -1, dtype=np.int64)
        hi = np.full(c.size, top + 1, dtype=np.int64)
        while bool((hi - lo > 1).any()):
            mid = (lo + hi) // 2
            ok = pred(mid)
            hi = np.where(ok & (hi - lo > 1), mid, hi)
            lo = np.where(~ok & (hi - lo > 1), mid, lo)
        return hi

    def target(level: IntArray) -> IntArray:
        return _talmud_half(np.minimum(level, top), c, k) // 2

    # Levels where the target already exceeds the award are too high; the award must be
    # reached by the next step's target: B <= L <= A for a common L.
    above = first_level(lambda lv: target(lv) > x)
    reach = first_level(lambda lv: target(lv + 1) >= x)
    a_max = above - 1
    i, j = int(np.argmax(reach)), int(np.argmin(a_max))
    if reach[i] <= a_max[j]:
        return None
    return (
        i,
        j,
        _(
            "no common Talmud level (half-claims first, then equal losses on the other halves) "
            "gives both awards: the first needs λ ≥ {low}万元, the second λ ≤ {high}万元"
        ).format(low=f"{reach[i] / 2:g}", high=f"{a_max[j] / 2:g}"),
    )


__all__ = ["level_violation"]
