"""Parsing and checking a column of cells against its schema field, a whole column at once.

Each parser of :data:`PARSERS` takes a field and a raw column and returns a :class:`Column`:
the values in the frame's dtype (module docstring of :mod:`allocator.inputs.data`) and a
reason code (:class:`Bad`) per row; only the rows that fail are visited one by one, to word
their messages (:func:`expected_text`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.i18n import _
from allocator.inputs import creditcode
from allocator.inputs.cells import arrow_cells, cell_text, header_key
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    DISTRICTS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    MAX_VALUE,
    Field,
    Kind,
)

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

_EXPLAINED = 200
# The characters themselves, not escapes, so that Python's and pyarrow's regular expressions
# read the class alike: C0 and C1 controls, and the marks that reorder or hide text
# (left-to-right/right-to-left marks, embeddings, overrides, isolates).
_CONTROL_CHARS = "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_LIST_SEPARATORS = re.compile(r"[;；,，、]")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$"
_DATE_YMD = r"^(\d{4})-(\d{1,2})-(\d{1,2})$"
_DATE_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_EXCEL_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
# Excel's 1900 date system counts days from 1899-12-30 (it keeps Lotus' false 1900-02-29).
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_DATE_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2100-12-31"))


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


def _category_expected(name: str) -> str | None:
    """What a district, industry or main-product cell should hold, in the reader's language."""
    if name == "district":
        return _("one of the counties/districts {names} (or the English names {english})").format(
            names="、".join(DISTRICTS), english=", ".join(DISTRICTS.values())
        )
    if name == "industry":
        return _("one of the industry codes or labels {choices}").format(
            choices=", ".join(f"{code} ({label})" for code, label in INDUSTRIES.items())
        )
    if name == "main_product":
        return _("one of the main-product codes or labels {choices}").format(
            choices=", ".join(f"{code} ({label})" for code, label in MAIN_PRODUCTS.items())
        )
    return None


class Bad(IntEnum):
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
    CONTROL = 11


def expected_text(f: Field, why: Bad) -> str:
    """What a cell of field ``f`` should hold, worded for the reason ``why`` it failed."""
    kinds = {
        Kind.TEXT: lambda: _("text"),
        Kind.CATEGORY: lambda: (
            _category_expected(f.name) or _("one of {choices}").format(choices=", ".join(f.choices))
        ),
        Kind.BOOL: lambda: _("是 or 否 (also Y/N, yes/no, true/false, 1/0, √)"),
        Kind.INT: lambda: _("a whole number"),
        Kind.MONEY: lambda: _("an amount in 万元 such as 1234.5 or 1,234.5"),
        Kind.QUANTITY: lambda: (
            _("a quantity in {unit} such as 1234.5").format(unit=f.unit)
            if f.unit
            else _("a number")
        ),
        Kind.PERCENT: lambda: _("a share in per cent from 0 to 100, such as 45 or 45%"),
        Kind.DATE: lambda: _("a date such as 2024-04-01, 2024/4/1, 20240401 or an Excel date"),
        Kind.LIST: lambda: _("items separated by ';'"),
    }
    what = kinds[f.kind]()
    if why is Bad.MISSING:
        return _("a value, as the column is required: {what}").format(what=what)
    if why is Bad.NAN:
        return _(
            "{what}; NaN, inf and N/A are not values (leave the cell blank if unknown)"
        ).format(what=what)
    if why in (Bad.TYPE, Bad.CATEGORY):
        return what
    return {
        Bad.NEGATIVE: lambda: _("a value of 0 or more"),
        Bad.OVER_100: lambda: _("a share in per cent from 0 to 100"),
        Bad.TOO_LARGE: lambda: _("a value of at most {limit}").format(limit=f"{MAX_VALUE:.0e}"),
        Bad.NOT_WHOLE: lambda: _("a whole number"),
        Bad.CREDIT_CODE: lambda: _("an 18-character unified social credit code (GB 32100-2015)"),
        Bad.DATE_RANGE: lambda: _("a date between 1900 and 2100"),
        Bad.CONTROL: lambda: _(
            "text without control characters (tab, line break, NUL, escape, direction "
            "overrides); retype the cell"
        ),
    }[why]()


@dataclass
class Column:
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
    return np.array([cell_text(v) for v in raw], dtype=object)


def _arrow_text(cells: npt.NDArray[np.object_]) -> pd.Series:
    # Arrow-backed strings run str methods in compiled code, not a Python loop per cell.
    return pd.Series(cells, dtype="string[pyarrow]").str.strip()


def _parse_text(f: Field, raw: pd.Series) -> Column:
    text = raw.str.strip() if arrow_cells(raw) is not None else _arrow_text(_cells(raw))
    if f.name == "credit_code":
        # Full-width characters and lower case are typing accidents, not other codes.
        text = text.str.normalize("NFKC").str.replace(r"\s+", "", regex=True).str.upper()
    values = text.to_numpy(dtype=object)
    bad = np.zeros(len(values), dtype=np.int8)
    blank = values == ""
    if f.required:
        bad[blank] = Bad.MISSING
    # A control character in a name reaches the workbook, the report and the terminal, where
    # it hides or reorders text (a bidi override) or breaks the file (a NUL).
    controls = text.str.contains(_CONTROL_CHARS, regex=True).to_numpy(dtype=bool, na_value=False)
    bad[controls] = Bad.CONTROL
    detail: dict[int, str] = {}
    if f.name == "credit_code":
        invalid = ~creditcode.validate_series(pd.Series(values)) & ~blank
        bad[invalid] = Bad.CREDIT_CODE
        # Only as many as a message lists are explained (allocator.inputs.data.MAX_REPORTED).
        for i in np.flatnonzero(invalid)[:_EXPLAINED]:
            why = creditcode.explain(values[i]) or ""
            if re.fullmatch(r"\d(\.\d+)?E\+\d+|\d{15,}", values[i]):
                why += _(
                    " (Excel stored the code as a number; format the column as text and type "
                    "the code again)"
                )
            detail[int(i)] = why
    return Column(values, bad, detail)


def _by_spelling(
    cells: npt.NDArray[np.object_],
    rows: npt.NDArray[np.intp],
    judge: Callable[[str], tuple[float, Bad, bool]],
    values: npt.NDArray[Any],
    bad: npt.NDArray[np.int8],
    blank: npt.NDArray[np.bool_],
) -> None:
    """Judge the cells at ``rows`` one distinct spelling at a time, writing the results in place.

    ``judge`` maps a cell's text to its value (NaN when none), why it is bad (``Bad.OK``
    when it is not) and whether it is blank after all. A million rows of the same junk cost
    one call, not a million.
    """
    found, distinct = pd.factorize(pd.Series(cells[rows], dtype=object))
    judged = [judge(str(cell)) for cell in distinct]
    values[rows] = np.array([v for v, _, _ in judged], dtype=np.float64)[found]
    bad[rows] = np.array([int(w) for _, w, _ in judged], dtype=np.int8)[found]
    blank[rows] = np.array([e for _, _, e in judged], dtype=bool)[found]


def _distinct(raw: pd.Series) -> tuple[npt.NDArray[np.intp], list[str]]:
    """The column as codes into its distinct texts.

    A yes/no or category column of a million rows has a handful of spellings: each is judged
    once, and Arrow text makes no Python string per row.
    """
    cells = arrow_cells(raw)
    if cells is None:
        codes, uniques = pd.factorize(pd.Series(_cells(raw), dtype=object))
        return np.asarray(codes, dtype=np.intp), [str(v) for v in uniques]
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(cells)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    return codes, [str(v) for v in encoded.dictionary.to_pylist()]


def _spread(
    codes: npt.NDArray[np.intp], judged: list[tuple[float, Bad, bool]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Per-row values, reasons and blanks from the judgement of each distinct text."""
    values = np.array([v for v, _, _ in judged] or [np.nan], dtype=np.float64)[codes]
    bad = np.array([int(w) for _, w, _ in judged] or [0], dtype=np.int8)[codes]
    blank = np.array([e for _, _, e in judged] or [True], dtype=bool)[codes]
    return values, bad, blank


def _parse_category(f: Field, raw: pd.Series) -> Column:
    spellings = _CATEGORY_SPELLINGS.get(f.name) or {header_key(c): c for c in f.choices}
    exact = _CATEGORY_EXACT.get(f.name) or {c: c for c in f.choices}
    canonical = sorted(set(exact.values()))
    number = {c: float(i) for i, c in enumerate(canonical)}

    # A cell spelled exactly as an accepted form is taken as it is; others are normalised.
    def judge(cell: str) -> tuple[float, Bad, bool]:
        if cell == "":
            return np.nan, Bad.OK, True
        if cell in exact:
            return number[exact[cell]], Bad.OK, False
        key = header_key(cell)
        if key == "":
            return np.nan, Bad.OK, True
        if key in spellings:
            return number[spellings[key]], Bad.OK, False
        return np.nan, Bad.CATEGORY, False

    codes, texts = _distinct(raw)
    found, bad, blank = _spread(codes, [judge(t) for t in texts])
    if f.required:
        bad[blank] = Bad.MISSING
    lookup = np.array([*canonical, ""], dtype=object)
    return Column(lookup[np.where(np.isnan(found), len(canonical), found).astype(np.int64)], bad)


def _parse_list(f: Field, raw: pd.Series) -> Column:
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
        bad[values == ""] = Bad.MISSING
    return Column(values, bad)


def _parse_bool(f: Field, raw: pd.Series) -> Column:
    n = len(raw)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return Column(raw.to_numpy(dtype=bool), np.zeros(n, dtype=np.int8))

    def judge(cell: str) -> tuple[float, Bad, bool]:
        if cell in _BOOLS_EXACT:
            return _BOOLS_EXACT[cell], Bad.OK, False
        key = cell.strip().lower()
        if key == "":
            return np.nan, Bad.OK, True
        if key in _BOOLS:
            return float(_BOOLS[key]), Bad.OK, False
        return np.nan, Bad.TYPE, False

    codes, texts = _distinct(raw)
    found, bad, blank = _spread(codes, [judge(t) for t in texts])
    if f.required:
        bad[blank] = Bad.MISSING
    return Column(found == 1, bad)


def _parse_number(f: Field, raw: pd.Series) -> Column:
    n = len(raw)
    bad = np.zeros(n, dtype=np.int8)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad[np.isinf(values)] = Bad.NAN
        blank = np.isnan(values)
    else:
        plain = _plain_numbers(raw)
        if plain is None:
            cells = _cells(raw)
            blank = cells == ""
            values = np.full(n, np.nan)
            _read_numbers(f, cells, np.flatnonzero(~blank), values, bad, blank)
        else:
            # Only the cells that are not plain decimals become Python strings.
            values, todo, blank = plain
            if todo.size:
                some = np.asarray(_texts_at(raw, todo), dtype=object)
                some_values, some_bad = values[todo], bad[todo]
                some_blank = np.zeros(len(todo), dtype=bool)
                _read_numbers(f, some, np.arange(len(todo)), some_values, some_bad, some_blank)
                values[todo], bad[todo], blank[todo] = some_values, some_bad, some_blank
    ok = ~blank & (bad == 0)
    with np.errstate(invalid="ignore"):
        if f.kind is Kind.INT:
            bad[ok & (np.floor(values) != values)] = Bad.NOT_WHOLE
        if f.kind is Kind.PERCENT:
            bad[ok & (values > 100)] = Bad.OVER_100
        bad[ok & (values > MAX_VALUE)] = Bad.TOO_LARGE
        if f.nonnegative:
            bad[ok & (values < 0)] = Bad.NEGATIVE
    if f.required:
        bad[blank] = Bad.MISSING
    values[bad > 0] = np.nan
    return Column(values, bad)


def _read_numbers(
    f: Field,
    cells: npt.NDArray[np.object_],
    todo: npt.NDArray[np.intp],
    values: npt.NDArray[np.float64],
    bad: npt.NDArray[np.int8],
    blank: npt.NDArray[np.bool_],
) -> None:
    """Read the non-empty text cells at ``todo``, writing values, reasons and blanks in place."""
    if todo.size:
        # to_numeric tolerates surrounding spaces but also reads 'nan' and 'inf'.
        values[todo] = pd.to_numeric(pd.Series(cells[todo]), errors="coerce").to_numpy(
            dtype=np.float64
        )

    # The cells pandas did not read: thousands separators, full-width digits, '45%'.
    def judge(text: str) -> tuple[float, Bad, bool]:
        cell = text.strip()
        if cell == "":
            return np.nan, Bad.OK, True
        if cell.lower() in _NAN_LITERALS:
            return np.nan, Bad.NAN, False
        value = _lenient_number(cell, percent=f.kind is Kind.PERCENT)
        if value is None:
            return np.nan, Bad.TYPE, False
        return value, Bad.OK, False

    unread = todo[~np.isfinite(values[todo])]
    _by_spelling(cells, unread, judge, values, bad, blank)


# A plain decimal, as a data export writes numbers: read in compiled code, the same float as
# pandas reads (both round the decimal to the nearest double).
_PLAIN_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"


def _plain_numbers(
    raw: pd.Series,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], npt.NDArray[np.bool_]] | None:
    """Arrow text read as numbers where a cell is a plain decimal.

    Returns the values (NaN where a cell is not plain), the rows of the other non-empty cells,
    and which cells are empty; None when the column is not Arrow text.
    """
    cells = arrow_cells(raw)
    if cells is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.fill_null(pc.match_substring_regex(cells, _PLAIN_NUMBER), False)
    numbers = pc.cast(pc.if_else(plain, cells, pa.scalar(None, cells.type)), pa.float64())
    values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64).copy()
    empty = np.asarray(
        pc.fill_null(pc.equal(cells, ""), True).to_numpy(zero_copy_only=False), dtype=bool
    )
    is_plain = np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool)
    return values, np.flatnonzero(~is_plain & ~empty), empty


def _texts_at(raw: pd.Series, rows: npt.NDArray[np.intp]) -> list[str]:
    """The text of the cells at ``rows`` of an Arrow text column."""
    cells = arrow_cells(raw)
    assert cells is not None
    return [str(v) for v in cells.take(rows).to_pylist()]


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


def _parse_date(f: Field, raw: pd.Series) -> Column:
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
            bad[rest[np.isnat(values[rest]) & ~blank[rest]]] = Bad.TYPE
    in_range = (values >= _DATE_RANGE[0].to_datetime64()) & (
        values <= _DATE_RANGE[1].to_datetime64()
    )
    bad[~blank & (bad == 0) & ~in_range] = Bad.DATE_RANGE
    if f.required:
        bad[blank] = Bad.MISSING
    values[bad > 0] = np.datetime64("NaT")
    return Column(values, bad)


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


PARSERS: dict[Kind, Callable[[Field, pd.Series], Column]] = {
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


def blank_column(f: Field, n: int) -> npt.NDArray[Any]:
    if f.kind in _TEXTUAL_KINDS:
        return np.full(n, "", dtype=object)
    if f.kind is Kind.BOOL:
        return np.zeros(n, dtype=bool)
    if f.kind is Kind.DATE:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return np.full(n, np.nan, dtype=np.float64)


__all__ = ["PARSERS", "Bad", "Column", "blank_column", "expected_text"]
