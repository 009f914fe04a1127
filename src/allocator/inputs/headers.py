"""Which schema field a column header names, and the headers that only nearly name one.

A header is matched in :func:`~allocator.inputs.cells.header_key` form against each field's
English and Chinese name. A header that matches none is not simply dropped when it resembles a
field: the same name with a unit in brackets (``2026年一季度工业总产值（元）``), a typo or a
stray character would otherwise leave the field's column out of the run without a word, and
every award that depends on it would fall. Such a header is an error naming the field.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from allocator.core.i18n import _
from allocator.inputs.cells import HEADERS, header_key
from allocator.inputs.schema import Field

# How alike a header and a field's name must be (difflib's ratio) to count as a mistyped
# field: one character in a ten-character Chinese name scores about 0.9, while two
# different fields of the schema score below 0.85 only when they differ in more than a year.
SIMILARITY = 0.85

# A trailing unit in brackets, after NFKC folding (full-width brackets become ASCII ones).
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?)\((?P<unit>[^()]*)\)$")


@dataclass(frozen=True)
class Header:
    """What a header names: a field, or a field it resembles but does not name.

    ``field`` is set when the header names the field (possibly with the field's own unit in
    brackets); ``resembles`` when it is close to a field it does not name, with ``reason``
    saying how, in the reader's language.
    """

    field: Field | None = None
    resembles: Field | None = None
    reason: str = ""


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def match_header(head: str) -> Header:
    """The field ``head`` names, the field it resembles, or neither.

    Parameters
    ----------
    head:
        A header as written in the file.

    Returns
    -------
    Header
        ``field`` for a header naming a field, also as ``name · unit · 必填`` (the template's
        second row) or with the field's own unit in brackets (``…工业总产值（万元）``);
        ``resembles`` and ``reason`` for a header naming a field in another unit, or a
        mistyped one; neither for a header unlike every field.
    """
    key = header_key(head)
    f = HEADERS.get(key) or HEADERS.get(header_key(re.split(r"[·|]", head)[0]))
    if f is not None:
        return Header(field=f)
    suffix = _UNIT_SUFFIX.match(_fold(head))
    if suffix:
        base = HEADERS.get(header_key(suffix["name"]))
        unit = suffix["unit"]
        if base is not None:
            if base.unit and header_key(unit) == header_key(base.unit):
                return Header(field=base)
            return Header(resembles=base, reason=_unit_reason(base, unit))
    close = difflib.get_close_matches(key, list(HEADERS), n=1, cutoff=SIMILARITY)
    if close:
        return Header(
            resembles=HEADERS[close[0]],
            reason=_(
                "it differs by a few characters; correct the header, or rename the column "
                "if it holds something else"
            ),
        )
    return Header()


def _unit_reason(f: Field, unit: str) -> str:
    if f.unit:
        return _(
            "it has the unit {found} where the field is in {unit}; convert the column to "
            "{unit} and head it {header}"
        ).format(found=repr(unit), unit=f.unit, header=repr(f.zh))
    return _("it has a unit {found} the field does not have; head the column {header}").format(
        found=repr(unit), header=repr(f.zh)
    )


__all__ = ["SIMILARITY", "Header", "match_header"]
