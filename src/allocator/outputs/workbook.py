"""``awards.xlsx``: the run for a clerk, in Chinese, with byte-identical bytes for equal runs.

The workbook is written by rustpy-xlsxwriter, a Python binding of rust_xlsxwriter (the Rust
port of XlsxWriter): each sheet goes to the library as a whole table and is written row by row
in Rust, in constant memory, so 184,000 awards take a few seconds rather than the half minute
XlsxWriter spends on them cell by cell in Python. Every text cell is written as text (an inline
string), never as a formula, a number or a link, whatever it starts with: a firm named
``=HYPERLINK(...)`` stays a name. Two things are fixed afterwards, in the one pass of
:func:`allocator.core.files.fixed_zip` that gives the zip entries a fixed time and mode: the
document's creation and modification stamps (:data:`FIXED_TIME`), and the form of whole
numbers, which the library writes as ``3.0`` and which are written back as ``3`` so that every
reader (openpyxl, pandas) reads an integer, as Excel does.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd
import rustpy_xlsxwriter as rx

from allocator.core.files import fixed_zip
from allocator.outputs.names import AWARDS, CONSTRAINTS

# The workbook's fixed creation and modification time, so that equal content gives equal bytes.
FIXED_TIME = "2000-01-01T00:00:00Z"
EXCEL_MAX_ROWS = 1_048_575  # Excel's row limit, less the header

_AWARD_ZH = {
    "recipient_id": "对象编号",
    "recipient_name": "对象名称",
    "recipient_kind": "对象类型",
    "district": "所属县区",
    "industry": "所属行业",
    "clause_id": "条款",
    "item_key": "奖补项目",
    "claim_wan": "测算金额（万元）",
    "award_wan": "奖补金额（万元）",
    "reason": "低于测算的原因",
}
_TOTAL_ZH = {
    "clause_id": "条款",
    "item_key": "奖补项目",
    "district": "县区",
    "title": "名称",
    "claims": "申报数",
    "funded": "获奖补数",
    "claim_wan": "测算金额（万元）",
    "award_wan": "奖补金额（万元）",
}
_CONSTRAINT_ZH = {
    "name": "约束",
    "family": "类别",
    "clause_id": "条款",
    "sense": "方向",
    "lhs": "左端（万元）",
    "rhs": "右端（万元）",
    "slack": "松弛",
    "binding": "是否紧",
    "members": "变量数",
}


def workbook_bytes(doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame) -> bytes:
    """``awards.xlsx``: summary, awards, per clause, per district, constraints.

    A table longer than a sheet holds (:data:`EXCEL_MAX_ROWS`) is left out, 汇总 says so and
    the sheet :data:`ELSEWHERE` names the CSV file holding its rows. Every sheet has its
    header row frozen and its column widths set from the header and the first rows; the
    awards sheet has an autofilter over all its rows and the money columns in the ``#,##0``
    format. Text is written as text, numbers as numbers, missing values and empty text as
    empty cells.

    Parameters
    ----------
    doc:
        The content of ``result.json`` (:func:`allocator.outputs.result.result_document`).
    awards, constraints:
        The awards and constraints tables, their values in the reader's words
        (:func:`allocator.outputs.wording.for_the_reader`).

    Returns
    -------
    bytes
        The workbook; equal arguments give equal bytes.
    """
    sheets = _workbook_sheets(doc, awards, constraints)
    header = rx.Format().set_bold().set_border("thin").set_align("center").set_align("top")
    money = rx.Format().set_num_format("#,##0")
    buffer = io.BytesIO()
    rx.write_worksheets(
        [(name, _records(frame)) for name, frame in sheets.items()],
        buffer,
        freeze_panes={"general": {"row": 1, "col": 0}},
        column_widths={
            name: [_width(frame, col) for col in frame.columns] for name, frame in sheets.items()
        },
        column_formats={
            name: {col: money for col in frame.columns if col in _MONEY}
            for name, frame in sheets.items()
            if name == _DETAIL
        },
        header_format=dict.fromkeys(sheets, header),
        autofilter={name: True for name in sheets if name == _DETAIL},
    )
    return fixed_zip(buffer.getvalue(), edit=_fix_part, level=_DEFLATE_LEVEL)


_DETAIL = "奖补明细"
_CONSTRAINTS = "约束"
#: The sheet naming the files that hold the tables too long for a sheet, and its header.
ELSEWHERE = "明细文件"
ELSEWHERE_COLUMNS = ("明细", "行数", "文件")
# The library deflates the zip and fixed_zip deflates it again; zlib's fastest level takes a
# second less than its default on the 116 MB of XML of 184,000 awards, for a file a fifth
# larger (12.7 MB rather than 10.6 MB).
_DEFLATE_LEVEL = 1
# The awards sheet's money columns, shown with thousands separators.
_MONEY = frozenset(("测算金额（万元）", "奖补金额（万元）"))
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
# A number cell's value ends in ".0</v>" exactly when the library wrote a whole number (3.0,
# -12.0; it writes the shortest form that reads back, so 2.5 never ends in a 0). Text cells
# are inline strings (<is><t>...</t></is>) whose "<" is escaped, so they never hold "</v>".
_WHOLE_END, _INT_END = b".0</v>", b"</v>"


def _fix_part(name: str, content: bytes) -> bytes:
    """The fixed stamps of the document properties, and whole numbers written as integers."""
    if name == "docProps/core.xml":
        return _STAMP.sub(rb"\g<1>" + FIXED_TIME.encode() + rb"\g<2>", content)
    if name.startswith("xl/worksheets/"):
        return content.replace(_WHOLE_END, _INT_END)
    return content


def _records(frame: pd.DataFrame) -> pd.DataFrame | list[dict[str, Any]]:
    """A sheet's rows as the library takes them.

    A table whose every column has one type goes as it is, read column by column through
    Arrow; a column mixing text and numbers (the summary's 内容) cannot, and its few rows go
    as records, each value written by its own type.
    """
    if all(_one_type(frame[col]) for col in frame.columns):
        return frame
    return [dict(zip(frame.columns, row, strict=True)) for row in frame.itertuples(index=False)]


def _one_type(column: pd.Series) -> bool:
    """Whether the column holds values of one kind: numbers, booleans, or text and gaps."""
    if not pd.api.types.is_object_dtype(column.dtype):
        return True
    # All text: told in one pass in compiled code, without hashing a million names.
    if pd.api.types.infer_dtype(column, skipna=False) in ("string", "empty"):
        return True
    return all(v is None or isinstance(v, str) for v in column.unique())


def _workbook_sheets(
    doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets by name, in order, with Chinese headers."""
    summary = pd.DataFrame(
        [
            ("情景", doc["scenario"]),
            ("政策文件", doc["policy"]["title"]),
            ("文号", doc["policy"]["document_number"] or "（征求意见稿）"),
            ("求解状态", doc["status"]),
            ("分配规则", doc["rule"]),
            ("资金总额（万元）", doc["budget_wan"]),
            ("资金总额来源", "文件规定" if doc["budget_source"] == "document" else "情景设定"),
            ("测算总额（万元）", doc["total_claim_wan"]),
            ("奖补总额（万元）", doc["total_awarded_wan"]),
            ("对象数", doc["counts"]["recipients"]),
            ("符合条件的申报数", doc["counts"]["eligible_claims"]),
            ("获奖补的申报数", doc["counts"]["funded_claims"]),
            ("获奖补的对象数", doc["counts"]["funded_recipients"]),
        ],
        columns=["项目", "内容"],
    )
    summary["内容"] = summary["内容"].astype(object)
    # A table longer than a sheet holds is left out: its first million rows would take most
    # of the run's time and still not be the table. The summary and the totals stay; the
    # sheet 明细文件 says how many rows the table has and which file holds them all
    # (docs/outputs.md).
    elsewhere: list[tuple[str, int, str]] = []
    if len(awards) > EXCEL_MAX_ROWS:
        elsewhere.append((_DETAIL, len(awards), AWARDS))
        note = (
            f"奖补明细共 {len(awards):,} 行，超过 Excel 工作表行数上限，不列入本工作簿；"
            f"完整明细见 {AWARDS}"
        )
        summary.loc[len(summary)] = ["说明", note]
    if len(constraints) > EXCEL_MAX_ROWS:
        elsewhere.append((_CONSTRAINTS, len(constraints), CONSTRAINTS))
        note = (
            f"约束共 {len(constraints):,} 行，超过 Excel 工作表行数上限，不列入本工作簿；"
            f"完整约束见 {CONSTRAINTS}"
        )
        summary.loc[len(summary)] = ["说明", note]
    sheets = {"汇总": summary}
    if len(awards) <= EXCEL_MAX_ROWS:
        sheets[_DETAIL] = awards.rename(columns=_AWARD_ZH)
    sheets["按条款"] = pd.DataFrame(doc["totals"]["per_clause"]).rename(columns=_TOTAL_ZH)
    sheets["按县区"] = pd.DataFrame(doc["totals"]["per_district"]).rename(columns=_TOTAL_ZH)
    if len(constraints) <= EXCEL_MAX_ROWS:
        sheets[_CONSTRAINTS] = constraints.rename(columns=_CONSTRAINT_ZH)
    if elsewhere:
        sheets[ELSEWHERE] = pd.DataFrame(elsewhere, columns=list(ELSEWHERE_COLUMNS))
    return sheets


def _width(frame: pd.DataFrame, col: str) -> float:
    """A column width from the header and the first rows; CJK characters count double."""
    texts = [str(col), *frame[col].head(500).astype(str).tolist()]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts)
    return float(min(max(longest + 2, 8), 80))


__all__ = ["ELSEWHERE", "ELSEWHERE_COLUMNS", "EXCEL_MAX_ROWS", "FIXED_TIME", "workbook_bytes"]
