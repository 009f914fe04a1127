"""``awards.xlsx``: the run for a clerk, in Chinese, with byte-identical bytes for equal runs.

The workbook is written by XlsxWriter in ``constant_memory`` mode: one row at a time, each
row's XML flushed before the next, so 184,000 awards never sit in memory as cell objects.
Every text cell is written as text (``write_string``), never as a formula, a number or a
link, whatever it starts with: a firm named ``=HYPERLINK(...)`` stays a name. The document's
creation and modification stamps are fixed (:data:`FIXED_TIME`) and the zip entries carry the
fixed time and mode of :func:`allocator.core.files.fixed_zip`, so equal content gives equal
bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import tempfile
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from allocator.core.files import fixed_zip
from allocator.outputs.names import AWARDS

# The workbook's fixed creation and modification time, so that equal content gives equal bytes.
FIXED_TIME = "2000-01-01T00:00:00Z"
_FIXED_DATETIME = dt.datetime(2000, 1, 1, 0, 0, 0)
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

    Every sheet has its header row frozen and its column widths set from the header and the
    first rows; the awards sheet has an autofilter over all its rows and the money columns in
    the ``#,##0`` format. Text is written as text, numbers as numbers, missing values as empty
    cells.

    Parameters
    ----------
    doc:
        The content of ``result.json`` (:func:`allocator.outputs.result.result_document`).
    awards, constraints:
        The awards and constraints tables.

    Returns
    -------
    bytes
        The workbook; equal arguments give equal bytes.
    """
    sheets = _workbook_sheets(doc, awards, constraints)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="allocate-xlsx-") as tmp:
        book = xlsxwriter.Workbook(
            buffer,
            {
                "constant_memory": True,
                "tmpdir": tmp,
                # Text stays text: no formula, number or link is read into a string.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        book.set_properties({"created": _FIXED_DATETIME})
        header = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
        money = book.add_format({"num_format": "#,##0"})
        for name, frame in sheets.items():
            sheet = book.add_worksheet(name)
            formats = [money if str(col) in _MONEY else None for col in frame.columns]
            for n, col in enumerate(frame.columns):
                sheet.set_column(n, n, _width(frame, col), formats[n] if name == _DETAIL else None)
            sheet.freeze_panes(1, 0)
            if name == _DETAIL:
                sheet.autofilter(0, 0, max(len(frame), 1), frame.shape[1] - 1)
            _write_sheet(sheet, frame, header, formats if name == _DETAIL else None)
        book.close()
    return fixed_zip(buffer.getvalue())


_DETAIL = "奖补明细"
# The awards sheet's money columns, shown with thousands separators.
_MONEY = frozenset(("测算金额（万元）", "奖补金额（万元）"))


def _write_sheet(
    sheet: Worksheet, frame: pd.DataFrame, header: Format, formats: list[Format | None] | None
) -> None:
    """The header row and the data rows, one row at a time (``constant_memory``)."""
    for n, col in enumerate(frame.columns):
        sheet.write_string(0, n, str(col), header)
    fmt = formats or [None] * frame.shape[1]
    columns = [
        (n, _column_writer(sheet, frame.iloc[:, n]), frame.iloc[:, n].tolist(), fmt[n])
        for n in range(frame.shape[1])
    ]
    for r in range(len(frame)):
        for n, write, cells, cell_format in columns:
            write(r + 1, n, cells[r], cell_format)


def _column_writer(sheet: Worksheet, column: pd.Series) -> Any:
    """The writer that is right for every value of the column, the plainest one it can be.

    Integer columns go straight to ``write_number`` and text columns to ``write_string``
    (an empty text left as an empty cell); any other column is written value by value.
    """
    dtype = column.dtype
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return sheet.write_number
    if pd.api.types.is_object_dtype(dtype) and all(isinstance(v, str) for v in column.unique()):
        write_string = sheet.write_string

        def write_text(row: int, col: int, value: str, fmt: Format | None) -> None:
            if value:  # an empty text is an empty cell
                write_string(row, col, value, fmt)

        return write_text

    def write(row: int, col: int, value: Any, fmt: Format | None) -> None:
        _write_value(sheet, row, col, value, fmt)

    return write


def _write_value(sheet: Worksheet, row: int, col: int, value: Any, fmt: Format | None) -> None:
    """One cell by its Python type; text always as text, missing values left empty."""
    if value is None or value is pd.NA:
        return
    if isinstance(value, str):
        if value:
            sheet.write_string(row, col, value, fmt)
    elif isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, int | np.integer):
        sheet.write_number(row, col, int(value), fmt)
    elif isinstance(value, float | np.floating):
        if math.isfinite(value):
            sheet.write_number(row, col, float(value), fmt)
        elif not math.isnan(value):
            sheet.write_string(row, col, str(value), fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


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
    detail = awards
    if len(detail) > EXCEL_MAX_ROWS:
        detail = detail.iloc[:EXCEL_MAX_ROWS]
        note = f"奖补明细超过 Excel 行数上限，只列前 {EXCEL_MAX_ROWS} 行；完整明细见 {AWARDS}"
        summary.loc[len(summary)] = ["说明", note]
    per_clause = pd.DataFrame(doc["totals"]["per_clause"]).rename(columns=_TOTAL_ZH)
    per_district = pd.DataFrame(doc["totals"]["per_district"]).rename(columns=_TOTAL_ZH)
    cons = constraints.assign(binding=constraints["binding"].map({True: "是", False: "否"}))
    return {
        "汇总": summary,
        "奖补明细": detail.rename(columns=_AWARD_ZH),
        "按条款": per_clause,
        "按县区": per_district,
        "约束": cons.rename(columns=_CONSTRAINT_ZH),
    }


def _width(frame: pd.DataFrame, col: str) -> float:
    """A column width from the header and the first rows; CJK characters count double."""
    texts = [str(col), *frame[col].head(500).astype(str).tolist()]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts)
    return float(min(max(longest + 2, 8), 80))


__all__ = ["EXCEL_MAX_ROWS", "FIXED_TIME", "workbook_bytes"]
