"""Infeasibility diagnosis: the clashing rows, the least extra budget, the least floor cut.

Each "least" is proved the way a reader would check it: with the extra budget the same problem
or scenario is allocated (OPTIMAL), with one 万元 less it is still infeasible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.inputs.choices import Rule
from allocator.model.problem import Family, Problem, SolverSettings, Status
from allocator.solve.diagnose import diagnose_problem
from allocator.solve.rules import allocate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
SETTINGS = SolverSettings(time_limit_s=20.0)


def ints(*values: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.array(values, dtype=np.int64)


def problem(
    budget: int,
    upper: tuple[int, ...],
    aon: tuple[bool, ...],
    district: tuple[str, ...],
    *families: Family,
    exclusive: tuple[tuple[int, ...], ...] = (),
) -> Problem:
    """A hand-made problem: recipients r0, r1 ...; clause 8 for the all-or-nothing awards."""
    n = len(upper)
    claims = pd.DataFrame(
        {
            "recipient_id": [f"r{i}" for i in range(n)],
            "clause_id": ["8" if a else "2.1" for a in aon],
            "item_key": ["8/oneoff" if a else "2.1/growth" for a in aon],
            "district": list(district),
        }
    )
    fund = Family("fund_cap", "scenario", ["fund_cap"], [np.arange(n)], ints(budget), "<=")
    return Problem(
        claims=claims,
        upper=ints(*upper),
        weight=np.full(n, 1000, dtype=np.int64),
        rank=np.arange(n, dtype=np.int64),
        all_or_nothing=np.array(aon, dtype=bool),
        exclusive=[ints(*g) for g in exclusive],
        exclusive_labels=[f"no_duplicate[g][{k}]" for k in range(len(exclusive))],
        exclusive_clause_ids=["11.4"] * len(exclusive),
        families=[fund, *families],
        budget=budget,
    )


def floor(label: str, members: tuple[int, ...], rhs: int) -> Family:
    return Family(
        "district_floor",
        "scenario",
        [f"district_floor[{label}]"],
        [ints(*members)],
        ints(rhs),
        ">=",
    )


# --------------------------------------------------------------------------------------------
# Hand-made problems


def one_offs(budget: int) -> Problem:
    """Two one-off awards of 5万元 (all or nothing) and a 3万元 claim elsewhere.

    District A must receive at least 6万元: only both one-offs, 10万元, reach it.
    """
    return problem(budget, (5, 5, 3), (True, True, False), ("A", "A", "B"), floor("A", (0, 1), 6))


def test_all_or_nothing_awards_need_more_than_the_floor() -> None:
    d = diagnose_problem(one_offs(8), Rule.PRIORITY, SETTINGS)
    assert d.conflict_status is Status.INFEASIBLE
    # All four are needed: without the fund cap 10万元 is paid; without the floor nothing need
    # be; with either one-off divisible, 1 + 5 = 6万元 fits in 8.
    assert [r.row for r in d.conflict] == [
        "fund_cap",
        "district_floor[A]",
        "all_or_nothing[r0/8/8/oneoff]",
        "all_or_nothing[r1/8/8/oneoff]",
    ]
    assert [(f["family"], f["clause_ids"]) for f in d.families()] == [
        ("fund_cap", ["scenario"]),
        ("district_floor", ["scenario"]),
        ("all_or_nothing", ["8"]),
    ]
    # The floor is met with 5 + 5 = 10万元 at least: 2万元 more than 8.
    assert (d.min_budget_wan, d.extra_budget_wan, d.budget_status) == (10, 2, Status.OPTIMAL)
    # At 8万元 one one-off is paid: the floor can come down to 5万元, a cut of 1.
    assert [(c.row, c.floor_wan, c.cut_wan, c.relaxed_wan) for c in d.floor_cuts] == [
        ("district_floor[A]", 6, 1, 5)
    ]
    assert d.floor_cut_wan == 1
    text = "\n".join(d.lines())
    assert "extra budget needed: 2万元" in text
    assert "district_floor[A] 6 -> 5万元" in text


@pytest.mark.parametrize("rule", [Rule.PRIORITY, Rule.PROPORTIONAL])
def test_the_extra_budget_is_the_least_that_works(rule: Rule) -> None:
    assert allocate(one_offs(8 + 2), rule, SETTINGS).status is Status.OPTIMAL
    assert allocate(one_offs(8 + 2 - 1), rule, SETTINGS).status is Status.INFEASIBLE


def test_the_floor_cut_is_the_least_that_works() -> None:
    def cut(rhs: int) -> Problem:
        return problem(8, (5, 5, 3), (True, True, False), ("A", "A", "B"), floor("A", (0, 1), rhs))

    assert allocate(cut(6 - 1), Rule.PRIORITY, SETTINGS).status is Status.OPTIMAL
    assert allocate(cut(6), Rule.PRIORITY, SETTINGS).status is Status.INFEASIBLE


def test_no_budget_helps_a_floor_above_a_sub_budget() -> None:
    # Both claims (5 + 5万元) sit in district A and in a sub-budget of 4万元; A's floor is 6.
    sub = Family("sub_budget", "scenario", ["sub_budget[s]"], [ints(0, 1)], ints(4), "<=")
    p = problem(100, (5, 5), (False, False), ("A", "A"), sub, floor("A", (0, 1), 6))
    d = diagnose_problem(p, Rule.PRIORITY, SETTINGS)
    assert [r.row for r in d.conflict] == ["sub_budget[s]", "district_floor[A]"]
    assert d.conflict[0].clauses == ("2.1",)
    assert (d.min_budget_wan, d.extra_budget_wan) == (None, None)
    assert d.budget_status is Status.INFEASIBLE
    assert d.floor_cut_wan == 6 - 4
    assert "none would do" in "\n".join(d.lines())


def test_a_floor_over_a_district_without_claims() -> None:
    p = problem(100, (5,), (False,), ("A",))
    d = diagnose_problem(p, Rule.PRIORITY, SETTINGS, empty_floors={"district_floor[B]": 7})
    assert [(r.row, r.note) for r in d.conflict] == [
        ("district_floor[B]", "no claim in the district")
    ]
    assert d.min_budget_wan is None
    assert [(c.row, c.cut_wan) for c in d.floor_cuts] == [("district_floor[B]", 7)]


def test_level_rules_re_pick_the_group_member_a_floor_needs() -> None:
    # One firm's two items, at most one paid: a 5万元 one-off and a 3万元 claim. District A
    # (the firm's) is capped at 4 and floored at 3. Priority pays the 3万元 claim; the level
    # rules keep the larger claim of the group, the one-off, which cannot fit under the cap.
    def p() -> Problem:
        cap = Family("district_cap", "scenario", ["district_cap[A]"], [ints(0, 1)], ints(4), "<=")
        return problem(
            100,
            (5, 3),
            (True, False),
            ("A", "A"),
            cap,
            floor("A", (0, 1), 3),
            exclusive=((0, 1),),
        )

    assert allocate(p(), Rule.PRIORITY, SETTINGS).status is Status.OPTIMAL
    # The floor needs the 3万元 member, so the level rule re-picks it instead of the one-off
    # that cannot fit under the cap: feasible, nothing to diagnose.
    level = allocate(p(), Rule.PROPORTIONAL, SETTINGS)
    assert level.status is Status.OPTIMAL
    assert level.award.tolist() == [0, 3]


def test_json_form() -> None:
    doc = diagnose_problem(one_offs(8), Rule.PRIORITY, SETTINGS).to_json()
    assert doc["extra_budget_wan"] == 2
    assert doc["min_budget_wan"] == doc["budget_bound_wan"] == 10
    assert doc["floor_cut_wan"] == 1
    assert doc["conflict"][1] == {
        "row": "district_floor[A]",
        "family": "district_floor",
        "clause_id": "scenario",
        "sense": ">=",
        "rhs_wan": 6,
        "clauses": ["8"],
        "note": "",
    }
    json.dumps(doc)  # plain JSON


# --------------------------------------------------------------------------------------------
# The 2026 sample through the command line


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def write_scenario(folder: Path, **content: object) -> Path:
    body = {"name": "t", "model": str(MODEL_2026), "data": str(SAMPLE), **content}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def run(folder: Path, **content: object) -> tuple[Result, dict[str, Any]]:
    out = folder / "out"
    result = invoke("run", str(write_scenario(folder, **content)), "--out", str(out), "--quiet")
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return result, doc


FLOORS = {"柳南区": 60, "柳北区": 60}


def test_floors_above_the_budget_exit_3_with_the_extra_budget(tmp_path: Path) -> None:
    # Floors of 60 + 60万元 against 100万元: both districts have plenty of divisible claims
    # (986 and 1,091万元), so 120万元 meets them and 20万元 more is needed.
    result, doc = run(tmp_path / "a", budget_wan=100, district_floors=FLOORS)
    assert result.exit_code == 3
    assert doc["status"] == "INFEASIBLE"
    diagnosis = doc["diagnosis"]
    assert diagnosis["extra_budget_wan"] == 20
    assert diagnosis["min_budget_wan"] == 120
    assert diagnosis["budget_status"] == "OPTIMAL"
    assert [(f["family"], f["rows"]) for f in diagnosis["families"]] == [
        ("fund_cap", ["fund_cap"]),
        ("district_floor", ["district_floor[柳南区]", "district_floor[柳北区]"]),
    ]
    assert diagnosis["floor_cut_wan"] == 20
    # The same on stderr, after the reason.
    assert "the district floors add up to 120万元" in result.stderr
    assert "diagnosis:" in result.stderr
    assert "extra budget needed: 20万元" in result.stderr
    assert "Traceback" not in result.stderr

    # The same scenario with 20万元 more is allocated; with 19 more it is not.
    enough, doc = run(tmp_path / "b", budget_wan=100 + 20, district_floors=FLOORS)
    assert enough.exit_code == 0, enough.stderr
    assert doc["status"] == "OPTIMAL"
    assert "diagnosis" not in doc
    short, doc = run(tmp_path / "c", budget_wan=100 + 20 - 1, district_floors=FLOORS)
    assert short.exit_code == 3
    assert doc["diagnosis"]["extra_budget_wan"] == 1


def test_a_floor_above_a_sub_budget_needs_a_lower_floor(tmp_path: Path) -> None:
    # Every award clause together within 10万元, yet 柳东新区 must receive 50万元: no budget
    # helps; the floor must come down by 40万元, to the 10万元 the sub-budget allows.
    from allocator.policy.load import load_model

    clauses = [c.id for c in load_model(MODEL_2026).clauses if c.kind == "award"]
    result, doc = run(
        tmp_path,
        budget_wan=5000,
        sub_budgets=[{"name": "all", "clauses": clauses, "budget_wan": 10}],
        district_floors={"柳东新区": 50},
    )
    assert result.exit_code == 3
    diagnosis = doc["diagnosis"]
    assert [f["family"] for f in diagnosis["families"]] == ["sub_budget", "district_floor"]
    assert diagnosis["extra_budget_wan"] is None
    assert diagnosis["budget_status"] == "INFEASIBLE"
    assert diagnosis["floors"] == [
        {"row": "district_floor[柳东新区]", "floor_wan": 50, "cut_wan": 40, "relaxed_wan": 10}
    ]
    assert "none would do" in result.stderr
    assert "district_floor[柳东新区] 50 -> 10万元" in result.stderr
    lowered, _ = run(
        tmp_path / "lower",
        budget_wan=5000,
        sub_budgets=[{"name": "all", "clauses": clauses, "budget_wan": 10}],
        district_floors={"柳东新区": 10},
    )
    assert lowered.exit_code == 0, lowered.stderr
