"""Checking and compiling an expression of the policy language (:mod:`allocator.policy.expr`).

:func:`parse` takes the tree :class:`~allocator.policy.exprsource.Source` reads, walks it against
the language's whitelist and the names in scope, checks the types, and builds closures over
numpy arrays; nothing is ever passed to ``eval``, ``exec`` or ``compile``.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from allocator.core.i18n import _, ngettext
from allocator.core.lazy import lazy_module
from allocator.policy.expr import (
    BROKEN,
    COMPARE_DECIMALS,
    FUNCTIONS,
    MAX_EXPONENT,
    BoolArray,
    Comparison,
    Env,
    ExprError,
    Expression,
    Fn,
    Symbol,
    Text,
    Type,
    Value,
    as_flags,
    as_numbers,
    compare_numbers,
    compare_text,
    require,
    rounded,
    suggest,
)
from allocator.policy.exprsource import CMP_NAMES, Source, describe

if TYPE_CHECKING:
    import numpy as np
else:
    # Imported when an expression is first evaluated: checking a model needs no numpy (expr).
    np = lazy_module("numpy")


def parse(text: str, scope: Mapping[str, Symbol], *, want: Type | None = None) -> Expression:
    """Check ``text`` against the language and the names in ``scope``; compile it.

    Parameters
    ----------
    text:
        The expression.
    scope:
        Every name it may use.
    want:
        ``Type.BOOL`` for a condition, ``Type.NUM`` for a formula operand, None when either
        will do (a derived name).

    Raises
    ------
    ExprError
        With the reason and the 1-based column of the offending part.
    """
    source = Source.read(text)
    compiler = _Compiler(source, scope)
    node = source.tree.body
    typed = compiler.visit(node)
    if typed.type is Type.TEXT:
        raise compiler.error(
            node,
            _("an expression that gives a number or true/false, not text"),
            _("a text field"),
        )
    if want is Type.BOOL and typed.type is not Type.BOOL:
        raise compiler.error(
            node,
            _("a condition that is true/false (a comparison, a yes/no field, and/or/not)"),
            _("a number {source}").format(source=compiler.source(node)),
        )
    if want is Type.NUM and typed.type is not Type.NUM:
        raise compiler.error(
            node,
            _("a formula operand that is a number"),
            _("true/false {source}").format(source=compiler.source(node)),
        )
    return Expression(
        text=text,
        type=typed.type,
        names=frozenset(compiler.names),
        fn=typed.fn,
        comparison=compiler.comparisons.get(id(node)),
    )


def names_in(text: str) -> set[str]:
    """Names an expression reads (empty when it does not parse); for ordering derived names."""
    try:
        tree = Source.read(text).tree
    except ExprError:
        return set()
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


@dataclass(frozen=True)
class _Typed:
    type: Type
    fn: Fn
    literal: float | bool | None = None  # set for a number or True/False literal


class _Compiler:
    def __init__(self, source: Source, scope: Mapping[str, Symbol]) -> None:
        self.src = source
        self.scope = scope
        self.names: set[str] = set()
        self.comparisons: dict[int, Comparison] = {}

    # --- errors --------------------------------------------------------------------------
    def error(self, node: ast.AST, reason: str, found: str = "") -> ExprError:
        return ExprError(reason, self.src.column(node), found)

    def source(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.src.text, node) or ""
        return repr(segment if len(segment) <= 60 else segment[:57] + "...")

    # --- nodes ---------------------------------------------------------------------------
    def visit(self, node: ast.AST) -> _Typed:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            return self.unaryop(node)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Tuple | ast.List):
            raise self.error(
                node,
                _("a tuple or list only on the right of 'in' or 'not in'"),
                _("a tuple/list"),
            )
        raise self.error(node, _("an expression of the policy language"), describe(node))

    def constant(self, node: ast.Constant) -> _Typed:
        value = node.value
        if isinstance(value, bool):
            return _Typed(Type.BOOL, lambda env: np.asarray(value), literal=value)
        if isinstance(value, int | float) and not isinstance(value, complex):
            number = float(value)
            if not math.isfinite(number):
                raise self.error(node, _("a finite number"), repr(value))
            return _Typed(Type.NUM, lambda env: np.asarray(number), literal=number)
        if isinstance(value, str):
            raise self.error(
                node,
                _("a text literal only in '<text field> == \"...\"', '!=', 'in' or 'not in'"),
                repr(value),
            )
        if value is None:
            raise self.error(
                node, _("a number or True/False (use known(x) to test blanks)"), "None"
            )
        raise self.error(node, _("a number or True/False"), repr(value))

    def name(self, node: ast.Name) -> _Typed:
        name = node.id
        if name.startswith("__"):
            raise self.error(
                node,
                _("a field, derived or parameter name"),
                _("dunder name {name}").format(name=repr(name)),
            )
        symbol = self.scope.get(name)
        if symbol is None:
            if name in FUNCTIONS:
                raise self.error(
                    node,
                    _("a call, {help}").format(help=FUNCTIONS[name]()),
                    _("{name} without (...)").format(name=repr(name)),
                )
            if name in ("None", "nan", "NaN"):
                raise self.error(node, _("a known name (use known(x) to test blanks)"), repr(name))
            raise self.error(
                node,
                _("a known field, derived or parameter name") + suggest(name, self.scope),
                repr(name),
            )
        if symbol.type is None:
            raise ExprError(
                symbol.refusal or _("a name usable here"),
                self.src.column(node),
                repr(name),
                cascade=symbol.origin == BROKEN,
            )
        self.names.add(name)
        kind = symbol.type
        return _Typed(kind, lambda env: env[name])

    def binop(self, node: ast.BinOp) -> _Typed:
        # numpy's ufuncs by name, looked up when evaluated: checking a model imports no numpy.
        ops: dict[type[ast.operator], str] = {
            ast.Add: "add",
            ast.Sub: "subtract",
            ast.Mult: "multiply",
        }
        if isinstance(node.op, ast.Pow):
            return self.power(node)
        left = self.numeric(node.left, _("arithmetic"))
        right = self.numeric(node.right, _("arithmetic"))
        lf, rf = left.fn, right.fn
        if isinstance(node.op, ast.Div):

            def divide(env: Env) -> Value:
                a, b = as_numbers(lf(env)), as_numbers(rf(env))
                return np.where(b == 0, np.nan, np.divide(a, b))

            return _Typed(Type.NUM, divide)
        ufunc = ops.get(type(node.op))
        if ufunc is None:
            symbol = {
                ast.FloorDiv: "//",
                ast.Mod: "%",
                ast.BitAnd: "& (use 'and')",
                ast.BitOr: "| (use 'or')",
                ast.BitXor: "^",
                ast.LShift: "<<",
                ast.RShift: ">>",
                ast.MatMult: "@",
            }.get(type(node.op), type(node.op).__name__)
            raise self.error(node, _("an operator among + - * / **"), repr(symbol))
        return _Typed(
            Type.NUM, lambda env: getattr(np, ufunc)(as_numbers(lf(env)), as_numbers(rf(env)))
        )

    def power(self, node: ast.BinOp) -> _Typed:
        exponent = node.right
        value: float | None = None
        if isinstance(exponent, ast.Constant) and isinstance(exponent.value, int | float):
            value = None if isinstance(exponent.value, bool) else float(exponent.value)
        elif (
            isinstance(exponent, ast.UnaryOp)
            and isinstance(exponent.op, ast.USub)
            and isinstance(exponent.operand, ast.Constant)
            and isinstance(exponent.operand.value, int | float)
            and not isinstance(exponent.operand.value, bool)
        ):
            value = -float(exponent.operand.value)
        if value is None or not abs(value) <= MAX_EXPONENT:
            raise self.error(
                exponent,
                _("a number literal between -{most} and {most} as the exponent").format(
                    most=MAX_EXPONENT
                ),
                self.source(exponent),
            )
        base = self.numeric(node.left, _("arithmetic")).fn
        power = value

        def raise_(env: Env) -> Value:
            result = np.power(as_numbers(base(env)), power)
            return np.where(np.isfinite(result), result, np.nan)

        return _Typed(Type.NUM, raise_)

    def unaryop(self, node: ast.UnaryOp) -> _Typed:
        if isinstance(node.op, ast.Not):
            operand = self.boolean(node.operand, "'not'").fn
            return _Typed(Type.BOOL, lambda env: np.logical_not(as_flags(operand(env))))
        if isinstance(node.op, ast.USub):
            inner = self.numeric(node.operand, _("unary minus"))
            literal = -inner.literal if isinstance(inner.literal, float) else None
            f = inner.fn
            return _Typed(Type.NUM, lambda env: np.negative(as_numbers(f(env))), literal=literal)
        symbol = {ast.UAdd: "unary +", ast.Invert: "~ (use 'not')"}.get(type(node.op), "?")
        raise self.error(node, _("an operator among - and not"), repr(symbol))

    def boolop(self, node: ast.BoolOp) -> _Typed:
        word = "'and'" if isinstance(node.op, ast.And) else "'or'"
        fns = [self.boolean(v, word).fn for v in node.values]
        conjunction = isinstance(node.op, ast.And)

        def apply(env: Env) -> Value:
            result = as_flags(fns[0](env))
            for f in fns[1:]:
                other = as_flags(f(env))
                result = result & other if conjunction else result | other
            return result

        return _Typed(Type.BOOL, apply)

    def numeric(self, node: ast.AST, what: str) -> _Typed:
        typed = self.visit(node)
        if typed.type is Type.TEXT:
            raise self.error(
                node,
                _("a number in {context}").format(context=what),
                _("text {source}").format(source=self.source(node)),
            )
        if typed.type is Type.BOOL:
            f = typed.fn
            lit = float(typed.literal) if typed.literal is not None else None
            return _Typed(Type.NUM, lambda env: as_numbers(f(env)), literal=lit)
        return typed

    def boolean(self, node: ast.AST, what: str) -> _Typed:
        typed = self.visit(node)
        if typed.type is not Type.BOOL:
            found = _("text {source}") if typed.type is Type.TEXT else _("a number {source}")
            raise self.error(
                node,
                _("true/false in {context}").format(context=what),
                found.format(source=self.source(node)),
            )
        return typed

    # --- comparisons -----------------------------------------------------------------------
    def compare(self, node: ast.Compare) -> _Typed:
        operands = [node.left, *node.comparators]
        ops: list[str] = []
        for cmpop in node.ops:
            symbol = CMP_NAMES.get(type(cmpop), "?")
            if symbol in ("is", "is not"):
                raise self.error(node, _("==, !=, <, <=, >, >=, in or not in"), repr(symbol))
            ops.append(symbol)
        if any(self.is_text(o) for o in operands) or any(s in ("in", "not in") for s in ops):
            if len(ops) != 1:
                raise self.error(
                    node,
                    _("a single comparison when text or 'in' is involved"),
                    _("a chain"),
                )
            return self.membership(node, ops[0], node.left, node.comparators[0])
        typed = [self.numeric(o, _("a comparison")) for o in operands]
        if len(ops) == 1:
            op, lf, rf = ops[0], typed[0].fn, typed[1].fn
            self.comparisons[id(node)] = Comparison(
                left=lf,
                right=rf,
                right_literal="",
                combine=lambda a, b: compare_numbers(op, a, require(b)),
            )
            return _Typed(Type.BOOL, lambda env: compare_numbers(op, lf(env), rf(env)))
        pairs = list(zip(ops, typed[:-1], typed[1:], strict=True))

        def chain(env: Env) -> Value:
            values = [t.fn(env) for t in typed]
            result: BoolArray = np.asarray(True)
            for k, (op, _left, _right) in enumerate(pairs):
                result = result & compare_numbers(op, values[k], values[k + 1])
            return result

        return _Typed(Type.BOOL, chain)

    def is_text(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return True
        if isinstance(node, ast.Name):
            symbol = self.scope.get(node.id)
            return symbol is not None and symbol.type is Type.TEXT
        return False

    def membership(self, node: ast.Compare, op: str, left: ast.expr, right: ast.expr) -> _Typed:
        if op in ("in", "not in"):
            if not isinstance(right, ast.Tuple | ast.List) or not right.elts:
                raise self.error(
                    right,
                    _("a tuple or list of literals after '{op}'").format(op=op),
                    self.source(right),
                )
            items: list[ast.expr] = list(right.elts)
        else:
            if op not in ("==", "!="):
                raise self.error(node, _("== or != to compare text"), repr(op))
            # a literal may stand on either side; the field is the value shown
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                left, right = right, left
            items = [right]
        if not all(isinstance(i, ast.Constant) for i in items):
            bad = next(i for i in items if not isinstance(i, ast.Constant))
            raise self.error(bad, _("a literal"), self.source(bad))
        values: list[object] = [i.value for i in items if isinstance(i, ast.Constant)]
        if self.is_text(left):
            return self.text_membership(node, op, left, items, values)
        # numbers: grade in (1, 2)
        floats = [
            float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(floats) != len(values):
            raise self.error(items[0], _("number literals to compare with a number"), repr(values))
        lhs = self.numeric(left, _("a comparison")).fn
        shown = ", ".join(f"{v:g}" for v in floats)

        def member(a: Value, _: Value | None) -> BoolArray:
            x = rounded(a)
            hit = np.isin(x, np.round(np.asarray(floats, dtype=np.float64), COMPARE_DECIMALS))
            if op in ("in", "=="):
                return np.asarray(hit)
            return np.asarray(~hit & ~np.isnan(x))

        self.comparisons[id(node)] = Comparison(lhs, None, shown, member)
        return _Typed(Type.BOOL, lambda env: member(lhs(env), None))

    def text_membership(
        self,
        node: ast.Compare,
        op: str,
        left: ast.AST,
        items: Sequence[ast.AST],
        values: Sequence[object],
    ) -> _Typed:
        if not isinstance(left, ast.Name):
            raise self.error(
                left, _("a text field on one side of the comparison"), _("two literals")
            )
        symbol = self.scope[left.id]
        literals: list[str] = []
        for item, value in zip(items, values, strict=True):
            if not isinstance(value, str):
                raise self.error(
                    item,
                    _("a text literal to compare with {field}").format(field=left.id),
                    repr(value),
                )
            literals.append(self.choice(item, left.id, symbol, value))
        fn = self.name(left).fn
        shown = ", ".join(literals)
        kind = op

        def member(a: Value, _: Value | None) -> BoolArray:
            if not isinstance(a, Text):
                raise TypeError(f"{left.id} is not a text column")
            return compare_text(kind, a, literals)

        self.comparisons[id(node)] = Comparison(fn, None, shown, member)
        return _Typed(Type.BOOL, lambda env: member(fn(env), None))

    def choice(self, node: ast.AST, name: str, symbol: Symbol, value: str) -> str:
        if not symbol.choices or value == "" or value in symbol.choices:
            return value
        if value in symbol.aliases:
            return symbol.aliases[value]
        close = difflib.get_close_matches(value, [*symbol.choices, *symbol.aliases], n=1)
        hint = (
            _("; did you mean {name}?").format(name=repr(symbol.aliases.get(close[0], close[0])))
            if close
            else ""
        )
        raise self.error(
            node, _("one of the values of {field}").format(field=name) + hint, repr(value)
        )

    # --- functions -------------------------------------------------------------------------
    def call(self, node: ast.Call) -> _Typed:
        if not isinstance(node.func, ast.Name):
            raise self.error(
                node.func,
                _("a call to one of {functions}").format(functions=", ".join(FUNCTIONS)),
                _("a call on {what}").format(what=describe(node.func)),
            )
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise self.error(
                node.func,
                _("a call to one of {functions}").format(functions=", ".join(FUNCTIONS))
                + suggest(fname, FUNCTIONS),
                repr(fname),
            )
        if node.keywords:
            raise self.error(node.keywords[0].value, _("positional arguments only"), _("a keyword"))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, _("plain arguments"), _("a starred argument"))
        args = node.args
        arity = {"abs": 1, "known": 1, "pct_change": 2, "where": 3}
        if fname in arity and len(args) != arity[fname]:
            raise self.error(node, FUNCTIONS[fname](), _arguments(len(args)))
        if fname in ("min", "max") and len(args) < 2:
            raise self.error(node, FUNCTIONS[fname](), _arguments(len(args)))
        build = {
            "min": self.extreme,
            "max": self.extreme,
            "abs": self.absolute,
            "pct_change": self.pct_change,
            "where": self.where,
            "known": self.known,
        }[fname]
        return build(fname, args)

    def extreme(self, fname: str, args: Sequence[ast.expr]) -> _Typed:
        fns = [self.numeric(a, f"{fname}()").fn for a in args]
        # np.minimum/np.maximum spread NaN: a blank operand makes the result blank
        ufunc = "minimum" if fname == "min" else "maximum"

        def extreme(env: Env) -> Value:
            pick = getattr(np, ufunc)
            result = as_numbers(fns[0](env))
            for f in fns[1:]:
                result = pick(result, as_numbers(f(env)))
            return result

        return _Typed(Type.NUM, extreme)

    def absolute(self, fname: str, args: Sequence[ast.expr]) -> _Typed:
        f = self.numeric(args[0], "abs()").fn
        return _Typed(Type.NUM, lambda env: np.abs(as_numbers(f(env))))

    def pct_change(self, fname: str, args: Sequence[ast.expr]) -> _Typed:
        new = self.numeric(args[0], "pct_change()").fn
        old = self.numeric(args[1], "pct_change()").fn

        def pct(env: Env) -> Value:
            n, o = as_numbers(new(env)), as_numbers(old(env))
            # (new - old) * 100 / old keeps whole-number inputs exact: 129 over 100 is 29
            return np.where(o > 0, (n - o) * 100.0 / o, np.nan)

        return _Typed(Type.NUM, pct)

    def where(self, fname: str, args: Sequence[ast.expr]) -> _Typed:
        cond = self.boolean(args[0], "where()").fn
        a, b = self.visit(args[1]), self.visit(args[2])
        for arg, branch in ((args[1], a), (args[2], b)):
            if branch.type is Type.TEXT:
                raise self.error(arg, _("a number or true/false in where()"), _("text"))
        af, bf = a.fn, b.fn
        if a.type is Type.BOOL and b.type is Type.BOOL:
            return _Typed(
                Type.BOOL,
                lambda env: np.where(as_flags(cond(env)), as_flags(af(env)), as_flags(bf(env))),
            )
        return _Typed(
            Type.NUM,
            lambda env: np.where(as_flags(cond(env)), as_numbers(af(env)), as_numbers(bf(env))),
        )

    def known(self, fname: str, args: Sequence[ast.expr]) -> _Typed:
        arg = args[0]
        if isinstance(arg, ast.Name) and self.is_text(arg):
            column_fn = self.name(arg).fn

            def known_text(env: Env) -> Value:
                column = column_fn(env)
                if not isinstance(column, Text):
                    raise TypeError("known() of a text field got numbers")
                return np.asarray(column.codes != column.code(""))

            return _Typed(Type.BOOL, known_text)
        checked = self.visit(arg)
        if checked.type is Type.BOOL:
            raise self.error(
                arg,
                _("a number or a text field in known() (a blank yes/no field reads as False)"),
                _("true/false {source}").format(source=self.source(arg)),
            )
        number = checked.fn
        return _Typed(Type.BOOL, lambda env: np.asarray(~np.isnan(as_numbers(number(env)))))


def _arguments(n: int) -> str:
    return ngettext("{n} argument", "{n} arguments", n).format(n=n)


__all__ = ["names_in", "parse"]
