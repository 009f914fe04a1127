"""The names of the values a reader sees, in the reader's language.

Fairness rules, solver statuses, districts and industries are stored under their codes
(``proportional``, ``OPTIMAL``, ``柳东新区``, ``biomedicine``); audits, explanations, the
compare page and the charts show them through these functions, so that a Chinese reader
reads 按比例 and 最优 and an English one ``proportional`` and ``optimal``. Every name has its
home in :mod:`allocator.inputs.choices` (districts and industries there too, so that the
outputs' workbook uses the same words).
"""

from __future__ import annotations

from allocator.inputs.choices import label


def rule_name(rule: str) -> str:
    """A fairness rule as the reader names it (:func:`allocator.inputs.choices.label`)."""
    return label(rule)


def status_name(status: str) -> str:
    """A solver status as the reader names it (:func:`allocator.inputs.choices.label`)."""
    return label(status)


__all__ = ["rule_name", "status_name"]
