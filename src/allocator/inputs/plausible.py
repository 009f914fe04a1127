"""Plausibility of the amounts a file holds: warnings, not refusals, for values worth a look.

Amounts are in 万元; an amount typed in 元 is 10,000 times too large, loads without complaint
and raises every award computed from it. Two signs give such a cell away:

- it is far larger than the same firm's figure of the year before in the same output or
  revenue field (``output_2026q1`` against ``output_2025q1``): :data:`RATIO` times or more
  (investment, exports and fees are left out: a firm's first big project or fair is a
  legitimate jump);
- it is larger than any firm of the city could report: :data:`MAX_FIRM_WAN`.

Each sign is a warning naming the file, row and column; ``allocate run --strict`` refuses a
run with warnings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from allocator.core.i18n import _
from allocator.inputs.schema import FIELD_BY_NAME, FIELDS, Field, Kind

if TYPE_CHECKING:
    # data.py calls this module while loading; the type alone is needed here.
    from allocator.inputs.data import EnterpriseData

#: A value this many times the same field of the year before is taken for a unit slip (元
#: for 万元 is 10,000 times): no firm's output, revenue or investment grows a hundredfold.
RATIO = 100.0
#: The most one firm can report in one amount field, in 万元 (1,000亿元): the city's largest
#: firm reports about a third of it in a quarter.
MAX_FIRM_WAN = 10_000_000.0
#: Warnings listed per file; the rest are counted in one line.
MAX_LISTED = 20

_YEAR = re.compile(r"^(?P<stem>.+_)(?P<year>\d{4})(?P<rest>(q\d)?)$")


def _previous(f: Field) -> Field | None:
    """The same money field one year earlier, when the schema has it."""
    m = _YEAR.match(f.name)
    if m is None or f.group != "output":
        return None
    prev = FIELD_BY_NAME.get(f"{m['stem']}{int(m['year']) - 1}{m['rest']}")
    return prev if prev is not None and prev.kind is Kind.MONEY else None


def plausibility_warnings(
    label: str,
    columns: Mapping[str, npt.NDArray[Any]],
    headers: Mapping[str, str],
    rows: npt.NDArray[np.int64],
) -> list[str]:
    """Warnings for the implausible amounts of one file, in row order.

    Parameters
    ----------
    label:
        The file, as messages name it.
    columns:
        The file's parsed columns by field name (money columns are float arrays in 万元).
    headers:
        Each field's header as written in the file.
    rows:
        The spreadsheet row of each record.

    Returns
    -------
    list of str
        One warning per implausible cell (at most :data:`MAX_LISTED`, then a count).
    """
    found: list[tuple[int, int, str]] = []
    order = {name: k for k, name in enumerate(headers)}
    for f in FIELDS:
        if f.kind is not Kind.MONEY or f.name not in columns:
            continue
        values = np.asarray(columns[f.name], dtype=np.float64)
        column = repr(headers[f.name])
        with np.errstate(invalid="ignore"):
            huge = values > MAX_FIRM_WAN
        for i in np.flatnonzero(huge):
            found.append((int(rows[i]), order[f.name], _(
                "{file}, row {row}, column {column}: {value} 万元 is more than any firm reports "
                "({limit} 万元); was the amount entered in 元 rather than 万元?"
            ).format(file=label, row=int(rows[i]), column=column,
                     value=f"{values[i]:,.0f}", limit=f"{MAX_FIRM_WAN:,.0f}")))  # fmt: skip
        prev = _previous(f)
        if prev is None or prev.name not in columns:
            continue
        before = np.asarray(columns[prev.name], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            jump = (values >= RATIO * before) & (before > 0) & ~huge
        for i in np.flatnonzero(jump):
            found.append((int(rows[i]), order[f.name], _(
                "{file}, row {row}, column {column}: {value} 万元 is {times} times the firm's "
                "{previous} of {before} 万元; was the amount entered in 元 rather than 万元?"
            ).format(file=label, row=int(rows[i]), column=column, value=f"{values[i]:,.2f}",
                     times=f"{values[i] / before[i]:,.0f}", previous=repr(headers[prev.name]),
                     before=f"{before[i]:,.2f}")))  # fmt: skip
    found.sort(key=lambda t: (t[0], t[1]))
    out = [text for _row, _col, text in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        out.append(
            _("{file}: {count} more implausible amounts not listed").format(
                file=label, count=len(found) - MAX_LISTED
            )
        )
    return out


def incomplete_district_sums(data: EnterpriseData, item: str, fields: Sequence[str]) -> list[str]:
    """Warnings for district figures summed over firms of which some have no value.

    A district-level award (a district's output or investment growth) adds up its firms'
    figures; a firm whose cell is blank is left out of the sum, so the district's figure,
    and the award computed from it, rests on a partial list of firms. A field blank for most
    firms (investment, which most firms have none of) is taken as "none", not as missing.

    Parameters
    ----------
    data:
        The loaded enterprise data.
    item:
        The award item, as messages name it (e.g. ``四（二）``).
    fields:
        The fields the item sums over each district's firms.

    Returns
    -------
    list of str
        At most one warning per field: how many firms are left out, in how many districts,
        and the first such row.
    """
    frame = data.frame
    out: list[str] = []
    district = frame["district"].to_numpy(dtype=object)
    placed = district != ""
    for name in fields:
        if name not in data.present:
            continue
        blank = np.isnan(frame[name].to_numpy(dtype=np.float64)) & placed
        missing = int(blank.sum())
        if missing == 0 or 2 * missing > int(placed.sum()):
            continue
        first = data.locate(int(np.flatnonzero(blank)[0]))
        out.append(
            _(
                "district figures are incomplete: {item} adds up {field} over each district's "
                "firms, but {missing} firms in {districts} districts have no value there "
                "(first: {file} row {row}); their districts' figures and awards leave them out"
            ).format(
                item=item,
                field=repr(FIELD_BY_NAME[name].zh),
                missing=missing,
                districts=len(set(district[blank])),
                file=first[0],
                row=first[1],
            )
        )
    return out


__all__ = [
    "MAX_FIRM_WAN",
    "MAX_LISTED",
    "RATIO",
    "incomplete_district_sums",
    "plausibility_warnings",
]
