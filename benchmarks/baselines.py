"""Plain baselines for the solver benchmark, and the random instances they run on.

``pulp_priority`` writes the priority model the way an analyst would without allocate: one PuLP
variable per claim in a Python loop (``prob.add_variable``, PuLP 3's spelling), one ``lpSum``
per constraint row, CBC through PuLP. It is neither slowed down nor sped up; it is the
yardstick the timings in docs/solvers.md compare against. PuLP is a development dependency
only and is never imported from ``src/``.

Run ``python benchmarks/baselines.py --n-vars 500000`` to reproduce the table in
docs/solvers.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from allocator.model.problem import (
    DISTRICT_CAP,
    DISTRICT_FLOOR,
    FIRM_CAP,
    FUND_CAP,
    Family,
    IntArray,
    Problem,
    Status,
)

N_DISTRICTS = 12
FIRM_CAP_WAN = 400
FUND_SHARE = 0.35  # the fund covers about a third of all claims
DISTRICT_CAP_SHARE = 0.5
DISTRICT_FLOOR_SHARE = 0.15
N_FLOORED_DISTRICTS = 3
CLAUSES = ("c1", "c2", "c3", "c4", "c5", "c6")
CLAUSE_SHARE = (0.30, 0.20, 0.20, 0.15, 0.10, 0.05)
CLAUSE_WEIGHT = (5, 4, 3, 3, 2, 1)
EXCLUSIVE_CLAUSES = (0, 1)  # a firm receives c1 or c2, not both
AON_CLAUSE = 5  # c6 pays a fixed amount or nothing
AON_AMOUNTS = (50, 100, 200)
INDUSTRIES = ("汽车", "机械", "冶金", "化工", "电子", "食品")


def _split(values: IntArray, keys: IntArray) -> tuple[IntArray, list[IntArray]]:
    """Group ``values`` by ``keys``: the distinct keys and one index array per key."""
    order = np.argsort(keys, kind="stable")
    distinct, first = np.unique(keys[order], return_index=True)
    return distinct, np.split(values[order], first[1:])


def random_problem(n_vars: int, seed: int) -> Problem:
    """A random priority problem shaped like a city's quarterly subsidy round.

    About four claims per firm, each under one of six clauses (weights 5, 4, 3, 3, 2, 1);
    claims of 1-300 万元; clause c6 pays a fixed 50, 100 or 200 万元 or nothing; a firm holding
    claims under both c1 and c2 may receive only one of them; firms are spread over 12
    districts. Constraints: the fund cap (35 % of all claims), a 400 万元 cap on every firm
    whose claims exceed it, a cap of half its claims on every district and a floor of 15 % of
    its claims on three districts.

    Parameters
    ----------
    n_vars:
        Number of variables (claims).
    seed:
        Seed of the generator; the same seed gives the same problem.

    Returns
    -------
    Problem
        With a claims table holding the required columns.
    """
    rng = np.random.default_rng(seed)
    n_firms = max(1, n_vars // 4)
    firm = rng.integers(0, n_firms, n_vars)
    firm_district = rng.integers(0, N_DISTRICTS, n_firms)
    district = firm_district[firm]
    clause = rng.choice(len(CLAUSES), size=n_vars, p=CLAUSE_SHARE)
    aon = clause == AON_CLAUSE
    upper = rng.integers(1, 301, n_vars).astype(np.int64)
    upper[aon] = rng.choice(AON_AMOUNTS, size=int(aon.sum()))
    weight = np.asarray(CLAUSE_WEIGHT, dtype=np.int64)[clause]
    rank = rng.permutation(n_vars).astype(np.int64)
    index = np.arange(n_vars, dtype=np.int64)

    exclusive_pool = np.isin(clause, EXCLUSIVE_CLAUSES)
    group_firms, groups = _split(index[exclusive_pool], firm[exclusive_pool])
    keep = [k for k, g in enumerate(groups) if len(g) > 1]
    exclusive = [groups[k] for k in keep]
    exclusive_labels = [f"no_duplicate[c1|c2][F{group_firms[k]:06d}]" for k in keep]

    firm_claims = np.bincount(firm, weights=upper, minlength=n_firms)
    capped = firm_claims[firm] > FIRM_CAP_WAN
    capped_firms, firm_members = _split(index[capped], firm[capped])
    district_claims = np.bincount(district, weights=upper, minlength=N_DISTRICTS)
    district_members = _split(index, district)[1]
    floored = np.arange(N_FLOORED_DISTRICTS)
    budget = int(FUND_SHARE * upper.sum())
    families = [
        Family(FUND_CAP, "scenario", ["fund_cap"], [index], np.array([budget]), "<="),
        Family(
            FIRM_CAP,
            "scenario",
            [f"firm_cap[F{f:06d}]" for f in capped_firms],
            firm_members,
            np.full(len(firm_members), FIRM_CAP_WAN, dtype=np.int64),
            "<=",
        ),
        Family(
            DISTRICT_CAP,
            "scenario",
            [f"district_cap[D{d:02d}]" for d in range(N_DISTRICTS)],
            district_members,
            np.floor(DISTRICT_CAP_SHARE * district_claims).astype(np.int64),
            "<=",
        ),
        Family(
            DISTRICT_FLOOR,
            "scenario",
            [f"district_floor[D{d:02d}]" for d in floored],
            [district_members[d] for d in floored],
            np.floor(DISTRICT_FLOOR_SHARE * district_claims[floored]).astype(np.int64),
            ">=",
        ),
    ]

    firm_ids = pd.Index([f"F{f:06d}" for f in range(n_firms)])
    firm_names = pd.Categorical.from_codes(firm, categories=firm_ids)
    claims = pd.DataFrame(
        {
            "recipient_id": firm_names,
            "recipient_name": firm_names,
            "recipient_kind": "enterprise",
            "district": pd.Categorical.from_codes(
                district, categories=pd.Index([f"D{d:02d}" for d in range(N_DISTRICTS)])
            ),
            "industry": pd.Categorical.from_codes(
                firm % len(INDUSTRIES), categories=pd.Index(INDUSTRIES)
            ),
            "clause_id": pd.Categorical.from_codes(clause, categories=pd.Index(CLAUSES)),
            "item_key": "main",
            "claim_wan": upper,
        }
    )
    return Problem(
        claims=claims,
        upper=upper,
        weight=weight,
        rank=rank,
        all_or_nothing=aon,
        exclusive=exclusive,
        exclusive_labels=exclusive_labels,
        exclusive_clause_ids=["scenario"] * len(exclusive),
        families=families,
        budget=budget,
    )


def pulp_priority(
    problem: Problem,
    time_limit: float,
    *,
    timings: dict[str, float] | None = None,
    tie_break: bool = False,
) -> tuple[float, float, Status]:
    """The priority objective as PuLP and CBC find it, written plainly.

    Parameters
    ----------
    problem:
        The allocation problem.
    time_limit:
        Seconds CBC may run, over both phases (model building and file writing come on top).
    timings:
        If given, receives ``build`` (the PuLP model in Python) and ``solve`` (writing the
        MPS file, CBC, reading the solution back) in seconds; with ``tie_break``, also
        ``priority`` and ``tie_break``, the seconds of each phase's solve.
    tie_break:
        Also run the priority rule's second phase, as :mod:`allocator.solve.rules` does: with
        ``Σ weight·x`` held at its optimum, maximise ``Σ (n − rank)·x``, so that lower ranks
        are served first. Without it the answer is any optimum of the first phase.

    Returns
    -------
    tuple[float, float, Status]
        ``sum(weight * x)`` of CBC's solution (NaN without one), the wall-clock seconds from
        the first variable to the solution read back, and the status.
    """
    started = time.perf_counter()
    upper = problem.upper.tolist()
    weight = problem.weight.tolist()
    aon = problem.all_or_nothing.tolist()
    prob = pulp.LpProblem("priority", pulp.LpMaximize)
    x = [
        prob.add_variable(f"x_{i}", lowBound=0, upBound=upper[i], cat=pulp.LpInteger)
        for i in range(problem.size)
    ]
    prob += pulp.lpSum(weight[i] * x[i] for i in range(problem.size))

    for family in problem.families:
        for label, members, rhs in zip(
            family.labels, family.members, family.rhs.tolist(), strict=True
        ):
            row = pulp.lpSum(x[i] for i in members.tolist())
            prob += (row <= rhs) if family.sense == "<=" else (row >= rhs), label

    b: dict[int, pulp.LpVariable] = {}
    in_group = {i for group in problem.exclusive for i in group.tolist()}
    for i in range(problem.size):
        if aon[i] or i in in_group:
            b[i] = prob.add_variable(f"b_{i}", cat=pulp.LpBinary)
            if aon[i]:
                prob += x[i] == upper[i] * b[i]
            else:
                prob += x[i] <= upper[i] * b[i]
    for label, group in zip(problem.exclusive_labels, problem.exclusive, strict=True):
        prob += pulp.lpSum(b[i] for i in group.tolist()) <= 1, label

    built = time.perf_counter()
    with warnings.catch_warnings():
        # PuLP 3 announces that PULP_CBC_CMD, its bundled CBC, goes away in PuLP 4.
        warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    prob.solve(solver)
    first = time.perf_counter()
    if tie_break and prob.sol_status == pulp.LpSolutionOptimal:
        best = round(pulp.value(prob.objective))
        prob += pulp.lpSum(weight[i] * x[i] for i in range(problem.size)) >= best, "optimum"
        rank = problem.rank.tolist()
        n = problem.size
        prob.setObjective(pulp.lpSum((n - rank[i]) * x[i] for i in range(n)))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "PULP_CBC_CMD is deprecated", DeprecationWarning)
            left = max(1.0, time_limit - (first - built))
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=left)
        prob.solve(solver)
    seconds = time.perf_counter() - started
    if timings is not None:
        timings["build"] = built - started
        timings["solve"] = seconds - timings["build"]
        if tie_break:
            timings["priority"] = first - built
            timings["tie_break"] = started + seconds - first

    if prob.sol_status == pulp.LpSolutionOptimal:
        status = Status.OPTIMAL
    elif prob.sol_status == pulp.LpSolutionIntegerFeasible:
        status = Status.FEASIBLE
    elif prob.sol_status == pulp.LpSolutionInfeasible:
        status = Status.INFEASIBLE
    else:
        status = Status.UNKNOWN
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        award = np.array([round(v.varValue or 0.0) for v in x], dtype=np.int64)
        return float(problem.weight @ award), seconds, status
    return float("nan"), seconds, status


def _main() -> None:
    from allocator.model.problem import SolverSettings
    from allocator.solve.highs import lp_relaxation, solve_priority

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-vars", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-pulp", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    problem = random_problem(args.n_vars, args.seed)
    generated = time.perf_counter() - t0
    rows = sum(len(f.rhs) for f in problem.families)
    print(
        f"instance: {problem.size} variables, {int(problem.all_or_nothing.sum())} all-or-nothing, "
        f"{len(problem.exclusive)} exclusive groups, {rows} family rows, budget {problem.budget} "
        f"万元 (generated in {generated:.1f} s)"
    )
    settings = SolverSettings(time_limit_s=args.time_limit, workers=args.workers, seed=0)

    bound, seconds = lp_relaxation(problem, settings)
    print(f"HiGHS LP relaxation: bound {bound:.2f}, {seconds:.2f} s")
    for tie_break in (False, True):
        alloc = solve_priority(problem, settings, tie_break=tie_break)
        total = sum(s for _, s in alloc.phases)
        phases = ", ".join(f"{name} {s:.2f} s" for name, s in alloc.phases)
        print(
            f"HiGHS MIP (tie-break {'on' if tie_break else 'off'}): {alloc.status}, objective "
            f"{alloc.objective:.0f}, bound {alloc.best_bound:.2f}, {total:.2f} s ({phases})"
        )
    if not args.skip_pulp:
        timings: dict[str, float] = {}
        objective, seconds, status = pulp_priority(problem, args.time_limit, timings=timings)
        print(
            f"PuLP/CBC: {status}, objective {objective:.0f}, {seconds:.2f} s (PuLP model "
            f"{timings['build']:.2f} s, MPS file + CBC + solution {timings['solve']:.2f} s)"
        )


if __name__ == "__main__":
    _main()
