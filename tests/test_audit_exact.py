"""The audit's exact level rules (``allocator.analysis.audit_exact``), against the textbook.

Hand-computed: the textbook table (claims 100, 200, 300 with estates 100, 200, 300) and the
cases of docs/fairness.md where whole-万元 rounding went wrong. Property tests: on one fund,
the closed forms of each rule, written here from their definitions by sorting the claims; under
caps, a second water-filling written here the slow way (every row's fill level found by
walking its breakpoints). Last, the acceptance rule itself: the largest-remainder rounding of
the exact values (ties to the larger claim) passes it, so the audit asks for nothing an integer
allocation cannot give.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.analysis.audit_exact import LEVEL_RULES, LimitRow, exact_levels, order_broken

F = Fraction


def fund(rule: str, claims: list[int], estate: int) -> list[Fraction]:
    return exact_levels(rule, claims, [LimitRow(estate, list(range(len(claims))))])


# --------------------------------------------------------------------------------------------
# Hand-computed


TEXTBOOK = {
    # estate: proportional, equal awards, equal losses, Talmud (Aumann & Maschler 1985, Table 1)
    100: ([F(50, 3), F(100, 3), F(50)], [F(100, 3)] * 3, [F(0), F(0), F(100)], [F(100, 3)] * 3),
    200: (
        [F(100, 3), F(200, 3), F(100)],
        [F(200, 3)] * 3,
        [F(0), F(50), F(150)],
        [F(50), F(75), F(75)],
    ),
    300: ([F(50), F(100), F(150)], [F(100)] * 3, [F(0), F(100), F(200)], [F(50), F(100), F(150)]),
}


@pytest.mark.parametrize("estate", sorted(TEXTBOOK))
@pytest.mark.parametrize("n", range(4), ids=LEVEL_RULES)
def test_the_textbook_table(estate: int, n: int) -> None:
    assert fund(LEVEL_RULES[n], [100, 200, 300], estate) == TEXTBOOK[estate][n]


def test_the_cases_where_rounding_went_wrong() -> None:
    # proportional (1, 1, 5), budget 4: 4/7, 4/7, 20/7, so (0, 0, 4) is 1.14 from the third.
    assert fund("proportional", [1, 1, 5], 4) == [F(4, 7), F(4, 7), F(20, 7)]
    # 100 claims of 1 and one of 1,000, budget 550: 1/2 each and 500.
    big = fund("proportional", [1] * 100 + [1000], 550)
    assert big[:100] == [F(1, 2)] * 100
    assert big[100] == 500
    # talmud (1, 1, 1, 3), budget 2: 1/2 each; ten of 1 and one of 100, budget 60: 55.
    assert fund("talmud", [1, 1, 1, 3], 2) == [F(1, 2)] * 4
    assert fund("talmud", [1] * 10 + [100], 60)[10] == 55
    # equal losses (300, 200, 100), budget 101: (300 − μ) + (200 − μ) = 101 gives the common
    # loss μ = 199.5, so (100.5, 0.5, 0): (100, 1, 0) keeps awards and losses in order.
    assert fund("equal_losses", [300, 200, 100], 101) == [F(201, 2), F(1, 2), F(0)]


def test_a_cap_stops_its_claims_and_the_others_go_on() -> None:
    # Three claims of 10 under a fund of 20; the first capped at 3: the others share 17.
    rows = [LimitRow(20, [0, 1, 2]), LimitRow(3, [0])]
    assert exact_levels("equal_awards", [10, 10, 10], rows) == [F(3), F(17, 2), F(17, 2)]
    # Proportional: claims 4, 4, 8 under 8 with the last two under a row of 3. The row fills
    # at r = 1/4 (1 + 2), the first claim then rises alone until the fund holds 8: 4 in full
    # gives 7, so it is paid in full.
    rows = [LimitRow(8, [0, 1, 2]), LimitRow(3, [1, 2])]
    assert exact_levels("proportional", [4, 4, 8], rows) == [F(4), F(1), F(2)]


def test_awards_taken_as_published_leave_their_rows() -> None:
    # A fund of 10 of which an indivisible award took 6: claims 2 and 6 share 4 pro rata.
    rows = [LimitRow(10, [0, 1])]
    assert exact_levels("proportional", [2, 6], rows, [6]) == [F(1), F(3)]


def test_order_broken_finds_a_larger_value_paid_less_and_allows_ties() -> None:
    assert order_broken([F(1), F(2), F(3)], [F(0), F(2), F(1)]) == (2, 1)
    assert order_broken([F(1), F(2), F(2)], [F(0), F(2), F(1)]) is None
    assert order_broken([F(1), F(2)], [F(1), F(1)]) is None


# --------------------------------------------------------------------------------------------
# Independent definitions


def equal_awards(claims: list[Fraction], estate: Fraction) -> list[Fraction]:
    """λ with Σ min(c, λ) = estate, found by walking the sorted claims."""
    if estate >= sum(claims):
        return list(claims)
    rest, left = sorted(claims), estate
    for k, c in enumerate(rest):
        share = left / (len(rest) - k)
        if share <= c:
            return [min(c, share) for c in claims]
        left -= c
    raise AssertionError("unreachable: the estate is below the total")


def closed_form(rule: str, claims: list[int], estate: int) -> list[Fraction]:
    c = [F(x) for x in claims]
    total, e = sum(c), F(min(estate, sum(claims)))
    if rule == "proportional":
        return [x * e / total for x in c] if total else c
    if rule == "equal_awards":
        return equal_awards(c, e)
    if rule == "equal_losses":
        return [x - y for x, y in zip(c, equal_awards(c, total - e), strict=True)]
    halves = [x / 2 for x in c]
    if e <= total / 2:
        return equal_awards(halves, e)
    return [x - y for x, y in zip(c, equal_awards(halves, total - e), strict=True)]


def share(rule: str, c: int, t: Fraction, k: int) -> Fraction:
    """The definition of each rule's award at level ``t``, written again."""
    if rule == "proportional":
        return t * c
    if rule == "equal_awards":
        return min(F(c), t)
    if rule == "equal_losses":
        return max(F(0), c - k + t)
    return min(F(c), t) / 2 if t <= k else c - min(F(c), 2 * k - t) / 2


def slow_filling(rule: str, claims: list[int], rows: list[LimitRow]) -> list[Fraction]:
    """Water-filling the slow way: each row's fill level by walking every breakpoint."""
    k = max(claims)
    top = F(1) if rule == "proportional" else F(2 * k) if rule == "talmud" else F(k)
    points = sorted(
        {F(0), top}
        | ({F(c) for c in claims} if rule != "proportional" else set())
        | {F(k - c) for c in claims}
        | {F(2 * k - c) for c in claims}
        | {F(k)}
    )
    points = [p for p in points if 0 <= p <= top]
    value: dict[int, Fraction] = {}
    level = F(0)
    while True:
        best: tuple[Fraction, int] | None = None
        for j, row in enumerate(rows):
            rising = [i for i in row.members if i not in value]
            if not rising:
                continue

            def held(t: Fraction, row: LimitRow = row, rising: list[int] = rising) -> Fraction:
                return sum((value[i] for i in row.members if i in value), F(0)) + sum(
                    (share(rule, claims[i], t, k) for i in rising), F(0)
                )

            if held(top) <= row.rhs:
                continue
            walk = [level] + [p for p in points if p > level]
            at = level
            for lo, hi in pairwise(walk):
                if held(hi) >= row.rhs:
                    low = held(lo)
                    at = (
                        lo
                        if low >= row.rhs
                        else lo + (row.rhs - low) * (hi - lo) / (held(hi) - low)
                    )
                    break
            if best is None or at < best[0]:
                best = (at, j)
        if best is None:
            break
        level = best[0]
        for i in rows[best[1]].members:
            value.setdefault(i, share(rule, claims[i], level, k))
    return [value.get(i, F(c)) for i, c in enumerate(claims)]


claim_lists = st.lists(st.integers(1, 40), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(LEVEL_RULES), claims=claim_lists, data=st.data())
def test_one_fund_matches_the_closed_form(
    rule: str, claims: list[int], data: st.DataObject
) -> None:
    estate = data.draw(st.integers(0, sum(claims) + 5))
    exact = fund(rule, claims, estate)
    assert exact == closed_form(rule, claims, estate)
    assert sum(exact) == min(estate, sum(claims))


@settings(max_examples=200, deadline=None)
@given(rule=st.sampled_from(LEVEL_RULES), claims=claim_lists, data=st.data())
def test_caps_match_a_slow_water_filling(rule: str, claims: list[int], data: st.DataObject) -> None:
    n = len(claims)
    rows = [LimitRow(data.draw(st.integers(0, sum(claims))), list(range(n)))]
    for _ in range(data.draw(st.integers(0, 3))):
        members = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
        rows.append(LimitRow(data.draw(st.integers(0, 30)), members))
    exact = exact_levels(rule, claims, rows)
    assert exact == slow_filling(rule, claims, rows)
    for row in rows:
        assert sum(exact[i] for i in row.members) <= row.rhs
    assert all(0 <= v <= c for v, c in zip(exact, claims, strict=True))


# --------------------------------------------------------------------------------------------
# The acceptance rule: within 1万元, the sum, the order


def hamilton(exact: list[Fraction], claims: list[int]) -> list[int]:
    """Largest remainders, ties to the larger claim, then the earlier position."""
    floors = [math.floor(v) for v in exact]
    left = round(sum(exact)) - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), -claims[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


@settings(max_examples=300, deadline=None)
@given(rule=st.sampled_from(LEVEL_RULES), claims=claim_lists, data=st.data())
def test_largest_remainders_pass_the_acceptance_rule(
    rule: str, claims: list[int], data: st.DataObject
) -> None:
    estate = data.draw(st.integers(0, sum(claims)))
    exact = fund(rule, claims, estate)
    paid = [F(x) for x in hamilton(exact, claims)]
    assert sum(paid) == estate
    assert all(abs(p - v) < 1 for p, v in zip(paid, exact, strict=True))
    assert order_broken(exact, paid) is None
    losses = [c - v for c, v in zip(claims, exact, strict=True)]
    assert order_broken(losses, [c - p for c, p in zip(claims, paid, strict=True)]) is None
