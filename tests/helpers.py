"""Shared test helpers: small problems by hand, and the rules by their definition.

The definitions here are written from docs/fairness.md without the engine's helpers, by
enumeration and exact fractions, so that a test comparing the engine with them can fail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import ceil, floor
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.choices import Rule
from allocator.model.problem import Family, OneOffs, Problem, Rounding

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
    claims: list[int],
    budget: int,
    *,
    aon: list[bool] | None = None,
    weight: int = 1000,
    rounding: Rounding = "spend_all",
    one_offs: OneOffs = "compete",
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
        rounding=rounding,
        one_offs=one_offs,
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


def exact_target(rule: Rule, level: Fraction, c: int, cmax: int) -> Fraction:
    """The rule's exact award to a claim ``c`` at ``level`` (docs/fairness.md, level rules).

    The level is the ratio (proportional), λ (equal awards), ``cmax − loss`` (equal losses)
    or half-万元 over ``0..2·cmax`` (Talmud: equal awards on the half-claims, then equal
    losses on the other halves).
    """
    if rule is Rule.PROPORTIONAL:
        return level * c
    if rule is Rule.EQUAL_AWARDS:
        return min(Fraction(c), level)
    if rule is Rule.EQUAL_LOSSES:
        return max(Fraction(0), c - (cmax - level))
    return (min(Fraction(c), level) + max(Fraction(0), c - (2 * cmax - level))) / 2


def exact_inverse(rule: Rule, value: Fraction, c: int, cmax: int) -> Fraction:
    """The least level at which the claim ``c`` reaches ``value`` (``0 < value <= c``)."""
    if rule is Rule.PROPORTIONAL:
        return value / c
    if rule is Rule.EQUAL_AWARDS:
        return value
    if rule is Rule.EQUAL_LOSSES:
        return cmax - c + value
    if value <= Fraction(c, 2):
        return 2 * value
    return 2 * cmax - 2 * c + 2 * value


def level_max(rule: Rule, cmax: int) -> Fraction:
    """The level at which every claim is paid in full."""
    if rule is Rule.PROPORTIONAL:
        return Fraction(1)
    return Fraction(2 * cmax if rule is Rule.TALMUD else cmax)


def exact_filling(
    problem: Problem,
    rule: Rule,
    rising: list[bool],
    fixed: list[Fraction],
    lb: list[Fraction],
    caps: list[tuple[list[int], int]],
) -> tuple[list[Fraction], list[bool]]:
    """Continuous progressive filling in exact fractions, one binding row at a time.

    The ``rising`` claims follow ``max(lb, t(L))`` (an all-or-nothing claim counts 0 until
    ``t(L)`` reaches its whole claim), the others stay at ``fixed``. The level rises until a
    row of ``caps`` would be exceeded: that row (at one level, a row that a jump passes
    first, then the smallest, then the first) freezes its open members at their values at
    that level (from below when an all-or-nothing claim becoming whole there passes it).
    Returns the values and which claims a row froze.
    """
    n = problem.size
    claim = [int(c) for c in problem.upper]
    aon = [bool(a) for a in problem.all_or_nothing]
    cmax = max(claim) if claim else 0
    top = level_max(rule, cmax)
    open_ = list(rising)
    value = list(fixed)
    frozen = [False] * n

    def at(i: int, level: Fraction, left: bool) -> Fraction:
        t = exact_target(rule, level, claim[i], cmax)
        # An all-or-nothing claim counts once whole; at the level it becomes whole, the left
        # limit (a row stopping just before it) leaves it at 0.
        whole_at = exact_inverse(rule, Fraction(claim[i]), claim[i], cmax) if claim[i] else 0
        if aon[i] and (t < claim[i] or (left and whole_at == level)):
            t = Fraction(0)
        return max(lb[i], t)

    def kinks(i: int) -> set[Fraction]:
        c = claim[i]
        points: set[Fraction] = set()
        if c > 0:
            points.add(exact_inverse(rule, Fraction(c), c, cmax))
            if rule is Rule.EQUAL_AWARDS or rule is Rule.TALMUD:
                points.add(Fraction(c))
            if rule is Rule.EQUAL_LOSSES:
                points.add(Fraction(cmax - c))
            if rule is Rule.TALMUD:
                points.add(Fraction(2 * cmax - c))
            if 0 < lb[i] <= c:
                points.add(exact_inverse(rule, lb[i], c, cmax))
        return points

    def total(members: list[int], level: Fraction, left: bool) -> Fraction:
        return sum((at(j, level, left) if open_[j] else value[j] for j in members), Fraction(0))

    level = Fraction(0)
    while any(open_):
        points = sorted({top, *(p for i in range(n) if open_[i] for p in kinks(i))})
        points = [p for p in points if level < p <= top]
        best: tuple[Fraction, bool, int, int] | None = None
        for k, (members, rhs) in enumerate(caps):
            if not any(open_[j] for j in members):
                continue
            lo = level
            if total(members, level, False) > rhs:  # a jump at the current level passes rhs
                key = (level, False, len(members), k)
                best = key if best is None or key < best else best
                continue
            for hi in points:
                if total(members, hi, False) <= rhs:
                    lo = hi
                    continue
                s_lo, s_hi = total(members, lo, False), total(members, hi, True)
                # Linear on (lo, hi): it crosses rhs inside, or a jump at ``hi`` passes it
                # (or one at ``lo`` already has).
                if s_lo > rhs:
                    stop = lo
                elif s_hi > rhs:
                    stop = lo + (rhs - s_lo) * (hi - lo) / (s_hi - s_lo)
                else:
                    stop = hi
                # From below (a jump passes rhs at ``stop``) binds before holding at ``stop``.
                key = (stop, total(members, stop, False) <= rhs, len(members), k)
                if best is None or key < best:
                    best = key
                break
        if best is None:
            for i in range(n):
                if open_[i]:
                    value[i] = at(i, top, False)
                    open_[i] = False
            break
        stop, holds, _, k = best
        level = stop
        # The row holds at ``stop`` itself unless a jump there passes it: then its members
        # take their values from below.
        left = not holds
        for j in caps[k][0]:
            if open_[j]:
                value[j] = at(j, stop, left)
                open_[j] = False
                frozen[j] = True
    return value, frozen


def greedy_one_offs(problem: Problem, participating: list[bool]) -> list[int]:
    """``one_offs: first``: all-or-nothing claims paid whole, weight then rank order, while
    every cap and no-duplicate group allows."""
    caps = [(m, r) for _, m, r, sense in rows_of(problem) if sense == "<="]
    paid = [0] * problem.size
    order = sorted(
        (i for i in range(problem.size) if problem.all_or_nothing[i] and participating[i]),
        key=lambda i: (-int(problem.weight[i]), int(problem.rank[i])),
    )
    for i in order:
        c = int(problem.upper[i])
        trial = paid.copy()
        trial[i] = c
        if all(sum(trial[j] for j in m) <= r for m, r in caps) and all(
            sum(trial[j] > 0 for j in g.tolist()) <= 1 for g in problem.exclusive
        ):
            paid = trial
    return paid


def exact_values(problem: Problem, rule: Rule) -> tuple[list[Fraction], list[bool]] | None:
    """The level rule's exact value under every limit, by its definition in fractions.

    Groups keep one member; ``one_offs: first`` pays the all-or-nothing claims first; the
    floored districts fill up to their floors (the floor acting as a cap), giving lower
    bounds; then the main filling. Returns the values and which claims a row froze, or
    ``None`` when the filling inside the districts cannot meet a floor (the engine then
    searches with CP-SAT, which this definition does not follow).
    """
    n = problem.size
    excluded = kept_per_group(problem)
    participating = [not e for e in excluded]
    aon = [bool(a) for a in problem.all_or_nothing]
    rows = rows_of(problem)
    caps = [(m, r) for _, m, r, sense in rows if sense == "<="]
    floors = [(m, r) for _, m, r, sense in rows if sense == ">="]
    first = problem.one_offs == "first"
    paid = greedy_one_offs(problem, participating) if first else [0] * n
    rising = [p and not (first and a) for p, a in zip(participating, aon, strict=True)]
    fixed = [Fraction(v) for v in paid]
    lb = list(fixed)
    if floors:
        in_floor = {j for m, _ in floors for j in m}
        members = [r and i in in_floor for i, r in enumerate(rising)]
        lb, _ = exact_filling(problem, rule, members, fixed, fixed, caps + floors)
        if any(sum((lb[j] for j in m), Fraction(0)) < r for m, r in floors):
            return None
    start = [max(f, b) for f, b in zip(fixed, lb, strict=True)]
    value, frozen = exact_filling(problem, rule, rising, start, lb, caps)
    value = [v if p else Fraction(0) for v, p in zip(value, participating, strict=True)]
    return value, [f and p for f, p in zip(frozen, participating, strict=True)]


def nearest_vectors(problem: Problem, rule: Rule) -> tuple[list[Fraction], IntMatrix] | None:
    """The exact values and every whole-万元 vector the rule's rounding may give, by
    enumeration (docs/fairness.md, "Whole 万元"); ``None`` as :func:`exact_values`.

    ``spend_all``: each award ``floor(e)`` or ``ceil(e)`` (an all-or-nothing one its exact
    0 or whole claim), the most units the limits allow (which of them the quota method
    picks, tests/test_rounding_monotone.py checks); then, under ``one_offs: compete``, what
    is left pays the all-or-nothing claims at 0 whole, by the priority rule. ``floor_each``: every
    ``floor(e)``.
    """
    found = exact_values(problem, rule)
    if found is None:
        return None
    exact, _ = found
    claim = [int(c) for c in problem.upper]
    aon = [bool(a) for a in problem.all_or_nothing]
    lo = [floor(e) for e in exact]
    hi = [ceil(e) for e in exact]
    if problem.rounding == "floor_each":
        x = np.asarray([lo], dtype=np.int64)
        if feasible(problem, x).all():
            return exact, x
        return None  # a floor the rounded-down awards miss: rounded as spend_all there
    x = cartesian([list(range(a, b + 1)) for a, b in zip(lo, hi, strict=True)])
    x = x[feasible(problem, x)]
    if x.shape[0] == 0:
        return exact, x
    count = x.sum(axis=1)
    x = x[count == count.max()]
    waiting = [a and e == 0 and c > 0 for a, e, c in zip(aon, exact, claim, strict=True)]
    excluded = kept_per_group(problem)
    waiting = [w and not ex for w, ex in zip(waiting, excluded, strict=True)]
    if problem.one_offs == "compete" and any(waiting):
        paid = []
        for row in x:
            base = [int(v) for v in row]
            upper = [c if w else b for c, w, b in zip(claim, waiting, base, strict=True)]
            paid.append(priority_optima(problem, base, upper))
        x = np.unique(np.concatenate(paid), axis=0)
    return exact, x
