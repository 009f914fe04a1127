"""The fairness rules on small problems worked by hand, and their properties on random ones."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    SUB_BUDGET,
    Allocation,
    Family,
    Problem,
    SolverSettings,
    Status,
)
from allocator.solve.context import make_context
from allocator.solve.filling import Level, fill_levels, fill_rounds
from allocator.solve.rules import allocate
from helpers import exact_filling, rows_of

FloatArray = npt.NDArray[np.float64]
SETTINGS = SolverSettings(time_limit_s=20, workers=1)
LEVEL_RULES = [Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD]


def row(name: str, label: str, members: Sequence[int], rhs: int, sense: str = "<=") -> Family:
    return Family(
        name,
        "test",
        [label],
        [np.asarray(members, dtype=np.int64)],
        np.array([rhs], dtype=np.int64),
        "<=" if sense == "<=" else ">=",
    )


def problem(
    upper: Sequence[int],
    budget: int,
    families: Sequence[Family] = (),
    *,
    weight: Sequence[int] | None = None,
    rank: Sequence[int] | None = None,
    all_or_nothing: Sequence[bool] | None = None,
    exclusive: Sequence[Sequence[int]] = (),
) -> Problem:
    """A problem with a fund cap of ``budget`` over every claim, then ``families``."""
    n = len(upper)
    up = np.asarray(upper, dtype=np.int64)
    claims = pd.DataFrame(
        {
            "recipient_id": [f"F{i}" for i in range(n)],
            "clause_id": "7",
            "item_key": "a",
            "claim_wan": up,
        }
    )
    fund = row(FUND_CAP, "fund_cap", range(n), budget)
    return Problem(
        claims=claims,
        upper=up,
        weight=np.asarray(weight or [1] * n, dtype=np.int64),
        rank=np.asarray(rank if rank is not None else range(n), dtype=np.int64),
        all_or_nothing=np.asarray(all_or_nothing or [False] * n, dtype=bool),
        exclusive=[np.asarray(g, dtype=np.int64) for g in exclusive],
        exclusive_labels=[f"no_duplicate[g{k}]" for k in range(len(exclusive))],
        exclusive_clause_ids=["8"] * len(exclusive),
        families=[fund, *families],
        budget=budget,
    )


def run(p: Problem, rule: Rule, workers: int = 1) -> Allocation:
    return allocate(p, rule, SolverSettings(time_limit_s=20, workers=workers))


# --------------------------------------------------------------------------- caps


CAPPED = problem([40, 40, 40], 60, [row(FIRM_CAP, "firm_cap[A]", [0], 10)])


@pytest.mark.parametrize(
    ("rule", "levels"),
    [
        # Firm A stops at 10 = 0.25·40; the fund then holds 10 + 2·25 = 60 at 25/40.
        (Rule.PROPORTIONAL, [0.25, 0.625, 0.625]),
        (Rule.EQUAL_AWARDS, [10, 25, 25]),
        # Losses: A at 40 − 30, the others at 40 − 15.
        (Rule.EQUAL_LOSSES, [30, 15, 15]),
        # Half-claims are 20: A stops within them (λ = 10); the others pass them, 20 + 5.
        (Rule.TALMUD, [10, 25, 25]),
    ],
)
def test_firm_cap_freezes_the_firm_and_the_others_rise(rule: Rule, levels: list[float]) -> None:
    result = run(CAPPED, rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [10, 25, 25]
    assert result.frozen_by == ["firm_cap[A]", "fund_cap", "fund_cap"]
    assert result.levels.tolist() == pytest.approx(levels)
    assert result.details["filling"] == "laminar"


def test_priority_with_a_firm_cap() -> None:
    # Equal weights: A as far as its cap (10), then B in full (40), C the rest (10).
    result = run(CAPPED, Rule.PRIORITY)
    assert result.award.tolist() == [10, 40, 10]
    assert result.frozen_by == ["firm_cap[A]", "", "fund_cap"]
    assert np.isnan(result.levels).all()
    assert result.details["method"] == "greedy"


SUB = problem([30, 30, 30, 30], 70, [row(SUB_BUDGET, "sub_budget[S]", [0, 1], 20)])


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_sub_budget_binds_before_the_fund(rule: Rule) -> None:
    # Clause S (claims 0, 1) shares 20: 10 each. The fund's 70 leaves 50 for the other two:
    # 25 each (ratio 25/30, λ = 25, loss 5, Talmud 15 + 10 past the half-claims).
    result = run(SUB, rule)
    assert result.award.tolist() == [10, 10, 25, 25]
    assert result.frozen_by == ["sub_budget[S]", "sub_budget[S]", "fund_cap", "fund_cap"]


def test_priority_with_a_sub_budget() -> None:
    # Claim 0 takes S's 20, claim 1 nothing, claim 2 its 30, claim 3 the last 20.
    assert run(SUB, Rule.PRIORITY).award.tolist() == [20, 0, 30, 20]


# --------------------------------------------------------------------------- floors

FLOORED = problem(
    [40, 40, 20, 20], 50, [row(DISTRICT_FLOOR, "district_floor[D]", [2, 3], 30, ">=")]
)


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_district_floor_is_met_first(rule: Rule) -> None:
    # Inside D, claims 2 and 3 (20 each) rise to 15 each = 30; the other two share the
    # remaining 20 of the fund at 10 each, the floor holding D's claims at 15.
    result = run(FLOORED, rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [10, 10, 15, 15]
    assert result.details["floors"] == "laminar"


def test_without_the_floor_equal_awards_differ() -> None:
    # λ = 12 gives 48; the 2 left go to ranks 0 and 1.
    free = problem([40, 40, 20, 20], 50)
    assert run(free, Rule.EQUAL_AWARDS).award.tolist() == [13, 13, 12, 12]


def test_priority_meets_the_floor() -> None:
    # Claim 0 can have at most 50 − 30; D's 30 goes to claim 2 first.
    assert run(FLOORED, Rule.PRIORITY).award.tolist() == [20, 0, 20, 10]


CROSSED_FLOORS = problem(
    [10, 10, 10],
    30,
    [
        row(SUB_BUDGET, "sub_budget[S]", [0, 2], 10),
        row(DISTRICT_FLOOR, "district_floor[D1]", [0, 1], 10, ">="),
        row(DISTRICT_FLOOR, "district_floor[D2]", [2], 10, ">="),
    ],
)


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_floors_that_filling_cannot_meet_fall_back_to_search(rule: Rule) -> None:
    # Filling D1 and D2 together spends S on claims 0 and 2 (5 each), leaving D2 at 5. The
    # only way to meet both floors is claim 2 = 10 (all of S), claim 1 = 10, claim 0 = 0.
    result = run(CROSSED_FLOORS, rule)
    assert result.status is Status.OPTIMAL
    assert result.details["floors"] == "cpsat"
    assert result.award.tolist() == [0, 10, 10]


def floors_against_caps() -> Problem:
    # District D (claims 0, 1: 20 + 10) must get 25, but firm F0's cap of 5 holds claim 0:
    # at most 15 in D. The fund of 100 plays no part.
    return problem(
        [20, 10, 10],
        100,
        [
            row(FIRM_CAP, "firm_cap[F0]", [0], 5),
            row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 25, ">="),
        ],
    )


@pytest.mark.parametrize("rule", list(Rule))
def test_infeasible_floors_name_the_conflicting_rows(rule: Rule) -> None:
    result = run(floors_against_caps(), rule)
    assert result.status is Status.INFEASIBLE
    assert result.award.tolist() == [0, 0, 0]
    assert sorted(result.details["conflict"]) == [
        "district_floor[D]",
        "firm_cap[F0]",
    ]
    assert result.details["conflict_families"] == ["district_floor", "firm_cap"]


@pytest.mark.parametrize("rule", list(Rule))
def test_floor_above_the_fund_names_the_fund(rule: Rule) -> None:
    p = problem([20, 20], 20, [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 25, ">=")])
    result = run(p, rule)
    assert result.status is Status.INFEASIBLE
    assert result.details["conflict_families"] == ["district_floor", "fund_cap"]


# --------------------------------------------------------------------------- groups, items

GROUPED = problem([6, 5, 5], 12, weight=[1, 3, 2], exclusive=[[0, 1]])


def test_priority_pays_the_better_weighted_member_of_a_group() -> None:
    # Claim 1 (5 × 3) with claim 2 (5 × 2) scores 25; claim 0 instead would score 6 + 10.
    result = run(GROUPED, Rule.PRIORITY)
    assert result.award.tolist() == [0, 5, 5]
    assert result.objective == 25
    assert result.frozen_by[0] == "no_duplicate[g0]"


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_level_rules_keep_the_largest_claim_of_a_group(rule: Rule) -> None:
    # Claim 0 (6) is the largest of the group; 6 + 5 fits in 12.
    result = run(GROUPED, rule)
    assert result.award.tolist() == [6, 0, 5]
    assert result.frozen_by == ["", "no_duplicate[g0]", ""]
    assert result.details["excluded"] == 1


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_floor_that_needs_the_member_a_group_set_aside(rule: Rule) -> None:
    # The group keeps its largest claim, a 4万 one-off, which a fund of 3 can never pay; the
    # floor of 3 can only be met by the other member, the claim of 3. The rule must keep it.
    p = problem(
        [3, 4],
        3,
        [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 3, ">=")],
        all_or_nothing=[False, True],
        exclusive=[[0, 1]],
    )
    result = run(p, rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [3, 0]
    assert result.frozen_by == ["", "no_duplicate[g0]"]
    assert result.details["floors"] == "cpsat"


ONE_OFF = problem([5, 3, 3], 6, all_or_nothing=[True, False, False])


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_one_off_item_is_paid_only_when_the_level_reaches_it(rule: Rule) -> None:
    # The 5万 item needs the level at its full claim, which would cost 11 > 6: it gets 0
    # and the two 3万 claims take the fund (via the remainder where the level stops short).
    result = run(ONE_OFF, rule)
    assert result.award.tolist() == [0, 3, 3]
    assert result.frozen_by[0] == "fund_cap"


def test_priority_pays_a_one_off_item_whole() -> None:
    # Rank 0 is the item: 5, then 1 for claim 1.
    assert run(ONE_OFF, Rule.PRIORITY).award.tolist() == [5, 1, 0]


@pytest.mark.parametrize("rule", list(Rule))
def test_one_off_items_share_the_remainder_whole(rule: Rule) -> None:
    # Two 5万 items, fund 7: only one fits, and it is the rank-0 one.
    p = problem([5, 5], 7, all_or_nothing=[True, True])
    result = run(p, rule)
    assert result.award.tolist() == [5, 0]
    if rule is not Rule.PRIORITY:
        assert result.details["remainder"] == 5


# Firm A (capped at 12) claims a 5万 one-off, 20 and 3; firm B claims 20; fund 26.
FIRM_ONE_OFF = problem(
    [5, 20, 3, 20],
    26,
    [row(FIRM_CAP, "firm_cap[A]", [0, 1, 2], 12)],
    all_or_nothing=[True, False, False, False],
)


def test_an_unfunded_one_off_stops_its_firm_just_below_its_claim() -> None:
    # Equal awards: at λ = 5 the one-off would become whole, 5 + 5 + 3 = 13 > 12, so A's cap
    # stops the level just below 5 with the one-off at 0: (0, 5, 3), 8 of the 12 used. B rises
    # alone to 26 − 8 = 18. The 4 left under A's cap cannot take the 5万 item afterwards.
    result = run(FIRM_ONE_OFF, Rule.EQUAL_AWARDS)
    assert result.exact.tolist() == pytest.approx([0, 5, 3, 18], abs=1e-9)
    assert result.award.tolist() == [0, 5, 3, 18]
    assert result.frozen_by[:2] == ["firm_cap[A]", "firm_cap[A]"]


def test_a_one_off_paid_first_leaves_its_firm_the_rest_of_the_cap() -> None:
    # one_offs: first: the item is paid, 20 and 3 share the 7 left under A's cap (4 and 3) and
    # B takes 26 − 12 = 14.
    result = run(replace(FIRM_ONE_OFF, one_offs="first"), Rule.EQUAL_AWARDS)
    assert result.exact.tolist() == pytest.approx([5, 4, 3, 14], abs=1e-9)
    assert result.award.tolist() == [5, 4, 3, 14]


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_a_floor_the_one_offs_paid_first_already_meet_asks_nothing_more(rule: Rule) -> None:
    # one_offs: first pays the 2万 item, which meets the district's floor of 1 on its own: the
    # floor sets no lower bound (it used to be a cap already exceeded where filling starts).
    # The fund is spent: nothing is left for the other three claims.
    floored = problem(
        [1, 2, 1, 1],
        2,
        [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1, 2, 3], 1, ">=")],
        all_or_nothing=[False, True, False, False],
    )
    result = run(replace(floored, one_offs="first"), rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [0, 2, 0, 0]


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_a_floor_the_one_offs_meet_only_in_part_is_filled_from_there(rule: Rule) -> None:
    # The 2万 item paid first; the floor of 4 wants 2 more from claims 0 and 2 (1 each under
    # every level rule); the fund's other 2 then rise over claims 0, 2 and 3 by the level,
    # claims 0 and 2 starting from their 1: the district keeps at least its floor.
    floored = problem(
        [2, 2, 2, 2],
        6,
        [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1, 2], 4, ">=")],
        all_or_nothing=[False, True, False, False],
    )
    result = run(replace(floored, one_offs="first"), rule)
    assert result.status is Status.OPTIMAL
    assert sum(result.award.tolist()[i] for i in (0, 1, 2)) >= 4
    assert result.award.tolist()[1] == 2
    assert sum(result.award.tolist()) == 6


# --------------------------------------------------------------------------- budgets, weights


@pytest.mark.parametrize("rule", list(Rule))
def test_budget_above_the_claims_pays_every_claim(rule: Rule) -> None:
    result = run(problem([10, 20, 30], 100), rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [10, 20, 30]
    assert result.frozen_by == ["", "", ""]
    assert np.isnan(result.levels).all()


@pytest.mark.parametrize("rule", list(Rule))
def test_zero_budget_pays_nothing(rule: Rule) -> None:
    result = run(problem([10, 20, 30], 0), rule)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [0, 0, 0]
    assert result.frozen_by == ["fund_cap"] * 3


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ([1, 1], [10, 0]),  # equal weights: rank 0 first
        ([1, 2], [0, 10]),  # weight 2 outranks rank
    ],
)
def test_weights_change_the_priority_outcome(weight: list[int], expected: list[int]) -> None:
    assert run(problem([10, 10], 10, weight=weight), Rule.PRIORITY).award.tolist() == expected


def test_weight_against_amount() -> None:
    # Claim 0 (6 × 2 = 12 per fund of 6) beats claims 1 and 2 at weight 1; at weight 1 all
    # score alike and rank decides, which also serves claim 0 first.
    assert run(problem([6, 5, 5], 10, weight=[2, 1, 1]), Rule.PRIORITY).award.tolist() == [
        6,
        4,
        0,
    ]
    # Weights 1, 2, 2: claims 1 and 2 fill the fund.
    assert run(problem([6, 5, 5], 10, weight=[1, 2, 2]), Rule.PRIORITY).award.tolist() == [
        0,
        5,
        5,
    ]


# --------------------------------------------------------------------------- determinism


def crossed(n_firms: int, seed: int = 0) -> Problem:
    """Firms x clauses with firm caps crossing clause sub-budgets: many tied optima.

    Ranks run firm by firm, so two firms and two clauses form rectangles where swapping
    awards costs nothing under the weights nor under distinct rank coefficients.
    """
    rng = np.random.default_rng(seed)
    per = 5
    n = n_firms * per
    clause = np.tile(np.arange(per), n_firms)
    upper = rng.choice([5, 10, 20, 50], n).astype(np.int64)
    cap = rng.choice([20, 40, 60], n_firms).astype(np.int64)
    firms = Family(
        FIRM_CAP,
        "test",
        [f"firm_cap[F{f}]" for f in range(n_firms)],
        [np.arange(f * per, (f + 1) * per, dtype=np.int64) for f in range(n_firms)],
        cap,
        "<=",
    )
    members = [np.flatnonzero(clause == k).astype(np.int64) for k in range(per)]
    subs = Family(
        SUB_BUDGET,
        "test",
        [f"sub_budget[{k}]" for k in range(per)],
        members,
        np.array([int(upper[m].sum() * 0.35) for m in members], dtype=np.int64),
        "<=",
    )
    base = problem(upper.tolist(), int(upper.sum() * 0.4), [firms, subs])
    weight = rng.integers(1, 3, n).astype(np.int64)
    return Problem(**{**base.__dict__, "weight": weight})


@pytest.mark.slow
@pytest.mark.parametrize("rule", list(Rule))
def test_one_or_two_workers_give_the_same_awards(rule: Rule) -> None:
    p = crossed(400)
    assert p.size == 2000
    one = run(p, rule, workers=1)
    two = run(p, rule, workers=2)
    assert one.status is Status.OPTIMAL
    assert two.status is Status.OPTIMAL
    assert np.array_equal(one.award, two.award)
    assert one.frozen_by == two.frozen_by
    assert np.array_equal(one.levels, two.levels, equal_nan=True)


@pytest.mark.parametrize("rule", list(Rule))
def test_same_inputs_same_outputs(rule: Rule) -> None:
    p = crossed(20, seed=3)
    first = run(p, rule, workers=2)
    again = run(p, rule, workers=2)
    assert first.award.tobytes() == again.award.tobytes()
    assert first.frozen_by == again.frozen_by


def test_progress_is_reported() -> None:
    seen: list[str] = []
    allocate(
        crossed(10),
        Rule.PRIORITY,
        SETTINGS,
        progress=lambda phase, incumbent, bound: seen.append(phase),
    )
    assert "priority" in seen
    seen.clear()
    allocate(CAPPED, Rule.EQUAL_AWARDS, SETTINGS, progress=lambda p, i, b: seen.append(p))
    assert "filling" in seen


# --------------------------------------------------------------------------- properties


@st.composite
def small_problems(draw: st.DrawFn, laminar: bool) -> Problem:
    n = draw(st.integers(2, 7))
    upper = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    aon = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    budget = draw(st.integers(0, sum(upper) + 2))
    families: list[Family] = []
    if laminar:
        firm = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
        district_of = draw(st.lists(st.integers(0, 1), min_size=3, max_size=3))
        groups = [[i for i in range(n) if district_of[firm[i]] == d] for d in range(2)]
        groups += [[i for i in range(n) if firm[i] == f] for f in range(3)]
    else:
        groups = draw(
            st.lists(
                st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True),
                min_size=1,
                max_size=4,
            )
        )
    for k, g in enumerate(groups):
        if g:
            rhs = draw(st.integers(0, sum(upper[i] for i in g) + 1))
            families.append(row(SUB_BUDGET, f"row[{k}]", sorted(g), rhs))
    return problem(upper, budget, families, all_or_nothing=aon)


def by_definition(p: Problem, rule: Rule) -> list[float]:
    """The exact filling of every claim under the caps, in fractions (tests/helpers.py)."""
    caps = [(m, r) for _, m, r, sense in rows_of(p) if sense == "<="]
    zero = [Fraction(0)] * p.size
    values, _ = exact_filling(p, rule, [True] * p.size, zero, zero, caps)
    return [float(v) for v in values]


def filled(p: Problem, rule: Rule, *, rounds: bool) -> FloatArray:
    """The engine's progressive filling alone (laminar pass, or forced rounds)."""
    ctx = make_context(p, SETTINGS, None)
    level = Level(rule, p.upper)
    zero = np.zeros(p.size, dtype=np.float64)
    active = np.ones(p.size, dtype=bool)
    if rounds:
        return fill_rounds(ctx, level, ctx.packing, active, zero, zero, "t").value
    return fill_levels(ctx, level, ctx.packing, active, zero, zero, "t").value


@settings(max_examples=150, deadline=None)
@given(small_problems(laminar=True), st.sampled_from(LEVEL_RULES))
def test_laminar_filling_follows_the_definition(p: Problem, rule: Rule) -> None:
    expected = by_definition(p, rule)
    assert filled(p, rule, rounds=False).tolist() == pytest.approx(expected, abs=1e-9)
    assert filled(p, rule, rounds=True).tolist() == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("rounds", [False, True])
def test_rows_closing_in_on_one_jump_bind_at_the_jump(rounds: bool) -> None:
    # A 3万 one-off (claim 0) in a row of 1 it can never enter: at λ = 3 it would become
    # whole, so that row binds there from below and holds it at 0. The fund (4) is passed by
    # the same jump at the same level, but once the one-off is held it has room: claim 2 rises
    # on to its cap of 4. Both rows close in on λ = 3 by bisection; they must meet at 3 itself,
    # not one a rounding error below it (where the fund would have frozen claim 2 at 3).
    p = problem(
        [3, 0, 5, 0],
        4,
        [
            row(SUB_BUDGET, "row[0]", [0, 1, 2, 3], 4),
            row(SUB_BUDGET, "row[2]", [0, 1, 3], 1),
            row(SUB_BUDGET, "row[3]", [2], 4),
        ],
        all_or_nothing=[True, False, False, False],
    )
    assert by_definition(p, Rule.EQUAL_AWARDS) == [0.0, 0.0, 4.0, 0.0]
    assert filled(p, Rule.EQUAL_AWARDS, rounds=rounds).tolist() == [0.0, 0.0, 4.0, 0.0]


@settings(max_examples=150, deadline=None)
@given(small_problems(laminar=False), st.sampled_from(LEVEL_RULES))
def test_crossing_filling_follows_the_definition(p: Problem, rule: Rule) -> None:
    expected = by_definition(p, rule)
    assert filled(p, rule, rounds=False).tolist() == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(small_problems(laminar=False), st.data())
def test_priority_reaches_the_lexicographic_optimum(p: Problem, data: st.DataObject) -> None:
    weight = data.draw(st.lists(st.integers(1, 3), min_size=p.size, max_size=p.size))
    rank = data.draw(st.permutations(range(p.size)))
    upper = np.minimum(p.upper, 3)
    p = Problem(
        **{**p.__dict__, "upper": upper, "weight": np.array(weight), "rank": np.array(rank)}
    )
    result = allocate(p, Rule.PRIORITY, SETTINGS)
    tie = p.size - p.rank
    rows = [(m, int(r)) for fam in p.families for m, r in zip(fam.members, fam.rhs, strict=True)]
    best = (-1, -1)
    for combo in itertools.product(*(range(int(u) + 1) for u in upper)):
        x = np.array(combo)
        if any(x[m].sum() > r for m, r in rows):
            continue
        if any(a and 0 < v < u for a, v, u in zip(p.all_or_nothing, x, upper, strict=True)):
            continue
        best = max(best, (int(p.weight @ x), int(tie @ x)))
    assert result.status is Status.OPTIMAL
    assert (int(p.weight @ result.award), int(tie @ result.award)) == best
