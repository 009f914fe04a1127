"""No-duplicate groups bounded in closed form, for reduced-cost fixing at scale.

Reduced-cost fixing (:mod:`allocator.solve.fixing`) bounds ``Σ r·x`` over the claims it does
not relax. With few such claims one CP-SAT model holds them all; with hundreds of thousands
(the crossing family of ``benchmarks/baselines.py`` at 100,000 firms has 59,325
groups) that model is no longer small, and dropping the groups would cost the bound what the
groups forbid: every member paid at once. A group whose members share no row kept whole has
an exact bound of its own, one line long: at most one member is paid, so the group's part of
``Σ r·x`` is at most the largest of what each member alone can add, ``m_k``:

* ``r_k·claim_k`` for a member with ``r_k > 0`` (paid in full), or an all-or-nothing one;
* ``r_k`` for a divisible member with ``r_k ≤ 0`` (paid the least it can be, one 万元);

and 0 when no member is paid. This is exact for the group alone, and ``Σ x/claim ≤ 1`` is
the convex hull of its choices, so at the LP's multipliers the bound is the LP bound with
the groups' share rows, as the blocks would give it.

The same figures fix claims. With ``best`` the group's bound and ``S`` the slack ``Z − v``
against the incumbent: paying member ``k`` costs the bound at least ``best − m_k``; when
that exceeds ``S`` no allocation as good as the incumbent pays ``k``. The unique best member
``j`` moves off its claim only by paying another member or none (cost ``best − second``) or,
divisible, by being paid less (``r_j`` per 万元): when both exceed ``S`` it is fixed at its
claim. Everything is integer arithmetic on Python integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.model.problem import BoolArray, IntArray

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


def payable_groups(groups: Sequence[IntArray], upper: IntArray) -> list[IntArray]:
    """The groups with two or more members that can be paid (the others cannot bind), each
    sorted and without repeats, in the groups' order."""
    if not groups:
        return []
    sizes = np.fromiter((m.shape[0] for m in groups), dtype=np.int64, count=len(groups))
    member = np.concatenate(list(groups)).astype(np.int64)
    group = np.repeat(np.arange(len(groups), dtype=np.int64), sizes)
    keep = upper[member] > 0
    # One sort of (group, member) pairs: each group's payable members, sorted, repeats out.
    pairs = np.unique(group[keep] * (int(upper.shape[0]) + 1) + member[keep])
    group, member = np.divmod(pairs, int(upper.shape[0]) + 1)
    counts = np.bincount(group, minlength=len(groups))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [member[starts[g] : starts[g] + counts[g]] for g in np.flatnonzero(counts >= 2).tolist()]


@dataclass(frozen=True)
class GroupBlocks:
    """Disjoint no-duplicate groups, each member open from 0, entry by entry.

    ``member`` lists the claims group after group; ``start`` is each group's first entry and
    ``group`` the group of each entry.
    """

    member: IntArray
    start: IntArray
    group: IntArray

    def _paid(self, reduced: IntArray, upper: IntArray, aon: BoolArray) -> ObjectArray:
        """``m_k``: the most member ``k`` adds to ``Σ r·x`` when it is the one paid."""
        r = reduced[self.member].astype(object)
        whole = r * upper[self.member].astype(object)
        paid_in_full = (reduced[self.member] > 0) | aon[self.member]
        return np.where(paid_in_full, whole, r)

    def _best(self, paid: ObjectArray) -> ObjectArray:
        """Each group's bound: its best member's ``m_k``, or 0 (nobody paid)."""
        best = np.maximum.reduceat(paid, self.start)
        return np.where(best > 0, best, 0)

    def bound(self, reduced: IntArray, upper: IntArray, aon: BoolArray) -> int:
        """The groups' part of ``Z``: ``Σ`` over groups of the largest ``m_k`` (at least 0)."""
        return int(np.sum(self._best(self._paid(reduced, upper, aon))))

    def fix(
        self,
        reduced: IntArray,
        upper: IntArray,
        aon: BoolArray,
        slack: int,
        scale: int,
        lower_out: IntArray,
        upper_out: IntArray,
        loss: FloatArray,
        direction: npt.NDArray[np.int8],
    ) -> int:
        """Fix the members no allocation as good as the incumbent moves; return how many.

        ``lower_out`` and ``upper_out`` (full length) receive the fixings, ``loss`` what
        moving each member off its preferred bound costs (in objective units, ``scale``
        undone) and ``direction`` that bound (1 its claim, -1 zero).
        """
        paid = self._paid(reduced, upper, aon)
        best_of_group = self._best(paid)
        best = best_of_group[self.group]
        top = (paid == best) & (best > 0)
        ties = np.bincount(self.group, weights=top.astype(np.float64), minlength=len(self.start))
        unique = top & (ties[self.group] == 1)
        # The best a group does without its unique best member (0: nobody paid).
        others = np.where(unique, 0, paid)
        second = self._best(others)[self.group]
        r = reduced[self.member].astype(object)
        divisible = ~aon[self.member]
        away = np.where(divisible, np.minimum(r, best - second), best - second)
        on = best - paid
        cost = np.where(unique, away, on)
        fixed = np.asarray(cost > slack, dtype=bool)
        claims = self.member
        claim_upper = upper[claims]
        lower_out[claims[fixed & unique]] = claim_upper[fixed & unique]
        upper_out[claims[fixed & ~unique]] = 0
        loss[claims] = np.asarray(cost, dtype=np.float64) / scale
        direction[claims] = np.where(unique, 1, -1).astype(np.int8)
        return int(fixed.sum())


def group_entries(
    groups: Sequence[IntArray], lower: IntArray, upper: IntArray
) -> GroupBlocks | None:
    """The payable groups as :class:`GroupBlocks`, ``None`` when there are none.

    A group with a member held above zero is left out (its members count as single claims:
    dropping a group only loosens the bound), and so are all groups when two share a claim,
    since the bound adds the groups' parts as if they were independent.
    """
    usable = [m for m in payable_groups(groups, upper) if not bool((lower[m] > 0).any())]
    if not usable:
        return None
    sizes = np.fromiter((m.shape[0] for m in usable), dtype=np.int64, count=len(usable))
    member = np.concatenate(usable).astype(np.int64)
    if np.unique(member).shape[0] != member.shape[0]:
        return None
    start = np.zeros(len(usable), dtype=np.int64)
    np.cumsum(sizes[:-1], out=start[1:])
    group = np.repeat(np.arange(len(usable), dtype=np.int64), sizes)
    return GroupBlocks(member, start, group)


__all__ = ["GroupBlocks", "group_entries", "payable_groups"]
