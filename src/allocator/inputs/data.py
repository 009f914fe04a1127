"""Loading and validating enterprise data: one row per firm, every field of the schema.

:func:`load_enterprises` reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 as Excel in China
saves it), XLSX (the template's sheet 企业数据, else the one visible sheet of firms; the
template's two header rows) and Parquet,
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
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.cells import arrow_cells, cell_text, nonblank
from allocator.inputs.headers import match_header
from allocator.inputs.parse import PARSERS, Bad, blank_column, expected_text
from allocator.inputs.plausible import plausibility_warnings
from allocator.inputs.read import RawTable, read_table
from allocator.inputs.schema import (
    FIELD_BY_NAME,
    FIELDS,
    Field,
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


class _Found(list[InputProblem]):
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

    def take_pairs(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The first of ``pairs`` that still fit in the message; the rest are counted."""
        room = max(MAX_REPORTED - len(self), 0)
        self.more += max(len(pairs) - room, 0)
        return pairs[:room]


# How a totals row labels itself, in header_key form (a trailing colon dropped).
_TOTALS = frozenset({"合计", "总计", "小计", "共计", "全市合计", "总合计", "total", "subtotal",
                     "sum", "grandtotal"})  # fmt: skip


def _totals_rows(
    cells: pd.DataFrame, by_field: dict[str, int], headers: Sequence[str]
) -> list[tuple[int, int]]:
    """Rows labelled as totals (合计, 总计, 小计 ...): each row's position and the label's column.

    The label sits in the first columns or in the credit code or name column; only those are
    looked at, so a firm named ... 合计 ... in full is not taken for one.
    """
    look = sorted(
        {p for p in (0, 1, by_field.get("credit_code"), by_field.get("name")) if p is not None}
        & set(range(min(cells.shape[1], len(headers))))
    )
    found: dict[int, int] = {}
    for pos in look:
        at = _short_cells(cells[pos])
        column = cells[pos] if at is None else cells[pos].iloc[at]
        text = pd.Series(column.to_numpy(), dtype=object).map(cell_text, na_action="ignore")
        keys = (
            text.fillna("")
            .astype(str)
            .str.replace(r"\s+", "", regex=True)
            .str.rstrip(":：")
            .str.lower()
        )
        for i in np.flatnonzero(keys.isin(_TOTALS).to_numpy()):
            found.setdefault(int(i) if at is None else int(at[i]), pos)
    return sorted(found.items())


# Whitespace as Python's str.isspace knows it (RE2's \s is ASCII only), and the colons a label
# may end with: a cell that is a totals label has at most _LONGEST_TOTAL other characters.
_SPACE_OR_COLON = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}:：]"
_LONGEST_TOTAL = max(len(t) for t in _TOTALS)


def _short_cells(column: pd.Series) -> npt.NDArray[np.intp] | None:
    """The rows of an Arrow text column short enough to be a totals label; None otherwise.

    A firm's name or credit code is longer, so a million rows leave a handful to look at.
    """
    cells = arrow_cells(column)
    if cells is None:
        return None
    import pyarrow.compute as pc

    bare = pc.replace_substring_regex(cells, _SPACE_OR_COLON, "")
    short = pc.fill_null(pc.less_equal(pc.utf8_length(bare), _LONGEST_TOTAL), False)
    return np.flatnonzero(np.asarray(short.to_numpy(zero_copy_only=False), dtype=bool))


def _check_file(raw: RawTable, label: str, problems: _Found) -> _Parsed:
    """Map headers to fields and check every cell; append what is wrong to ``problems``."""
    warns = list(raw.notes)
    problems.extend(raw.problems)
    # Blank records (a spreadsheet's trailing empty rows, blank lines) are not firms.
    cells = raw.cells
    filled = np.zeros(len(cells), dtype=bool)
    for pos in range(cells.shape[1]):
        filled |= nonblank(cells[pos], typed=raw.typed)
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
                InputProblem(
                    file=label,
                    row=int(rows[i]),
                    column=_("column {number}").format(number=used),
                    expected=_(
                        "at most {width} cells, as many as the header names (a comma inside a "
                        "cell needs quotes)"
                    ).format(width=width),
                    found=_("{count} cells").format(count=used),
                )
            )
    for pos, head in enumerate(raw.headers):
        if head == "":
            if pos < cells.shape[1] and (cells[pos].to_numpy() != "").any():
                warns.append(
                    _("{file}: column {column} has data but no header; it is ignored").format(
                        file=label, column=pos + 1
                    )
                )
            continue
        matched = match_header(head)
        f = matched.field
        if f is None:
            if matched.resembles is not None:
                near = matched.resembles
                problems.append(
                    InputProblem(
                        file=label,
                        row=raw.header_row,
                        column=head,
                        expected=_(
                            "a header naming a field exactly; this one resembles field "
                            "{header} ({name}): {reason}"
                        ).format(header=repr(near.zh), name=near.name, reason=matched.reason),
                        found=repr(head),
                    )
                )
            else:
                unknown.append(head)
            continue
        if f.name in by_field:
            problems.append(
                InputProblem(
                    file=label,
                    row=raw.header_row,
                    column=head,
                    expected=_(
                        "each field once; column {column} is already field {name} ({header})"
                    ).format(column=repr(headers[f.name]), name=f.name, header=f.zh),
                    found=_("the same field twice"),
                )
            )
            continue
        by_field[f.name] = pos
        headers[f.name] = head
    if unknown:
        warns.append(
            _("{file}: columns not in the schema are ignored: {columns}").format(
                file=label, columns=", ".join(map(repr, unknown))
            )
        )
    for f in FIELDS:
        if f.required and f.name not in by_field:
            problems.append(
                InputProblem(
                    file=label,
                    row=raw.header_row,
                    column=f.name,
                    expected=_("a column headed {header} or {name}: the field is required").format(
                        header=repr(f.zh), name=repr(f.name)
                    ),
                    found=_("no such column"),
                )
            )

    totals = _totals_rows(cells, by_field, raw.headers)
    for i, pos in problems.take_pairs(totals):
        problems.append(
            InputProblem(
                file=label,
                row=int(rows[i]),
                column=raw.headers[pos],
                expected=_(
                    "one row per firm; a totals row is not a firm: delete the row (the run "
                    "adds up the firms itself)"
                ),
                found=repr(cell_text(cells[pos].iat[i]).strip()),
            )
        )
    if totals:
        # One message for a totals row, not one for each of its blank required cells.
        keep = np.ones(len(cells), dtype=bool)
        keep[[i for i, _pos in totals]] = False
        cells = cells[keep].reset_index(drop=True)
        rows = rows[keep]
        n = len(cells)

    columns: dict[str, npt.NDArray[Any]] = {}
    for name, pos in by_field.items():
        f = FIELD_BY_NAME[name]
        col = PARSERS[f.kind](f, cells[pos])
        columns[name] = col.values
        for i in problems.take(np.flatnonzero(col.bad)):
            why = Bad(int(col.bad[i]))
            cell = cells[pos].iat[int(i)]
            found = repr(cell_text(cell).strip()) if why is not Bad.MISSING else _("a blank cell")
            expected = expected_text(f, why)
            if i in col.detail:
                expected = _("{expected}: {detail}").format(
                    expected=expected, detail=col.detail[int(i)]
                )
            problems.append(
                InputProblem(
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
                    _(
                        "{file}: column {column} is in per cent (45 for 45%) but no value "
                        "exceeds 1; check the values are not fractions"
                    ).format(file=label, column=repr(headers[name]))
                )
    warns.extend(plausibility_warnings(label, columns, headers, rows))
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
        where = (
            _("row {row}").format(row=rows[j])
            if a is b
            else _("{file} row {row}").format(file=a.label, row=rows[j])
        )
        problems.append(
            InputProblem(
                file=b.label,
                row=int(rows[i]),
                column=b.headers["credit_code"],
                expected=_("a credit code no other firm has; {where} has it too").format(
                    where=where
                ),
                found=repr(codes[i]),
            )
        )


def _joined(
    columns: list[npt.NDArray[Any] | None], f: Field, parsed: Sequence[_Parsed]
) -> npt.NDArray[Any]:
    """One field's values over all files; a single file's own array, not a copy of it."""
    parts = [
        blank_column(f, len(p.rows)) if col is None else col
        for col, p in zip(columns, parsed, strict=True)
    ]
    if not parts:
        return blank_column(f, 0)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _free_arrow_memory() -> None:
    """Give the memory Arrow held for the raw cells back to the system.

    Arrow's allocator keeps freed memory for reuse; a million rows of raw cells would
    otherwise stay resident through the claims, the solve and the writing.
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


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
        raise InputError(_("at least one enterprise data file"), file=_("<command line>"))
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
        del data  # the file's bytes, no longer needed: a large file is freed before checking
        parsed.append(_check_file(raw, label, problems))
        del raw  # the raw cells: freed before the next file is read and the table is built
    _free_arrow_memory()
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
                InputProblem(
                    file=str(files[-1]) if len(files) == 1 else "<data files>",
                    expected=_(
                        "the first {count} problems are listed above; fix them and load again"
                    ).format(count=MAX_REPORTED),
                    found=_("{count} more not listed").format(count=f"{problems.more:,}"),
                )
            )
        raise InputError(problems)

    n = sum(len(p.rows) for p in parsed)
    frame = pd.DataFrame(
        {f.name: _joined([p.columns.get(f.name) for p in parsed], f, parsed) for f in FIELDS},
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
