"""The expression language of policy models: a small whitelist over Python's syntax.

Conditions, formula operands and derived fields are strings such as
``output_2026q1 >= 500 and pct_change(output_2026q1, output_2025q1) >= growth_min``.
:func:`allocator.policy.exprparse.parse` reads one with :func:`ast.parse` (``mode="eval"``),
walks the tree against a whitelist and a table of the names in scope, checks the types
(number, true/false, text), and builds a tree of small closures over numpy arrays. Nothing is
ever passed to ``eval``, ``exec`` or ``compile``; a node the whitelist does not name is
refused with its position.

The language
------------
- number literals (at most 4 in absolute value as the exponent of ``**``), ``True``, ``False``;
- string literals only as an operand of ``==``/``!=`` against a text field, or inside the
  tuple or list on the right of ``in``/``not in``;
- names: fields of :mod:`allocator.inputs.schema`, the model's derived names, the item's scalar
  parameters (whatever the caller puts in scope);
- ``+ - * /``, unary ``-``, ``**`` with a numeric-literal exponent; comparisons, chained or
  not; ``and``, ``or``, ``not``;
- ``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(x)``, ``where(cond, a, b)``,
  ``pct_change(new, old)`` and ``known(x)``.

Semantics
---------
Every operation is element-wise over the recipients. A blank number is NaN and NaN spreads
through arithmetic; ``x / 0`` is NaN. A comparison involving NaN is false (``!=`` included),
and a blank text value compares false with any non-empty literal (``==``, ``!=``, ``in`` and
``not in`` alike); compare with ``""`` or use ``known`` to ask about blanks. Numbers are
compared after rounding both sides to 9 decimals, so that a computed ``0.29 * 100`` reaches
a threshold of ``29``. A DATE field is the number ``YYYYMMDD``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from allocator.core.i18n import _

MAX_LENGTH = 2000  # characters
MAX_DEPTH = 50  # levels of the syntax tree
MAX_EXPONENT = 4  # absolute value of the literal exponent of **
COMPARE_DECIMALS = 9  # numbers are rounded to this many decimals before a comparison
BROKEN = "broken"  # Symbol.origin of a name whose own definition failed

#: The functions of the language, each with its one-line help (looked up when shown, so that
#: it follows the language chosen).
FUNCTIONS: dict[str, Callable[[], str]] = {
    "min": lambda: _("min(a, b, ...): the smallest of two or more numbers"),
    "max": lambda: _("max(a, b, ...): the largest of two or more numbers"),
    "abs": lambda: _("abs(x): the absolute value"),
    "where": lambda: _("where(cond, a, b): a where cond holds, else b"),
    "pct_change": lambda: _(
        "pct_change(new, old): (new - old) / old × 100 where old > 0, else blank"
    ),
    "known": lambda: _("known(x): x is not blank"),
}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Type(StrEnum):
    """What an expression or a name evaluates to."""

    NUM = "a number"
    BOOL = "true/false"
    TEXT = "text"


@dataclass(frozen=True)
class Text:
    """A text column, factorised: ``uniques[codes]`` are the values (blank is ``""``)."""

    codes: npt.NDArray[np.intp]
    uniques: npt.NDArray[np.object_]

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {str(u): i for i, u in enumerate(self.uniques)}

    def code(self, value: str) -> int:
        """Code of ``value``, or -1 when no recipient has it."""
        return self._index.get(value, -1)

    def values(self) -> npt.NDArray[np.object_]:
        """The text of every recipient."""
        return self.uniques[self.codes]


# What a compiled node returns: a float or bool array (0-d for constants) or a text column.
Value = npt.NDArray[Any] | Text


class Env(Protocol):
    """Names to values for one set of recipients (a plain ``dict`` will do)."""

    def __getitem__(self, name: str, /) -> Value: ...


Fn = Callable[[Env], Value]


@dataclass(frozen=True)
class Symbol:
    """A name an expression may use, with its type.

    ``type`` is None for a name that exists but may not be used where the expression stands;
    ``refusal`` then says why (e.g. a field a district item does not aggregate).
    ``choices`` are the values a text field may take (literals are checked against them);
    ``aliases`` map other spellings of a choice (an industry's Chinese label) to the choice.
    """

    type: Type | None
    origin: str
    choices: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    refusal: str = ""


class ExprError(ValueError):
    """An expression outside the language; ``column`` is 1-based, in characters."""

    def __init__(self, reason: str, column: int, found: str = "", *, cascade: bool = False) -> None:
        self.reason = reason
        self.column = column
        self.found = found
        # True when the expression is fine but reads a name whose own definition failed;
        # the failure is reported where that name is defined.
        self.cascade = cascade
        if found:
            text = _("{reason} at column {column} (found {found})").format(
                reason=reason, column=column, found=found
            )
        else:
            text = _("{reason} at column {column}").format(reason=reason, column=column)
        super().__init__(text)


@dataclass(frozen=True)
class Comparison:
    """The two sides of a top-level comparison, kept so that a result can show them."""

    left: Fn
    right: Fn | None  # None when the right side is a literal (a text or a tuple)
    right_literal: str
    combine: Callable[[Value, Value | None], BoolArray]


@dataclass(frozen=True)
class Expression:
    """A checked, compiled expression.

    Attributes
    ----------
    text:
        The source, as written.
    type:
        Number or true/false.
    names:
        Every name it reads.
    """

    text: str
    type: Type
    names: frozenset[str]
    fn: Fn = field(repr=False)
    comparison: Comparison | None = field(default=None, repr=False)

    def evaluate(self, env: Env, n: int) -> npt.NDArray[Any]:
        """Values for ``n`` recipients: float64 (NaN for blank) or bool.

        The array may be one of the environment's own columns or a read-only broadcast of
        a constant; copy it before writing to it.
        """
        with np.errstate(all="ignore"):
            return _broadcast(self.fn(env), n)

    def parts(
        self, env: Env, n: int
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None, npt.NDArray[Any] | str | None]:
        """``(result, left side, right side)``; the sides are None unless a comparison."""
        if self.comparison is None:
            return self.evaluate(env, n), None, None
        c = self.comparison
        with np.errstate(all="ignore"):
            left = c.left(env)
            right = c.right(env) if c.right is not None else None
            result = _broadcast(c.combine(left, right), n)
            shown_left = _broadcast(left.values() if isinstance(left, Text) else left, n)
            if right is None:
                return result, shown_left, c.right_literal
            shown_right = _broadcast(right.values() if isinstance(right, Text) else right, n)
            return result, shown_left, shown_right


def _broadcast(value: Value, n: int) -> npt.NDArray[Any]:
    if isinstance(value, Text):
        raise TypeError("a text value cannot be the result of an expression")
    if value.shape == (n,):
        return value
    # a read-only view: a constant costs no memory however many recipients there are
    return np.broadcast_to(value, (n,))


# --- the semantics of values ----------------------------------------------------------------


def as_numbers(value: Value) -> FloatArray:
    """A value as float64 numbers; text is a type error the checker rules out."""
    if isinstance(value, Text):
        raise TypeError("text where a number was expected")
    return np.asarray(value, dtype=np.float64)


def rounded(value: Value) -> FloatArray:
    """Numbers rounded to :data:`COMPARE_DECIMALS`, the form every comparison sees."""
    return np.round(as_numbers(value), COMPARE_DECIMALS)


def compare_numbers(op: str, a: Value, b: Value) -> BoolArray:
    """``a op b`` after rounding both to :data:`COMPARE_DECIMALS`; NaN compares false."""
    x, y = rounded(a), rounded(b)
    if op == "==":
        return np.asarray(x == y)
    if op == "!=":
        return np.asarray((x != y) & ~np.isnan(x) & ~np.isnan(y))
    if op == "<":
        return np.asarray(x < y)
    if op == "<=":
        return np.asarray(x <= y)
    if op == ">":
        return np.asarray(x > y)
    return np.asarray(x >= y)


def compare_text(op: str, column: Text, literals: Sequence[str]) -> BoolArray:
    """``==``, ``!=``, ``in``, ``not in`` of a text column against literals; blank is unknown."""
    codes = column.codes
    blank = codes == column.code("")
    wanted = [column.code(s) for s in literals]
    hit = np.isin(codes, np.asarray(wanted, dtype=np.intp))
    if op in ("==", "in"):
        return np.asarray(hit)
    # != and not in: a blank value is unknown, so the comparison is false, unless the
    # literals themselves ask about blanks.
    if "" in literals:
        return np.asarray(~hit)
    return np.asarray(~hit & ~blank)


def require(value: Value | None) -> Value:
    """The right side of a comparison, which the checker guarantees is there."""
    if value is None:
        raise TypeError("a comparison lost its right side")
    return value


def as_flags(value: Value) -> BoolArray:
    """A value as true/false flags; text is a type error the checker rules out."""
    if isinstance(value, Text):
        raise TypeError("text where true/false was expected")
    return np.asarray(value, dtype=np.bool_)


def suggest(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return _("; did you mean {name}?").format(name=repr(close[0])) if close else ""


__all__ = [
    "BROKEN",
    "COMPARE_DECIMALS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "BoolArray",
    "Comparison",
    "Env",
    "ExprError",
    "Expression",
    "FloatArray",
    "Fn",
    "Symbol",
    "Text",
    "Type",
    "Value",
    "as_flags",
    "as_numbers",
    "compare_numbers",
    "compare_text",
    "require",
    "rounded",
    "suggest",
]
