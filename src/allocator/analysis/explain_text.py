"""``allocate explain`` as text: the explanation of one recipient in the reader's language
(:func:`render`; Chinese unless ``--lang en`` or ``ALLOCATE_LANG=en``)."""

from __future__ import annotations

import math
import re

from allocator.analysis.explain import ConditionCheck, Explanation, ItemExplanation, number_text
from allocator.analysis.labels import rule_name, status_name
from allocator.core.i18n import _, language, set_language
from allocator.inputs.choices import district_name, industry_name
from allocator.outputs.wording import family_name, reason_text, row_name

# A title with a CJK character; the English item titles of a model are left out in Chinese.
_CJK = re.compile(r"[\u3400-\u9fff]")


def _value(value: float | bool | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return _("blank") if math.isnan(value) else number_text(value)
    return value


def _numbers(c: ConditionCheck) -> str:
    """The condition with the recipient's numbers: ``9.94 > 0``, ``above_scale = 是``."""
    if c.op is not None and c.value is not None:
        threshold = _("blank") if c.threshold is None else _value(c.threshold)
        return f"{_value(c.value)} {c.op} {threshold}"
    return _(", ").join(f"{k} = {_value(v)}" for k, v in c.fields.items())


def _condition_line(c: ConditionCheck) -> str:
    numbers = _numbers(c)
    shown = f"{c.expr}: {numbers}" if numbers and c.op is not None else numbers or c.expr
    if c.passed:
        return _("✓ {id} ({text}) {shown} → pass").format(id=c.id, text=c.text, shown=shown)
    return _("✗ {id} ({text}) {shown} → fail").format(id=c.id, text=c.text, shown=shown)


def _failed_brief(c: ConditionCheck) -> str:
    return f"{c.id} ({_numbers(c) or c.expr})"


def _why(item: ItemExplanation, rule: str) -> list[str]:
    """What holds the award below the claim, derived from the rules and constraints.csv."""
    lines: list[str] = []
    if item.provincial_type and item.upper_wan < item.claim_wan:
        if item.provincial_mode == "exclude_if_applied":
            lines.append(
                _(
                    "applied for the provincial award of the same type ({type}): no city award"
                ).format(type=item.provincial_type)
            )
        elif item.provincial_applied and item.provincial_award_wan <= 0:
            lines.append(
                _(
                    "applied for the provincial award of the same type ({type}), amount not on "
                    "file: better of the two, not both; no city award until the amount is known"
                ).format(type=item.provincial_type)
            )
        else:
            lines.append(
                _(
                    "provincial award of the same type ({type}) {award}万元, better of the two, "
                    "not both: the city pays at most {upper}万元"
                ).format(
                    type=item.provincial_type,
                    award=item.provincial_award_wan,
                    upper=item.upper_wan,
                )
            )
    for group, other, paid in item.group_paid:
        lines.append(
            _("no-duplicate group {group}: paid {item} {paid}万元 instead").format(
                group=group, item=other, paid=paid
            )
        )
    if item.all_or_nothing and (item.award_wan or 0) == 0 and item.upper_wan > 0:
        lines.append(_("all or nothing: not funded"))
    for b in item.binding:
        values = {
            "name": row_name(b.name),
            "family": family_name(b.family),
            "clause": _("scenario") if b.clause_id == "scenario" else b.clause_id,
            "lhs": b.lhs,
            "rhs": b.rhs,
            "slack": b.slack,
        }
        if b.level is None:
            line = _(
                "binding row {name} ({family}, clause {clause}): lhs {lhs}, rhs {rhs}, "
                "slack {slack}"
            ).format(**values)
        else:
            line = _(
                "binding row {name} ({family}, clause {clause}): lhs {lhs}, rhs {rhs}, "
                "slack {slack}; {rule} level {level}"
            ).format(**values, rule=rule_name(rule), level=number_text(b.level))
        lines.append(line)
    if not item.binding and item.upper_wan > 0 and (item.award_wan or 0) < item.upper_wan:
        lines.append(_("no binding row of constraints.csv holds this claim"))
    return lines


def render(expl: Explanation, lang: str | None = None, *, show_all: bool = False) -> str:
    """The explanation as text, in the reader's language (:mod:`allocator.core.i18n`).

    Eligible items are shown in full: conditions, formula, claim, award and why. The others
    take one line each, naming the conditions they fail, unless ``show_all``.

    Parameters
    ----------
    expl:
        What :func:`allocator.analysis.explain.explain` found.
    lang:
        ``zh`` or ``en`` for this text alone (the process's language is restored after);
        None for the process's language.
    show_all:
        Show the items the recipient is not eligible for in full too.
    """
    if lang is None:
        return _render(expl, show_all=show_all)
    before = language()
    set_language(lang)
    try:
        return _render(expl, show_all=show_all)
    finally:
        set_language(before)


def _render(expl: Explanation, *, show_all: bool) -> str:
    industry = industry_name(expl.industry) if expl.industry else ""
    where = " · ".join(
        p
        for p in (
            district_name(expl.district) if expl.district != expl.recipient_id else "",
            industry,
        )
        if p
    )
    same = expl.recipient_name == expl.recipient_id  # a district or park is its own name
    lines = [expl.recipient_id if same else f"{expl.recipient_name} {expl.recipient_id}"]
    if where:
        lines.append(where)
    lines.append(
        _("run: {scenario}, rule {rule}, status {status}, budget {budget}万元 ({folder})").format(
            scenario=expl.scenario,
            rule=rule_name(expl.rule),
            status=status_name(expl.status),
            budget="—" if expl.budget_wan is None else expl.budget_wan,
            folder=expl.folder,
        )
    )
    eligible = [i for i in expl.items if i.eligible]
    total = sum(i.award_wan or 0 for i in eligible)
    claimed = sum(i.claim_wan for i in eligible)
    lines.append(
        _("{n} award items, {m} eligible; awarded {total}万元 of {claim}万元 claimed").format(
            n=len(expl.items), m=len(eligible), total=total, claim=claimed
        )
    )
    full = [i for i in expl.items if i.eligible or show_all]
    brief = [i for i in expl.items if not (i.eligible or show_all)]
    for item in full:
        lines.append("")
        lines.extend(_item_lines(item, expl.rule))
    if brief:
        lines.append("")
        lines.append(_("Items not eligible:"))
        for item in brief:
            what = [_failed_brief(c) for c in item.failed]
            if item.requires_application and not item.applied:
                what.append(_("did not apply for this clause (needed)"))
            lines.append(
                _("  ✗ {item} {label} {title}: fails {what}").format(
                    item=item.item_key,
                    label=item.clause_label,
                    title=item.clause_title,
                    what=_("; ").join(what),
                )
            )
        lines.append(_("(--all shows these {n} items in full)").format(n=len(brief)))
    return "\n".join(lines)


def _title(item: ItemExplanation) -> str:
    """The item's heading; a model's English item title is left out of a Chinese text."""
    if language() != "en" and not _CJK.search(item.item_title):
        return f"{item.item_key} {item.clause_label} {item.clause_title}"
    return f"{item.item_key} {item.clause_label} {item.clause_title} — {item.item_title}"


def _item_lines(item: ItemExplanation, rule: str) -> list[str]:
    if item.eligible:
        head = _("{title}: eligible").format(title=_title(item))
    else:
        head = _("{title}: not eligible").format(title=_title(item))
    lines = [head, _("  conditions:")]
    lines.extend(f"    {_condition_line(c)}" for c in item.conditions)
    if not item.requires_application:
        lines.append("    " + _("paid without an application (免审即享)"))
    elif not item.applied:
        lines.append("    ✗ " + _("did not apply for this clause (needed)"))
    lines.append(_("  formula: {formula}").format(formula=item.formula))
    lines.append(_("  claim: {claim}万元").format(claim=item.claim_wan))
    if not item.eligible:
        return lines
    award = "—" if item.award_wan is None else _("{award}万元").format(award=item.award_wan)
    if item.csv_row is None:
        lines.append(_("  award: {award} (no row in awards.csv)").format(award=award))
    else:
        lines.append(
            _("  award: {award} (awards.csv row {row})").format(award=award, row=item.csv_row)
        )
    if item.award_wan is not None and item.award_wan >= item.claim_wan:
        lines.append("  " + _("paid in full"))
        return lines
    if item.reason:
        lines.append(
            _("  reason below the claim (awards.csv): {reason}").format(
                reason=reason_text(item.reason)
            )
        )
    why = _why(item, rule)
    if why:
        lines.append(_("  checked independently:"))
        lines.extend(f"    - {w}" for w in why)
    return lines


__all__ = ["render"]
