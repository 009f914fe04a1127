"""The fairness rule, checked from outside on the awards and the rows they meet.

Under ``priority`` no award below its claim could be raised without breaking a row. Under a
level rule each award is compared with the rule's exact value, district floors met first
(:func:`allocator.analysis.audit_exact.exact_with_floors`): within 1万元 of it, the total as
the exact values add up, and the order of the exact values kept (:func:`check_exact`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator.analysis.audit_exact import (
    LEVEL_RULES,
    LimitRow,
    exact_with_floors,
    movable_breaks,
    rounded_down_with_room,
)
from allocator.analysis.audit_findings import Collector, num, row_text
from allocator.analysis.audit_recompute import BoolArray, FloatArray, IntArray, Recomputed, RowState
from allocator.analysis.labels import rule_name
from allocator.core.i18n import _
from allocator.outputs.names import AWARDS, RESULT


def check_fairness(
    out: Collector,
    rec: Recomputed,
    result: dict[str, Any],
    x: FloatArray,
    matched: IntArray,
    state: RowState,
) -> None:
    eligible = rec.eligible
    rule = rec.spec.fairness.rule.value
    upper = eligible["upper"].to_numpy(dtype=np.float64)
    below = (x < upper) & eligible["var"].to_numpy(dtype=bool)
    rows = rec.rows
    linear = (rows["sense"].to_numpy(dtype=object) == "<=") & (
        rows["family"].to_numpy(dtype=object) != "no_duplicate"
    )
    pl = linear[rec.pair_row]
    min_slack = np.full(len(eligible), np.inf)
    np.minimum.at(min_slack, rec.pair_var[pl], state.slack[rec.pair_row[pl]])
    step = state.step

    def row_of(k: int) -> int | None:
        return int(matched[k]) if matched[k] > 0 else None

    status = result.get("status")
    if rule == "priority":
        # Pareto: no award below its claim could take its next step within every row.
        raisable = below & np.isfinite(step) & (min_slack >= step)

        def raise_text(k: int) -> str:
            held = [n for n in rec.rows_of(k) if not n.startswith("no_duplicate")]
            slack = _(", ").join(
                _("{row} slack {slack}").format(row=n, slack=num(state.slack[rec.row_index[n]]))
                for n in held
            )
            return _(
                "{claim_of} at {award} of {claim}万元 could rise by {step}万元 without breaking "
                "any row ({slack}): priority leaves no money a claim below its claim could take"
            ).format(
                claim_of=row_text(eligible, matched, k),
                award=num(x[k]),
                claim=num(upper[k]),
                step=num(step[k]),
                slack=slack,
            )

        _add_some(
            out,
            "fairness",
            np.flatnonzero(raisable),
            matched,
            raise_text,
            _("{n} more claims could rise as well: rows {rows}"),
            warn=status == "FEASIBLE",
        )
        out.done("fairness", _("priority: no award below its claim could be raised"))
        return

    # A level rule is checked against its exact value (check_exact), not an integer reading
    # of it: that reading passed awards a whole 万元 or more from the rule.
    out.skip(
        "fairness",
        _("{rule}: checked against the rule's exact value (see the exact check)").format(
            rule=rule_name(rule)
        ),
    )


_LISTED = 10  # findings of one kind listed one by one; the rest are summed up in one


def _add_some(
    out: Collector,
    check: str,
    positions: IntArray,
    matched: IntArray,
    text: Callable[[int], str],
    more: str,
    *,
    warn: bool,
) -> None:
    """Add the first findings of a kind one by one and the rest as one, naming their rows.

    ``more`` is the message of the rest, with the placeholders ``{n}`` (how many) and
    ``{rows}``. Messages are built only for the claims listed: a run gone wrong everywhere
    may have hundreds of thousands of them.
    """
    for k in positions[:_LISTED].tolist():
        row = int(matched[k]) if matched[k] > 0 else None
        out.add(check, AWARDS, text(k), row=row, warn=warn)
    rest = positions[_LISTED:]
    if rest.size:
        rows = [str(int(r)) for r in matched[rest[:30]] if r > 0]
        shown = ", ".join(rows) + (" ..." if rest.size > 30 else "")
        out.add(check, AWARDS, more.format(n=rest.size, rows=shown), warn=warn)


# --------------------------------------------------------------------------------------------
# The exact rule value

SPEND_ALL = "spend_all"
FLOOR_EACH = "floor_each"


def rounding_of(rec: Recomputed) -> str:
    """The scenario's ``fairness.rounding``: ``spend_all`` unless it says ``floor_each``."""
    value = getattr(rec.spec.fairness, "rounding", SPEND_ALL)
    text = str(getattr(value, "value", value))
    return FLOOR_EACH if text == FLOOR_EACH else SPEND_ALL


COMPETE = "compete"


def one_offs_of(rec: Recomputed) -> str:
    """The scenario's ``fairness.one_offs``: ``compete`` unless it says ``first``."""
    value = getattr(rec.spec.fairness, "one_offs", COMPETE)
    text = str(getattr(value, "value", value))
    return "first" if text == "first" else COMPETE


def _shut_out(rec: Recomputed, family: npt.NDArray[np.object_], x: FloatArray) -> BoolArray:
    """The claims no-duplicate groups shut out, group by group in the order of the rows.

    A group that pays a member keeps it, as published; a group that pays none keeps the member
    the level rules keep (docs/fairness.md): the largest claim, on equal claims the first in
    ``awards.csv`` (the lower rank; weights are not derived again here). Members an earlier
    group shut out take no part.
    """
    upper = rec.eligible["upper"].to_numpy(dtype=np.int64)
    shut: BoolArray = np.zeros(len(rec.eligible), dtype=bool)
    order = np.argsort(rec.pair_row, kind="stable")
    cuts = np.searchsorted(rec.pair_row[order], np.arange(len(rec.rows) + 1))
    for j in np.flatnonzero(family == "no_duplicate").tolist():
        members = np.sort(rec.pair_var[order[cuts[j] : cuts[j + 1]]])
        members = members[~shut[members]]
        if members.size <= 1:
            continue
        paid = x[members] > 0
        largest = members[[int(np.argmax(upper[members]))]]
        keep = members[paid] if paid.any() else largest
        shut[members[~np.isin(members, keep)]] = True
    return shut


def _wan(value: Fraction) -> str:
    """An exact amount: whole, or its fraction with four decimals (``4/7 ≈ 0.5714``)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator} ≈ {float(value):.4f}"


def check_exact(
    out: Collector,
    rec: Recomputed,
    result: dict[str, Any],
    x: FloatArray,
    matched: IntArray,
) -> None:
    """Compare every award of a level rule with the rule's exact value under the limits.

    All-or-nothing claims are whole choices, not levels, and are not checked themselves. Under
    ``one_offs: compete`` they rise with the level in the exact filling, where a row one would
    jump past stops its claims just below the jump; under ``one_offs: first`` they are taken as
    published (their money leaves their rows first). Claims a no-duplicate group shut out (at 0
    while their group pays another) are taken as published too. District floors are met first,
    by filling the floored districts with each floor as a cap; what that reaches bounds the
    main filling from below (:func:`exact_with_floors`). Where the run met the floors by its
    one-worker search (``floors: cpsat`` in result.json) the rule gives no value and the check
    is not made, and says so.
    """
    rule = rec.spec.fairness.rule.value
    if rule not in LEVEL_RULES:
        out.skip(
            "exact",
            _("not checked: {rule} is not a level rule (see the fairness check)").format(
                rule=rule_name(rule)
            ),
        )
        return
    rows = rec.rows
    family = rows["family"].to_numpy(dtype=object)
    solver = result.get("solver")
    if isinstance(solver, dict) and solver.get("floors") == "cpsat":
        out.skip(
            "exact",
            _(
                "not checked: filling the floored districts could not meet every floor, so the "
                "floors were met by the one-worker search (floors: cpsat) and the rule alone "
                "gives no exact value to compare with"
            ),
        )
        return
    eligible = rec.eligible
    upper = eligible["upper"].to_numpy(dtype=np.int64)
    aon = eligible["all_or_nothing"].to_numpy(dtype=bool)
    compete = one_offs_of(rec) == COMPETE
    published = _shut_out(rec, family, x)
    if not compete:
        published |= aon
    filled = eligible["var"].to_numpy(dtype=bool) & ~published
    positions = np.flatnonzero(filled)
    index = np.full(len(eligible), -1, dtype=np.int64)
    index[positions] = np.arange(positions.size, dtype=np.int64)
    limits: list[LimitRow] = []
    fixed: list[Fraction] = []
    sense = rows["sense"].to_numpy(dtype=object)
    rhs = rows["rhs"].to_numpy(dtype=np.int64)
    money = (family != "no_duplicate") & (sense == "<=")
    order = np.argsort(rec.pair_row, kind="stable")
    cuts = np.searchsorted(rec.pair_row[order], np.arange(len(rows) + 1))
    for j in np.flatnonzero(money).tolist():
        members = rec.pair_var[order[cuts[j] : cuts[j + 1]]]
        mine = index[members]
        if not (mine >= 0).any():
            continue
        taken = sum((Fraction(float(x[k])) for k in members[mine < 0].tolist()), Fraction(0))
        limits.append(LimitRow(int(rhs[j]), mine[mine >= 0].tolist()))
        fixed.append(taken)
    floors: list[LimitRow] = []
    floor_fixed: list[Fraction] = []
    for j in np.flatnonzero(family == "district_floor").tolist():
        members = rec.pair_var[order[cuts[j] : cuts[j + 1]]]
        mine = index[members]
        if not (mine >= 0).any():
            continue  # nothing of it rises: the constraints check says whether it is met
        taken = sum((Fraction(float(x[k])) for k in members[mine < 0].tolist()), Fraction(0))
        floors.append(LimitRow(int(rhs[j]), mine[mine >= 0].tolist()))
        floor_fixed.append(taken)
    whole = aon[positions]
    found = exact_with_floors(
        rule, upper[positions].tolist(), limits, floors, fixed, floor_fixed, whole.tolist()
    )
    if found is None:
        out.add(
            "exact",
            RESULT,
            _(
                "filling the floored districts under {rule} cannot meet every district floor, "
                "yet result.json does not say the floors were met by the one-worker search "
                "(floors: cpsat): the awards cannot be compared with an exact value"
            ).format(rule=rule_name(rule)),
            warn=result.get("status") == "FEASIBLE",
        )
        out.done("exact")
        return
    exact_all = found
    # The all-or-nothing claims took part in the filling; the rest are compared.
    index[positions[whole]] = -1
    positions = positions[~whole]
    index[positions] = np.arange(positions.size, dtype=np.int64)
    exact = [v for v, w in zip(exact_all, whole.tolist(), strict=True) if not w]
    claims = upper[positions].tolist()
    awards = [Fraction(float(v)) for v in x[positions]]
    rounding = rounding_of(rec)
    warn = result.get("status") == "FEASIBLE"
    if rounding == FLOOR_EACH:
        wrong = [
            n for n, (a, v) in enumerate(zip(awards, exact, strict=True)) if a != math.floor(v)
        ]

        def wrong_text(k: int) -> str:
            v = exact[int(index[k])]
            return _(
                "{claim_of} is paid {award}万元; floor_each pays the exact {rule} value "
                "{exact}万元 rounded down, {floor}万元"
            ).format(
                claim_of=row_text(eligible, matched, k),
                award=num(x[k]),
                rule=rule_name(rule),
                exact=_wan(v),
                floor=math.floor(v),
            )

        more = _("{n} more claims are not their exact value rounded down either: rows {rows}")
    else:
        wrong = [n for n, (a, v) in enumerate(zip(awards, exact, strict=True)) if abs(a - v) >= 1]

        def wrong_text(k: int) -> str:
            v = exact[int(index[k])]
            gap = abs(Fraction(float(x[k])) - v)
            return _(
                "{claim_of} is paid {award}万元, {gap}万元 from the exact {rule} value "
                "{exact}万元 of its claim {claim}万元 (spend_all keeps every award within 1万元 "
                "of it)"
            ).format(
                claim_of=row_text(eligible, matched, k),
                award=num(x[k]),
                gap=f"{float(gap):.4f}",
                rule=rule_name(rule),
                exact=_wan(v),
                claim=int(upper[k]),
            )

        more = _("{n} more claims are 1万元 or more from their exact value too: rows {rows}")
    _add_some(
        out,
        "exact",
        positions[np.asarray(wrong, dtype=np.int64)],
        matched,
        wrong_text,
        more,
        warn=warn,
    )
    _check_exact_total(out, rule, rounding, awards, exact, warn=warn)
    if rounding == SPEND_ALL:
        losses = [c - v for c, v in zip(claims, exact, strict=True)]
        member_of = _rows_of(rec, money, positions)
        tight = frozenset(np.flatnonzero(money & (_slack(rec, x) < 1)).tolist())
        paid = [int(v) for v in x[positions]]
        short = rounded_down_with_room(exact, paid, member_of, tight)

        def short_text(k: int) -> str:
            v = exact[int(index[k])]
            return (
                f"{row_text(eligible, matched, k)} is paid {num(x[k])}万元, its exact {rule} "
                f"value {_wan(v)}万元 rounded down, though no full row holds it: spend_all "
                "rounds up as many awards as the limits allow"
            )

        _add_some(
            out,
            "exact",
            positions[np.asarray(short, dtype=np.int64)],
            matched,
            short_text,
            "are rounded down though no full row holds them",
            warn=warn,
        )
        broken_award, broken_loss = movable_breaks(exact, claims, paid, member_of, tight)

        def report_break(
            pair: tuple[int, int], message: str, key: str, values: list[Fraction]
        ) -> None:
            """One order finding: ``message`` names the pair's values as ``{first_KEY}``."""
            i, j = int(positions[pair[0]]), int(positions[pair[1]])
            text = message.format(
                first=row_text(eligible, matched, i),
                first_claim=int(upper[i]),
                first_award=num(x[i]),
                second=row_text(eligible, matched, j),
                second_claim=int(upper[j]),
                second_award=num(x[j]),
                rule=rule_name(rule),
                **{f"first_{key}": _wan(values[pair[0]]), f"second_{key}": _wan(values[pair[1]])},
            )
            row = int(matched[i]) if matched[i] > 0 else None
            out.add("exact", AWARDS, text, row=row, warn=warn)

        if broken_award is not None:
            report_break(
                broken_award,
                _(
                    "{first} (claim {first_claim}万元) is paid {first_award}万元, less than "
                    "{second} (claim {second_claim}万元, paid {second_award}万元), though its "
                    "exact {rule} value is larger: {first_exact} against {second_exact}万元, "
                    "and one 万元 from the second to the first breaks no limit"
                ),
                "exact",
                exact,
            )
        if broken_loss is not None:
            report_break(
                broken_loss,
                _(
                    "{first} (claim {first_claim}万元, paid {first_award}万元) loses less than "
                    "{second} (claim {second_claim}万元, paid {second_award}万元), though its "
                    "exact {rule} loss is larger: {first_loss} against {second_loss}万元, "
                    "and one 万元 from the first to the second breaks no limit"
                ),
                "loss",
                losses,
            )
    largest = max((abs(a - v) for a, v in zip(awards, exact, strict=True)), default=Fraction(0))
    untested = int((eligible["var"].to_numpy(dtype=bool) & (published | aon)).sum())
    out.done(
        "exact",
        _(
            "{rule}, {rounding}: {n} claim(s) against their exact value, largest "
            "|award − exact| {largest}万元; not checked: {untested} all-or-nothing or "
            "group-excluded claim(s), taken as published"
        ).format(
            rule=rule_name(rule),
            rounding=rounding,
            n=positions.size,
            largest=f"{float(largest):.4f}",
            untested=untested,
        ),
    )


def _slack(rec: Recomputed, x: FloatArray) -> FloatArray:
    """Per row, its right side less the awards of its members."""
    used = np.bincount(rec.pair_row, weights=x[rec.pair_var], minlength=len(rec.rows))
    slack: FloatArray = rec.rows["rhs"].to_numpy(dtype=np.float64) - used
    return slack


def _rows_of(rec: Recomputed, money: BoolArray, positions: IntArray) -> list[frozenset[int]]:
    """Per claim at ``positions``, the limit rows it is in."""
    where = np.full(len(rec.eligible), -1, dtype=np.int64)
    where[positions] = np.arange(positions.size, dtype=np.int64)
    mine = (where[rec.pair_var] >= 0) & money[rec.pair_row]
    found: list[set[int]] = [set() for _ in range(positions.size)]
    for k, r in zip(where[rec.pair_var[mine]].tolist(), rec.pair_row[mine].tolist(), strict=True):
        found[k].add(r)
    return [frozenset(f) for f in found]


def _check_exact_total(
    out: Collector,
    rule: str,
    rounding: str,
    awards: list[Fraction],
    exact: list[Fraction],
    *,
    warn: bool,
) -> None:
    """The checked awards add up as the exact values do: under spend_all to at least their sum
    rounded down (the sum itself when the fund is full, where no more fits; more only where
    crossing rows leave the fund room); under floor_each to the
    sum of the floors, the rest left in the fund."""
    paid = sum(awards, Fraction(0))
    total = sum(exact, Fraction(0))
    if rounding == FLOOR_EACH:
        floors = sum(math.floor(v) for v in exact)
        if paid != floors:
            out.add(
                "exact",
                AWARDS,
                _(
                    "the checked awards add up to {paid}万元; floor_each pays the exact {rule} "
                    "values rounded down, {floors}万元 in all ({left}万元 left in the fund)"
                ).format(
                    paid=_wan(paid),
                    rule=rule_name(rule),
                    floors=floors,
                    left=_wan(total - floors),
                ),
                warn=warn,
            )
        return
    if paid < math.floor(total):
        out.add(
            "exact",
            AWARDS,
            _(
                "the checked awards add up to {paid}万元, but their exact {rule} values add up "
                "to {total}万元: spend_all pays that, to the whole 万元"
            ).format(paid=_wan(paid), rule=rule_name(rule), total=_wan(total)),
            warn=warn,
        )


__all__ = ["FLOOR_EACH", "SPEND_ALL", "check_exact", "check_fairness", "rounding_of"]
