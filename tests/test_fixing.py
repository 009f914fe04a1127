"""Reduced-cost fixing (allocator.solve.fixing): its bound, its proofs and its fixings.

By hand on instances small enough to follow, then against enumeration on random small
problems: the bound is never below the optimum, no optimal allocation lies outside the
narrowed bounds, and "proven" only ever means the incumbent is optimal. Then at a size where
the fixing matters: a city of 3,000 claims shaped like the 2026 model, solved by CP-SAT after
fixing and by HiGHS without it, to the same optimum.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from allocator.inputs.choices import Rule
from allocator.model.problem import FUND_CAP, Family, Problem, SolverSettings, Status
from allocator.solve import fixing
from allocator.solve.highs import solve_priority
from allocator.solve.rules import allocate
from helpers import candidates, feasible, tie_coefficients
from strategies import problems

IntArray = np.ndarray


def fund_problem(
    upper: list[int], budget: int, *, aon: list[int] = (), rows: list[tuple[list[int], int]] = ()
) -> Problem:
    """Claims with weight 1 and ranks in index order under a fund, and more ``<=`` rows."""
    n = len(upper)
    index = np.arange(n, dtype=np.int64)
    flags = np.zeros(n, dtype=bool)
    flags[list(aon)] = True
    families = [Family(FUND_CAP, "scenario", ["fund_cap"], [index], np.array([budget]), "<=")]
    if rows:
        families.append(
            Family(
                "provincial",
                "test",
                [f"row[{k}]" for k in range(len(rows))],
                [np.asarray(m, dtype=np.int64) for m, _ in rows],
                np.asarray([r for _, r in rows], dtype=np.int64),
                "<=",
            )
        )
    return Problem(
        claims=pd.DataFrame({"claim_wan": upper}),
        upper=np.asarray(upper, dtype=np.int64),
        weight=np.ones(n, dtype=np.int64),
        rank=index.copy(),
        all_or_nothing=flags,
        exclusive=[],
        exclusive_labels=[],
        exclusive_clause_ids=[],
        families=families,
        budget=budget,
    )


def reduce(
    problem: Problem,
    cost: IntArray,
    incumbent: IntArray,
    held: list[tuple[IntArray, int]] = (),
) -> fixing.Reduction:
    return fixing.reduce(
        problem,
        cost,
        np.zeros(problem.size, dtype=np.int64),
        problem.upper.astype(np.int64),
        int(cost @ incumbent),
        held=held,
        time_limit=10.0,
    )


@contextmanager
def rows_relaxed() -> Iterator[None]:
    """Every row relaxed with a multiplier, none kept whole in the blocks: the plain LP bound."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixing, "_SMALL_ROW", 0)
        yield


# --------------------------------------------------------------------------------------------
# By hand


def test_the_tie_break_of_a_greedy_fill_is_proven_and_all_but_the_last_claim_fixed() -> None:
    # Ten claims of 2, fund 9, weights 1, ranks 0..9: tie-break coefficients 10, 9, ..., 1.
    # Every allocation spending 9 is weight-optimal; the greedy pays 2, 2, 2, 2, 1 and scores
    # 2·(10 + 9 + 8 + 7) + 6 = 74, which is also the LP optimum. The fund's price is then 6
    # (claim 4 sits strictly inside its bounds), so reduced costs are 4, 3, 2, 1, 0, -1, ...,
    # -5: every claim but claim 4 moves off its bound only at a loss, and is fixed.
    problem = fund_problem([2] * 10, 9)
    weight = problem.weight.astype(np.int64)
    greedy = np.array([2, 2, 2, 2, 1, 0, 0, 0, 0, 0])
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)

    first = reduce(problem, weight, greedy)
    assert first.proven
    assert first.bound == 9

    second = reduce(problem, tie, greedy, held=[(weight, 9)])
    assert second.proven
    assert second.bound == 74
    assert second.lower.tolist() == [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]
    assert second.upper.tolist() == [2, 2, 2, 2, 2, 0, 0, 0, 0, 0]
    assert second.fixed == 9
    assert second.loss.tolist()[:6] == [4.0, 3.0, 2.0, 1.0, 0.0, 1.0]


def test_a_weaker_incumbent_fixes_fewer_claims() -> None:
    # The same instance with 2, 2, 2, 1, 2 (score 73): Z − v = 1, so only claims whose reduced
    # cost exceeds 1 are fixed (0, 1, 2 up; 6..9 down); 3, 4 and 5 stay open.
    problem = fund_problem([2] * 10, 9)
    weight = problem.weight.astype(np.int64)
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    worse = np.array([2, 2, 2, 1, 2, 0, 0, 0, 0, 0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixing, "_rounded", lambda *args: None)  # the incumbent alone
        result = reduce(problem, tie, worse, held=[(weight, 9)])
    assert result.better is None
    assert not result.proven
    assert result.bound == 74
    assert result.lower.tolist() == [2, 2, 2, 0, 0, 0, 0, 0, 0, 0]
    assert result.upper.tolist() == [2, 2, 2, 2, 2, 2, 0, 0, 0, 0]


def test_blocks_make_the_bound_of_an_indivisible_claim_exact() -> None:
    # docs/fairness.md: 3万元 for claims of 1 (rank 0), 3 (rank 1, all-or-nothing) and 2
    # (rank 2). The greedy pays 1 and 2 (score 3 + 2 = 5); the optimum pays the one-off
    # (3·2 = 6). The LP relaxation pays 1 and two thirds of the one-off: 3 + 2·2 = 7.
    problem = fund_problem([1, 3, 2], 3, aon=[1])
    weight = problem.weight.astype(np.int64)
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    greedy = np.array([1, 0, 2])
    kept = reduce(problem, tie, greedy, held=[(weight, 3)])
    assert kept.bound == 6
    assert not kept.proven
    with rows_relaxed():
        relaxed = reduce(problem, tie, greedy, held=[(weight, 3)])
    assert relaxed.bound == 7
    assert not relaxed.proven
    optimum = np.array([0, 3, 0])
    assert reduce(problem, tie, optimum, held=[(weight, 3)]).proven


def test_a_small_row_is_kept_whole_where_the_relaxation_splits_a_one_off() -> None:
    # Twelve claims, ranks in index order (tie-break 12 down to 1), fund 10 (too many claims to
    # keep its row whole). Claims 0 (1万元) and 1 (a one-off of 2) share a row of 2. The
    # greedy pays claim 0, finds the row one short for the one-off, and pays claims 2..10:
    # 12 + (10 + ... + 2) = 66. Paying the one-off instead of claim 0 and claims 2..9 scores
    # 2·11 + (10 + ... + 3) = 74, the optimum. The LP relaxation pays half the one-off beside
    # claim 0: 12 + 11 + 52 = 75. Kept whole, the row gives the exact 74.
    problem = fund_problem([1, 2] + [1] * 10, 10, aon=[1], rows=[([0, 1], 2)])
    weight = problem.weight.astype(np.int64)
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    greedy = np.array([1, 0] + [1] * 9 + [0])
    optimum = np.array([0, 2] + [1] * 8 + [0, 0])
    assert int(tie @ greedy) == 66
    assert int(tie @ optimum) == 74
    held = [(weight, 10)]
    kept = reduce(problem, tie, greedy, held=held)
    assert kept.bound == 74
    assert not kept.proven
    with rows_relaxed():
        assert reduce(problem, tie, greedy, held=held).bound == 75
    assert reduce(problem, tie, optimum, held=held).proven


def test_no_multipliers_no_fixing() -> None:
    # An LP that HiGHS cannot answer in time leaves the bounds as they were.
    problem = fund_problem([2] * 10, 9)
    weight = problem.weight.astype(np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixing, "_solve_lp", lambda *args: None)
        result = reduce(problem, weight, np.zeros(10, dtype=np.int64))
    assert result.bound is None
    assert not result.proven
    assert result.fixed == 0
    assert result.upper.tolist() == [2] * 10


# --------------------------------------------------------------------------------------------
# Against enumeration


def optima(problem: Problem) -> tuple[IntArray, IntArray, int, IntArray]:
    """Feasible vectors; the weight-optimal ones, their value, and among them the tie-optimal."""
    x = candidates(problem, [0] * problem.size, problem.upper.tolist())
    x = x[feasible(problem, x)]
    value = x @ problem.weight.astype(np.int64)
    best = int(value.max())
    face = x[value == best]
    tie = face @ np.asarray(tie_coefficients(problem), dtype=np.int64)
    return x, face, best, face[tie == tie.max()]


def check(
    result: fixing.Reduction,
    cost: IntArray,
    incumbent: IntArray,
    optimal: IntArray,
    allowed: IntArray,
) -> None:
    """``allowed``: every allocation meeting the rows, groups, items and held rows."""
    optimum = int((optimal @ cost)[0])
    assert result.bound is not None
    assert result.bound >= optimum
    if result.better is not None:
        # The LP's rounded solution is one of the allocations, and better than the incumbent.
        assert (allowed == result.better).all(axis=1).any()
        assert int(cost @ result.better) > int(cost @ incumbent)
        incumbent = result.better
    assert result.incumbent == int(cost @ incumbent)
    if result.proven:
        assert int(cost @ incumbent) == optimum
    inside = ((optimal >= result.lower) & (optimal <= result.upper)).all(axis=1)
    assert inside.all(), "an optimal allocation was fixed out"


def test_the_lp_solution_rounded_replaces_a_weaker_incumbent() -> None:
    # The same instance and weaker incumbent (73). The LP's vertex is the greedy fill
    # 2, 2, 2, 2, 1 (integral already), worth 74 = Z: it becomes the incumbent and is proven.
    problem = fund_problem([2] * 10, 9)
    weight = problem.weight.astype(np.int64)
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    worse = np.array([2, 2, 2, 1, 2, 0, 0, 0, 0, 0])
    result = reduce(problem, tie, worse, held=[(weight, 9)])
    assert result.better is not None
    assert result.better.tolist() == [2, 2, 2, 2, 1, 0, 0, 0, 0, 0]
    assert result.incumbent == 74
    assert result.proven
    assert result.lower.tolist() == [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]
    assert result.upper.tolist() == [2, 2, 2, 2, 2, 0, 0, 0, 0, 0]


@contextmanager
def groups_in_closed_form() -> Iterator[None]:
    """No CP-SAT model of the blocks: rows relaxed, groups bounded one by one
    (allocator.solve.group_bound), as at 100,000 firms."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixing, "_BLOCK_LIMIT", 0)
        yield


def mode(name: str) -> AbstractContextManager[None]:
    return {"blocks": nullcontext(), "relaxed": rows_relaxed(), "groups": groups_in_closed_form()}[
        name
    ]


@pytest.mark.parametrize("relaxed", ["blocks", "relaxed", "groups"])
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problem=problems())
def test_bounds_and_fixings_never_cut_off_an_optimum(relaxed: str, problem: Problem) -> None:
    x, face, best, tie_optimal = optima(problem)
    weight = problem.weight.astype(np.int64)
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    # The worst feasible allocation as incumbent, and the worst weight-optimal one: the
    # weakest starting points, which leave the most to prove.
    worst = x[int(np.argmin(x @ weight))]
    worst_on_face = face[int(np.argmin(face @ tie))]
    with mode(relaxed):
        first = reduce(problem, weight, worst)
        second = reduce(problem, tie, worst_on_face, held=[(weight, best)])
        proven = reduce(problem, tie, tie_optimal[0], held=[(weight, best)])
    check(first, weight, worst, face, x)
    check(second, tie, worst_on_face, tie_optimal, face)
    check(proven, tie, tie_optimal[0], tie_optimal, face)
    if relaxed == "blocks":
        # Small rows and groups are kept whole, and every row of these instances is small:
        # the bound is the optimum itself.
        assert proven.proven


# --------------------------------------------------------------------------------------------
# At the size where it matters


def city(n: int, seed: int) -> Problem:
    """``n`` claims shaped like the 2026 model: weight 1, one claim in seven a one-off, a fund
    of about half the claims, and one claim in ten in a pair under a small provincial row."""
    rng = np.random.default_rng(seed)
    upper = rng.integers(1, 21, n)
    aon = np.flatnonzero(rng.random(n) < 1 / 7)
    upper[aon] = rng.choice([1, 2, 5, 10], aon.shape[0])
    pairs = rng.choice(n, size=(n // 20, 2), replace=False)
    rows = [(pair.tolist(), int(rng.integers(1, 11))) for pair in pairs]
    return fund_problem(upper.tolist(), int(upper.sum()) // 2, aon=aon.tolist(), rows=rows)


def test_cp_sat_after_fixing_and_highs_without_it_reach_the_same_optimum() -> None:
    # Seed 4: the greedy allocation is not optimal (a one-off left out by a provincial row is
    # worth more than what its room went to), so the tie-break needs a search.
    problem = city(3_000, seed=4)
    settings_ = SolverSettings(time_limit_s=60.0, workers=2, seed=0)
    ours = allocate(problem, Rule.PRIORITY, settings_)
    theirs = solve_priority(problem, settings_)
    assert ours.status is Status.OPTIMAL
    assert theirs.status is Status.OPTIMAL
    tie = np.asarray(tie_coefficients(problem), dtype=np.int64)
    assert int(problem.weight @ ours.award) == int(problem.weight @ theirs.award)
    assert int(tie @ ours.award) == int(tie @ theirs.award)
    assert ours.details["method"] == "cpsat"
    # The final, canonical search sees a tenth of the claims or fewer.
    searched = ours.details["searched"]
    assert isinstance(searched, dict)
    assert searched["priority:canonical"] <= problem.size // 10, searched


def test_the_awards_after_fixing_do_not_depend_on_the_number_of_workers() -> None:
    # The kernel and tie-break searches run on the scenario's workers and may end at other
    # allocations; the canonical search's bounds are fixed against the two optima alone.
    problem = city(3_000, seed=4)
    awards = [
        allocate(problem, Rule.PRIORITY, SolverSettings(time_limit_s=60.0, workers=w)).award
        for w in (1, 2, 2)
    ]
    assert awards[0].tolist() == awards[1].tolist() == awards[2].tolist()
