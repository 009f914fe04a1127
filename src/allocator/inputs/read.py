"""Reading a data file into a raw table of text cells: CSV, XLSX or Parquet.

:func:`read_table` reads one file and finds its header row (and the template's unit row under
it); nothing is checked against the schema yet (:mod:`allocator.inputs.parse` does that).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.cells import ARROW_TEXT, HEADERS, cell_text, header_key, nonblank
from allocator.inputs.encoding import decode_text, utf8_body
from allocator.inputs.readfile import MIB, read_input
from allocator.inputs.schema import (
    Kind,
)
from allocator.inputs.xlsxcheck import check_xlsx_archive

IntArray = npt.NDArray[np.int64]

#: The largest data file read: far above a city's firms (100,000 firms are about 26 MB of
#: CSV), and a clear refusal rather than an exhausted machine beyond it.
MAX_DATA_BYTES = 512 * MIB
#: The longest cell, in characters: the csv module's own field limit (128 KiB); no field of
#: the schema comes near it.
MAX_CELL_CHARS = 128 * 1024

CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")

# What openpyxl raises on a damaged workbook: XML parse errors are SyntaxErrors, missing
# parts KeyErrors, bad values ValueErrors or TypeErrors, broken compression zlib errors.
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    SyntaxError,
    KeyError,
    OSError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    EOFError,
    zlib.error,
)

# How many rows at the top of a sheet may precede the header row (a title, a note).
_HEADER_SEARCH_ROWS = 10


@dataclass
class RawTable:
    """One file's cells before any checking: headers and a positional table of cells.

    ``cells`` columns are positions ``0..k-1``; values are ``str`` for CSV and XLSX and may be
    typed (numbers, booleans, timestamps) for Parquet. ``rows`` holds the spreadsheet row of
    each record.
    """

    headers: list[str]
    cells: pd.DataFrame
    rows: IntArray
    header_row: int = 1
    notes: list[str] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)  # found while reading, not fatal
    typed: bool = False  # cells may be numbers, flags, timestamps or missing (Parquet)
    strict_width: bool = False  # a cell right of the last header is an error (CSV)


def _read_csv(path: Path, label: str, data: bytes) -> pd.DataFrame | list[list[str]]:
    """Cells of a CSV as text (``""`` for an empty cell), a table or a list of rows."""
    body = utf8_body(data)
    if body is not None and body.strip():
        # A UTF-8 file goes to Arrow as it is: no text of the whole file is made in Python.
        fast = _read_csv_arrow(body, label)
        if fast is not None:
            return fast
    text = decode_text(data, label)
    if not text.strip():
        raise InputError([_empty(label)])
    # A GBK file, now as UTF-8 (a ragged UTF-8 file fails here again, and is read below).
    fast = _read_csv_arrow(text.encode("utf-8"), label)
    if fast is not None:
        return fast
    # Rows of different lengths (a title row, a blank line, a stray comma): read them as
    # they are; the header row decides which cells count.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        # The csv module's own limit on a field is MAX_CELL_CHARS (131,072 characters).
        raise InputError(
            [
                InputProblem(
                    file=label,
                    row=reader.line_num,
                    expected=_("cells of at most {count} characters, in valid CSV").format(
                        count=f"{MAX_CELL_CHARS:,}"
                    ),
                    found=str(exc),
                )
            ]
        ) from None


def _check_lengths(table: Any, label: str, first_row: int = 1) -> None:
    """Refuse a text cell longer than MAX_CELL_CHARS, naming its row and column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for pos, column in enumerate(table.columns):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        lengths = pc.utf8_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            at = pc.index(lengths, longest).as_py()
            raise InputError(
                [
                    InputProblem(
                        file=label,
                        row=first_row + at,
                        column=_("column {number}").format(number=pos + 1),
                        expected=_("a cell of at most {count} characters").format(
                            count=f"{MAX_CELL_CHARS:,}"
                        ),
                        found=_("{count} characters").format(count=f"{longest:,}"),
                    )
                ]
            )


def _read_csv_arrow(body: bytes, label: str) -> pd.DataFrame | None:
    """pyarrow's CSV reader: several times faster, but strict about every row's cell count.

    Returns None for a file it will not read (a blank line, a short row, bytes that are not
    UTF-8), which the more lenient reader then handles.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        line = body[: body.find(b"\n") + 1 or len(body)].decode("utf-8")
    except UnicodeDecodeError:
        return None
    first = next(csv.reader(io.StringIO(line)), [])
    names = [f"c{i}" for i in range(len(first))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                # Large strings: the form pandas keeps Arrow text in, so none is copied.
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, StopIteration):
        return None
    _check_lengths(table, label)
    # Arrow-backed text: the cells stay in Arrow's buffers, not one Python string each.
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.large_string(): ARROW_TEXT}.get)
    return frame.set_axis(range(frame.shape[1]), axis=1)


def _open_book(data: bytes, label: str, *, values: bool) -> Any:
    """The workbook in read-only mode: cached values (``values``) or formulas as written."""
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it drops (extensions, default styles);
            # none of them carries data.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=values)
    except _XLSX_ERRORS as exc:
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=_("an Excel .xlsx workbook"),
                    found=_("a file openpyxl cannot open ({error})").format(
                        error=f"{type(exc).__name__}: {exc}"
                    ),
                )
            ]
        ) from None


@dataclass
class _Sheet:
    """One sheet's rows as text, whether it is hidden, and the row of its header (or None)."""

    title: str
    rows: list[list[str]]
    hidden: bool
    header_at: int | None

    @property
    def firms(self) -> bool:
        """Whether there is a non-blank row below the header (and the template's unit row)."""
        if self.header_at is None:
            return False
        body = self.rows[self.header_at + 1 :]
        if body and _is_unit_row(self.rows[self.header_at], body[0]):
            body = body[1:]
        return any(any(v.strip() for v in row) for row in body)


def _read_xlsx(data: bytes, label: str) -> tuple[list[list[str]], list[InputProblem]]:
    """The rows of the workbook's data sheet (:func:`_choose_sheet`), and its formula cells
    without a saved value (:func:`_uncached_formulas`)."""
    from allocator.inputs.template import FIELDS_SHEET, LISTS_SHEET

    check_xlsx_archive(data, label)
    book = _open_book(data, label, values=True)
    try:
        sheets = []
        for sheet in book.worksheets:
            if sheet.title in (FIELDS_SHEET, LISTS_SHEET):
                continue  # the template's own field list and drop-down choices
            # Some writers record a wrong used range; without it every row is read.
            sheet.reset_dimensions()
            rows = _sheet_rows(sheet, label)
            sheets.append(
                _Sheet(sheet.title, rows, sheet.sheet_state != "visible", _header_at(rows))
            )
    except _XLSX_ERRORS as exc:
        # A sheet's XML is parsed only as its rows are read: malformed XML shows here.
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=_("an Excel .xlsx workbook whose sheets are well-formed XML"),
                    found=_("a sheet openpyxl cannot read ({error})").format(
                        error=f"{type(exc).__name__}: {exc}"[:300]
                    ),
                )
            ]
        ) from None
    finally:
        book.close()
    chosen = _choose_sheet(sheets, label)
    return chosen.rows, _uncached_formulas(data, label, chosen) if _has_formulas(data) else []


def _header_at(rows: list[list[str]]) -> int | None:
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if sum(header_key(v) in HEADERS for v in row) >= 2:
            return i
    return None


def _choose_sheet(sheets: list[_Sheet], label: str) -> _Sheet:
    """The sheet of firms: the template's data sheet, else the one visible sheet of firms.

    Firms on another sheet besides, two visible sheets of firms, or firms only on a hidden
    sheet are refused: reading one sheet and ignoring another would leave firms out without
    a word.
    """
    from allocator.inputs.template import DATA_SHEET

    names = ", ".join(s.title for s in sheets)
    with_firms = [s for s in sheets if s.firms]
    named = next((s for s in sheets if s.title == DATA_SHEET), None)
    if named is not None:
        others = [s for s in with_firms if s is not named]
        if others:
            raise InputError(
                [
                    InputProblem(
                        file=label,
                        expected=_(
                            "every firm on the sheet {sheet} the template names: move the rows "
                            "there, or delete the other sheet"
                        ).format(sheet=repr(DATA_SHEET)),
                        found=_("firm rows on the sheet {other} too (sheets: {sheets})").format(
                            other=repr(others[0].title), sheets=names
                        ),
                    )
                ]
            )
        return named
    visible = [s for s in with_firms if not s.hidden]
    if len(visible) > 1:
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=_(
                        "firms on one sheet only, named {sheet} as in the template; the file "
                        "does not say which sheet to read"
                    ).format(sheet=repr(DATA_SHEET)),
                    found=_("firm rows on {count} sheets: {sheets}").format(
                        count=len(visible), sheets=", ".join(repr(s.title) for s in visible)
                    ),
                )
            ]
        )
    if visible:
        return visible[0]
    if with_firms:
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=_(
                        "firms on a visible sheet (in Excel: right-click a sheet tab, Unhide)"
                    ),
                    found=_("firm rows only on the hidden sheet {sheet}").format(
                        sheet=repr(with_firms[0].title)
                    ),
                )
            ]
        )
    for sheet in sheets:
        if sheet.rows and not sheet.hidden:
            return sheet
    raise InputError(
        [
            InputProblem(
                file=label,
                expected=_("a sheet with a header row and one row per firm"),
                found=_("no sheet has any data (sheets: {sheets})").format(sheets=names),
            )
        ]
    )


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet of the archive holds a formula (a ``<f>`` element)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if (
                name.startswith("xl/worksheets/")
                and name.endswith(".xml")
                and re.search(rb"<(\w+:)?f[ >/]", archive.read(name))
            ):
                return True
    return False


def _uncached_formulas(data: bytes, label: str, sheet: _Sheet) -> list[InputProblem]:
    """A problem for each formula cell with no value saved with it.

    A workbook written by a program other than Excel (or saved by Excel before it computed)
    keeps a formula without its result; read as blank, the firm's figure would vanish.
    """
    from openpyxl.utils import get_column_letter

    book = _open_book(data, label, values=False)
    try:
        formulas = book[sheet.title]
        formulas.reset_dimensions()
        heads = sheet.rows[sheet.header_at] if sheet.header_at is not None else []
        found: list[InputProblem] = []
        for r, cells in enumerate(formulas.iter_rows()):
            for c, cell in enumerate(cells):
                text = cell.value
                if not (isinstance(text, str) and text.startswith("=")):
                    continue
                shown = sheet.rows[r][c] if r < len(sheet.rows) and c < len(sheet.rows[r]) else ""
                if shown != "":
                    continue
                head = heads[c] if c < len(heads) and heads[c] else get_column_letter(c + 1)
                found.append(
                    InputProblem(
                        file=label,
                        row=r + 1,
                        column=head,
                        expected=_(
                            "a value: the cell holds a formula whose result was never saved "
                            "(open the file in Excel and save it, or paste the values)"
                        ),
                        found=repr(text[:60]),
                    )
                )
    finally:
        book.close()
    return found


def _sheet_rows(sheet: Any, label: str) -> list[list[str]]:
    """All rows of a sheet as text, trailing blank rows dropped; [] when the sheet is empty."""
    header_keys: list[str] | None = None
    percent_cols: set[int] = set()
    out: list[list[str]] = []
    for cells in sheet.iter_rows():
        if header_keys is None and len(out) < _HEADER_SEARCH_ROWS:
            values = [cell_text(c.value) for c in cells]
            out.append(values)
            # Percentage-formatted cells need the column's kind; find it from the header.
            keys = [header_key(v) for v in values]
            known = [HEADERS.get(k) for k in keys]
            if sum(f is not None for f in known) >= 2:
                header_keys = keys
                percent_cols = {
                    i for i, f in enumerate(known) if f is not None and f.kind is Kind.PERCENT
                }
            continue
        out.append(
            [
                cell_text(
                    c.value,
                    percent=i in percent_cols
                    and isinstance(c.value, int | float)
                    and not isinstance(c.value, bool)
                    and "%" in (c.number_format or ""),
                )
                for i, c in enumerate(cells)
            ]
        )
        if any(len(v) > MAX_CELL_CHARS for v in out[-1]):
            at = next(i for i, v in enumerate(out[-1]) if len(v) > MAX_CELL_CHARS)
            raise InputError(
                [
                    InputProblem(
                        file=label,
                        row=len(out),
                        column=_("column {number}").format(number=at + 1),
                        expected=_("a cell of at most {count} characters").format(
                            count=f"{MAX_CELL_CHARS:,}"
                        ),
                        found=_("{count} characters").format(count=f"{len(out[-1][at]):,}"),
                    )
                ]
            )
    while out and not any(v.strip() for v in out[-1]):
        out.pop()
    return out


def _read_parquet(data: bytes, label: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises a family of its own errors
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=_("a Parquet file"),
                    found=_("a file pyarrow cannot read ({error})").format(
                        error=f"{type(exc).__name__}: {exc}"
                    )[:300],
                )
            ]
        ) from None
    for f in table.schema:
        if pa.types.is_nested(f.type) or (
            pa.types.is_dictionary(f.type) and pa.types.is_nested(f.type.value_type)
        ):
            raise InputError(
                [
                    InputProblem(
                        file=label,
                        row=1,
                        column=str(f.name),
                        expected=_(
                            "a column of plain values (text, numbers, dates or yes/no); a list "
                            "of clause ids is text such as '1;3'"
                        ),
                        found=_("a column of type {type}").format(type=f.type),
                    )
                ]
            )
    _check_lengths(table, label, first_row=2)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _raw_from_rows(rows: list[list[str]] | pd.DataFrame, label: str) -> RawTable:
    """Find the header row (and the template's unit row under it) in a grid of text."""
    grid = rows if isinstance(rows, pd.DataFrame) else _grid(rows)
    if grid.shape[0] == 0 or not any(nonblank(grid[c]).any() for c in grid.columns):
        raise InputError([_empty(label)])
    top = grid.head(_HEADER_SEARCH_ROWS)
    header_at = 0
    for i in range(len(top)):
        known = sum(header_key(str(v)) in HEADERS for v in top.iloc[i])
        if known >= 2:
            header_at = i
            break
    else:
        header_at = next(i for i in range(len(grid)) if any(_nonblank(v) for v in grid.iloc[i]))
    headers = [str(v).strip() for v in grid.iloc[header_at]]
    notes = []
    if header_at > 0:
        notes.append(
            _("{file}: rows 1-{last} above the header row {header} are ignored").format(
                file=label, last=header_at, header=header_at + 1
            )
        )
    first = header_at + 1
    if first < len(grid) and _is_unit_row(headers, list(grid.iloc[first])):
        first += 1
    body = grid.iloc[first:].reset_index(drop=True)
    row_numbers = np.arange(first + 1, first + 1 + len(body), dtype=np.int64)
    return RawTable(headers=headers, cells=body, rows=row_numbers, header_row=header_at + 1,
                notes=notes)  # fmt: skip


def _grid(rows: list[list[str]]) -> pd.DataFrame:
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_unit_row(headers: Sequence[str], cells: Sequence[Any]) -> bool:
    """Whether the row under the header describes the columns, as the template's row 2 does.

    The template writes ``output_2025q1 · 万元 · 选填``: a cell that starts with its column's
    field name (or Chinese header) or is just its unit. Most non-blank cells under recognised
    headers must look like that.
    """
    matched = nonblank = 0
    for head, cell in zip(headers, cells, strict=False):
        f = HEADERS.get(header_key(head))
        if f is None or not _nonblank(cell):
            continue
        nonblank += 1
        first = header_key(re.split(r"[·|/]", str(cell))[0])
        if first in (header_key(f.name), header_key(f.zh)) or (f.unit and first == f.unit):
            matched += 1
    return matched > 0 and 2 * matched >= nonblank


def _empty(label: str) -> InputProblem:
    return InputProblem(
        file=label,
        expected=_("a header row naming the columns, then one row per firm"),
        found=_("an empty file"),
    )


def read_table(path: Path, label: str) -> tuple[RawTable, bytes]:
    """Read one file into a raw table; raises InputError for problems that stop the file.

    The file must be a regular file of at most :data:`MAX_DATA_BYTES`; it is read once, and
    its bytes are both parsed and returned (for the provenance hash).
    """
    data = read_input(path, MAX_DATA_BYTES)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = _raw_from_rows(_read_csv(path, label, data), label)
        raw.strict_width = True
    elif suffix in XLSX_SUFFIXES:
        if not data:
            raise InputError([_empty(label)])
        rows, problems = _read_xlsx(data, label)
        raw = _raw_from_rows(rows, label)
        raw.problems = problems
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(data, label)
        raw = RawTable(
            headers=[str(c).strip() for c in frame.columns],
            cells=frame.set_axis(range(frame.shape[1]), axis=1).reset_index(drop=True),
            rows=np.arange(2, len(frame) + 2, dtype=np.int64),
            typed=True,
        )
    else:
        expected = (
            _("a .csv, .xlsx or .parquet file (save an .xls workbook as .xlsx)")
            if suffix == ".xls"
            else _("a .csv, .xlsx or .parquet file")
        )
        raise InputError(
            [
                InputProblem(
                    file=label,
                    expected=expected,
                    found=_("a {suffix} file").format(suffix=suffix)
                    if suffix
                    else _("a suffix-less file"),
                )
            ]
        )
    return raw, data


__all__ = [
    "CSV_SUFFIXES",
    "MAX_CELL_CHARS",
    "MAX_DATA_BYTES",
    "PARQUET_SUFFIXES",
    "XLSX_SUFFIXES",
    "RawTable",
    "read_table",
]
