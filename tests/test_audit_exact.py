"""The audit's exact level rules (``allocator.analysis.audit_exact``), against the textbook.

Hand-computed: the textbook table (claims 100, 200, 300 with estates 100, 200, 300) and the
cases of docs/fairness.md where whole-万元 rounding went wrong. Property tests: on one fund,
the closed forms of each rule, written here from their definitions by sorting the claims; under
caps, a second water-filling written here the slow way (every row's fill level found by
walking its breakpoints). Last, the acceptance rule itself: the largest-remainder rounding of
the exact values (ties to the larger claim) passes it, so the audit asks for nothing an integer
allocation cannot give. District floors: the example of docs/fairness.md by hand, the floor
phase against the engine's own filling on random problems, and the audit of a floored run.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from allocator.analysis.audit_exact import (
    LEVEL_RULES,
    LimitRow,
    exact_levels,
    exact_with_floors,
    movable_breaks,
    order_broken,
    rounded_down_with_room,
)
from allocator.inputs.choices import Rule
from allocator.model.problem import Problem, SolverSettings, Status
from allocator.solve.rules import allocate
from helpers import exact_filling, family, plain, rows_of
from runs import audit_json, findings, read_awards, tiny_run, write_awards
from strategies import Knobs, problems

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


def test_an_unfunded_one_off_stops_its_firm_just_below_its_claim() -> None:
    # Equal awards, fund 26. Firm A (capped at 12) claims a 5万 one-off (all or nothing), 20
    # and 3; firm B claims 20. At λ = 5 the one-off would become whole: 5 + 5 + 3 = 13 > 12,
    # so A's cap stops the level just below 5: (0, 5, 3), 8 of its 12 used. B rises alone:
    # 8 + λ = 26, λ = 18. Leaving the unpaid one-off out of the filling instead would let A
    # reach 9 (9 + 3 = 12) and leave B 14.
    rows = [LimitRow(26, [0, 1, 2, 3]), LimitRow(12, [0, 1, 2])]
    one_off = [True, False, False, False]
    claims = [5, 20, 3, 20]
    assert exact_levels("equal_awards", claims, rows, None, one_off) == [F(0), F(5), F(3), F(18)]
    # A cap of 13 takes the one-off exactly at λ = 5: (5, 5, 3), and B gets 26 − 13 = 13.
    rows[1] = LimitRow(13, [0, 1, 2])
    assert exact_levels("equal_awards", claims, rows, None, one_off) == [F(5), F(5), F(3), F(13)]
    # Under proportional a one-off becomes whole only at r = 1: it stays at 0 and A's other
    # claims share 12 pro rata only when the fund leaves them that much. Fund 26: r = 26/43
    # for 20, 3 and 20 holds A at 13.9 > 12, so A's cap binds at r = 12/23 first.
    rows = [LimitRow(26, [0, 1, 2, 3]), LimitRow(12, [0, 1, 2])]
    assert exact_levels("proportional", claims, rows, None, one_off) == [
        F(0),
        F(240, 23),
        F(36, 23),
        F(14),
    ]


def test_one_offs_paid_first_leave_their_rows() -> None:
    # one_offs: first on the same firms: the one-off is paid, A's 20 and 3 share the 7 left
    # under its cap (4 and 3), B takes 26 − 12 = 14.
    rows = [LimitRow(26, [0, 1, 2]), LimitRow(12, [0, 1])]
    assert exact_levels("equal_awards", [20, 3, 20], rows, [5, 5]) == [F(4), F(3), F(14)]


def test_order_broken_finds_a_larger_value_paid_less_and_allows_ties() -> None:
    assert order_broken([F(1), F(2), F(3)], [F(0), F(2), F(1)]) == (2, 1)
    assert order_broken([F(1), F(2), F(2)], [F(0), F(2), F(1)]) is None
    assert order_broken([F(1), F(2)], [F(1), F(1)]) is None


def test_an_order_break_the_caps_force_is_not_one_to_mend() -> None:
    # Equal awards, fund 2: firm A (cap 1) claims 1 and 1, exactly ½ each; firm D (cap 1)
    # claims 1, 1 and 1, exactly ⅓ each. Each firm pays one whole unit, so a ⅓ is paid 1 while
    # a ½ is paid 0: no whole vector keeps the order, and no unit can move from D to A.
    claims = [1, 1, 1, 1, 1]
    rows = [LimitRow(2, [0, 1, 2, 3, 4]), LimitRow(1, [0, 1]), LimitRow(1, [2, 3, 4])]
    exact = exact_levels("equal_awards", claims, rows)
    assert exact == [F(1, 2), F(1, 2), F(1, 3), F(1, 3), F(1, 3)]
    paid = [1, 0, 1, 0, 0]
    assert order_broken(exact, [F(p) for p in paid]) == (1, 2)
    member = [frozenset({0, 1}), frozenset({0, 1}), frozenset({0, 2}), frozenset({0, 2})]
    member.append(frozenset({0, 2}))
    assert movable_breaks(exact, claims, paid, member, frozenset({0, 1, 2})) == (None, None)
    # Without firm caps the unit moves from the ⅓ to the ½: the break is a finding, of the
    # awards (½ paid 0, ⅓ paid 1) and of the losses (the ⅓ loses ⅔ exactly but 0 when paid).
    alone = [frozenset({0})] * 5
    assert movable_breaks(exact, claims, paid, alone, frozenset({0})) == ((1, 2), (2, 1))


def test_a_loss_order_break_one_unit_mends_is_found() -> None:
    # Proportional, claims 10 and 11, fund 10: r = 10/21, exactly 100/21 ≈ 4.76 and 110/21 ≈
    # 5.24, losses 110/21 ≈ 5.24 and 121/21 ≈ 5.76. Paying (4, 6) keeps the awards in order
    # but the 11 loses 5 against 6 for the 10, though its exact loss is the larger; one unit
    # from the 11 to the 10 gives (5, 5), the largest remainders.
    exact = exact_levels("proportional", [10, 11], [LimitRow(10, [0, 1])])
    assert exact == [F(100, 21), F(110, 21)]
    one = [frozenset({0})] * 2
    assert movable_breaks(exact, [10, 11], [4, 6], one, frozenset({0})) == (None, (1, 0))
    assert movable_breaks(exact, [10, 11], [5, 5], one, frozenset({0})) == (None, None)
    # With the 10 alone under a full cap of 4 the unit cannot move: no finding.
    capped = [frozenset({0, 1}), frozenset({0})]
    assert movable_breaks(exact, [10, 11], [4, 6], capped, frozenset({0, 1})) == (None, None)


def test_crossing_rows_with_room_in_the_fund_round_up_past_the_exact_sum() -> None:
    # Fund 4 over four claims of 1; rows {0, 1}, {0, 2} and {0, 3} of 1 each. Equal awards:
    # every row fills at λ = ½, so the values are ½ each, 2 in all, and the fund keeps 2 of
    # room. spend_all rounds up as many as the rows allow: (0, 1, 1, 1) pays 3, more than the
    # exact values add up to, and keeps every row.
    claims = [1, 1, 1, 1]
    rows = [LimitRow(4, [0, 1, 2, 3]), *(LimitRow(1, [0, k]) for k in (1, 2, 3))]
    exact = exact_levels("equal_awards", claims, rows)
    assert exact == [F(1, 2)] * 4
    member = [frozenset({0, 1, 2, 3}), frozenset({0, 1}), frozenset({0, 2}), frozenset({0, 3})]
    full = frozenset({1, 2, 3})
    assert rounded_down_with_room(exact, [0, 1, 1, 1], member, full) == []
    # (1, 0, 0, 0) pays 1 and fills every row: nothing can be rounded up either.
    assert rounded_down_with_room(exact, [1, 0, 0, 0], member, full) == []
    # (0, 1, 1, 0) leaves the last row room: its second claim could take one more 万元.
    assert rounded_down_with_room(exact, [0, 1, 1, 0], member, frozenset({1, 2})) == [3]


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


# --------------------------------------------------------------------------------------------
# All-or-nothing items against the definition the engine is tested with (tests/helpers.py)

RULES = {r.value: r for r in (Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD)}


@st.composite
def capped_problems(draw: st.DrawFn) -> Problem:
    """A fund and up to four rows over random members, some claims all or nothing."""
    n = draw(st.integers(1, 7))
    claims = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    aon = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    p = plain(claims, draw(st.integers(0, sum(claims) + 2)), aon=aon)
    rows = {}
    for k in range(draw(st.integers(0, 4))):
        members = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))
        rows[f"row[{k}]"] = (members, draw(st.integers(0, sum(claims[i] for i in members) + 1)))
    if rows:
        p.families.append(family("sub_budget", rows))
    return p


@settings(max_examples=300, deadline=None)
@given(capped_problems(), st.sampled_from(LEVEL_RULES))
def test_one_offs_compete_as_the_engine_defines_it(p: Problem, rule: str) -> None:
    claims = [int(c) for c in p.upper]
    caps = [(m, r) for _, m, r, sense in rows_of(p) if sense == "<="]
    zero = [F(0)] * p.size
    expected, _ = exact_filling(p, RULES[rule], [True] * p.size, zero, zero, caps)
    rows = [LimitRow(r, m) for m, r in caps]
    aon = [bool(a) for a in p.all_or_nothing]
    exact = exact_levels(rule, claims, rows, None, aon)
    assert exact == expected
    for v, c, a in zip(exact, claims, aon, strict=True):
        assert v in (0, c) if a else 0 <= v <= c


# --------------------------------------------------------------------------------------------
# District floors: met first, then lower bounds of the main filling


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_the_floor_example_of_the_fairness_document(rule: str) -> None:
    # docs/fairness.md: claims 40/40/20/20, fund 50, the last two in district D with a floor
    # of 30. D's claims rise to 15 each (the floor as their cap); the others share the 20 left.
    fund_row = LimitRow(50, [0, 1, 2, 3])
    floor = LimitRow(30, [2, 3])
    assert exact_with_floors(rule, [40, 40, 20, 20], [fund_row], [floor]) == [10, 10, 15, 15]
    # Without the floor each rule gives D less than 30: the floor is what lifts it.
    plain_values = exact_levels(rule, [40, 40, 20, 20], [fund_row])
    assert plain_values[2] + plain_values[3] < 30


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # Equal awards: 2λ + 2·max(15, min(20, λ)) = 90 at λ = 25, past D's bound of 15.
        ("equal_awards", [25, 25, 20, 20]),
        # Proportional: 80r + 2·max(15, 20r) = 90 at r = 3/4, where 20r is the bound itself.
        ("proportional", [30, 30, 15, 15]),
        # Equal losses: 2(40 − λ) + 2·max(15, 20 − λ) = 90 at a loss of λ = 10, D at its bound.
        ("equal_losses", [30, 30, 15, 15]),
        # Talmud: losses min(c/2, μ) on the halves, 30 in all; D held at 15 (a loss of 5 each)
        # leaves 20 to the two 40s, μ = 10.
        ("talmud", [30, 30, 15, 15]),
    ],
)
def test_the_main_filling_starts_from_the_floor_and_may_pass_it(
    rule: str, expected: list[int]
) -> None:
    # Claims 40/40/20/20, fund 90, D (the last two) floored at 30: D reaches 15 each first.
    fund_row = LimitRow(90, [0, 1, 2, 3])
    floor = LimitRow(30, [2, 3])
    assert exact_with_floors(rule, [40, 40, 20, 20], [fund_row], [floor]) == expected


def test_a_floor_filling_cannot_meet_gives_no_value() -> None:
    # D's claims 20 and 20 under a floor of 30, the first capped at 5: the second reaches its
    # claim and D holds 25. The rule alone gives no value (the engine's search decides).
    rows = [LimitRow(100, [0, 1, 2]), LimitRow(5, [1])]
    assert exact_with_floors("equal_awards", [40, 20, 20], rows, [LimitRow(30, [1, 2])]) is None


SOLVER = SolverSettings(time_limit_s=20.0, workers=1, seed=0)


def floored_problems() -> st.SearchStrategy[Problem]:
    """A small problem with at least one district floor; its one-offs compete."""
    return problems(Knobs(exclusive=False)).filter(lambda q: any(rows_of_sense(q, ">=")))


def rows_of_sense(p: Problem, sense: str) -> list[tuple[list[int], int]]:
    return [(m, r) for _, m, r, s in rows_of(p) if s == sense]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(floored_problems(), st.sampled_from(LEVEL_RULES))
def test_floors_met_first_match_the_engines_filling(p: Problem, rule: str) -> None:
    alloc = allocate(p, RULES[rule], SOLVER)
    assume(alloc.status is not Status.INFEASIBLE and alloc.exact is not None)
    claims = [int(c) for c in p.upper]
    caps = [LimitRow(r, m) for m, r in rows_of_sense(p, "<=")]
    floors = [LimitRow(r, m) for m, r in rows_of_sense(p, ">=")]
    aon = [bool(a) for a in p.all_or_nothing]
    got = exact_with_floors(rule, claims, caps, floors, None, None, aon)
    if alloc.details["floors"] == "cpsat":
        # The engine met the floors by its search: filling the districts cannot meet them.
        event("floors met by the search")
        assert got is None
        return
    event("floors met by filling")
    assert got is not None
    assert [float(v) for v in got] == pytest.approx([float(v) for v in alloc.exact], abs=1e-9)


# --------------------------------------------------------------------------------------------
# The audit of a run with a district floor

# The booth fees of the first five firms of the sample: claims 40, 40, 20, 40 and 20 (half the
# fee); the third and the fifth are in 城中区, floored at 30. Fund 70: 城中区 reaches 15 and 15
# first, and the other three share the 40 left, 40/3 each, under every level rule.
FEES = ["80", "80", "40", "80", "40"]
FLOOR = {"district_floors": {"城中区": 30}}


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_a_run_with_a_floor_passes_the_exact_check(tmp_path: Path, rule: str) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    folder = tiny_run(tmp_path, ledger, FEES, 70, rule, FLOOR)
    rows = read_awards(folder)
    assert sorted((r["district"], int(r["claim_wan"])) for r in rows) == [
        ("城中区", 20),
        ("城中区", 20),
        ("柳东新区", 40),
        ("柳东新区", 40),
        ("融安县", 40),
    ]
    assert [int(r["award_wan"]) for r in rows if r["district"] == "城中区"] == [15, 15]
    assert sorted(int(r["award_wan"]) for r in rows if r["district"] != "城中区") == [13, 13, 14]
    code, report = audit_json(folder, ledger)
    assert code == 0, report["findings"]
    exact = next(c for c in report["checks"] if c["name"] == "exact")
    assert exact["status"] == "passed"
    assert "5 claim(s) against their exact value" in exact["detail"]


@pytest.mark.parametrize("rule", ["proportional", "talmud"])
def test_an_award_moved_by_2_wan_inside_the_floor_is_flagged(tmp_path: Path, rule: str) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    folder = tiny_run(tmp_path, ledger, FEES, 70, rule, FLOOR)
    rows = read_awards(folder)
    first, second = (n for n, r in enumerate(rows) if r["district"] == "城中区")
    # 17 and 13 still meet the floor of 30 and spend the fund: only the exact values, 15 and 15,
    # say the awards are wrong.
    rows[first]["award_wan"], rows[second]["award_wan"] = "17", "13"
    write_awards(folder, rows)
    code, report = audit_json(folder, ledger)
    assert code == 1
    hit = findings(report, "exact")
    assert sorted(f["row"] for f in hit) == [first + 2, second + 2]
    assert all("2.0000万元 from the exact" in f["message"] for f in hit)
    assert all("value 15万元 of its claim 20万元" in f["message"] for f in hit)
