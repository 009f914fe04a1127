"""From the claims table and the scenario to the :class:`~allocator.model.problem.Problem`.

One builder per constraint family, each named after the clause or rule it comes from:

=================  ==========================================  ===========================
family             rows                                        clause_id
=================  ==========================================  ===========================
``fund_cap``       total of all awards <= the budget           the fund-cap clause, or
                                                               ``scenario``
``sub_budget``     one per scenario budget line                ``scenario``
``provincial``     one per firm and provincial type, where     the provincial rule's clause
                   several city items of the type stack
                   (``better_of`` only)
``firm_cap``       one per recipient whose claims exceed the   ``scenario``
                   cap
``district_cap``   one per capped district                     ``scenario``
``district_floor`` one per district with a floor               ``scenario``
no-duplicate       one per recipient and group with at least   the stacking rule's clause,
groups             two variables                               or ``scenario``
=================  ==========================================  ===========================

Only eligible claims with a positive amount, applied for, and left positive by the provincial
rule become variables; the others stay in :attr:`Build.rows` with the reason they get nothing.
Everything is vectorised (numpy and pandas group-bys); there is no Python loop per claim.
``docs/scenario.md`` documents weights, ranks and the provincial rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.choices import Rule
from allocator.inputs.scenario import Scenario
from allocator.model.families import exclusive_groups, families
from allocator.model.limits import MAX_LINEAR, MAX_PROPORTIONAL_CLAIM, MAX_TOTAL_CLAIM
from allocator.model.problem import IntArray, Problem
from allocator.model.weights import WEIGHT_SCALE, weights
from allocator.policy.bind import Budget, settle_budget
from allocator.policy.columns import TABLE_COLUMNS, TEXT_COLUMNS, text_order
from allocator.policy.model import PolicyModel

#: The claims table's columns the builder reads: all of them but the unrounded ``amount``.
CLAIM_COLUMNS = tuple(c for c in TABLE_COLUMNS if c != "amount")
_TEXTS = tuple(c for c in TEXT_COLUMNS if c in CLAIM_COLUMNS)
_IDENTIFIERS = ("clause_id", "item_id", "item_key")
FloatArray = npt.NDArray[np.float64]


class ClaimsLike(Protocol):
    """What the builder needs of :class:`allocator.policy.claims.Claims`: its long table."""

    @property
    def table(self) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Build:
    """A built problem with everything the outputs need to explain it.

    Attributes
    ----------
    problem:
        What the solver sees.
    rows:
        Every eligible claim, in output order (item in document order, then recipient id),
        with ``var`` (index into the problem, −1 when the claim is no variable),
        ``upper_wan`` (the most it can receive) and ``note`` (why ``upper_wan`` is below
        the claim, or empty).
    budget:
        The fund and its source.
    exclusive_groups:
        Group name of each no-duplicate row of the problem (``growth_award``), aligned with
        ``problem.exclusive``.
    infeasible:
        Reasons the scenario cannot be met whatever the solver does (a floor above the
        budget, a floor over a district without claims); empty when none is evident.
    """

    problem: Problem
    rows: pd.DataFrame
    budget: Budget
    exclusive_groups: list[str]
    infeasible: list[str]


def build(
    claims: ClaimsLike,
    scenario: Scenario,
    model: PolicyModel,
    *,
    budget: Budget | None = None,
    enterprises: pd.DataFrame | None = None,
) -> Build:
    """Turn eligible claims into variables, bounds, weights and constraint families.

    Parameters
    ----------
    claims:
        The claims, one row per (recipient, award item), with the columns of
        :data:`CLAIM_COLUMNS`.
    scenario:
        The scenario, already checked against the model.
    model:
        The policy model (item order, global rules).
    budget:
        The fund, as :func:`allocator.inputs.scenario.check_against_model` settled it; settled here
        when not given.
    enterprises:
        The enterprise table ``firm_row`` points into (by position); needed only for the
        contribution weights.

    Returns
    -------
    Build
        The problem and the rows the outputs report.
    """
    if budget is None:
        budget = settle_budget(scenario, model)
    cols, rec_code, rec_names = _eligible_rows(claims.table, model)
    upper, note, prov_rows = _provincial(cols, model)
    is_var = upper > 0
    var = np.full(len(upper), -1, dtype=np.int64)
    var[is_var] = np.arange(int(is_var.sum()), dtype=np.int64)
    cols.update(upper_wan=upper, note=note, var=var)
    rows = pd.DataFrame(cols, copy=False)
    v = pd.DataFrame({k: a[is_var] for k, a in cols.items()}, copy=False)
    v_rec = rec_code[is_var]

    weight = weights(v, scenario, enterprises)
    fams, infeasible = families(v, v_rec, rec_names, scenario, model, budget, prov_rows, var)
    exclusive, labels, clause_ids, names = exclusive_groups(v, v_rec, rec_names, scenario, model)
    problem = Problem(
        claims=v,
        upper=upper[is_var],
        weight=weight,
        # Rows are already in document order of the item, then recipient id.
        rank=np.arange(len(v), dtype=np.int64),
        all_or_nothing=cols["all_or_nothing"][is_var],
        exclusive=exclusive,
        exclusive_labels=labels,
        exclusive_clause_ids=clause_ids,
        families=fams,
        budget=budget.value_wan,
        rounding=scenario.fairness.rounding,
        one_offs=scenario.fairness.one_offs,
    )
    return Build(problem, rows, budget, names, infeasible)


# --------------------------------------------------------------------------------------------
# Rows and upper bounds


def _eligible_rows(
    table: pd.DataFrame, model: PolicyModel
) -> tuple[dict[str, npt.NDArray[Any]], IntArray, npt.NDArray[np.object_]]:
    """The eligible rows (claim above 0) as cleaned columns in output order, and recipient codes.

    Recipient codes number the recipient ids in sorted order, so that grouping by code
    keeps recipients in id order.
    """
    missing = [c for c in CLAIM_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"claims table lacks columns: {', '.join(missing)}")
    # Eligible means one thing in every output: meets every condition and claims more than
    # 0万元 (docs/outputs.md). A claim the formula or the rounding brings to 0 is not a row.
    mask = _numbers(table["eligible"], np.bool_, False) & (
        _numbers(table["claim_wan"], np.int64, 0) > 0
    )
    # Text stays as codes into its distinct values until the rows are in order: the table
    # has a row per recipient and item, the eligible rows a small part of them.
    texts = {col: _text_codes(table[col], mask) for col in _TEXTS}
    cols: dict[str, npt.NDArray[Any]] = {}
    for col in ("claim_wan", "provincial_award_wan", "firm_row"):
        cols[col] = _numbers(table[col], np.int64, 0, mask)
    for col in ("applied", "all_or_nothing", "provincial_applied"):
        cols[col] = _numbers(table[col], np.bool_, False, mask)

    order = {f"{c.id}/{i.id}": n for n, (c, i) in enumerate(model.items())}
    key_codes, keys = texts["item_key"]
    key_order = np.array([order.get(str(k), -1) for k in keys], dtype=np.int64)
    item_order = key_order[key_codes]
    if (item_order < 0).any():
        unknown = sorted({str(k) for k in keys[np.unique(key_codes[item_order < 0])]})
        raise ValueError(f"claims name items the model lacks: {', '.join(unknown)}")
    rec_code, rec_names = _sorted_codes(*texts["recipient_id"])
    perm = np.lexsort((rec_code, item_order))
    out = {}
    for c in CLAIM_COLUMNS:
        if c in texts:
            codes, values = texts[c]
            out[c] = values[codes[perm]]
        elif c in cols:
            out[c] = cols[c][perm]
    return out, rec_code[perm].astype(np.int64), rec_names


def _numbers(
    column: pd.Series,
    dtype: type[np.generic],
    blank: bool | int,
    mask: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[Any]:
    """The rows ``mask`` keeps of a column as ``dtype``, blank as ``blank``.

    A column already of ``dtype`` cannot hold a blank and is read as it is, not copied whole.
    """
    values = column.to_numpy()
    if mask is not None:
        values = values[mask]
    if values.dtype == dtype:
        return values
    return pd.Series(values).fillna(blank).to_numpy(dtype=dtype)


def _text_codes(
    column: pd.Series, mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """The rows ``mask`` keeps of a text column: codes into its values, blank as ``""``.

    Identifiers (clause, item) are read as text whatever the table holds.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()[mask].astype(np.intp)
        values = column.cat.categories.to_numpy(dtype=object)
    else:
        codes, values = pd.factorize(column.to_numpy(dtype=object)[mask], use_na_sentinel=True)
        codes = codes.astype(np.intp, copy=False)
        values = np.asarray(values, dtype=object)
    if column.name in _IDENTIFIERS:
        values = np.asarray([str(v) for v in values], dtype=object)
    if (codes < 0).any():
        # Blank where the claims table leaves them open (a district has no industry, an
        # item no group).
        codes = np.where(codes < 0, len(values), codes)
        values = np.append(values, "" if column.name not in _IDENTIFIERS else "nan")
    return codes, values


def _sorted_codes(
    codes: npt.NDArray[np.intp], values: npt.NDArray[np.object_]
) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """Codes renumbered over the values used, in the values' sorted order, and those values."""
    used, inverse = np.unique(codes, return_inverse=True)
    names = values[used]
    # The claims table's categories come sorted; a table built otherwise is sorted here.
    if pd.Index(names, dtype=object).is_monotonic_increasing:
        return inverse.astype(np.int64, copy=False), names
    order = text_order(names)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[inverse], names[order]


def _provincial(
    rows: dict[str, npt.NDArray[Any]], model: PolicyModel
) -> tuple[IntArray, npt.NDArray[np.object_], list[tuple[str, str, int, IntArray]]]:
    """Upper bounds after the application and provincial rules, with the reasons.

    Returns the upper bound and the note per row, and for ``better_of`` the rows of the
    ``provincial`` family: (type, recipient id, rhs, row positions).
    """
    claim = rows["claim_wan"]
    upper = np.where(rows["applied"], np.maximum(claim, 0), 0)
    note = np.full(len(claim), "", dtype=object)
    note[(claim > 0) & ~rows["applied"]] = "not applied for: the item is paid on application"
    rule = model.rules.provincial
    where = f"clause {rule.clause}" if rule.clause else "the provincial rule"
    ptype = rows["provincial_type"]
    typed = (ptype != "") & (upper > 0)
    prov_rows: list[tuple[str, str, int, IntArray]] = []

    if rule.mode == "exclude_if_applied":
        hit = typed & rows["provincial_applied"]
        upper[hit] = 0
        note[hit] = f"provincial: applied for the provincial award of the same type ({where})"
        return upper, note, prov_rows

    award = rows["provincial_award_wan"]
    # Applied at the provincial level, amount not on file: paying the city claim could pay
    # the firm twice, so it is held at 0 until the amount is known (scenario key
    # provincial_without_amount; "refuse" stops the run before this point).
    pending = typed & rows["provincial_applied"] & (award <= 0)
    upper[pending] = 0
    note[pending] = (
        "provincial: applied for the provincial award of the same type, amount not on file: "
        f"held at 0 until it is known ({where})"
    )
    hit = typed & (award > 0)
    if not hit.any():
        return upper, note, prov_rows
    pos = np.flatnonzero(hit)
    sub = pd.DataFrame(
        {
            "pos": pos,
            "rid": rows["recipient_id"][pos],
            "ptype": ptype[pos],
            "group": rows["exclusive_group"][pos],
            "claim": upper[pos],
            "prov": award[pos],
        }
    )
    keys = ["rid", "ptype"]
    by = sub.groupby(keys, sort=True)
    sub["size"] = by["pos"].transform("size")
    sub["prov_max"] = by["prov"].transform("max")
    sub["n_groups"] = by["group"].transform("nunique")
    first_group = by["group"].transform("first")
    # At most one item of the set can be paid: the firm receives the better of that item and
    # the provincial award, so the city pays the difference item by item.
    single = (sub["size"] == 1) | ((sub["n_groups"] == 1) & (first_group != ""))
    s = sub.loc[single]
    u = np.maximum(s["claim"].to_numpy() - s["prov_max"].to_numpy(), 0)
    upper[s["pos"].to_numpy()] = u
    prov_text = "(" + s["prov_max"].astype(str) + "万元)"
    note[s["pos"].to_numpy()] = np.where(
        u == 0,
        "provincial: the provincial award of the same type "
        + prov_text
        + f" is not below the claim: better of the two, not both ({where})",
        "provincial: less the provincial award of the same type "
        + prov_text
        + f": better of the two, not both ({where})",
    )

    # Several items of the type stack: the firm's city total of the type is what lifts it to
    # the better of its city claims and the provincial award, once for the whole set. Items of
    # one no-duplicate group count with their largest claim, the most the firm can attain.
    m = sub.loc[~single].copy()
    if len(m):
        m["gkey"] = np.where(m["group"] == "", "#" + m["pos"].astype(str), m["group"])
        m["best"] = m.groupby([*keys, "gkey"], sort=True)["claim"].transform("max")
        firsts = ~m.duplicated([*keys, "gkey"])
        m["attainable"] = (
            m["best"].where(firsts, 0).groupby([m["rid"], m["ptype"]]).transform("sum")
        )
        m["rhs"] = np.maximum(m["attainable"] - m["prov_max"], 0)
        pos_m = m["pos"].to_numpy(dtype=np.int64)
        rhs_m = m["rhs"].to_numpy(dtype=np.int64)
        upper[pos_m] = np.minimum(upper[pos_m], rhs_m)
        prov_text = "(" + m["prov_max"].astype(str) + "万元)"
        note[pos_m] = np.where(
            rhs_m == 0,
            "provincial: the provincial award of the same type "
            + prov_text
            + " is not below the firm's city claims of the type: better of the two, not both "
            + f"({where})",
            "provincial: the firm's city awards of type "
            + m["ptype"].astype(str)
            + " together at most "
            + m["rhs"].astype(str)
            + "万元 (its claims less the provincial award of the same type "
            + prov_text
            + f": better of the two, not both, {where})",
        )
        stacked = m.loc[m["rhs"] > 0]
        for (rid, t), g in stacked.groupby(keys, sort=True):
            rhs = int(g["rhs"].iloc[0])
            prov_rows.append((str(t), str(rid), rhs, g["pos"].to_numpy(dtype=np.int64)))
    return upper, note, prov_rows


# --------------------------------------------------------------------------------------------
# The solver's integer range


class Locator(Protocol):
    """What :func:`check_limits` needs of :class:`allocator.inputs.data.EnterpriseData`."""

    @property
    def files(self) -> tuple[Path, ...]: ...

    def locate(self, index: int) -> tuple[str, int]: ...


def check_limits(
    built: Build, rule: Rule, *, scenario: str | Path, model: str | Path, data: Locator
) -> None:
    """Refuse amounts too large for the engine's exact integers: the solver's integer range.

    A problem is solved only if, in whole 万元 (docs/reliability.md):

    - under ``proportional``, every claim is at most 2**20 (the exact ratio grid multiplies
      a level up to 2**41 by the claim in 64 bits);
    - the claims total less than 2**52 (row sums run in float64, exact below 2**53);
    - ``Σ weight × claim`` (weights in thousandths) and ``Σ (n − rank) × claim``, the two
      objectives of the priority phases every rule ends with, are at most 2**62 − 1, the
      largest linear expression CP-SAT accepts.

    Parameters
    ----------
    built:
        The built problem.
    rule:
        The scenario's fairness rule.
    scenario, model:
        The scenario and policy-model files, to name in messages.
    data:
        The enterprise data the claims come from, to name the file and row of a claim.

    Raises
    ------
    InputError
        Every limit exceeded: a claim too large by its data row (recipient and item), the
        weights by the scenario's ``weights`` key, a total by the data files.
    """
    problem = built.problem
    upper = problem.upper.astype(np.int64)
    v = problem.claims
    files = _(", ").join(str(f) for f in data.files)
    issues: list[InputProblem] = []

    def claim(i: int) -> str:
        return _("{recipient} under item {item}").format(
            recipient=v["recipient_id"].iat[i], item=v["item_key"].iat[i]
        )

    if rule is Rule.PROPORTIONAL:
        firm_row = v["firm_row"].to_numpy(dtype=np.int64)
        for i in np.flatnonzero(upper > MAX_PROPORTIONAL_CLAIM).tolist():
            firm = int(firm_row[i])
            file, row = data.locate(firm) if firm >= 0 else (str(model), None)
            issues.append(
                InputProblem(
                    file,
                    _(
                        "a claim of at most {most}万元 (2^20), the largest the proportional "
                        "rule's exact ratios take"
                    ).format(most=f"{MAX_PROPORTIONAL_CLAIM:,}"),
                    _("{amount}万元 for {claim}").format(
                        amount=f"{int(upper[i]):,}", claim=claim(i)
                    ),
                    row=row,
                )
            )
    total = int(upper.sum(dtype=np.float64)) if upper.shape[0] else 0
    if total >= MAX_TOTAL_CLAIM:
        total = sum(upper.tolist())  # exactly
        issues.append(
            InputProblem(
                files,
                _(
                    "claims totalling less than {most}万元 (2^52, below which the engine's "
                    "sums are exact)"
                ).format(most=f"{MAX_TOTAL_CLAIM:,}"),
                _("{total}万元 in {n} claims").format(total=f"{total:,}", n=f"{upper.shape[0]:,}"),
            )
        )
    weight = problem.weight.astype(np.int64)
    weighted = _exact_dot(weight, upper)
    if weighted > MAX_LINEAR:
        top = int(np.argmax(weight.astype(np.float64) * upper.astype(np.float64)))
        weighted_by = bool((weight != WEIGHT_SCALE).any())
        issues.append(
            InputProblem(
                str(scenario) if weighted_by else files,
                _(
                    "Σ weight × claim (weights in thousandths) of at most {most} (2^62 − 1, the "
                    "largest sum the solver accepts)"
                ).format(most=f"{MAX_LINEAR:,}"),
                _("{sum}; the largest term {weight} × {amount}万元 for {claim}").format(
                    sum=f"{weighted:,}",
                    weight=f"{int(weight[top]):,}",
                    amount=f"{int(upper[top]):,}",
                    claim=claim(top),
                ),
                key="weights" if weighted_by else None,
            )
        )
    n = problem.size
    tie = n - problem.rank.astype(np.int64)
    ranked = _exact_dot(tie, upper)
    if ranked > MAX_LINEAR:
        issues.append(
            InputProblem(
                files,
                _(
                    "Σ (n − rank) × claim, the priority tie-break, of at most {most} "
                    "(2^62 − 1, the largest sum the solver accepts)"
                ).format(most=f"{MAX_LINEAR:,}"),
                _("{sum} for n = {n} claims").format(sum=f"{ranked:,}", n=f"{n:,}"),
            )
        )
    if issues:
        raise InputError(issues)


def _exact_dot(a: IntArray, b: IntArray) -> int:
    """``Σ a·b`` without int64 overflow: float64 first, Python integers when it comes close."""
    approx = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
    if approx < MAX_LINEAR / 2:
        return int(approx)
    return sum(x * y for x, y in zip(a.tolist(), b.tolist(), strict=True))


__all__ = [
    "CLAIM_COLUMNS",
    "Build",
    "ClaimsLike",
    "Locator",
    "build",
    "check_limits",
]
