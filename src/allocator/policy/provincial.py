"""Provincial applications with no amount on file, under 从优、就高、不重复 (2026 十一（三）).

A firm that applied for the provincial (自治区) award of an item's type receives the better of
the two awards, never both; without the provincial amount the city cannot tell what lifts
the firm to the better one, and paying its city claim could pay it twice. A scenario chooses
(``provincial_without_amount``):

* ``hold`` (the default): the claim is kept at 0 with the reason, by the problem builder
  (:func:`allocator.model.build.build`) and the audit alike;
* ``refuse``: :func:`refuse_pending` stops the run, naming each row and column to fill in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.schema import FIELD_BY_NAME
from allocator.policy.model import PolicyModel

DATA_FILE = "<enterprise data>"


def pending(table: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows of a claims table held for want of a provincial amount.

    An eligible claim above 0 of a firm, typed, whose firm applied for the provincial award
    of that type and has no amount of at least 1万元 on file (blank, 0, or below the unit).
    """
    return np.asarray(
        table["eligible"].to_numpy(dtype=bool)
        & (table["claim_wan"].to_numpy(dtype=np.int64) > 0)
        & (table["provincial_type"].fillna("").to_numpy(dtype=object) != "")
        & table["provincial_applied"].to_numpy(dtype=bool)
        & (table["provincial_award_wan"].to_numpy(dtype=np.int64) <= 0)
        & (table["firm_row"].to_numpy(dtype=np.int64) >= 0),
        dtype=np.bool_,
    )


def refuse_pending(model: PolicyModel, table: pd.DataFrame, data: Any) -> None:
    """Refuse the run when a firm's claim waits on a provincial amount not on file.

    Only under ``better_of`` (2026 十一（三）); under ``exclude_if_applied`` (2025 （二十）) the
    application alone decides and no amount is needed.

    Parameters
    ----------
    model:
        The run's model.
    table:
        The claims table (:attr:`allocator.policy.claims.Claims.table`).
    data:
        The enterprise data the claims were computed from; an object with ``locate`` (the
        loaded data) names file and row, a plain frame the record's position.

    Raises
    ------
    InputError
        One problem per firm and provincial type, naming the row and the amount column.
    """
    if model.rules.provincial.mode != "better_of":
        return
    hit = pending(table)
    if not hit.any():
        return
    sub = table.loc[hit, ["firm_row", "provincial_type", "item_key"]]
    clause = model.rules.provincial.clause
    locate = getattr(data, "locate", None)
    problems: list[InputProblem] = []
    for (_row, ptype), g in sub.groupby(["firm_row", "provincial_type"], sort=True, observed=True):
        row = int(g["firm_row"].iloc[0])
        award = FIELD_BY_NAME[f"prov_award_{ptype}"]
        applied = FIELD_BY_NAME[f"prov_applied_{ptype}"]
        items = _(", ").join(str(k) for k in g["item_key"])
        if callable(locate):
            file, line = locate(row)
            key = None
        else:
            file, line, key = DATA_FILE, None, f"[{row}]"
        problems.append(
            InputProblem(
                file,
                (
                    _(
                        "the amount of the provincial award the firm applied for ({applied}: "
                        "是), which 从优、就高、不重复 (clause {clause}) needs to pay {items}; or "
                        "否 in {applied}"
                    )
                    if clause
                    else _(
                        "the amount of the provincial award the firm applied for ({applied}: "
                        "是), which 从优、就高、不重复 needs to pay {items}; or 否 in {applied}"
                    )
                ).format(applied=applied.zh, clause=clause, items=items),
                _("a blank amount (or under 1万元)"),
                row=line,
                column=award.zh,
                key=key,
            )
        )
    raise InputError(problems)


__all__ = ["pending", "refuse_pending"]
