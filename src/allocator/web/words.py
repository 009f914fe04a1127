"""The words of the values a page shows by their code: a job's state and kind, a parameter's
basis, an audit check's outcome, a sweep's columns, the model's global rules.

Each word is a message of the one catalogue (``core/locale``), looked up when the page is
drawn, in the request's language; a value this module does not know is shown as it is, so a
word never hides what the file says. Statuses and fairness rules take the command line's
words (:func:`allocator.inputs.choices.label`).
"""

from __future__ import annotations

from collections.abc import Callable

from allocator.core.i18n import _
from allocator.inputs.choices import label

_WORDS: dict[str, dict[str, Callable[[], str]]] = {
    "state": {
        "queued": lambda: _("queued"),
        "running": lambda: _("running"),
        "done": lambda: _("done"),
        "failed": lambda: _("failed to run"),
        "cancelled": lambda: _("cancelled"),
    },
    "kind": {
        "run": lambda: _("Allocation run"),
        "sweep": lambda: _("Budget sweep"),
    },
    "basis": {
        "document": lambda: _("document"),
        "assumed": lambda: _("assumed"),
    },
    "check": {
        "passed": lambda: _("passed"),
        "failed": lambda: _("failed"),
        "warning": lambda: _("warning"),
        "skipped": lambda: _("skipped"),
    },
    "severity": {
        "error": lambda: _("error"),
        "warning": lambda: _("warning"),
    },
    "sweep.col": {
        "variant": lambda: _("Variant"),
        "budget_wan": lambda: _("Budget (万元)"),
        "status": lambda: _("Status"),
        "budget_used_wan": lambda: _("Used (万元)"),
        "recipients_funded": lambda: _("Recipients funded"),
        "eligible_recipients": lambda: _("Eligible"),
        "coverage": lambda: _("Coverage"),
        "mean_ratio": lambda: _("Mean ratio"),
        "gini_awards": lambda: _("Gini"),
    },
    "rules": {
        "fund_cap": lambda: _("Fund cap"),
        "rounding": lambda: _("Rounding"),
        "stacking": lambda: _("Stacking"),
        "provincial": lambda: _("Relation to provincial awards"),
    },
    "new.model_status": {
        "in_force": lambda: _("in force"),
        "draft": lambda: _("draft for comment"),
    },
    "compare": {
        "winners": lambda: _("Largest rises"),
        "losers": lambda: _("Largest falls"),
    },
}


def word(namespace: str, value: object) -> str:
    """The reader's word for ``value`` of ``namespace`` (``state``, ``basis`` …).

    ``status`` and ``rule`` are the solve's statuses and the fairness rules; a value none of
    the namespaces knows is returned as it is.
    """
    text = str(value)
    if namespace in ("status", "rule"):
        return label(text)
    found = _WORDS.get(namespace, {}).get(text)
    return found() if found else text


__all__ = ["word"]
