"""The classic claims problem: three creditors claim 100, 200 and 300 from estates of 100, 200, 300.

Aumann & Maschler (1985), "Game theoretic analysis of a bankruptcy problem from the Talmud",
J. Econ. Theory 36, give the figures of each rule. Awards here are whole 万元, so each rule's
integer vector is derived by hand below from its definition (docs/fairness.md): the exact
value rounded down, and the units the estate still holds by largest remainder (ties: the
smaller exact award, then the larger claim, then rank).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.inputs.choices import Rule
from allocator.model.problem import FUND_CAP, Family, Problem, SolverSettings, Status
from allocator.solve.rules import allocate

CLAIMS = [100, 200, 300]
SETTINGS = SolverSettings(time_limit_s=20, workers=1)


def claims_problem(estate: int, weight: list[int] | None = None) -> Problem:
    n = len(CLAIMS)
    upper = np.asarray(CLAIMS, dtype=np.int64)
    claims = pd.DataFrame(
        {
            "recipient_id": ["A", "B", "C"],
            "clause_id": "1",
            "item_key": "claim",
            "claim_wan": upper,
        }
    )
    fund = Family(
        FUND_CAP, "estate", ["fund_cap"], [np.arange(n, dtype=np.int64)], np.array([estate]), "<="
    )
    return Problem(
        claims=claims,
        upper=upper,
        weight=np.asarray(weight or [1, 1, 1], dtype=np.int64),
        rank=np.arange(n, dtype=np.int64),
        all_or_nothing=np.zeros(n, dtype=bool),
        exclusive=[],
        exclusive_labels=[],
        exclusive_clause_ids=[],
        families=[fund],
        budget=estate,
    )


# Textbook figures (Aumann & Maschler 1985, table 1 and the rules' definitions).
TEXTBOOK = {
    Rule.PROPORTIONAL: {
        100: (100 / 6, 200 / 6, 50),
        200: (100 / 3, 200 / 3, 100),
        300: (50, 100, 150),
    },
    # Equal awards: λ = 33⅓, 66⅔, 100. (The Talmud's 50/75/75 for 200 is not equal awards:
    # with λ = 75 the three claims would take 75 + 75 + 75 = 225 > 200.)
    Rule.EQUAL_AWARDS: {
        100: (100 / 3, 100 / 3, 100 / 3),
        200: (200 / 3, 200 / 3, 200 / 3),
        300: (100, 100, 100),
    },
    Rule.EQUAL_LOSSES: {100: (0, 0, 100), 200: (0, 50, 150), 300: (0, 100, 200)},
    Rule.TALMUD: {
        100: (100 / 3, 100 / 3, 100 / 3),
        200: (50, 75, 75),
        300: (50, 100, 150),
    },
}

# Whole-万元 awards, equal weights, ranks A < B < C.
EXPECTED = {
    # r = 1/6 gives 16 + 33 + 50 = 99; the next step, r = 0.17 (17/100 = 34/200 = 51/300),
    # would raise all three to 102, so 1 unit is left and goes to A (rank 0).
    (Rule.PROPORTIONAL, 100): [17, 33, 50],
    # r = 1/3 gives 33 + 66 + 100 = 199; the next breakpoint, 67/200 = 0.335, raises only
    # B and fits (200); the one after, 101/300, would not. No remainder.
    (Rule.PROPORTIONAL, 200): [33, 67, 100],
    (Rule.PROPORTIONAL, 300): [50, 100, 150],
    # λ = 33⅓: 33 each, 1 unit to the tie at ⅓: the larger claim, C.
    (Rule.EQUAL_AWARDS, 100): [33, 33, 34],
    # λ = 66⅔: 66 each, 2 units: C, then B.
    (Rule.EQUAL_AWARDS, 200): [66, 67, 67],
    (Rule.EQUAL_AWARDS, 300): [100, 100, 100],
    # Losses λ = 200, 150, 100 are whole: exact.
    (Rule.EQUAL_LOSSES, 100): [0, 0, 100],
    (Rule.EQUAL_LOSSES, 200): [0, 50, 150],
    (Rule.EQUAL_LOSSES, 300): [0, 100, 200],
    # Half-claims 50/100/150 total 300 >= every estate: equal awards on them. λ = 33⅓: 33
    # each and 1 unit to C, as under equal awards; λ = 75 gives 50 + 75 + 75; λ = 150 gives
    # the half-claims themselves.
    (Rule.TALMUD, 100): [33, 33, 34],
    (Rule.TALMUD, 200): [50, 75, 75],
    (Rule.TALMUD, 300): [50, 100, 150],
}

# The level each rule reports (the exact level the fund stops it at): the ratio for
# proportional, λ in 万元 for equal awards and the Talmud, the common loss for equal losses.
LEVELS = {
    (Rule.PROPORTIONAL, 100): 1 / 6,
    (Rule.PROPORTIONAL, 200): 1 / 3,
    (Rule.PROPORTIONAL, 300): 0.5,
    (Rule.EQUAL_AWARDS, 100): 100 / 3,
    (Rule.EQUAL_AWARDS, 200): 200 / 3,
    (Rule.EQUAL_LOSSES, 100): 200,
    (Rule.EQUAL_LOSSES, 200): 150,
    (Rule.EQUAL_LOSSES, 300): 100,
    (Rule.TALMUD, 100): 100 / 3,
    (Rule.TALMUD, 200): 75,
    (Rule.TALMUD, 300): 150,
}


@pytest.mark.parametrize(("rule", "estate"), sorted(EXPECTED, key=str))
def test_rule_gives_the_textbook_figures_in_whole_units(rule: Rule, estate: int) -> None:
    result = allocate(claims_problem(estate), rule, SETTINGS)
    assert result.status is Status.OPTIMAL
    assert result.award.dtype == np.int64
    assert result.award.tolist() == EXPECTED[(rule, estate)]
    assert np.all(np.abs(result.award - np.asarray(TEXTBOOK[rule][estate])) < 1)
    assert int(result.award.sum()) == estate  # claims (600) exceed every estate


@pytest.mark.parametrize(("rule", "estate"), sorted(LEVELS, key=str))
def test_rule_reports_its_level(rule: Rule, estate: int) -> None:
    result = allocate(claims_problem(estate), rule, SETTINGS)
    below = result.award < np.asarray(CLAIMS)
    assert result.levels[below] == pytest.approx(LEVELS[(rule, estate)], abs=1e-4)
    assert all(result.frozen_by[i] == "fund_cap" for i in np.flatnonzero(below))


def test_a_claim_paid_in_full_has_no_level_and_no_limiting_row() -> None:
    # Equal awards, estate 300: λ = 100 pays A's 100 in full.
    result = allocate(claims_problem(300), Rule.EQUAL_AWARDS, SETTINGS)
    assert result.frozen_by == ["", "fund_cap", "fund_cap"]
    assert np.isnan(result.levels[0])


@pytest.mark.parametrize(
    ("rule", "estate", "expected", "remainder"),
    [
        # 16⅔, 33⅓, 50 -> 16 + 33 + 50 = 99; the unit to the largest remainder, A's ⅔.
        (Rule.PROPORTIONAL, 100, [17, 33, 50], 1),
        # 33⅓ each -> 99; the unit to the tie's larger claim, C.
        (Rule.EQUAL_AWARDS, 100, [33, 33, 34], 1),
        # 66⅔ each -> 198; two units: C, then B.
        (Rule.EQUAL_AWARDS, 200, [66, 67, 67], 2),
        (Rule.TALMUD, 100, [33, 33, 34], 1),
    ],
)
def test_units_go_by_largest_remainder_not_by_weight(
    rule: Rule, estate: int, expected: list[int], remainder: int
) -> None:
    result = allocate(claims_problem(estate, weight=[1, 1, 2]), rule, SETTINGS)
    assert result.award.tolist() == expected
    assert result.details["remainder"] == remainder


@pytest.mark.parametrize("estate", [100, 200, 300])
def test_priority_serves_lower_ranks_first(estate: int) -> None:
    # Equal weights: A, then B, then C, each as far as the estate goes.
    expected = {100: [100, 0, 0], 200: [100, 100, 0], 300: [100, 200, 0]}[estate]
    result = allocate(claims_problem(estate), Rule.PRIORITY, SETTINGS)
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == expected
    assert result.objective == estate
