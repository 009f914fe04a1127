"""The priority model in HiGHS: hand-computed instances, and agreement with CP-SAT and CBC."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from allocator.inputs.choices import Rule
from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    Family,
    Problem,
    SolverSettings,
    Status,
)
from allocator.solve.highs import lp_relaxation, solve_priority
from helpers import family

SETTINGS = SolverSettings(time_limit_s=20.0, workers=1, seed=0)
REPO = Path(__file__).resolve().parents[1]


def _baselines() -> ModuleType:
    """benchmarks/baselines.py, which is not part of the package (it imports PuLP)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks import baselines

    return baselines


def _problem(
    upper: list[int],
    weight: list[int],
    budget: int,
    *,
    rank: list[int] | None = None,
    families: Sequence[Family] = (),
    all_or_nothing: Sequence[int] = (),
    exclusive: Sequence[Sequence[int]] = (),
) -> Problem:
    """A small problem: the fund cap over every variable, then ``families``."""
    n = len(upper)
    index = np.arange(n, dtype=np.int64)
    aon = np.zeros(n, dtype=np.bool_)
    aon[list(all_or_nothing)] = True
    claims = pd.DataFrame(
        {
            "recipient_id": [f"F{i}" for i in range(n)],
            "recipient_name": [f"企业{i}" for i in range(n)],
            "recipient_kind": "enterprise",
            "district": "柳南区",
            "industry": "汽车",
            "clause_id": "1",
            "item_key": "main",
            "claim_wan": upper,
        }
    )
    fund = Family(FUND_CAP, "18", ["fund_cap"], [index], np.array([budget]), "<=")
    return Problem(
        claims=claims,
        upper=np.array(upper, dtype=np.int64),
        weight=np.array(weight, dtype=np.int64),
        rank=np.array(rank if rank is not None else range(n), dtype=np.int64),
        all_or_nothing=aon,
        exclusive=[np.array(g, dtype=np.int64) for g in exclusive],
        exclusive_labels=[f"no_duplicate[{k}]" for k in range(len(exclusive))],
        exclusive_clause_ids=["7"] * len(exclusive),
        families=[fund, *families],
        budget=budget,
    )


def test_fund_cap_serves_the_heaviest_weight_first() -> None:
    # 100 万元 for claims of 60, 50, 40 at weights 3, 2, 1: 60 to the first, 40 to the second.
    problem = _problem([60, 50, 40], [3, 2, 1], 100)
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.rule == Rule.PRIORITY
    assert result.award.tolist() == [60, 40, 0]
    assert result.objective == 3 * 60 + 2 * 40
    assert result.best_bound == pytest.approx(260)
    assert result.frozen_by == ["", "fund_cap", "fund_cap"]
    assert [name for name, _ in result.phases] == ["build", "priority", "tie_break"]


def test_equal_weights_are_split_by_rank() -> None:
    # Any split of 70 among three equal-weight claims is optimal; rank 0 (the second claim)
    # is served in full, then rank 1 (the third) gets the remaining 20.
    problem = _problem([50, 50, 50], [1, 1, 1], 70, rank=[2, 0, 1])
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.award.tolist() == [0, 50, 20]
    assert result.objective == 70
    assert result.details["tie_break_objective"] == 3 * 50 + 2 * 20


def test_exclusive_group_takes_the_better_member_not_the_heavier_one() -> None:
    # Claims 0 and 1 exclude each other. Claim 0 (40 at weight 3) plus 50 of claim 2 gives
    # 120 + 50 = 170; claim 1 (100 at weight 2) plus the remaining 20 of claim 2 gives 220.
    problem = _problem([40, 100, 50], [3, 2, 1], 120, exclusive=[[0, 1]])
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.award.tolist() == [0, 100, 20]
    assert result.objective == 220
    assert result.frozen_by == ["no_duplicate[0]", "", "fund_cap"]


def test_all_or_nothing_claim_that_does_not_fit_gets_nothing() -> None:
    # Claim 0 pays 70 or nothing; only 69 are available, so claims 1 and 2 share them:
    # 50 * 2 + 19 * 2 = 138. The LP relaxation may pay 69 of claim 0 at weight 3: 207.
    problem = _problem([70, 50, 40], [3, 2, 2], 69, all_or_nothing=[0])
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.award.tolist() == [0, 50, 19]
    assert result.objective == 138
    assert result.frozen_by == ["fund_cap", "", "fund_cap"]
    bound, seconds = lp_relaxation(problem)
    assert bound == pytest.approx(207)
    assert seconds >= 0


def test_all_or_nothing_claim_that_fits_is_paid_in_full() -> None:
    # With 80 available, claim 0 takes 70 (210) and claim 1 (rank 1) the remaining 10 (20).
    problem = _problem([70, 50, 40], [3, 2, 2], 80, all_or_nothing=[0])
    result = solve_priority(problem, SETTINGS)
    assert result.award.tolist() == [70, 10, 0]
    assert result.objective == 230


def test_firm_caps_bind_before_the_fund() -> None:
    # Two firms of two claims each, 40 万元 per firm: each firm's weight-2 claim gets its 30,
    # the weight-1 claim the remaining 10. 80 of the 100 万元 are spent.
    firm_caps = family(
        FIRM_CAP,
        sense="<=",
        clause_id="scenario",
        rows={"firm_cap[F1]": ([0, 1], 40), "firm_cap[F2]": ([2, 3], 40)},
    )
    problem = _problem([30, 30, 30, 30], [2, 1, 2, 1], 100, families=[firm_caps])
    result = solve_priority(problem, SETTINGS)
    assert result.award.tolist() == [30, 10, 30, 10]
    assert result.objective == 140
    assert result.frozen_by == ["", "firm_cap[F1]", "", "firm_cap[F2]"]


def test_district_floor_takes_its_share_before_heavier_claims() -> None:
    # District B (claim 2, weight 1) must receive at least 30 of the 100; the other 70 go to
    # district A's weight-3 claims, rank 0 first: 60 and 10. 3 * 70 + 30 = 240.
    floor = family(
        DISTRICT_FLOOR, sense=">=", clause_id="scenario", rows={"district_floor[B]": ([2], 30)}
    )
    problem = _problem([60, 60, 60], [3, 3, 1], 100, families=[floor])
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.award.tolist() == [60, 10, 30]
    assert result.objective == 240


def test_district_cap_and_floor_together() -> None:
    # District A (claims 0, 1) may receive at most 65, district B (claim 2) at least 30:
    # A takes 65 (60 to rank 0, 5 to rank 1), B the remaining 35. 3 * 65 + 35 = 230.
    cap = family(
        DISTRICT_CAP, sense="<=", clause_id="scenario", rows={"district_cap[A]": ([0, 1], 65)}
    )
    floor = family(
        DISTRICT_FLOOR, sense=">=", clause_id="scenario", rows={"district_floor[B]": ([2], 30)}
    )
    problem = _problem([60, 60, 60], [3, 3, 1], 100, families=[cap, floor])
    result = solve_priority(problem, SETTINGS)
    assert result.award.tolist() == [60, 5, 35]
    assert result.objective == 230
    assert result.frozen_by == ["", "fund_cap", "fund_cap"]


def test_floor_above_the_fund_is_infeasible() -> None:
    # District B must receive 50 but the fund holds only 40.
    floor = family(
        DISTRICT_FLOOR, sense=">=", clause_id="scenario", rows={"district_floor[B]": ([1, 2], 50)}
    )
    problem = _problem([60, 60, 60], [1, 1, 1], 40, families=[floor])
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.INFEASIBLE
    assert result.award.tolist() == [0, 0, 0]
    assert math.isnan(result.objective)
    assert math.isnan(result.best_bound)
    assert lp_relaxation(problem)[0] == -math.inf


def test_empty_problem() -> None:
    problem = _problem([], [], 100)
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    assert result.award.tolist() == []
    assert result.objective == 0


def test_thread_counts_can_change_between_solves() -> None:
    # HiGHS sizes one worker pool per process; a second solve with another thread count must
    # still run (the pool is released after every solve).
    problem = _problem([60, 50, 40], [3, 2, 1], 100)
    for workers in (1, 2, 1):
        result = solve_priority(problem, SolverSettings(time_limit_s=20.0, workers=workers))
        assert result.status == Status.OPTIMAL
        assert result.award.tolist() == [60, 40, 0]


def test_without_tie_break_only_the_priority_phase_runs() -> None:
    problem = _problem([50, 50, 50], [1, 1, 1], 70, rank=[2, 0, 1])
    result = solve_priority(problem, SETTINGS, tie_break=False)
    assert result.status == Status.OPTIMAL
    assert result.objective == 70
    assert [name for name, _ in result.phases] == ["build", "priority"]


@pytest.mark.parametrize(("n_vars", "seed"), [(200, 1), (300, 2), (400, 3), (500, 4)])
def test_random_instances_solve_to_a_feasible_optimum(n_vars: int, seed: int) -> None:
    problem = _baselines().random_problem(n_vars, seed)
    result = solve_priority(problem, SETTINGS)
    assert result.status == Status.OPTIMAL
    award = result.award
    assert ((award >= 0) & (award <= problem.upper)).all()
    assert (award[problem.all_or_nothing] % problem.upper[problem.all_or_nothing] == 0).all()
    for group in problem.exclusive:
        assert np.count_nonzero(award[group]) <= 1
    for fam in problem.families:
        for members, rhs in zip(fam.members, fam.rhs, strict=True):
            total = award[members].sum()
            assert total <= rhs if fam.sense == "<=" else total >= rhs
    assert result.objective == pytest.approx(result.best_bound)
    assert lp_relaxation(problem)[0] >= result.objective - 1e-6


@pytest.mark.parametrize(("n_vars", "seed"), [(200, 1), (300, 2), (500, 4)])
def test_cp_sat_and_highs_agree_on_the_priority_objective(n_vars: int, seed: int) -> None:
    from allocator.solve.rules import allocate

    problem = _baselines().random_problem(n_vars, seed)
    # A limit no healthy run comes near, so that a busy machine cannot turn a proof into
    # FEASIBLE: what is checked is that every phase is proven; how fast is make bench's.
    settings = SolverSettings(time_limit_s=600.0, seed=0)
    highs = solve_priority(problem, settings)
    cp_sat = allocate(problem, Rule.PRIORITY, settings)
    assert highs.status == Status.OPTIMAL
    optimum = int(problem.weight @ highs.award)
    found = int(problem.weight @ cp_sat.award)
    # Its allocation and its bound bracket HiGHS's optimum: a difference between the two
    # models would break one side.
    assert found <= optimum <= cp_sat.best_bound + 1e-6
    # All three phases proven (the share row of each no-duplicate group makes CP-SAT's
    # relaxation as tight as HiGHS's, so each takes well under a second on an idle machine).
    assert cp_sat.status == Status.OPTIMAL, (found, optimum, cp_sat.best_bound)
    assert cp_sat.details["canonical"] is True
    assert found == optimum
    tie = problem.size - problem.rank
    assert int(tie @ cp_sat.award) == int(tie @ highs.award)


def test_pulp_and_highs_agree_on_hand_computed_and_random_instances() -> None:
    pulp_priority = _baselines().pulp_priority
    exclusive = _problem([40, 100, 50], [3, 2, 1], 120, exclusive=[[0, 1]])
    assert pulp_priority(exclusive, 20.0)[::2] == (220.0, Status.OPTIMAL)
    aon = _problem([70, 50, 40], [3, 2, 2], 69, all_or_nothing=[0])
    assert pulp_priority(aon, 20.0)[::2] == (138.0, Status.OPTIMAL)
    floor = family(
        DISTRICT_FLOOR, sense=">=", clause_id="scenario", rows={"district_floor[B]": ([1, 2], 50)}
    )
    infeasible = _problem([60, 60, 60], [1, 1, 1], 40, families=[floor])
    assert pulp_priority(infeasible, 20.0)[2] == Status.INFEASIBLE

    problem = _baselines().random_problem(300, 2)
    objective, seconds, status = pulp_priority(problem, 60.0)
    assert status == Status.OPTIMAL
    assert seconds > 0
    assert objective == solve_priority(problem, SETTINGS).objective
