"""``allocate explain`` as text: the explanation of one recipient with Chinese (default) or
English labels (:func:`render`)."""

from __future__ import annotations

import math
from typing import Literal

from allocator.analysis.explain import ConditionCheck, Explanation, ItemExplanation, number_text
from allocator.inputs.schema import INDUSTRIES

Lang = Literal["zh", "en"]

_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "run": "运行",
        "rule": "分配规则",
        "status": "状态",
        "budget": "资金总额",
        "eligible": "符合条件",
        "ineligible": "不符合条件",
        "conditions": "条件",
        "pass": "通过",
        "fail": "不通过",
        "not_applied": "未申报本条款（需申报）",
        "no_application": "免审即享，无需申报",
        "formula": "公式",
        "claim": "测算金额",
        "award": "奖补金额",
        "row": "awards.csv 第 {row} 行",
        "no_row": "awards.csv 无此行",
        "reason": "低于测算的原因（awards.csv）",
        "why": "独立核对",
        "full": "全额获得",
        "provincial_excluded": "已申请省级同类型（{type}）奖补：按规定本级不予奖补",
        "provincial_held": (
            "已申请省级同类型（{type}）奖补，金额未填报：从优、就高、不重复，待金额确定前暂不予奖补"
        ),
        "provincial_better": (
            "省级同类型（{type}）奖补 {award}万元，从优、就高、不重复：本级至多 {upper}万元"
        ),
        "group": "不可重复享受组 {group}：已获 {item} {paid}万元",
        "aon": "整额奖补（全额或不予）：未获资助",
        "binding": "紧约束 {name}（{family}，条款 {clause}）：左端 {lhs}，右端 {rhs}，松弛 {slack}",
        "level": "{rule} 水平 {level}",
        "no_binding": "constraints.csv 中无包含此项的紧约束",
        "failed": "未满足 {what}",
        "blank": "空",
        "yes": "是",
        "no": "否",
        "items": "共 {n} 个奖补项目，符合条件 {m} 个；奖补合计 {total}万元（测算 {claim}万元）",
        "hidden": "（--all 显示这 {n} 个项目的详情）",
        "brief": "不符合条件的项目：",
    },
    "en": {
        "run": "run",
        "rule": "rule",
        "status": "status",
        "budget": "budget",
        "eligible": "eligible",
        "ineligible": "not eligible",
        "conditions": "conditions",
        "pass": "pass",
        "fail": "fail",
        "not_applied": "did not apply for this clause (needed)",
        "no_application": "paid without an application (免审即享)",
        "formula": "formula",
        "claim": "claim",
        "award": "award",
        "row": "awards.csv row {row}",
        "no_row": "no row in awards.csv",
        "reason": "reason below the claim (awards.csv)",
        "why": "checked independently",
        "full": "paid in full",
        "provincial_excluded": (
            "applied for the provincial award of the same type ({type}): no city award"
        ),
        "provincial_held": (
            "applied for the provincial award of the same type ({type}), amount not on file: "
            "held at 0 until it is known (better of the two, not both)"
        ),
        "provincial_better": (
            "provincial award of the same type ({type}) {award}万元, better of the two, not both: "
            "the city pays at most {upper}万元"
        ),
        "group": "no-duplicate group {group}: paid {item} {paid}万元 instead",
        "aon": "all or nothing: not funded",
        "binding": "binding row {name} ({family}, clause {clause}): lhs {lhs}, rhs {rhs}, "
        "slack {slack}",
        "level": "{rule} level {level}",
        "no_binding": "no binding row of constraints.csv holds this claim",
        "failed": "fails: {what}",
        "blank": "blank",
        "yes": "yes",
        "no": "no",
        "items": "{n} award items, {m} eligible; awarded {total}万元 of {claim}万元 claimed",
        "hidden": "(--all shows these {n} items in full)",
        "brief": "Items not eligible:",
    },
}


def _value(value: float | bool | str | None, words: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, float):
        return words["blank"] if math.isnan(value) else number_text(value)
    return value


def _numbers(c: ConditionCheck, words: dict[str, str]) -> str:
    """The condition with the recipient's numbers: ``9.94 > 0``, ``above_scale = 是``."""
    if c.op is not None and c.value is not None:
        threshold = words["blank"] if c.threshold is None else _value(c.threshold, words)
        return f"{_value(c.value, words)} {c.op} {threshold}"
    return ", ".join(f"{k} = {_value(v, words)}" for k, v in c.fields.items())


def _condition_line(c: ConditionCheck, words: dict[str, str]) -> str:
    mark = "✓" if c.passed else "✗"
    verdict = words["pass"] if c.passed else words["fail"]
    numbers = _numbers(c, words)
    shown = f"{c.expr}: {numbers}" if numbers and c.op is not None else numbers or c.expr
    return f"{mark} {c.id}（{c.text}）{shown} → {verdict}"


def _failed_brief(c: ConditionCheck, words: dict[str, str]) -> str:
    return f"{c.id} ({_numbers(c, words) or c.expr})"


def _why(item: ItemExplanation, rule: str, words: dict[str, str]) -> list[str]:
    """What holds the award below the claim, derived from the rules and constraints.csv."""
    lines: list[str] = []
    if item.provincial_type and item.upper_wan < item.claim_wan:
        if item.provincial_mode == "exclude_if_applied":
            lines.append(words["provincial_excluded"].format(type=item.provincial_type))
        elif item.provincial_applied and item.provincial_award_wan <= 0:
            lines.append(words["provincial_held"].format(type=item.provincial_type))
        else:
            lines.append(
                words["provincial_better"].format(
                    type=item.provincial_type,
                    award=item.provincial_award_wan,
                    upper=item.upper_wan,
                )
            )
    for group, other, paid in item.group_paid:
        lines.append(words["group"].format(group=group, item=other, paid=paid))
    if item.all_or_nothing and (item.award_wan or 0) == 0 and item.upper_wan > 0:
        lines.append(words["aon"])
    for b in item.binding:
        line = words["binding"].format(
            name=b.name, family=b.family, clause=b.clause_id, lhs=b.lhs, rhs=b.rhs, slack=b.slack
        )
        if b.level is not None:
            line += "; " + words["level"].format(rule=rule, level=number_text(b.level))
        lines.append(line)
    if not item.binding and item.upper_wan > 0 and (item.award_wan or 0) < item.upper_wan:
        lines.append(words["no_binding"])
    return lines


def render(expl: Explanation, lang: Lang = "zh", *, show_all: bool = False) -> str:
    """The explanation as text, with ``lang``'s labels.

    Eligible items are shown in full: conditions, formula, claim, award and why. The others
    take one line each, naming the conditions they fail, unless ``show_all``.
    """
    words = _LABELS[lang]
    industry = INDUSTRIES.get(expl.industry, "")
    where = " · ".join(
        p
        for p in (
            expl.district if expl.district != expl.recipient_id else "",
            f"{expl.industry} ({industry})" if industry else "",
        )
        if p
    )
    same = expl.recipient_name == expl.recipient_id  # a district or park is its own name
    lines = [expl.recipient_id if same else f"{expl.recipient_name} {expl.recipient_id}"]
    if where:
        lines.append(where)
    lines.append(
        f"{words['run']}: {expl.scenario}, {words['rule']} {expl.rule}, "
        f"{words['status']} {expl.status}, {words['budget']} "
        f"{'—' if expl.budget_wan is None else expl.budget_wan}万元 "
        f"({expl.folder})"
    )
    eligible = [i for i in expl.items if i.eligible]
    total = sum(i.award_wan or 0 for i in eligible)
    claimed = sum(i.claim_wan for i in eligible)
    lines.append(
        words["items"].format(n=len(expl.items), m=len(eligible), total=total, claim=claimed)
    )
    full = [i for i in expl.items if i.eligible or show_all]
    brief = [i for i in expl.items if not (i.eligible or show_all)]
    for item in full:
        lines.append("")
        lines.extend(_item_lines(item, expl.rule, words))
    if brief:
        lines.append("")
        lines.append(words["brief"])
        for item in brief:
            what = [_failed_brief(c, words) for c in item.failed]
            if item.requires_application and not item.applied:
                what.append(words["not_applied"])
            lines.append(
                f"  ✗ {item.item_key} {item.clause_label} {item.clause_title}: "
                + words["failed"].format(what="; ".join(what))
            )
        lines.append(words["hidden"].format(n=len(brief)))
    return "\n".join(lines)


def _item_lines(item: ItemExplanation, rule: str, words: dict[str, str]) -> list[str]:
    state = words["eligible"] if item.eligible else words["ineligible"]
    lines = [
        f"{item.item_key} {item.clause_label} {item.clause_title} — {item.item_title}: {state}",
        f"  {words['conditions']}:",
    ]
    lines.extend(f"    {_condition_line(c, words)}" for c in item.conditions)
    if not item.requires_application:
        lines.append(f"    {words['no_application']}")
    elif not item.applied:
        lines.append(f"    ✗ {words['not_applied']}")
    lines.append(f"  {words['formula']}: {item.formula}")
    lines.append(f"  {words['claim']}: {item.claim_wan}万元")
    if not item.eligible:
        return lines
    row = words["row"].format(row=item.csv_row) if item.csv_row is not None else words["no_row"]
    award = "—" if item.award_wan is None else f"{item.award_wan}万元"
    lines.append(f"  {words['award']}: {award} ({row})")
    if item.award_wan is not None and item.award_wan >= item.claim_wan:
        lines.append(f"  {words['full']}")
        return lines
    if item.reason:
        lines.append(f"  {words['reason']}: {item.reason}")
    why = _why(item, rule, words)
    if why:
        lines.append(f"  {words['why']}:")
        lines.extend(f"    - {w}" for w in why)
    return lines


__all__ = ["Lang", "render"]
