"""Arrow-backed text cells parse exactly as Python-string cells do.

The CSV reader hands on Arrow text (no Python string per cell); XLSX and the lenient CSV
reader hand on Python strings. Every parser must give the same values and the same reasons
either way, whatever the cells hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.inputs.cells import ARROW_TEXT, nonblank
from allocator.inputs.parse import PARSERS
from allocator.inputs.schema import FIELD_BY_NAME

# Cells as clerks and exports write them: plain decimals, spaces, separators, full-width
# digits, percentages, NaN literals, flags, dates, categories, junk.
_SPELLINGS = [
    "",
    " ",
    "0",
    "12",
    "-3",
    "2791.27",
    "007",
    "1e3",
    " 4.5 ",
    "1,234.5",
    "１２",
    "45%",
    "nan",
    "inf",
    "N/A",
    "是",
    "否",
    "Yes",
    " y ",
    "TRUE",
    "×",
    "2017-04-29",
    "2024/4/1",
    "2024年4月1日",
    "20240401",
    "45000",
    "柳江区",
    "柳江 区",
    "machinery",
    "other",
    "x",
    "1.0",
    "0.0",
    "99999999999999999",
    "12.",
    ".5",
    "+7",
    "1_000",
    "\u3000",
    "2.2;3.11",
]
_cells = st.lists(st.sampled_from(_SPELLINGS) | st.text(max_size=6), min_size=1, max_size=30)
_FIELDS = [
    "output_2025q1", "special_steel_share_2025q1", "parts_validated_2025q1", "above_scale",
    "production_start", "district", "industry", "credit_code", "name", "applied_clauses",
]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(cells=_cells, name=st.sampled_from(_FIELDS))
def test_arrow_text_parses_as_python_text(cells: list[str], name: str) -> None:
    f = FIELD_BY_NAME[name]
    plain = PARSERS[f.kind](f, pd.Series(cells, dtype=object))
    arrow = PARSERS[f.kind](f, pd.Series(cells, dtype=ARROW_TEXT))
    np.testing.assert_array_equal(plain.bad, arrow.bad)
    if plain.values.dtype == object:
        assert list(plain.values) == list(arrow.values)
    else:
        np.testing.assert_array_equal(plain.values, arrow.values)
    assert plain.detail == arrow.detail


def test_plain_decimals_read_as_pandas_reads_them() -> None:
    # 0.1 + 0.2 style decimals and long fractions: the nearest double, both ways.
    cells = ["0.1", "2791.27", "123456789.123456", "0.000000000000001", "3"]
    f = FIELD_BY_NAME["output_2025q1"]
    arrow = PARSERS[f.kind](f, pd.Series(cells, dtype=ARROW_TEXT))
    assert list(arrow.values) == [0.1, 2791.27, 123456789.123456, 1e-15, 3.0]


def test_nonblank_is_the_same_for_both_kinds_of_text() -> None:
    cells = ["", " ", "x", ""]
    assert list(nonblank(pd.Series(cells, dtype=ARROW_TEXT))) == [False, True, True, False]
    assert list(nonblank(pd.Series(cells, dtype=object))) == [False, True, True, False]
