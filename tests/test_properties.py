"""Properties of every fairness rule on small random problems, and brute force beside it.

For each rule (priority, proportional, equal_awards, equal_losses, talmud), ``allocate``
runs on small random feasible problems (tests/strategies.py: at most 6 claims of at most
8万元, with weights, ranks, all-or-nothing claims, no-duplicate groups, a fund, firm and
district caps, crossing sub-budgets and district floors) and the result must:

- be ``OPTIMAL``, whole 万元, within ``[0, upper]``, all-or-nothing awards 0 or whole, at
  most one positive award per no-duplicate group, every constraint row held (the budget
  among them);
- be among the vectors that enumerating every integer award vector gives under the rule's
  own definition, written here without the engine's helpers:

  priority
      the largest ``Σ weight·x``; among those, the largest ``Σ tie·x`` where ``tie`` is ``n``
      for rank 0 down to 1 for the last rank (greedy.py, ``rank_coefficients``);
  level rules (levels.py)
      one member kept per no-duplicate group (largest claim, then weight, then lower rank);
      progressive filling of the rule's target ``t(θ, c)`` through its steps, a row that
      would be exceeded by the next step freezing its open members (the smaller row first,
      then the earlier one, when two are exceeded at the same step), an all-or-nothing
      claim counting only when whole; then the whole-万元 remainder: each frozen claim may
      rise to its target at the next step (all of it, for an all-or-nothing claim at 0),
      chosen as the priority rule chooses.

  When several vectors tie on both objectives, any of them is the rule's answer and the
  engine's must be one of them; almost always there is one. Instances with floors are
  compared for priority only: a level rule first meets floors by a filling of its own, which
  these tests check by the invariants alone.

Settings: ``EXAMPLES`` examples per rule (200; the environment variable
``PROPERTY_EXAMPLES`` changes it for a quick local run), ``derandomize=True`` (the same
examples on every run), no deadline. Then a few whole runs of random small scenarios must
pass ``allocate audit``. docs/reliability.md reports the counts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.inputs.choices import Rule
from allocator.model.problem import Allocation, Family, Problem, SolverSettings, Status
from allocator.policy.load import load_model
from allocator.solve.rules import allocate
from helpers import nearest_vectors, plain, priority_optima, rows_of
from strategies import MAX_CLAIM_WAN, Knobs, problems

IntMatrix = npt.NDArray[np.int64]

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
SOLVER = SolverSettings(time_limit_s=20.0, workers=2, seed=0)
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RULES = list(Rule)
LEVEL_RULES = [r for r in Rule if r is not Rule.PRIORITY]


# --------------------------------------------------------------------------------------------
# The properties


def check_invariants(problem: Problem, alloc: Allocation) -> list[int]:
    event(f"claims: {problem.size}")
    event(f"method: {alloc.details.get('method') or alloc.details.get('remainder_method')}")
    if problem.exclusive:
        event("has no-duplicate groups")
    if bool(problem.all_or_nothing.any()):
        event("has all-or-nothing claims")
    award = np.asarray(alloc.award)
    assert award.dtype.kind == "i"
    assert award.shape == (problem.size,)
    x = [int(v) for v in award]
    assert alloc.status is Status.OPTIMAL, alloc.details
    for i, v in enumerate(x):
        assert 0 <= v <= int(problem.upper[i])
        if problem.all_or_nothing[i]:
            assert v in (0, int(problem.upper[i]))
    assert sum(x) <= problem.budget
    for label, members, rhs, sense in rows_of(problem):
        total = sum(x[j] for j in members)
        assert (total <= rhs) if sense == "<=" else (total >= rhs), label
    for group in problem.exclusive:
        assert sum(x[j] > 0 for j in group.tolist()) <= 1
    return x


def has_floors(problem: Problem) -> bool:
    return any(f.sense == ">=" for f in problem.families)


def check_exact(problem: Problem, rule: Rule, x: list[int], exact: list[Fraction]) -> None:
    """The engine's exact values agree with the definition's, and each award is within 1万元
    of its exact value unless it is an all-or-nothing claim the rounding paid whole."""
    engine = problem_exact(problem, rule)
    for i, (e, v) in enumerate(zip(exact, x, strict=True)):
        assert abs(float(e) - engine[i]) < 1e-6, (i, e, engine[i])
        if not problem.all_or_nothing[i]:
            assert abs(v - e) < 1, (i, v, e)


def problem_exact(problem: Problem, rule: Rule) -> list[float]:
    alloc = allocate(problem, rule, SOLVER)
    assert alloc.exact is not None
    return [float(v) for v in alloc.exact]


def check_brute_force(problem: Problem, rule: Rule, x: list[int]) -> None:
    if rule is Rule.PRIORITY:
        optima = priority_optima(problem, [0] * problem.size, [int(c) for c in problem.upper])
    else:
        found_level = nearest_vectors(problem, rule)
        if found_level is None:
            event("brute force: not compared (floors met by the CP-SAT search)")
            return
        exact, optima = found_level
        check_exact(problem, rule, x, exact)
    assert optima.shape[0] >= 1
    found = [list(map(int, row)) for row in optima]
    event("brute force: one optimum" if len(found) == 1 else "brute force: tied optima")
    assert x in found, (x, found[:5])


@PROPERTY_SETTINGS
@given(problem=problems())
@example(problem=plain([8, 5, 3], 10))
@example(problem=plain([1, 3, 2], 3, aon=[False, True, False]))
def test_priority_properties_and_brute_force(problem: Problem) -> None:
    x = check_invariants(problem, allocate(problem, Rule.PRIORITY, SOLVER))
    check_brute_force(problem, Rule.PRIORITY, x)


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=[r.value for r in LEVEL_RULES])
@PROPERTY_SETTINGS
@given(problem=problems())
@example(problem=plain([8, 5, 3], 10))
@example(problem=plain([6, 6, 6], 10, aon=[True, False, False]))
def test_level_rule_properties_and_brute_force(rule: Rule, problem: Problem) -> None:
    x = check_invariants(problem, allocate(problem, rule, SOLVER))
    check_brute_force(problem, rule, x)


@pytest.mark.parametrize("rule", RULES, ids=[r.value for r in RULES])
@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(problem=problems(Knobs(floors=False, exclusive=False, all_or_nothing=False)))
def test_divisible_claims_under_caps_are_never_left_with_room(rule: Rule, problem: Problem) -> None:
    # Without floors, groups or indivisible claims, an award below its claim must sit in a
    # full row: otherwise one more 万元 would fit and every rule would pay it.
    x = check_invariants(problem, allocate(problem, rule, SOLVER))
    rows = rows_of(problem)
    for i, v in enumerate(x):
        if v < int(problem.upper[i]):
            assert any(i in m and sum(x[j] for j in m) == rhs for _, m, rhs, _ in rows), i


# --------------------------------------------------------------------------------------------
# Hand-computed cases of each definition


@pytest.mark.parametrize(
    ("rule", "claims", "budget", "expected"),
    [
        # 10万元 among 8, 5, 3 (16 claimed).
        (Rule.PRIORITY, [8, 5, 3], 10, [8, 2, 0]),  # rank order
        # r = 10/16: 5, 3.125, 1.875 -> 5, 3, 1 and the one unit left to the largest
        # fractional part, 0.875.
        (Rule.PROPORTIONAL, [8, 5, 3], 10, [5, 3, 2]),
        # 3 + 2λ = 10, λ = 3.5: 3.5, 3.5, 3 -> 3, 3, 3; the unit left goes to the tie at 0.5
        # with the larger claim.
        (Rule.EQUAL_AWARDS, [8, 5, 3], 10, [4, 3, 3]),
        # A loss of 2 each: 6, 3, 1 exactly.
        (Rule.EQUAL_LOSSES, [8, 5, 3], 10, [6, 3, 1]),
        # Half-claims 4, 2.5, 1.5 (8 in all) paid, then equal losses on the other halves:
        # 1.5 + 2λ = 6, λ = 2.25: 5.75, 2.75, 1.5 -> 5, 2, 1; two units, to the tie at 0.75
        # (the smaller exact award first, 2.75, then 5.75).
        (Rule.TALMUD, [8, 5, 3], 10, [6, 3, 1]),
    ],
)
def test_three_claims_by_hand(
    rule: Rule, claims: list[int], budget: int, expected: list[int]
) -> None:
    alloc = allocate(plain(claims, budget), rule, SOLVER)
    assert [int(v) for v in alloc.award] == expected
    assert expected in level_or_priority(plain(claims, budget), rule)


def level_or_priority(problem: Problem, rule: Rule) -> list[list[int]]:
    if rule is Rule.PRIORITY:
        optima = priority_optima(problem, [0] * problem.size, [int(c) for c in problem.upper])
    else:
        found = nearest_vectors(problem, rule)
        assert found is not None
        optima = found[1]
    return [list(map(int, row)) for row in optima]


AM = [100, 200, 300]  # Aumann & Maschler's claims, the running example of docs/fairness.md


@pytest.mark.parametrize(
    ("rule", "claims", "budget", "aon", "expected"),
    [
        # docs/fairness.md, worked examples (estates 100, 200, 300).
        (Rule.PRIORITY, AM, 200, None, [100, 100, 0]),
        (Rule.PROPORTIONAL, AM, 100, None, [17, 33, 50]),
        (Rule.PROPORTIONAL, AM, 200, None, [33, 67, 100]),
        (Rule.PROPORTIONAL, AM, 300, None, [50, 100, 150]),
        (Rule.EQUAL_AWARDS, AM, 100, None, [33, 33, 34]),
        (Rule.EQUAL_AWARDS, AM, 200, None, [66, 67, 67]),
        (Rule.EQUAL_AWARDS, AM, 300, None, [100, 100, 100]),
        (Rule.EQUAL_LOSSES, AM, 100, None, [0, 0, 100]),
        (Rule.EQUAL_LOSSES, AM, 200, None, [0, 50, 150]),
        (Rule.EQUAL_LOSSES, AM, 300, None, [0, 100, 200]),
        (Rule.TALMUD, AM, 100, None, [33, 33, 34]),
        (Rule.TALMUD, AM, 200, None, [50, 75, 75]),
        (Rule.TALMUD, AM, 300, None, [50, 100, 150]),
        # All-or-nothing: a 5万 one-off beside two 3万 claims, fund 6; two 5万 items, fund 7.
        (Rule.EQUAL_AWARDS, [5, 3, 3], 6, [True, False, False], [0, 3, 3]),
        (Rule.PRIORITY, [5, 3, 3], 6, [True, False, False], [5, 1, 0]),
        (Rule.EQUAL_AWARDS, [5, 5], 7, [True, True], [5, 0]),
        # The tie-break weighs lower ranks more but not strictly first: 3万元 for claims of 1,
        # 3 (all-or-nothing) and 2 scores 3·2 = 6 for the one-off against 1·3 + 2·1 = 5.
        (Rule.PRIORITY, [1, 3, 2], 3, [False, True, False], [0, 3, 0]),
    ],
)
def test_the_documented_examples(
    rule: Rule, claims: list[int], budget: int, aon: list[bool] | None, expected: list[int]
) -> None:
    problem = plain(claims, budget, aon=aon)
    assert [int(v) for v in allocate(problem, rule, SOLVER).award] == expected
    if rule is not Rule.PRIORITY or max(claims) <= MAX_CLAIM_WAN:
        # The definitions of this module give the documented figures too.
        assert expected in level_or_priority(problem, rule)


P, EA, EL, TM = Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD
TEXTBOOK = {
    # estate: (proportional, equal awards, equal losses, Talmud), by hand (docs/fairness.md)
    # At 99 the exact (16.5, 33, 49.5): C's 50th 万元 is due at an estate of 100, A's 17th
    # only at 102, so the quota method pays C's first.
    99: ([16, 33, 50], [33, 33, 33], [0, 0, 99], [33, 33, 33]),
    100: ([17, 33, 50], [33, 33, 34], [0, 0, 100], [33, 33, 34]),
    101: ([17, 34, 50], [33, 34, 34], [0, 1, 100], [33, 34, 34]),
    200: ([33, 67, 100], [66, 67, 67], [0, 50, 150], [50, 75, 75]),
    250: ([42, 83, 125], [83, 83, 84], [0, 75, 175], [50, 100, 100]),
    300: ([50, 100, 150], [100, 100, 100], [0, 100, 200], [50, 100, 150]),
}


@pytest.mark.parametrize(
    ("rule", "estate", "expected"),
    [
        (rule, estate, figures[k])
        for estate, figures in TEXTBOOK.items()
        for k, rule in enumerate((P, EA, EL, TM))
    ],
)
def test_the_textbook_table(rule: Rule, estate: int, expected: list[int]) -> None:
    problem = plain(AM, estate)
    assert [int(v) for v in allocate(problem, rule, SOLVER).award] == expected
    assert expected in level_or_priority(problem, rule)


@pytest.mark.parametrize(
    ("rule", "claims", "budget", "expected"),
    [
        # Exact 4/7, 4/7, 20/7: floors 0, 0, 2; units to 6/7, then 4/7 at rank 0.
        (P, [1, 1, 5], 4, [1, 0, 3]),
        # r = 1/2: each claim of 1 exactly 0.5, the large one 500; 50 units by rank.
        (P, [1] * 100 + [1000], 550, [1] * 50 + [0] * 50 + [500]),
        # Exact 1/2 each: the units to the tie at 0.5, the larger claim first, then rank 0.
        (TM, [1, 1, 1, 3], 2, [1, 0, 0, 1]),
        # Half-claims 5.5 + 50 paid, then a loss of 45 on the other halves: 0.5 each, 55.
        (TM, [1] * 10 + [100], 60, [1] * 5 + [0] * 5 + [55]),
        # Exact 100.5, 0.5, 0: the unit to the smaller exact award keeps losses in order.
        (EL, [300, 200, 100], 101, [100, 1, 0]),
    ],
)
def test_the_cases_the_rounding_got_wrong(
    rule: Rule, claims: list[int], budget: int, expected: list[int]
) -> None:
    alloc = allocate(plain(claims, budget), rule, SOLVER)
    assert [int(v) for v in alloc.award] == expected
    assert alloc.unspent == 0


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=[r.value for r in LEVEL_RULES])
def test_floor_each_rounds_every_award_down_and_reports_the_rest(rule: Rule) -> None:
    # 100 among 100/200/300: proportional 16.67/33.33/50 -> 16, 33, 50 and 1 left;
    # equal awards and the Talmud 33.33 each -> 33 each, 1 left; equal losses exact.
    expected = {P: [16, 33, 50], EA: [33, 33, 33], EL: [0, 0, 100], TM: [33, 33, 33]}[rule]
    alloc = allocate(plain(AM, 100, rounding="floor_each"), rule, SOLVER)
    assert [int(v) for v in alloc.award] == expected
    assert alloc.unspent == 100 - sum(expected)
    assert alloc.rounding_left == 100 - sum(expected)
    assert alloc.rounding == "floor_each"


@pytest.mark.parametrize(
    ("one_offs", "expected", "first", "short"),
    [
        # Compete: the level never reaches the 5万 one-off (that would cost 11); the two 3万
        # claims take the fund.
        ("compete", [0, 3, 3], 0, 0),
        # First: the one-off is paid whole, the 1万 left is shared 0.5/0.5, by rank.
        ("first", [5, 1, 0], 1, 0),
    ],
)
def test_one_offs_first_or_competing(
    one_offs: str, expected: list[int], first: int, short: int
) -> None:
    problem = plain([5, 3, 3], 6, aon=[True, False, False], one_offs=one_offs)  # type: ignore[arg-type]
    alloc = allocate(problem, EA, SOLVER)
    assert [int(v) for v in alloc.award] == expected
    assert (alloc.one_offs_first, alloc.one_offs_short) == (first, short)
    assert expected in level_or_priority(problem, EA)


def test_one_offs_first_that_the_fund_cannot_take_are_counted_short() -> None:
    # Two 5万 one-offs and 7万: the first (rank 0) is paid, the second is short; the 2万 left
    # go to the divisible claim.
    problem = plain([5, 5, 4], 7, aon=[True, True, False], one_offs="first")
    alloc = allocate(problem, EA, SOLVER)
    assert [int(v) for v in alloc.award] == [5, 0, 2]
    assert (alloc.one_offs_first, alloc.one_offs_short) == (1, 1)


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=[r.value for r in LEVEL_RULES])
def test_level_rules_meet_a_floor_through_a_group_member(rule: Rule) -> None:
    # One group: a claim of 3, and an all-or-nothing claim of 4 that a budget of 3 can never
    # pay; a floor of 3 over both. Paying 3 to the first meets everything. A level rule keeps
    # the largest member of a group; it must not then call the floor infeasible (the first
    # property test found this).
    problem = plain([3, 4], 3, aon=[False, True])
    floor = Family(
        "district_floor", "scenario", ["district_floor[d]"], [np.arange(2)], np.array([3]), ">="
    )
    problem = dataclasses.replace(
        problem,
        exclusive=[np.arange(2, dtype=np.int64)],
        exclusive_labels=["no_duplicate[g]"],
        exclusive_clause_ids=["scenario"],
        families=[*problem.families, floor],
    )
    assert level_or_priority(problem, Rule.PRIORITY) == [[3, 0]]
    alloc = allocate(problem, rule, SOLVER)
    assert alloc.status is Status.OPTIMAL
    assert [int(v) for v in alloc.award] == [3, 0]


# --------------------------------------------------------------------------------------------
# End to end: a run of a random small scenario passes its own audit

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "2025": ROOT / "models" / "liuzhou-2025-q1.yaml",
    "2026": ROOT / "models" / "liuzhou-2026-q1-draft.yaml",
}
AUDIT_EXAMPLES = 5


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 synthetic firms, the same on every run."""
    path = tmp_path_factory.mktemp("city") / "firms.csv"
    made = CliRunner().invoke(
        main, ["generate", "--enterprises", "80", "--seed", "11", "--out", str(path)]
    )
    assert made.exit_code == 0, made.output
    return path


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario over either shipped model, with a random rule, budget, caps and weights."""
    year = draw(st.sampled_from(sorted(MODELS)))
    body: dict[str, Any] = {
        "name": "audited",
        "model": str(MODELS[year]),
        "budget_wan": draw(st.integers(10, 400)),
        "fairness": {"rule": draw(st.sampled_from([r.value for r in Rule]))},
        "solver": {"time_limit_s": 20, "workers": 2},
    }
    if draw(st.booleans()):
        body["firm_cap_wan"] = draw(st.integers(1, 60))
    if draw(st.booleans()):
        body["district_caps"] = {
            draw(st.sampled_from(["柳东新区", "柳南区"])): draw(st.integers(0, 80))
        }
    if draw(st.booleans()):
        body["weights"] = {
            "industries": {"auto_parts": draw(st.sampled_from([0.5, 2.0, 3.0])), "steel": 1.5}
        }
    if draw(st.booleans()):
        first = load_model(MODELS[year]).items()[0][0].id
        body["sub_budgets"] = [
            {"name": "first", "clauses": [first], "budget_wan": draw(st.integers(0, 50))}
        ]
    return body


@settings(max_examples=AUDIT_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(body=scenarios())
@example(
    body={
        "name": "audited",
        "model": str(MODELS["2026"]),
        "budget_wan": 150,
        "fairness": {"rule": "proportional"},
        "firm_cap_wan": 12,
        "district_caps": {"柳东新区": 30},
        "solver": {"time_limit_s": 20, "workers": 2},
    }
)
def test_random_small_runs_pass_their_audit(small_city: Path, body: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = folder / "scenario.yaml"
        body = {**body, "data": str(small_city)}
        scenario.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
        out = folder / "out"
        run = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "-q"])
        assert run.exit_code == 0, (body, run.output)
        event(f"audited: {body['fairness']['rule']}, {Path(body['model']).stem}")
        audit = CliRunner().invoke(
            main, ["audit", str(out), "--ledger", str(folder / "ledger.sqlite"), "--json"]
        )
        report = json.loads(audit.stdout)
        assert audit.exit_code == 0, (body, report["findings"])
        assert report["errors"] == 0
