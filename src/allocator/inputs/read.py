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
from allocator.inputs.schema import (
    Kind,
)

IntArray = npt.NDArray[np.int64]

CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")

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
    fast = _read_csv_arrow(text)
    if fast is not None:
        return fast
    # Rows of different lengths (a title row, a blank line, a stray comma): read them as
    # they are; the header row decides which cells count.
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_csv_arrow(text: str) -> pd.DataFrame | None:
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
    frame: pd.DataFrame = table.to_pandas()
    return frame.set_axis(range(frame.shape[1]), axis=1)


def _read_xlsx(path: Path, label: str) -> list[list[str]]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it drops (extensions, default styles);
            # none of them carries data.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
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
            rows = _sheet_rows(sheet)
            if rows:
                return rows
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


def _sheet_rows(sheet: Any) -> list[list[str]]:
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
    while out and not any(v.strip() for v in out[-1]):
        out.pop()
    return out


def _read_parquet(path: Path, label: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises a family of its own errors
        raise InputError(
            [
                Problem(
                    file=label,
                    expected="a Parquet file",
                    found=f"a file pyarrow cannot read ({type(exc).__name__}: {exc})",
                )
            ]
        ) from None
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
    """Read one file into a raw table; raises InputError for problems that stop the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            [Problem(file=label, expected="an existing file", found="no such file")]
        ) from None
    except OSError as exc:
        raise InputError(
            [Problem(file=label, expected="a readable file", found=exc.strerror or str(exc))]
        ) from None
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = _raw_from_rows(_read_csv(path, label, data), label)
        raw.strict_width = True
    elif suffix in XLSX_SUFFIXES:
        if not data:
            raise InputError([_empty(label)])
        raw = _raw_from_rows(_read_xlsx(path, label), label)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path, label)
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


__all__ = ["CSV_SUFFIXES", "PARQUET_SUFFIXES", "XLSX_SUFFIXES", "RawTable", "read_table"]
