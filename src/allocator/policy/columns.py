"""The columns of the claims table: its one public home.

The claims table (:attr:`allocator.policy.claims.Claims.table`) has one row per (recipient,
award item); :data:`TABLE_COLUMNS` names its columns in order and :data:`COLUMN_DTYPES`
the dtype of those that are not text. Later stages (the builder, the outputs, the audit)
read the columns by these names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

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


def claims_table(pieces: list[dict[str, Any]]) -> pd.DataFrame:
    """The claims table from per-item pieces (each a column name to values, and ``n``)."""
    total = sum(int(piece["n"]) for piece in pieces)
    columns: dict[str, npt.NDArray[Any]] = {}
    for name in TABLE_COLUMNS:
        # one array per column, filled slice by slice: no temporaries, and a constant is
        # assigned, which for text is far cheaper than np.full
        out = np.empty(total, dtype=COLUMN_DTYPES.get(name, object))
        start = 0
        for piece in pieces:
            stop = start + int(piece["n"])
            out[start:stop] = piece[name]
            start = stop
        columns[name] = out
    # copy=False also keeps pandas from consolidating the columns into 2-D blocks, which
    # for a few million rows costs more than the whole evaluation
    return pd.DataFrame(columns, copy=False)


__all__ = ["COLUMN_DTYPES", "MAX_CLAIM_WAN", "TABLE_COLUMNS", "claims_table"]
