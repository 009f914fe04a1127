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

from allocator.core.errors import InputError, Problem
from allocator.policy import expr
from allocator.policy.model import (
    RANGE_WORDS,
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
)

_SHAPE_NAMES: dict[str, str] = {
    "scalar": "a number",
    "list": "a list of numbers",
    "table": "a table (a list of rows of numbers, all rows the same length)",
}
_TABLE_FIELDS: dict[str, dict[str, Shape]] = {
    "steps": {"table": "table"},
    "scale_growth": {"scale_bands": "list", "growth_bands": "list", "table": "table"},
}


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
                    f"the name of one of the item's parameters (a {shape})",
                    field_name,
                    f"{name!r}{expr.suggest(name, values)}",
                )
            )
            continue
        if param_shape(values[name]) != shape:
            out.append(
                (f"a {shape} parameter", field_name, f"{name!r}, a {param_shape(values[name])}")
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
            out.append(("a table of rows [threshold, amount]", "table", f"{formula.table!r}"))
        elif not _increasing([r[0] for r in rows]):
            out.append(("thresholds in increasing order", "table", f"{[r[0] for r in rows]}"))
    elif isinstance(formula, ScaleGrowth):
        scale, growth, table = resolved["scale_bands"], resolved["growth_bands"], resolved["table"]
        assert isinstance(scale, list)
        assert isinstance(growth, list)
        assert isinstance(table, list)
        for field_name, bands in (("scale_bands", scale), ("growth_bands", growth)):
            if not _increasing(bands):
                out.append(("band edges in increasing order", field_name, f"{bands}"))
        rows = [r for r in table if isinstance(r, list)]
        if len(rows) != len(scale) or any(len(r) != len(growth) for r in rows):
            out.append(
                (
                    f"a table of {len(scale)} rows (scale bands) × {len(growth)} columns "
                    "(growth bands)",
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
    problems: list[Problem] = []
    for addr, value in overrides.items():
        if addr not in values:
            problems.append(
                Problem(
                    file,
                    "the address <clause>/<item>/<param> of a model parameter"
                    f"{expr.suggest(addr, values)}",
                    repr(addr),
                    key=addr,
                )
            )
            continue
        want, got = param_shape(values[addr]), param_shape(value)
        if got != want:
            shown = repr(value)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            found = f"{_SHAPE_NAMES[got]}: {shown}" if got else f"{shown}, which is none of those"
            expected = f"{_SHAPE_NAMES[want or 'scalar']}, as the model's value"
            problems.append(Problem(file, expected, found, key=addr))
            continue
        big = beyond_range(value)
        if big is not None:
            problems.append(Problem(file, RANGE_WORDS, f"{big:g}", key=addr))
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
                    Problem(
                        file,
                        f"{message} (formula {field_name} of {prefix})",
                        found,
                        key=f"{prefix}/{name}",
                    )
                )
    if problems:
        raise InputError(problems)
    return ResolvedParams(values=values, basis=basis)


__all__ = ["ResolvedParams", "resolve_params", "table_problems"]
