"""The policy-model format: one YAML file per policy document under ``models/``.

A model reads as the whole document: every numbered clause is present with its quoted text,
whether it pays money (``award``), organises something (``measure``) or states a global rule
(``rule``). An award clause holds one or more award items; an item names its recipient, its
eligibility conditions, a formula built from a small set of blocks, and its parameters.

Every parameter says where its value comes from: ``basis: document`` with the quote that states
it, or ``basis: assumed`` with a one-line rationale. A scenario may override any parameter by
its address ``<clause id>/<item id>/<name>`` (:func:`resolve_params`).

Expressions (conditions, formula operands, derived fields) are strings in a small whitelisted
language, parsed by :mod:`allocator.policy.expr` when the model loads; nothing in a model is ever
executed as Python.

:func:`load_model` reads a file (``yaml.safe_load``, anchors and aliases refused), validates
it against the classes below and checks every expression (:func:`compile_model`); every
problem is reported at once with the file and the key path. docs/policy-model.md explains the
format; :func:`json_schema_text` gives docs/policy-model.schema.json.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from allocator.core.errors import InputError, Problem
from allocator.core.files import sha256_file
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    FIELD_BY_NAME,
    FIELDS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    PROVINCIAL_TYPES,
    Kind,
)
from allocator.policy import expr

Number = int | float
# A parameter's value: a scalar, a list (band edges) or a table (rows of numbers).
ParamValue = Number | list[Number] | list[list[Number]]
Shape = Literal["scalar", "list", "table"]
SHAPE_WORDS = (
    "a number, a list of numbers (band edges) or a table (a list of rows of numbers, "
    "all rows the same length)"
)


_SHAPE_NAMES: dict[str, str] = {
    "scalar": "a number",
    "list": "a list of numbers",
    "table": "a table (a list of rows of numbers, all rows the same length)",
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def param_shape(value: object) -> Shape | None:
    """``"scalar"``, ``"list"`` or ``"table"``; None when ``value`` is none of them.

    A bool is not a number here (YAML reads ``yes`` as one), nor are NaN and infinity.
    """
    if _is_number(value):
        return "scalar"
    if not isinstance(value, list) or not value:
        return None
    if all(_is_number(v) for v in value):
        return "list"
    rows_ok = all(isinstance(r, list) and r and all(_is_number(v) for v in r) for r in value)
    if rows_ok and len({len(r) for r in value}) == 1:
        return "table"
    return None


def _plain(value: str, what: str, forbidden: str) -> str:
    if not value or any(c in value for c in forbidden) or any(c.isspace() for c in value):
        banned = " or ".join(repr(c) for c in forbidden)
        raise ValueError(f"{what} that is not empty, without spaces or {banned} (found {value!r})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Basis(StrEnum):
    """Where a number comes from."""

    DOCUMENT = "document"  # stated by the text; ``quote`` holds the words
    # left open by the text ("给予一定奖励"); ``rationale`` says why this default
    ASSUMED = "assumed"


class Param(_Strict):
    """A named number (or table of numbers) a formula or condition uses."""

    value: ParamValue = Field(description="The value; a scalar, a list of band edges or a table")
    unit: str = Field("", description="Unit of the value: 万元, %, 辆, 台, 万千瓦时, ratio ...")
    basis: Basis = Field(description="document: stated by the text; assumed: a default we chose")
    quote: str | None = Field(None, description="The words of the document that state the value")
    rationale: str | None = Field(None, description="Why this default, when the value is assumed")
    description: str = Field("", description="What the parameter means")

    @field_validator("value", mode="before")
    @classmethod
    def _shaped(cls, value: object) -> object:
        if param_shape(value) is None:
            raise ValueError(SHAPE_WORDS)
        return value

    @model_validator(mode="after")
    def _sourced(self) -> Param:
        if self.basis is Basis.DOCUMENT and not self.quote:
            raise ValueError("a parameter with basis 'document' needs the quote that states it")
        if self.basis is Basis.ASSUMED and not self.rationale:
            raise ValueError("a parameter with basis 'assumed' needs a one-line rationale")
        return self


class Condition(_Strict):
    """One named eligibility condition; an item's recipient must meet all of them.

    ``expr`` is a boolean expression. When its top level is a comparison, the evaluator records
    the left side as the condition's value and the right side as its threshold, so an auditor
    sees e.g. ``growth_2025q1 = 6.2 >= 5 -> pass``.
    """

    id: str = Field(description="Short name, unique within the item (no '.', '/' or spaces)")
    text: str = Field(description="The condition in the document's words (or a close paraphrase)")
    expr: str = Field(description="Boolean expression over fields, derived fields and parameters")

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        return _plain(value, "a condition id", "./")


class Fixed(_Strict):
    """A fixed amount per recipient: ``amount``."""

    type: Literal["fixed"]
    amount: str = Field(description="Expression for the amount in 万元, usually a parameter name")


class Rate(_Strict):
    """``min(rate × base, cap)``: a share of a base, optionally capped."""

    type: Literal["rate"]
    base: str = Field(description="Expression for the base in 万元 (fee, increment, interest ...)")
    rate: str = Field(description="Expression for the rate as a fraction (0.5 for 50%)")
    cap: str | None = Field(None, description="Expression for the cap in 万元; none when uncapped")


class Steps(_Strict):
    """A stepped table: the amount of the highest step whose threshold the value reaches.

    ``table`` names a parameter whose value is rows ``[threshold, amount]`` in increasing
    threshold order; a value reaches a threshold when it is ``>=`` it. Below the first
    threshold the amount is 0.
    """

    type: Literal["steps"]
    on: str = Field(description="Expression for the value the steps are read on")
    table: str = Field(description="Name of a table parameter: rows [threshold, amount 万元]")


class ScaleGrowth(_Strict):
    """A table on scale × growth: row by output band, column by growth band.

    ``scale_bands`` and ``growth_bands`` name list parameters of increasing lower edges
    (a value falls in the last band whose edge it reaches, ``>=``); ``table`` names a table
    parameter with one row per scale band and one column per growth band, in 万元. A value
    below the first edge of either list gets 0.
    """

    type: Literal["scale_growth"]
    scale: str = Field(description="Expression for the scale (e.g. output value in 万元)")
    growth: str = Field(description="Expression for the growth (e.g. growth rate in %)")
    scale_bands: str = Field(description="Name of a list parameter: scale band lower edges")
    growth_bands: str = Field(description="Name of a list parameter: growth band lower edges")
    table: str = Field(description="Name of a table parameter: amounts by scale row, growth column")


class PerUnitAbove(_Strict):
    """``min(per_unit × max(on − threshold, 0), cap)``: paid for what exceeds a threshold."""

    type: Literal["per_unit_above"]
    on: str = Field(description="Expression for the volume")
    threshold: str = Field(description="Expression for the threshold above which units count")
    per_unit: str = Field(description="Expression for the amount per unit in 万元")
    cap: str | None = Field(None, description="Expression for the cap in 万元")


class PerItem(_Strict):
    """``min(per_item × count, cap)``: paid for each item counted (e.g. each validated part)."""

    type: Literal["per_item"]
    count: str = Field(description="Expression for the number of items")
    per_item: str = Field(description="Expression for the amount per item in 万元")
    cap: str | None = Field(None, description="Expression for the cap in 万元")


Formula = Annotated[
    Fixed | Rate | Steps | ScaleGrowth | PerUnitAbove | PerItem, Field(discriminator="type")
]

Recipient = Literal["enterprise", "project", "district", "park"]
Aggregation = Literal["sum", "min", "max", "any", "all", "count"]


class AwardItem(_Strict):
    """One award a clause promises: who receives it, when, and how much."""

    id: str = Field(description="Short name, unique within the clause; address is clause/item")
    title: str = Field(description="What the item pays for, in a few words")
    recipient: Recipient = Field(
        description="enterprise; project (an enterprise's project, one per row); district "
        "(county/district/new zone, aggregated from its firms); park (chemical park)"
    )
    aggregate: dict[str, Aggregation] = Field(
        default_factory=dict,
        description="For district and park recipients: how each field used is aggregated "
        "over the recipient's firms",
    )
    conditions: list[Condition] = Field(description="All must hold for the recipient to qualify")
    formula: Formula = Field(description="How the amount is computed, in 万元 before rounding")
    params: dict[str, Param] = Field(default_factory=dict, description="Named parameters")
    exclusive_group: str | None = Field(
        None, description="No-duplicate group: a recipient receives at most one item of a group"
    )
    all_or_nothing: bool = Field(
        False, description="Paid in full or not at all (e.g. the 2026 5万元 one-off)"
    )
    requires_application: bool = Field(
        True, description="False for 免审即享 items, paid without an application"
    )
    provincial_type: str | None = Field(
        None, description="Type of provincial award this item is 'the same type' as"
    )
    provincial_rationale: str | None = Field(
        None,
        description="Why the item is paired with that provincial type: an assumption, since "
        "neither document says which provincial awards are of the same type",
    )
    notes: str = Field("", description="Reading choices: how 超过/以上/≥ were read, and why")

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        return _plain(value, "an item id", "./")

    @model_validator(mode="after")
    def _unique_condition_ids(self) -> AwardItem:
        ids = [c.id for c in self.conditions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"item {self.id} repeats condition id(s): {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _aggregation_matches_recipient(self) -> AwardItem:
        grouped = self.recipient in ("district", "park")
        if grouped and not self.aggregate:
            raise ValueError(f"a {self.recipient} item needs 'aggregate' for the fields it uses")
        if not grouped and self.aggregate:
            raise ValueError(f"'aggregate' is for district and park items, not {self.recipient}")
        return self


class Clause(_Strict):
    """A numbered clause of the document, quoted."""

    id: str = Field(description="The document's numbering: '11' for （十一）, '3.9' for 三（九）")
    label: str = Field(description="The numbering as printed: （十一）, 三（九）")
    heading: str = Field("", description="The heading the clause stands under")
    kind: Literal["award", "measure", "rule"] = Field(
        description="award: pays money; measure: a non-monetary action; rule: a global rule"
    )
    title: str = Field(description="Short title")
    quote: str = Field(description="The operative text, quoted from the document")
    items: list[AwardItem] = Field(default_factory=list, description="Award items (awards only)")

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        return _plain(value, "a clause id", "/")

    @model_validator(mode="after")
    def _items_iff_award(self) -> Clause:
        if self.kind == "award" and not self.items:
            raise ValueError(f"award clause {self.id} has no award items")
        if self.kind != "award" and self.items:
            raise ValueError(f"{self.kind} clause {self.id} cannot hold award items")
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError(f"clause {self.id} repeats an item id")
        return self


class Sourced(_Strict):
    """A global rule with where it comes from."""

    basis: Basis = Field(description="document: stated by the text; assumed: a choice we made")
    quote: str | None = Field(None, description="The document's words, when basis is document")
    rationale: str | None = Field(None, description="Why, when basis is assumed")
    clause: str | None = Field(None, description="Clause id that states the rule")

    @model_validator(mode="after")
    def _sourced(self) -> Sourced:
        if self.basis is Basis.DOCUMENT and not self.quote:
            raise ValueError("a rule with basis 'document' needs its quote")
        if self.basis is Basis.ASSUMED and not self.rationale:
            raise ValueError("a rule with basis 'assumed' needs a rationale")
        return self


class Rounding(Sourced):
    """How a formula's amount becomes whole 万元; applied once, when claims are computed.

    ``floor_wan``: the amount is first rounded to 6 decimals (a hundredth of a yuan, so that
    binary floating point cannot turn 29.0 into 28.999999) and then the part below one 万元 is
    dropped ("不足万元部分不予补助").
    """

    rule: Literal["floor_wan"] = Field(description="The rounding rule; floor_wan is the only one")


class Stacking(Sourced):
    """Whether a firm may receive several clauses' awards."""

    default: Literal["stack"] = Field(description="stack: awards add up unless a group says not")


class Provincial(Sourced):
    """How a city award relates to a provincial award of the same type.

    ``exclude_if_applied``: a firm that applied for the provincial award of the same type gets
    no city award of that type (2025 （二十）). ``better_of``: the firm receives the better of
    the two, never both; the city pays at most what lifts the firm to the higher one
    (2026 十一（三）, 从优、就高、不重复).
    """

    mode: Literal["exclude_if_applied", "better_of"] = Field(
        description="exclude_if_applied (2025 （二十）) or better_of (2026 十一（三）)"
    )


class FundCap(Sourced):
    """The total fund the document states, in 万元, if it states one."""

    value_wan: int | None = Field(description="The cap in 万元; null when the text states none")


class Rules(_Strict):
    """The document's global rules."""

    fund_cap: FundCap = Field(description="The total fund the document states")
    rounding: Rounding = Field(description="How amounts become whole 万元")
    stacking: Stacking = Field(description="Whether awards of several clauses add up")
    provincial: Provincial = Field(description="The relation to provincial awards of the same type")


class Derived(_Strict):
    """A named expression over fields, shared by the clauses (e.g. a growth rate)."""

    expr: str = Field(description="Expression over fields and other derived names")
    unit: str = Field("", description="Unit of the value: %, 万元, 百分点 ...")
    description: str = Field(description="What the value means")


class PolicyModel(_Strict):
    """One policy document as a machine-readable model."""

    title: str = Field(description="The document's title")
    document_number: str | None = Field(description="文号 (柳政规〔2025〕1号); null for a draft")
    issuer: str = Field(description="Issuing authority")
    issue_date: dt.date | None = Field(description="Date of issue; null for a draft")
    status: Literal["in force", "draft"] = Field(description="in force, or draft for comment")
    valid_from: dt.date = Field(description="First day the measures apply to")
    valid_until: dt.date = Field(description="Last day of validity the document states")
    source: str = Field(description="Where the text is kept, relative to the repository root")
    applications: str = Field(
        "applied_clauses",
        description="The data column listing the clauses a firm applied for under this "
        "document (a list field of the schema); its ids are this model's alone",
    )
    rules: Rules = Field(description="The document's global rules")
    derived: dict[str, Derived] = Field(
        default_factory=dict, description="Named expressions shared by the clauses"
    )
    clauses: list[Clause] = Field(description="Every numbered clause, in document order")

    @field_validator("clauses")
    @classmethod
    def _unique_clause_ids(cls, clauses: list[Clause]) -> list[Clause]:
        # A field validator, so that the message names the key 'clauses'.
        ids = [c.id for c in clauses]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"clause ids that differ (repeated: {', '.join(dupes)})")
        return clauses

    @field_validator("applications")
    @classmethod
    def _list_field(cls, name: str) -> str:
        field = FIELD_BY_NAME.get(name)
        if field is None or field.kind is not Kind.LIST:
            lists = ", ".join(f.name for f in FIELDS if f.kind is Kind.LIST)
            raise ValueError(f"a list field of the data schema: {lists} (found {name!r})")
        return name

    def items(self) -> list[tuple[Clause, AwardItem]]:
        """Every award item, in document order."""
        return [(c, i) for c in self.clauses for i in c.items]

    def item(self, key: str) -> tuple[Clause, AwardItem]:
        """The item at address ``clause/item``; raises KeyError when there is none."""
        for clause, item in self.items():
            if f"{clause.id}/{item.id}" == key:
                return clause, item
        raise KeyError(key)


# --- loading -----------------------------------------------------------------------------

# Expressions may read these text fields (compared with literals); other text is free text.
TEXT_FIELDS: tuple[str, ...] = ("district", "industry", "main_product", "chem_park")
# The formula fields that are expressions, by formula type; the others name parameters.
OPERANDS: dict[str, tuple[str, ...]] = {
    "fixed": ("amount",),
    "rate": ("base", "rate", "cap"),
    "steps": ("on",),
    "scale_growth": ("scale", "growth"),
    "per_unit_above": ("on", "threshold", "per_unit", "cap"),
    "per_item": ("count", "per_item", "cap"),
}
_TABLE_FIELDS: dict[str, dict[str, Shape]] = {
    "steps": {"table": "table"},
    "scale_growth": {"scale_bands": "list", "growth_bands": "list", "table": "table"},
}
_AGGREGATED_TYPE: dict[str, expr.Type] = {
    "sum": expr.Type.NUM,
    "min": expr.Type.NUM,
    "max": expr.Type.NUM,
    "count": expr.Type.NUM,
    "any": expr.Type.BOOL,
    "all": expr.Type.BOOL,
}
GROUP_KEY: dict[str, str] = {"district": "district", "park": "chem_park"}
_MAX_MODEL_BYTES = 5_000_000


def address(clause_id: str, item_id: str, name: str = "") -> str:
    """``clause/item`` or, with a parameter name, ``clause/item/param``."""
    return f"{clause_id}/{item_id}/{name}" if name else f"{clause_id}/{item_id}"


def model_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a model file's bytes, for provenance stamps."""
    return sha256_file(path)


def load_model(path: str | Path) -> PolicyModel:
    """Read, validate and check a policy model file.

    The YAML is read with ``yaml.safe_load`` after a scan that refuses anchors and aliases
    (a model never needs them, and an alias bomb must not be expanded); the structure is
    validated by the pydantic classes of this module; then every expression is parsed and
    checked (:func:`compile_model`).

    Raises
    ------
    InputError
        With every problem found, each naming the file and the key path
        (``clauses[3].items[0].params.rate.basis``).
    """
    file = str(path)
    data = _read_yaml(Path(path), file)
    model = _validate(data, file)
    compile_model(model, file=file)
    return model


def read_yaml(path: str | Path) -> object:
    """A YAML file of plain data, read with ``yaml.safe_load``.

    Anchors and aliases are refused before anything is built: a model or a test case never
    needs them, and an alias bomb (a few lines that expand to billions of nodes when walked)
    must be refused, not expanded.

    Raises
    ------
    InputError
        For an unreadable, oversized or non-UTF-8 file, a YAML syntax error (with its line
        and column), or an anchor or alias.
    """
    file = str(path)
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > _MAX_MODEL_BYTES:
            raise InputError(
                [Problem(file, f"a file of at most {_MAX_MODEL_BYTES} bytes", f"{size} bytes")]
            )
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError([Problem(file, "a readable file", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(file, "UTF-8 text", f"an undecodable byte at offset {exc.start}")]
        ) from None
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):
            anchor = getattr(event, "anchor", None)
            if not (isinstance(event, yaml.AliasEvent) or anchor):
                continue
            what = "an alias" if isinstance(event, yaml.AliasEvent) else "an anchor"
            if (what, str(anchor)) in seen:
                continue
            seen.add((what, str(anchor)))
            line = event.start_mark.line + 1 if event.start_mark else 0
            problems.append(
                Problem(
                    file,
                    "plain YAML without anchors (&name) or aliases (*name)",
                    f"{what} {anchor!r} first at line {line}",
                )
            )
            if len(problems) >= 5:
                break
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(file, "valid YAML", f"{reason}{where}")]) from None
    if problems:
        raise InputError(problems)
    return yaml.safe_load(text)


def _read_yaml(path: Path, file: str) -> dict[Any, Any]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError(
            [Problem(file, "a mapping of keys (title, rules, clauses ...)", type(data).__name__)]
        )
    _restore_on_keys(data)
    return data


def _restore_on_keys(data: dict[Any, Any]) -> None:
    """YAML 1.1 reads a bare ``on:`` key as True; put the formula field's name back."""
    clauses = data.get("clauses")
    if not isinstance(clauses, list):
        return
    for clause in clauses:
        items = clause.get("items") if isinstance(clause, dict) else None
        for item in items if isinstance(items, list) else []:
            formula = item.get("formula") if isinstance(item, dict) else None
            if isinstance(formula, dict) and True in formula and "on" not in formula:
                formula["on"] = formula.pop(True)


_M = TypeVar("_M", bound=BaseModel)


def _key_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for k, part in enumerate(loc):
        # a discriminated union puts the tag ("rate") after "formula"; the file has no such key
        if k > 0 and loc[k - 1] == "formula" and part in OPERANDS and k + 1 < len(loc):
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def _ids_at(data: object, loc: Sequence[int | str]) -> str:
    """``clause 5.1, item booth`` for a location inside a clause, from the raw data."""
    names: list[str] = []
    node = data
    for k, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if k > 0 and loc[k - 1] in ("clauses", "items") and isinstance(node, dict):
                word = "clause" if loc[k - 1] == "clauses" else "item"
                names.append(f"{word} {node.get('id', '?')}")
        else:
            break
    return ", ".join(names)


def _found(value: object) -> str:
    if isinstance(value, dict | list):
        return ""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_as(cls: type[_M], data: object, file: str) -> _M:
    """``cls.model_validate(data)``, its errors turned into one :class:`InputError`.

    Each problem names the file and the key path (``clauses[3].items[0].params.rate.basis``)
    and, inside a clause, the clause and item ids.
    """
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        for error in exc.errors():
            loc = error["loc"]
            key = _key_path(loc)
            kind = error["type"]
            value = error.get("input")
            if kind == "missing":
                expected, found = "this key, which is required", "nothing"
            elif kind == "extra_forbidden":
                expected = "only the keys the format defines (docs/policy-model.md)"
                found = f"unknown key {loc[-1]!r}"
            else:
                expected = str(error["msg"]).removeprefix("Value error, ")
                expected = expected.removeprefix("Input should be ")
                expected = expected[0].lower() + expected[1:] if expected else expected
                found = _found(value)
                if kind == "string_type" and isinstance(value, int | float):
                    expected += "; quote it, e.g. '5.1' (YAML reads 3.10 as the number 3.1)"
            where = _ids_at(data, loc)
            if where:
                expected += f" [{where}]"
            if (key, expected) in seen:
                continue
            seen.add((key, expected))
            problems.append(Problem(file=file, expected=expected, found=found, key=key))
        raise InputError(problems) from None


def _validate(data: object, file: str) -> PolicyModel:
    return validate_as(PolicyModel, data, file)


# --- checking and compiling ---------------------------------------------------------------


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
            refusal=f"a field usable in an expression ({name!r} is free text; text fields "
            f"usable are {', '.join(TEXT_FIELDS)})",
        )
    if f.kind is Kind.LIST:
        return expr.Symbol(
            None,
            "field",
            refusal=f"a field usable in an expression ({name!r} is read by the application "
            "check: set requires_application on the item)",
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
        self.items: list[Problem] = []

    def add(self, key: str, expected: str, found: str = "") -> None:
        self.items.append(Problem(file=self.file, expected=expected, found=found, key=key))

    def expression(self, key: str, where: str, text: str, error: expr.ExprError) -> None:
        if error.cascade:
            return  # the name it reads failed, and that failure is reported where it is defined
        shown = text if len(text) <= 80 else text[:77] + "..."
        found = f"{error.found} " if error.found else ""
        self.add(key, f"{error.reason} [{where}]", f"{found}at column {error.column} of {shown!r}")


def _name_problem(name: str, what: str) -> str:
    if not name.isidentifier() or name.startswith("__"):
        return f"{what} that is a plain name (letters, digits, _; not starting with __)"
    if name in _RESERVED:
        return f"{what} that is not already a field or function name"
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
            None, expr.BROKEN, refusal=f"a derived name that is well formed ({name!r} is not)"
        )
        for name in broken
    }
    deps = {name: expr.names_in(d.expr) & set(derived) for name, d in derived.items()}
    state: dict[str, int] = dict.fromkeys(broken, 2)  # 1: in progress, 2: done

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join((*path[path.index(name) :], name))
            errors[name] = f"derived names that do not read each other in a circle ({cycle})"
            symbols[name] = expr.Symbol(
                None, expr.BROKEN, refusal=f"a derived name outside a cycle ({cycle})"
            )
            return
        state[name] = 1
        for dep in sorted(deps[name]):
            visit(dep, (*path, name))
        state[name] = 2
        if name in errors:
            return
        scope = {**base, **symbols}
        try:
            program = expr.parse(derived[name].expr, scope)
        except expr.ExprError as exc:
            errors[name] = exc
            origin = expr.BROKEN if exc.cascade else "derived"
            symbols[name] = expr.Symbol(
                None, origin, refusal=f"a derived name computable here ({exc.reason})"
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
            refusal=f"a field this {item.recipient} item aggregates (add {name!r} to 'aggregate')",
        )
    for name, how in item.aggregate.items():
        path = f"{key}.aggregate.{name}"
        if name not in FIELD_BY_NAME:
            problems.add(
                path,
                f"a field of the data schema [{where}]",
                f"{name!r}{expr.suggest(name, FIELD_BY_NAME)}",
            )
            continue
        if name == group_key:
            problems.add(
                path,
                f"a field other than the recipient's own key {group_key!r} [{where}]",
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
                f"an aggregation that fits {name!r}, a field of kind {kind.value} (sum, min, "
                f"max: numbers; any, all: yes/no; count: any field) [{where}]",
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
        bad = _name_problem(name, "a derived name")
        if bad:
            problems.add(f"derived.{name}", bad, repr(name))
    errors: dict[str, expr.ExprError | str] = {}
    firm_derived, firm_symbols = _derive(model.derived, FIELD_SYMBOLS, errors)
    for name, error in errors.items():
        key = f"derived.{name}.expr"
        if isinstance(error, expr.ExprError):
            problems.expression(key, f"derived {name}", model.derived[name].expr, error)
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
    where = f"clause {clause.id}, item {item.id}"
    before = len(problems.items)
    firm_derived, firm_symbols, broken = firm
    if item.recipient in GROUP_KEY:
        base = _group_scope(item, where, key, problems)
        derived, derived_symbols = _derive(model.derived, base, {}, broken)
    else:
        base, derived, derived_symbols = dict(FIELD_SYMBOLS), firm_derived, firm_symbols
    scope: dict[str, expr.Symbol] = {**base, **derived_symbols}
    for name, param in item.params.items():
        bad = _name_problem(name, "a parameter name")
        if not bad and name in model.derived:
            bad = "a parameter name that is not also a derived name"
        if bad:
            problems.add(f"{key}.params.{name}", f"{bad} [{where}]", repr(name))
            continue
        if param_shape(param.value) == "scalar":
            scope[name] = expr.Symbol(expr.Type.NUM, "parameter")
        else:
            scope[name] = expr.Symbol(
                None,
                "parameter",
                refusal=f"a number ({name!r} is a {param_shape(param.value)} parameter: name it "
                "in the formula's table fields, not in an expression)",
            )
    if item.provincial_type is not None and item.provincial_type not in PROVINCIAL_TYPES:
        problems.add(
            f"{key}.provincial_type",
            f"one of {', '.join(PROVINCIAL_TYPES)} [{where}]",
            f"{item.provincial_type!r}{expr.suggest(item.provincial_type, PROVINCIAL_TYPES)}",
        )

    conditions: list[tuple[Condition, expr.Expression]] = []
    for k, cond in enumerate(item.conditions):
        try:
            program = expr.parse(cond.expr, scope, want=expr.Type.BOOL)
        except expr.ExprError as exc:
            problems.expression(
                f"{key}.conditions[{k}].expr", f"{where}, condition {cond.id}", cond.expr, exc
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
            operands[name] = expr.parse(str(text), scope, want=expr.Type.NUM)
        except expr.ExprError as exc:
            problems.expression(f"{key}.formula.{name}", f"{where}, formula {name}", str(text), exc)
    values = {n: p.value for n, p in item.params.items()}
    for message, field_name, found in _table_problems(formula, values):
        problems.add(f"{key}.formula.{field_name}", f"{message} [{where}]", found)

    if len(problems.items) > before:
        return None
    used: set[str] = set()
    for program in (*(p for _, p in conditions), *operands.values()):
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


def _table_problems(
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


# --- parameters ---------------------------------------------------------------------------


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
        assert isinstance(value, int | float | list)
        values[addr] = value
        basis[addr] = "override"
    if not problems:
        for clause, item in model.items():
            prefix = address(clause.id, item.id)
            mine = {n: values[address(clause.id, item.id, n)] for n in item.params}
            for message, field_name, found in _table_problems(item.formula, mine):
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


def json_schema_text() -> str:
    """The JSON Schema of the format, as ``docs/policy-model.schema.json`` holds it."""
    schema = PolicyModel.model_json_schema()
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "FIELD_SYMBOLS",
    "GROUP_KEY",
    "OPERANDS",
    "SHAPE_WORDS",
    "TEXT_FIELDS",
    "AwardItem",
    "Basis",
    "Clause",
    "CompiledItem",
    "CompiledModel",
    "Condition",
    "Derived",
    "Fixed",
    "Formula",
    "FundCap",
    "Param",
    "ParamValue",
    "PerItem",
    "PerUnitAbove",
    "PolicyModel",
    "Provincial",
    "Rate",
    "ResolvedParams",
    "Rounding",
    "Rules",
    "ScaleGrowth",
    "Stacking",
    "Steps",
    "address",
    "compile_model",
    "json_schema_text",
    "load_model",
    "model_sha256",
    "param_shape",
    "read_yaml",
    "resolve_params",
    "validate_as",
]
