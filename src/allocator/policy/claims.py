"""The claims table: every recipient against every award item, vectorised.

:func:`evaluate` takes a policy model and the enterprise data and returns :class:`Claims`:
one row per (recipient, award item) saying whether the recipient is eligible, how much the
item's formula gives it, and that amount as whole 万元 under the model's rounding rule. Work
is done per item over whole columns (numpy arrays), never per firm.

For each item:

1. the recipients: the firms (enterprise and project items; a project's id is its firm's
   credit code), or the districts (``district``) or chemical parks (``chem_park``, blank
   excluded) with each field of the item's ``aggregate`` mapping aggregated over their firms;
2. the model's derived names, then each condition (for a top-level comparison its two sides
   are kept as ``<condition>.value`` and ``<condition>.threshold``);
3. the application check: an item with ``requires_application`` needs its clause id (or
   label) in the model's application column (``applications``, :mod:`allocator.policy.
   applications`, which refuses ids the model does not have); every firm counts as applied
   when the data has no such column; district and park items never need one;
4. the formula with its intermediate values, then the amount: 0 unless eligible, never
   negative, never blank; and the claim, :func:`floor_wan` of the amount, applied once here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.policy import expr
from allocator.policy.applications import applied_masks, check_applications, has_column
from allocator.policy.columns import MAX_CLAIM_WAN, claims_table
from allocator.policy.compile import CompiledItem, compile_model
from allocator.policy.model import GROUP_KEY, PolicyModel, ScaleGrowth, Steps
from allocator.policy.params import ResolvedParams, resolve_params
from allocator.policy.recipients import (
    DATA_FILE,
    Columns,
    FrameFetch,
    Recipients,
    WithParams,
    firm_recipients,
    firm_texts,
    group_recipients,
    strings,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def floor_wan(amount: npt.ArrayLike) -> IntArray:
    """The rounding rule ``floor_wan``: whole 万元, the part below one 万元 dropped.

    The amount is first rounded to 6 decimals so that binary floating point cannot turn an
    exact 29 into 28.999999999999996 and lose a 万元; then it is floored. Blank (NaN) and
    negative amounts give 0.

    >>> floor_wan([0.29 * 100, 10.999999, -3.0, float("nan")]).tolist()
    [29, 10, 0, 0]
    """
    values = np.asarray(amount, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        floored = np.floor(np.round(values, 6))
    return np.where(np.isfinite(floored) & (floored > 0), floored, 0.0).astype(np.int64)


@dataclass(frozen=True)
class ItemEvaluation:
    """Everything computed for one award item, recipient by recipient.

    Attributes
    ----------
    key:
        The item's address ``clause/item``.
    recipient_kind:
        ``enterprise``, ``project``, ``district`` or ``park``.
    formula_type:
        The formula block (``rate``, ``steps`` ...).
    conditions:
        Condition ids in model order. Column ``<id>.result`` holds each condition's
        outcome; ``<id>.value`` and ``<id>.threshold`` its two sides when it is a single
        top-level comparison.
    intermediates:
        Names of the formula's intermediate columns, each ``formula.<name>``.
    columns:
        The columns of :attr:`frame`, a constant possibly as a read-only broadcast view.
    """

    key: str
    recipient_kind: str
    formula_type: str
    conditions: tuple[str, ...]
    intermediates: tuple[str, ...]
    columns: Mapping[str, npt.NDArray[Any] | str]

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """One row per recipient: ``recipient_id``, ``recipient_name``, ``firm_row``, each
        condition's columns, ``applied``, ``eligible``, ``formula.*``, ``amount``,
        ``claim_wan``."""
        return pd.DataFrame(
            {k: np.asarray(v) if not isinstance(v, str) else v for k, v in self.columns.items()}
        )

    def __len__(self) -> int:
        return len(np.asarray(self.columns["recipient_id"]))


@dataclass(frozen=True)
class Claims:
    """The claims of every recipient under every award item of a model.

    Attributes
    ----------
    table:
        One row per (recipient, item), in model item order then recipient order, with the
        columns of :data:`TABLE_COLUMNS`.
    items:
        Per item address, the detail behind its rows (see :class:`ItemEvaluation`).
    params:
        The parameters used, after the overrides, with their basis.
    model:
        The policy model.
    """

    table: pd.DataFrame
    items: dict[str, ItemEvaluation]
    params: ResolvedParams
    model: PolicyModel


class _HasFrame(Protocol):
    @property
    def frame(self) -> pd.DataFrame: ...


# --- applications -------------------------------------------------------------------------


class _Applications:
    """Which firms applied for which clause, from the model's application column.

    Only the distinct cells are split (a few hundred combinations of clause ids, however
    many firms), then each clause's mask is a lookup of the firms' cell codes.
    """

    def __init__(self, frame: pd.DataFrame, has_column: bool, model: PolicyModel) -> None:
        self.n = len(frame)
        self.masks: dict[str, BoolArray] = {}
        self.everyone = not has_column
        self.cells: dict[str, list[int]] = {}
        self.codes: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        if self.everyone:
            return
        self.codes, self.cells = applied_masks(model, frame)

    def applied(self, clause_id: str) -> BoolArray:
        if self.everyone:
            return np.ones(self.n, dtype=np.bool_)
        mask = self.masks.get(clause_id)
        if mask is None:
            wanted = np.asarray(self.cells.get(clause_id, []), dtype=np.intp)
            mask = np.isin(self.codes, wanted)
            self.masks[clause_id] = mask
        return mask


# --- formulas -----------------------------------------------------------------------------


def _formula(
    compiled: CompiledItem, env: expr.Env, n: int, params: Mapping[str, Any]
) -> tuple[FloatArray, dict[str, npt.NDArray[Any]]]:
    """The formula's result before eligibility, and its intermediate values."""
    formula = compiled.item.formula
    ops = {
        name: e.evaluate(env, n).astype(np.float64, copy=False)
        for name, e in compiled.operands.items()
    }
    parts: dict[str, npt.NDArray[Any]] = dict(ops)
    with np.errstate(all="ignore"):
        if formula.type == "fixed":
            result = ops["amount"]
        elif formula.type == "rate":
            result = parts["raw"] = ops["base"] * ops["rate"]
        elif formula.type == "per_unit_above":
            parts["excess"] = np.maximum(ops["on"] - ops["threshold"], 0.0)
            result = parts["raw"] = ops["per_unit"] * parts["excess"]
        elif formula.type == "per_item":
            result = parts["raw"] = ops["per_item"] * ops["count"]
        elif isinstance(formula, Steps):
            table = np.asarray(params[formula.table], dtype=np.float64)
            step = _band(ops["on"], table[:, 0])
            parts["step"] = step
            parts["step_from"] = np.where(step >= 0, table[np.maximum(step, 0), 0], np.nan)
            result = np.where(step >= 0, table[np.maximum(step, 0), 1], 0.0)
        elif isinstance(formula, ScaleGrowth):
            table = np.asarray(params[formula.table], dtype=np.float64)
            s = _band(ops["scale"], np.asarray(params[formula.scale_bands], dtype=np.float64))
            g = _band(ops["growth"], np.asarray(params[formula.growth_bands], dtype=np.float64))
            parts["scale_band"], parts["growth_band"] = s, g
            inside = (s >= 0) & (g >= 0)
            result = np.where(inside, table[np.maximum(s, 0), np.maximum(g, 0)], 0.0)
        else:  # pragma: no cover - the format has no other block
            raise AssertionError(formula.type)
        if "cap" in ops:
            # np.minimum spreads NaN: a blank cap leaves the amount blank, hence 0
            result = parts["capped"] = np.minimum(result, ops["cap"])
    return np.asarray(result, dtype=np.float64), parts


def _band(values: FloatArray, edges: FloatArray) -> IntArray:
    """Index of the last edge each value reaches (``>=``), -1 below the first or blank."""
    rounded = np.round(values, expr.COMPARE_DECIMALS)
    edges = np.round(edges, expr.COMPARE_DECIMALS)
    index = np.searchsorted(edges, rounded, side="right").astype(np.int64) - 1
    return np.where(np.isnan(rounded), -1, index)


# --- evaluation ---------------------------------------------------------------------------


def _frame_of(data: pd.DataFrame | _HasFrame, model: PolicyModel) -> tuple[pd.DataFrame, bool]:
    """The frame, and whether it has the model's application column from the data."""
    frame = data if isinstance(data, pd.DataFrame) else data.frame
    return frame, has_column(model, data)


def _check_columns(frame: pd.DataFrame, needed: Iterable[str]) -> None:
    missing = sorted(set(needed) - set(frame.columns))
    if missing:
        raise InputError(
            [
                InputProblem(
                    DATA_FILE,
                    _("a column {name}").format(name=repr(name)),
                    _("none"),
                    column=name,
                )
                for name in missing
            ]
        )


def evaluate(
    model: PolicyModel,
    data: pd.DataFrame | _HasFrame,
    overrides: Mapping[str, object] | None = None,
    *,
    items: Iterable[str] | None = None,
) -> Claims:
    """Every recipient against every award item of ``model``.

    Parameters
    ----------
    model:
        The policy model (every expression is checked again, so a model built in code is
        held to the same rules as a loaded one).
    data:
        An :class:`allocator.inputs.data.EnterpriseData`, or a DataFrame with the schema's
        columns and the loader's dtypes (:func:`allocator.policy.cases.frame_from_records`).
    overrides:
        Parameter values by address ``clause/item/param``.
    items:
        Addresses of the items to evaluate; all of them when None.

    Raises
    ------
    InputError
        For a bad model, a bad override, or a frame without a column the model reads.
    """
    compiled = compile_model(model)
    params = resolve_params(model, overrides or {})
    keys = list(compiled.items) if items is None else list(items)
    unknown = [k for k in keys if k not in compiled.items]
    if unknown:
        raise InputError(
            [
                InputProblem(
                    "<items>", _("an item address") + expr.suggest(k, compiled.items), repr(k)
                )
                for k in unknown
            ]
        )
    frame, has_applications = _frame_of(data, model)
    check_applications(model, data)
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    chosen = [compiled.items[k] for k in keys]
    needed = {"credit_code", "name", "district", "industry"}
    for c in chosen:
        needed |= c.fields | set(c.item.aggregate)
        ptype = c.item.provincial_type
        if c.item.recipient in GROUP_KEY:
            needed.add(GROUP_KEY[c.item.recipient])
        elif ptype:
            needed |= {f"prov_applied_{ptype}", f"prov_award_{ptype}"}
    _check_columns(frame, needed)

    n = len(frame)
    firms = Columns(n, FrameFetch(frame), compiled.derived)
    texts = ("credit_code", "name", "district", "industry", "chem_park")
    base = {name: strings(frame[name]) for name in texts if name in frame.columns}
    applications = _Applications(frame, has_applications, model)
    provincial = _Provincial(frame)

    evaluations: dict[str, ItemEvaluation] = {}
    pieces: list[dict[str, Any]] = []
    coded: dict[str, expr.Text] | None = None
    for c in chosen:
        if c.item.recipient in GROUP_KEY:
            recipients = group_recipients(c, firms, base)
        else:
            coded = firm_texts(base) if coded is None else coded
            recipients = firm_recipients(c.item.recipient, firms, base, coded)
        evaluation, piece = _evaluate_item(c, recipients, params, applications, provincial)
        evaluations[c.key] = evaluation
        pieces.append(piece)
    return Claims(table=claims_table(pieces), items=evaluations, params=params, model=model)


def _beyond_domain(
    c: CompiledItem, params: ResolvedParams, who: str, amount: float
) -> InputProblem:
    """A claim too large for whole-万元 integers, naming the parameters that made it."""
    prefix = c.key + "/"
    named = [
        f"{a} = {v:g} ({params.basis[a]})"
        for a, v in params.values.items()
        if a.startswith(prefix) and isinstance(v, int | float)
    ]
    overridden = [
        a for a in params.values if a.startswith(prefix) and params.basis[a] == "override"
    ]
    return InputProblem(
        file=_("item {item}").format(item=c.key),
        expected=_(
            "a claim of at most {most}万元 (2^52), the whole numbers the claims table and the "
            "solver hold exactly"
        ).format(most=f"{MAX_CLAIM_WAN:,}"),
        found=_("{amount}万元 for {who}, from the parameters {params}").format(
            amount=f"{amount:.6g}", who=who, params=_(", ").join(named or [_("none")])
        ),
        key=overridden[0] if overridden else None,
    )


class _Provincial:
    """Per provincial type, the firms' application flags and whole-万元 awards, read once."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.types: dict[str, tuple[BoolArray, IntArray]] = {}

    def of(self, ptype: str) -> tuple[BoolArray, IntArray]:
        found = self.types.get(ptype)
        if found is None:
            applied = self.frame[f"prov_applied_{ptype}"].to_numpy(dtype=np.bool_, na_value=False)
            award = self.frame[f"prov_award_{ptype}"].to_numpy(dtype=np.float64, na_value=np.nan)
            found = self.types[ptype] = (applied, floor_wan(award))
        return found


def _evaluate_item(
    c: CompiledItem,
    r: Recipients,
    params: ResolvedParams,
    applications: _Applications,
    provincial: _Provincial,
) -> tuple[ItemEvaluation, dict[str, Any]]:
    item, n = c.item, r.n
    values = params.for_item(c.clause.id, item.id)
    scalars = {k: np.asarray(float(v)) for k, v in values.items() if isinstance(v, int | float)}
    env = WithParams(r.env, scalars)
    columns: dict[str, npt.NDArray[Any] | str] = {
        "recipient_id": r.ids,
        "recipient_name": r.names,
        "firm_row": r.firm_row,
    }
    eligible = np.ones(n, dtype=np.bool_)
    for cond, program in c.conditions:
        result, left, right = program.parts(env, n)
        if left is not None and right is not None:
            columns[f"{cond.id}.value"] = left
            columns[f"{cond.id}.threshold"] = right
        columns[f"{cond.id}.result"] = result
        eligible &= result
    if item.requires_application and item.recipient not in GROUP_KEY:
        applied = applications.applied(c.clause.id)
    else:
        applied = np.ones(n, dtype=np.bool_)
    eligible &= applied
    result, parts = _formula(c, env, n, values)
    amount = np.where(eligible & np.isfinite(result) & (result > 0), result, 0.0)
    beyond = np.flatnonzero(amount > MAX_CLAIM_WAN)
    if beyond.size:
        raise InputError([_beyond_domain(c, params, str(r.ids[beyond[0]]), amount[beyond[0]])])
    # Most recipients are not eligible for most items: only the amounts above 0 are rounded.
    paid = np.flatnonzero(amount)
    claim = np.zeros(n, dtype=np.int64)
    claim[paid] = floor_wan(amount[paid])
    columns["applied"] = applied
    columns["eligible"] = eligible
    for name, part in parts.items():
        columns[f"formula.{name}"] = part
    columns["amount"] = amount
    columns["claim_wan"] = claim
    evaluation = ItemEvaluation(
        key=c.key,
        recipient_kind=item.recipient,
        formula_type=item.formula.type,
        conditions=tuple(cond.id for cond, _ in c.conditions),
        intermediates=tuple(parts),
        columns=columns,
    )
    ptype = item.provincial_type or ""
    prov_applied: BoolArray | bool = False
    prov_award: IntArray | int = 0
    if ptype and item.recipient not in GROUP_KEY:
        prov_applied, prov_award = provincial.of(ptype)
    piece = {
        "n": n,
        "recipient_kind": item.recipient,
        **r.coded,
        "clause_id": c.clause.id,
        "item_id": item.id,
        "item_key": c.key,
        "eligible": eligible,
        "applied": applied,
        "amount": amount,
        "claim_wan": claim,
        "exclusive_group": item.exclusive_group or "",
        "all_or_nothing": item.all_or_nothing,
        "provincial_type": ptype,
        "provincial_applied": prov_applied,
        "provincial_award_wan": prov_award,
        "firm_row": r.firm_row,
    }
    return evaluation, piece


__all__ = ["Claims", "ItemEvaluation", "evaluate", "floor_wan"]
