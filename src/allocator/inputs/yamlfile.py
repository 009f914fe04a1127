"""The one front end of the YAML files (scenarios, policy models, clause cases).

:func:`read_yaml` reads a file as plain data under strict rules, so that what a clerk wrote
is what the program reads:

- regular files of at most 5 MiB, UTF-8 (a byte-order mark allowed);
- no anchors, aliases, tags (``!!int``, ``!!python/...``) or merge keys (``<<``): a scenario or
  model never needs them, and an alias bomb must be refused, not expanded;
- no key written twice in one mapping (YAML would keep the last silently);
- numbers as YAML 1.2 reads them: plain decimal (``20``, ``0.5``, ``1e-9``); the YAML 1.1
  forms a reader could take for another number (``020`` octal, ``1:20`` base 60, ``0x14``,
  ``2_0``) are refused with the plain form to write; ``yes``/``no``/``on``/``off`` are text,
  only ``true``/``false`` are true/false; a whole number has at most 18 digits;
- at most 100 levels of nesting.

:func:`validate_as` validates the data against a pydantic class and turns its errors into
:class:`~allocator.core.errors.InputProblem` records naming the file and the key path
(``clauses[3].items[0].params.rate.basis``, ``weights.clauses[3.9]``).
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.readfile import MIB, read_input
from allocator.inputs.yamlsyntax import yaml_problem

MAX_YAML_BYTES = 5 * MIB
MAX_DEPTH = 100  # levels of nested mappings and lists
MAX_INT_DIGITS = 18  # a whole number of 18 digits fits the solver's 64-bit integers
MAX_PROBLEMS = 5  # anchors, aliases and tags listed before the reading stops

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_AMBIGUOUS = "tag:allocate,2026:ambiguous-number"
_MERGE = "<<"

_AMBIGUOUS_FORMS = re.compile(
    r"""^[-+]?(?:
        0[0-9_]+(?:\.[0-9_]*)?          # leading zero: octal in YAML 1.1
        |0[xX][0-9a-fA-F_]+             # hexadecimal
        |0[oO][0-7_]+                   # octal
        |0[bB][01_]+                    # binary
        |[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?   # base 60 (1:20 is 80)
        |[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?  # digit separators
        |\.[0-9]*_[0-9_]*
    )$""",
    re.X,
)
_INT_FORM = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT_FORM = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_DIGITS = "-+0123456789."

_Base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _RefusedError(Exception):
    """A node the strict rules refuse; carries the problem with its line."""

    def __init__(self, problem: InputProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _StrictLoader(_Base):  # type: ignore[misc]
    """``SafeLoader`` with YAML 1.2's plain scalars, duplicate keys refused."""

    file = "<yaml>"
    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                raise _RefusedError(
                    InputProblem(
                        self.file,
                        _("a key that is text or a number"),
                        _("a list at line {line}").format(line=line),
                    )
                )
            if key in seen:
                raise _RefusedError(
                    InputProblem(
                        self.file,
                        _("each key once in a mapping (YAML would keep only the last)"),
                        _("{key} at line {first} and again at line {line}").format(
                            key=repr(key), first=seen[key], line=line
                        ),
                    )
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    text = str(node.value)
    digits = text.lstrip("+-")
    if len(digits) > MAX_INT_DIGITS:
        raise _RefusedError(
            InputProblem(
                loader.file,
                _("a whole number of at most {digits} digits").format(digits=MAX_INT_DIGITS),
                _("a number of {digits} digits at line {line}").format(
                    digits=len(digits), line=node.start_mark.line + 1
                ),
            )
        )
    return int(text)


def _construct_float(loader: _StrictLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value)
    if _SPECIAL_FLOAT.match(text):
        value = float(text.replace(".", "").lower())
        return value
    value = float(text)
    if not math.isfinite(value) or len(text) > 40:
        raise _RefusedError(
            InputProblem(
                loader.file,
                _("a number of at most 40 characters within ±1.7e308"),
                _("{start}... at line {line}").format(
                    start=text[:20], line=node.start_mark.line + 1
                ),
            )
        )
    return value


def _construct_ambiguous(loader: _StrictLoader, node: yaml.ScalarNode) -> None:
    text = str(node.value)
    raise _RefusedError(
        InputProblem(
            loader.file,
            _("a number in plain decimal (e.g. 20 or 0.5), or text in quotes"),
            _(
                "{text} at line {line}, which YAML 1.1 reads as another number "
                "(leading zero, 0x, 0o, 0b, ':' or '_')"
            ).format(text=repr(text), line=node.start_mark.line + 1),
        )
    )


_StrictLoader.add_implicit_resolver(_AMBIGUOUS, _AMBIGUOUS_FORMS, list(_DIGITS))
_StrictLoader.add_implicit_resolver(
    _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_StrictLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(_INT, _INT_FORM, list("-+0123456789"))
_StrictLoader.add_implicit_resolver(_FLOAT, _FLOAT_FORM, list(_DIGITS))
_StrictLoader.add_implicit_resolver(_FLOAT, _SPECIAL_FLOAT, ["-", "+", "."])
_StrictLoader.add_constructor(_INT, _construct_int)
_StrictLoader.add_constructor(_FLOAT, _construct_float)
_StrictLoader.add_constructor(_AMBIGUOUS, _construct_ambiguous)


def read_yaml(path: str | Path, *, max_bytes: int = MAX_YAML_BYTES) -> object:
    """A YAML file of plain data, read under the strict rules of this module.

    Raises
    ------
    InputError
        For an unreadable, irregular, oversized or non-UTF-8 file, a YAML syntax error (with
        its line and column), an anchor, alias, tag or merge key, a key written twice, a
        YAML 1.1 number form, a whole number of more than 18 digits, or nesting deeper than
        100 levels.
    """
    return parse_yaml(read_input(path, max_bytes), str(path))


def parse_yaml(raw: bytes, file: str) -> object:
    """The data of YAML bytes read from ``file``, under the rules of :func:`read_yaml`.

    Raises
    ------
    InputError
        As :func:`read_yaml`.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [
                InputProblem(
                    file,
                    _("UTF-8 text"),
                    _("a byte that is not UTF-8 at offset {offset}").format(offset=exc.start),
                )
            ]
        ) from None
    try:
        problems = _scan(text, file)
        if problems:
            raise InputError(problems)
        loader = _StrictLoader(text)
        loader.file = file
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _RefusedError as exc:
        raise InputError([exc.problem]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = yaml_problem(str(getattr(exc, "problem", None) or type(exc).__name__))
        found = (
            _("{what} at line {line}, column {column}").format(
                what=what, line=mark.line + 1, column=mark.column + 1
            )
            if mark
            else what
        )
        raise InputError([InputProblem(file, _("valid YAML"), found)]) from None
    except RecursionError:
        deep = InputProblem(
            file, _("at most {depth} levels of nesting").format(depth=MAX_DEPTH), _("more")
        )
        raise InputError([deep]) from None


def _scan(text: str, file: str) -> list[InputProblem]:
    """Anchors, aliases, tags, merge keys and depth, from the parser's events alone.

    Nothing is built: an alias bomb or a 20,000-deep nesting is refused before it costs
    memory or recursion.
    """
    problems: list[InputProblem] = []
    seen: set[tuple[bool, str]] = set()
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return [
                    InputProblem(
                        file,
                        _("at most {depth} levels of nested mappings and lists").format(
                            depth=MAX_DEPTH
                        ),
                        _("deeper at line {line}").format(line=line),
                    )
                ]
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        anchor = getattr(event, "anchor", None)
        tag = getattr(event, "tag", None)
        explicit = tag is not None and not (
            isinstance(event, yaml.ScalarEvent) and tag == "!" and event.implicit[1]
        )
        if isinstance(event, yaml.AliasEvent) or anchor:
            alias = isinstance(event, yaml.AliasEvent)
            if (alias, str(anchor)) not in seen:
                seen.add((alias, str(anchor)))
                first = (
                    _("an alias {name} first at line {line}")
                    if alias
                    else _("an anchor {name} first at line {line}")
                )
                problems.append(
                    InputProblem(
                        file,
                        _("plain YAML without anchors (&name) or aliases (*name)"),
                        first.format(name=repr(anchor), line=line),
                    )
                )
        elif explicit and isinstance(
            event, yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent
        ):
            problems.append(
                InputProblem(
                    file,
                    _("plain YAML without tags (!!int, !!python/...)"),
                    _("{tag} at line {line}").format(tag=tag, line=line),
                )
            )
        elif isinstance(event, yaml.ScalarEvent) and event.value == _MERGE and event.implicit[0]:
            problems.append(
                InputProblem(
                    file,
                    _("plain YAML without merge keys (<<)"),
                    _("'<<' at line {line}").format(line=line),
                )
            )
        if problems:
            # One place is enough to act on; the rest of a hostile file need not be read.
            return problems
    return problems


# --------------------------------------------------------------------------------------------
# Pydantic errors as Problems with key paths

_M = TypeVar("_M", bound=BaseModel)

# pydantic's error types, each with the phrase a reader gets in place of pydantic's English
# text; looked up when a problem is written, so that the phrase follows the chosen language.
_PHRASES: dict[str, Callable[[], str]] = {
    "int_type": lambda: _("a whole number"),
    "int_from_float": lambda: _("a whole number"),
    "int_parsing": lambda: _("a whole number"),
    "float_type": lambda: _("a number"),
    "float_parsing": lambda: _("a number"),
    "bool_type": lambda: _("true or false"),
    "bool_parsing": lambda: _("true or false"),
    "string_type": lambda: _("text"),
    "list_type": lambda: _("a list"),
    "dict_type": lambda: _("a mapping"),
    "model_type": lambda: _("a mapping"),
    "model_attributes_type": lambda: _("a mapping"),
    "string_pattern_mismatch": lambda: _(
        "a safe file name: letters, digits, '.', '_' or '-', not starting with '.' or '-', "
        "at most 100 characters"
    ),
    "finite_number": lambda: _("a finite number"),
    "string_too_short": lambda: _("text of at least {min_length} characters"),
    "string_too_long": lambda: _("text of at most {max_length} characters"),
    "too_long": lambda: _("a list of at most {max_length} entries"),
    "date_type": lambda: _("a date such as 2026-03-31"),
    "date_from_datetime_parsing": lambda: _("a date such as 2026-03-31"),
    "date_parsing": lambda: _("a date such as 2026-03-31"),
    "multiple_of": lambda: _("a multiple of {multiple_of}"),
}
_BOUNDS: dict[str, tuple[str, Callable[[], str]]] = {
    "greater_than_equal": ("ge", lambda: _("a number at least {bound}")),
    "greater_than": ("gt", lambda: _("a number more than {bound}")),
    "less_than_equal": ("le", lambda: _("a number at most {bound}")),
    "less_than": ("lt", lambda: _("a number less than {bound}")),
}


def validate_as(
    cls: type[_M],
    data: object,
    file: str,
    *,
    labels: Mapping[str, str] | None = None,
    phrases: Mapping[str, str] | None = None,
    dotted_keys: bool = False,
) -> _M:
    """``cls.model_validate(data)``, its errors turned into one :class:`InputError`.

    Parameters
    ----------
    cls, data, file:
        The class, the data read from ``file``.
    labels:
        List keys whose entries carry an ``id`` worth naming beside the key path, with the
        word for them (``{"clauses": "clause"}`` gives ``[clause 5.1, item booth]``).
    phrases:
        What is expected, by key-path prefix, in place of pydantic's own words (a union of
        shapes reads better as one phrase).
    dotted_keys:
        Write mapping keys with dots (``params.rate``), as the policy-model format does,
        rather than in brackets (``weights.clauses[3.9]``), as the scenario does.
    """
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            validation_problems(
                exc, data, cls, file, labels=labels, phrases=phrases, dotted_keys=dotted_keys
            )
        ) from None


def validation_problems(
    exc: ValidationError,
    data: object,
    root: type[BaseModel],
    file: str,
    *,
    labels: Mapping[str, str] | None = None,
    phrases: Mapping[str, str] | None = None,
    dotted_keys: bool = False,
) -> list[InputProblem]:
    """One :class:`InputProblem` per offending key of a pydantic ValidationError.

    Key paths name fields with dots, list positions and mapping keys in brackets
    (``sub_budgets[0].clauses[1]``, ``weights.clauses[3.9]``); the errors of the alternatives
    of one union are merged into one problem.
    """
    merged: dict[str, tuple[list[str], str]] = {}
    for err in exc.errors(include_url=False):
        key, parent, loc = _locate(root, err["loc"], data, err["type"], dotted=dotted_keys)
        where = _ids_at(data, loc, labels or {})
        if err["type"] == "extra_forbidden":
            valid = _(", ").join(parent.model_fields) if parent else ""
            expected = (
                _("one of the known keys ({keys})").format(keys=valid)
                if valid
                else _("no such key")
            )
            merged.setdefault(key, ([_placed(expected, where)], _("an unknown key")))
            continue
        if err["type"] == "missing":
            merged.setdefault(key, ([_placed(_("this key (required)"), where)], _("nothing")))
            continue
        phrase = next((p for prefix, p in (phrases or {}).items() if key.startswith(prefix)), None)
        expected = phrase or _expected(err["type"], err["msg"], err.get("ctx") or {})
        value = err["input"]
        if err["type"] == "string_type" and isinstance(value, int | float):
            expected = _(
                "{expected}; quote it, e.g. '5.1' (YAML reads 3.10 as the number 3.1)"
            ).format(expected=expected)
        expected = _placed(expected, where)
        found = "" if isinstance(value, dict) else _short(value)
        if key in merged:
            if expected not in merged[key][0]:
                merged[key][0].append(expected)
        else:
            merged[key] = ([expected], found)
    return [
        InputProblem(file, _(" or ").join(expected), found, key=key)
        for key, (expected, found) in merged.items()
    ]


def _placed(expected: str, where: str) -> str:
    """``expected`` followed by the ids of the labelled entries it is in, if any."""
    if not where:
        return expected
    return _("{expected} [{where}]").format(expected=expected, where=where)


def _locate(
    root: type[BaseModel],
    loc: tuple[int | str, ...],
    data: object,
    kind: str,
    *,
    dotted: bool = False,
) -> tuple[str, type[BaseModel] | None, tuple[int | str, ...]]:
    """The key path of a pydantic location as the file names it.

    Walks the class and the data together: the tags pydantic inserts after a union (a
    discriminator value such as ``rate``, a type name such as ``int``) are dropped, and the
    walk stops where the location leaves the data (a missing key is kept). Also returns the
    class holding the last key (to list the known keys) and the location without tags.
    """
    parts: list[str] = []
    real: list[int | str] = []
    tp: object = root
    parent: type[BaseModel] | None = root
    node = data
    k = 0
    while k < len(loc):
        part = loc[k]
        tp = bare_type(tp)
        members = _members(tp)
        if members:
            tp = _member(members, part)
            k += 1  # the tag names no key of the file
            continue
        if not _has(node, part) and not (kind == "missing" and k == len(loc) - 1):
            break
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            parent = tp
            parts.append(f".{part}")
            field = tp.model_fields.get(str(part))
            tp = field.annotation if field else None
        else:
            dict_key = dotted and isinstance(part, str) and isinstance(node, dict)
            parts.append(f".{part}" if dict_key else f"[{part}]")
            args = typing.get_args(tp)
            tp = args[-1] if args else None
            parent = None
        real.append(part)
        node = node[part] if _has(node, part) else None  # type: ignore[index]
        k += 1
    return "".join(parts).lstrip(".") or "<top level>", parent, tuple(real)


def _has(node: object, part: int | str) -> bool:
    return (isinstance(node, dict) and part in node) or (
        isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
    )


def bare_type(tp: object) -> object:
    """``tp`` without Annotated and Optional: the model, list, dict or union a walk reaches.

    A union of several types (a parameter's values) is returned as it is.
    """
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) > 1:
                return tp
            tp = args[0]
        else:
            return tp


def _members(tp: object) -> list[object]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return []


def _member(members: list[object], tag: int | str) -> object:
    """The member of a union a pydantic tag names: by discriminator value or by type name."""
    for m in members:
        if isinstance(m, type) and issubclass(m, BaseModel):
            for field in m.model_fields.values():
                if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(
                    field.annotation
                ):
                    return m
            if m.__name__ == tag:
                return m
    for m in members:
        if getattr(bare_type(m), "__name__", None) == tag:
            return m
    return members[0]


def _ids_at(data: object, loc: tuple[int | str, ...], labels: Mapping[str, str]) -> str:
    """``clause 5.1, item booth`` for a location inside labelled lists, from the raw data."""
    names: list[str] = []
    node = data
    for k, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            word = labels.get(str(loc[k - 1])) if k > 0 else None
            if word and isinstance(node, dict):
                names.append(_("{word} {id}").format(word=word, id=node.get("id", "?")))
        else:
            break
    return _(", ").join(names)


def _expected(kind: str, msg: str, ctx: dict[str, Any]) -> str:
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        if least == 1:
            return _("a non-empty list")
        return _("a list of at least {least} entries").format(least=least)
    if kind in ("literal_error", "enum"):
        # pydantic lists the allowed words joined with English commas and 'or'.
        words = str(ctx.get("expected", ""))
        head, sep, last = words.rpartition(" or ")
        return (head.replace(", ", _(", ")) + _(" or ") + last) if sep else words
    if kind in _BOUNDS:
        name, text = _BOUNDS[kind]
        return text().format(bound=ctx.get(name))
    if kind in _PHRASES:
        return _PHRASES[kind]().format(**{k: str(v) for k, v in ctx.items()})
    if kind.startswith("int_"):
        return _("a whole number")
    if kind.startswith("float_"):
        return _("a number")
    # A model's own validators raise ValueError with a text already through _(); only the
    # prefix pydantic puts before it is dropped.
    msg = msg.removeprefix("Value error, ").removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
