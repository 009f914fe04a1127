"""Each constraint family built alone into a CP-SAT model, checked by solving it.

Every expectation is worked out by hand from the family's definition; where a family makes
the model infeasible the solve must say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    NO_DUPLICATE,
    SUB_BUDGET,
    Family,
    Problem,
    SolverSettings,
    Status,
)
from allocator.solve import cpsat

SETTINGS = SolverSettings(time_limit_s=10, workers=1)


def row(name: str, label: str, members: Sequence[int], rhs: int, sense: str = "<=") -> Family:
    assert sense in ("<=", ">=")
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
    families: Sequence[Family] = (),
    *,
    all_or_nothing: Sequence[bool] | None = None,
    exclusive: Sequence[Sequence[int]] = (),
) -> Problem:
    n = len(upper)
    up = np.asarray(upper, dtype=np.int64)
    claims = pd.DataFrame(
        {
            "recipient_id": [f"F{i}" for i in range(n)],
            "clause_id": "7",
            "item_key": "one_off",
            "claim_wan": up,
        }
    )
    return Problem(
        claims=claims,
        upper=up,
        weight=np.ones(n, dtype=np.int64),
        rank=np.arange(n, dtype=np.int64),
        all_or_nothing=np.asarray(all_or_nothing or [False] * n, dtype=bool),
        exclusive=[np.asarray(g, dtype=np.int64) for g in exclusive],
        exclusive_labels=[f"no_duplicate[g{k}]" for k in range(len(exclusive))],
        exclusive_clause_ids=["8"] * len(exclusive),
        families=list(families),
        budget=int(up.sum()),
    )


def optimum(model: cpsat.Model, coef: Sequence[int], *, sense: str = "max") -> cpsat.Result:
    expr, const = model.linear(np.asarray(coef, dtype=np.int64))
    if sense == "max":
        model.cp.maximize(expr)
    else:
        model.cp.minimize(expr)
    return cpsat.solve(model, SETTINGS, time_limit=10, offset=const)


def names(model: cpsat.Model) -> list[str]:
    return [c.name for c in model.cp.proto.constraints]


def test_one_variable_per_claim_within_its_bounds() -> None:
    model = cpsat.build(problem([5, 3, 4]))
    assert model.index.tolist() == [0, 1, 2]
    result = optimum(model, [1, 1, 1])
    assert result.status is Status.OPTIMAL
    assert result.award is not None
    assert result.award.tolist() == [5, 3, 4]


def test_claims_with_equal_bounds_become_constants() -> None:
    lower = np.array([2, 0, 4], dtype=np.int64)
    upper = np.array([2, 3, 4], dtype=np.int64)
    model = cpsat.build(problem([5, 3, 4]), lower, upper)
    assert model.index.tolist() == [1]
    result = optimum(model, [1, 1, 1])
    assert result.award is not None
    assert result.award.tolist() == [2, 3, 4]
    assert result.objective == 9  # 2 + 4 folded in as the constant


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="lower <= upper"):
        cpsat.build(problem([5]), np.array([3]), np.array([2]))


def test_fund_cap_alone() -> None:
    # Claims 5 + 5 against 7: at most 7 in total.
    model = cpsat.build(problem([5, 5], [row(FUND_CAP, "fund_cap", [0, 1], 7)]))
    assert names(model) == ["fund_cap"]
    assert optimum(model, [1, 1]).objective == 7


def test_zero_fund_cap_pays_nothing() -> None:
    model = cpsat.build(problem([5, 5], [row(FUND_CAP, "fund_cap", [0, 1], 0)]))
    result = optimum(model, [1, 1])
    assert result.award is not None
    assert result.award.tolist() == [0, 0]


def test_negative_fund_cap_is_infeasible() -> None:
    model = cpsat.build(problem([5], [row(FUND_CAP, "fund_cap", [0], -1)]))
    assert optimum(model, [1]).status is Status.INFEASIBLE


def test_sub_budget_alone() -> None:
    # Clause 9's claims (0, 1) share 4; claim 2 is outside it: 4 + 3.
    fam = row(SUB_BUDGET, "sub_budget[9]", [0, 1], 4)
    model = cpsat.build(problem([3, 3, 3], [fam]))
    assert names(model) == ["sub_budget[9]"]
    assert optimum(model, [1, 1, 1]).objective == 7


def test_firm_cap_alone() -> None:
    # One firm holds claims 0 and 1 (6 + 6) under a cap of 8; claim 2 is another firm's.
    fam = row(FIRM_CAP, "firm_cap[F0]", [0, 1], 8)
    model = cpsat.build(problem([6, 6, 2], [fam]))
    assert names(model) == ["firm_cap[F0]"]
    assert optimum(model, [1, 1, 1]).objective == 10


def test_district_cap_alone() -> None:
    fam = row(DISTRICT_CAP, "district_cap[柳南区]", [1, 2], 5)
    model = cpsat.build(problem([4, 4, 4], [fam]))
    assert names(model) == ["district_cap[柳南区]"]
    assert optimum(model, [1, 1, 1]).objective == 9  # 4 + 5


def test_district_floor_alone_is_met_at_least() -> None:
    # The floor of 5 over claims 3 + 3: the least total meeting it is 5.
    fam = row(DISTRICT_FLOOR, "district_floor[城中区]", [0, 1], 5, ">=")
    model = cpsat.build(problem([3, 3], [fam]))
    assert names(model) == ["district_floor[城中区]"]
    assert optimum(model, [1, 1], sense="min").objective == 5


def test_district_floor_above_the_claims_is_infeasible() -> None:
    fam = row(DISTRICT_FLOOR, "district_floor[城中区]", [0, 1], 7, ">=")
    model = cpsat.build(problem([3, 3], [fam]))
    assert optimum(model, [1, 1], sense="min").status is Status.INFEASIBLE


def test_exclusive_group_pays_one_member() -> None:
    # Claims 3 and 4 in one no-duplicate group: the better one alone, 4.
    model = cpsat.build(problem([3, 4, 2], exclusive=[[0, 1]]))
    assert set(names(model)) == {"no_duplicate[g0]"}
    result = optimum(model, [1, 1, 1])
    assert result.award is not None
    assert result.award.tolist() == [0, 4, 2]


def share_rows(model: cpsat.Model) -> list[tuple[list[int], list[int], int]]:
    """The rows over awards alone of the no-duplicate groups: (variables, coefficients, rhs)."""
    awards = {v.index for v in model.x}
    return [
        (list(c.linear.vars), list(c.linear.coeffs), list(c.linear.domain)[-1])
        for c in model.cp.proto.constraints
        if c.name.startswith("no_duplicate")
        and len(c.linear.vars) > 1
        and set(c.linear.vars) <= awards
    ]


def test_exclusive_group_also_gets_its_share_row() -> None:
    # Claims 4 and 6 in one group: Σ x/upper <= 1 as 3·x0 + 2·x1 <= 12 (12 = lcm(4, 6)), the
    # row that makes CP-SAT's linear relaxation of the group as tight as HiGHS's.
    model = cpsat.build(problem([4, 6, 5], exclusive=[[0, 1]]))
    assert share_rows(model) == [([0, 1], [3, 2], 12)]
    result = optimum(model, [1, 1, 1])
    assert result.award is not None
    assert result.award.tolist() == [0, 6, 5]


def test_share_row_scale_stops_at_two_to_the_31() -> None:
    # 1,000,003 and 1,000,033 are prime: their lcm (about 1e12) is beyond the cap, so the row
    # is Σ floor(2^31/upper)·x <= 2^31, looser than Σ x/upper <= 1 but never cutting off a
    # member paid in full: the larger one alone is the optimum.
    model = cpsat.build(problem([1_000_003, 1_000_033], exclusive=[[0, 1]]))
    assert share_rows(model) == [([0, 1], [2147, 2147], 2**31)]
    result = optimum(model, [1, 1])
    assert result.award is not None
    assert result.award.tolist() == [0, 1_000_033]


def test_no_share_row_once_a_member_is_fixed_or_alone() -> None:
    paid = np.array([3, 0, 0], dtype=np.int64)  # claim 0 fixed at its 3: claim 1 is held at 0
    upper = np.array([3, 4, 5], dtype=np.int64)
    assert share_rows(cpsat.build(problem([3, 4, 5], exclusive=[[0, 1]]), paid, upper)) == []
    upper = np.array([3, 0, 5], dtype=np.int64)  # claim 1 can get nothing: nobody to exclude
    assert share_rows(cpsat.build(problem([3, 4, 5], exclusive=[[0, 1]]), None, upper)) == []


def test_exclusive_group_with_a_member_already_paid() -> None:
    # Claim 0 is fixed at 1: claim 1 must stay at 0.
    lower = np.array([1, 0], dtype=np.int64)
    model = cpsat.build(problem([3, 4], exclusive=[[0, 1]]), lower, None)
    result = optimum(model, [1, 1])
    assert result.award is not None
    assert result.award.tolist() == [3, 0]


def test_exclusive_group_with_two_members_fixed_positive_is_infeasible() -> None:
    both = np.array([1, 1], dtype=np.int64)
    model = cpsat.build(problem([3, 4], exclusive=[[0, 1]]), both, both)
    assert optimum(model, [1, 1]).status is Status.INFEASIBLE


def test_all_or_nothing_is_zero_or_the_whole_claim() -> None:
    # A 5万 one-off against a fund of 4: nothing; against 7 with a 3万 claim beside it: 5 + 2.
    small = [row(FUND_CAP, "fund_cap", [0], 4)]
    model = cpsat.build(problem([5], small, all_or_nothing=[True]))
    assert names(model) == ["fund_cap", "all_or_nothing[F0/7/one_off]"]
    result = optimum(model, [1])
    assert result.award is not None
    assert result.award.tolist() == [0]
    model = cpsat.build(
        problem([5, 3], [row(FUND_CAP, "fund_cap", [0, 1], 7)], all_or_nothing=[True, False])
    )
    result = optimum(model, [1, 1])
    assert result.award is not None
    assert result.award.tolist() == [5, 2]


def test_all_or_nothing_needs_whole_or_fixed_bounds() -> None:
    p = problem([5], all_or_nothing=[True])
    with pytest.raises(ValueError, match="all-or-nothing"):
        cpsat.build(p, np.array([0]), np.array([4]))
    fixed = np.array([3], dtype=np.int64)
    model = cpsat.build(p, fixed, fixed)  # fixed at a part of the item: infeasible
    assert optimum(model, [1]).status is Status.INFEASIBLE


def test_row_of_constants_that_breaks_is_infeasible() -> None:
    fixed = np.array([4, 4], dtype=np.int64)
    model = cpsat.build(problem([4, 4], [row(FUND_CAP, "fund_cap", [0, 1], 7)]), fixed, fixed)
    assert model.index.tolist() == []
    assert optimum(model, [1, 1]).status is Status.INFEASIBLE


def test_solve_reports_progress_with_the_phase_name() -> None:
    seen: list[tuple[str, float, float]] = []
    model = cpsat.build(problem([5, 5], [row(FUND_CAP, "fund_cap", [0, 1], 7)]))
    expr, _ = model.linear(np.array([1, 1], dtype=np.int64))
    model.cp.maximize(expr)
    result = cpsat.solve(
        model,
        SETTINGS,
        time_limit=10,
        progress=lambda phase, inc, bound: seen.append((phase, inc, bound)),
        phase="test",
    )
    assert result.status is Status.OPTIMAL
    assert seen
    assert seen[-1] == ("test", 7.0, 7.0)


def floors_against_caps() -> Problem:
    # District D (claims 0, 1: 20 + 10) must get 25, but firm F0's cap of 5 holds claim 0:
    # at most 5 + 10 = 15. Without the cap 30 would do. The fund of 100 plays no part.
    return problem(
        [20, 10, 10],
        [
            row(FUND_CAP, "fund_cap", [0, 1, 2], 100),
            row(FIRM_CAP, "firm_cap[F0]", [0], 5),
            row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 25, ">="),
        ],
    )


def test_explain_names_the_clashing_rows() -> None:
    conflict = cpsat.explain_infeasible(floors_against_caps(), SETTINGS)
    assert conflict.status is Status.INFEASIBLE
    assert sorted(conflict.labels) == ["district_floor[D]", "firm_cap[F0]"]
    assert conflict.families == ["district_floor", "firm_cap"]


def test_explain_finds_nothing_in_a_feasible_problem() -> None:
    feasible = problem([10, 10], [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 15, ">=")])
    conflict = cpsat.explain_infeasible(feasible, SETTINGS)
    assert conflict.status is Status.OPTIMAL
    assert conflict.labels == []


def test_explain_names_an_exclusive_group() -> None:
    # Only one of claims 0 and 1 may be paid, yet the floor needs both.
    p = problem(
        [5, 5],
        [row(DISTRICT_FLOOR, "district_floor[D]", [0, 1], 8, ">=")],
        exclusive=[[0, 1]],
    )
    conflict = cpsat.explain_infeasible(p, SETTINGS)
    assert sorted(conflict.labels) == ["district_floor[D]", "no_duplicate[g0]"]
    assert conflict.families == ["district_floor", NO_DUPLICATE]


def test_claim_labels_fall_back_to_indices() -> None:
    p = problem([1, 2])
    assert cpsat.claim_labels(p) == ["F0/7/one_off", "F1/7/one_off"]
    bare = Problem(
        claims=pd.DataFrame({"claim_wan": [1]}),
        upper=np.array([1], dtype=np.int64),
        weight=np.array([1], dtype=np.int64),
        rank=np.array([0], dtype=np.int64),
        all_or_nothing=np.array([False]),
        exclusive=[],
        exclusive_labels=[],
        exclusive_clause_ids=[],
        families=[],
        budget=1,
    )
    assert cpsat.claim_labels(bare) == ["0"]
