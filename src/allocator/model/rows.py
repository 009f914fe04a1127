"""The constraint rows of a problem as one sparse matrix in coordinate form.

Every engine and check that reads the family rows — the level rules' filling, the priority
greedy, reduced-cost fixing, HiGHS — reads them from here, built once per problem
(:attr:`allocator.model.problem.Problem.rows`). Pair ``p`` puts variable ``var[p]`` in row
``row[p]`` with coefficient 1; rows keep the order of ``problem.families`` and then of their
labels, so "the first row" never depends on hashing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from allocator.model.problem import Family

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def row_sums(index: IntArray, values: IntArray, length: int) -> IntArray:
    """``out[k] = Σ values[p]`` over the ``p`` with ``index[p] == k``, exact for whole 万元.

    float64 sums are exact below 2**53; the builder refuses claims that total more
    (``limits.MAX_TOTAL_CLAIM``).
    """
    out = np.bincount(index, weights=values.astype(np.float64), minlength=length)
    return np.rint(out).astype(np.int64)


@dataclass(frozen=True)
class RowMatrix:
    """Constraint rows ``Σ x[var[p]] (<= or >=) rhs[row[p]]`` in coordinate form.

    Attributes
    ----------
    labels:
        One per row, as the families name them (``district_cap[柳南区]``).
    families:
        The family name of each row.
    is_cap:
        True for ``<=`` rows (caps, budgets), False for ``>=`` rows (floors).
    rhs:
        Right-hand side per row, whole 万元.
    row, var:
        The (row, variable) pairs, grouped by row; each variable at most once per row.
    """

    labels: list[str]
    families: list[str]
    is_cap: BoolArray
    rhs: IntArray
    row: IntArray
    var: IntArray

    @property
    def count(self) -> int:
        """Number of rows."""
        return len(self.labels)

    def sums(self, values: IntArray) -> IntArray:
        """Per-row sum of ``values`` over the row's members."""
        return row_sums(self.row, values[self.var], self.count)

    def concat(self, other: RowMatrix) -> RowMatrix:
        """These rows, then ``other``'s, numbered after them."""
        return RowMatrix(
            labels=self.labels + other.labels,
            families=self.families + other.families,
            is_cap=np.concatenate([self.is_cap, other.is_cap]),
            rhs=np.concatenate([self.rhs, other.rhs]),
            row=np.concatenate([self.row, other.row + self.count]),
            var=np.concatenate([self.var, other.var]),
        )

    def select(self, keep: BoolArray) -> RowMatrix:
        """The rows where ``keep`` is true, renumbered in their order."""
        number = np.cumsum(keep) - 1
        pair = keep[self.row]
        return RowMatrix(
            labels=[label for label, k in zip(self.labels, keep.tolist(), strict=True) if k],
            families=[name for name, k in zip(self.families, keep.tolist(), strict=True) if k],
            is_cap=self.is_cap[keep],
            rhs=self.rhs[keep],
            row=number[self.row[pair]].astype(np.int64),
            var=self.var[pair],
        )

    @functools.cached_property
    def caps(self) -> RowMatrix:
        """The ``<=`` rows alone (fund, sub-budgets, firm and district caps)."""
        return self.select(self.is_cap)

    @functools.cached_property
    def floors(self) -> RowMatrix:
        """The ``>=`` rows alone (district floors)."""
        return self.select(~self.is_cap)


def row_matrix(families: Sequence[Family]) -> RowMatrix:
    """The rows of ``families`` in their order, each row's members sorted and unique."""
    labels: list[str] = []
    names: list[str] = []
    is_cap: list[bool] = []
    rhs: list[int] = []
    members: list[IntArray] = []
    for fam in families:
        labels.extend(fam.labels)
        names.extend([fam.name] * len(fam.labels))
        is_cap.extend([fam.sense == "<="] * len(fam.labels))
        rhs.extend(int(b) for b in fam.rhs.tolist())
        members.extend(np.asarray(m, dtype=np.int64) for m in fam.members)
    empty = np.zeros(0, dtype=np.int64)
    lengths = np.fromiter(map(len, members), dtype=np.int64, count=len(members))
    row = np.repeat(np.arange(len(members), dtype=np.int64), lengths)
    var = np.concatenate(members) if members else empty
    order = np.lexsort((var, row))
    row, var = row[order], var[order]
    keep = np.ones(row.shape[0], dtype=np.bool_)
    keep[1:] = (row[1:] != row[:-1]) | (var[1:] != var[:-1])
    return RowMatrix(
        labels=labels,
        families=names,
        is_cap=np.asarray(is_cap, dtype=np.bool_),
        rhs=np.asarray(rhs, dtype=np.int64),
        row=row[keep],
        var=var[keep],
    )


__all__ = ["RowMatrix", "row_matrix", "row_sums"]
