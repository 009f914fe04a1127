"""The application column of a model: which clause ids a cell may hold, and the refusals.

Each shipped model names its own column (``applications``: ``applied_clauses_2025q1`` for
柳政规〔2025〕1号, ``applied_clauses_2026q1`` for the 2026 draft), so that a cell never means
two things: "6" in the 2025 column is （六）, in the 2026 column 六. A cell holds clause ids
or the clause labels as printed (``6`` or ``（六）``, ``3.9`` or ``三（九）``).

:func:`check_applications` refuses, before any claim is computed,

* an id or label that is not one of the model's award clauses, naming the file, row and
  column, and
* a filled generic column ``applied_clauses`` (申报条款) when the model reads a column of its
  own: its ids do not say which document they belong to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _, ngettext
from allocator.inputs.schema import FIELD_BY_NAME
from allocator.policy.model import PolicyModel

GENERIC = "applied_clauses"
DATA_FILE = "<enterprise data>"

# Separators a list cell may use; the loader writes ';' but a hand-built frame may not.
SEPARATORS = r"[;；,，、\s]+"
_HALF_WIDTH = str.maketrans("（）", "()")


class _Located(Protocol):
    def locate(self, index: int) -> tuple[str, int]: ...


def clause_aliases(model: PolicyModel) -> dict[str, str]:
    """Every way a cell may name an award clause of ``model``, mapped to the clause id.

    The id itself (``3.9``), the label as printed (``三（九）``) and the label with half-width
    brackets (``三(九)``), as the 2025 text itself prints （九）…（十八）. Measures and rules
    pay nothing to apply for: a cell naming one is more likely a slip than an application.
    """
    out: dict[str, str] = {}
    for clause in (c for c in model.clauses if c.kind == "award"):
        for alias in (clause.id, clause.label, clause.label.translate(_HALF_WIDTH)):
            out.setdefault(alias, clause.id)
    return out


def split_cell(cell: object) -> list[str]:
    """The ids of one cell, in order, blanks dropped."""
    return [t for t in re.split(SEPARATORS, str(cell).strip()) if t]


def _frame_and_present(data: Any) -> tuple[pd.DataFrame, frozenset[str] | None]:
    if isinstance(data, pd.DataFrame):
        return data, frozenset(data.columns)
    present = getattr(data, "present", None)
    frame: pd.DataFrame = data.frame
    return frame, frozenset(frame.columns) if present is None else frozenset(present)


def has_column(model: PolicyModel, data: Any) -> bool:
    """Whether the data has the model's application column (a file had it, for loaded data)."""
    _, present = _frame_and_present(data)
    return present is not None and model.applications in present


def _where(data: Any, row: int) -> tuple[str, int | None, str | None]:
    """File, spreadsheet row and key of record ``row``, for a message."""
    locate = getattr(data, "locate", None)
    if callable(locate):
        file, line = locate(row)
        return file, line, None
    return DATA_FILE, None, f"[{row}]"


def _cells(frame: pd.DataFrame, column: str) -> np.ndarray[Any, np.dtype[np.object_]]:
    values = frame[column].to_numpy(dtype=object)
    blank = pd.isna(values)
    if blank.any():
        values = values.copy()
        values[blank] = ""
    return values


def check_applications(model: PolicyModel, data: Any) -> None:
    """Refuse application cells that could be read wrongly; see the module docstring.

    Parameters
    ----------
    model:
        The run's model; its ``applications`` names the column read.
    data:
        An :class:`allocator.inputs.data.EnterpriseData` (problems name file and row) or a
        DataFrame (problems name the record's position).

    Raises
    ------
    InputError
        Listing every refused cell.
    """
    frame, present = _frame_and_present(data)
    present = present or frozenset()
    column = model.applications
    field = FIELD_BY_NAME[column]
    problems: list[InputProblem] = []
    if column != GENERIC and GENERIC in present and GENERIC in frame.columns:
        cells = _cells(frame, GENERIC)
        filled = np.flatnonzero(cells != "")
        if filled.size:
            file, line, key = _where(data, int(filled[0]))
            problems.append(
                InputProblem(
                    file,
                    _(
                        "the clauses applied for in column {column} ({name}), which names the "
                        "document; column {generic} ({generic_name}) does not say whose "
                        "clause ids it holds"
                    ).format(
                        column=field.zh,
                        name=column,
                        generic=FIELD_BY_NAME[GENERIC].zh,
                        generic_name=GENERIC,
                    ),
                    ngettext(
                        "{n} filled cell, the first {first}",
                        "{n} filled cells, the first {first}",
                        int(filled.size),
                    ).format(n=filled.size, first=repr(cells[filled[0]])),
                    row=line,
                    column=FIELD_BY_NAME[GENERIC].zh,
                    key=key,
                )
            )
    if column in present and column in frame.columns:
        aliases = clause_aliases(model)
        codes, uniques = pd.factorize(_cells(frame, column))
        bad_cells = {
            k: [t for t in split_cell(cell) if t not in aliases] for k, cell in enumerate(uniques)
        }
        bad_cells = {k: v for k, v in bad_cells.items() if v}
        if bad_cells:
            ids = _(", ").join(c.id for c in model.clauses if c.kind == "award")
            for row in np.flatnonzero(np.isin(codes, list(bad_cells))):
                file, line, key = _where(data, int(row))
                unknown = bad_cells[int(codes[row])]
                problems.append(
                    InputProblem(
                        file,
                        _("clause ids or labels of {title} (award clauses: {ids})").format(
                            title=model.title, ids=ids
                        ),
                        _(", ").join(repr(t) for t in unknown),
                        row=line,
                        column=field.zh,
                        key=key,
                    )
                )
    if problems:
        raise InputError(problems)


def applied_masks(
    model: PolicyModel, frame: pd.DataFrame
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], dict[str, list[int]]]:
    """The factorised cells of the model's column and, per clause id, the cells naming it."""
    aliases: Mapping[str, str] = clause_aliases(model)
    codes, uniques = pd.factorize(_cells(frame, model.applications))
    cells: dict[str, list[int]] = {}
    for k, cell in enumerate(uniques):
        for token in split_cell(cell):
            cells.setdefault(aliases.get(token, token), []).append(k)
    return codes.astype(np.intp, copy=False), cells


__all__ = [
    "GENERIC",
    "SEPARATORS",
    "applied_masks",
    "check_applications",
    "clause_aliases",
    "has_column",
    "split_cell",
]
