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

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, Problem
from allocator.inputs.cells import HEADERS, cell_text, header_key
from allocator.inputs.parse import PARSERS, Bad, blank_column, expected_text
from allocator.inputs.read import RawTable, read_table
from allocator.inputs.schema import (
    FIELD_BY_NAME,
    FIELDS,
    Kind,
)

IntArray = npt.NDArray[np.int64]

#: The most problems one refusal lists; the rest are counted in one closing line.
MAX_REPORTED = 200


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


@dataclass
class _Parsed:
    """One file, checked: its fields' values, and where each field's column was."""

    label: str
    columns: dict[str, npt.NDArray[Any]]
    headers: dict[str, str]  # field name -> header as written
    rows: IntArray
    warnings: list[str]
    order: dict[str, int]  # header as written -> its position, to sort messages by


class _Found(list[Problem]):
    """The problems found, at most :data:`MAX_REPORTED` of them, and how many more there were.

    A file of a million junk rows has millions of bad cells; each is counted, but only the
    first few hundred are worded, so the refusal takes seconds and its message stays short.
    """

    more: int = 0

    def take(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """The first of ``rows`` that still fit in the message; the rest are counted."""
        room = max(MAX_REPORTED - len(self), 0)
        self.more += max(len(rows) - room, 0)
        return rows[:room]


def _check_file(raw: RawTable, label: str, problems: _Found) -> _Parsed:
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
        for i in problems.take(np.flatnonzero(beyond)):
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
        f = HEADERS.get(key) or HEADERS.get(header_key(re.split(r"[·|]", head)[0]))
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
        col = PARSERS[f.kind](f, cells[pos])
        columns[name] = col.values
        for i in problems.take(np.flatnonzero(col.bad)):
            why = Bad(int(col.bad[i]))
            cell = cells[pos].iat[int(i)]
            found = repr(cell_text(cell).strip()) if why is not Bad.MISSING else "a blank cell"
            expected = expected_text(f, why)
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


def _duplicates(parsed: Sequence[_Parsed], problems: _Found) -> None:
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
    for i in problems.take(np.flatnonzero(repeated)):
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
    problems = _Found()
    parsed: list[_Parsed] = []
    digests: list[str] = []
    for path in files:
        label = str(path)
        try:
            raw, data = read_table(path, label)
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
        if problems.more:
            problems.append(
                Problem(
                    file=str(files[-1]) if len(files) == 1 else "<data files>",
                    expected=f"the first {MAX_REPORTED} problems are listed above; fix them and "
                    "load again",
                    found=f"{problems.more:,} more not listed",
                )
            )
        raise InputError(problems)

    n = sum(len(p.rows) for p in parsed)
    frame = pd.DataFrame(
        {
            f.name: np.concatenate(
                [p.columns.get(f.name, blank_column(f, len(p.rows))) for p in parsed]
            )
            if parsed
            else blank_column(f, 0)
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


__all__ = ["MAX_REPORTED", "EnterpriseData", "load_enterprises"]
