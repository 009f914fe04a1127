"""``awards.xlsx``: the run for a clerk, in Chinese, with byte-identical bytes for equal runs."""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.files import fixed_zip
from allocator.outputs.names import AWARDS

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

    The bytes are those pandas and openpyxl write for these sheets. openpyxl spends about
    12 µs on each cell (23 s for the 1.8 million cells of 184,000 awards), so the data rows
    are written here instead (:func:`_sheet_rows`), in exactly the form openpyxl gives them,
    into a skeleton that openpyxl writes with the header rows alone (styles, column widths,
    frozen panes). A value openpyxl would treat specially (a formula, an error code, an
    illegal character, a float, a boolean) sends the whole workbook through openpyxl instead.
    """
    sheets = _workbook_sheets(doc, awards, constraints)
    widths = {name: [_width(frame, col) for col in frame.columns] for name, frame in sheets.items()}
    try:
        rows = {name: _sheet_rows(frame) for name, frame in sheets.items()}
        skeleton = _openpyxl_workbook({k: f.iloc[:0] for k, f in sheets.items()}, widths)
        parts = _fill_skeleton(skeleton, sheets, rows)
    except _NotPlainError:
        return _fixed_zip(_openpyxl_workbook(sheets, widths))
    # The rows go into the zip in chunks, never as one string: a sheet of 184,000 awards is
    # 110 million characters of XML.
    return _fixed_zip(skeleton, parts)


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


def _openpyxl_workbook(sheets: dict[str, pd.DataFrame], widths: dict[str, list[float]]) -> bytes:
    """The workbook as pandas and openpyxl write it (timestamps not yet fixed)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
            sheet = writer.sheets[name]
            for n, width in enumerate(widths[name]):
                sheet.column_dimensions[_column_letter(n)].width = width
    return buffer.getvalue()


class _NotPlainError(Exception):
    """A cell that :func:`_sheet_rows` does not write the way openpyxl would."""


# What openpyxl treats as other than plain text (openpyxl.cell.cell).
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_EMPTY_CELL = ' t="inlineStr" />'


def _cell_xml(value: Any) -> str:
    """A cell after its ``<c r="A2"``, as openpyxl writes the value pandas hands it."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return _EMPTY_CELL  # pandas writes missing values as ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, str | int | np.integer):
        raise _NotPlainError(repr(value))
    if not isinstance(value, str):
        return f' t="n"><v>{int(value):.16g}</v></c>'  # openpyxl: "%.16g"
    if value == "":
        return _EMPTY_CELL
    if (
        len(value) > 32767
        or _ILLEGAL_CHARACTERS.search(value)
        or (len(value) > 1 and value.startswith("="))
        or value in _ERROR_CODES
    ):
        raise _NotPlainError(value[:40])
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and stripped != value else ""
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _column_cells(column: pd.Series) -> list[str]:
    """Every cell of a column after its ``<c r="..."``, written once per distinct value."""
    if not (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(column.dtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or (
            pd.api.types.is_integer_dtype(column.dtype)
            and not pd.api.types.is_bool_dtype(column.dtype)
        )
    ):
        raise _NotPlainError(str(column.dtype))
    codes, uniques = pd.factorize(column)
    values = list(uniques)
    if not all(isinstance(v, str) for v in values) and pd.api.types.is_object_dtype(column.dtype):
        # 1, 1.0 and True are one value to factorize: look at every cell's own type.
        values = column.tolist()
        codes = np.arange(len(values))
    cells = np.array([*map(_cell_xml, values), _EMPTY_CELL], dtype=object)
    out: list[str] = cells[codes].tolist()  # code -1 (missing) takes the last
    return out


_ROWS_PER_CHUNK = 5_000


def _sheet_rows(frame: pd.DataFrame) -> Callable[[], Iterator[bytes]]:
    """The ``<row>`` elements of a sheet's data, rows 2 onwards, as openpyxl writes them.

    Every cell is checked here (:class:`_NotPlainError` for one openpyxl treats specially);
    the function returned then yields the rows as UTF-8, a few thousand at a time.
    """
    letters = [_column_letter(n) for n in range(frame.shape[1])]
    template = (
        '<row r="{0}">'
        + "".join(f'<c r="{letter}{{0}}"{{{n + 1}}}' for n, letter in enumerate(letters))
        + "</row>"
    )
    columns = [_column_cells(frame.iloc[:, n]) for n in range(frame.shape[1])]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(frame), _ROWS_PER_CHUNK):
            stop = min(start + _ROWS_PER_CHUNK, len(frame))
            cells = [column[start:stop] for column in columns]
            lines = range(start + 2, stop + 2)
            rows = itertools.starmap(template.format, zip(lines, *cells, strict=True))
            yield "".join(rows).encode("utf-8")

    return chunks


def _fill_skeleton(
    skeleton: bytes,
    sheets: dict[str, pd.DataFrame],
    rows: dict[str, Callable[[], Iterator[bytes]]],
) -> dict[str, Iterable[bytes]]:
    """The worksheets of the header-only ``skeleton`` with their data rows put in.

    openpyxl writes a header-only sheet with an empty row 2 (frozen panes create cell A2) and
    a dimension down to row 2; a sheet with rows has those rows there and the dimension down
    to its last row.
    """
    parts: dict[str, Iterable[bytes]] = {}
    with zipfile.ZipFile(io.BytesIO(skeleton)) as book:
        for n, (name, frame) in enumerate(sheets.items(), start=1):
            if frame.empty:
                continue
            part = f"xl/worksheets/sheet{n}.xml"
            xml = book.read(part).decode("utf-8")
            last = _column_letter(frame.shape[1] - 1)
            dimension = f'<dimension ref="A1:{last}2" />'
            empty_row = '<row r="2"></row></sheetData>'
            if xml.count(dimension) != 1 or xml.count(empty_row) != 1:
                raise _NotPlainError(f"{name}: unexpected skeleton")
            xml = xml.replace(dimension, f'<dimension ref="A1:{last}{len(frame) + 1}" />')
            head, tail = xml.split(empty_row)
            parts[part] = itertools.chain(
                [head.encode("utf-8")], rows[name](), [("</sheetData>" + tail).encode("utf-8")]
            )
    return parts


def _column_letter(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _width(frame: pd.DataFrame, col: str) -> float:
    """A column width from the header and the first rows; CJK characters count double."""
    texts = [str(col), *frame[col].head(500).astype(str).tolist()]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts)
    return float(min(max(longest + 2, 8), 80))


_STAMP = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes, parts: dict[str, Iterable[bytes]] | None = None) -> bytes:
    """Fix the workbook's timestamps: its document properties and the zip entries."""

    def stamp(name: str, content: bytes) -> bytes:
        if name == "docProps/core.xml":
            return _STAMP.sub(rb"\g<1>" + FIXED_TIME.encode() + rb"\g<3>", content)
        return content

    return fixed_zip(data, parts=parts, edit=stamp)


__all__ = ["EXCEL_MAX_ROWS", "FIXED_TIME", "workbook_bytes"]
