"""The problem builder, family by family, on small hand-made claims tables.

Every expected number is worked out by hand in the comments. The tiny model and the claims
tables come from tests/runs.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.core.errors import InputError
from allocator.inputs.choices import Rule
from allocator.inputs.scenario import Contribution
from allocator.model.build import Build, check_limits
from allocator.model.problem import FUND_CAP, Family, Problem
from allocator.model.weights import WEIGHT_SCALE, contribution_multiplier
from allocator.policy.bind import Budget
from runs import A, B, C, claims, run_build, tiny_model


def family(b: Build, name: str) -> dict[str, tuple[list[int], int, str]]:
    """label -> (members as variable indices, rhs, clause id) for one family."""
    for fam in b.problem.families:
        if fam.name == name:
            return {
                label: (m.tolist(), int(r), fam.clause_id)
                for label, m, r in zip(fam.labels, fam.members, fam.rhs, strict=True)
            }
    return {}


def var_of(b: Build, rid: str, key: str) -> int:
    rows = b.rows
    hit = rows[(rows["recipient_id"] == rid) & (rows["item_key"] == key)]
    assert len(hit) == 1
    return int(hit["var"].iloc[0])


# --------------------------------------------------------------------------------------------


def test_rows_order_variables_and_fund_cap() -> None:
    table = claims(
        ("柳南区", "9/district", 50),
        (B, "1/growth", 20),
        (A, "5/booth", 6),
        (A, "1/growth", 30),
        (C, "5/booth", 0, {"eligible": False}),
        (C, "2/recovery", 8, {"applied": False}),
        (C, "5/launch", 0),
    )
    b = run_build(table)
    # Eligible rows only (claim above 0: C's launch claims 0 and is no row), item in
    # document order, then recipient id.
    assert list(zip(b.rows["item_key"], b.rows["recipient_id"], strict=True)) == [
        ("1/growth", A),
        ("1/growth", B),
        ("2/recovery", C),
        ("5/booth", A),
        ("9/district", "柳南区"),
    ]
    # Variables: positive claims applied for; C's recovery was not applied for.
    assert b.rows["var"].tolist() == [0, 1, -1, 2, 3]
    assert b.problem.upper.tolist() == [30, 20, 6, 50]
    assert b.problem.rank.tolist() == [0, 1, 2, 3]
    assert b.rows["note"].iloc[2].startswith("not applied for")
    assert family(b, "fund_cap") == {"fund_cap": ([0, 1, 2, 3], 100, "18")}
    assert b.problem.budget == 100
    assert b.infeasible == []


def test_fund_cap_from_the_scenario_when_the_document_states_none() -> None:
    b = run_build(claims((A, "1/growth", 30)), tiny_model(cap=None), budget_wan=70)
    assert family(b, "fund_cap") == {"fund_cap": ([0], 70, "scenario")}
    assert (b.budget.source, b.budget.document_cap_wan) == ("scenario", None)


def test_provincial_exclude_if_applied() -> None:
    # 2025 （二十）: A applied for the provincial growth award, so its city growth claim gets
    # no variable; its booth claim (type market) is untouched; B did not apply.
    table = claims(
        (A, "1/growth", 30, {"provincial_applied": True}),
        (B, "1/growth", 20),
        (A, "5/booth", 6),
    )
    b = run_build(table)
    assert var_of(b, A, "1/growth") == -1
    assert b.rows["note"].iloc[0] == (
        "provincial: applied for the provincial award of the same type (clause 20)"
    )
    assert b.problem.upper.tolist() == [20, 6]
    assert b.problem.claims["recipient_id"].tolist() == [B, A]


def test_provincial_better_of_item_by_item() -> None:
    # 2026 十一（三）: one payable item of the type, so the city pays claim − provincial.
    # A: 30 − 12 = 18. B: 5 − 9 < 0, no variable.
    # C: growth and recovery are one no-duplicate group: at most one is paid, so each is
    #    reduced on its own: 25 − 10 = 15 and 8 − 10 < 0.
    table = claims(
        (A, "1/growth", 30, {"provincial_award_wan": 12}),
        (B, "1/growth", 5, {"provincial_award_wan": 9}),
        (C, "1/growth", 25, {"provincial_award_wan": 10}),
        (C, "2/recovery", 8, {"provincial_award_wan": 10}),
    )
    b = run_build(table, tiny_model("better_of"))
    assert b.rows["upper_wan"].tolist() == [18, 0, 15, 0]
    assert b.rows["var"].tolist() == [0, -1, 1, -1]
    notes = b.rows["note"].tolist()
    assert notes[0] == (
        "provincial: less the provincial award of the same type (12万元): better of the two, "
        "not both (clause 20)"
    )
    assert "(9万元) is not below the claim" in notes[1]
    assert family(b, "provincial") == {}


def test_provincial_better_of_stacking_items() -> None:
    # A's booth (6) and launch (8) are both type market and stack: the firm gets the better of
    # 14 from the city and 10 from the province, so the city pays at most 14 − 10 = 4 for the
    # two together: one provincial row, uppers min(6, 4) and min(8, 4).
    # B's booth (3) and launch (2) against a provincial 5: 5 − 5 = 0, no variables.
    table = claims(
        (A, "5/booth", 6, {"provincial_award_wan": 10}),
        (A, "5/launch", 8, {"provincial_award_wan": 10}),
        (B, "5/booth", 3, {"provincial_award_wan": 5}),
        (B, "5/launch", 2, {"provincial_award_wan": 5}),
    )
    b = run_build(table, tiny_model("better_of"))
    assert b.rows["upper_wan"].tolist() == [4, 0, 4, 0]
    assert b.rows["var"].tolist() == [0, -1, 1, -1]
    assert family(b, "provincial") == {f"provincial[market][{A}]": ([0, 1], 4, "20")}
    assert "together at most 4万元" in b.rows["note"].iloc[0]
    assert "is not below the firm's city claims" in b.rows["note"].iloc[1]


def test_firm_caps_only_where_they_can_bind() -> None:
    # A claims 30 + 6 = 36 > 25: a row. B claims 20: none. The district is no firm.
    table = claims(
        (A, "1/growth", 30),
        (B, "1/growth", 20),
        (A, "5/booth", 6),
        ("柳南区", "9/district", 50),
    )
    b = run_build(table, firm_cap_wan=25)
    assert family(b, "firm_cap") == {f"firm_cap[{A}]": ([0, 2], 25, "scenario")}


def test_district_caps_and_floors() -> None:
    # 柳南区 holds A (growth 30, booth 6) and the district's own award 50; 柳北区 holds B (20).
    table = claims(
        (A, "1/growth", 30),
        (B, "1/growth", 20),
        (A, "5/booth", 6),
        ("柳南区", "9/district", 50),
    )
    b = run_build(table, district_floors={"柳南区": 10}, district_caps={"柳北区": 15})
    assert family(b, "district_floor") == {"district_floor[柳南区]": ([0, 2, 3], 10, "scenario")}
    assert family(b, "district_cap") == {"district_cap[柳北区]": ([1], 15, "scenario")}
    senses = {f.name: f.sense for f in b.problem.families}
    assert (senses["district_floor"], senses["district_cap"]) == (">=", "<=")
    assert b.infeasible == []


def test_floors_that_cannot_be_met_are_reported() -> None:
    # 柳南区's claims total 30 < its floor 50, 柳北区's 20 < 60 (reported in the order of
    # schema.DISTRICTS); the floors add up to 60 + 50 = 110 > 100.
    table = claims((A, "1/growth", 30), (B, "1/growth", 20))
    b = run_build(table, district_floors={"柳北区": 60, "柳南区": 50})
    assert b.infeasible == [
        "district_floor[柳南区] = 50万元 exceeds all the claims of the district together (30万元)",
        "district_floor[柳北区] = 60万元 exceeds all the claims of the district together (20万元)",
        "the district floors add up to 110万元, more than the budget of 100万元",
    ]


def test_exclusive_groups_of_the_model_and_the_scenario() -> None:
    # The model's growth_award group: A has growth and recovery (a row), B only growth (none).
    # The scenario's extra group over the two fair items: A has both (a row).
    table = claims(
        (A, "1/growth", 30),
        (A, "2/recovery", 8),
        (B, "1/growth", 20),
        (A, "5/booth", 6),
        (A, "5/launch", 8),
    )
    b = run_build(table, exclusive_groups=[{"name": "fairs", "items": ["5/booth", "5/launch"]}])
    p = b.problem
    got = {
        label: (m.tolist(), c)
        for label, m, c in zip(p.exclusive_labels, p.exclusive, p.exclusive_clause_ids, strict=True)
    }
    assert got == {
        f"no_duplicate[growth_award][{A}]": ([0, 2], "20"),
        f"no_duplicate[fairs][{A}]": ([3, 4], "scenario"),
    }
    assert b.exclusive_groups == ["growth_award", "fairs"]
    assert p.all_or_nothing.tolist() == [False, False, False, False, True]


def test_sub_budgets_by_clause_and_by_item() -> None:
    table = claims(
        (A, "1/growth", 30),
        (C, "2/recovery", 8),
        (A, "5/booth", 6),
        (A, "5/launch", 8),
    )
    b = run_build(
        table,
        sub_budgets=[
            {"name": "growth", "clauses": ["1", "2"], "budget_wan": 40},
            {"name": "booths", "clauses": ["5/booth"], "budget_wan": 5},
        ],
    )
    assert family(b, "sub_budget") == {
        "sub_budget[growth]": ([0, 1], 40, "scenario"),
        "sub_budget[booths]": ([2], 5, "scenario"),
    }


def test_weights_multiply_and_scale_to_integers() -> None:
    # A's booth: clause 5 (2) × steel (1.5) × 柳南区 (0.5) = 1.5 -> 1500.
    # A's launch: item 5/launch (3 replaces clause 5's 2) × 1.5 × 0.5 = 2.25 -> 2250.
    # B's growth: no weight applies -> 1000. The district: 柳南区 0.5 -> 500.
    table = claims(
        (B, "1/growth", 20),
        (A, "5/booth", 6),
        (A, "5/launch", 8),
        ("柳南区", "9/district", 50),
    )
    b = run_build(
        table,
        weights={
            "clauses": {"5": 2, "5/launch": 3},
            "industries": {"steel": 1.5},
            "districts": {"柳南区": 0.5},
        },
    )
    assert b.problem.weight.tolist() == [1000, 1500, 2250, 500]
    # A tiny weight still leaves a positive integer.
    b = run_build(claims((B, "1/growth", 20)), weights={"districts": {"柳北区": 0.0001}})
    assert b.problem.weight.tolist() == [1]
    assert WEIGHT_SCALE == 1000


def test_contribution_multiplier_by_hand() -> None:
    # Output before / now: A 100 -> 110, B 200 -> 260, C 0 -> 50.
    # Growth rate: A 0.1, B 0.3, C undefined (no base): ranks A 0, B 1, C 0.
    # Increment: A 10, B 60, C 50: ranks A 0, C 0.5, B 1.
    # With a = 1, b = 2: A 1 + 0 + 0 = 1; B 1 + 1 + 2 = 4; C 1 + 0 + 1 = 2.
    enterprises = pd.DataFrame(
        {"output_2024q1": [100.0, 200.0, 0.0], "output_2025q1": [110.0, 260.0, 50.0]}
    )
    mult = contribution_multiplier(enterprises, Contribution(growth=1, increment=2))
    assert mult.tolist() == [1.0, 4.0, 2.0]
    table = claims(
        (A, "1/growth", 30),
        (B, "1/growth", 20),
        (C, "1/growth", 20),
        ("柳南区", "9/district", 50),
    )
    b = run_build(
        table,
        weights={"contribution": {"growth": 1, "increment": 2}},
        enterprises=enterprises,
    )
    assert b.problem.weight.tolist() == [1000, 4000, 2000, 1000]


def test_contribution_ranks_ties_and_missing_figures() -> None:
    # Increments 5, 5, 20 and one firm without figures: ties share rank (0 + 0.5) / 2 ... the
    # average rank 1.5 of positions 1 and 2 gives (1.5 − 1) / 2 = 0.25; the top firm 1; the
    # firm without figures 0.
    enterprises = pd.DataFrame(
        {
            "output_2024q1": [10.0, 20.0, 30.0, np.nan],
            "output_2025q1": [15.0, 25.0, 50.0, 40.0],
        }
    )
    mult = contribution_multiplier(enterprises, Contribution(increment=1))
    assert mult.tolist() == [1.25, 1.25, 2.0, 1.0]


def test_no_variable_when_nothing_is_eligible() -> None:
    b = run_build(claims((A, "1/growth", 30, {"eligible": False})))
    assert b.problem.size == 0
    assert len(b.rows) == 0
    assert family(b, "fund_cap") == {"fund_cap": ([], 100, "18")}


def test_claims_naming_unknown_items_are_refused() -> None:
    table = claims((A, "1/growth", 30))
    table.loc[0, "item_key"] = "99/x"
    with pytest.raises(ValueError, match="99/x"):
        run_build(table)


# --------------------------------------------------------------------------------------------
# The solver's integer range (docs/reliability.md)


@dataclass(frozen=True)
class _Data:
    """Two firms in one file: record k is row k + 2."""

    files: tuple[Path, ...] = (Path("data.csv"),)

    def locate(self, index: int) -> tuple[str, int]:
        return "data.csv", index + 2


def _built(upper: list[int], weight: list[int] | None = None, firm_row: int = 0) -> Build:
    n = len(upper)
    claims = pd.DataFrame(
        {
            "recipient_id": [f"F{i}" for i in range(n)],
            "item_key": "2/booth",
            "firm_row": [firm_row] * n,
        }
    )
    up = np.asarray(upper, dtype=np.int64)
    everyone = np.arange(n, dtype=np.int64)
    problem = Problem(
        claims=claims,
        upper=up,
        weight=np.asarray(weight or [WEIGHT_SCALE] * n, dtype=np.int64),
        rank=everyone,
        all_or_nothing=np.zeros(n, dtype=bool),
        exclusive=[],
        exclusive_labels=[],
        exclusive_clause_ids=[],
        families=[Family(FUND_CAP, "s", ["fund_cap"], [everyone], np.array([1]), "<=")],
        budget=1,
    )
    return Build(problem, pd.DataFrame(), Budget(1, "scenario", "scenario", None), [], [])


def _refused(built: Build, rule: Rule) -> str:
    with pytest.raises(InputError) as caught:
        check_limits(built, rule, scenario="scenario.yaml", model="model.yaml", data=_Data())
    return str(caught.value)


def test_a_claim_of_two_to_the_20_is_taken_by_proportional() -> None:
    check_limits(
        _built([2**20, 5]), Rule.PROPORTIONAL, scenario="s.yaml", model="m.yaml", data=_Data()
    )


def test_a_claim_beyond_the_proportional_grid_is_named_by_its_row() -> None:
    message = _refused(_built([5, 2**20 + 1], firm_row=1), Rule.PROPORTIONAL)
    assert message == (
        "data.csv, row 3: expected a claim of at most 1,048,576万元 (2^20), the largest the "
        "proportional rule's exact ratios take (found 1,048,577万元 for F1 under item 2/booth)"
    )
    # Other rules take it; a claim of no firm is named in the model.
    check_limits(
        _built([2**20 + 1]), Rule.EQUAL_AWARDS, scenario="s.yaml", model="m.yaml", data=_Data()
    )
    assert _refused(_built([2**20 + 1], firm_row=-1), Rule.PROPORTIONAL).startswith(
        "model.yaml: expected a claim of at most 1,048,576万元"
    )


def test_claims_totalling_two_to_the_52_are_refused() -> None:
    message = _refused(_built([2**51, 2**51]), Rule.PRIORITY)
    assert message == (
        "data.csv: expected claims totalling less than 4,503,599,627,370,496万元 (2^52, below "
        "which the engine's sums are exact) (found 4,503,599,627,370,496万元 in 2 claims)"
    )


def test_the_tie_break_beyond_the_solver_range_is_refused() -> None:
    # 3,000 claims of 2^40万元: 3.3e15 in total (below 2^52) and Σ 1000 × claim = 3.3e18
    # (below 2^62), but Σ (n − rank) × claim = 4,501,500 × 2^40 ≈ 4.95e18 is above 2^62 − 1.
    message = _refused(_built([2**40] * 3000), Rule.PRIORITY)
    assert message == (
        "data.csv: expected Σ (n − rank) × claim, the priority tie-break, of at most "
        "4,611,686,018,427,387,903 (2^62 − 1, the largest sum the solver accepts) (found "
        f"{4_501_500 * 2**40:,} for n = 3,000 claims)"
    )


def test_weights_beyond_the_solver_range_name_the_scenario_key() -> None:
    message = _refused(_built([2**40, 5], weight=[10**7, 1000]), Rule.PRIORITY)
    assert message.startswith(
        "scenario.yaml, key 'weights': expected Σ weight × claim (weights in thousandths) of at "
        "most 4,611,686,018,427,387,903"
    )
    assert message.endswith(
        f"(found {10**7 * 2**40 + 5000:,}; the largest term 10,000,000 × "
        f"{2**40:,}万元 for F0 under item 2/booth)"
    )
