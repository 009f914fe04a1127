"""The priority model in HiGHS's column-wise form, and what it says about an award vector.

:func:`build_model` assembles the mixed-integer program :mod:`allocator.solve.highs` solves
(the model is described there) from the problem's row matrix; :func:`violated_rows` and
:func:`frozen_by` read an award vector against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from allocator.model.problem import ALL_OR_NOTHING, IntArray, Problem

FloatArray = npt.NDArray[np.float64]

_INF = highspy.kHighsInf


@dataclass(frozen=True)
class HighsModel:
    """The priority model in HiGHS's column-wise form, with what is needed to explain it.

    Columns ``0..n-1`` are the awards of the open variables (``index``, ascending), ``n..n+m-1``
    the binaries (one per open variable that is all-or-nothing or in an exclusive group that
    can bind, in variable order: ``binary_var``). Rows are the family rows (in family order,
    then row order; what the fixed claims take is already deducted), then one linking row per
    binary, then one row per exclusive group that can bind.
    """

    n: int
    index: IntArray
    binary_var: IntArray
    lower: IntArray
    upper: IntArray
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    a_start: npt.NDArray[np.int32]
    a_index: npt.NDArray[np.int32]
    a_value: FloatArray
    # The family rows alone, over every variable, as (row, variable) pairs, to compute
    # activities of a whole award vector.
    family_row: IntArray
    family_var: IntArray
    family_rhs: IntArray
    family_is_cap: npt.NDArray[np.bool_]
    family_labels: list[str]
    # The exclusive groups alone, as (group, variable) pairs.
    group_row: IntArray
    group_var: IntArray

    @property
    def num_col(self) -> int:
        return int(self.col_cost.shape[0])

    @property
    def num_row(self) -> int:
        return int(self.row_lower.shape[0])

    def full(self, x: FloatArray) -> IntArray:
        """The whole award vector from HiGHS's column values, rounded to whole 万元.

        HiGHS returns integers up to its integrality tolerance (1e-6).
        """
        award = self.lower.copy()
        open_ = np.rint(x[: self.n]).astype(np.int64)
        award[self.index] = np.clip(open_, self.lower[self.index], self.upper[self.index])
        return award

    def columns(self, award: IntArray) -> FloatArray:
        """Column values (awards and binaries) that spell ``award`` (full length)."""
        return np.concatenate(
            [award[self.index], (award[self.binary_var] > 0).astype(np.float64)]
        ).astype(np.float64)

    def constant(self, coef: IntArray) -> int:
        """``Σ coef·lower`` over the fixed variables: the part of an objective outside HiGHS."""
        fixed = np.ones(self.lower.shape[0], dtype=np.bool_)
        fixed[self.index] = False
        return int(np.dot(coef[fixed], self.lower[fixed]))


def _pairs(members: list[IntArray], first_row: int) -> tuple[IntArray, IntArray]:
    """Flatten index arrays into (row, variable) pairs, rows numbered from ``first_row``."""
    if not members:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    lengths = np.fromiter(map(len, members), dtype=np.int64, count=len(members))
    rows = np.repeat(np.arange(first_row, first_row + len(members), dtype=np.int64), lengths)
    variables = np.concatenate(members).astype(np.int64, copy=False)
    return rows, variables


def _bounds(
    problem: Problem, lower: IntArray | None, upper: IntArray | None
) -> tuple[IntArray, IntArray]:
    """The bounds as int64 vectors, checked as ``cpsat.build`` checks them."""
    n = problem.size
    lo = np.zeros(n, dtype=np.int64) if lower is None else np.asarray(lower, dtype=np.int64)
    hi = problem.upper.astype(np.int64) if upper is None else np.asarray(upper, dtype=np.int64)
    if lo.shape != (n,) or hi.shape != (n,) or bool((lo > hi).any()) or bool((lo < 0).any()):
        raise ValueError(
            "bounds must be two vectors of the problem's size with 0 <= lower <= upper"
        )
    aon = problem.all_or_nothing.astype(np.bool_)
    free = lo < hi
    spans = (lo == 0) & (hi == problem.upper)
    at_end = (lo == 0) | (lo == problem.upper)
    bad = aon & np.where(free, ~spans, ~at_end)
    if bad.any():
        raise ValueError(
            f"all-or-nothing claim {int(np.flatnonzero(bad)[0])} must be fixed at 0 or its "
            "claim, or span [0, claim]"
        )
    return lo, hi


def build_model(
    problem: Problem, lower: IntArray | None = None, upper: IntArray | None = None
) -> HighsModel:
    """Assemble the priority model of ``problem`` within ``[lower, upper]`` (phase-1 objective).

    ``lower`` defaults to 0 and ``upper`` to the claims. Variables whose bounds meet are
    constants: each family row's right-hand side loses what they take, and an exclusive group
    loses one place per member fixed at a positive amount.
    """
    lo, hi = _bounds(problem, lower, upper)
    free = lo < hi
    index = np.flatnonzero(free).astype(np.int64)
    n = int(index.shape[0])
    pos = np.full(problem.size, -1, dtype=np.int64)
    pos[index] = np.arange(n, dtype=np.int64)

    matrix = problem.rows
    family_row, family_var, family_rhs = matrix.row, matrix.var, matrix.rhs
    family_is_cap = matrix.is_cap
    n_family_rows = matrix.count
    # The fixed variables' part of each row moves to the right-hand side (float64 sums are
    # exact below 2**53, far above any fund).
    open_pair = free[family_var]
    fixed_part = np.bincount(
        family_row[~open_pair],
        weights=lo[family_var[~open_pair]].astype(np.float64),
        minlength=n_family_rows,
    )
    rhs_open = family_rhs.astype(np.float64) - np.rint(fixed_part)

    # A group binds only with two members that can be paid; members fixed at a positive
    # amount take its one place before the open ones.
    group_row, group_var = _pairs(problem.exclusive, 0)
    n_groups = len(problem.exclusive)
    payable = hi[group_var] > 0
    binds = np.bincount(group_row[payable], minlength=n_groups) >= 2
    counted = payable & binds[group_row]
    taken = np.bincount(group_row[counted & ~free[group_var]], minlength=n_groups)
    open_member = counted & free[group_var]
    binding = np.flatnonzero(binds)
    group_at = np.full(n_groups, -1, dtype=np.int64)
    group_at[binding] = np.arange(binding.shape[0], dtype=np.int64)

    # One binary per open variable that needs one; a variable both all-or-nothing and
    # exclusive shares it, because "positive" and "at its claim" are then the same thing.
    needs_binary = problem.all_or_nothing.astype(np.bool_) & free
    needs_binary[group_var[open_member]] = True
    flagged = np.flatnonzero(needs_binary).astype(np.int64)
    m = int(flagged.shape[0])
    binary_col = np.full(problem.size, -1, dtype=np.int64)
    binary_col[flagged] = n + np.arange(m, dtype=np.int64)

    # Linking rows x - upper * b <= 0, or = 0 for all-or-nothing.
    link_row = n_family_rows + np.arange(m, dtype=np.int64)
    aon = problem.all_or_nothing[flagged]
    # Exclusive rows sum(b) <= 1 - (members fixed at a positive amount).
    first_group_row = n_family_rows + m

    rows = np.concatenate(
        [
            family_row[open_pair],
            link_row,
            link_row,
            group_at[group_row[open_member]] + first_group_row,
        ]
    )
    cols = np.concatenate(
        [
            pos[family_var[open_pair]],
            pos[flagged],
            binary_col[flagged],
            binary_col[group_var[open_member]],
        ]
    )
    values = np.concatenate(
        [
            np.ones(int(np.count_nonzero(open_pair))),
            np.ones(m),
            -hi[flagged].astype(np.float64),
            np.ones(int(np.count_nonzero(open_member))),
        ]
    )

    num_col = n + m
    # Column-wise (CSC): sort the entries by column, then row, and count entries per column.
    order = np.lexsort((rows, cols))
    a_start = np.zeros(num_col + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=num_col), out=a_start[1:])

    family_lower = np.where(family_is_cap, -_INF, rhs_open)
    family_upper = np.where(family_is_cap, rhs_open, _INF)
    row_lower = np.concatenate(
        [family_lower, np.where(aon, 0.0, -_INF), np.full(binding.shape[0], -_INF)]
    )
    row_upper = np.concatenate([family_upper, np.zeros(m), (1 - taken[binding]).astype(np.float64)])

    return HighsModel(
        n=n,
        index=index,
        binary_var=flagged,
        lower=lo,
        upper=hi,
        col_cost=np.concatenate([problem.weight[index].astype(np.float64), np.zeros(m)]),
        col_lower=np.concatenate([lo[index].astype(np.float64), np.zeros(m)]),
        col_upper=np.concatenate([hi[index].astype(np.float64), np.ones(m)]),
        row_lower=row_lower,
        row_upper=row_upper,
        a_start=a_start.astype(np.int32),
        a_index=rows[order].astype(np.int32),
        a_value=values[order],
        family_row=family_row,
        family_var=family_var,
        family_rhs=family_rhs,
        family_is_cap=family_is_cap,
        family_labels=matrix.labels,
        group_row=group_row,
        group_var=group_var,
    )


def violated_rows(problem: Problem, model: HighsModel, award: IntArray) -> list[str]:
    """Labels of the rows ``award`` breaks: family rows, exclusive groups, all-or-nothing."""
    activity = np.bincount(
        model.family_row, weights=award[model.family_var], minlength=model.family_rhs.shape[0]
    )
    broken = np.where(model.family_is_cap, activity > model.family_rhs, activity < model.family_rhs)
    labels = [model.family_labels[k] for k in np.flatnonzero(broken)]
    positives = np.bincount(
        model.group_row,
        weights=(award[model.group_var] > 0).astype(np.float64),
        minlength=len(problem.exclusive),
    )
    labels += [problem.exclusive_labels[g] for g in np.flatnonzero(positives > 1)]
    partial = problem.all_or_nothing & (award != 0) & (award != problem.upper)
    labels += [ALL_OR_NOTHING] * int(np.count_nonzero(partial))
    return labels


def frozen_by(problem: Problem, model: HighsModel, award: IntArray) -> list[str]:
    """Why each variable stays below its claim, ``""`` where it reached it.

    As ``allocator.solve.rules`` explains a priority allocation: the cap or budget row containing
    the variable with the least slack (the first such row in family order on a tie), unless
    the variable is at zero while another member of one of its exclusive groups is positive,
    when it is that group's label (the last such group listed).
    """
    n = problem.size
    below = award < problem.upper
    label = np.full(n, -1, dtype=np.int64)  # index into ``names``

    activity = np.bincount(
        model.family_row, weights=award[model.family_var], minlength=model.family_rhs.shape[0]
    )
    slack = model.family_rhs - activity
    cap = model.family_is_cap[model.family_row]
    var = model.family_var[cap]
    row = model.family_row[cap]
    if var.shape[0]:
        order = np.lexsort((row, slack[row], var))
        first = np.ones(order.shape[0], dtype=np.bool_)
        first[1:] = var[order][1:] != var[order][:-1]
        label[var[order][first]] = row[order][first]
    names = list(model.family_labels)

    positives = np.bincount(
        model.group_row,
        weights=(award[model.group_var] > 0).astype(np.float64),
        minlength=len(problem.exclusive),
    )
    excluded = (award[model.group_var] == 0) & (positives[model.group_row] > 0)
    if excluded.any():
        group_of = np.full(n, -1, dtype=np.int64)
        np.maximum.at(group_of, model.group_var[excluded], model.group_row[excluded])
        label = np.where(group_of >= 0, len(names) + group_of, label)
    names.extend(problem.exclusive_labels)

    pairs = zip(label.tolist(), below.tolist(), strict=True)
    return [names[k] if k >= 0 and is_below else "" for k, is_below in pairs]


__all__ = ["HighsModel", "build_model", "frozen_by", "violated_rows"]
