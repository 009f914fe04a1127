"""The choices a scenario names by word (the fairness rule, the solver engine), and the words
a reader sees for them, for a solve's status, and for the values of the data a run's tables
hold by code (recipient kinds, industries, districts)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from allocator.core.i18n import _, language
from allocator.inputs.schema import DISTRICTS, INDUSTRIES


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


# Keyed by value, not by enum member: the statuses are the solve's (model.problem.Status),
# which this layer may not import; their values are CP-SAT's names and do not change.
# Each text is looked up when asked for, so that it follows the language chosen later.
_LABELS: dict[str, Callable[[], str]] = {
    Rule.PRIORITY: lambda: _("priority"),
    Rule.PROPORTIONAL: lambda: _("proportional"),
    Rule.EQUAL_AWARDS: lambda: _("equal awards"),
    Rule.EQUAL_LOSSES: lambda: _("equal losses"),
    Rule.TALMUD: lambda: _("Talmud rule"),
    Engine.CPSAT: lambda: _("CP-SAT"),
    Engine.HIGHS: lambda: _("HiGHS"),
    "OPTIMAL": lambda: _("optimal"),
    "FEASIBLE": lambda: _("feasible (optimality not proven)"),
    "INFEASIBLE": lambda: _("infeasible"),
    "UNKNOWN": lambda: _("no solution found"),
}

# The kinds of recipient an award item pays (policy model ``recipient``).
_KINDS: dict[str, Callable[[], str]] = {
    "enterprise": lambda: _("enterprise"),
    "project": lambda: _("project"),
    "district": lambda: _("district"),
    "park": lambda: _("chemical park"),
}


def label(value: str) -> str:
    """The reader's word for a rule, an engine or a solve status (``proportional`` → 按比例).

    ``value`` is the word a scenario or a result file holds (a :class:`Rule`, an
    :class:`Engine`, or a status value such as ``"OPTIMAL"``); a value this module does not
    know is returned as it is, so that a label never hides what the file says.
    """
    text = _LABELS.get(str(value))
    return text() if text else str(value)


def console_label(value: str) -> str:
    """A rule or status in a console line scripts may read: the code in English (``OPTIMAL``,
    as before there was a catalogue), the reader's word otherwise (最优)."""
    return str(value) if language() == "en" else label(value)


def kind_name(kind: str) -> str:
    """A recipient kind as the reader names it (``enterprise`` → 企业); unknown: as it is."""
    text = _KINDS.get(str(kind))
    return text() if text else str(kind)


def district_name(name: str) -> str:
    """A district as the reader names it: the Chinese name, or its English name (schema).

    A name the schema does not list (a chemical park, a district of another city) is shown
    as it is.
    """
    if language() == "en":
        return DISTRICTS.get(name) or name
    return name


def industry_name(code: str) -> str:
    """An industry code as the reader names it: the Chinese label (schema), or the code."""
    if language() == "en":
        return code
    return INDUSTRIES.get(code, code)


__all__ = [
    "Engine",
    "Rule",
    "console_label",
    "district_name",
    "industry_name",
    "kind_name",
    "label",
]
