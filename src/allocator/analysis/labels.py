"""The names of the values a reader sees, in the reader's language.

Fairness rules, solver statuses, districts and industries are stored under their codes
(``proportional``, ``OPTIMAL``, ``柳东新区``, ``biomedicine``); audits, explanations, the
compare page and the charts show them through these functions, so that a Chinese reader
reads 按比例 and 最优 and an English one ``proportional`` and ``optimal``. Rules and statuses
take their names from :mod:`allocator.inputs.choices`, districts and industries from
:mod:`allocator.inputs.schema` (one home each).
"""

from __future__ import annotations

from allocator.core.i18n import language
from allocator.inputs.choices import label
from allocator.inputs.schema import DISTRICTS, INDUSTRIES


def rule_name(rule: str) -> str:
    """A fairness rule as the reader names it (:func:`allocator.inputs.choices.label`)."""
    return label(rule)


def status_name(status: str) -> str:
    """A solver status as the reader names it (:func:`allocator.inputs.choices.label`)."""
    return label(status)


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


__all__ = ["district_name", "industry_name", "rule_name", "status_name"]
