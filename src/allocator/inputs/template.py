"""The Excel template a clerk fills in: one sheet of data, one sheet describing the fields.

Sheet ``企业数据`` has two header rows: row 1 the Chinese header of every schema field, row 2
the English field name, the unit and whether the field is required
(``output_2025q1 · 万元 · 选填``). Panes are frozen below the headers and right of the firm's
name; districts, industries, main products and yes/no flags have drop-down lists; the credit
code column is formatted as text so that Excel cannot turn an all-digit code into a rounded
number. Sheet ``字段说明`` lists every field. The loader recognises row 2 and skips it, so a
filled-in template loads as it is, and an empty one loads as a valid table of no firms.

The workbook's bytes depend only on the schema (and the rows written into it): timestamps are
fixed, so a regenerated template is byte-identical.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from allocator.core.files import fixed_zip
from allocator.core.i18n import _
from allocator.inputs.dictionary import description, group_title, kind_name, required_word
from allocator.inputs.schema import DISTRICTS, FIELDS, INDUSTRIES, MAIN_PRODUCTS, Field, Kind

DATA_SHEET = "企业数据"
FIELDS_SHEET = "字段说明"
LISTS_SHEET = "选项"
HEADER_ROWS = 2
# Drop-downs and formats cover this many data rows; Excel applies nothing beyond them.
TEMPLATE_ROWS = 5000
_FIXED_TIME = dt.datetime(2026, 1, 1)

_KIND_HINT = {
    Kind.BOOL: "是/否",
    Kind.DATE: "日期",
    Kind.LIST: "以;分隔",
    Kind.CATEGORY: "下拉选择",
}
_NUMBER_FORMATS = {
    Kind.TEXT: "@",
    Kind.MONEY: "#,##0.00",
    Kind.QUANTITY: "#,##0.##",
    Kind.INT: "0",
    Kind.PERCENT: "0.0",
    Kind.DATE: "yyyy-mm-dd",
}
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")


def unit_label(f: Field) -> str:
    """Row 2 of the template for a field: ``name · unit · 必填/选填``."""
    parts = [f.name]
    unit = f.unit or _KIND_HINT.get(f.kind, "")
    if unit:
        parts.append(unit)
    parts.append("必填" if f.required else "选填")
    return " · ".join(parts)


def _width(text: str) -> float:
    # CJK characters take about two columns of Excel's width unit.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _lists() -> dict[str, list[str]]:
    return {
        "district": list(DISTRICTS),
        "industry": list(INDUSTRIES.values()),
        "main_product": list(MAIN_PRODUCTS.values()),
    }


def _cell_value(f: Field, value: Any) -> Any:
    """A loaded frame's value as a spreadsheet cell."""
    if f.kind is Kind.BOOL:
        return "是" if value else "否"
    if f.kind is Kind.DATE:
        return None if pd.isna(value) else pd.Timestamp(value).date()
    if f.kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST):
        return value or None
    v = float(value)
    if math.isnan(v):
        return None
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def workbook_bytes(frame: pd.DataFrame | None = None, *, note: str = "") -> bytes:
    """The template as .xlsx bytes, empty or holding the rows of ``frame``.

    Parameters
    ----------
    frame:
        Optional firms to write below the header rows, one column per schema field as
        :func:`allocator.inputs.data.load_enterprises` returns them.
    note:
        Words for the workbook's description property (e.g. that the data is synthetic).

    Returns
    -------
    bytes
        The workbook; the same input gives the same bytes.
    """
    book = Workbook(write_only=True)
    book.properties.creator = "allocate"
    book.properties.title = _("Enterprise data template")
    book.properties.created = _FIXED_TIME
    book.properties.modified = _FIXED_TIME
    if note:
        book.properties.description = note
    _data_sheet(book, _rows(frame) if frame is not None else ())
    _fields_sheet(book)
    _lists_sheet(book)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).save()
    return fixed_zip(buffer.getvalue())


def _rows(frame: pd.DataFrame) -> Iterable[list[Any]]:
    columns = [frame[f.name].to_numpy() for f in FIELDS]
    for i in range(len(frame)):
        yield [_cell_value(f, col[i]) for f, col in zip(FIELDS, columns, strict=True)]


def _data_sheet(book: Workbook, rows: Iterable[Sequence[Any]]) -> None:
    ws = book.create_sheet(DATA_SHEET)
    ws.freeze_panes = "C3"  # headers stay on top, credit code and name on the left
    last = HEADER_ROWS + TEMPLATE_ROWS
    lists = _lists()
    list_cols = {name: get_column_letter(i + 1) for i, name in enumerate(lists)}
    yes_no = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    yes_no.error = _("Choose 是 or 否")
    validations = {"bool": yes_no}
    for name, values in lists.items():
        col = list_cols[name]
        dv = DataValidation(
            type="list",
            formula1=f"'{LISTS_SHEET}'!${col}$1:${col}${len(values)}",
            allow_blank=True,
        )
        dv.error = _("Choose from the drop-down list")
        validations[name] = dv
    for i, f in enumerate(FIELDS, start=1):
        letter = get_column_letter(i)
        width = max(_width(f.zh), _width(unit_label(f)) * 0.9, 10)
        ws.column_dimensions[letter].width = min(width + 2, 40)
        fmt = _NUMBER_FORMATS.get(f.kind)
        if fmt:
            ws.column_dimensions[letter].number_format = fmt
        target = f.name if f.name in validations else "bool" if f.kind is Kind.BOOL else None
        if target:
            validations[target].add(f"{letter}{HEADER_ROWS + 1}:{letter}{last}")
    for dv in validations.values():
        ws.data_validations.append(dv)

    head, unit = [], []
    for f in FIELDS:
        c1 = WriteOnlyCell(ws, value=f.zh)
        c1.font = Font(bold=True)
        c1.fill = _REQUIRED_FILL if f.required else _HEAD_FILL
        c1.alignment = Alignment(wrap_text=True, vertical="center")
        c2 = WriteOnlyCell(ws, value=unit_label(f))
        c2.font = Font(color="666666", size=9)
        head.append(c1)
        unit.append(c2)
    ws.append(head)
    ws.append(unit)
    text_cols = [i for i, f in enumerate(FIELDS) if f.kind is Kind.TEXT]
    for row in rows:
        # Text cells keep the text format, so Excel leaves an all-digit credit code alone.
        cells: list[Any] = list(row)
        for i in text_cols:
            if cells[i] is not None:
                cell = WriteOnlyCell(ws, value=cells[i])
                cell.number_format = "@"
                cells[i] = cell
        ws.append(cells)


def _fields_sheet(book: Workbook) -> None:
    ws = book.create_sheet(FIELDS_SHEET)
    ws.freeze_panes = "A2"
    head = [
        _("Column"),
        _("Chinese header"),
        _("Field name"),
        _("Type"),
        _("Unit"),
        _("Required"),
        _("Group"),
        _("Description"),
        _("Clauses"),
    ]
    widths = [6, 40, 30, 8, 10, 6, 14, 80, 40]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    cells = []
    for text in head:
        c = WriteOnlyCell(ws, value=text)
        c.font = Font(bold=True)
        c.fill = _HEAD_FILL
        cells.append(c)
    ws.append(cells)
    for i, f in enumerate(FIELDS, start=1):
        ws.append(
            [
                get_column_letter(i),
                f.zh,
                f.name,
                kind_name(f.kind),
                f.unit,
                required_word(f.required),
                group_title(f.group),
                description(f),
                " ".join(f.clauses),
            ]
        )


def _lists_sheet(book: Workbook) -> None:
    ws = book.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    columns = list(_lists().values())
    depth = max(len(c) for c in columns)
    for r in range(depth):
        ws.append([c[r] if r < len(c) else None for c in columns])


__all__ = ["DATA_SHEET", "FIELDS_SHEET", "HEADER_ROWS", "unit_label", "workbook_bytes"]
