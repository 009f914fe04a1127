"""The columns of the claims table: its one public home.

The claims table (:attr:`allocator.policy.claims.Claims.table`) has one row per (recipient,
award item); :data:`TABLE_COLUMNS` names its columns in order and :data:`COLUMN_DTYPES`
the dtype of those that are not text. Later stages (the builder, the outputs, the audit)
read the columns by these names.

The text columns (:data:`TEXT_COLUMNS`) are pandas categoricals whose categories are the
distinct texts in Python's string order: a million firms under thirty items make thirty
million rows, and a column of codes into a million names takes a twentieth of the memory
and time of thirty million references to them. Sorting, grouping and comparing a column
give what they would for plain text, since the codes follow the texts' order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.policy.expr import Text

#: The largest claim (万元) the table holds: amounts are float64, whole up to 2**53, and the
#: solver's sums of claims stay below 2**52 (allocator.model.limits.MAX_TOTAL_CLAIM); a
#: larger claim is refused with the parameters that made it, before anything is built.
MAX_CLAIM_WAN = 2**52

#: Columns of Claims.table, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "recipient_kind",
    "recipient_id",
    "recipient_name",
    "district",
    "industry",
    "clause_id",
    "item_id",
    "item_key",
    "eligible",
    "applied",
    "amount",
    "claim_wan",
    "exclusive_group",
    "all_or_nothing",
    "provincial_type",
    "provincial_applied",
    "provincial_award_wan",
    "firm_row",
)

COLUMN_DTYPES: dict[str, Any] = {
    "eligible": np.bool_,
    "applied": np.bool_,
    "amount": np.float64,
    "claim_wan": np.int64,
    "all_or_nothing": np.bool_,
    "provincial_applied": np.bool_,
    "provincial_award_wan": np.int64,
    "firm_row": np.int64,
}

#: The text columns of Claims.table, each a categorical of its distinct texts in order.
TEXT_COLUMNS: tuple[str, ...] = tuple(c for c in TABLE_COLUMNS if c not in COLUMN_DTYPES)

# Below this many texts Python's own sort is quicker than a round trip through Arrow.
_ARROW_SORT_FROM = 20_000


def text_order(values: npt.NDArray[np.object_]) -> npt.NDArray[np.intp]:
    """The positions of ``values`` in Python's string order (``sorted``), ties kept in place.

    Arrow sorts UTF-8 bytes, and UTF-8 keeps the order of code points, which is how Python
    compares strings; Arrow does it without a Python comparison per pair. Values Arrow
    cannot hold as text (a number in a hand-built frame) are sorted by Python.

    >>> text_order(np.array(["柳南区", "b", "a", ""], dtype=object)).tolist()
    [3, 2, 1, 0]
    """
    if len(values) >= _ARROW_SORT_FROM:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            strings = pa.array(values, type=pa.string())
        except (pa.ArrowException, UnicodeError):
            pass
        else:
            order = pc.sort_indices(strings).to_numpy(zero_copy_only=False)
            return np.asarray(order, dtype=np.intp)
    return np.asarray(np.argsort(values, kind="stable"), dtype=np.intp)


def _code_dtype(count: int) -> type[np.signedinteger[Any]]:
    """The integer type pandas keeps the codes of ``count`` categories in."""
    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


def _categorical(values: list[str | Text], sizes: list[int], total: int) -> pd.Categorical:
    """One text column from per-item pieces, each a constant or coded recipient texts."""
    # Items of the same recipients share their Text: its distinct values are placed once.
    texts = list({id(v): v for v in values if isinstance(v, Text)}.values())
    constants = sorted({v for v in values if isinstance(v, str)})
    parts = [np.asarray(t.uniques, dtype=object) for t in texts]
    parts.append(np.asarray(constants, dtype=object))
    codes, uniques = pd.factorize(np.concatenate(parts))
    uniques = np.asarray(uniques, dtype=object)
    order = text_order(uniques)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order), dtype=np.intp)
    codes = rank[codes]
    remap: dict[int, npt.NDArray[np.intp]] = {}
    start = 0
    for t, part in zip(texts, parts, strict=False):
        remap[id(t)] = codes[start : start + len(part)]
        start += len(part)
    constant_code = dict(zip(constants, codes[start:].tolist(), strict=True))
    out = np.empty(total, dtype=_code_dtype(len(uniques)))
    start = 0
    for value, size in zip(values, sizes, strict=True):
        stop = start + size
        if isinstance(value, Text):
            out[start:stop] = remap[id(value)][value.codes]
        else:
            out[start:stop] = constant_code[value]
        start = stop
    dtype = pd.CategoricalDtype(pd.Index(uniques[order], dtype=object))
    return pd.Categorical.from_codes(out, dtype=dtype, validate=False)


def claims_table(pieces: list[dict[str, Any]]) -> pd.DataFrame:
    """The claims table from per-item pieces.

    Each piece maps ``n`` to its number of rows and every column to its values: an array of
    ``n`` for the columns of :data:`COLUMN_DTYPES` (a scalar for a constant), a string or
    a :class:`~allocator.policy.expr.Text` of ``n`` codes for :data:`TEXT_COLUMNS`.
    """
    sizes = [int(piece["n"]) for piece in pieces]
    total = sum(sizes)
    columns: dict[str, Any] = {}
    for name in TABLE_COLUMNS:
        if name in COLUMN_DTYPES:
            # one array per column, filled slice by slice: no temporaries
            out = np.empty(total, dtype=COLUMN_DTYPES[name])
            start = 0
            for piece, size in zip(pieces, sizes, strict=True):
                out[start : start + size] = piece[name]
                start += size
            columns[name] = out
        else:
            columns[name] = _categorical([piece[name] for piece in pieces], sizes, total)
    # copy=False also keeps pandas from consolidating the columns into 2-D blocks, which
    # for a few million rows costs more than the whole evaluation
    return pd.DataFrame(columns, copy=False)


__all__ = [
    "COLUMN_DTYPES",
    "MAX_CLAIM_WAN",
    "TABLE_COLUMNS",
    "TEXT_COLUMNS",
    "claims_table",
    "text_order",
]
