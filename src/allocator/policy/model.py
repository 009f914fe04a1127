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

:func:`allocator.policy.load.load_model` reads a file, validates it against the classes below
and checks every expression (:func:`allocator.policy.compile.compile_model`); every problem is
reported at once with the file and the key path. docs/policy-model.md explains the format;
:func:`json_schema_text` gives docs/policy-model.schema.json.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from allocator.core.i18n import _
from allocator.inputs.parse import MAX_VALUE
from allocator.inputs.schema import FIELD_BY_NAME, FIELDS, Kind

Number = int | float
# A parameter's value: a scalar, a list (band edges) or a table (rows of numbers).
ParamValue = Number | list[Number] | list[list[Number]]
Shape = Literal["scalar", "list", "table"]


def shape_words() -> str:
    """What a parameter's value may be, in the reader's words."""
    return _(
        "a number, a list of numbers (band edges) or a table (a list of rows of numbers, "
        "all rows the same length)"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def beyond_range(value: object) -> float | None:
    """The first number of a parameter value beyond ±:data:`MAX_VALUE`; None when all fit.

    A parameter multiplies or caps amounts in 万元; beyond the range an input may hold, the
    products leave the integers the claims table and the solver work in.
    """
    if _is_number(value):
        assert isinstance(value, int | float)
        return float(value) if abs(value) > MAX_VALUE else None
    if isinstance(value, list):
        for v in value:
            found = beyond_range(v)
            if found is not None:
                return found
    return None


def range_words() -> str:
    """The range a parameter's numbers must lie in, in the reader's words."""
    return _("numbers from {low} to {high}").format(
        low=f"{-MAX_VALUE:.0e}", high=f"{MAX_VALUE:.0e}"
    )


def param_shape(value: object) -> Shape | None:
    """``"scalar"``, ``"list"`` or ``"table"``; None when ``value`` is none of them.

    A bool is not a number here (``true`` is no rate of 1), nor are NaN and infinity.
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
    """``value`` when it is a usable id; ``what`` is the full message with ``{banned}`` and
    ``{found}`` in it."""
    if not value or any(c in value for c in forbidden) or any(c.isspace() for c in value):
        banned = _(" or ").join(repr(c) for c in forbidden)
        raise ValueError(what.format(banned=banned, found=repr(value)))
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
            raise ValueError(shape_words())
        if beyond_range(value) is not None:
            raise ValueError(range_words())
        return value

    @model_validator(mode="after")
    def _sourced(self) -> Param:
        if self.basis is Basis.DOCUMENT and not self.quote:
            raise ValueError(_("a parameter with basis 'document' needs the quote that states it"))
        if self.basis is Basis.ASSUMED and not self.rationale:
            raise ValueError(_("a parameter with basis 'assumed' needs a one-line rationale"))
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
        return _plain(
            value,
            _("a condition id that is not empty, without spaces or {banned} (found {found})"),
            "./",
        )


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
    all_or_nothing: StrictBool = Field(
        False, description="Paid in full or not at all (e.g. the 2026 5万元 one-off)"
    )
    requires_application: StrictBool = Field(
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
        return _plain(
            value,
            _("an item id that is not empty, without spaces or {banned} (found {found})"),
            "./",
        )

    @model_validator(mode="after")
    def _unique_condition_ids(self) -> AwardItem:
        ids = [c.id for c in self.conditions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(
                _("item {item} repeats condition id(s): {ids}").format(
                    item=self.id, ids=_(", ").join(dupes)
                )
            )
        return self

    @model_validator(mode="after")
    def _aggregation_matches_recipient(self) -> AwardItem:
        grouped = self.recipient in ("district", "park")
        if grouped and not self.aggregate:
            raise ValueError(
                _("a {recipient} item needs 'aggregate' for the fields it uses").format(
                    recipient=self.recipient
                )
            )
        if not grouped and self.aggregate:
            raise ValueError(
                _("'aggregate' is for district and park items, not {recipient}").format(
                    recipient=self.recipient
                )
            )
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
        return _plain(
            value,
            _("a clause id that is not empty, without spaces or {banned} (found {found})"),
            "/",
        )

    @model_validator(mode="after")
    def _items_iff_award(self) -> Clause:
        if self.kind == "award" and not self.items:
            raise ValueError(_("award clause {clause} has no award items").format(clause=self.id))
        if self.kind != "award" and self.items:
            raise ValueError(
                _("{kind} clause {clause} cannot hold award items").format(
                    kind=self.kind, clause=self.id
                )
            )
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError(_("clause {clause} repeats an item id").format(clause=self.id))
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
            raise ValueError(_("a rule with basis 'document' needs its quote"))
        if self.basis is Basis.ASSUMED and not self.rationale:
            raise ValueError(_("a rule with basis 'assumed' needs a rationale"))
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

    value_wan: StrictInt | None = Field(
        description="The cap in 万元; null when the text states none"
    )


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
            raise ValueError(
                _("clause ids that differ (repeated: {ids})").format(ids=_(", ").join(dupes))
            )
        return clauses

    @field_validator("applications")
    @classmethod
    def _list_field(cls, name: str) -> str:
        field = FIELD_BY_NAME.get(name)
        if field is None or field.kind is not Kind.LIST:
            lists = _(", ").join(f.name for f in FIELDS if f.kind is Kind.LIST)
            raise ValueError(
                _("a list field of the data schema: {fields} (found {found})").format(
                    fields=lists, found=repr(name)
                )
            )
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
GROUP_KEY: dict[str, str] = {"district": "district", "park": "chem_park"}


def address(clause_id: str, item_id: str, name: str = "") -> str:
    """``clause/item`` or, with a parameter name, ``clause/item/param``."""
    return f"{clause_id}/{item_id}/{name}" if name else f"{clause_id}/{item_id}"


def json_schema_text() -> str:
    """The JSON Schema of the format, as ``docs/policy-model.schema.json`` holds it."""
    schema = PolicyModel.model_json_schema()
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "GROUP_KEY",
    "OPERANDS",
    "TEXT_FIELDS",
    "AwardItem",
    "Basis",
    "Clause",
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
    "Rounding",
    "Rules",
    "ScaleGrowth",
    "Shape",
    "Stacking",
    "Steps",
    "address",
    "beyond_range",
    "json_schema_text",
    "param_shape",
    "range_words",
    "shape_words",
]
