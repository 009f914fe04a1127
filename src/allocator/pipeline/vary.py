"""What a sweep varies: ``--vary KEY=VALUES``, the grid of variants, their scenario files.

``--vary`` names a scenario value by its key path (``budget_wan``, ``fairness.rule``,
``firm_cap_wan``, ``district_caps.柳南区``, ``overrides.5.1/booth/rate``,
``sub_budgets[0].budget_wan``) and gives a range ``start:stop:step`` (the stop included when it
lands on the grid) or a comma list. The cartesian product of the values gives the variants
(:func:`variants`); :func:`variant_document` turns one into its scenario mapping.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.scenario import Scenario
from allocator.inputs.yamlfile import bare_type

# A grid bigger than this is a typo more often than a plan (each variant is a full run).
MAX_VARIANTS = 1000
# Keys the sweep sets itself: each variant's name, and its output folder.
RESERVED_KEYS = ("name", "output_dir")
#: Short spellings of the keys an analyst varies most, and the scenario keys they stand for.
KEY_ALIASES = {"budget": "budget_wan", "rule": "fairness.rule", "engine": "solver.solver"}
VARY = "--vary"

PathPart = str | int


# --------------------------------------------------------------------------------------------
# What varies


@dataclass(frozen=True)
class Vary:
    """One ``--vary KEY=VALUES``.

    Attributes
    ----------
    key:
        The key path as written (``fairness.rule``, ``overrides.5.1/booth/rate``).
    path:
        The same path into the scenario's YAML mapping: field names, mapping keys, list
        positions.
    values:
        The values in the order given (a range ascending).
    """

    key: str
    path: tuple[PathPart, ...]
    values: tuple[Any, ...]


def parse_vary(text: str) -> Vary:
    """Parse ``KEY=VALUES``: a key path of the scenario, and a range or a comma list.

    Parameters
    ----------
    text:
        ``budget_wan=3000:8000:500``, ``fairness.rule=priority,proportional``,
        ``overrides.5.1/booth/rate=0.3:0.6:0.1``; ``budget``, ``rule`` and ``engine`` stand
        for ``budget_wan``, ``fairness.rule`` and ``solver.solver`` (:data:`KEY_ALIASES`).

    Returns
    -------
    Vary

    Raises
    ------
    InputError
        For an unknown key (the valid ones are listed), a reserved key (``name``,
        ``output_dir``), or values that are neither a range nor a list.
    """
    key, sep, values = text.partition("=")
    key = KEY_ALIASES.get(key.strip(), key.strip())
    if not sep or not key:
        raise InputError(
            [InputProblem(VARY, _("KEY=VALUES, e.g. budget_wan=3000:8000:500"), repr(text))]
        )
    return Vary(key=key, path=key_path(key), values=parse_values(values, key=key))


def key_path(key: str) -> tuple[PathPart, ...]:
    """The path a dotted key names in a scenario, checked against the scenario's fields.

    Fields are joined with dots; a mapping key follows its field after a dot or in brackets,
    and takes the rest of the key when not in brackets (so ``overrides.5.1/booth/rate`` and
    ``weights.clauses.3.9`` keep their dots); a list position is a number after a dot or in
    brackets (``sub_budgets[0].budget_wan``).

    Raises
    ------
    InputError
        Naming the part of the key that is not a field, with the fields that are.
    """
    path: list[PathPart] = []
    node: Any = Scenario
    rest = key
    while rest:
        node = bare_type(node)
        origin = typing.get_origin(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            match = re.match(r"\.?([A-Za-z_]\w*)" if path else r"([A-Za-z_]\w*)", rest)
            fields = list(node.model_fields)
            name = match.group(1) if match else rest
            if match is None or name not in fields:
                raise InputError(
                    [
                        InputProblem(
                            VARY,
                            _("a key of the scenario ({keys})").format(keys=", ".join(fields)),
                            repr(name),
                            key=key,
                        )
                    ]
                )
            if not path and name in RESERVED_KEYS:
                raise InputError(
                    [
                        InputProblem(
                            VARY,
                            _(
                                "a key other than {keys}, which the sweep sets for each variant"
                            ).format(keys=" and ".join(RESERVED_KEYS)),
                            repr(name),
                            key=key,
                        )
                    ]
                )
            path.append(name)
            rest = rest[match.end() :]
            node = node.model_fields[name].annotation
        elif origin is dict:
            part, rest = _mapping_key(rest)
            if not part:
                raise InputError([InputProblem(VARY, _("a mapping key after the field"), key=key)])
            path.append(part)
            node = typing.get_args(node)[1]
        elif origin is list:
            match = re.match(r"(?:\.(\d+)|\[(\d+)\])", rest)
            if match is None:
                raise InputError(
                    [InputProblem(VARY, _("a list position ([0], [1] ...)"), rest, key=key)]
                )
            path.append(int(match.group(1) or match.group(2)))
            rest = rest[match.end() :]
            node = typing.get_args(node)[0]
        else:
            raise InputError(
                [InputProblem(VARY, _("nothing after a value's key"), repr(rest), key=key)]
            )
    return tuple(path)


def _mapping_key(rest: str) -> tuple[str, str]:
    """A mapping key: ``[key]`` up to the bracket, else ``.key`` up to the end."""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return "", rest
        return rest[1:end], rest[end + 1 :]
    return rest.removeprefix("."), ""


_RANGE = re.compile(r"^\s*([^:,]+):([^:,]+):([^:,]+)\s*$")


def parse_values(text: str, *, key: str = "") -> tuple[Any, ...]:
    """Values of a ``--vary``: ``start:stop:step`` or a comma list.

    A range runs from ``start`` by ``step`` while not above ``stop``, so ``stop`` is included
    when it lands on the grid: ``3000:8000:500`` gives 11 budgets, ``0.3:0.6:0.1`` gives 0.3,
    0.4, 0.5, 0.6 (decimal steps, no binary drift). Its values are whole numbers when none of
    the three is written with a point or an exponent. A list item is read as YAML reads a
    scalar: ``500`` a whole number, ``0.4`` a number, ``priority`` text.

    Raises
    ------
    InputError
        For an empty item, a range that does not rise, or more than :data:`MAX_VARIANTS`
        values.
    """
    match = _RANGE.match(text)
    if match:
        parts = [p.strip() for p in match.groups()]
        try:
            start, stop, step = (Decimal(p) for p in parts)
        except InvalidOperation:
            raise InputError(
                [InputProblem(VARY, _("start:stop:step of numbers"), repr(text), key=key)]
            ) from None
        if not all(d.is_finite() for d in (start, stop, step)) or step <= 0 or stop < start:
            raise InputError(
                [
                    InputProblem(
                        VARY,
                        _("start:stop:step with a positive step and stop not below start"),
                        repr(text),
                        key=key,
                    )
                ]
            )
        count = int((stop - start) // step) + 1
        if count > MAX_VARIANTS:
            raise InputError(
                [
                    InputProblem(
                        VARY, _("at most {n} values").format(n=MAX_VARIANTS), f"{count}", key=key
                    )
                ]
            )
        whole = not any(c in p for p in parts for c in ".eE")
        grid = [start + k * step for k in range(count)]
        return tuple(int(v) if whole else float(v) for v in grid)
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise InputError(
            [
                InputProblem(
                    VARY, _("start:stop:step or a comma list of values"), repr(text), key=key
                )
            ]
        )
    values = []
    for item in items:
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise InputError(
                [InputProblem(VARY, _("a plain value"), repr(item), key=key)]
            ) from None
    return tuple(values)


def value_text(value: object) -> str:
    """A varied value as text: as YAML would write a scalar (``0.4``, ``true``, ``priority``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Variant:
    """One combination of the varied values.

    Attributes
    ----------
    index:
        1-based position in the product (the first ``--vary`` changes slowest).
    name:
        The folder name: ``03_budget_wan=4000`` (the index keeps the folders in order).
    values:
        ``(key, value)`` for each ``--vary``, in the order given.
    """

    index: int
    name: str
    values: tuple[tuple[str, Any], ...]

    def describe(self) -> str:
        return ", ".join(f"{k}={value_text(v)}" for k, v in self.values)


def variants(varies: Sequence[Vary]) -> list[Variant]:
    """The cartesian product of the varied values, first ``--vary`` slowest.

    Raises
    ------
    InputError
        When a key is varied twice, or the product exceeds :data:`MAX_VARIANTS`.
    """
    keys = [v.key for v in varies]
    paths = [v.path for v in varies]
    for n, p in enumerate(paths):
        if p in paths[:n]:
            raise InputError(
                [InputProblem(VARY, _("each key once"), _("a repeated key"), key=keys[n])]
            )
    total = math.prod(len(v.values) for v in varies) if varies else 0
    if not varies or total > MAX_VARIANTS:
        raise InputError(
            [
                InputProblem(
                    VARY,
                    _("1 to {n} variants").format(n=MAX_VARIANTS),
                    f"{total}",
                    key=", ".join(keys),
                )
            ]
        )
    width = max(2, len(str(total)))
    out = []
    for n, combo in enumerate(itertools.product(*(v.values for v in varies)), start=1):
        values = tuple(zip(keys, combo, strict=True))
        label = "_".join(f"{_slug(k)}={_slug(value_text(v))}" for k, v in values)
        out.append(Variant(index=n, name=f"{n:0{width}d}_{label}"[:120], values=values))
    return out


def _slug(text: str) -> str:
    """Safe in a folder name on any system: letters, digits and ``. + - =``; the rest ``-``."""
    return re.sub(r"[^\w.+=-]", "-", text)


# --------------------------------------------------------------------------------------------
# Variant scenario files


def variant_document(
    raw: dict[str, Any], base: Path, variant: Variant, paths: Sequence[tuple[PathPart, ...]]
) -> dict[str, Any]:
    """The scenario mapping of one variant: the original with the values set.

    ``model`` and ``data`` become absolute (resolved against ``base``, the original file's
    folder, as the original reads them), ``output_dir`` is dropped (the sweep places the
    output), and the name gains the variant's (``<name>.03_budget_wan-4000``).

    Raises
    ------
    InputError
        When a key path goes through a list position the scenario does not have.
    """
    doc: dict[str, Any] = copy.deepcopy(raw)
    for (key, value), path in zip(variant.values, paths, strict=True):
        _assign(doc, path, value, key)
    doc["model"] = str(_absolute(base, doc["model"]))
    data = doc["data"]
    doc["data"] = (
        [str(_absolute(base, d)) for d in data]
        if isinstance(data, list)
        else str(_absolute(base, data))
    )
    doc.pop("output_dir", None)
    name = re.sub(r"[^\w.-]", "-", f"{doc.get('name', 'scenario')}.{variant.name}")
    doc["name"] = name[:100]
    notes = str(doc.get("notes") or "").strip()
    doc["notes"] = f"{notes}\nSweep variant {variant.index}: {variant.describe()}".strip()
    return doc


def _absolute(base: Path, value: object) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else (base / path).resolve()


def _assign(doc: dict[str, Any], path: tuple[PathPart, ...], value: object, key: str) -> None:
    node: Any = doc
    for n, part in enumerate(path):
        last = n == len(path) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise InputError(
                    [
                        InputProblem(
                            VARY,
                            _("a list position the scenario has (0..{last})").format(
                                last=_size(node) - 1
                            ),
                            str(part),
                            key=key,
                        )
                    ]
                )
        elif not isinstance(node, dict):
            raise InputError([InputProblem(VARY, _("a key path through mappings"), key=key)])
        elif not last and not isinstance(node.get(part), dict | list):
            if isinstance(path[n + 1], int):
                raise InputError(
                    [
                        InputProblem(
                            VARY,
                            _("a list {key} in the scenario").format(key=part),
                            _("none"),
                            key=key,
                        )
                    ]
                )
            node[part] = {}
        if last:
            node[part] = value
        else:
            node = node[part]


def _size(node: object) -> int:
    return len(node) if isinstance(node, list) else 0


def scenario_yaml(doc: dict[str, Any]) -> bytes:
    """A scenario mapping as the UTF-8 YAML of a scenario file (keys in their order)."""
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100).encode("utf-8")


__all__ = [
    "KEY_ALIASES",
    "MAX_VARIANTS",
    "PathPart",
    "Variant",
    "Vary",
    "key_path",
    "parse_values",
    "parse_vary",
    "scenario_yaml",
    "value_text",
    "variant_document",
    "variants",
]
