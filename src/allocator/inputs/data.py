"""Loading and validating enterprise data: one row per firm, every field of the schema.

:func:`load_enterprises` reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 as Excel in China
saves it), XLSX (the first sheet with data; the template's two header rows) and Parquet,
with English field names or Chinese headers, checks every cell against
:data:`allocator.inputs.schema.FIELDS` and either returns an :class:`EnterpriseData` whose frame
later stages use as is, or raises one :class:`~allocator.core.errors.InputError` listing every
problem found in every file.

Column types after loading (the contract the claims evaluator relies on):

========================= =========================================================
kind                      dtype and blank
========================= =========================================================
TEXT                      ``str``, ``""`` when blank
CATEGORY                  the canonical value (district: Chinese name; industry and
                          main product: the code), ``""`` when blank
BOOL                      ``bool``; a blank optional flag is ``False``
INT, MONEY, QUANTITY,     ``float64``, ``NaN`` when blank
PERCENT
DATE                      ``datetime64[ns]``, ``NaT`` when blank
LIST                      canonical ``"a;b"``, ``""`` when blank
========================= =========================================================

Checks run column by column over whole columns; only the rows that fail are visited one by
one, to word their messages.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, Problem
from allocator.inputs import creditcode
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    DISTRICTS,
    FIELD_BY_NAME,
    FIELDS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    Field,
    Kind,
)

IntArray = npt.NDArray[np.int64]

# Above this, amounts in 万元 (and volumes) could overflow the integer arithmetic of the
# optimisation model once scaled; no real firm comes near it.
MAX_VALUE = 1e12

CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")

# How many rows at the top of a sheet may precede the header row (a title, a note).
_HEADER_SEARCH_ROWS = 10

_TEXTUAL_KINDS = (Kind.TEXT, Kind.CATEGORY, Kind.LIST)

# Spellings of "not a number" that some tools write into numeric cells. They are refused,
# not read as blank: a blank cell is how a file says "unknown".
_NAN_LITERALS = frozenset(
    {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity",
     "na", "n/a", "#n/a", "null", "none", "#div/0!", "#value!", "#num!", "#ref!"}
)  # fmt: skip

_TRUE = ("是", "y", "yes", "true", "t", "1", "1.0", "√", "✓", "✔")
_FALSE = ("否", "n", "no", "false", "f", "0", "0.0", "×", "✗", "✘")
_BOOLS: dict[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
# Exact spellings to 1.0/0.0, looked up for a whole column before any normalising.
_BOOLS_EXACT: dict[str, float] = {
    form: float(value) for key, value in _BOOLS.items() for form in (key, key.upper(), key.title())
}

_LIST_SEPARATORS = re.compile(r"[;；,，、]")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"
_DATE_YMD = r"^(\d{4})-(\d{1,2})-(\d{1,2})$"
_DATE_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_EXCEL_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
# Excel's 1900 date system counts days from 1899-12-30 (it keeps Lotus' false 1900-02-29).
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_DATE_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31"))


def header_key(text: str) -> str:
    """The form a header is matched in: NFKC, no whitespace, lower case.

    NFKC folds full-width letters, digits and brackets into their ASCII forms, so
    ``（含螺蛳粉）`` and ``(含螺蛳粉)`` match, as do ``Output_2025Q1`` and ``output_2025q1``.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


_HEADERS: dict[str, Field] = {}
for _f in FIELDS:
    _HEADERS[header_key(_f.name)] = _f
    _HEADERS[header_key(_f.zh)] = _f

# Accepted spellings (in header_key form) of each category, to the canonical value.
_CATEGORY_SPELLINGS: dict[str, dict[str, str]] = {
    "district": {
        **{header_key(zh): zh for zh in DISTRICTS},
        **{header_key(en): zh for zh, en in DISTRICTS.items()},
        **{header_key(alias): zh for alias, zh in DISTRICT_ALIASES.items()},
    },
    "industry": {
        **{header_key(code): code for code in INDUSTRIES},
        **{header_key(label): code for code, label in INDUSTRIES.items()},
    },
    "main_product": {
        **{header_key(code): code for code in MAIN_PRODUCTS},
        **{header_key(label): code for code, label in MAIN_PRODUCTS.items()},
    },
}
# Exact spellings, looked up for a whole column at once before any normalising.
_CATEGORY_EXACT: dict[str, dict[str, str]] = {
    "district": {**{zh: zh for zh in DISTRICTS}, **{en: zh for zh, en in DISTRICTS.items()},
                 **DISTRICT_ALIASES},
    "industry": {**{c: c for c in INDUSTRIES}, **{label: c for c, label in INDUSTRIES.items()}},
    "main_product": {**{c: c for c in MAIN_PRODUCTS},
                     **{label: c for c, label in MAIN_PRODUCTS.items()}},
}  # fmt: skip
_CATEGORY_EXPECTED: dict[str, str] = {
    "district": "one of the counties/districts "
    + "、".join(DISTRICTS)
    + " (or the English names "
    + ", ".join(DISTRICTS.values())
    + ")",
    "industry": "one of the industry codes or labels "
    + ", ".join(f"{code} ({label})" for code, label in INDUSTRIES.items()),
    "main_product": "one of the main-product codes or labels "
    + ", ".join(f"{code} ({label})" for code, label in MAIN_PRODUCTS.items()),
}


@dataclass(frozen=True)
class EnterpriseData:
    """Enterprise data as loaded and validated: what every later stage reads.

    Attributes
    ----------
    frame:
        One row per firm, index ``0..n-1``, one column per schema field in schema order
        (fields no file had are filled blank). Column types as in the module docstring.
    files:
        The files read, in the order given.
    sha256:
        Hex SHA-256 of each file's bytes, for provenance stamps.
    present:
        Names of the fields at least one file had a column for.
    row_numbers:
        Spreadsheet row number of each record in its file (``int64``), for messages.
    source_file:
        Index into ``files`` of each record's file (``int64``).
    warnings:
        Things worth a look that are not errors (unknown columns, rows above the header).
    """

    frame: pd.DataFrame
    files: tuple[Path, ...]
    sha256: tuple[str, ...]
    present: frozenset[str]
    row_numbers: IntArray
    source_file: IntArray
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    def locate(self, index: int) -> tuple[str, int]:
        """File and spreadsheet row of record ``index``, for a message."""
        return str(self.files[int(self.source_file[index])]), int(self.row_numbers[index])


# --------------------------------------------------------------------------------------------
# Reading files into raw tables
# --------------------------------------------------------------------------------------------


@dataclass
class _Raw:
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


def _decode(data: bytes, label: str) -> str:
    """Bytes of a CSV to text: UTF-8 (with or without BOM), else GB18030 (a superset of GBK).

    A file that is mostly UTF-8 but holds a few invalid bytes is refused rather than read as
    GB18030: that reading would succeed and silently turn every Chinese character into
    another one.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        # UTF-16 (Excel's "Unicode text") would decode as GB18030 into nonsense.
        raise InputError(
            [
                Problem(
                    file=label,
                    row=1,
                    expected="text encoded as UTF-8 or GBK/GB18030 (in Excel: Save As "
                    "'CSV UTF-8' or 'CSV (逗号分隔)')",
                    found="UTF-16 text or binary data (zero bytes)",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    as_utf8 = data.decode("utf-8", errors="replace")
    damaged = as_utf8.count("\ufffd")
    multibyte = len(re.findall(r"[^\x00-\x7f\ufffd]", as_utf8))
    # Text in GBK read as UTF-8 fails at nearly every Chinese character and decodes almost
    # none; UTF-8 with a few damaged bytes decodes most of its characters.
    if multibyte <= 2 * damaged:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            error = exc
            reading = "GBK/GB18030"
    else:
        error, reading = utf8_error, "UTF-8"
    offset = error.start
    bad = data[offset : offset + 4].hex(" ").upper()
    line = data.count(b"\n", 0, offset) + 1
    raise InputError(
        [
            Problem(
                file=label,
                row=line,
                expected="text encoded as UTF-8 or GBK/GB18030 (in Excel: Save As "
                "'CSV UTF-8' or 'CSV (逗号分隔)')",
                found=f"bytes {bad} at byte offset {offset}, invalid in {reading}",
            )
        ]
    )


def _read_csv(path: Path, label: str, data: bytes) -> pd.DataFrame | list[list[str]]:
    """Cells of a CSV as text (``""`` for an empty cell), a table or a list of rows."""
    text = _decode(data, label)
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


def _cell_text(value: Any, percent: bool = False) -> str:
    """One spreadsheet or Parquet cell as the text a CSV export would hold.

    Floats are written in their shortest exact form, so that reading the text back gives the
    same float; whole floats lose their ``.0`` as Excel shows them. A cell formatted as a
    percentage stores a fraction (0.45 for 45%); it becomes ``45%``.
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return f"{int(value) * 100}%" if percent else str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if v != v:  # NaN: a missing value in a typed column
            return ""
        if percent:
            return _float_text(round(v * 100, 10)) + "%"
        return _float_text(v)
    if isinstance(value, pd.Timestamp | dt.datetime):
        if pd.isna(value):
            return ""
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return ""
    return str(value)


def _float_text(v: float) -> str:
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


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
            values = [_cell_text(c.value) for c in cells]
            out.append(values)
            # Percentage-formatted cells need the column's kind; find it from the header.
            keys = [header_key(v) for v in values]
            known = [_HEADERS.get(k) for k in keys]
            if sum(f is not None for f in known) >= 2:
                header_keys = keys
                percent_cols = {
                    i for i, f in enumerate(known) if f is not None and f.kind is Kind.PERCENT
                }
            continue
        out.append(
            [
                _cell_text(
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


def _raw_from_rows(rows: list[list[str]] | pd.DataFrame, label: str) -> _Raw:
    """Find the header row (and the template's unit row under it) in a grid of text."""
    grid = rows if isinstance(rows, pd.DataFrame) else _grid(rows)
    if grid.shape[0] == 0 or not any((grid[c].to_numpy() != "").any() for c in grid.columns):
        raise InputError([_empty(label)])
    top = grid.head(_HEADER_SEARCH_ROWS)
    header_at = 0
    for i in range(len(top)):
        known = sum(header_key(str(v)) in _HEADERS for v in top.iloc[i])
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
    return _Raw(headers=headers, cells=body, rows=row_numbers, header_row=header_at + 1,
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
        f = _HEADERS.get(header_key(head))
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


def _read(path: Path, label: str) -> tuple[_Raw, bytes]:
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
        raw = _Raw(
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


# --------------------------------------------------------------------------------------------
# Parsing and checking columns
# --------------------------------------------------------------------------------------------


class _Bad(IntEnum):
    """Why a cell failed; 0 means it is fine."""

    OK = 0
    MISSING = 1  # blank in a required column
    TYPE = 2  # not a value of the column's kind
    NAN = 3  # a NaN/inf literal
    NEGATIVE = 4
    OVER_100 = 5
    TOO_LARGE = 6
    NOT_WHOLE = 7
    CATEGORY = 8
    CREDIT_CODE = 9
    DATE_RANGE = 10


def _expected(f: Field, why: _Bad) -> str:
    what = {
        Kind.TEXT: "text",
        Kind.CATEGORY: _CATEGORY_EXPECTED.get(f.name, "one of " + ", ".join(f.choices)),
        Kind.BOOL: "是 or 否 (also Y/N, yes/no, true/false, 1/0, √)",
        Kind.INT: "a whole number",
        Kind.MONEY: "an amount in 万元 such as 1234.5 or 1,234.5",
        Kind.QUANTITY: f"a quantity in {f.unit} such as 1234.5" if f.unit else "a number",
        Kind.PERCENT: "a share in per cent from 0 to 100, such as 45 or 45%",
        Kind.DATE: "a date such as 2024-04-01, 2024/4/1, 20240401 or an Excel date",
        Kind.LIST: "items separated by ';'",
    }[f.kind]
    return {
        _Bad.MISSING: f"a value, as the column is required: {what}",
        _Bad.TYPE: what,
        _Bad.NAN: f"{what}; NaN, inf and N/A are not values (leave the cell blank if unknown)",
        _Bad.NEGATIVE: "a value of 0 or more",
        _Bad.OVER_100: "a share in per cent from 0 to 100",
        _Bad.TOO_LARGE: f"a value of at most {MAX_VALUE:.0e}",
        _Bad.NOT_WHOLE: "a whole number",
        _Bad.CATEGORY: what,
        _Bad.CREDIT_CODE: "an 18-character unified social credit code (GB 32100-2015)",
        _Bad.DATE_RANGE: "a date between 1900 and 2100",
    }[why]


@dataclass
class _Column:
    """A parsed column: values (the frame's dtype), and a reason code per row."""

    values: npt.NDArray[Any]
    bad: npt.NDArray[np.int8]
    detail: dict[int, str] = field(default_factory=dict)  # row position -> extra words


def _cells(raw: pd.Series) -> npt.NDArray[np.object_]:
    """A raw column as an object array of ``str``, not yet trimmed.

    CSV and XLSX columns already are; typed (Parquet) values become the text a CSV export
    would hold, one by one (such columns are rare: a typed column of the right kind takes a
    faster path).
    """
    if pd.api.types.infer_dtype(raw, skipna=False) in ("string", "empty"):
        return raw.to_numpy(dtype=object)
    return np.array([_cell_text(v) for v in raw], dtype=object)


def _arrow_text(cells: npt.NDArray[np.object_]) -> pd.Series:
    # Arrow-backed strings run str methods in compiled code, not a Python loop per cell.
    return pd.Series(cells, dtype="string[pyarrow]").str.strip()


def _parse_text(f: Field, raw: pd.Series) -> _Column:
    text = _arrow_text(_cells(raw))
    if f.name == "credit_code":
        # Full-width characters and lower case are typing accidents, not other codes.
        text = text.str.normalize("NFKC").str.replace(r"\s+", "", regex=True).str.upper()
    values = text.to_numpy(dtype=object)
    bad = np.zeros(len(values), dtype=np.int8)
    blank = values == ""
    if f.required:
        bad[blank] = _Bad.MISSING
    detail: dict[int, str] = {}
    if f.name == "credit_code":
        invalid = ~creditcode.validate_series(pd.Series(values)) & ~blank
        bad[invalid] = _Bad.CREDIT_CODE
        for i in np.flatnonzero(invalid):
            why = creditcode.explain(values[i]) or ""
            if re.fullmatch(r"\d(\.\d+)?E\+\d+|\d{15,}", values[i]):
                why += " (Excel stored the code as a number; format the column as text and "
                why += "type the code again)"
            detail[int(i)] = why
    return _Column(values, bad, detail)


def _parse_category(f: Field, raw: pd.Series) -> _Column:
    cells = _cells(raw)
    spellings = _CATEGORY_SPELLINGS.get(f.name) or {header_key(c): c for c in f.choices}
    exact = _CATEGORY_EXACT.get(f.name) or {c: c for c in f.choices}
    canonical = sorted(set(exact.values()))
    number = {c: float(i) for i, c in enumerate(canonical)}
    codes = pd.Series(cells).map({k: number[v] for k, v in exact.items()}).to_numpy(np.float64)
    blank = cells == ""
    bad = np.zeros(len(cells), dtype=np.int8)
    # Only cells not spelled exactly as an accepted form are normalised, one by one.
    for i in np.flatnonzero(np.isnan(codes) & ~blank):
        key = header_key(cells[i])
        if key == "":
            blank[i] = True
        elif key in spellings:
            codes[i] = number[spellings[key]]
        else:
            bad[i] = _Bad.CATEGORY
    if f.required:
        bad[blank] = _Bad.MISSING
    lookup = np.array([*canonical, ""], dtype=object)
    values = lookup[np.where(np.isnan(codes), len(canonical), codes).astype(np.int64)]
    return _Column(values, bad)


def _parse_list(f: Field, raw: pd.Series) -> _Column:
    cells = _cells(raw)
    values = np.full(len(cells), "", dtype=object)
    todo = np.flatnonzero(cells != "")
    if todo.size:
        canonical = (
            _arrow_text(cells[todo])
            .str.replace(_LIST_SEPARATORS.pattern, ";", regex=True)
            .str.replace(r"\s*;\s*", ";", regex=True)
            .str.replace(r";{2,}", ";", regex=True)
            .str.strip(";")
            .str.strip()
        )
        values[todo] = canonical.to_numpy(dtype=object)
    bad = np.zeros(len(values), dtype=np.int8)
    if f.required:
        bad[values == ""] = _Bad.MISSING
    return _Column(values, bad)


def _parse_bool(f: Field, raw: pd.Series) -> _Column:
    n = len(raw)
    bad = np.zeros(n, dtype=np.int8)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return _Column(raw.to_numpy(dtype=bool), bad)
    cells = _cells(raw)
    codes = pd.Series(cells).map(_BOOLS_EXACT).to_numpy(dtype=np.float64)
    blank = cells == ""
    for i in np.flatnonzero(np.isnan(codes) & ~blank):
        key = cells[i].strip().lower()
        if key == "":
            blank[i] = True
        elif key in _BOOLS:
            codes[i] = _BOOLS[key]
        else:
            bad[i] = _Bad.TYPE
    if f.required:
        bad[blank] = _Bad.MISSING
    return _Column(codes == 1, bad)


def _parse_number(f: Field, raw: pd.Series) -> _Column:
    n = len(raw)
    bad = np.zeros(n, dtype=np.int8)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad[np.isinf(values)] = _Bad.NAN
        blank = np.isnan(values)
    else:
        cells = _cells(raw)
        blank = cells == ""
        values = np.full(n, np.nan)
        todo = np.flatnonzero(~blank)
        if todo.size:
            # to_numeric tolerates surrounding spaces but also reads 'nan' and 'inf'.
            values[todo] = pd.to_numeric(pd.Series(cells[todo]), errors="coerce").to_numpy(
                dtype=np.float64
            )
        for i in np.flatnonzero(~blank & ~np.isfinite(values)):
            cell = str(cells[i]).strip()
            values[i] = np.nan
            if cell == "":
                blank[i] = True
            elif cell.lower() in _NAN_LITERALS:
                bad[i] = _Bad.NAN
            else:
                value = _lenient_number(cell, percent=f.kind is Kind.PERCENT)
                if value is None:
                    bad[i] = _Bad.TYPE
                else:
                    values[i] = value
    ok = ~blank & (bad == 0)
    with np.errstate(invalid="ignore"):
        if f.kind is Kind.INT:
            bad[ok & (np.floor(values) != values)] = _Bad.NOT_WHOLE
        if f.kind is Kind.PERCENT:
            bad[ok & (values > 100)] = _Bad.OVER_100
        bad[ok & (values > MAX_VALUE)] = _Bad.TOO_LARGE
        if f.nonnegative:
            bad[ok & (values < 0)] = _Bad.NEGATIVE
    if f.required:
        bad[blank] = _Bad.MISSING
    values[bad > 0] = np.nan
    return _Column(values, bad)


def _lenient_number(cell: str, *, percent: bool) -> float | None:
    """Numbers pandas does not read: thousands separators, full-width digits, '45%'."""
    text = unicodedata.normalize("NFKC", cell).replace(" ", "")
    if percent and text.endswith("%"):
        text = text[:-1]
    if "," in text:
        if not _THOUSANDS.match(text):
            return None
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _parse_date(f: Field, raw: pd.Series) -> _Column:
    n = len(raw)
    bad = np.zeros(n, dtype=np.int8)
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = pd.to_datetime(raw).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        blank = np.isnat(values)
    else:
        cells = _cells(raw)
        blank = cells == ""
        todo = np.flatnonzero(~blank)
        if todo.size:
            values[todo] = pd.to_datetime(
                pd.Series(cells[todo]), format="%Y-%m-%d", errors="coerce"
            ).to_numpy(dtype="datetime64[ns]")
        rest = np.flatnonzero(~blank & np.isnat(values))
        if rest.size:
            text = _arrow_text(cells[rest]).astype(object)
            blank[rest[(text == "").to_numpy()]] = True
            values[rest] = _dates_from_text(text)
            bad[rest[np.isnat(values[rest]) & ~blank[rest]]] = _Bad.TYPE
    in_range = (values >= _DATE_RANGE[0].to_datetime64()) & (
        values <= _DATE_RANGE[1].to_datetime64()
    )
    bad[~blank & (bad == 0) & ~in_range] = _Bad.DATE_RANGE
    if f.required:
        bad[blank] = _Bad.MISSING
    values[bad > 0] = np.datetime64("NaT")
    return _Column(values, bad)


def _dates_from_text(text: pd.Series) -> npt.NDArray[np.datetime64]:
    """Dates as 2024-04-01, 2024/4/1, 2024.4.1, 2024年4月1日, 20240401 or an Excel serial."""
    t = (
        text.str.normalize("NFKC")
        .str.replace(_TIME_SUFFIX, "", regex=True)
        .str.replace(r"[/.年月]", "-", regex=True)
        .str.replace("日", "", regex=False)
        .str.strip()
    )
    out = np.full(len(t), np.datetime64("NaT"), dtype="datetime64[ns]")
    for pattern in (_DATE_YMD, _DATE_COMPACT):
        parts = t.str.extract(pattern)
        hit = parts[0].notna().to_numpy() & np.isnat(out)
        if hit.any():
            ymd = parts[hit].astype(int).set_axis(["year", "month", "day"], axis=1)
            out[hit] = pd.to_datetime(ymd, errors="coerce").to_numpy(dtype="datetime64[ns]")
    serial = t.str.fullmatch(_EXCEL_SERIAL).to_numpy(dtype=bool) & np.isnat(out)
    serial &= ~t.str.fullmatch(r"\d{8}").to_numpy(dtype=bool)
    if serial.any():
        days = np.floor(t[serial].astype(float).to_numpy()).astype(np.int64)
        out[serial] = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    return out


_PARSERS: dict[Kind, Callable[[Field, pd.Series], _Column]] = {
    Kind.TEXT: _parse_text,
    Kind.CATEGORY: _parse_category,
    Kind.LIST: _parse_list,
    Kind.BOOL: _parse_bool,
    Kind.INT: _parse_number,
    Kind.MONEY: _parse_number,
    Kind.QUANTITY: _parse_number,
    Kind.PERCENT: _parse_number,
    Kind.DATE: _parse_date,
}


def _blank_column(f: Field, n: int) -> npt.NDArray[Any]:
    if f.kind in _TEXTUAL_KINDS:
        return np.full(n, "", dtype=object)
    if f.kind is Kind.BOOL:
        return np.zeros(n, dtype=bool)
    if f.kind is Kind.DATE:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return np.full(n, np.nan, dtype=np.float64)


@dataclass
class _Parsed:
    """One file, checked: its fields' values, and where each field's column was."""

    label: str
    columns: dict[str, npt.NDArray[Any]]
    headers: dict[str, str]  # field name -> header as written
    rows: IntArray
    warnings: list[str]
    order: dict[str, int]  # header as written -> its position, to sort messages by


def _check_file(raw: _Raw, label: str, problems: list[Problem]) -> _Parsed:
    """Map headers to fields and check every cell; append what is wrong to ``problems``."""
    warns = list(raw.notes)
    # Blank records (a spreadsheet's trailing empty rows, blank lines) are not firms.
    cells = raw.cells
    filled = np.zeros(len(cells), dtype=bool)
    for pos in range(cells.shape[1]):
        values = cells[pos].to_numpy()
        if values.dtype != object:
            filled |= pd.notna(values)
        elif raw.typed:
            filled |= pd.notna(values) & (values != "")
        else:
            filled |= values != ""
    if not filled.all():
        cells = cells[filled].reset_index(drop=True)
    rows = raw.rows[filled]
    n = len(cells)

    by_field: dict[str, int] = {}
    headers: dict[str, str] = {}
    unknown: list[str] = []
    width = max((pos + 1 for pos, head in enumerate(raw.headers) if head), default=0)
    if raw.strict_width and cells.shape[1] > width:
        # In a CSV, a cell beyond the last header is a row shifted by an unquoted comma.
        beyond = (cells.iloc[:, width:].to_numpy() != "").any(axis=1)
        for i in np.flatnonzero(beyond):
            used = max(int(p) for p in np.flatnonzero(cells.iloc[i].to_numpy() != "")) + 1
            problems.append(
                Problem(
                    file=label,
                    row=int(rows[i]),
                    column=f"column {used}",
                    expected=f"at most {width} cells, as many as the header names (a comma "
                    "inside a cell needs quotes)",
                    found=f"{used} cells",
                )
            )
    for pos, head in enumerate(raw.headers):
        if head == "":
            if pos < cells.shape[1] and (cells[pos].to_numpy() != "").any():
                warns.append(f"{label}: column {pos + 1} has data but no header; it is ignored")
            continue
        key = header_key(head)
        f = _HEADERS.get(key) or _HEADERS.get(header_key(re.split(r"[·|]", head)[0]))
        if f is None:
            unknown.append(head)
            continue
        if f.name in by_field:
            problems.append(
                Problem(
                    file=label,
                    row=raw.header_row,
                    column=head,
                    expected=f"each field once; column {headers[f.name]!r} is already "
                    f"field {f.name} ({f.zh})",
                    found="the same field twice",
                )
            )
            continue
        by_field[f.name] = pos
        headers[f.name] = head
    if unknown:
        warns.append(
            f"{label}: columns not in the schema are ignored: " + ", ".join(map(repr, unknown))
        )
    for f in FIELDS:
        if f.required and f.name not in by_field:
            problems.append(
                Problem(
                    file=label,
                    row=raw.header_row,
                    column=f.name,
                    expected=f"a column headed {f.zh!r} or {f.name!r}: the field is required",
                    found="no such column",
                )
            )

    columns: dict[str, npt.NDArray[Any]] = {}
    for name, pos in by_field.items():
        f = FIELD_BY_NAME[name]
        col = _PARSERS[f.kind](f, cells[pos])
        columns[name] = col.values
        for i in np.flatnonzero(col.bad):
            why = _Bad(int(col.bad[i]))
            cell = cells[pos].iat[int(i)]
            found = repr(_cell_text(cell).strip()) if why is not _Bad.MISSING else "a blank cell"
            expected = _expected(f, why)
            if i in col.detail:
                expected += f": {col.detail[int(i)]}"
            problems.append(
                Problem(
                    file=label,
                    row=int(rows[i]),
                    column=headers[name],
                    expected=expected,
                    found=found,
                )
            )
        if f.kind is Kind.PERCENT and n:
            finite = col.values[np.isfinite(col.values)]
            if finite.size >= 3 and finite.max() <= 1:
                warns.append(
                    f"{label}: column {headers[name]!r} is in per cent (45 for 45%) but no "
                    "value exceeds 1; check the values are not fractions"
                )
    return _Parsed(
        label=label,
        columns=columns,
        headers=headers,
        rows=rows,
        warnings=warns,
        order={h: i for i, h in reversed(list(enumerate(raw.headers)))},
    )


def _duplicates(parsed: Sequence[_Parsed], problems: list[Problem]) -> None:
    """Report every credit code used by more than one record, naming the first one."""
    if not parsed:
        return
    codes = np.concatenate([p.columns.get("credit_code", np.full(len(p.rows), "", dtype=object))
                            for p in parsed])  # fmt: skip
    which = np.concatenate([np.full(len(p.rows), k, dtype=np.int64) for k, p in enumerate(parsed)])
    rows = np.concatenate([p.rows for p in parsed])
    series = pd.Series(codes)
    repeated = series.duplicated(keep="first").to_numpy() & (codes != "")
    if not repeated.any():
        return
    first = series.drop_duplicates(keep="first")
    first_at = pd.Series(first.index.to_numpy(), index=first.to_numpy())
    for i in np.flatnonzero(repeated):
        j = int(first_at[codes[i]])
        a, b = parsed[int(which[j])], parsed[int(which[i])]
        where = f"row {rows[j]}" if a is b else f"{a.label} row {rows[j]}"
        problems.append(
            Problem(
                file=b.label,
                row=int(rows[i]),
                column=b.headers["credit_code"],
                expected=f"a credit code no other firm has; {where} has it too",
                found=repr(codes[i]),
            )
        )


def load_enterprises(*paths: Path | str) -> EnterpriseData:
    """Load, check and combine enterprise data files.

    Parameters
    ----------
    *paths:
        CSV, XLSX or Parquet files, read in order and concatenated.

    Returns
    -------
    EnterpriseData
        The combined table and its provenance.

    Raises
    ------
    InputError
        Listing every problem of every file: unreadable or empty files, missing required
        columns, cells of the wrong kind, blanks where required, negative amounts, shares
        beyond 0..100, invalid or repeated credit codes, unknown districts, industries or
        main products, NaN/inf literals, values beyond :data:`MAX_VALUE`.
    """
    if not paths:
        raise InputError("at least one enterprise data file", file="<command line>")
    files = tuple(Path(p) for p in paths)
    problems: list[Problem] = []
    parsed: list[_Parsed] = []
    digests: list[str] = []
    for path in files:
        label = str(path)
        try:
            raw, data = _read(path, label)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        digests.append(hashlib.sha256(data).hexdigest())
        parsed.append(_check_file(raw, label, problems))
    _duplicates(parsed, problems)
    if problems:
        # A clerk works down a sheet: file by file, row by row, left to right.
        files_at = {str(p): k for k, p in reversed(list(enumerate(files)))}
        columns_at = {p.label: p.order for p in parsed}
        problems.sort(
            key=lambda q: (
                files_at.get(q.file, 0),
                q.row or 0,
                columns_at.get(q.file, {}).get(q.column or "", -1),
            )
        )
        raise InputError(problems)

    n = sum(len(p.rows) for p in parsed)
    frame = pd.DataFrame(
        {
            f.name: np.concatenate(
                [p.columns.get(f.name, _blank_column(f, len(p.rows))) for p in parsed]
            )
            if parsed
            else _blank_column(f, 0)
            for f in FIELDS
        },
        index=pd.RangeIndex(n),
    )
    return EnterpriseData(
        frame=frame,
        files=files,
        sha256=tuple(digests),
        present=frozenset(name for p in parsed for name in p.columns),
        row_numbers=np.concatenate([p.rows for p in parsed]).astype(np.int64)
        if parsed
        else np.zeros(0, dtype=np.int64),
        source_file=np.concatenate(
            [np.full(len(p.rows), k, dtype=np.int64) for k, p in enumerate(parsed)]
        )
        if parsed
        else np.zeros(0, dtype=np.int64),
        warnings=tuple(w for p in parsed for w in p.warnings),
    )


__all__ = [
    "CSV_SUFFIXES",
    "MAX_VALUE",
    "PARQUET_SUFFIXES",
    "XLSX_SUFFIXES",
    "EnterpriseData",
    "header_key",
    "load_enterprises",
]
