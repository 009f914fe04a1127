"""The crossing family (``random_problem`` of benchmarks/baselines.py) under both engines.

District sub-budgets, per-firm caps, no-duplicate groups and all-or-nothing items, with
floors on three districts: the structure where the priority rule needs a search. Whichever
engine proves the weights' and the tie-break's optima, the canonical pick
(:func:`allocator.solve.search.canonical_pick`) must hand out the same awards, with any
number of workers. Limits are generous and never asserted on: a proof is what is checked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from allocator.inputs.choices import Engine, Rule
from allocator.model.problem import Problem, SolverSettings, Status
from allocator.solve import fixing
from allocator.solve.greedy import rank_coefficients
from allocator.solve.rules import allocate

REPO = Path(__file__).resolve().parents[1]


def _baselines() -> ModuleType:
    """benchmarks/baselines.py, which is not part of the package (it imports PuLP)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from benchmarks import baselines

    return baselines


def crossing(n_vars: int, seed: int) -> Problem:
    problem: Problem = _baselines().random_problem(n_vars, seed)
    return problem


def meets_every_constraint(problem: Problem, award: np.ndarray) -> bool:
    for fam in problem.families:
        for members, rhs in zip(fam.members, fam.rhs.tolist(), strict=True):
            total = int(award[members].sum())
            if (fam.sense == "<=" and total > rhs) or (fam.sense == ">=" and total < rhs):
                return False
    aon = problem.all_or_nothing
    if bool(((award != 0) & (award != problem.upper) & aon).any()):
        return False
    return all(int((award[m] > 0).sum()) <= 1 for m in problem.exclusive)


@pytest.mark.parametrize(("n_vars", "seed"), [(200, 1), (500, 4), (2_000, 0)])
def test_both_engines_give_the_same_awards(n_vars: int, seed: int) -> None:
    problem = crossing(n_vars, seed)
    runs = {
        (engine, workers): allocate(
            problem,
            Rule.PRIORITY,
            SolverSettings(time_limit_s=120.0, workers=workers, seed=0, solver=engine),
        )
        for engine in (Engine.CPSAT, Engine.HIGHS)
        for workers in (1, 2)
    }
    tie = rank_coefficients(problem)
    first = runs[(Engine.CPSAT, 2)]
    assert meets_every_constraint(problem, first.award)
    for (engine, workers), run in runs.items():
        assert run.status is Status.OPTIMAL, (engine, workers, run.details)
        assert int(problem.weight @ run.award) == int(problem.weight @ first.award)
        assert int(tie @ run.award) == int(tie @ first.award)
        assert run.award.tolist() == first.award.tolist(), (engine, workers)
    assert runs[(Engine.HIGHS, 2)].details["method"] == "highs"


def test_at_scale_the_bound_proves_the_rounded_lp_solution() -> None:
    # 4,000 claims with the blocks too many for one CP-SAT model (as from about 20,000):
    # every row relaxed, the groups bounded in closed form. The LP's solution, rounded down
    # and filled greedily, meets the bound in both phases, so the weights and the tie-break
    # need no search at all, and the canonical pick searches a small part of the claims.
    problem = crossing(4_000, 0)
    settings = SolverSettings(time_limit_s=120.0, workers=2, seed=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fixing, "_BLOCK_LIMIT", 0)
        run = allocate(problem, Rule.PRIORITY, settings)
    assert run.status is Status.OPTIMAL
    searched = run.details["searched"]
    assert isinstance(searched, dict)
    assert "priority" not in searched
    assert "priority:tie-break" not in searched
    assert searched.get("priority:canonical", 0) <= problem.size // 4, searched
    highs = allocate(
        problem, Rule.PRIORITY, SolverSettings(time_limit_s=120.0, solver=Engine.HIGHS)
    )
    assert highs.status is Status.OPTIMAL
    assert int(problem.weight @ run.award) == int(problem.weight @ highs.award)
    tie = rank_coefficients(problem)
    assert int(tie @ run.award) == int(tie @ highs.award)
