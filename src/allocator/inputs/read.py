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

from allocator.core.errors import InputError, Problem
from allocator.inputs.cells import HEADERS, cell_text, header_key
from allocator.inputs.encoding import decode_text
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
    typed: bool = False  # cells may be numbers, flags, timestamps or missing (Parquet)
    strict_width: bool = False  # a cell right of the last header is an error (CSV)


def _read_csv(path: Path, label: str, data: bytes) -> pd.DataFrame | list[list[str]]:
    """Cells of a CSV as text (``""`` for an empty cell), a table or a list of rows."""
    text = decode_text(data, label)
    if not text.strip():
        raise InputError([_empty(label)])
    fast = _read_csv_arrow(text, label)
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
                Problem(
                    file=label,
                    row=reader.line_num,
                    expected=f"cells of at most {MAX_CELL_CHARS:,} characters, in valid CSV",
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
                    Problem(
                        file=label,
                        row=first_row + at,
                        column=f"column {pos + 1}",
                        expected=f"a cell of at most {MAX_CELL_CHARS:,} characters",
                        found=f"{longest:,} characters",
                    )
                ]
            )


def _read_csv_arrow(text: str, label: str) -> pd.DataFrame | None:
    """pyarrow's CSV reader: several times faster, but strict about every row's cell count.

    Returns None for a file it will not read (a blank line, a short row), which the more
    lenient pandas reader then handles.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or len(text)])), [])
    names = [f"c{i}" for i in range(len(first))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, StopIteration):
        return None
    _check_lengths(table, label)
    frame: pd.DataFrame = table.to_pandas()
    return frame.set_axis(range(frame.shape[1]), axis=1)


def _read_xlsx(data: bytes, label: str) -> list[list[str]]:
    import openpyxl

    check_xlsx_archive(data, label)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it drops (extensions, default styles);
            # none of them carries data.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise InputError(
            [
                Problem(
                    file=label,
                    expected="an Excel .xlsx workbook",
                    found=f"a file openpyxl cannot open ({type(exc).__name__}: {exc})",
                )
            ]
        ) from None
    try:
        names = []
        for sheet in book.worksheets:
            names.append(sheet.title)
            # Some writers record a wrong used range; without it every row is read.
            sheet.reset_dimensions()
            rows = _sheet_rows(sheet, label)
            if rows:
                return rows
    except _XLSX_ERRORS as exc:
        # A sheet's XML is parsed only as its rows are read: malformed XML shows here.
        raise InputError(
            [
                Problem(
                    file=label,
                    expected="an Excel .xlsx workbook whose sheets are well-formed XML",
                    found=f"a sheet openpyxl cannot read ({type(exc).__name__}: {exc})"[:300],
                )
            ]
        ) from None
    finally:
        book.close()
    raise InputError(
        [
            Problem(
                file=label,
                expected="a sheet with a header row and one row per firm",
                found="no sheet has any data (sheets: " + ", ".join(names) + ")",
            )
        ]
    )


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
                    Problem(
                        file=label,
                        row=len(out),
                        column=f"column {at + 1}",
                        expected=f"a cell of at most {MAX_CELL_CHARS:,} characters",
                        found=f"{len(out[-1][at]):,} characters",
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
                Problem(
                    file=label,
                    expected="a Parquet file",
                    found=f"a file pyarrow cannot read ({type(exc).__name__}: {exc})"[:300],
                )
            ]
        ) from None
    for f in table.schema:
        if pa.types.is_nested(f.type) or (
            pa.types.is_dictionary(f.type) and pa.types.is_nested(f.type.value_type)
        ):
            raise InputError(
                [
                    Problem(
                        file=label,
                        row=1,
                        column=str(f.name),
                        expected="a column of plain values (text, numbers, dates or yes/no); "
                        "a list of clause ids is text such as '1;3'",
                        found=f"a column of type {f.type}",
                    )
                ]
            )
    _check_lengths(table, label, first_row=2)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _raw_from_rows(rows: list[list[str]] | pd.DataFrame, label: str) -> RawTable:
    """Find the header row (and the template's unit row under it) in a grid of text."""
    grid = rows if isinstance(rows, pd.DataFrame) else _grid(rows)
    if grid.shape[0] == 0 or not any((grid[c].to_numpy() != "").any() for c in grid.columns):
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
            f"{label}: rows 1-{header_at} above the header row {header_at + 1} are ignored"
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


def _empty(label: str) -> Problem:
    return Problem(
        file=label,
        expected="a header row naming the columns, then one row per firm",
        found="an empty file",
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
        raw = _raw_from_rows(_read_xlsx(data, label), label)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(data, label)
        raw = RawTable(
            headers=[str(c).strip() for c in frame.columns],
            cells=frame.set_axis(range(frame.shape[1]), axis=1).reset_index(drop=True),
            rows=np.arange(2, len(frame) + 2, dtype=np.int64),
            typed=True,
        )
    else:
        hint = " (save an .xls workbook as .xlsx)" if suffix == ".xls" else ""
        raise InputError(
            [
                Problem(
                    file=label,
                    expected="a .csv, .xlsx or .parquet file" + hint,
                    found=f"a {suffix or 'suffix-less'} file",
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
