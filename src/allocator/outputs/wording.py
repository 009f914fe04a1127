"""A run's reasons and constraint rows in the reader's words.

``awards.csv`` and ``constraints.csv`` keep their reasons and row names in the fixed English
of docs/outputs.md: programs read them, and the same inputs give the same bytes whatever the
reader's language. The workbook, the report and the workbench show them through
:func:`reason_text` and :func:`row_name`, which read that fixed grammar back and give each
part as one catalogue message: 按比例核减 at level 0.7920, the fund cap used up, and so on.
In English the words are the CSV's own, so ``reason_text(r) == r`` there.
:func:`for_the_reader` gives a run's tables so, for the workbook. No solver, no model
builder: the audit reads a workbook back through the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.i18n import _, language
from allocator.inputs.choices import district_name, industry_name, kind_name, label

# Constraint families (allocator.model.problem) as a reader names them.
_FAMILIES: dict[str, Callable[[], str]] = {
    "fund_cap": lambda: _("fund_cap"),
    "sub_budget": lambda: _("sub_budget"),
    "firm_cap": lambda: _("firm_cap"),
    "district_cap": lambda: _("district_cap"),
    "district_floor": lambda: _("district_floor"),
    "provincial": lambda: _("provincial"),
    "no_duplicate": lambda: _("no_duplicate"),
    "all_or_nothing": lambda: _("all_or_nothing"),
}
_ROW = re.compile(r"^([a-z_]+)((?:\[[^\]]*\])*)$")


def family_name(family: str) -> str:
    """A constraint family as the reader names it (``fund_cap`` → 资金总额); unknown: as is."""
    text = _FAMILIES.get(family)
    return text() if text else family


def row_name(row: str) -> str:
    """A constraint row's label with its family in the reader's words (``firm_cap[9145…]``
    → ``单户上限[9145…]``); the bracketed names are the data's and stay as they are."""
    match = _ROW.match(row)
    if match is None:
        return row
    return family_name(match.group(1)) + match.group(2)


def _source(text: str) -> str:
    """Where a row comes from: ``clause 11.3``, ``scenario budget``, ``the provincial rule``."""
    if text.startswith("clause "):
        return _("clause {clause}").format(clause=text[len("clause ") :])
    if text == "scenario budget":
        return _("scenario budget")
    if text == "the provincial rule":
        return _("the provincial rule")
    return text


def _rule(rule: str) -> str:
    # The CSV names a rule by its value (equal_awards); English keeps it so.
    return rule if language() == "en" else label(rule)


_WAN = r"(?P<amount>-?\d+)万元"
_WHERE = r"(?P<where>clause [^)]+|the provincial rule)"
_PARTS: list[tuple[re.Pattern[str], Callable[[dict[str, str]], str]]] = [
    (
        re.compile(r"not applied for: the item is paid on application"),
        lambda m: _("not applied for: the item is paid on application"),
    ),
    (
        re.compile(rf"provincial: applied for the provincial award of the same type \({_WHERE}\)"),
        lambda m: _("provincial: applied for the provincial award of the same type ({where})"),
    ),
    (
        re.compile(
            r"provincial: applied for the provincial award of the same type, amount not on "
            rf"file: held at 0 until it is known \({_WHERE}\)"
        ),
        lambda m: _(
            "provincial: applied for the provincial award of the same type, amount not on "
            "file: held at 0 until it is known ({where})"
        ),
    ),
    (
        re.compile(
            rf"provincial: the provincial award of the same type \({_WAN}\) is not below the "
            rf"claim: better of the two, not both \({_WHERE}\)"
        ),
        lambda m: _(
            "provincial: the provincial award of the same type ({amount}万元) is not below "
            "the claim: better of the two, not both ({where})"
        ),
    ),
    (
        re.compile(
            rf"provincial: less the provincial award of the same type \({_WAN}\): better of "
            rf"the two, not both \({_WHERE}\)"
        ),
        lambda m: _(
            "provincial: less the provincial award of the same type ({amount}万元): better "
            "of the two, not both ({where})"
        ),
    ),
    (
        re.compile(
            rf"provincial: the provincial award of the same type \({_WAN}\) is not below the "
            rf"firm's city claims of the type: better of the two, not both \({_WHERE}\)"
        ),
        lambda m: _(
            "provincial: the provincial award of the same type ({amount}万元) is not below "
            "the firm's city claims of the type: better of the two, not both ({where})"
        ),
    ),
    (
        re.compile(
            r"provincial: the firm's city awards of type (?P<type>\S+) together at most "
            rf"(?P<cap>-?\d+)万元 \(its claims less the provincial award of the same type "
            rf"\({_WAN}\): better of the two, not both, {_WHERE}\)"
        ),
        lambda m: _(
            "provincial: the firm's city awards of type {type} together at most {cap}万元 "
            "(its claims less the provincial award of the same type ({amount}万元): better "
            "of the two, not both, {where})"
        ),
    ),
    (
        re.compile(r"no_duplicate\[(?P<group>.*)\]: another item of the group was chosen"),
        lambda m: _("no_duplicate[{group}]: another item of the group was chosen"),
    ),
    (
        re.compile(r"all_or_nothing: not funded"),
        lambda m: _("all_or_nothing: not funded"),
    ),
    (
        re.compile(
            r"(?P<rule>[a-z_]+) level (?P<level>[-0-9.]+) \((?P<row>.+?) binding, "
            r"(?P<where>[^)]+)\)"
        ),
        lambda m: _("{rule} level {level} ({row} binding, {where})"),
    ),
    (
        re.compile(r"(?P<rule>[a-z_]+) level (?P<level>[-0-9.]+) \((?P<row>.+?) binding\)"),
        lambda m: _("{rule} level {level} ({row} binding)"),
    ),
    (
        re.compile(r"(?P<row>.+?) binding \((?P<where>[^)]+)\)"),
        lambda m: _("{row} binding ({where})"),
    ),
    (re.compile(r"(?P<row>.+?) binding"), lambda m: _("{row} binding")),
    (
        re.compile(r"below claim: no binding constraint found \(status (?P<status>\w+)\)"),
        lambda m: _("below claim: no binding constraint found (status {status})"),
    ),
]


def _part(text: str) -> str:
    for pattern, message in _PARTS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if "where" in values:
            values["where"] = _source(values["where"])
        if "row" in values:
            values["row"] = row_name(values["row"])
        if "rule" in values:
            values["rule"] = _rule(values["rule"])
        if "status" in values and language() != "en":
            values["status"] = label(values["status"])
        return message(values).format(**values)
    return text


def reason_text(reason: str) -> str:
    """A reason of ``awards.csv`` in the reader's words; a part not of the grammar as it is.

    Parameters
    ----------
    reason:
        The ``reason`` cell: parts joined with ``"; "`` (docs/outputs.md).

    Returns
    -------
    str
        The same parts in the reader's language, joined with the language's separator.
    """
    if not reason:
        return reason
    parts = [_part(p) for p in reason.split("; ")]
    return _("; ").join(parts)


def for_the_reader(
    doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The run's document and tables with their coded values in the reader's words.

    ``awards.csv`` and ``constraints.csv`` hold codes (``enterprise``, ``biomedicine``,
    ``fund_cap``, ``OPTIMAL``) and the reasons' fixed English, a stable interface for
    programs; the workbook shows a clerk the same rows as 企业, 生物医药及大健康, 资金总额,
    最优 and the reasons in Chinese (English under ``--lang en``). Numbers, credit codes,
    names, clause ids and item keys are left as they are.

    Parameters
    ----------
    doc:
        The content of ``result.json``.
    awards, constraints:
        The awards and constraints tables as the CSV files hold them.

    Returns
    -------
    tuple
        ``doc`` with ``status``, ``rule`` and the per-district totals translated, and copies
        of the two tables; the arguments are not changed.
    """
    shown = awards.copy()
    for column, name in (
        ("recipient_kind", kind_name),
        ("district", district_name),
        ("industry", industry_name),
        ("reason", reason_text),
    ):
        shown[column] = _mapped(shown[column], name)
    rows = constraints.copy()
    rows["name"] = _mapped(rows["name"], row_name)
    rows["family"] = _mapped(rows["family"], family_name)
    rows["clause_id"] = _mapped(rows["clause_id"], _clause)
    words = {True: _("yes"), False: _("no")}
    rows["binding"] = [
        words[bool(v)] if isinstance(v, bool | np.bool_) else v for v in rows["binding"]
    ]
    given = doc.get("totals")
    totals = dict(given) if isinstance(given, dict) else {}
    totals["per_district"] = [
        {**r, "district": district_name(str(r.get("district") or ""))} if isinstance(r, dict) else r
        for r in (totals.get("per_district") or [])
    ]
    doc = {
        **doc,
        "status": label(str(doc.get("status"))),
        "rule": label(str(doc.get("rule"))),
        "totals": totals,
    }
    return doc, shown, rows


def _clause(clause_id: str) -> str:
    # A row only the scenario sets carries the clause id "scenario" (model.build).
    return _("scenario") if clause_id == "scenario" else clause_id


def _mapped(column: pd.Series, name: Any) -> pd.Series:
    """``name`` of each value, computed once per distinct value (184,000 rows, few values)."""
    codes, uniques = pd.factorize(column.fillna("").astype(str))
    words = np.array([name(u) for u in uniques], dtype=object)
    return pd.Series(words[codes], index=column.index, dtype=object)


__all__ = ["family_name", "for_the_reader", "reason_text", "row_name"]
