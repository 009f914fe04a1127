"""The choices a scenario names by word: the fairness rule and the solver engine."""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    """Fairness rules a scenario can choose (see docs/fairness.md)."""

    PRIORITY = "priority"
    PROPORTIONAL = "proportional"
    EQUAL_AWARDS = "equal_awards"
    EQUAL_LOSSES = "equal_losses"
    TALMUD = "talmud"


class Engine(StrEnum):
    """The solver of every phase a fairness rule cannot settle exactly on its own.

    Filling and the greedy are exact and need none; the priority phases (the priority rule,
    the remainder of a level rule) go to the engine chosen here (see docs/solvers.md).
    """

    CPSAT = "cpsat"  # OR-Tools CP-SAT, the default
    HIGHS = "highs"  # HiGHS's branch and bound, through highspy


__all__ = ["Engine", "Rule"]
