"""The awards table and its reasons: for every claim paid less than it asked, why.

docs/outputs.md lists the reasons. A reason known before the solve (not applied for, the
provincial rule) comes from the claims table; what stopped a variable in the solve comes from
the constraint row the fairness rule names, or, where it names none, from the solution itself.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.inputs.choices import Rule
from allocator.model.build import Build
from allocator.model.problem import FUND_CAP, NO_DUPLICATE, Allocation
from allocator.outputs.names import AWARD_COLUMNS
from allocator.outputs.tables import award_vector, blocked_by_group, constraints_table

LEVEL_RULES = (Rule.PROPORTIONAL, Rule.EQUAL_AWARDS, Rule.EQUAL_LOSSES, Rule.TALMUD)


def awards_table(
    build: Build, allocation: Allocation | None, constraints: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per eligible (recipient, item), in output order, with award and reason."""
    rows = build.rows
    award = award_vector(build, allocation)
    out = rows[list(AWARD_COLUMNS[:7])].copy()
    out["claim_wan"] = rows["claim_wan"].to_numpy(dtype=np.int64)
    out["award_wan"] = award
    out["reason"] = _reasons(build, allocation, award, constraints)
    return out[list(AWARD_COLUMNS)]


def _reasons(
    build: Build,
    allocation: Allocation | None,
    award: npt.NDArray[np.int64],
    constraints: pd.DataFrame | None,
) -> npt.NDArray[np.object_]:
    rows = build.rows
    claim = rows["claim_wan"].to_numpy(dtype=np.int64)
    upper = rows["upper_wan"].to_numpy(dtype=np.int64)
    var = rows["var"].to_numpy(dtype=np.int64)
    note = rows["note"].to_numpy(dtype=object)
    reason = np.full(len(rows), "", dtype=object)

    # Reasons known before solving: not applied for, the provincial rule.
    pre = (award < claim) & ((var < 0) | (upper < claim)) & (note != "")
    reason[pre] = note[pre]
    if allocation is None:
        return reason

    solver = _solver_reasons(build, allocation, constraints)
    has = var >= 0
    below = np.zeros(len(rows), dtype=bool)
    below[has] = award[has] < upper[has]
    text = np.full(len(rows), "", dtype=object)
    text[below] = solver[var[below]]
    both = below & (reason != "")
    reason[both] = reason[both] + "; " + text[both]
    only = below & ~both
    reason[only] = text[only]
    return reason


# A variable's stopping row is a number: 0 .. R-1 the families' rows in problem order (the
# order of constraints.csv), R .. R+G-1 the no-duplicate groups, R+G the all-or-nothing rule,
# R+G+1 "none found"; NOT_STOPPED where the variable reached its upper bound.
NOT_STOPPED = -1
# The clause_id the model builder gives a row that only the scenario sets.
_SCENARIO = "scenario"


def _row_words(build: Build, status: object) -> tuple[npt.NDArray[np.object_], ...]:
    """Per stopping row: the core of the reason and the clause it comes from."""
    p = build.problem
    core: list[str] = []
    where: list[str] = []
    for fam in p.families:
        if fam.clause_id != _SCENARIO:
            source = f"clause {fam.clause_id}"
        else:
            source = "scenario budget" if fam.name == FUND_CAP else ""
        core.extend(f"{label} binding" for label in fam.labels)
        where.extend([source] * len(fam.labels))
    core.extend(
        f"{NO_DUPLICATE}[{name}]: another item of the group was chosen"
        for name in build.exclusive_groups
    )
    where.extend([""] * len(build.exclusive_groups))
    core.append(_AON_WORDS)
    core.append(f"below claim: no binding constraint found (status {status})")
    where.extend(["", ""])
    return np.asarray(core, dtype=object), np.asarray(where, dtype=object)


_AON_WORDS = "all_or_nothing: not funded"


def stopping_rows(build: Build, allocation: Allocation) -> npt.NDArray[np.int64]:
    """The row the fairness rule reports as having stopped each variable (see NOT_STOPPED).

    The rule reports a row by its label (``Allocation.frozen_by``), the all-or-nothing rule
    by the name ``all_or_nothing``; labels are unique in a problem, so this is an exact look-up
    and the only place the outputs read a solver label. Unknown labels count as unnamed.
    """
    p = build.problem
    rows = np.full(p.size, NOT_STOPPED, dtype=np.int64)
    frozen = list(allocation.frozen_by)
    if not frozen:
        return rows
    labels = [*p.rows.labels, *p.exclusive_labels, _AON_LABEL]
    index = dict(zip(labels, range(len(labels)), strict=True))
    codes, uniques = pd.factorize(pd.Series(frozen, dtype=object))
    lookup = np.array([index.get(label, NOT_STOPPED) for label in uniques], dtype=np.int64)
    known = codes >= 0
    rows[known] = lookup[codes[known]]
    return rows


# The name under which the fairness rules report the all-or-nothing rule in frozen_by.
_AON_LABEL = "all_or_nothing"


def _solver_reasons(
    build: Build, allocation: Allocation, constraints: pd.DataFrame | None
) -> npt.NDArray[np.object_]:
    """Per variable below its upper bound, what stopped it; "" elsewhere.

    A reason is a core (``fund_cap binding``) and the clause it comes from (``clause 18``):
    ``fund_cap binding (clause 18)``, or under a level rule
    ``proportional level 0.8123 (fund_cap binding, clause 18)``.
    """
    p = build.problem
    award = np.asarray(allocation.award, dtype=np.int64)
    below = award < p.upper
    if not below.any():
        return np.full(p.size, "", dtype=object)
    if constraints is None:
        constraints = constraints_table(build, allocation)
    n_rows = p.rows.count
    aon_row = n_rows + len(p.exclusive)
    none_row = aon_row + 1

    row = stopping_rows(build, allocation)
    row[~below] = NOT_STOPPED
    # What the solver did not name, the constraints explain: a paid member of the group,
    # an all-or-nothing award left out, or the first binding row holding the variable.
    todo = below & (row == NOT_STOPPED)
    blocked, group_of = blocked_by_group(build, award)
    by_group = todo & blocked
    row[by_group] = n_rows + group_of[by_group]
    todo &= ~by_group
    aon = todo & p.all_or_nothing & (award == 0)
    row[aon] = aon_row
    todo &= ~aon
    if todo.any():
        binding = constraints["binding"].to_numpy(dtype=bool)
        k = 0
        for fam in p.families:
            for members in fam.members:
                if binding[k]:
                    hit = members[todo[members]]
                    row[hit] = k
                    todo[hit] = False
                k += 1
            if not todo.any():
                break
        row[todo] = none_row

    row_core, row_where = _row_words(build, allocation.status)
    core = np.full(p.size, "", dtype=object)
    where = np.full(p.size, "", dtype=object)
    core[below] = row_core[row[below]]
    where[below] = row_where[row[below]]

    text = pd.Series(core, dtype=object)
    src = pd.Series(where, dtype=object)
    has_src = src != ""
    levels = np.asarray(allocation.levels, dtype=np.float64)
    level = np.zeros(p.size, dtype=bool)
    if allocation.rule in LEVEL_RULES and levels.shape[0] == p.size:
        level = below & np.isfinite(levels)
    plain = ~level & has_src.to_numpy()
    text[plain] = text[plain] + " (" + src[plain] + ")"
    if level.any():
        value = pd.Series(np.char.mod("%.4f", levels[level]), index=np.flatnonzero(level))
        inner = text[level].where(~has_src[level], text[level] + ", " + src[level])
        text[level] = f"{allocation.rule.value} level " + value + " (" + inner + ")"
    # An indivisible award left at 0 by a row: the row's share was not the whole award.
    aon_too = below & p.all_or_nothing & (award == 0) & (row != aon_row)
    text[aon_too] = text[aon_too] + "; " + _AON_WORDS
    return text.to_numpy(dtype=object)


__all__ = ["LEVEL_RULES", "NOT_STOPPED", "awards_table", "stopping_rows"]
