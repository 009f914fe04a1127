"""Shared test helpers: small problems by hand, and the rules by their definition.

The definitions here are written from docs/fairness.md without the engine's helpers, by
enumeration and exact fractions, so that a test comparing the engine with them can fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import floor
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.choices import Rule
from allocator.model.problem import Family, Problem

IntMatrix = npt.NDArray[np.int64]


def family(
    name: str,
    rows: Mapping[str, tuple[Sequence[int], int]],
    sense: Literal["<=", ">="] = "<=",
    clause_id: str = "test",
) -> Family:
    """A family of rows ``label: (members, rhs)``."""
    return Family(
        name,
        clause_id,
        list(rows),
        [np.asarray(members, dtype=np.int64) for members, _ in rows.values()],
        np.array([rhs for _, rhs in rows.values()], dtype=np.int64),
        sense,
    )


def fund(n: int, budget: int) -> Family:
    return Family(
        "fund_cap",
        "scenario",
        ["fund_cap"],
        [np.arange(n, dtype=np.int64)],
        np.array([budget], dtype=np.int64),
        "<=",
    )


def plain(
    claims: list[int], budget: int, *, aon: list[bool] | None = None, weight: int = 1000
) -> Problem:
    """A problem with a fund cap only, claims in rank order."""
    n = len(claims)
    return Problem(
        claims=pd.DataFrame({"claim_wan": claims}),
        upper=np.asarray(claims, dtype=np.int64),
        weight=np.full(n, weight, dtype=np.int64),
        rank=np.arange(n, dtype=np.int64),
        all_or_nothing=np.asarray(aon or [False] * n, dtype=bool),
        exclusive=[],
        exclusive_labels=[],
        exclusive_clause_ids=[],
        families=[fund(n, budget)],
        budget=budget,
    )


# --------------------------------------------------------------------------------------------
# Feasibility of many vectors at once


def cartesian(values: list[list[int]]) -> IntMatrix:
    """Every combination of one value per variable, one row each."""
    grids = np.meshgrid(*[np.asarray(v, dtype=np.int64) for v in values], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


def rows_of(problem: Problem) -> list[tuple[str, list[int], int, str]]:
    """Every constraint row: label, distinct members, right side, sense; in family order."""
    out: list[tuple[str, list[int], int, str]] = []
    for fam in problem.families:
        for label, members, rhs in zip(fam.labels, fam.members, fam.rhs.tolist(), strict=True):
            out.append((label, sorted(set(np.asarray(members).tolist())), int(rhs), fam.sense))
    return out


def feasible(problem: Problem, x: IntMatrix) -> npt.NDArray[np.bool_]:
    """Which rows of ``x`` meet every constraint row and no-duplicate group."""
    ok = np.ones(x.shape[0], dtype=bool)
    for _, members, rhs, sense in rows_of(problem):
        total = x[:, members].sum(axis=1)
        ok &= total <= rhs if sense == "<=" else total >= rhs
    for group in problem.exclusive:
        ok &= (x[:, group.tolist()] > 0).sum(axis=1) <= 1
    return ok


def candidates(problem: Problem, lower: list[int], upper: list[int]) -> IntMatrix:
    """Integer vectors in ``[lower, upper]``, an all-or-nothing award 0 or its whole claim."""
    values = []
    for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        if problem.all_or_nothing[i]:
            whole = int(problem.upper[i])
            values.append([v for v in (0, whole) if lo <= v <= hi])
        else:
            values.append(list(range(lo, hi + 1)))
    return cartesian(values)


# --------------------------------------------------------------------------------------------
# Priority, by enumeration


def tie_coefficients(problem: Problem) -> list[int]:
    """``n`` for rank 0, ``n − 1`` for rank 1, ... 1 for the last: lower ranks weigh more."""
    return [problem.size - int(r) for r in problem.rank]


def priority_optima(problem: Problem, lower: list[int], upper: list[int]) -> IntMatrix:
    """Every feasible vector in the box that is best on weight, then on the tie-break."""
    x = candidates(problem, lower, upper)
    x = x[feasible(problem, x)]
    if x.shape[0] == 0:
        return x
    value = x @ problem.weight.astype(np.int64)
    x = x[value == value.max()]
    tie = x @ np.asarray(tie_coefficients(problem), dtype=np.int64)
    best: IntMatrix = x[tie == tie.max()]
    return best


# --------------------------------------------------------------------------------------------
# Level rules, by their definition


def steps(rule: Rule, claims: list[int]) -> list[Fraction]:
    """The levels at which some target can change, in filling order, from 'nothing paid'."""
    cmax = max(claims)
    if rule is Rule.PROPORTIONAL:  # x = floor(r·c): steps at r = k/c
        return sorted(
            {Fraction(k, c) for c in claims if c > 0 for k in range(c + 1)} | {Fraction(0)}
        )
    if rule is Rule.TALMUD:  # θ in half 万元 from 0 to cmax
        return [Fraction(h, 2) for h in range(2 * cmax + 1)]
    return [Fraction(v) for v in range(cmax + 1)]  # λ (equal losses: cmax − λ) in 万元


def target(rule: Rule, level: Fraction, c: int, cmax: int) -> int:
    """The rule's award to a claim ``c`` at ``level``, in whole 万元 (rounded down)."""
    if rule is Rule.PROPORTIONAL:
        return floor(level * c)
    if rule is Rule.EQUAL_AWARDS:
        return floor(min(Fraction(c), level))
    if rule is Rule.EQUAL_LOSSES:
        loss = cmax - level
        return floor(max(Fraction(0), c - loss))
    # Aumann–Maschler: equal awards on the half-claims up to cmax/2, then equal losses on the
    # other halves as the level goes on to cmax.
    half = Fraction(c, 2)
    if level <= Fraction(cmax, 2):
        return floor(min(half, level))
    return floor(c - min(half, cmax - level))


def kept_per_group(problem: Problem) -> list[bool]:
    """True for the claims a level rule excludes: all but one member of each group."""
    excluded = [False] * problem.size
    for group in problem.exclusive:
        open_ = [j for j in group.tolist() if not excluded[j]]
        if len(open_) <= 1:
            continue
        keep = min(
            open_,
            key=lambda j: (-int(problem.upper[j]), -int(problem.weight[j]), int(problem.rank[j])),
        )
        for j in open_:
            if j != keep:
                excluded[j] = True
    return excluded


def level_filling(problem: Problem, rule: Rule) -> tuple[list[int], list[int]]:
    """Progressive filling of the level ``rule`` by its definition, one step at a time.

    Returns the targets where filling stops, and for each the most the whole-万元 remainder
    may give it (its target at the next step; all of it for an all-or-nothing claim at 0).
    """
    n = problem.size
    claim = [int(c) for c in problem.upper]
    aon = [bool(a) for a in problem.all_or_nothing]
    cmax = max(claim)
    excluded = kept_per_group(problem)
    caps = [(members, rhs) for _, members, rhs, sense in rows_of(problem) if sense == "<="]

    def at(level: Fraction, i: int) -> int:
        t = target(rule, level, claim[i], cmax)
        return t if not aon[i] or t == claim[i] else 0

    levels = steps(rule, claim)
    value = [0] * n
    open_ = [not e for e in excluded]
    frozen_next: dict[int, int] = {}  # frozen claim -> its target at the step that froze it
    for now, nxt in itertools.pairwise(levels):
        while True:
            rising = [at(nxt, i) if open_[i] else value[i] for i in range(n)]
            over = [
                (len(members), k)
                for k, (members, rhs) in enumerate(caps)
                if sum(rising[j] for j in members) > rhs
            ]
            if not over:
                break
            members, _ = caps[min(over)[1]]
            for j in members:
                if open_[j]:
                    open_[j] = False
                    value[j] = at(now, j)
                    frozen_next[j] = at(nxt, j)
        value = [at(nxt, i) if open_[i] else value[i] for i in range(n)]
    upper = list(value)
    for j, nxt_target in frozen_next.items():
        if value[j] < claim[j]:
            upper[j] = claim[j] if aon[j] and value[j] == 0 else min(nxt_target, claim[j])
    return value, upper


def level_optima(problem: Problem, rule: Rule) -> IntMatrix:
    """Every vector the level ``rule`` may give, by filling then enumerating the remainder."""
    value, upper = level_filling(problem, rule)
    return priority_optima(problem, value, upper)
