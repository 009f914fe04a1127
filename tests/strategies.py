"""Hypothesis strategies: small random allocation problems, built directly as ``Problem``.

:func:`problems` draws an instance of the contract of ``allocator.model.problem``: a handful of
claims with weights, a rank, all-or-nothing flags and no-duplicate groups, under a fund cap
and, at random, firm caps, district caps and floors and crossing sub-budgets. Every instance
is feasible: a witness award vector is drawn first (within the claims, all-or-nothing and
no-duplicate rules), and every floor is at most what the witness pays its district, every
cap of a floored instance at least what the witness pays its row. Without floors the zero
vector is a witness and caps are free.

The instances are small enough to enumerate every integer award vector (at most 6 claims of
at most 8万元: 9**6 = 531,441 vectors), which is what tests/test_properties.py does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from hypothesis import strategies as st

from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    SUB_BUDGET,
    Family,
    Problem,
)

MAX_CLAIMS = 6
MAX_CLAIM_WAN = 8
# Equal weights are common on purpose: they leave the choice to the tie-break.
WEIGHTS = (1000, 1000, 1000, 2000, 3000, 1500)


@dataclass(frozen=True)
class Knobs:
    """Which optional parts an instance may have."""

    floors: bool = True
    exclusive: bool = True
    all_or_nothing: bool = True


def _ints(values: list[int]) -> npt.NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


@st.composite
def problems(draw: st.DrawFn, knobs: Knobs = Knobs()) -> Problem:
    """A small feasible :class:`~allocator.model.problem.Problem`."""
    n = draw(st.integers(1, MAX_CLAIMS))
    claim = draw(st.lists(st.integers(1, MAX_CLAIM_WAN), min_size=n, max_size=n))
    weight = draw(st.lists(st.sampled_from(WEIGHTS), min_size=n, max_size=n))
    rank = draw(st.permutations(list(range(n))))
    aon = (
        draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if knobs.all_or_nothing
        else [False] * n
    )
    # Recipients (firms) and districts of the claims; a firm lies in one district.
    firm = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    firm_district = draw(st.lists(st.integers(0, 1), min_size=3, max_size=3))
    district = [firm_district[f] for f in firm]

    groups: list[list[int]] = []
    if knobs.exclusive and n >= 2:
        for _ in range(draw(st.integers(0, 2))):
            picked = draw(st.sets(st.integers(0, n - 1), min_size=2, max_size=min(n, 3)))
            groups.append(sorted(picked))

    # A witness: within each claim, whole when all-or-nothing, one member per group.
    witness = [draw(st.integers(0, c)) for c in claim]
    witness = [c if (a and w > 0) else w for c, a, w in zip(claim, aon, witness, strict=True)]
    for group in groups:
        positive = [j for j in group if witness[j] > 0]
        for j in positive[1:]:
            witness[j] = 0

    total = sum(claim)
    floored = knobs.floors and draw(st.booleans())

    def cap(members: list[int]) -> int:
        bound = draw(st.integers(0, sum(claim[j] for j in members)))
        return max(bound, sum(witness[j] for j in members)) if floored else bound

    fams: list[Family] = []

    def add(name: str, rows: list[tuple[str, list[int], int]], sense: str) -> None:
        if rows:
            fams.append(
                Family(
                    name,
                    "scenario",
                    [label for label, _, _ in rows],
                    [_ints(m) for _, m, _ in rows],
                    _ints([r for _, _, r in rows]),
                    "<=" if sense == "<=" else ">=",
                )
            )

    everyone = list(range(n))
    budget = cap(everyone)
    add(FUND_CAP, [(FUND_CAP, everyone, budget)], "<=")
    rows: list[tuple[str, list[int], int]] = []
    if draw(st.booleans()):
        for k in range(draw(st.integers(1, 2))):
            members = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
            rows.append((f"{SUB_BUDGET}[s{k}]", members, cap(members)))
        add(SUB_BUDGET, rows, "<=")
    if draw(st.booleans()):
        rows = []
        for f in sorted(set(firm)):
            members = [j for j in everyone if firm[j] == f]
            if len(members) >= 2 or draw(st.booleans()):
                rows.append((f"{FIRM_CAP}[f{f}]", members, cap(members)))
        add(FIRM_CAP, rows, "<=")
    if draw(st.booleans()):
        rows = []
        for d in sorted(set(district)):
            members = [j for j in everyone if district[j] == d]
            rows.append((f"{DISTRICT_CAP}[d{d}]", members, cap(members)))
        add(DISTRICT_CAP, rows, "<=")
    if floored:
        rows = []
        for d in sorted(set(district)):
            members = [j for j in everyone if district[j] == d]
            paid = sum(witness[j] for j in members)
            if paid > 0:
                rows.append((f"{DISTRICT_FLOOR}[d{d}]", members, draw(st.integers(1, paid))))
        add(DISTRICT_FLOOR, rows, ">=")
    assert budget <= total

    claims = pd.DataFrame(
        {
            "recipient_id": [f"f{f}" for f in firm],
            "recipient_name": [f"Firm {f}" for f in firm],
            "recipient_kind": "enterprise",
            "district": [f"d{d}" for d in district],
            "industry": "",
            "clause_id": [str(i + 1) for i in range(n)],
            "item_key": [f"{i + 1}/item" for i in range(n)],
            "claim_wan": claim,
        }
    )
    return Problem(
        claims=claims,
        upper=_ints(claim),
        weight=_ints(weight),
        rank=_ints(rank),
        all_or_nothing=np.asarray(aon, dtype=bool),
        exclusive=[_ints(m) for m in groups],
        exclusive_labels=[f"no_duplicate[g{k}]" for k in range(len(groups))],
        exclusive_clause_ids=["scenario"] * len(groups),
        families=fams,
        budget=budget,
    )


__all__ = ["MAX_CLAIMS", "MAX_CLAIM_WAN", "Knobs", "problems"]
