"""Priority weights: the scenario's weights as integers the solvers can multiply exactly.

A claim's weight is the product of its clause's, its industry's and its district's weights and
of its firm's contribution multiplier (2025 （十九）), in thousandths (``WEIGHT_SCALE``).
``docs/scenario.md`` documents them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.scenario import Contribution, Scenario
from allocator.model.problem import IntArray

FloatArray = npt.NDArray[np.float64]

# Weights are reals in the scenario; the solver needs integers. Three decimals keep a weight
# of 1.234 distinct from 1.235 while weight × award stays far inside 64 bits.
WEIGHT_SCALE = 1000


def weights(v: pd.DataFrame, scenario: Scenario, enterprises: pd.DataFrame | None) -> IntArray:
    """The integer weight of each variable of ``v`` (at least 1), in thousandths.

    ``enterprises`` is needed only when the scenario weighs by contribution.
    """
    w = scenario.weights
    n = len(v)
    product = np.ones(n, dtype=np.float64)
    if w.clauses:
        items = v[["item_key", "clause_id"]].drop_duplicates()
        per_item = {
            key: w.clauses.get(key, w.clauses.get(clause, 1.0))
            for key, clause in zip(items["item_key"], items["clause_id"], strict=True)
        }
        product *= v["item_key"].map(per_item).to_numpy(dtype=np.float64)
    if w.industries:
        product *= v["industry"].map(w.industries).fillna(1.0).to_numpy(dtype=np.float64)
    if w.districts:
        product *= v["district"].map(w.districts).fillna(1.0).to_numpy(dtype=np.float64)
    if w.contribution is not None and (w.contribution.growth or w.contribution.increment):
        if enterprises is None:
            raise ValueError("contribution weights need the enterprise table")
        multiplier = contribution_multiplier(enterprises, w.contribution)
        firm_row = v["firm_row"].to_numpy(dtype=np.int64)
        has_firm = firm_row >= 0
        factor = np.ones(n, dtype=np.float64)
        factor[has_firm] = multiplier[firm_row[has_firm]]
        product *= factor
    return np.maximum(np.rint(product * WEIGHT_SCALE), 1).astype(np.int64)


def contribution_multiplier(enterprises: pd.DataFrame, c: Contribution) -> FloatArray:
    """Per firm, ``1 + a·rank(growth rate) + b·rank(increment)`` (2025 （十九）).

    Ranks are percentile ranks from 0 (lowest) to 1 (highest) among the firms where the
    measure is defined, ties sharing their average rank; a lone firm ranks 1. The rate needs a
    positive earlier figure, the increment both figures; a firm lacking them gets 0 for the
    term.

    Parameters
    ----------
    enterprises:
        The enterprise table, one row per firm.
    c:
        The scenario's coefficients and fields.

    Returns
    -------
    numpy.ndarray
        One multiplier per row of ``enterprises``, by position.
    """
    now = pd.to_numeric(enterprises[c.field_now], errors="coerce").to_numpy(dtype=np.float64)
    before = pd.to_numeric(enterprises[c.field_before], errors="coerce").to_numpy(dtype=np.float64)
    both = ~np.isnan(now) & ~np.isnan(before)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(both & (before > 0), now / before - 1.0, np.nan)
    increment = np.where(both, now - before, np.nan)
    return 1.0 + c.growth * _percentile_rank(rate) + c.increment * _percentile_rank(increment)


def _percentile_rank(values: FloatArray) -> FloatArray:
    out = np.zeros(values.shape[0], dtype=np.float64)
    defined = ~np.isnan(values)
    n = int(defined.sum())
    if n == 1:
        out[defined] = 1.0
    elif n > 1:
        ranks = pd.Series(values[defined]).rank(method="average").to_numpy(dtype=np.float64)
        out[defined] = (ranks - 1.0) / (n - 1)
    return out


__all__ = ["WEIGHT_SCALE", "contribution_multiplier", "weights"]
