"""The published files against ``awards.csv``: the totals of ``result.json``, the sheets of
``awards.xlsx`` and every row of ``constraints.csv``, recomputed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.analysis.audit_findings import Collector, num, short, text_of
from allocator.analysis.audit_folder import AwardsFile, section
from allocator.analysis.audit_recompute import Recomputed, RowState
from allocator.core.i18n import LANGUAGES, _, speaking
from allocator.inputs.choices import district_name, label
from allocator.outputs.names import AWARDS, CONSTRAINT_COLUMNS, CONSTRAINTS, RESULT, WORKBOOK
from allocator.outputs.wording import for_the_reader

EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit less the header: the workbook stops there


def _aggregate(awards: AwardsFile, key: str) -> dict[str, dict[str, int]]:
    frame = pd.DataFrame(
        {
            "key": awards.frame[key].astype(str),
            "claim": np.nan_to_num(awards.claim),
            "award": np.nan_to_num(awards.award),
        }
    )
    out: dict[str, dict[str, int]] = {}
    for k, keyed in frame.groupby("key", sort=False):
        out[str(k)] = {
            "claims": int((keyed["claim"] > 0).sum()),
            "funded": int((keyed["award"] > 0).sum()),
            "claim_wan": round(float(keyed["claim"].sum())),
            "award_wan": round(float(keyed["award"].sum())),
        }
    return out


def _counts(awards: AwardsFile) -> dict[str, int]:
    award = np.nan_to_num(awards.award)
    rid = awards.frame["recipient_id"]
    return {
        "total_claim_wan": round(float(np.nan_to_num(awards.claim).sum())),
        "total_awarded_wan": round(float(award.sum())),
        "recipients": int(rid.nunique()),
        "eligible_claims": len(awards),
        "funded_claims": int((award > 0).sum()),
        "funded_recipients": int(rid[award > 0].nunique()),
    }


_TOTAL_KEYS = (("per_clause", "clause_id"), ("per_item", "item_key"), ("per_district", "district"))


def _object(out: Collector, check: str, result: dict[str, Any], key: str) -> dict[str, Any]:
    """``result[key]`` as an object; a finding (and an empty object) when it is something else."""
    found = section(result, key)
    if found is None:
        out.add(
            check,
            RESULT,
            _("{key} is {found}, not a JSON object").format(key=key, found=short(result.get(key))),
        )
        return {}
    return found


def check_totals(out: Collector, result: dict[str, Any], awards: AwardsFile) -> None:
    """``result.json``'s totals, counts and per-clause, per-item, per-district sums."""
    counts = _counts(awards)
    recorded_counts = _object(out, "totals", result, "counts")
    for name in ("total_claim_wan", "total_awarded_wan"):
        if result.get(name) != counts[name]:
            out.add(
                "totals",
                RESULT,
                _("{key} is {found}, but awards.csv adds up to {total}万元").format(
                    key=name, found=short(result.get(name)), total=counts[name]
                ),
            )
    for name in ("recipients", "eligible_claims", "funded_claims", "funded_recipients"):
        if recorded_counts.get(name) != counts[name]:
            out.add(
                "totals",
                RESULT,
                _("{key} is {found}, but awards.csv gives {count}").format(
                    key=f"counts.{name}", found=short(recorded_counts.get(name)), count=counts[name]
                ),
            )
    totals = _object(out, "totals", result, "totals")
    for part, key in _TOTAL_KEYS:
        rows = totals.get(part, [])
        if not isinstance(rows, list):
            out.add(
                "totals",
                RESULT,
                _("{key} is {found}, not a JSON list").format(
                    key=f"totals.{part}", found=short(rows)
                ),
            )
            rows = []
        mine = _aggregate(awards, key)
        theirs = {str(r.get(key)): r for r in rows if isinstance(r, dict)}
        for k in sorted(mine.keys() | theirs.keys()):
            if k not in theirs:
                out.add(
                    "totals",
                    RESULT,
                    _("{key} lacks {column} {value} of awards.csv").format(
                        key=f"totals.{part}", column=key, value=short(k)
                    ),
                )
                continue
            if k not in mine:
                out.add(
                    "totals",
                    RESULT,
                    _("{key} has {column} {value}, which awards.csv lacks").format(
                        key=f"totals.{part}", column=key, value=short(k)
                    ),
                )
                continue
            for field_name, value in mine[k].items():
                if theirs[k].get(field_name) != value:
                    out.add(
                        "totals",
                        RESULT,
                        _("{key} is {found}, but awards.csv gives {count}").format(
                            key=f"totals.{part}[{k}].{field_name}",
                            found=short(theirs[k].get(field_name)),
                            count=value,
                        ),
                    )
    out.done(
        "totals",
        _("{awarded} of {claimed}万元 claimed").format(
            awarded=counts["total_awarded_wan"], claimed=counts["total_claim_wan"]
        ),
    )


_AWARD_ZH = (
    "对象编号",
    "对象名称",
    "对象类型",
    "所属县区",
    "所属行业",
    "条款",
    "奖补项目",
    "测算金额（万元）",
    "奖补金额（万元）",
    "低于测算的原因",
)
_CONSTRAINT_ZH = (
    "约束",
    "类别",
    "条款",
    "方向",
    "左端（万元）",
    "右端（万元）",
    "松弛",
    "是否紧",
    "变量数",
)
_SHEETS = ("汇总", "奖补明细", "按条款", "按县区", "约束")
# The sheet of a workbook naming the CSV files of the tables too long for a sheet.
_ELSEWHERE = "明细文件"


def _cell(value: object) -> str:
    """A workbook cell as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_workbook(
    out: Collector,
    folder: Path,
    result: dict[str, Any],
    awards: AwardsFile,
    constraints: pd.DataFrame | None,
) -> None:
    import openpyxl  # only the audit of the workbook needs it

    path = folder / WORKBOOK
    if not path.is_file():
        out.add("workbook", WORKBOOK, _("awards.xlsx is missing"))
        out.done("workbook")
        return
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any unreadable workbook is a finding, not a crash
        out.add(
            "workbook",
            WORKBOOK,
            _("awards.xlsx cannot be read ({problem})").format(
                problem=f"{type(exc).__name__}: {short(str(exc))}"
            ),
        )
        out.done("workbook")
        return
    # A read-only workbook parses each sheet's XML only now: a truncated sheet fails here.
    sheets: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for name in book.sheetnames:
            sheets[name] = list(book[name].iter_rows(values_only=True))
    except Exception as exc:  # any unreadable sheet is a finding, not a crash
        out.add(
            "workbook",
            WORKBOOK,
            _("awards.xlsx sheet {sheet} cannot be read ({problem})").format(
                sheet=name, problem=f"{type(exc).__name__}: {short(str(exc))}"
            ),
        )
        out.done("workbook")
        return
    finally:
        book.close()
    lengths = {"奖补明细": (len(awards), AWARDS)}
    if constraints is not None:
        lengths["约束"] = (len(constraints), CONSTRAINTS)
    left_out = _left_out(out, sheets, lengths)
    for name in _SHEETS:
        if name not in sheets and name not in left_out:
            out.add("workbook", WORKBOOK, _("sheet {sheet} is missing").format(sheet=name))
    # The workbook shows codes and reasons in the language it was written in: the audit
    # compares it with awards.csv in that language, found from its 求解状态 cell.
    lang = _workbook_language(sheets.get("汇总", []), str(result.get("status")))
    with speaking(lang):
        shown_result, shown_awards, shown_constraints = for_the_reader(
            result, awards.frame, _with_binding(constraints)
        )
    if "奖补明细" in sheets:
        _compare_sheet(
            out,
            "奖补明细",
            sheets["奖补明细"],
            _AWARD_ZH,
            shown_awards.to_numpy(dtype=object)[:EXCEL_MAX_ROWS],
            AWARDS,
        )
    if "约束" in sheets and constraints is not None:
        cons = shown_constraints.to_numpy(dtype=object)
        _compare_sheet(out, "约束", sheets["约束"], _CONSTRAINT_ZH, cons, CONSTRAINTS)
    counts = _counts(awards)
    if "汇总" in sheets:
        summary = {_cell(r[0]): r[1] if len(r) > 1 else None for r in sheets["汇总"][1:]}
        expected = {
            "求解状态": shown_result.get("status"),
            "分配规则": shown_result.get("rule"),
            "资金总额（万元）": result.get("budget_wan"),
            "测算总额（万元）": counts["total_claim_wan"],
            "奖补总额（万元）": counts["total_awarded_wan"],
            "对象数": counts["recipients"],
            "符合条件的申报数": counts["eligible_claims"],
            "获奖补的申报数": counts["funded_claims"],
            "获奖补的对象数": counts["funded_recipients"],
        }
        for label, want in expected.items():
            if _cell(summary.get(label)) != _cell(want):
                out.add(
                    "workbook",
                    WORKBOOK,
                    _("sheet {sheet}, {label}: {found}, but should be {expected}").format(
                        sheet="汇总",
                        label=label,
                        found=short(summary.get(label)),
                        expected=repr(want),
                    ),
                )
    for sheet, key in (("按条款", "clause_id"), ("按县区", "district")):
        if sheet not in sheets:
            continue
        mine = _aggregate(awards, key)
        if key == "district":
            with speaking(lang):
                mine = {district_name(k): v for k, v in mine.items()}
        body = sheets[sheet][1:]
        seen = set()
        header = [_cell(h) for h in sheets[sheet][0]] if sheets[sheet] else []
        col = {h: n for n, h in enumerate(header)}
        fields = {
            "claims": "申报数",
            "funded": "获奖补数",
            "claim_wan": "测算金额（万元）",
            "award_wan": "奖补金额（万元）",
        }
        for n, r in enumerate(body, start=2):
            k = _cell(r[0])
            seen.add(k)
            if k not in mine:
                out.add(
                    "workbook",
                    WORKBOOK,
                    _("sheet {sheet} row {row}: {value} is not in awards.csv").format(
                        sheet=sheet, row=n, value=repr(k)
                    ),
                    row=n,
                )
                continue
            for f, label in fields.items():
                got = r[col[label]] if label in col and col[label] < len(r) else None
                if _cell(got) != str(mine[k][f]):
                    out.add(
                        "workbook",
                        WORKBOOK,
                        _(
                            "sheet {sheet} row {row} ({value}), {label}: {found}, but awards.csv "
                            "gives {expected}"
                        ).format(
                            sheet=sheet,
                            row=n,
                            value=k,
                            label=label,
                            found=short(got),
                            expected=mine[k][f],
                        ),
                        row=n,
                    )
        for k in sorted(mine.keys() - seen):
            out.add(
                "workbook",
                WORKBOOK,
                _("sheet {sheet} lacks {value} of awards.csv").format(sheet=sheet, value=repr(k)),
            )
    out.done("workbook", _("{n} sheet(s)").format(n=len(sheets)))


def _workbook_language(summary: list[tuple[Any, ...]], status: str) -> str:
    """The language whose word for the run's status the summary sheet holds (else zh)."""
    cells = {_cell(r[0]): _cell(r[1]) for r in summary[1:] if len(r) > 1}
    for lang in LANGUAGES:
        with speaking(lang):
            if cells.get("求解状态") == label(status):
                return lang
    return LANGUAGES[0]


def _with_binding(constraints: pd.DataFrame | None) -> pd.DataFrame:
    """constraints.csv with ``binding`` as booleans; a cell neither true nor false as it is."""
    if constraints is None:
        return pd.DataFrame({c: [] for c in CONSTRAINT_COLUMNS})
    flags = {"true": True, "false": False}
    return constraints.assign(
        binding=[flags.get(str(v).lower(), v) for v in constraints["binding"]]
    )


def _left_out(
    out: Collector,
    sheets: dict[str, list[tuple[Any, ...]]],
    lengths: dict[str, tuple[int, str]],
) -> set[str]:
    """The detail sheets a workbook leaves out as longer than a sheet, listed in 明细文件.

    A sheet listed there must be one whose CSV file has more rows than a sheet holds, and
    the listing must give that file and its number of rows.
    """
    listed = {_cell(r[0]): r for r in sheets.get(_ELSEWHERE, [])[1:] if r}
    left: set[str] = set()
    for sheet, (rows, source) in lengths.items():
        if sheet in sheets or sheet not in listed:
            continue
        left.add(sheet)
        if rows <= EXCEL_MAX_ROWS:
            out.add(
                "workbook",
                WORKBOOK,
                _(
                    "sheet {sheet} is left out, but {source} has {rows} rows, which a sheet holds"
                ).format(sheet=sheet, source=source, rows=rows),
            )
            continue
        found = tuple(_cell(v) for v in listed[sheet][1:3])
        if found != (str(rows), source):
            out.add(
                "workbook",
                WORKBOOK,
                _("sheet {sheet}, {label}: {found}, but should be {expected}").format(
                    sheet=_ELSEWHERE, label=sheet, found=short(found), expected=repr((rows, source))
                ),
            )
    return left


def _compare_sheet(
    out: Collector,
    sheet: str,
    rows: list[tuple[Any, ...]],
    header: Sequence[str],
    expected: npt.NDArray[np.object_],
    source: str,
) -> None:
    if not rows or tuple(_cell(h) for h in rows[0]) != tuple(header):
        out.add(
            "workbook",
            WORKBOOK,
            _("sheet {sheet}: header differs from {header}").format(
                sheet=sheet, header=", ".join(header)
            ),
        )
        return
    body = rows[1:]
    if len(body) != len(expected):
        out.add(
            "workbook",
            WORKBOOK,
            _("sheet {sheet} has {rows} rows, {source} {expected}").format(
                sheet=sheet, rows=len(body), source=source, expected=len(expected)
            ),
        )
    for n, (got, want) in enumerate(zip(body, expected, strict=False), start=2):
        cells = [_cell(v) for v in got]
        wanted = [_cell(v) for v in want]
        if cells != wanted:
            diff = [
                _("{column} {found} vs {expected}").format(
                    column=header[c], found=short(cells[c]), expected=short(wanted[c])
                )
                for c in range(min(len(cells), len(wanted)))
                if cells[c] != wanted[c]
            ]
            out.add(
                "workbook",
                WORKBOOK,
                _("sheet {sheet} row {row} differs from {source} row {row}: {cells}").format(
                    sheet=sheet, row=n, source=source, cells=_("; ").join(diff)
                ),
                row=n,
            )


def check_constraints(
    out: Collector,
    rec: Recomputed,
    result: dict[str, Any],
    constraints: pd.DataFrame,
    state: RowState,
) -> None:
    rows = rec.rows
    index = rec.row_index
    seen: dict[str, int] = {}
    cells = {c: text_of(constraints, c) for c in CONSTRAINT_COLUMNS}
    rhs = rows["rhs"].to_numpy(dtype=np.int64)
    members = rows["members"].to_numpy(dtype=np.int64)
    family, clause_id, sense = (text_of(rows, c) for c in ("family", "clause_id", "sense"))
    for a in range(len(constraints)):
        csv_row = a + 2
        name = cells["name"][a]
        if name in seen:
            out.add(
                "constraints",
                CONSTRAINTS,
                _("row {row}: {name} repeats row {first}").format(
                    row=csv_row, name=name, first=seen[name]
                ),
                row=csv_row,
            )
            continue
        seen[name] = csv_row
        k = index.get(name)
        if k is None:
            out.add(
                "constraints",
                CONSTRAINTS,
                _("row {row}: {name} is no row of the scenario and model").format(
                    row=csv_row, name=name
                ),
                row=csv_row,
            )
            continue
        want = {
            "family": family[k],
            "clause_id": clause_id[k],
            "sense": sense[k],
            "lhs": num(state.lhs[k]),
            "rhs": str(int(rhs[k])),
            "slack": num(state.slack[k]),
            "binding": "true" if state.binding[k] else "false",
            "members": str(int(members[k])),
        }
        for col, value in want.items():
            if cells[col][a] != value:
                out.add(
                    "constraints",
                    CONSTRAINTS,
                    _("row {row}: {name} {column} {found}, recomputed {expected}").format(
                        row=csv_row,
                        name=name,
                        column=col,
                        found=short(cells[col][a]),
                        expected=value,
                    ),
                    row=csv_row,
                )
    for name in rows["name"]:
        if name not in seen:
            out.add(
                "constraints",
                CONSTRAINTS,
                _("the row {name} of the scenario is missing").format(name=name),
            )
    counts = _object(out, "constraints", result, "counts")
    variables = int(rec.eligible["var"].sum())
    if counts.get("variables") != variables:
        out.add(
            "constraints",
            RESULT,
            _("counts.variables is {found}; {n} claims can be paid").format(
                found=short(counts.get("variables")), n=variables
            ),
        )
    if counts.get("constraint_rows") != len(rows):
        out.add(
            "constraints",
            RESULT,
            _("counts.constraint_rows is {found}; the scenario has {n} rows").format(
                found=short(counts.get("constraint_rows")), n=len(rows)
            ),
        )
    out.done("constraints", _("{n} row(s) recomputed").format(n=len(rows)))


__all__ = ["check_constraints", "check_totals", "check_workbook"]
