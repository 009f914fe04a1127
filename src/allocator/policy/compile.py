"""Checking and compiling a policy model: every name, parameter and expression.

:func:`compile_model` parses each derived name, condition and formula operand with
:mod:`allocator.policy.expr` against the names in scope (schema fields, derived names, the
item's scalar parameters, or for district and park items the fields they aggregate), and
returns a :class:`CompiledModel` whose expressions run over whole columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    FIELD_BY_NAME,
    FIELDS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    PROVINCIAL_TYPES,
    Kind,
)
from allocator.policy import expr, exprparse
from allocator.policy.model import (
    GROUP_KEY,
    OPERANDS,
    TEXT_FIELDS,
    AwardItem,
    Clause,
    Condition,
    Derived,
    PolicyModel,
    address,
    param_shape,
)
from allocator.policy.params import table_problems

#: How deep derived names may read each other; each level is a nested call when the name
#: is computed, and a chain of a thousand would exhaust the interpreter's stack.
MAX_DERIVED_DEPTH = 50

_AGGREGATED_TYPE: dict[str, expr.Type] = {
    "sum": expr.Type.NUM,
    "min": expr.Type.NUM,
    "max": expr.Type.NUM,
    "count": expr.Type.NUM,
    "any": expr.Type.BOOL,
    "all": expr.Type.BOOL,
}


@dataclass(frozen=True)
class CompiledItem:
    """An award item with every expression checked and compiled.

    Attributes
    ----------
    key:
        The item's address ``clause/item``.
    derived:
        The model's derived names that can be computed for this item's recipients, in an
        order where each comes after the names it reads.
    conditions:
        Each condition with its compiled expression, in model order.
    operands:
        The formula's expression fields (``base``, ``rate``, ``cap`` ...) compiled.
    fields:
        Schema fields the item reads, directly or through derived names (for district and
        park items: the fields of its ``aggregate`` mapping).
    """

    key: str
    clause: Clause
    item: AwardItem
    derived: dict[str, expr.Expression]
    conditions: tuple[tuple[Condition, expr.Expression], ...]
    operands: dict[str, expr.Expression]
    fields: frozenset[str]


@dataclass(frozen=True)
class CompiledModel:
    """A policy model whose every expression is checked and compiled."""

    model: PolicyModel
    derived: dict[str, expr.Expression]
    items: dict[str, CompiledItem]


def _field_symbol(name: str) -> expr.Symbol:
    f = FIELD_BY_NAME[name]
    if name in TEXT_FIELDS:
        aliases = {
            "industry": {zh: code for code, zh in INDUSTRIES.items()},
            "main_product": {zh: code for code, zh in MAIN_PRODUCTS.items()},
            "district": dict(DISTRICT_ALIASES),
        }.get(name, {})
        return expr.Symbol(expr.Type.TEXT, "field", choices=f.choices, aliases=aliases)
    if f.kind is Kind.TEXT:
        return expr.Symbol(
            None,
            "field",
            refusal=_(
                "a field usable in an expression ({name} is free text; text fields usable "
                "are {fields})"
            ).format(name=repr(name), fields=_(", ").join(TEXT_FIELDS)),
        )
    if f.kind is Kind.LIST:
        return expr.Symbol(
            None,
            "field",
            refusal=_(
                "a field usable in an expression ({name} is read by the application check: "
                "set requires_application on the item)"
            ).format(name=repr(name)),
        )
    if f.kind is Kind.BOOL:
        return expr.Symbol(expr.Type.BOOL, "field")
    return expr.Symbol(expr.Type.NUM, "field")


FIELD_SYMBOLS: dict[str, expr.Symbol] = {f.name: _field_symbol(f.name) for f in FIELDS}
_RESERVED = frozenset(FIELD_SYMBOLS) | frozenset(expr.FUNCTIONS) | {"True", "False", "None"}


class _Problems:
    """Collects problems for one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[InputProblem] = []

    def add(self, key: str, expected: str, found: str = "") -> None:
        self.items.append(InputProblem(file=self.file, expected=expected, found=found, key=key))

    def expression(self, key: str, where: str, text: str, error: expr.ExprError) -> None:
        if error.cascade:
            return  # the name it reads failed, and that failure is reported where it is defined
        shown = text if len(text) <= 80 else text[:77] + "..."
        expected = _("{expected} [{where}]").format(expected=error.reason, where=where)
        if error.found:
            found = _("{found} at column {column} of {text}").format(
                found=error.found, column=error.column, text=repr(shown)
            )
        else:
            found = _("at column {column} of {text}").format(column=error.column, text=repr(shown))
        self.add(key, expected, found)


def _name_problem(name: str, *, derived: bool) -> str:
    """What a derived (or a parameter) name should be, when ``name`` is not; else ``""``."""
    if not name.isidentifier() or name.startswith("__"):
        if derived:
            return _(
                "a derived name that is a plain name (letters, digits, _; not starting with __)"
            )
        return _("a parameter name that is a plain name (letters, digits, _; not starting with __)")
    if name in _RESERVED:
        if derived:
            return _("a derived name that is not already a field or function name")
        return _("a parameter name that is not already a field or function name")
    return ""


def _derive(
    derived: Mapping[str, Derived],
    base: Mapping[str, expr.Symbol],
    errors: dict[str, expr.ExprError | str],
    broken: Iterable[str] = (),
) -> tuple[dict[str, expr.Expression], dict[str, expr.Symbol]]:
    """Compile the derived names over ``base``, each after the names it reads.

    Returns the programs and the symbols to put in scope. A derived name that fails gets a
    symbol refusing its use and its error in ``errors``; names in ``broken`` (failed
    elsewhere already) are refused without a new error.
    """
    programs: dict[str, expr.Expression] = {}
    symbols: dict[str, expr.Symbol] = {
        name: expr.Symbol(
            None,
            expr.BROKEN,
            refusal=_("a derived name that is well formed ({name} is not)").format(name=repr(name)),
        )
        for name in broken
    }
    deps = {name: exprparse.names_in(d.expr) & set(derived) for name, d in derived.items()}
    state: dict[str, int] = dict.fromkeys(broken, 2)  # 1: in progress, 2: done
    too_deep: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join((*path[path.index(name) :], name))
            errors[name] = _(
                "derived names that do not read each other in a circle ({cycle})"
            ).format(cycle=cycle)
            symbols[name] = expr.Symbol(
                None,
                expr.BROKEN,
                refusal=_("a derived name outside a cycle ({cycle})").format(cycle=cycle),
            )
            return
        if len(path) >= MAX_DERIVED_DEPTH:
            if not too_deep:  # one place to act on; the rest of a long chain adds nothing
                chain = " -> ".join((*path[:3], "...", name))
                errors[name] = _(
                    "derived names that read each other at most {depth} deep ({chain})"
                ).format(depth=MAX_DERIVED_DEPTH, chain=chain)
            too_deep.append(name)
            symbols[name] = expr.Symbol(
                None,
                expr.BROKEN,
                refusal=_("a derived name at most {depth} deep").format(depth=MAX_DERIVED_DEPTH),
            )
            state[name] = 2
            return
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, (*path, name))
        state[name] = 2
        if name in errors:
            return
        scope = {**base, **symbols}
        try:
            program = exprparse.parse(derived[name].expr, scope)
        except expr.ExprError as exc:
            errors[name] = exc
            origin = expr.BROKEN if exc.cascade else "derived"
            symbols[name] = expr.Symbol(
                None,
                origin,
                refusal=_("a derived name computable here ({reason})").format(reason=exc.reason),
            )
            return
        programs[name] = program
        symbols[name] = expr.Symbol(program.type, "derived")

    for name in derived:
        visit(name, ())
    return programs, symbols


def _group_scope(
    item: AwardItem, where: str, key: str, problems: _Problems
) -> dict[str, expr.Symbol]:
    group_key = GROUP_KEY[item.recipient]
    scope: dict[str, expr.Symbol] = {}
    for name in FIELD_SYMBOLS:
        scope[name] = expr.Symbol(
            None,
            "field",
            refusal=_(
                "a field this {recipient} item aggregates (add {name} to 'aggregate')"
            ).format(recipient=item.recipient, name=repr(name)),
        )
    for name, how in item.aggregate.items():
        path = f"{key}.aggregate.{name}"
        if name not in FIELD_BY_NAME:
            problems.add(
                path,
                _("a field of the data schema [{where}]").format(where=where),
                repr(name) + expr.suggest(name, FIELD_BY_NAME),
            )
            continue
        if name == group_key:
            problems.add(
                path,
                _("a field other than the recipient's own key {key} [{where}]").format(
                    key=repr(group_key), where=where
                ),
                repr(name),
            )
            continue
        kind = FIELD_BY_NAME[name].kind
        ok = {
            "sum": kind not in (Kind.TEXT, Kind.CATEGORY, Kind.LIST, Kind.DATE),
            "min": kind not in (Kind.TEXT, Kind.CATEGORY, Kind.LIST, Kind.BOOL),
            "max": kind not in (Kind.TEXT, Kind.CATEGORY, Kind.LIST, Kind.BOOL),
            "any": kind is Kind.BOOL,
            "all": kind is Kind.BOOL,
            "count": True,
        }[how]
        if not ok:
            problems.add(
                path,
                _(
                    "an aggregation that fits {name}, a field of kind {kind} (sum, min, max: "
                    "numbers; any, all: yes/no; count: any field) [{where}]"
                ).format(name=repr(name), kind=kind.value, where=where),
                repr(how),
            )
            continue
        scope[name] = expr.Symbol(_AGGREGATED_TYPE[how], "aggregate")
    scope[group_key] = FIELD_SYMBOLS[group_key]
    return scope


def compile_model(model: PolicyModel, *, file: str = "<model>") -> CompiledModel:
    """Check every name, parameter and expression of ``model`` and compile the expressions.

    Raises
    ------
    InputError
        With every problem found: an expression outside the language or naming an unknown
        name (with a close match), a parameter of the wrong shape for its formula field, an
        aggregation that does not fit its field, an unknown provincial type.
    """
    problems = _Problems(file)
    for name in model.derived:
        bad = _name_problem(name, derived=True)
        if bad:
            problems.add(f"derived.{name}", bad, repr(name))
    errors: dict[str, expr.ExprError | str] = {}
    firm_derived, firm_symbols = _derive(model.derived, FIELD_SYMBOLS, errors)
    for name, error in errors.items():
        key = f"derived.{name}.expr"
        if isinstance(error, expr.ExprError):
            where = _("derived {name}").format(name=name)
            problems.expression(key, where, model.derived[name].expr, error)
        else:
            problems.add(key, error, repr(model.derived[name].expr))
    broken = frozenset(errors)

    items: dict[str, CompiledItem] = {}
    for ci, clause in enumerate(model.clauses):
        for ii, item in enumerate(clause.items):
            key = f"clauses[{ci}].items[{ii}]"
            compiled = _compile_item(
                model, clause, item, key, (firm_derived, firm_symbols, broken), problems
            )
            if compiled is not None:
                items[compiled.key] = compiled
    if problems.items:
        raise InputError(problems.items)
    return CompiledModel(model=model, derived=firm_derived, items=items)


def _compile_item(
    model: PolicyModel,
    clause: Clause,
    item: AwardItem,
    key: str,
    firm: tuple[dict[str, expr.Expression], dict[str, expr.Symbol], frozenset[str]],
    problems: _Problems,
) -> CompiledItem | None:
    where = _("clause {clause}, item {item}").format(clause=clause.id, item=item.id)
    before = len(problems.items)
    firm_derived, firm_symbols, broken = firm
    if item.recipient in GROUP_KEY:
        base = _group_scope(item, where, key, problems)
        derived, derived_symbols = _derive(model.derived, base, {}, broken)
    else:
        base, derived, derived_symbols = dict(FIELD_SYMBOLS), firm_derived, firm_symbols
    scope: dict[str, expr.Symbol] = {**base, **derived_symbols}
    for name, param in item.params.items():
        bad = _name_problem(name, derived=False)
        if not bad and name in model.derived:
            bad = _("a parameter name that is not also a derived name")
        if bad:
            placed = _("{expected} [{where}]").format(expected=bad, where=where)
            problems.add(f"{key}.params.{name}", placed, repr(name))
            continue
        if param_shape(param.value) == "scalar":
            scope[name] = expr.Symbol(expr.Type.NUM, "parameter")
        else:
            scope[name] = expr.Symbol(
                None,
                "parameter",
                refusal=(
                    _(
                        "a number ({name} is a table parameter: name it in the formula's table "
                        "fields, not in an expression)"
                    )
                    if param_shape(param.value) == "table"
                    else _(
                        "a number ({name} is a list parameter: name it in the formula's table "
                        "fields, not in an expression)"
                    )
                ).format(name=repr(name)),
            )
    if item.provincial_type is not None and item.provincial_type not in PROVINCIAL_TYPES:
        problems.add(
            f"{key}.provincial_type",
            _("one of {choices} [{where}]").format(
                choices=_(", ").join(PROVINCIAL_TYPES), where=where
            ),
            repr(item.provincial_type) + expr.suggest(item.provincial_type, PROVINCIAL_TYPES),
        )

    conditions: list[tuple[Condition, expr.Expression]] = []
    for k, cond in enumerate(item.conditions):
        try:
            program = exprparse.parse(cond.expr, scope, want=expr.Type.BOOL)
        except expr.ExprError as exc:
            problems.expression(
                f"{key}.conditions[{k}].expr",
                _("{where}, condition {condition}").format(where=where, condition=cond.id),
                cond.expr,
                exc,
            )
            continue
        conditions.append((cond, program))

    formula = item.formula
    operands: dict[str, expr.Expression] = {}
    for name in OPERANDS[formula.type]:
        text = getattr(formula, name)
        if text is None:
            continue
        try:
            operands[name] = exprparse.parse(str(text), scope, want=expr.Type.NUM)
        except expr.ExprError as exc:
            problems.expression(
                f"{key}.formula.{name}",
                _("{where}, formula {field}").format(where=where, field=name),
                str(text),
                exc,
            )
    values = {n: p.value for n, p in item.params.items()}
    for message, field_name, found in table_problems(formula, values):
        placed = _("{expected} [{where}]").format(expected=message, where=where)
        problems.add(f"{key}.formula.{field_name}", placed, found)

    if len(problems.items) > before:
        return None
    used: set[str] = set()
    for program in (*(p for _cond, p in conditions), *operands.values()):
        used |= program.names
    fields = _fields_read(used, derived)
    return CompiledItem(
        key=address(clause.id, item.id),
        clause=clause,
        item=item,
        derived=derived,
        conditions=tuple(conditions),
        operands=operands,
        fields=frozenset(fields),
    )


def _fields_read(names: Iterable[str], derived: Mapping[str, expr.Expression]) -> set[str]:
    fields: set[str] = set()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in FIELD_BY_NAME:
            fields.add(name)
        elif name in derived:
            todo.extend(derived[name].names)
    return fields


__all__ = ["FIELD_SYMBOLS", "MAX_DERIVED_DEPTH", "CompiledItem", "CompiledModel", "compile_model"]
