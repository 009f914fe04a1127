"""The quota method (allocator.solve.quota): within 1万元 of the exact value, the fund spent,
awards and losses in the order of the claims, and no award falling when the fund rises.

Every property is checked against the definition in fractions (tests/helpers.py,
``exact_values``), not against the engine's own float values: on random claims under each
level rule, over consecutive funds ``B`` and ``B + 1`` and over whole sweeps of the fund,
with and without caps, floors and sub-budgets. Brute force on tiny instances then confirms
that whenever the method returns a vector, a monotone, within-quota, order-preserving path
of vectors exists (the method's own), and shows the limits under which none can exist.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from fractions import Fraction
from math import ceil, floor

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from allocator.analysis.audit_exact import movable_breaks
from allocator.inputs.choices import Rule
from allocator.model.problem import FIRM_CAP, FUND_CAP, Family, Problem, SolverSettings
from allocator.solve import quota
from allocator.solve.rules import allocate
from helpers import exact_values, plain, rows_of
from strategies import Knobs, problems

SOLVER = SolverSettings(time_limit_s=20.0, workers=1, seed=0)
LEVEL_RULES = [r for r in Rule if r is not Rule.PRIORITY]
IDS = [r.value for r in LEVEL_RULES]
SWEEP = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def with_fund(problem: Problem, budget: int) -> Problem:
    """The same problem with the fund (and the fund-cap row) set to ``budget``."""
    families = [
        dataclasses.replace(f, rhs=np.array([budget], dtype=np.int64)) if f.name == FUND_CAP else f
        for f in problem.families
    ]
    return dataclasses.replace(problem, families=families, budget=budget)


def awards(problem: Problem, rule: Rule) -> list[int]:
    return [int(v) for v in allocate(problem, rule, SOLVER).award]


def exact_of(problem: Problem, rule: Rule) -> list[Fraction] | None:
    found = exact_values(problem, rule)
    return None if found is None else found[0]


def check_quota(problem: Problem, x: list[int], exact: list[Fraction]) -> None:
    for i, (v, e) in enumerate(zip(x, exact, strict=True)):
        assert floor(e) <= v <= ceil(e), (i, v, e)


def check_order(claims: list[int], x: list[int], exact: list[Fraction]) -> None:
    """A larger claim never gets less, nor loses less, unless the exact values say so."""
    n = len(claims)
    for i in range(n):
        for j in range(n):
            if claims[i] > claims[j]:
                if exact[i] >= exact[j]:
                    assert x[i] >= x[j], (i, j, x, exact)
                if claims[i] - exact[i] >= claims[j] - exact[j]:
                    assert claims[i] - x[i] >= claims[j] - x[j], (i, j, x, exact)


def check_movable_order(problem: Problem, x: list[int], exact: list[Fraction]) -> None:
    """No two claims out of the order of their exact values (or losses) that moving one
    whole 万元 between them would mend without passing a full row (the audit's reading)."""
    rows = rows_of(problem)
    claims = [int(c) for c in problem.upper]
    held = [frozenset(k for k, (_, m, _, _) in enumerate(rows) if i in m) for i in range(len(x))]
    tight = frozenset(
        k
        for k, (_, m, rhs, sense) in enumerate(rows)
        if sense == "<=" and rhs - sum(x[j] for j in m) < 1
    )
    assert movable_breaks(exact, claims, x, held, tight) == (None, None), (x, exact)


def check_rows(problem: Problem, x: list[int]) -> None:
    for label, members, rhs, sense in rows_of(problem):
        total = sum(x[j] for j in members)
        assert total <= rhs if sense == "<=" else total >= rhs, label


claims_lists = st.lists(st.integers(1, 30), min_size=1, max_size=7)


# --------------------------------------------------------------------------------------------
# The fund alone


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@SWEEP
@given(claims=claims_lists, data=st.data())
def test_fund_alone_quota_sum_order_and_one_more(
    rule: Rule, claims: list[int], data: st.DataObject
) -> None:
    budget = data.draw(st.integers(0, sum(claims) - 1))
    x = awards(plain(claims, budget), rule)
    y = awards(plain(claims, budget + 1), rule)
    for fund, v in ((budget, x), (budget + 1, y)):
        exact = exact_of(plain(claims, fund), rule)
        assert exact is not None
        check_quota(plain(claims, fund), v, exact)
        check_order(claims, v, exact)
        assert sum(v) == fund
    assert all(b >= a for a, b in zip(x, y, strict=True)), (x, y)


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(claims=st.lists(st.integers(1, 12), min_size=2, max_size=5))
def test_fund_alone_whole_sweep_is_monotone(rule: Rule, claims: list[int]) -> None:
    before = [0] * len(claims)
    for fund in range(sum(claims) + 1):
        x = awards(plain(claims, fund), rule)
        exact = exact_of(plain(claims, fund), rule)
        assert exact is not None
        check_quota(plain(claims, fund), x, exact)
        check_order(claims, x, exact)
        assert sum(x) == fund
        assert all(b >= a for a, b in zip(before, x, strict=True)), (fund, before, x)
        before = x


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(problem=problems(Knobs(floors=False, exclusive=False, all_or_nothing=False)))
def test_direct_answer_is_the_step_by_step_schedule(
    rule: Rule, problem: Problem, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quota_awards answers without running the schedule when the releases and the rows leave
    # room; it must give what running it one 万元 at a time gives.
    direct = allocate(problem, rule, SOLVER)
    with monkeypatch.context() as patch:
        patch.setattr(quota, "_row_room", lambda *args: None)
        steps = allocate(problem, rule, SOLVER)
    assert direct.award.tolist() == steps.award.tolist()
    event(f"rounding: {direct.details['rounding_method']}")


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(claims=st.lists(st.integers(1, 25), min_size=2, max_size=40), share=st.floats(0.05, 0.95))
def test_direct_answer_is_the_schedule_on_many_claims(
    rule: Rule, claims: list[int], share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many claims: the releases, not only the deadlines, decide which units not yet due the
    # schedule has paid (under the Talmud, whole stretches of the fund release nothing new).
    problem = plain(claims, int(share * sum(claims)))
    direct = allocate(problem, rule, SOLVER)
    with monkeypatch.context() as patch:
        patch.setattr(quota, "_row_room", lambda *args: None)
        steps = allocate(problem, rule, SOLVER)
    assert direct.award.tolist() == steps.award.tolist()


# --------------------------------------------------------------------------------------------
# Under caps, sub-budgets and floors


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@SWEEP
@given(problem=problems(Knobs(floors=True, exclusive=False, all_or_nothing=False)), data=st.data())
def test_under_limits_quota_rows_and_one_more(
    rule: Rule, problem: Problem, data: st.DataObject
) -> None:
    budget = data.draw(st.integers(0, max(problem.budget, 1)))
    low = with_fund(problem, budget)
    high = with_fund(problem, budget + 1)
    got = []
    methods = []
    for p in (low, high):
        alloc = allocate(p, rule, SOLVER)
        if alloc.status.value not in ("OPTIMAL", "FEASIBLE"):
            return
        x = [int(v) for v in alloc.award]
        exact = exact_of(p, rule)
        if exact is None:
            return
        check_rows(p, x)
        check_quota(p, x, exact)
        check_movable_order(p, x, exact)
        got.append(x)
        methods.append(alloc.details["rounding_method"])
    x, y = got
    event(f"rounding: {methods[0]}, {methods[1]}")
    if methods == ["quota", "quota"]:
        assert all(b >= a for a, b in zip(x, y, strict=True)), (x, y)


# --------------------------------------------------------------------------------------------
# Brute force on tiny instances


def capped(claims: list[int], firms: list[int], caps: dict[int, int], budget: int) -> Problem:
    """Claims under a fund and per-firm caps (``caps``: firm -> cap)."""
    families = [plain(claims, budget).families[0]]
    if caps:
        members = [
            np.asarray([i for i, f in enumerate(firms) if f == firm], dtype=np.int64)
            for firm in caps
        ]
        families.append(
            Family(
                FIRM_CAP,
                "scenario",
                [f"firm_cap[f{firm}]" for firm in caps],
                members,
                np.asarray(list(caps.values()), dtype=np.int64),
                "<=",
            )
        )
    return dataclasses.replace(plain(claims, budget), families=families)


def good_vectors(problem: Problem, rule: Rule) -> tuple[list[Fraction], set[tuple[int, ...]]]:
    """Every whole vector within 1万元 of the exact values, within every row, spending as
    much as any such vector, with no movable break of the order."""
    exact = exact_of(problem, rule)
    assert exact is not None
    box = [range(floor(e), ceil(e) + 1) for e in exact]
    rows = rows_of(problem)
    inside = [
        x for x in itertools.product(*box) if all(sum(x[j] for j in m) <= r for _, m, r, _ in rows)
    ]
    most = max(sum(x) for x in inside)
    good = set()
    for x in inside:
        if sum(x) == most:
            try:
                check_movable_order(problem, list(x), exact)
            except AssertionError:
                continue
            good.add(x)
    return exact, good


def at_most(low: tuple[int, ...], high: tuple[int, ...]) -> bool:
    return all(a <= b for a, b in zip(low, high, strict=True))


def monotone_chain_exists(problems_by_fund: list[Problem], rule: Rule) -> bool:
    """Whether some good vector at every fund can be chosen, none falling as the fund rises."""
    reach: set[tuple[int, ...]] | None = None
    for problem in problems_by_fund:
        _, good = good_vectors(problem, rule)
        before = good if reach is None else reach
        reach = {x for x in good if any(at_most(y, x) for y in before)}
        if not reach:
            return False
    return True


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(
    claims=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    firms=st.lists(st.integers(0, 1), min_size=4, max_size=4),
    caps=st.dictionaries(st.integers(0, 1), st.integers(1, 5), max_size=2),
)
def test_brute_force_every_quota_vector_is_a_good_one(
    rule: Rule, claims: list[int], firms: list[int], caps: dict[int, int]
) -> None:
    # Over the whole sweep of the fund: every vector the quota method gives is one of the
    # good ones enumeration finds; where it gives them all the way, they form a monotone
    # chain, which is then also the proof that one exists.
    firms = firms[: len(claims)]
    path = []
    for fund in range(sum(claims) + 1):
        problem = capped(claims, firms, caps, fund)
        alloc = allocate(problem, rule, SOLVER)
        x = tuple(int(v) for v in alloc.award)
        _, good = good_vectors(problem, rule)
        assert x in good, (fund, x, sorted(good))
        path.append((x, alloc.details["rounding_method"]))
    if all(method == "quota" for _, method in path):
        event("quota all the way")
        for (a, _), (b, _) in itertools.pairwise(path):
            assert all(u <= v for u, v in zip(a, b, strict=True)), (a, b)
    else:
        event("nearest somewhere")


# Claims 5, 1, 1 of one firm capped at 2, and 3, 3 of two others (one capped at 3), under
# the proportional rule. At a fund of 4 the capped firm is full at (10/7, 2/7, 2/7) and the
# others stand at 1 and 1; at 5 they are 3/2 each, so the 5's 10/7 may not be rounded up
# while a 3/2 is rounded down (one 万元 moved between them mends it): the capped firm pays its
# 1 or 1s (1, 1, 0) or (1, 0, 1). At 7 they are 5/2 each and a claim of 1 paid 1 would lose
# less than a 5/2 paid 2 whose exact loss (1/2) is the smaller: the capped firm pays (2, 0, 0)
# or (1, 0, 0). No choice at 4, 5, 6 and 7 keeps every award from falling.
FIRM_CAP_CASE = ([5, 1, 1, 3, 3], [1, 1, 1, 0, 2], {1: 2, 2: 3})


def test_under_a_firm_cap_no_rounding_is_both_ordered_and_monotone() -> None:
    claims, firms, caps = FIRM_CAP_CASE
    funds = [capped(claims, firms, caps, fund) for fund in range(8)]
    assert not monotone_chain_exists(funds, Rule.PROPORTIONAL)
    assert monotone_chain_exists(funds[:7], Rule.PROPORTIONAL)
    # The engine keeps the order and says where it gave monotonicity up.
    at4, at5 = (allocate(funds[f], Rule.PROPORTIONAL, SOLVER) for f in (4, 5))
    assert at4.award.tolist() == [2, 0, 0, 1, 1]
    assert at5.award.tolist() == [1, 0, 0, 2, 2]
    assert at5.details["rounding_method"] == "nearest"


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(claims=st.lists(st.integers(1, 6), min_size=2, max_size=4))
def test_brute_force_under_the_fund_alone_a_monotone_chain_exists(
    rule: Rule, claims: list[int]
) -> None:
    funds = [plain(claims, fund) for fund in range(sum(claims) + 1)]
    assert monotone_chain_exists(funds, rule)
    for problem in funds:
        x = tuple(int(v) for v in allocate(problem, rule, SOLVER).award)
        assert x in good_vectors(problem, rule)[1]


# --------------------------------------------------------------------------------------------
# floor_each: every award rounded down, monotone because the exact values are


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@SWEEP
@given(problem=problems(Knobs(floors=False, exclusive=False, all_or_nothing=False)), data=st.data())
def test_floor_each_is_the_rounded_down_value_and_monotone(
    rule: Rule, problem: Problem, data: st.DataObject
) -> None:
    budget = data.draw(st.integers(0, max(problem.budget, 1)))
    got = []
    for fund in (budget, budget + 1):
        p = dataclasses.replace(with_fund(problem, fund), rounding="floor_each")
        exact = exact_of(p, rule)
        assert exact is not None
        x = awards(p, rule)
        assert x == [floor(e) for e in exact]
        check_rows(p, x)
        got.append(x)
    assert at_most(got[0], got[1]), got
