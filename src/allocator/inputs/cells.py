"""Cells and headers as text: the one form every reader hands on and every check matches.

:func:`header_key` folds a header (or a category spelling) to the form it is matched in;
:data:`HEADERS` maps that form of each field's English and Chinese name to the field;
:func:`cell_text` writes a spreadsheet or Parquet value as the text a CSV export would hold.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.schema import (
    FIELDS,
    Field,
)


def header_key(text: str) -> str:
    """The form a header is matched in: NFKC, no whitespace, lower case.

    NFKC folds full-width letters, digits and brackets into their ASCII forms, so
    ``（含螺蛳粉）`` and ``(含螺蛳粉)`` match, as do ``Output_2025Q1`` and ``output_2025q1``.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


HEADERS: dict[str, Field] = {}
for _f in FIELDS:
    HEADERS[header_key(_f.name)] = _f
    HEADERS[header_key(_f.zh)] = _f


def cell_text(value: Any, percent: bool = False) -> str:
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


#: How a reader hands on a column of text cells: Arrow-backed, so that a million cells are
#: one buffer rather than a million Python strings.
ARROW_TEXT = pd.StringDtype("pyarrow")


def arrow_cells(column: pd.Series) -> Any | None:
    """The column's cells as a pyarrow string array, when the reader stored them so.

    Returns None for a column of Python objects (an XLSX sheet, a CSV read row by row) or of
    typed values (Parquet); those take the per-cell paths.
    """
    if column.dtype != ARROW_TEXT:
        return None
    import pyarrow as pa

    cells = pa.array(column.array)
    return cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells


def nonblank(column: pd.Series, *, typed: bool = False) -> npt.NDArray[np.bool_]:
    """Which cells of a raw column hold something: not ``""``, and not missing when typed."""
    cells = arrow_cells(column)
    if cells is not None:
        import pyarrow.compute as pc

        filled = pc.fill_null(pc.not_equal(cells, ""), False)
        return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
    values = column.to_numpy()
    if values.dtype != object:
        return np.asarray(pd.notna(values), dtype=bool)
    if typed:
        return np.asarray(pd.notna(values) & (values != ""), dtype=bool)
    return np.asarray(values != "", dtype=bool)


def _float_text(v: float) -> str:
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


__all__ = ["ARROW_TEXT", "HEADERS", "arrow_cells", "cell_text", "header_key", "nonblank"]
