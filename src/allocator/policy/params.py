"""A model's parameters after a scenario's overrides, and the consistency of its tables.

:func:`resolve_params` applies a scenario's ``overrides`` (address ``clause/item/param`` to
value) to the model's parameters, refusing unknown addresses, values of another shape than
the model's, values beyond the range an input may hold, and tables a formula cannot read
(:func:`table_problems`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.policy import expr
from allocator.policy.model import (
    Fixed,
    ParamValue,
    PerItem,
    PerUnitAbove,
    PolicyModel,
    Rate,
    ScaleGrowth,
    Shape,
    Steps,
    address,
    beyond_range,
    param_shape,
    range_words,
)


def shape_name(shape: str | None) -> str:
    """A parameter shape (``scalar``, ``list``, ``table``) in the reader's words."""
    if shape == "list":
        return _("a list of numbers")
    if shape == "table":
        return _("a table (a list of rows of numbers, all rows the same length)")
    return _("a number")


_TABLE_FIELDS: dict[str, dict[str, Shape]] = {
    "steps": {"table": "table"},
    "scale_growth": {"scale_bands": "list", "growth_bands": "list", "table": "table"},
}


def _shape_parameter(shape: str) -> str:
    if shape == "list":
        return _("a list parameter")
    if shape == "table":
        return _("a table parameter")
    return _("a scalar parameter")


def _shape_found(shape: str | None) -> str:
    if shape == "list":
        return _("{name}, a list")
    if shape == "table":
        return _("{name}, a table")
    return _("{name}, a scalar")


def table_problems(
    formula: Fixed | Rate | Steps | ScaleGrowth | PerUnitAbove | PerItem,
    values: Mapping[str, ParamValue],
) -> list[tuple[str, str, str]]:
    """``(expected, formula field, found)`` for each table field that does not fit."""
    out: list[tuple[str, str, str]] = []
    shapes = _TABLE_FIELDS.get(formula.type, {})
    resolved: dict[str, ParamValue] = {}
    for field_name, shape in shapes.items():
        name = str(getattr(formula, field_name))
        if name not in values:
            out.append(
                (
                    _("the name of one of the item's parameters ({shape})").format(
                        shape=shape_name(shape)
                    ),
                    field_name,
                    repr(name) + expr.suggest(name, values),
                )
            )
            continue
        if param_shape(values[name]) != shape:
            out.append(
                (
                    _shape_parameter(shape),
                    field_name,
                    _shape_found(param_shape(values[name])).format(name=repr(name)),
                )
            )
            continue
        resolved[field_name] = values[name]
    if len(resolved) != len(shapes):
        return out
    if isinstance(formula, Steps):
        table = resolved["table"]
        assert isinstance(table, list)
        rows = [r for r in table if isinstance(r, list)]
        if any(len(r) != 2 for r in rows):
            out.append((_("a table of rows [threshold, amount]"), "table", repr(formula.table)))
        elif not _increasing([r[0] for r in rows]):
            out.append((_("thresholds in increasing order"), "table", f"{[r[0] for r in rows]}"))
    elif isinstance(formula, ScaleGrowth):
        scale, growth, table = resolved["scale_bands"], resolved["growth_bands"], resolved["table"]
        assert isinstance(scale, list)
        assert isinstance(growth, list)
        assert isinstance(table, list)
        for field_name, bands in (("scale_bands", scale), ("growth_bands", growth)):
            if not _increasing(bands):
                out.append((_("band edges in increasing order"), field_name, f"{bands}"))
        rows = [r for r in table if isinstance(r, list)]
        if len(rows) != len(scale) or any(len(r) != len(growth) for r in rows):
            out.append(
                (
                    _(
                        "a table of {rows} rows (scale bands) × {columns} columns (growth bands)"
                    ).format(rows=len(scale), columns=len(growth)),
                    "table",
                    f"{len(rows)} × {len(rows[0]) if rows else 0}",
                )
            )
    return out


def _increasing(values: Sequence[object]) -> bool:
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    return len(numbers) == len(values) and all(a < b for a, b in itertools.pairwise(numbers))


@dataclass(frozen=True)
class ResolvedParams:
    """Every parameter of a model after a scenario's overrides.

    Attributes
    ----------
    values:
        Address ``clause/item/param`` to value, in model order.
    basis:
        Address to ``document``, ``assumed`` or ``override``.
    """

    values: dict[str, ParamValue]
    basis: dict[str, str]

    def for_item(self, clause_id: str, item_id: str) -> dict[str, ParamValue]:
        """The item's parameters by name."""
        prefix = address(clause_id, item_id) + "/"
        return {a[len(prefix) :]: v for a, v in self.values.items() if a.startswith(prefix)}

    def overridden(self) -> dict[str, ParamValue]:
        """Only the parameters a scenario set."""
        return {a: v for a, v in self.values.items() if self.basis[a] == "override"}


def resolve_params(
    model: PolicyModel, overrides: Mapping[str, object], *, file: str = "<overrides>"
) -> ResolvedParams:
    """The model's parameters with ``overrides`` (address to value) applied.

    Raises
    ------
    InputError
        Naming each address that is unknown (with a close match), whose value has another
        shape than the model's (scalar, list or table), or that leaves a formula's tables
        inconsistent (bands out of order, a table of the wrong size).
    """
    values: dict[str, ParamValue] = {}
    basis: dict[str, str] = {}
    for clause, item in model.items():
        for name, param in item.params.items():
            addr = address(clause.id, item.id, name)
            values[addr] = param.value
            basis[addr] = param.basis.value
    problems: list[InputProblem] = []
    for addr, value in overrides.items():
        if addr not in values:
            problems.append(
                InputProblem(
                    file,
                    _("the address <clause>/<item>/<param> of a model parameter")
                    + expr.suggest(addr, values),
                    repr(addr),
                    key=addr,
                )
            )
            continue
        want, got = param_shape(values[addr]), param_shape(value)
        if got != want:
            shown = repr(value)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            found = (
                _("{shape}: {value}").format(shape=shape_name(got), value=shown)
                if got
                else _("{value}, which is none of those").format(value=shown)
            )
            expected = _("{shape}, as the model's value").format(shape=shape_name(want))
            problems.append(InputProblem(file, expected, found, key=addr))
            continue
        big = beyond_range(value)
        if big is not None:
            problems.append(InputProblem(file, range_words(), f"{big:g}", key=addr))
            continue
        assert isinstance(value, int | float | list)
        values[addr] = value
        basis[addr] = "override"
    if not problems:
        for clause, item in model.items():
            prefix = address(clause.id, item.id)
            mine = {n: values[address(clause.id, item.id, n)] for n in item.params}
            for message, field_name, found in table_problems(item.formula, mine):
                name = str(getattr(item.formula, field_name))
                problems.append(
                    InputProblem(
                        file,
                        _("{expected} (formula {field} of {item})").format(
                            expected=message, field=field_name, item=prefix
                        ),
                        found,
                        key=f"{prefix}/{name}",
                    )
                )
    if problems:
        raise InputError(problems)
    return ResolvedParams(values=values, basis=basis)


__all__ = ["ResolvedParams", "resolve_params", "shape_name", "table_problems"]
