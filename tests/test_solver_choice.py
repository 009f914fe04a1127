"""The solver choice: ``solver.solver`` and ``--solver cpsat|highs``.

Hand-computed HiGHS solves within lower and upper bounds, every fairness rule on a small
crossing problem solved by both engines, the two shipped samples run end to end with each
engine and compared, and the refusal of an unknown engine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.inputs.choices import Engine, Rule
from allocator.inputs.scenario import load_scenario
from allocator.model.problem import (
    FIRM_CAP,
    FUND_CAP,
    SUB_BUDGET,
    Family,
    Problem,
    SolverSettings,
    Status,
)
from allocator.pipeline.run import run_scenario
from allocator.solve.highs import solve_bounded
from allocator.solve.rules import allocate
from helpers import family

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "2025": ROOT / "scenarios" / "liuzhou-2025-q1.yaml",
    "2026": ROOT / "scenarios" / "liuzhou-2026-q1.yaml",
}
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
LEVEL_RULES = [Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def settings(engine: Engine, workers: int = 1) -> SolverSettings:
    return SolverSettings(time_limit_s=20.0, workers=workers, seed=0, solver=engine)


def problem(
    upper: Sequence[int],
    weight: Sequence[int],
    budget: int,
    families: Sequence[Family] = (),
    *,
    exclusive: Sequence[Sequence[int]] = (),
    all_or_nothing: Sequence[int] = (),
) -> Problem:
    """A problem with a fund cap of ``budget`` over every claim, then ``families``."""
    n = len(upper)
    aon = np.zeros(n, dtype=np.bool_)
    aon[list(all_or_nothing)] = True
    claims = pd.DataFrame(
        {
            "recipient_id": [f"F{i}" for i in range(n)],
            "clause_id": "1",
            "item_key": "main",
            "claim_wan": list(upper),
        }
    )
    fund = family(FUND_CAP, {"fund_cap": (range(n), budget)})
    return Problem(
        claims=claims,
        upper=np.asarray(upper, dtype=np.int64),
        weight=np.asarray(weight, dtype=np.int64),
        rank=np.arange(n, dtype=np.int64),
        all_or_nothing=aon,
        exclusive=[np.asarray(g, dtype=np.int64) for g in exclusive],
        exclusive_labels=[f"no_duplicate[g{k}]" for k in range(len(exclusive))],
        exclusive_clause_ids=["8"] * len(exclusive),
        families=[fund, *families],
        budget=budget,
    )


def bounds(*values: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.asarray(values, dtype=np.int64)


# --------------------------------------------------------------------------- HiGHS within bounds


def test_a_lower_bound_holds_against_the_weights() -> None:
    # 50 万元 for three claims of 30 at weights 1, 3, 2. Free, the optimum is (0, 30, 20):
    # 90 + 40 = 130. Claim 0 must have at least 25, leaving 25 for the heaviest: (25, 25, 0),
    # 25 + 75 = 100.
    p = problem([30, 30, 30], [1, 3, 2], 50)
    free = solve_bounded(p, settings(Engine.HIGHS))
    assert free.award is not None
    assert free.award.tolist() == [0, 30, 20]
    assert free.objective == 130
    held = solve_bounded(p, settings(Engine.HIGHS), lower=bounds(25, 0, 0))
    assert held.status is Status.OPTIMAL
    assert held.award is not None
    assert held.award.tolist() == [25, 25, 0]
    assert held.objective == 100
    assert held.bound == pytest.approx(100, abs=0.5)
    assert [name for name, _ in held.phases] == ["build", "priority", "tie_break"]


def test_fixed_claims_are_constants_in_the_rows_and_groups() -> None:
    # Claim 2 is fixed at 10 and shares a no-duplicate group with claim 1 (weight 3), which
    # therefore gets nothing. The fund's remaining 40 goes to the all-or-nothing claim 3 in
    # full (weight 5 × 20 = 100) and 20 to claim 0 (weight 1): 20 + 20 + 100 = 140, against
    # 30 + 20 = 50 with claim 0 in full and claim 3 left out.
    p = problem([30, 30, 10, 20], [1, 3, 2, 5], 50, exclusive=[[1, 2]], all_or_nothing=[3])
    lower = bounds(0, 0, 10, 0)
    upper = bounds(30, 30, 10, 20)
    solved = solve_bounded(p, settings(Engine.HIGHS), lower=lower, upper=upper)
    assert solved.status is Status.OPTIMAL
    assert solved.award is not None
    assert solved.award.tolist() == [20, 0, 10, 20]
    assert solved.objective == 140


def test_upper_bounds_below_the_claims_and_nothing_left_open() -> None:
    p = problem([30, 30, 30], [1, 1, 1], 50)
    capped = solve_bounded(p, settings(Engine.HIGHS), upper=bounds(10, 10, 10))
    assert capped.award is not None
    assert capped.award.tolist() == [10, 10, 10]
    # Every claim fixed: the bounds are the award, without a HiGHS run.
    fixed = solve_bounded(
        p, settings(Engine.HIGHS), lower=bounds(10, 20, 20), upper=bounds(10, 20, 20)
    )
    assert fixed.status is Status.OPTIMAL
    assert [name for name, _ in fixed.phases] == ["build"]
    assert fixed.objective == 50
    over = solve_bounded(
        p, settings(Engine.HIGHS), lower=bounds(20, 20, 20), upper=bounds(20, 20, 20)
    )
    assert over.status is Status.INFEASIBLE
    assert over.award is None


def test_an_all_or_nothing_claim_must_be_fixed_or_span_its_claim() -> None:
    p = problem([30, 20], [1, 1], 50, all_or_nothing=[1])
    with pytest.raises(ValueError, match="all-or-nothing claim 1"):
        solve_bounded(p, settings(Engine.HIGHS), lower=bounds(0, 5))


# --------------------------------------------------------------------------- every rule


#: What ``details["method"]`` may say under each engine: CP-SAT's path also ends without a
#: search when an exact bound proves the greedy allocation optimal ("bound"); HiGHS always
#: searches.
METHODS = {Engine.CPSAT: {"cpsat", "bound"}, Engine.HIGHS: {"highs"}}


def crossing() -> Problem:
    """Two firms × two clauses, each firm and each clause holding at most 11 万元.

    Claims 0 = F1·c1, 1 = F1·c2, 2 = F2·c1, 3 = F2·c2, 10 each, weights 1, 2, 1, 1. The firm
    rows cross the clause rows, so neither filling's remainder nor priority is a polymatroid:
    both go to the chosen engine.
    """
    firms = family(FIRM_CAP, {"firm_cap[F1]": ([0, 1], 11), "firm_cap[F2]": ([2, 3], 11)})
    clauses = family(SUB_BUDGET, {"sub_budget[c1]": ([0, 2], 11), "sub_budget[c2]": ([1, 3], 11)})
    return problem([10, 10, 10, 10], [1, 2, 1, 1], 100, [firms, clauses])


@pytest.mark.parametrize("engine", list(Engine))
def test_priority_on_crossing_rows(engine: Engine) -> None:
    # Σ x <= 22 (the two firms) and the weight-2 claim holds at most 10: at most 22 + 10 = 32,
    # reached only by (1, 10, 10, 1).
    result = allocate(crossing(), Rule.PRIORITY, settings(engine))
    assert result.status is Status.OPTIMAL
    assert result.award.tolist() == [1, 10, 10, 1]
    assert result.objective == 32
    assert result.details["method"] in METHODS[engine]


@pytest.mark.parametrize("rule", LEVEL_RULES)
def test_level_rules_with_highs_match_cp_sat(rule: Rule) -> None:
    # Every rule's exact value is 5.5 each (two members per row of 11): each row has 1 万元
    # left for one member. (6, 5, 5, 6) and (5, 6, 6, 5) both spend it. The rounding is the
    # quota method's, run step by step where rows short of room share a claim
    # (docs/fairness.md): no solver, so both engines give the same one.
    by_engine = {e: allocate(crossing(), rule, settings(e)) for e in Engine}
    for result in by_engine.values():
        assert result.status is Status.OPTIMAL
        assert result.award.tolist() in ([6, 5, 5, 6], [5, 6, 6, 5])
        assert result.details["remainder_method"] == "quota-steps"
        assert result.details["rounding_method"] == "quota"
        assert result.details["remainder"] == 2
        assert result.exact is not None
        assert result.exact.tolist() == [5.5] * 4
    cp_sat, highs = by_engine[Engine.CPSAT], by_engine[Engine.HIGHS]
    assert cp_sat.award.tolist() == highs.award.tolist()
    assert cp_sat.objective == highs.objective
    assert cp_sat.frozen_by == highs.frozen_by
    assert str(cp_sat.details["solver"]).startswith("CP-SAT ")
    assert str(highs.details["solver"]).startswith("HiGHS ")
    assert [name for name, _ in highs.phases] == ["filling", "quota"]


def crossed(n_firms: int, seed: int) -> Problem:
    """Firms × five clauses, firm caps crossing clause sub-budgets: many tied optima."""
    rng = np.random.default_rng(seed)
    per = 5
    n = n_firms * per
    upper = rng.choice([5, 10, 20, 50], n).astype(np.int64)
    firm_rows = {
        f"firm_cap[F{f}]": (range(f * per, (f + 1) * per), int(rng.choice([20, 40, 60])))
        for f in range(n_firms)
    }
    clause = np.tile(np.arange(per), n_firms)
    clause_rows = {
        f"sub_budget[{k}]": (
            np.flatnonzero(clause == k).tolist(),
            int(upper[clause == k].sum() * 0.35),
        )
        for k in range(per)
    }
    weight = rng.integers(1, 3, n).tolist()
    rows = [family(FIRM_CAP, firm_rows), family(SUB_BUDGET, clause_rows)]
    return problem(upper.tolist(), weight, int(upper.sum() * 0.4), rows)


@pytest.mark.parametrize("rule", list(Rule))
def test_both_engines_reach_the_same_optima_on_a_larger_crossing_problem(rule: Rule) -> None:
    p = crossed(30, seed=5)
    tie = p.size - p.rank
    cp_sat = allocate(p, rule, settings(Engine.CPSAT))
    highs = allocate(p, rule, settings(Engine.HIGHS))
    assert cp_sat.status is highs.status is Status.OPTIMAL
    assert cp_sat.objective == highs.objective
    assert int(cp_sat.award.sum()) == int(highs.award.sum())
    # Both objectives of the priority phases agree; the vectors may differ by tied swaps.
    assert int(tie @ cp_sat.award) == int(tie @ highs.award)
    for fam in p.families:
        for members, rhs in zip(fam.members, fam.rhs.tolist(), strict=True):
            assert int(highs.award[members].sum()) <= rhs


def test_highs_awards_repeat_whatever_the_thread_count() -> None:
    p = crossed(30, seed=5)
    awards = [allocate(p, Rule.PRIORITY, settings(Engine.HIGHS, w)).award for w in (1, 2, 1)]
    assert awards[0].tobytes() == awards[1].tobytes() == awards[2].tobytes()


def test_highs_reports_progress_per_phase() -> None:
    seen: list[str] = []
    allocate(
        crossing(),
        Rule.PRIORITY,
        settings(Engine.HIGHS),
        progress=lambda phase, incumbent, bound: seen.append(phase),
    )
    assert "priority" in seen
    assert "priority:tie-break" in seen


def test_the_highs_log_goes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    logged = SolverSettings(time_limit_s=20.0, workers=1, log_progress=True, solver=Engine.HIGHS)
    allocate(crossing(), Rule.PRIORITY, logged)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Running HiGHS" in err


def test_infeasible_under_highs_is_explained() -> None:
    # Firm F1 must not exceed 11 but a floor of 15 on its two claims asks for more.
    floor = Family(
        "district_floor",
        "test",
        ["district_floor[D]"],
        [np.asarray([0, 1], dtype=np.int64)],
        np.array([15], dtype=np.int64),
        ">=",
    )
    base = crossing()
    p = Problem(**{**base.__dict__, "families": [*base.families, floor]})
    result = allocate(p, Rule.PRIORITY, settings(Engine.HIGHS))
    assert result.status is Status.INFEASIBLE
    conflict = result.details["conflict"]
    assert isinstance(conflict, list)
    assert "firm_cap[F1]" in conflict
    assert "district_floor[D]" in conflict


# --------------------------------------------------------------------------- the shipped samples


def result_json(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("solver-choice")
    outs = {}
    for year, path in SCENARIOS.items():
        for engine in Engine:
            out = folder / f"{year}-{engine.value}"
            result = invoke("run", str(path), "--out", str(out), "--solver", engine.value, "-q")
            assert result.exit_code == 0, result.output
            outs[year, engine.value] = out
    return outs


@pytest.mark.slow
@pytest.mark.parametrize("year", list(SCENARIOS))
def test_samples_agree_under_both_engines(
    sample_runs: dict[tuple[str, str], Path], year: str
) -> None:
    cp_sat = result_json(sample_runs[year, "cpsat"])
    highs = result_json(sample_runs[year, "highs"])
    assert cp_sat["status"] == highs["status"] == "OPTIMAL"
    assert cp_sat["objective"] == highs["objective"]
    assert cp_sat["best_bound"] == highs["best_bound"]
    assert cp_sat["total_awarded_wan"] == highs["total_awarded_wan"]
    assert cp_sat["solver"]["solver"].startswith("CP-SAT ")
    assert highs["solver"]["solver"].startswith("HiGHS ")
    assert "--solver cpsat" in cp_sat["command"]
    assert "--solver highs" in highs["command"]

    compared = invoke("compare", str(sample_runs[year, "cpsat"]), str(sample_runs[year, "highs"]))
    assert compared.exit_code == 0, compared.output
    assert "objectives agree" in compared.stdout
    assert "objectives differ" not in compared.stdout


@pytest.mark.slow
def test_highs_checks_the_2025_sample_by_its_own_search(
    sample_runs: dict[tuple[str, str], Path],
) -> None:
    # The fund cap alone: CP-SAT's engine settles it with the exact greedy, HiGHS by branch and
    # bound, and the two independent methods pay every claim the same.
    cp_sat = result_json(sample_runs["2025", "cpsat"])
    highs = result_json(sample_runs["2025", "highs"])
    assert cp_sat["solver"]["method"] == "greedy"
    assert highs["solver"]["method"] == "highs"
    assert [name for name, _ in highs["timings"]["solve_phases"]] == [
        "priority",
        "priority:tie-break",
    ]
    first = (sample_runs["2025", "cpsat"] / "awards.csv").read_bytes()
    assert (sample_runs["2025", "highs"] / "awards.csv").read_bytes() == first


@pytest.mark.slow
def test_the_2026_sample_gives_the_same_bytes_with_either_engine_and_on_a_rerun(
    sample_runs: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    again = tmp_path / "again"
    result = invoke("run", str(SCENARIOS["2026"]), "--out", str(again), "--solver", "highs", "-q")
    assert result.exit_code == 0, result.output
    first = (sample_runs["2026", "highs"] / "awards.csv").read_bytes()
    assert (again / "awards.csv").read_bytes() == first
    # The remainder's optimum is unique on this sample: CP-SAT pays the same claims.
    assert (sample_runs["2026", "cpsat"] / "awards.csv").read_bytes() == first
    assert result_json(sample_runs["2026", "highs"])["solver"]["remainder_method"] == "highs"


@pytest.mark.slow
def test_both_engines_solve_the_2025_sample_with_crossing_budget_lines(tmp_path: Path) -> None:
    # A firm cap of 30万元 across budget lines for clauses 1 and 6: the rows cross, so the
    # priority phases go to the engine rather than to the greedy.
    body = yaml.safe_load(SCENARIOS["2025"].read_text(encoding="utf-8"))
    body["model"] = str((SCENARIOS["2025"].parent / body["model"]).resolve())
    body["data"] = str(SAMPLE)
    body["firm_cap_wan"] = 30
    body["sub_budgets"] = [
        {"name": "power", "clauses": ["1"], "budget_wan": 1500},
        {"name": "c6", "clauses": ["6"], "budget_wan": 400},
    ]
    path = tmp_path / "lines.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    docs = {}
    for engine in Engine:
        _, out = run_scenario(path, out_dir=tmp_path / engine.value, solver=engine)
        docs[engine] = result_json(out)
        assert docs[engine]["status"] == "OPTIMAL"
        assert docs[engine]["solver"]["method"] == engine.value
    cp_sat, highs = docs[Engine.CPSAT], docs[Engine.HIGHS]
    assert cp_sat["objective"] == highs["objective"]
    assert cp_sat["total_awarded_wan"] == highs["total_awarded_wan"] == 5000
    compared = invoke("compare", str(tmp_path / "cpsat"), str(tmp_path / "highs"))
    assert "objectives agree" in compared.stdout


# --------------------------------------------------------------------------- refusing an engine


def test_the_cli_refuses_an_unknown_solver(tmp_path: Path) -> None:
    result = invoke(
        "run", str(SCENARIOS["2026"]), "--out", str(tmp_path / "o"), "--solver", "gurobi"
    )
    assert result.exit_code == 2
    assert "gurobi" in result.stderr
    assert "'cpsat'" in result.stderr
    assert "'highs'" in result.stderr
    assert not (tmp_path / "o").exists()


def test_run_scenario_refuses_an_unknown_solver(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        run_scenario(SCENARIOS["2026"], out_dir=tmp_path / "o", solver="gurobi")
    assert str(caught.value.problems[0]) == (
        "the command line, key 'solver': expected 'cpsat' or 'highs' (found 'gurobi')"
    )
    assert not (tmp_path / "o").exists()


def write_scenario(tmp_path: Path, solver: dict[str, object]) -> Path:
    body = yaml.safe_load(SCENARIOS["2026"].read_text(encoding="utf-8"))
    body["model"] = str((SCENARIOS["2026"].parent / body["model"]).resolve())
    body["data"] = str(SAMPLE)
    body["solver"] = solver
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def test_the_scenario_key_chooses_the_engine(tmp_path: Path) -> None:
    assert load_scenario(write_scenario(tmp_path, {})).spec.solver.solver is Engine.CPSAT
    chosen = load_scenario(write_scenario(tmp_path, {"solver": "highs"})).spec.solver.solver
    assert chosen is Engine.HIGHS


@pytest.mark.parametrize("value", ["gurobi", "HiGHS", 1])
def test_the_scenario_key_is_validated(tmp_path: Path, value: object) -> None:
    path = write_scenario(tmp_path, {"solver": value})
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.key == "solver.solver"
    assert "'cpsat' or 'highs'" in problem.expected
    result = invoke("run", str(path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "key 'solver.solver'" in result.stderr


def test_the_command_line_overrides_the_scenario(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, {"solver": "highs", "time_limit_s": 30})
    result, out = run_scenario(path, out_dir=tmp_path / "o", solver="cpsat")
    assert result.solver_details["solver"] == result_json(out)["solver"]["solver"]
    assert str(result_json(out)["solver"]["solver"]).startswith("CP-SAT ")
    _, out = run_scenario(path, out_dir=tmp_path / "p")
    assert str(result_json(out)["solver"]["solver"]).startswith("HiGHS ")
