"""How a run's CSV files hold text: UTF-8, ``\\n`` line ends, and no cell a spreadsheet runs.

A spreadsheet that opens ``awards.csv`` treats a cell starting with ``=``, ``+``, ``-`` or ``@``
as a formula, and one starting with a tab or a carriage return may be read as one too; a firm
named ``=HYPERLINK("http://x","y")`` would become a live link. As OWASP recommends for CSV
injection, every such text field is written with a single quote in front
(``'=HYPERLINK(...)``), which spreadsheets show as text. Numbers are never changed: a negative
slack stays ``-3``. :func:`csv_text` gives back the text as it was (docs/outputs.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell that starts like a formula quoted.

    Only text columns are touched; number and boolean columns are returned as they are.
    """
    out = frame.copy()
    for col in out.columns:
        column = out[col]
        if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column)):
            continue
        hit = _formula_like(column)
        if hit.any():
            values = column.to_numpy(dtype=object).copy()
            values[hit] = np.asarray([QUOTE + v for v in values[hit]], dtype=object)
            out[col] = values
    return out


# _quoted as a pattern: any quotes, then a formula start.
_FORMULA_LIKE = "^'*[=+\\-@\t\r]"


def _formula_like(column: pd.Series) -> npt.NDArray[np.bool_]:
    """Which cells of a text column :func:`_quoted` quotes, judged in compiled code.

    A column that is not all text and gaps (which Arrow will not take as text) is judged one
    distinct value at a time instead.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(column, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        codes, uniques = pd.factorize(column)
        judged = np.array([_quoted(v) for v in uniques] + [False], dtype=bool)
        return np.asarray(judged[codes], dtype=bool)
    hit = pc.fill_null(pc.match_substring_regex(text, _FORMULA_LIKE), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _quoted(value: object) -> bool:
    # A text that already starts with quotes before a formula start gets one more, so that
    # csv_text gives every text back exactly (a quote and '=x' is written with two quotes).
    return isinstance(value, str) and value.lstrip(QUOTE).startswith(FORMULA_STARTS)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as a run writes it: header row, ``\\n`` line ends, formula-like text quoted.

    ``binding`` columns are written ``true`` / ``false``.
    """
    out = neutralised(frame)
    if "binding" in out:
        out["binding"] = np.where(out["binding"].to_numpy(dtype=bool), "true", "false")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def csv_text(value: str) -> str:
    """A text field of a run's CSV file as it was before :func:`neutralised` quoted it."""
    if value.startswith(QUOTE) and _quoted(value):
        return value[1:]
    return value


__all__ = ["FORMULA_STARTS", "QUOTE", "csv_bytes", "csv_text", "neutralised"]
