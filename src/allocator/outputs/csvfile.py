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
    if "binding" in frame:
        frame = frame.assign(
            binding=np.where(frame["binding"].to_numpy(dtype=bool), "true", "false")
        )
    fast = _arrow_csv(frame)
    if fast is not None:
        return fast
    return neutralised(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")


# A field the csv module quotes (QUOTE_MINIMAL, "\n" line ends): a comma, a double quote or a
# "\n" in it (a lone "\r" is written as it is, as pandas writes it).
_NEEDS_QUOTES = '[,"\n]'


def _arrow_csv(frame: pd.DataFrame) -> bytes | None:
    """The bytes ``to_csv`` writes for the :func:`neutralised` table, made in Arrow.

    The same bytes as pandas (a field quoted when it holds a comma, a quote or a ``\\n``, its
    quotes doubled; a missing text an empty field), several times faster on a large table:
    each text column goes to Arrow once, and is neutralised, quoted and joined there.
    None for a table with other columns (floats, dates) or a single column (where the csv
    module quotes an empty field), which pandas then writes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if frame.shape[1] < 2:
        return None

    def text_of(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    quote, apostrophe, nothing = text_of('"'), text_of(QUOTE), text_of("")
    fields = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == np.int64:
            fields.append(pc.cast(pa.array(column.to_numpy()), pa.large_string()))
            continue
        if not pd.api.types.is_object_dtype(column.dtype):
            return None
        try:
            text = pa.array(column, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        # Most columns have no cell to change: those are left as they are, not rebuilt.
        formula = pc.fill_null(pc.match_substring_regex(text, _FORMULA_LIKE), False)
        if pc.any(formula).as_py():
            marked = pc.binary_join_element_wise(apostrophe, text, nothing)
            text = pc.if_else(formula, marked, text)
        needs = pc.fill_null(pc.match_substring_regex(text, _NEEDS_QUOTES), False)
        if pc.any(needs).as_py():
            doubled = pc.replace_substring(text, '"', '""')
            quoted = pc.binary_join_element_wise(quote, doubled, quote, nothing)
            text = pc.if_else(needs, quoted, text)
        fields.append(pc.fill_null(text, nothing))
    header = pd.DataFrame(columns=frame.columns).to_csv(index=False, lineterminator="\n")
    if len(frame) == 0:
        return header.encode("utf-8")
    # Every row ends with "\n"; the rows' characters lie end to end in the array's data buffer.
    fields[-1] = pc.binary_join_element_wise(fields[-1], nothing, text_of("\n"))
    rows = pc.binary_join_element_wise(*fields, text_of(","))
    joined = pa.concat_arrays([rows]) if isinstance(rows, pa.Array) else rows.combine_chunks()
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset :]
    data = joined.buffers()[2]
    assert data is not None
    body = data[int(offsets[0]) : int(offsets[len(joined)])]  # a view: copied once, below
    return b"".join((header.encode("utf-8"), memoryview(body)))


def csv_text(value: str) -> str:
    """A text field of a run's CSV file as it was before :func:`neutralised` quoted it."""
    if value.startswith(QUOTE) and _quoted(value):
        return value[1:]
    return value


__all__ = ["FORMULA_STARTS", "QUOTE", "csv_bytes", "csv_text", "neutralised"]
