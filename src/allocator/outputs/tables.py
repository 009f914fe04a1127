"""The tables of a run: the award per claim, the constraint rows with slack and binding, the
totals per clause, item and district (docs/outputs.md, ``constraints.csv`` and ``totals``).
The workbook shows them in the reader's words (:func:`allocator.outputs.wording.for_the_reader`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.schema import DISTRICTS
from allocator.model.build import Build
from allocator.model.problem import NO_DUPLICATE, Allocation
from allocator.outputs.names import CONSTRAINT_COLUMNS
from allocator.policy.model import PolicyModel


def award_vector(build: Build, allocation: Allocation | None) -> npt.NDArray[np.int64]:
    """The award per row of ``build.rows`` (0 where the row is no variable)."""
    var = build.rows["var"].to_numpy(dtype=np.int64)
    out = np.zeros(len(var), dtype=np.int64)
    if allocation is not None:
        has = var >= 0
        out[has] = np.asarray(allocation.award, dtype=np.int64)[var[has]]
    return out


def constraints_table(build: Build, allocation: Allocation) -> pd.DataFrame:
    """One row per constraint row and per no-duplicate group, with slack and binding.

    A ``<=`` row binds when its slack is 0, or when the slack is smaller than the smallest
    step any member below its upper bound could take: 1万元, or the whole upper bound for an
    all-or-nothing award still at 0; a member at 0 whose no-duplicate group already pays
    another item cannot step at all. A ``>=`` row binds when its slack is 0. A no-duplicate
    group binds when one of its members is paid.
    """
    p = build.problem
    award = np.asarray(allocation.award, dtype=np.int64)
    step = _steps(build, award)
    rows = p.rows
    lhs = rows.sums(award)
    min_step = np.full(rows.count, np.inf)
    np.minimum.at(min_step, rows.row, step[rows.var])
    slack = np.where(rows.is_cap, rows.rhs - lhs, lhs - rows.rhs)
    binding = (slack == 0) | (rows.is_cap & (slack < min_step))
    frames = [
        pd.DataFrame(
            {
                "name": rows.labels,
                "family": rows.families,
                "clause_id": [fam.clause_id for fam in p.families for _ in fam.labels],
                "sense": np.where(rows.is_cap, "<=", ">="),
                "lhs": lhs,
                "rhs": rows.rhs,
                "slack": slack,
                "binding": binding,
                "members": np.bincount(rows.row, minlength=rows.count),
            }
        )
    ]
    if p.exclusive:
        lengths = np.array([m.size for m in p.exclusive], dtype=np.int64)
        row = np.repeat(np.arange(len(p.exclusive)), lengths)
        flat = np.concatenate(p.exclusive)
        paid = np.bincount(row, weights=award[flat] > 0, minlength=len(p.exclusive))
        paid = paid.astype(np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "name": p.exclusive_labels,
                    "family": NO_DUPLICATE,
                    "clause_id": p.exclusive_clause_ids,
                    "sense": "<=",
                    "lhs": paid,
                    "rhs": 1,
                    "slack": 1 - paid,
                    "binding": paid >= 1,
                    "members": lengths,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    for col in ("lhs", "rhs", "slack", "members"):
        out[col] = out[col].astype(np.int64)
    out["binding"] = out["binding"].astype(bool)
    return out[list(CONSTRAINT_COLUMNS)]


def _steps(build: Build, award: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The smallest raise each variable could take on its own (inf: none)."""
    p = build.problem
    step = np.ones(p.size, dtype=np.float64)
    zero = award == 0
    aon = p.all_or_nothing & zero
    step[aon] = p.upper[aon]
    step[award >= p.upper] = np.inf
    blocked, _ = blocked_by_group(build, award)
    step[blocked] = np.inf
    return step


def blocked_by_group(
    build: Build, award: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Variables at 0 whose no-duplicate group pays another member, and that group's index."""
    p = build.problem
    blocked = np.zeros(p.size, dtype=bool)
    group_of = np.full(p.size, -1, dtype=np.int64)
    if not p.exclusive:
        return blocked, group_of
    lengths = np.array([m.size for m in p.exclusive], dtype=np.int64)
    row = np.repeat(np.arange(len(p.exclusive)), lengths)
    flat = np.concatenate(p.exclusive)
    paid = np.bincount(row, weights=award[flat] > 0, minlength=len(p.exclusive)) > 0
    hit = paid[row] & (award[flat] == 0)
    # The first group (in problem order) that blocks a variable names the reason.
    hit_vars, first = np.unique(flat[hit], return_index=True)
    blocked[hit_vars] = True
    group_of[hit_vars] = row[hit][first]
    return blocked, group_of


def totals(awards: pd.DataFrame, model: PolicyModel) -> dict[str, list[dict[str, Any]]]:
    """Claims and awards per clause, per item and per district."""
    clause_order = {c.id: n for n, c in enumerate(model.clauses)}
    titles = {c.id: c.title for c in model.clauses}
    item_titles = {f"{c.id}/{i.id}": i.title for c, i in model.items()}
    item_order = {k: n for n, k in enumerate(item_titles)}
    district_order = {d: n for n, d in enumerate(DISTRICTS)}

    def table(key: str, order: dict[str, int]) -> pd.DataFrame:
        g = awards.groupby(key, sort=False)
        t = pd.DataFrame(
            {
                "claims": g["claim_wan"].apply(lambda s: int((s > 0).sum())),
                "funded": g["award_wan"].apply(lambda s: int((s > 0).sum())),
                "claim_wan": g["claim_wan"].sum(),
                "award_wan": g["award_wan"].sum(),
            }
        )
        t.index = t.index.astype(str)
        position = [order.get(k, len(order)) for k in t.index]
        t = t.assign(_o=position).sort_values(["_o"], kind="stable").drop(columns="_o")
        return t.reset_index(names=key)

    clauses = table("clause_id", clause_order)
    clauses.insert(1, "title", clauses["clause_id"].map(titles).fillna(""))
    items = table("item_key", item_order)
    items.insert(1, "title", items["item_key"].map(item_titles).fillna(""))
    districts = table("district", district_order)
    return {
        "per_clause": _records(clauses),
        "per_item": _records(items),
        "per_district": _records(districts),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rec in frame.to_dict(orient="records"):
        out.append({str(k): (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()})
    return out


__all__ = [
    "award_vector",
    "blocked_by_group",
    "constraints_table",
    "totals",
]
