"""Why a scenario cannot be met, and what would make it feasible.

When the constraints of a scenario cannot all hold, a clerk needs three answers:

1. **Which constraints clash.** Every constraint row, no-duplicate group and all-or-nothing
   award gets an enforcement literal; CP-SAT solves under the assumption that all of them hold
   and, when it cannot, names a subset of the assumptions that already suffices for
   infeasibility, which is then shrunk by deletion (drop one row, solve again, keep it out if
   the rest is still infeasible). That search is :func:`allocator.solve.cpsat.explain_infeasible`;
   the fairness rule has usually run it already (``Allocation.details["conflict"]``), and this
   module reuses its answer rather than searching again.
2. **How much more money.** The fund cap is the row ``Σ award <= budget``, so the smallest
   budget under which everything else holds is ``min Σ award`` subject to every other row,
   an exact CP-SAT minimisation. The extra budget is that minimum less the budget; none when
   the rest clashes whatever the budget (a floor above a sub-budget, say).
3. **How far the floors would have to come down.** District floors are the only rows that
   force money out (every other row is satisfied by paying nothing), so every infeasibility
   involves a floor, and cutting floors always ends one. The smallest total cut is
   ``min Σ cut[d]`` subject to ``Σ award in d + cut[d] >= floor[d]`` and every other row at
   the current budget, again exact.

``docs/infeasibility.md`` explains the method with a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from allocator.inputs.choices import Rule
from allocator.inputs.scenario import Scenario
from allocator.model.build import Build
from allocator.model.problem import (
    ALL_OR_NOTHING,
    DISTRICT_FLOOR,
    FUND_CAP,
    NO_DUPLICATE,
    IntArray,
    Problem,
    SolverSettings,
    Status,
)
from allocator.solve import cpsat
from allocator.solve.floors import resolve_exclusive

# How the ``district_floor`` rows are labelled by allocator.model.build.
FLOOR_LABEL = DISTRICT_FLOOR + "[{}]"


@dataclass(frozen=True)
class ConflictRow:
    """One constraint of the conflicting set.

    Attributes
    ----------
    row:
        The row's label, as in ``constraints.csv`` (``district_floor[柳南区]``), or
        ``all_or_nothing[<recipient>/<clause>/<item>]`` for an indivisible award.
    family:
        ``fund_cap``, ``sub_budget``, ``district_floor``, ``all_or_nothing`` ...
    clause_id:
        The clause stating the rule, or ``scenario``.
    sense:
        ``<=``, ``>=``, or ``in`` for an all-or-nothing award (0 or its whole amount).
    rhs_wan:
        The bound in 万元 (the whole amount for an all-or-nothing award; 1 recipient paid for
        a no-duplicate group, where it counts awards rather than money).
    clauses:
        Clause ids of the awards the row holds, in document order.
    note:
        Anything the row alone tells (a floor over a district without claims).
    """

    row: str
    family: str
    clause_id: str
    sense: str
    rhs_wan: int
    clauses: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class FloorCut:
    """How far one district floor comes down in the smallest total cut."""

    row: str
    floor_wan: int
    cut_wan: int

    @property
    def relaxed_wan(self) -> int:
        return self.floor_wan - self.cut_wan


@dataclass(frozen=True)
class Diagnosis:
    """What makes a scenario infeasible and the least change that would make it feasible.

    Attributes
    ----------
    conflict_status:
        ``INFEASIBLE`` when the conflicting set is proven, ``UNKNOWN`` when the search ran out
        of time (``conflict`` then holds only what is evident without it).
    conflict:
        The conflicting rows: together they cannot hold; shrunk by deletion, so dropping any
        one of them lets the others hold when the set has at most 40 rows.
    evident:
        Reasons found before solving (floors above the claims or the budget).
    budget_wan:
        The scenario's budget.
    min_budget_wan:
        The smallest budget under which every other row holds (proven when
        ``budget_status`` is ``OPTIMAL``; an upper bound when ``FEASIBLE``); None when no
        budget is enough (``INFEASIBLE``) or none was found in time (``UNKNOWN``).
    budget_bound_wan:
        A proven lower bound on that budget (equal to it when proven).
    document_cap_wan:
        The document's fund cap, if it states one.
    floor_cuts:
        Per floor row, its cut in the smallest total cut of the floors at the current budget.
    floors_status:
        ``OPTIMAL`` when the total cut is proven smallest, ``FEASIBLE`` when it is only an
        upper bound, ``UNKNOWN`` when none was found in time; empty when there are no floors.
    """

    conflict_status: Status
    conflict: list[ConflictRow]
    evident: list[str]
    budget_wan: int
    min_budget_wan: int | None
    budget_bound_wan: int | None
    budget_status: Status
    document_cap_wan: int | None = None
    floor_cuts: list[FloorCut] = field(default_factory=list)
    floors_status: str = ""

    @property
    def extra_budget_wan(self) -> int | None:
        """The smallest addition to the budget that makes the scenario feasible, or None."""
        if self.min_budget_wan is None:
            return None
        return max(self.min_budget_wan - self.budget_wan, 0)

    @property
    def floor_cut_wan(self) -> int | None:
        """The smallest total cut of the floors, or None without floors or a solution."""
        if not self.floor_cuts or self.floors_status not in ("OPTIMAL", "FEASIBLE"):
            return None
        return sum(c.cut_wan for c in self.floor_cuts)

    def families(self) -> list[dict[str, Any]]:
        """The conflicting rows grouped by family, in the order they first appear."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.conflict:
            entry = out.setdefault(r.family, {"family": r.family, "clause_ids": [], "rows": []})
            if r.clause_id not in entry["clause_ids"]:
                entry["clause_ids"].append(r.clause_id)
            entry["rows"].append(r.row)
        return list(out.values())

    def to_json(self) -> dict[str, Any]:
        """The content of ``result.json``'s ``diagnosis``."""
        return {
            "conflict_status": self.conflict_status.value,
            "families": self.families(),
            "conflict": [
                {
                    "row": r.row,
                    "family": r.family,
                    "clause_id": r.clause_id,
                    "sense": r.sense,
                    "rhs_wan": r.rhs_wan,
                    "clauses": list(r.clauses),
                    "note": r.note,
                }
                for r in self.conflict
            ],
            "evident": list(self.evident),
            "budget_wan": self.budget_wan,
            "min_budget_wan": self.min_budget_wan,
            "budget_bound_wan": self.budget_bound_wan,
            "budget_status": self.budget_status.value,
            "extra_budget_wan": self.extra_budget_wan,
            "document_fund_cap_wan": self.document_cap_wan,
            "floors": [
                {
                    "row": c.row,
                    "floor_wan": c.floor_wan,
                    "cut_wan": c.cut_wan,
                    "relaxed_wan": c.relaxed_wan,
                }
                for c in self.floor_cuts
            ],
            "floors_status": self.floors_status,
            "floor_cut_wan": self.floor_cut_wan,
        }

    def lines(self) -> list[str]:
        """The diagnosis as lines of text for stderr."""
        out = ["diagnosis:"]
        if self.conflict:
            what = (
                "conflicting constraints"
                if self.conflict_status is Status.INFEASIBLE
                else "constraints that cannot hold (the search for the rest ran out of time)"
            )
            out.append(f"  {what}:")
            for fam in self.families():
                rows = [r for r in self.conflict if r.family == fam["family"]]
                shown = ", ".join(_row_text(r) for r in rows[:6])
                if len(rows) > 6:
                    shown += f", and {len(rows) - 6} more"
                clauses = ", ".join(fam["clause_ids"])
                out.append(f"    {fam['family']} (clause {clauses}): {shown}")
        elif self.conflict_status is Status.UNKNOWN:
            out.append("  no conflicting set found within the time limit")
        extra = self.extra_budget_wan
        if extra is not None and self.budget_status is Status.OPTIMAL:
            out.append(
                f"  extra budget needed: {extra}万元 (the smallest budget meeting every other "
                f"constraint is {self.min_budget_wan}万元, against {self.budget_wan}万元)"
            )
        elif extra is not None:
            out.append(
                f"  extra budget needed: at most {extra}万元 (budget {self.min_budget_wan}万元 "
                f"suffices; at least {self.budget_bound_wan}万元 is needed; not proven in time)"
            )
        elif self.budget_status is Status.INFEASIBLE:
            out.append("  extra budget needed: none would do; the other constraints clash anyway")
        else:
            out.append("  extra budget needed: not found within the time limit")
        cap = self.document_cap_wan
        if cap is not None and self.min_budget_wan is not None and self.min_budget_wan > cap:
            out.append(
                f"    (above the document's fund cap of {cap}万元: the scenario would need "
                "allow_budget_above_document_cap: true)"
            )
        total = self.floor_cut_wan
        if total is not None:
            cuts = ", ".join(
                f"{c.row} {c.floor_wan} -> {c.relaxed_wan}万元"
                for c in self.floor_cuts
                if c.cut_wan > 0
            )
            proven = "" if self.floors_status == "OPTIMAL" else " (not proven smallest in time)"
            out.append(f"  or lower the district floors by {total}万元 in all{proven}: {cuts}")
        return out


def _row_text(r: ConflictRow) -> str:
    if r.sense == "in":
        return f"{r.row} (0 or {r.rhs_wan}万元)"
    unit = "" if r.family == NO_DUPLICATE else "万元"
    text = f"{r.row} {r.sense} {r.rhs_wan}{unit}"
    if r.family in ("sub_budget", "provincial") and r.clauses:
        text += f" (awards of clauses {', '.join(r.clauses)})"
    if r.note:
        text += f" ({r.note})"
    return text


# --------------------------------------------------------------------------------------------
# Entry points


def diagnose(
    build: Build,
    scenario: Scenario,
    settings: SolverSettings,
    *,
    solver_details: Mapping[str, object] | None = None,
) -> Diagnosis:
    """Diagnose an infeasible run: the clashing rows, the extra budget, the floor cut.

    Parameters
    ----------
    build:
        The built problem of the run.
    scenario:
        The scenario (its fairness rule and district floors).
    settings:
        Solver settings; each of the (at most three) searches gets ``time_limit_s``.
    solver_details:
        What the fairness rule reported; its ``conflict`` rows are reused when present.

    Returns
    -------
    Diagnosis
    """
    labels = {label for fam in build.problem.families for label in fam.labels}
    # A floor over a district without a single payable claim has no row in the problem (it
    # would have no members); it clashes on its own.
    empty_floors = {
        FLOOR_LABEL.format(d): v
        for d, v in scenario.district_floors.items()
        if v > 0 and FLOOR_LABEL.format(d) not in labels
    }
    conflict = (solver_details or {}).get("conflict")
    known = [str(x) for x in conflict] if isinstance(conflict, list | tuple) and conflict else None
    return diagnose_problem(
        build.problem,
        scenario.fairness.rule,
        settings,
        conflict=known,
        empty_floors=empty_floors,
        evident=build.infeasible,
        document_cap_wan=build.budget.document_cap_wan,
    )


def diagnose_problem(
    problem: Problem,
    rule: Rule,
    settings: SolverSettings,
    *,
    conflict: Sequence[str] | None = None,
    empty_floors: Mapping[str, int] | None = None,
    evident: Sequence[str] = (),
    document_cap_wan: int | None = None,
) -> Diagnosis:
    """Diagnose an infeasible problem (see the module's docstring).

    Parameters
    ----------
    problem:
        The allocation problem; its fund-cap row is ``Σ award <= problem.budget``.
    rule:
        The fairness rule. The level rules settle each no-duplicate group on its largest
        claim before they share the budget, so their feasible set, and the diagnosis, are
        taken with the other members of each group at 0, as the rule takes them.
    settings:
        Solver settings (seed; ``time_limit_s`` per search).
    conflict:
        Labels of a conflicting set already found (``Allocation.details["conflict"]``); found
        here when not given.
    empty_floors:
        Floors the problem has no row for, as ``{label: floor}``: districts without a claim.
    evident:
        Reasons found before solving, reported as they are.
    document_cap_wan:
        The document's fund cap, to say when the budget needed exceeds it.

    Returns
    -------
    Diagnosis
    """
    empty = dict(empty_floors or {})
    upper = _rule_upper(problem, rule)
    info = _row_info(problem)
    status = Status.INFEASIBLE
    if conflict is None:
        found = cpsat.explain_infeasible(
            problem, settings, upper=upper, time_limit=settings.time_limit_s
        )
        conflict = found.labels
        # A model that holds has no conflict to name; only a floor without claims (below)
        # then makes the scenario infeasible.
        status = Status.UNKNOWN if found.status is Status.OPTIMAL else found.status
    rows = [info[label] for label in conflict if label in info]
    rows += [
        ConflictRow(label, DISTRICT_FLOOR, "scenario", ">=", floor, (), "no claim in the district")
        for label, floor in empty.items()
    ]
    if empty:
        status = Status.INFEASIBLE

    least, bound, budget_status = _least_budget(problem, upper, settings, bool(empty))
    cuts, floors_status = _least_floor_cut(problem, upper, settings, empty)
    return Diagnosis(
        conflict_status=status,
        conflict=rows,
        evident=list(evident),
        budget_wan=problem.budget,
        min_budget_wan=least,
        budget_bound_wan=bound,
        budget_status=budget_status,
        document_cap_wan=document_cap_wan,
        floor_cuts=cuts,
        floors_status=floors_status,
    )


# --------------------------------------------------------------------------------------------
# The pieces


def _rule_upper(problem: Problem, rule: Rule) -> IntArray:
    """Upper bounds as the rule sees them (see :func:`diagnose_problem`)."""
    upper = problem.upper.astype(np.int64)
    if rule is Rule.PRIORITY:
        return upper
    # The rule's own settling of the groups, not a copy that could drift from it: the
    # diagnosis must see the feasible set the rule sees.
    excluded, _ = resolve_exclusive(problem)
    return np.where(excluded, 0, upper).astype(np.int64)


def _row_info(problem: Problem) -> dict[str, ConflictRow]:
    """Every label an explanation can name, with what the reader needs to know of it."""
    clause = (
        problem.claims["clause_id"].astype(str).to_numpy(dtype=object)
        if "clause_id" in problem.claims.columns and len(problem.claims) == problem.size
        else np.full(problem.size, "", dtype=object)
    )
    order = {c: n for n, c in enumerate(dict.fromkeys(clause.tolist()))}

    def clauses(members: IntArray) -> tuple[str, ...]:
        found = {str(c) for c in clause[members].tolist() if c}
        return tuple(sorted(found, key=lambda c: order[c]))

    out: dict[str, ConflictRow] = {}
    for fam in problem.families:
        for label, members, rhs in zip(fam.labels, fam.members, fam.rhs.tolist(), strict=True):
            out[label] = ConflictRow(
                label, fam.name, fam.clause_id, fam.sense, int(rhs), clauses(members)
            )
    for members, label, cid in zip(
        problem.exclusive, problem.exclusive_labels, problem.exclusive_clause_ids, strict=True
    ):
        out[label] = ConflictRow(label, NO_DUPLICATE, cid, "<=", 1, clauses(members))
    names = cpsat.claim_labels(problem)
    for i in np.flatnonzero(problem.all_or_nothing).tolist():
        label = f"{ALL_OR_NOTHING}[{names[i]}]"
        one = np.array([i], dtype=np.int64)
        out[label] = ConflictRow(
            label,
            ALL_OR_NOTHING,
            str(clause[i]) or ALL_OR_NOTHING,
            "in",
            int(problem.upper[i]),
            clauses(one),
        )
    return out


def _solve_exact(
    model: cpsat.Model, settings: SolverSettings, phase: str
) -> tuple[cp_model.CpSolver, Status]:
    """Solve on one worker with a deterministic limit: the same inputs, the same answer."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = settings.seed
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    solver.parameters.max_deterministic_time = max(1.0, settings.time_limit_s)
    code = cpsat.run_solver(solver, model.cp)
    if code == cp_model.MODEL_INVALID:  # pragma: no cover - a bug, not an input problem
        raise RuntimeError(f"CP-SAT rejected the {phase} model: {model.cp.validate()}")
    return solver, _STATUS.get(code, Status.UNKNOWN)


_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
}


def _least_budget(
    problem: Problem, upper: IntArray, settings: SolverSettings, hopeless: bool
) -> tuple[int | None, int | None, Status]:
    """``min Σ award`` subject to every row but the fund cap: the least budget that works.

    Returns the least budget (an upper bound when not proven), a proven lower bound, and the
    status of the search.
    """
    if hopeless:  # a floor over a district without claims: no budget meets it
        return None, None, Status.INFEASIBLE
    rest = replace(problem, families=[f for f in problem.families if f.name != FUND_CAP])
    model = cpsat.build(rest, None, upper)
    expr, const = model.linear(np.ones(problem.size, dtype=np.int64))
    model.cp.minimize(expr)
    solver, status = _solve_exact(model, settings, "least budget")
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return None, None, status
    value = round(solver.objective_value) + const
    # The bound of an integer objective rounds up: no budget below it can work.
    bound = math.ceil(solver.best_objective_bound - 1e-6) + const
    return value, min(bound, value), status


def _least_floor_cut(
    problem: Problem, upper: IntArray, settings: SolverSettings, empty: Mapping[str, int]
) -> tuple[list[FloorCut], str]:
    """``min Σ cut`` with ``Σ award in d + cut[d] >= floor[d]``, every other row as it is.

    A floor over a district without claims comes down all the way. Among the equally small
    cuts, the one reported is the one-worker search's, the same for the same inputs.
    """
    floors = [f for f in problem.families if f.name == DISTRICT_FLOOR]
    if not floors and not empty:
        return [], ""
    rest = replace(problem, families=[f for f in problem.families if f.name != DISTRICT_FLOOR])
    model = cpsat.build(rest, None, upper)
    rows: list[tuple[str, int, cp_model.IntVar]] = []
    for fam in floors:
        for label, members, rhs in zip(fam.labels, fam.members, fam.rhs.tolist(), strict=True):
            coef = np.zeros(problem.size, dtype=np.int64)
            coef[members] = 1
            expr, const = model.linear(coef)
            cut = model.cp.new_int_var(0, int(rhs), f"cut[{label}]")
            total = cp_model.LinearExpr.sum([expr, cut])
            model.cp.add(total >= int(rhs) - const).with_name(label)
            rows.append((label, int(rhs), cut))
    status = Status.OPTIMAL
    cut_of: dict[str, int] = {}
    if rows:
        model.cp.minimize(cp_model.LinearExpr.sum([cut for _, _, cut in rows]))
        solver, status = _solve_exact(model, settings, "floor cut")
        if status in (Status.OPTIMAL, Status.FEASIBLE):
            cut_of = {label: int(solver.value(cut)) for label, _, cut in rows}
    # Without a solution every floor keeps its full height as the "cut": unknown, not zero.
    out = [FloorCut(label, floor, cut_of.get(label, floor)) for label, floor, _ in rows]
    out += [FloorCut(label, floor, floor) for label, floor in empty.items()]
    return out, status.value


__all__ = ["ConflictRow", "Diagnosis", "FloorCut", "diagnose", "diagnose_problem"]
