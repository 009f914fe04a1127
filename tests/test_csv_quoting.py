"""Formula-like text in a run's CSV files is quoted exactly as the rule says, cell by cell."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.outputs.csvfile import FORMULA_STARTS, QUOTE, csv_bytes, csv_text, neutralised

_starts = st.sampled_from(["", "'", "''", *FORMULA_STARTS, "'=", "'-", "=", "＝", " "])
_cell = st.builds(lambda a, b: a + b, _starts, st.text(max_size=5)) | st.none()


def _rule(value: str | None) -> str | None:
    """The rule as docs/outputs.md states it, one cell at a time."""
    if value is None:
        return None
    if value.lstrip(QUOTE).startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


@settings(max_examples=80, deadline=None)
@given(cells=st.lists(_cell, min_size=1, max_size=40))
def test_each_text_cell_is_quoted_by_the_rule_and_given_back(cells: list[str | None]) -> None:
    frame = pd.DataFrame({"text": pd.Series(cells, dtype=object), "n": range(len(cells))})
    out = neutralised(frame)
    assert list(out["text"]) == [_rule(v) for v in cells]
    assert list(out["n"]) == list(range(len(cells)))
    assert [csv_text(v) if v is not None else None for v in out["text"]] == cells


def test_quotes_before_a_formula_start_get_one_more() -> None:
    frame = pd.DataFrame({"name": ["=x", "'=x", "''=x", "'x", "x'="]})
    assert list(neutralised(frame)["name"]) == ["'=x", "''=x", "'''=x", "'x", "x'="]


def test_a_column_mixing_numbers_and_text_is_judged_cell_by_cell() -> None:
    frame = pd.DataFrame({"mixed": pd.Series([3, "=1+1", None, "-2"], dtype=object)})
    assert list(neutralised(frame)["mixed"]) == [3, "'=1+1", None, "'-2"]


_field = st.text(alphabet=st.sampled_from(list("ab,\"\n\r '=柳")), max_size=6) | st.none()


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_field, st.integers(-(2**40), 2**40), _field, st.booleans()), max_size=25
    )
)
def test_csv_bytes_are_those_pandas_writes(
    rows: list[tuple[str | None, int, str | None, bool]],
) -> None:
    # The oracle: pandas' own to_csv (the csv module, QUOTE_MINIMAL) on the quoted table.
    frame = pd.DataFrame(rows, columns=["name", "lhs", "reason", "binding"])
    frame = frame.astype({"name": object, "lhs": "int64", "reason": object, "binding": bool})
    expected = neutralised(frame)
    expected["binding"] = ["true" if b else "false" for b in frame["binding"]]
    oracle = expected.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert csv_bytes(frame) == oracle
