"""The allocation problem: what the solver sees, and what it returns.

:class:`Problem` is built from the claims table and the scenario (``allocator.model.build``) and
solved under a fairness rule (``allocator.solve.rules``). It holds one variable per eligible claim
with a positive amount; ineligible pairs never become variables. Every constraint belongs to a
named :class:`Family` that records the clause or rule it comes from, so the constraint report
and every "why below claim" can point at the text.

All money is whole 万元 (``int64``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.choices import Engine, Rule
from allocator.model.rows import RowMatrix, row_matrix

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: ``fairness.rounding`` of the scenario (docs/fairness.md, "Whole 万元").
Rounding = Literal["spend_all", "floor_each"]
#: ``fairness.one_offs`` of the scenario (docs/fairness.md, "All-or-nothing items").
OneOffs = Literal["compete", "first"]


#: ``progress(phase, incumbent, bound)``, called as a solve finds better allocations.
ProgressFn = Callable[[str, float, float], None]


class Status(StrEnum):
    """Outcome of a solve, named as CP-SAT names it."""

    OPTIMAL = "OPTIMAL"  # proven optimal under the rule
    FEASIBLE = "FEASIBLE"  # within every constraint, optimality not proven in the time limit
    INFEASIBLE = "INFEASIBLE"  # the constraints cannot all be met
    UNKNOWN = "UNKNOWN"  # no feasible allocation found within the time limit


# Family names. A family is a set of rows of the same kind; its rows carry their own labels.
FUND_CAP = "fund_cap"  # sum of all awards <= budget
SUB_BUDGET = "sub_budget"  # sum of awards of a clause or group of clauses <= its sub-budget
FIRM_CAP = "firm_cap"  # sum of awards of one recipient <= the per-firm cap
DISTRICT_CAP = "district_cap"  # sum of awards in one district <= its cap
DISTRICT_FLOOR = "district_floor"  # sum of awards in one district >= its floor
PROVINCIAL = "provincial"  # several stacking city items of one provincial type, better_of
# Not rows of a family, but named as families where a conflict or a "why" reports them.
NO_DUPLICATE = "no_duplicate"  # at most one member of an exclusive group is paid
ALL_OR_NOTHING = "all_or_nothing"  # an indivisible item: 0 or the whole claim


@dataclass(frozen=True)
class Family:
    """A named family of linear constraints ``sum(x[members[k]]) <sense> rhs[k]``.

    Attributes
    ----------
    name:
        Family name, one of the constants above (``fund_cap``, ``sub_budget`` ...).
    clause_id:
        Clause or rule of the policy model that states the constraint (``"18"`` for the 2025
        fund cap), or ``"scenario"`` when only the scenario sets it.
    labels:
        One per row, unique across the problem: ``fund_cap``, ``district_cap[柳南区]``.
    members:
        One index array per row, into the problem's claim vector.
    rhs:
        Right-hand side per row, whole 万元.
    sense:
        ``"<="`` for caps and budgets, ``">="`` for floors.
    """

    name: str
    clause_id: str
    labels: list[str]
    members: list[IntArray]
    rhs: IntArray
    sense: Literal["<=", ">="]

    def __post_init__(self) -> None:
        if not (len(self.labels) == len(self.members) == len(self.rhs)):
            raise ValueError(f"family {self.name}: labels, members and rhs differ in length")


@dataclass(frozen=True)
class Problem:
    """One allocation problem: claims, weights and constraint families.

    Arrays are aligned with ``claims`` (one row per variable, i.e. per eligible claim with a
    positive amount after the provincial rule).

    Attributes
    ----------
    claims:
        Rows of the claims table that became variables; has at least ``recipient_id``,
        ``recipient_name``, ``recipient_kind``, ``district``, ``industry``, ``clause_id``,
        ``item_key``, ``claim_wan``.
    upper:
        Upper bound per variable: the claim, less what the provincial rule withholds.
    weight:
        Priority weight per variable, a positive integer (scenario weights scaled to integers).
    rank:
        Tie-break order, a permutation of ``0..n-1``; lower rank is served first when the rule
        and the weights leave a choice. Makes the optimum unique.
    all_or_nothing:
        True where the award must be 0 or ``upper``.
    exclusive:
        No-duplicate groups: in each index array at most one variable may be positive.
    exclusive_labels:
        One label per exclusive group: ``no_duplicate[growth][9145...]``.
    exclusive_clause_ids:
        Clause stating each exclusive group's rule.
    families:
        Linear constraint families; the fund cap is always present.
    budget:
        The fund available, whole 万元 (also the rhs of the fund-cap row).
    rounding:
        How a level rule turns its exact value into whole 万元 (the scenario's
        ``fairness.rounding``): ``spend_all``, the nearest whole-万元 vector that spends
        what the limits allow, or ``floor_each``, every award rounded down, the rest unspent.
    one_offs:
        How all-or-nothing claims meet a level rule (``fairness.one_offs``): ``compete``,
        paid once the level reaches them, or ``first``, paid in full before the rule shares
        the rest.
    """

    claims: pd.DataFrame
    upper: IntArray
    weight: IntArray
    rank: IntArray
    all_or_nothing: BoolArray
    exclusive: list[IntArray]
    exclusive_labels: list[str]
    exclusive_clause_ids: list[str]
    families: list[Family]
    budget: int
    rounding: Rounding = "spend_all"
    one_offs: OneOffs = "compete"

    @property
    def size(self) -> int:
        return int(self.upper.shape[0])

    @functools.cached_property
    def rows(self) -> RowMatrix:
        """Every family row in coordinate form, built once per problem."""
        return row_matrix(self.families)

    def with_priorities(self, weight: IntArray, rank: IntArray) -> Problem:
        """The same problem with other weights and ranks, sharing its row matrix."""
        other = dataclasses.replace(self, weight=weight, rank=rank)
        if "rows" in self.__dict__:
            other.__dict__["rows"] = self.rows  # the rows do not depend on weights or ranks
        return other


@dataclass
class Allocation:
    """A solved problem: the award vector and how it was reached.

    Attributes
    ----------
    award:
        Whole-万元 award per variable, aligned with the problem.
    status:
        Solver status; ``OPTIMAL`` only when every phase was proven optimal.
    rule:
        The fairness rule applied.
    objective, best_bound:
        Of the final (priority or remainder) phase, in weight × 万元 units.
    levels:
        For level rules: per variable, the common level at which it was frozen (ratio for
        proportional, 万元 for equal awards/losses/Talmud), NaN where not applicable.
    frozen_by:
        Per variable, the label of the constraint row (or ``no_duplicate``/``all_or_nothing``)
        that stopped it rising, ``""`` when it reached its claim.
    phases:
        Name and seconds of each solve phase, in order.
    details:
        Anything else a rule reports (number of filling rounds, final ratio, CP-SAT stats).
    exact:
        For level rules: per variable, the rule's exact (real) value under every limit, which
        the awards round; NaN under priority.
    rounding, one_offs:
        The problem's ``rounding`` and ``one_offs`` as this allocation applied them (level
        rules; under priority they are recorded but change nothing).
    unspent:
        The fund left unallocated, whole 万元: ``budget − Σ award``.
    rounding_left:
        Under ``floor_each``, the whole 万元 the rounding down left in the fund:
        ``Σ exact − Σ award`` over the claims, rounded to whole 万元; 0 under ``spend_all``.
    one_offs_first:
        Under ``one_offs: first``, the number of all-or-nothing claims paid in full before
        the rule shared the rest, and (``one_offs_short``) how many could not be.
    """

    award: IntArray
    status: Status
    rule: Rule
    objective: float
    best_bound: float
    levels: npt.NDArray[np.float64]
    frozen_by: list[str]
    phases: list[tuple[str, float]] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)
    exact: npt.NDArray[np.float64] | None = None
    rounding: Rounding = "spend_all"
    one_offs: OneOffs = "compete"
    unspent: int = 0
    rounding_left: int = 0
    one_offs_first: int = 0
    one_offs_short: int = 0


@dataclass(frozen=True)
class SolverSettings:
    """Solver settings a scenario may set.

    ``solver`` chooses the engine of the priority phases; ``time_limit_s`` bounds the whole
    allocation; ``workers`` is CP-SAT's number of workers or HiGHS's ``threads``; ``seed``
    their random seed. The explanation of infeasibility is CP-SAT's whichever engine is chosen.
    """

    time_limit_s: float = 30.0
    workers: int = 2
    seed: int = 0
    log_progress: bool = False
    solver: Engine = Engine.CPSAT


__all__ = [
    "ALL_OR_NOTHING",
    "DISTRICT_CAP",
    "DISTRICT_FLOOR",
    "FIRM_CAP",
    "FUND_CAP",
    "NO_DUPLICATE",
    "PROVINCIAL",
    "SUB_BUDGET",
    "Allocation",
    "Engine",
    "Family",
    "OneOffs",
    "Problem",
    "ProgressFn",
    "Rounding",
    "Rule",
    "SolverSettings",
    "Status",
]
