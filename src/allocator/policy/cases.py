"""Helpers for tests and clause cases: small enterprise frames and clause tests as data.

:func:`frame_from_records` builds a frame with the loader's columns and dtypes from a few
dicts that give only the fields a test cares about; every other field is blank.

Clause cases are YAML files under ``tests/clauses/<model file stem>/``, one award item per
file, in the spirit of OpenFisca's YAML tests::

    model: liuzhou-2026-q1-draft
    item: "5.1/booth"
    cases:
      - name: booth fee of exactly 20万元 gives 10万元 (50%, cap reached)
        kind: boundary
        firm: {above_scale: true, booth_fee_2026q1: 20, applied_clauses: "5.1"}
        expect: {eligible: true, claim_wan: 10}

:func:`run_case` evaluates one case and returns its mismatches.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    FIELD_BY_NAME,
    FIELDS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    Kind,
)
from allocator.inputs.yamlfile import read_yaml, validate_as
from allocator.policy import expr
from allocator.policy.claims import evaluate
from allocator.policy.model import PolicyModel

_NUMERIC = (Kind.INT, Kind.MONEY, Kind.QUANTITY, Kind.PERCENT)
_ALIASES: dict[str, dict[str, str]] = {
    "industry": {zh: code for code, zh in INDUSTRIES.items()},
    "main_product": {zh: code for code, zh in MAIN_PRODUCTS.items()},
    "district": dict(DISTRICT_ALIASES),
}


def blank_frame(n: int) -> pd.DataFrame:
    """``n`` firms with every field blank, except placeholder ids and names.

    ``credit_code`` is ``firm-1``, ``firm-2`` ... and ``name`` ``Firm 1`` ..., so that
    recipients can be told apart; every other field has its kind's blank.
    """
    return frame_from_records([{}] * n)


def frame_from_records(
    records: Sequence[Mapping[str, object]], *, file: str = "<records>"
) -> pd.DataFrame:
    """A frame with every schema field, in the loader's dtypes, from a few records.

    Each record gives only the fields a test cares about; the rest are blank (``""``,
    False, NaN or NaT). Values: numbers for numeric fields, booleans for yes/no fields, a
    date or ISO date text for dates, text for text (an industry, main product or district
    may be given by its Chinese label or alias), and for ``applied_clauses`` either
    ``"5.1;5.2"`` or a list of clause ids.

    Raises
    ------
    InputError
        For an unknown field (with a close match) or a value of the wrong kind, each
        located as ``[row].field``.
    """
    problems: list[InputProblem] = []
    for k, record in enumerate(records):
        for name in record:
            if name not in FIELD_BY_NAME:
                problems.append(
                    InputProblem(
                        file,
                        _("a field of the data schema") + expr.suggest(str(name), FIELD_BY_NAME),
                        repr(name),
                        key=f"[{k}].{name}",
                    )
                )
    columns: dict[str, Any] = {}
    for f in FIELDS:
        cells = [record.get(f.name) for record in records]
        converted: list[Any] = []
        for k, value in enumerate(cells):
            try:
                converted.append(_cell(f.name, f.kind, value, k))
            except (TypeError, ValueError) as exc:
                problems.append(InputProblem(file, str(exc), repr(value), key=f"[{k}].{f.name}"))
                converted.append(None)
        columns[f.name] = _array(f.kind, converted)
    if problems:
        raise InputError(problems)
    return pd.DataFrame(columns)


def _cell(name: str, kind: Kind, value: object, row: int) -> object:
    if value is None:
        if name == "credit_code":
            return f"firm-{row + 1}"
        if name == "name":
            return f"Firm {row + 1}"
        return None
    field = FIELD_BY_NAME[name]
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise TypeError(_("true or false"))
        return value
    if kind in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(_("a number"))
        return float(value)
    if kind is Kind.DATE:
        if isinstance(value, dt.date):
            return pd.Timestamp(value)
        if isinstance(value, str):
            return pd.Timestamp(dt.date.fromisoformat(value))
        raise TypeError(_("a date (YYYY-MM-DD)"))
    if kind is Kind.LIST:
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return ";".join(str(v) for v in value)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise TypeError(_("text like '5.1;5.2' or a list of clause ids"))
    if not isinstance(value, str):
        raise TypeError(_("text"))
    text = value.strip()
    if kind is Kind.CATEGORY and text:
        text = _ALIASES.get(name, {}).get(text, text)
        if text not in field.choices:
            raise ValueError(
                _("one of the values of {field}").format(field=name)
                + expr.suggest(text, field.choices)
            )
    return text


def _array(kind: Kind, cells: list[Any]) -> Any:
    if kind is Kind.BOOL:
        return np.array([bool(v) for v in cells], dtype=np.bool_)
    if kind in _NUMERIC:
        return np.array([math.nan if v is None else v for v in cells], dtype=np.float64)
    if kind is Kind.DATE:
        stamps = [np.datetime64("NaT") if v is None else v.to_datetime64() for v in cells]
        return np.array(stamps, dtype="datetime64[ns]")
    return np.array(["" if v is None else v for v in cells], dtype=object)


# --- clause cases -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What a case expects of the recipient's row."""

    eligible: bool | None = Field(None, description="Meets every condition and applied")
    claim_wan: int | None = Field(None, description="The claim in whole 万元")
    amount: float | None = Field(None, description="The amount before rounding, in 万元")
    applied: bool | None = Field(None, description="Passes the application check")
    conditions: dict[str, bool] = Field(
        default_factory=dict, description="Condition id to its expected result"
    )
    values: dict[str, float] = Field(
        default_factory=dict,
        description="Detail column (formula.raw, growth.value ...) to its expected value",
    )


class Case(_Strict):
    """One clause case: some firms, some parameter overrides, one expected row."""

    name: str = Field(description="What the case shows, in a sentence")
    kind: Literal["boundary", "eligible", "ineligible"] | None = Field(
        None, description="boundary for a case at a threshold; else inferred from expect"
    )
    firm: dict[str, Any] | None = Field(None, description="The one firm of the case")
    firms: list[dict[str, Any]] | None = Field(None, description="Several firms")
    params: dict[str, Any] = Field(default_factory=dict, description="Overrides by address")
    recipient: str | None = Field(None, description="Recipient id or name whose row to check")
    expect: Expect = Field(description="The expected row")
    note: str = Field("", description="Anything a reader should know")

    @model_validator(mode="after")
    def _one_population(self) -> Case:
        if (self.firm is None) == (self.firms is None):
            raise ValueError(_("give exactly one of 'firm' and 'firms'"))
        if self.kind is None and self.expect.eligible is None:
            raise ValueError(_("give expect.eligible, or a kind"))
        stated = {"eligible": True, "ineligible": False}.get(self.kind or "")
        if stated is not None and self.expect.eligible not in (None, stated):
            raise ValueError(
                _("a case of kind {kind} expects eligible: {stated}").format(
                    kind=self.kind, stated=stated
                )
            )
        return self

    @property
    def shows(self) -> frozenset[str]:
        """What the case shows: ``eligible`` or ``ineligible`` (from ``kind`` or the
        expectation), and ``boundary`` when so marked."""
        out = set()
        if self.expect.eligible is not None:
            out.add("eligible" if self.expect.eligible else "ineligible")
        if self.kind is not None:
            out.add(self.kind)
        return frozenset(out)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [self.firm] if self.firm is not None else list(self.firms or [])


class CaseFile(_Strict):
    """A file of clause cases for one award item."""

    model: str = Field(description="Model file stem: models/<model>.yaml")
    item: str = Field(description="Award item address clause/item")
    description: str = Field("", description="What the cases cover")
    cases: list[Case] = Field(description="The cases", min_length=1)


@dataclass(frozen=True)
class LoadedCases:
    """A case file as read, with where it came from."""

    path: Path
    cases: CaseFile


def load_cases(path: str | Path) -> LoadedCases:
    """Read and validate a clause case file.

    Raises
    ------
    InputError
        Naming the file and the key path of every problem.
    """
    data = read_yaml(path)
    return LoadedCases(Path(path), validate_as(CaseFile, data, str(path), dotted_keys=True))


def find_model(stem: str, dirs: Sequence[Path]) -> Path:
    """``<dir>/<stem>.yaml`` in the first of ``dirs`` that has it."""
    for d in dirs:
        candidate = d / f"{stem}.yaml"
        if candidate.is_file():
            return candidate
    where = _(", ").join(str(d) for d in dirs)
    raise InputError(
        _("a model file {stem}.yaml in {folders}").format(stem=stem, folders=where), file=stem
    )


def run_case(model: PolicyModel, item_key: str, case: Case, *, file: str = "<case>") -> list[str]:
    """Evaluate ``case`` against item ``item_key`` of ``model``; the mismatches, if any.

    Raises
    ------
    InputError
        When the case's firms, parameters or recipient cannot be used.
    """
    frame = frame_from_records(
        case.records, file=_("{file}: case {case}").format(file=file, case=repr(case.name))
    )
    claims = evaluate(model, frame, case.params, items=[item_key])
    detail = claims.items[item_key].frame
    if case.recipient is not None:
        rows = detail[
            (detail["recipient_id"] == case.recipient)
            | (detail["recipient_name"] == case.recipient)
        ]
    else:
        rows = detail
    if len(rows) != 1:
        ids = _(", ").join(str(x) for x in detail["recipient_id"]) or _("none")
        wanted = (
            _("recipient {recipient} among the item's recipients (found: {ids})").format(
                recipient=repr(case.recipient), ids=ids
            )
            if case.recipient
            else _("a single recipient among the item's recipients (found: {ids})").format(ids=ids)
        )
        raise InputError(wanted, file=file)
    row = rows.iloc[0]
    mismatches: list[str] = []

    def check(column: str, want: object) -> None:
        if column not in row.index:
            choices = [c for c in row.index if c not in ("recipient_id", "recipient_name")]
            mismatches.append(
                _("no column {column}").format(column=repr(column)) + expr.suggest(column, choices)
            )
            return
        got = row[column]
        if isinstance(want, bool):
            ok = bool(got) == want
        elif isinstance(want, int | float):
            ok = bool(np.isclose(float(got), float(want), rtol=0, atol=1e-6, equal_nan=True))
        else:
            ok = got == want
        if not ok:
            mismatches.append(
                _("{column}: expected {want}, got {got}").format(
                    column=column, want=repr(want), got=repr(_plain(got))
                )
            )

    e = case.expect
    for column, want in (
        ("eligible", e.eligible),
        ("applied", e.applied),
        ("claim_wan", e.claim_wan),
        ("amount", e.amount),
    ):
        if want is not None:
            check(column, want)
    for cond, want in e.conditions.items():
        check(f"{cond}.result", want)
    for column, number in e.values.items():
        check(column, number)
    if mismatches:
        failed = [c for c in claims.items[item_key].conditions if not bool(row[f"{c}.result"])]
        if failed:
            mismatches.append(
                _("(conditions not met: {conditions})").format(conditions=_(", ").join(failed))
            )
    return mismatches


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "Case",
    "CaseFile",
    "Expect",
    "LoadedCases",
    "blank_frame",
    "find_model",
    "frame_from_records",
    "load_cases",
    "run_case",
]
