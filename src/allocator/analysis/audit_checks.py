"""The checks of ``awards.csv`` against the claims and rows derived again from the inputs.

The folder's files, ``result.json``'s rule and budget, the rows of ``awards.csv`` against the
eligible claims, whole and bounded awards, the provincial rule, and every limit of the
scenario (fund, sub-budgets, firm and district caps and floors, no-duplicate groups,
all-or-nothing items). ``docs/audit.md`` explains each check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.analysis.audit_findings import Collector, num, row_text, short, text_of, who
from allocator.analysis.audit_folder import AwardsFile, read_awards, read_csv
from allocator.analysis.audit_recompute import (
    FIRM_KINDS,
    FloatArray,
    IntArray,
    Recomputed,
    RowState,
    by_key,
)
from allocator.analysis.labels import rule_name, status_name
from allocator.core.i18n import _
from allocator.inputs.choices import district_name
from allocator.outputs.names import AWARD_COLUMNS, AWARDS, CONSTRAINT_COLUMNS, CONSTRAINTS, RESULT


def _files_now(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


def no_awards(result: dict[str, Any]) -> str:
    status = result.get("status")
    if status in ("INFEASIBLE", "UNKNOWN"):
        return _("status {status}: the run has no allocation").format(status=status)
    return _("awards.csv could not be read")


def check_files(out: Collector, folder: Path, result: dict[str, Any]) -> None:
    listed = result.get("files")
    if not isinstance(listed, list):
        out.add(
            "files",
            RESULT,
            _("result.json lists no files (found {found})").format(found=short(listed)),
        )
        out.done("files")
        return
    present = _files_now(folder)
    for name in listed:
        if str(name) not in present:
            out.add(
                "files",
                str(name),
                _("{name} is listed in result.json but missing").format(name=name),
            )
    for name in sorted(present - {str(n) for n in listed}):
        out.add(
            "files",
            name,
            _("{name} is in the folder but not written by the run").format(name=name),
            warn=True,
        )
    out.done("files", _("{n} file(s) listed").format(n=len(listed)))


def load_awards(out: Collector, folder: Path, result: dict[str, Any]) -> AwardsFile | None:
    if result.get("status") in ("INFEASIBLE", "UNKNOWN"):
        return None
    path = folder / AWARDS
    if not path.is_file():
        out.add("claims", AWARDS, _("awards.csv is missing"))
        out.done("claims")
        return None
    try:
        return read_awards(path)
    except ValueError as exc:
        out.add("claims", AWARDS, _("awards.csv {problem}").format(problem=exc))
        out.done("claims")
        return None


def load_constraints(out: Collector, folder: Path, result: dict[str, Any]) -> pd.DataFrame | None:
    if result.get("status") in ("INFEASIBLE", "UNKNOWN"):
        return None
    path = folder / CONSTRAINTS
    if not path.is_file():
        out.add("constraints", CONSTRAINTS, _("constraints.csv is missing"))
        out.done("constraints")
        return None
    try:
        return read_csv(path, CONSTRAINT_COLUMNS)
    except ValueError as exc:
        out.add("constraints", CONSTRAINTS, _("constraints.csv {problem}").format(problem=exc))
        out.done("constraints")
        return None


def check_result(out: Collector, result: dict[str, Any], rec: Recomputed) -> None:
    rule = rec.spec.fairness.rule.value
    if result.get("rule") != rule:
        out.add(
            "result",
            RESULT,
            _("rule {found}, but the scenario says {rule}").format(
                found=short(result.get("rule")), rule=repr(rule)
            ),
        )
    if result.get("budget_wan") != rec.budget.value_wan:
        out.add(
            "result",
            RESULT,
            _("budget_wan {found}, but the scenario and model give {budget}万元 ({source})").format(
                found=short(result.get("budget_wan")),
                budget=rec.budget.value_wan,
                source=rec.budget.source,
            ),
        )
    status = result.get("status")
    if status == "FEASIBLE":
        gap = result.get("gap")
        what = (
            _(
                "the weighted objective is optimal (gap 0), the rank tie-break among its optima "
                "was not proven"
            )
            if gap == 0
            else _("gap {gap}").format(gap=gap)
        )
        out.add(
            "result",
            RESULT,
            _(
                "status FEASIBLE: the time limit stopped the solver before it proved the "
                "allocation optimal ({what})"
            ).format(what=what),
            warn=True,
        )
    out.done(
        "result",
        _("rule {rule}, budget {budget}万元, status {status}").format(
            rule=rule_name(rule), budget=rec.budget.value_wan, status=status_name(str(status))
        ),
    )


def check_claims(
    out: Collector, rec: Recomputed, awards: AwardsFile
) -> tuple[FloatArray, IntArray]:
    """Match awards.csv rows to the eligible claims.

    Returns the award per eligible claim (0 where the file has no row for it) and the CSV
    row of each eligible claim (−1 where none).
    """
    eligible = rec.eligible
    frame = awards.frame
    key_e = eligible["recipient_id"] + "\x00" + eligible["item_key"]
    key_a = frame["recipient_id"] + "\x00" + frame["item_key"]
    position = pd.Series(np.arange(len(eligible), dtype=np.int64), index=key_e.to_numpy())
    hit = key_a.map(position).to_numpy(dtype=np.float64, na_value=np.nan)
    dup = key_a.duplicated(keep="first").to_numpy(dtype=bool)
    x = np.zeros(len(eligible), dtype=np.float64)
    matched = np.full(len(eligible), -1, dtype=np.int64)

    unknown = np.isnan(hit)
    ineligible = _ineligible_reasons(
        rec, set(zip(frame["recipient_id"][unknown], frame["item_key"][unknown], strict=True))
    )
    cells = {c: text_of(frame, c) for c in AWARD_COLUMNS}
    compared = ("recipient_name", "recipient_kind", "district", "industry", "clause_id")
    inputs = {c: text_of(eligible, c) for c in compared}
    claim = eligible["claim_wan"].to_numpy(dtype=np.int64)
    expected_row = eligible["expected_row"].to_numpy(dtype=np.int64)
    for a in range(len(frame)):
        row = int(awards.csv_row[a])
        rid, key = cells["recipient_id"][a], cells["item_key"][a]
        if math.isnan(hit[a]):
            why = ineligible.get((rid, key)) or _("no recipient or item of that name in the inputs")
            out.add(
                "claims",
                AWARDS,
                _("row {row}: {recipient} {item} is not an eligible claim ({why})").format(
                    row=row, recipient=rid, item=key, why=why
                ),
                row=row,
            )
            continue
        k = int(hit[a])
        if dup[a]:
            out.add(
                "claims",
                AWARDS,
                _("row {row}: {recipient} {item} repeats row {first}").format(
                    row=row, recipient=rid, item=key, first=int(matched[k])
                ),
                row=row,
            )
            continue
        matched[k] = row
        x[k] = 0.0 if math.isnan(awards.award[a]) else float(awards.award[a])
        if awards.claim[a] != claim[k]:
            out.add(
                "claims",
                AWARDS,
                _(
                    "row {row}: {recipient} {item} claim_wan {found}, but the recomputed claim "
                    "is {claim}万元"
                ).format(
                    row=row,
                    recipient=rid,
                    item=key,
                    found=short(cells["claim_wan"][a]),
                    claim=int(claim[k]),
                ),
                row=row,
            )
        for col in compared:
            if cells[col][a] != inputs[col][k]:
                out.add(
                    "claims",
                    AWARDS,
                    _(
                        "row {row}: {recipient} {item} {column} {found}, but the inputs say "
                        "{expected}"
                    ).format(
                        row=row,
                        recipient=rid,
                        item=key,
                        column=col,
                        found=short(cells[col][a]),
                        expected=repr(inputs[col][k]),
                    ),
                    row=row,
                )
    for k in np.flatnonzero(matched < 0).tolist():
        out.add(
            "claims",
            AWARDS,
            _(
                "the eligible claim {claim_of} ({claim}万元) has no row; it belongs at row {row}"
            ).format(claim_of=who(eligible, k), claim=int(claim[k]), row=int(expected_row[k])),
        )
    out.done(
        "claims",
        _("{rows} rows, {claims} eligible claims recomputed").format(
            rows=len(frame), claims=len(eligible)
        ),
    )
    return x, matched


def _ineligible_reasons(
    rec: Recomputed, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Why each (recipient, item) of ``wanted`` that the claims table holds is not eligible."""
    reasons: dict[tuple[str, str], str] = {}
    for key in sorted({k for _r, k in wanted} & set(rec.claims.items)):
        item = rec.claims.items[key]
        frame = item.frame
        ids = frame["recipient_id"].astype(str).to_numpy()
        for k in np.flatnonzero(np.isin(ids, [r for r, i in wanted if i == key])).tolist():
            failed = [c for c in item.conditions if not bool(frame[f"{c}.result"].iloc[k])]
            if failed:
                why = _("condition {names} fails").format(names=_(", ").join(failed))
            elif not bool(frame["applied"].iloc[k]):
                why = _("not applied for")
            else:
                why = _("ineligible")
            reasons[(str(ids[k]), key)] = why
    return reasons


def check_integrality(
    out: Collector, rec: Recomputed, awards: AwardsFile, x: FloatArray, matched: IntArray
) -> None:
    frame = awards.frame
    rid, item, cells = (text_of(frame, c) for c in ("recipient_id", "item_key", "award_wan"))
    # Only the rows that break the rule are visited.
    for a in np.flatnonzero(~awards.award_whole | (awards.award < 0)).tolist():
        row = int(awards.csv_row[a])
        named, cell = f"{rid[a]} {item[a]}", cells[a]
        if not awards.award_whole[a]:
            out.add(
                "integrality",
                AWARDS,
                _("row {row}: {claim} award_wan {found} is not a whole number of 万元").format(
                    row=row, claim=named, found=short(cell)
                ),
                row=row,
            )
        elif awards.award[a] < 0:
            out.add(
                "integrality",
                AWARDS,
                _("row {row}: {claim} award_wan {found} is negative").format(
                    row=row, claim=named, found=cell
                ),
                row=row,
            )
    eligible = rec.eligible
    claim = eligible["claim_wan"].to_numpy(dtype=np.float64)
    for k in np.flatnonzero((x > claim) & (matched > 0)).tolist():
        out.add(
            "integrality",
            AWARDS,
            _("row {row}: {claim_of} award {award}万元 is above its claim of {claim}万元").format(
                row=int(matched[k]), claim_of=who(eligible, k), award=num(x[k]), claim=num(claim[k])
            ),
            row=int(matched[k]),
        )
    out.done("integrality", _("{n} awards").format(n=len(frame)))


def check_provincial(out: Collector, rec: Recomputed, x: FloatArray, matched: IntArray) -> None:
    eligible = rec.eligible
    rule = rec.model.rules.provincial
    where = (
        _("clause {clause}").format(clause=rule.clause) if rule.clause else _("the provincial rule")
    )
    ptype = eligible["provincial_type"].to_numpy(dtype=object)
    firm = np.isin(eligible["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS)
    typed = (ptype != "") & firm
    if rule.mode == "exclude_if_applied":
        # （二十）: no city award of a type the firm applied to the province for.
        hit = typed & eligible["provincial_applied"].to_numpy(dtype=bool) & (x > 0)
        for k in np.flatnonzero(hit).tolist():
            out.add(
                "provincial",
                AWARDS,
                _(
                    "{claim_of} is paid {award}万元, but the firm applied for the provincial "
                    "award of type {type} ({where}: no city award of that type)"
                ).format(
                    claim_of=row_text(eligible, matched, k),
                    award=num(x[k]),
                    type=ptype[k],
                    where=where,
                ),
                row=int(matched[k]) if matched[k] > 0 else None,
            )
        out.done("provincial", _("no city award if applied ({where})").format(where=where))
        return
    # better_of: the firm receives the better of the city's award and the provincial award,
    # never both. Its city awards of a type may therefore total at most what its city claims
    # of the type exceed the provincial award by. A group of items of which one only can be
    # paid counts with the claim of the item paid (else its largest claim): a firm paid the
    # smaller of two exclusive items cannot be topped up as if it had the larger.
    prov = eligible["provincial_award_wan"].to_numpy(dtype=np.int64)
    claim = eligible["claim_wan"].to_numpy(dtype=np.int64)
    sel = np.flatnonzero(typed & (prov > 0) & (claim > 0))
    groups_of: dict[int, list[str]] = {}
    for var, group in zip(
        rec.group_pairs["var"].to_numpy(dtype=np.int64),
        rec.group_pairs["group"].to_numpy(dtype=object),
        strict=True,
    ):
        groups_of.setdefault(int(var), []).append(str(group))
    rid = eligible["recipient_id"].to_numpy(dtype=object)
    item_keys = text_of(eligible, "item_key")
    sub = pd.DataFrame({"k": sel, "rid": rid[sel], "t": ptype[sel]})
    checked = 0
    for (r, t), firm_type in sub.groupby(["rid", "t"], sort=True):
        ks = firm_type["k"].to_numpy(dtype=np.int64).tolist()
        p = int(prov[ks].max())
        attainable = _attainable(ks, claim, x, groups_of)
        allowed = max(attainable - p, 0)
        total = float(x[ks].sum())
        checked += 1
        if total > allowed:
            rows = ", ".join(str(int(matched[k])) for k in ks if matched[k] > 0)
            items = _(", ").join(f"{item_keys[k]} {num(x[k])}万元" for k in ks)
            out.add(
                "provincial",
                AWARDS,
                _(
                    "rows {rows}: {recipient} is paid {total}万元 of type {type} ({items}) on top "
                    "of a provincial award of {provincial}万元; better of the two allows at most "
                    "max(0, {attainable} − {provincial}) = {allowed}万元 ({where})"
                ).format(
                    rows=rows,
                    recipient=r,
                    total=num(total),
                    type=t,
                    items=items,
                    provincial=p,
                    attainable=attainable,
                    allowed=allowed,
                    where=where,
                ),
                row=int(matched[ks[0]]) if matched[ks[0]] > 0 else None,
            )
    out.done(
        "provincial",
        _("better of the two ({where}), {n} firm-type pair(s) with a provincial award").format(
            where=where, n=checked
        ),
    )


def _attainable(
    ks: list[int], claim: IntArray, x: FloatArray, groups_of: dict[int, list[str]]
) -> int:
    """The claims a firm can hold at once: ungrouped items in full, each group once."""
    # Items linked by any group form a component: one claim of it counts.
    parent = {k: k for k in ks}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    first: dict[str, int] = {}
    for k in ks:
        for g in groups_of.get(k, []):
            if g in first:
                parent[root(k)] = root(first[g])
            else:
                first[g] = k
    comps: dict[int, list[int]] = {}
    for k in ks:
        comps.setdefault(root(k), []).append(k)
    total = 0
    for members in comps.values():
        paid = [k for k in members if x[k] > 0]
        total += int(claim[paid].sum()) if paid else int(claim[members].max())
    return total


def check_families(
    out: Collector,
    rec: Recomputed,
    awards: AwardsFile,
    x: FloatArray,
    matched: IntArray,
    state: RowState,
) -> None:
    """Fund, sub-budgets, caps, floors, groups and indivisible items, from the scenario."""
    eligible = rec.eligible
    spec = rec.spec
    # The fund counts every row of the file, matched or not: money paid is money paid.
    total = float(np.nansum(awards.award))
    budget = rec.budget.value_wan
    clause_id = rec.budget.clause_id
    source = (
        _("clause {clause}").format(clause=clause_id)
        if clause_id != "scenario"
        else _("scenario budget")
    )
    if total > budget:
        last = int(awards.csv_row[-1]) if len(awards) else 1
        out.add(
            "fund_cap",
            AWARDS,
            _(
                "rows 2–{last}: the awards add up to {total}万元, above the budget of "
                "{budget}万元 ({source})"
            ).format(last=last, total=num(total), budget=budget, source=source),
        )
    out.done("fund_cap", _("{total} of {budget}万元").format(total=num(total), budget=budget))

    def csv_rows(ks: Iterable[int]) -> str:
        found = [str(int(matched[k])) for k in ks if matched[k] > 0 and x[k] > 0]
        if not found:
            return _("no row")
        if len(found) > 10:
            return _("rows {rows} and {n} more").format(
                rows=", ".join(found[:10]), n=len(found) - 10
            )
        return _("rows {rows}").format(rows=", ".join(found))

    # Sub-budgets, firm caps and district caps: over every claim of the scope (not only
    # those the builder made rows for: a claim the provincial rule zeroed still counts).
    clause = eligible["clause_id"].to_numpy(dtype=object)
    item = eligible["item_key"].to_numpy(dtype=object)
    for sb in spec.sub_budgets:
        keys = np.asarray(sb.clauses, dtype=object)
        scope = np.flatnonzero(np.isin(clause, keys) | np.isin(item, keys))
        paid = float(x[scope].sum())
        if paid > sb.budget_wan:
            out.add(
                "sub_budget",
                AWARDS,
                _(
                    "{rows}: sub-budget {name} ({clauses}) pays {paid}万元, above its {budget}万元"
                ).format(
                    rows=csv_rows(scope),
                    name=sb.name,
                    clauses=", ".join(sb.clauses),
                    paid=num(paid),
                    budget=sb.budget_wan,
                ),
            )
    if spec.sub_budgets:
        out.done("sub_budget", _("{n} sub-budget(s)").format(n=len(spec.sub_budgets)))
    else:
        out.skip("sub_budget", _("the scenario sets none"))

    rid = eligible["recipient_id"].to_numpy(dtype=object)
    if spec.firm_cap_wan is not None:
        firms = np.isin(eligible["recipient_kind"].to_numpy(dtype=object), FIRM_KINDS) & (x > 0)
        for firm, ks in by_key(rid, firms):
            paid = float(x[ks].sum())
            if paid > spec.firm_cap_wan:
                out.add(
                    "firm_cap",
                    AWARDS,
                    _(
                        "{rows}: {firm} receives {paid}万元 in total, above the firm cap of "
                        "{cap}万元"
                    ).format(rows=csv_rows(ks), firm=firm, paid=num(paid), cap=spec.firm_cap_wan),
                    row=int(matched[ks[0]]) if matched[ks[0]] > 0 else None,
                )
        out.done("firm_cap", _("{cap}万元 per firm").format(cap=spec.firm_cap_wan))
    else:
        out.skip("firm_cap", _("the scenario sets none"))

    district = eligible["district"].to_numpy(dtype=object)
    for d, cap in spec.district_caps.items():
        scope = np.flatnonzero(district == d)
        paid = float(x[scope].sum())
        if paid > cap:
            out.add(
                "district_cap",
                AWARDS,
                _("{rows}: {district} receives {paid}万元, above its cap of {cap}万元").format(
                    rows=csv_rows(scope), district=district_name(str(d)), paid=num(paid), cap=cap
                ),
            )
    if spec.district_caps:
        out.done("district_cap", _("{n} district(s)").format(n=len(spec.district_caps)))
    else:
        out.skip("district_cap", _("the scenario sets none"))
    for d, floor in spec.district_floors.items():
        paid = float(x[district == d].sum())
        if paid < floor:
            out.add(
                "district_floor",
                AWARDS,
                _("{district} receives {paid}万元, below its floor of {floor}万元").format(
                    district=district_name(str(d)), paid=num(paid), floor=floor
                ),
            )
    if spec.district_floors:
        out.done("district_floor", _("{n} district(s)").format(n=len(spec.district_floors)))
    else:
        out.skip("district_floor", _("the scenario sets none"))

    # No duplicates: every group, the model's and the scenario's, over every claim.
    item_keys = text_of(eligible, "item_key")
    pairs = rec.group_pairs
    paid_pairs = pairs[x[pairs["var"].to_numpy(dtype=np.int64)] > 0]
    for (group, recipient), paid_group in paid_pairs.groupby(["group", "recipient_id"], sort=True):
        if len(paid_group) > 1:
            ks = paid_group["var"].to_numpy(dtype=np.int64).tolist()
            shown = _(" and ").join(
                _("row {row} ({item} {award}万元)").format(
                    row=int(matched[k]), item=item_keys[k], award=num(x[k])
                )
                for k in ks
            )
            out.add(
                "no_duplicate",
                AWARDS,
                _("{rows}: {recipient} is paid {n} items of no-duplicate group {group}").format(
                    rows=shown, recipient=recipient, n=len(ks), group=group
                ),
                row=int(matched[ks[0]]),
            )
    out.done("no_duplicate", _("{n} group(s)").format(n=pairs["group"].nunique()))

    aon = eligible["all_or_nothing"].to_numpy(dtype=bool)
    upper = eligible["upper"].to_numpy(dtype=np.float64)
    bad = aon & (x > 0) & (x != upper)
    for k in np.flatnonzero(bad).tolist():
        out.add(
            "all_or_nothing",
            AWARDS,
            _("{claim_of} is all or nothing but paid {award}万元 of {upper}万元").format(
                claim_of=row_text(eligible, matched, k), award=num(x[k]), upper=num(upper[k])
            ),
            row=int(matched[k]) if matched[k] > 0 else None,
        )
    out.done("all_or_nothing", _("{n} indivisible claim(s)").format(n=int(aon.sum())))


__all__ = [
    "check_claims",
    "check_families",
    "check_files",
    "check_integrality",
    "check_provincial",
    "check_result",
    "load_awards",
    "load_constraints",
    "no_awards",
]
