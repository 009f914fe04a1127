"""The scenario file: which model, which data, how much money, which fairness rule.

A scenario is a YAML file (``scenarios/*.yaml``) validated in two steps:

1. :func:`load_scenario` checks the file on its own: its shape (unknown keys are errors), the
   ranges of its numbers, the districts and industries it names, and that the model and data
   files it points to exist. Relative paths resolve against the scenario file's folder.
2. :func:`check_against_model` checks what only the policy model can tell: clause ids, item
   keys and parameter addresses, and the budget against the document's fund cap.

Both collect every problem before raising one :class:`~allocator.core.errors.InputError`, each
problem naming the file and the key path (``weights.clauses[99]``, ``sub_budgets[0].budget_wan``).
``docs/scenario.md`` explains every key; ``docs/scenario.schema.json`` is generated from the
models below (``python -m allocator.inputs.scenario > docs/scenario.schema.json``).
"""

from __future__ import annotations

import json
import math
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
)

from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_bytes
from allocator.core.i18n import _
from allocator.inputs.choices import Engine, Rule
from allocator.inputs.readfile import describe_file, read_input
from allocator.inputs.schema import DISTRICTS, FIELD_BY_NAME, INDUSTRIES, Kind
from allocator.inputs.sensitivity import Sensitivity
from allocator.inputs.yamlfile import MAX_YAML_BYTES, parse_yaml, validate_as

#: The largest seed the solver takes (a 32-bit signed integer).
MAX_SEED = 2**31 - 1
#: The longest time limit, in seconds (a day).
MAX_TIME_LIMIT_S = 86400.0
_SEPARATED = re.compile(r"^\s*[+-]?\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?\s*$")


def _unquoted(value: object) -> object:
    """Refuse a number written as text, saying exactly how to write it.

    A scenario is YAML: ``budget_wan: 5000`` is a number, ``budget_wan: "5,000"`` is text.
    Reading text as a number would make ``"1e-9"`` or ``"020"`` mean whatever a converter
    thinks; the message shows the plain form instead. Other text is left to the type check.
    """
    if not isinstance(value, str):
        return value
    plain = re.sub(r"[,，\s]", "", value) if _SEPARATED.match(value) else value.strip()
    try:
        float(plain)
    except ValueError:
        return value
    if plain != value.strip():
        raise ValueError(
            _("a number without quotes or thousands separators: write {plain}, not {value}").format(
                plain=plain, value=repr(value)
            )
        )
    raise ValueError(
        _("a number without quotes: write {plain}, not {value}").format(
            plain=plain, value=repr(value)
        )
    )


# A whole amount grouped by thousands, as a clerk types it and the data accepts it: 5,000 or
# 5，000 (NFKC makes the full-width comma and digits plain). Nothing else is read from text.
_GROUPED_WHOLE = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+")


def _wan(value: object) -> object:
    """An amount in 万元: ``5,000`` (YAML text) is 5000, as in the enterprise data.

    Only a whole number grouped by thousands is read from text; any other text goes to
    :func:`_unquoted`, which says how to write it.
    """
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if _GROUPED_WHOLE.fullmatch(text):
            return int(text.replace(",", ""))
    return _unquoted(value)


# Whole 万元; ``strict`` so that ``true`` or ``"500"`` is an error rather than 1 or 500. The
# YAML reader keeps whole numbers within 18 digits, inside the solver's 64-bit integers.
Wan = Annotated[int, BeforeValidator(_wan), Field(strict=True, ge=0)]
# Strict: YAML's ``yes`` is the text 'yes', and text is not true/false.
Flag = Annotated[bool, Strict()]
# Weights multiply; build.check_limits keeps Σ weight × 1000 × claim within CP-SAT's sums.
Weight = Annotated[float, Field(strict=True, gt=0, le=100, allow_inf_nan=False)]
# Strict, so that YAML's ``yes`` or a quoted ``"0.4"`` is refused rather than read as 1 or 0.4.
Number = Annotated[int, Strict()] | Annotated[float, Strict()]
ParamValue = Number | list[Number] | list[list[Number]]

SAFE_NAME = r"^\w[\w.-]{0,99}$"


def _as_list(value: object) -> object:
    """Accept one path where a list of paths is expected."""
    return [value] if isinstance(value, str | Path) else value


PathList = Annotated[
    list[Path],
    BeforeValidator(_as_list),
    Field(min_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "path"},
                {"type": "array", "items": {"type": "string", "format": "path"}, "minItems": 1},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubBudget(_Strict):
    """A budget line for a clause or a group of clauses, inside the total budget."""

    name: str = Field(pattern=SAFE_NAME, description="Name of the budget line, unique")
    clauses: list[str] = Field(
        min_length=1,
        description="Clause ids ('1', '3.9') or item keys ('3.9/park') the line pays for",
    )
    budget_wan: Wan = Field(description="Most the line may pay in total, whole 万元")


class ExclusiveGroup(_Strict):
    """An extra no-duplicate group: a recipient receives at most one of its items."""

    name: str = Field(pattern=SAFE_NAME, description="Name of the group, unique")
    items: list[str] = Field(
        min_length=2, description="Item keys ('clause/item') of which at most one is paid"
    )


class Contribution(_Strict):
    """A priority multiplier from each firm's contribution to growth (2025 （十九）).

    The multiplier is ``1 + growth × rank(rate) + increment × rank(increment)``, where the
    rate is ``field_now / field_before − 1``, the increment is ``field_now − field_before``,
    and ``rank`` is the firm's percentile rank among the firms where the measure is defined,
    from 0 (lowest) to 1 (highest). A firm without the figures gets 0 for that term.
    """

    growth: float = Field(
        0.0, ge=0, le=100, allow_inf_nan=False, description="Coefficient a of the growth rank"
    )
    increment: float = Field(
        0.0, ge=0, le=100, allow_inf_nan=False, description="Coefficient b of the increment rank"
    )
    field_now: str = Field("output_2025q1", description="Data field of the current period, 万元")
    field_before: str = Field(
        "output_2024q1", description="Data field of the same period a year before, 万元"
    )


class Weights(_Strict):
    """Priority weights; an award's weight is the product of those that apply to it."""

    clauses: dict[str, Weight] = Field(
        default_factory=dict,
        description="Clause id or item key → weight; an item key's weight replaces its clause's",
    )
    industries: dict[str, Weight] = Field(
        default_factory=dict, description="Industry code (schema.INDUSTRIES) → weight"
    )
    districts: dict[str, Weight] = Field(
        default_factory=dict, description="District (schema.DISTRICTS) → weight"
    )
    contribution: Contribution | None = Field(
        None, description="Multiplier from each firm's contribution to growth; none when absent"
    )


class Fairness(_Strict):
    """How the budget is shared when it does not cover every claim."""

    rule: Rule = Field(
        Rule.PRIORITY,
        description="priority | proportional | equal_awards | equal_losses | talmud "
        "(docs/fairness.md)",
    )
    rounding: Literal["spend_all", "floor_each"] = Field(
        "spend_all",
        description="spend_all: the whole-万元 vector nearest the rule's exact value, the fund "
        "spent | floor_each: each award the exact value rounded down (按比例核减, 不足万元部分不予"
        "补助), the rest left unspent (docs/fairness.md; level rules only)",
    )
    one_offs: Literal["compete", "first"] = Field(
        "compete",
        description="compete: an all-or-nothing award is paid once the rule's level reaches "
        "it | first: all-or-nothing awards are paid in full first, in priority order while "
        "the fund allows, and the rule shares the rest (docs/fairness.md; level rules only)",
    )


class Solver(_Strict):
    """Solver settings: the engine of the priority phases, its time, threads and seed."""

    time_limit_s: Annotated[float, BeforeValidator(_unquoted), Strict()] = Field(
        30.0,
        gt=0,
        le=MAX_TIME_LIMIT_S,
        allow_inf_nan=False,
        description="Wall-clock limit in seconds",
    )
    workers: Annotated[int, BeforeValidator(_unquoted), Strict()] = Field(
        2, ge=1, le=64, description="Parallel search workers (CP-SAT) or threads (HiGHS)"
    )
    seed: Annotated[int, BeforeValidator(_unquoted), Strict()] = Field(
        0, ge=0, le=MAX_SEED, description="Random seed, for reproducible searches"
    )
    solver: Engine = Field(
        Engine.CPSAT,
        description="cpsat | highs: the solver of the priority phases (docs/solvers.md)",
    )


class Scenario(_Strict):
    """One allocation run: a policy model, enterprise data, a budget and a fairness rule."""

    name: str = Field(
        pattern=SAFE_NAME,
        description="Name of the scenario; the default output folder is out/<name>",
    )
    notes: str = Field("", description="Free text: what the scenario is for")
    model: Path = Field(description="Policy model file, relative to this file's folder")
    data: PathList = Field(
        description="Enterprise data file, or a list of them, relative to this file's folder"
    )
    budget_wan: Wan | None = Field(
        None,
        description="The fund, whole 万元; defaults to the document's fund cap, and is "
        "required when the document states none",
    )
    allow_budget_above_document_cap: Flag = Field(
        False, description="Allow budget_wan above the fund cap the document states"
    )
    overrides: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="Parameter address ('<clause>/<item>/<name>') → value, replacing the model's",
    )
    sub_budgets: list[SubBudget] = Field(
        default_factory=list, description="Budget lines for clauses or groups of clauses"
    )
    firm_cap_wan: Wan | None = Field(
        None, description="Most one enterprise may receive in total, whole 万元"
    )
    district_caps: dict[str, Wan] = Field(
        default_factory=dict, description="District → most its recipients receive in total"
    )
    district_floors: dict[str, Wan] = Field(
        default_factory=dict, description="District → least its recipients receive in total"
    )
    weights: Weights = Field(default_factory=Weights, description="Priority weights")
    fairness: Fairness = Field(default_factory=Fairness, description="The fairness rule")
    exclusive_groups: list[ExclusiveGroup] = Field(
        default_factory=list, description="No-duplicate groups on top of the model's own"
    )
    provincial_without_amount: Literal["hold", "refuse"] = Field(
        "hold",
        description="Under 从优、就高、不重复 (2026 十一（三）), a firm that applied for the "
        "provincial award of an item's type but has no amount on file: hold (the item pays "
        "0, with the reason) or refuse (the run stops, naming the row and column)",
    )
    solver: Solver = Field(
        default_factory=Solver, description="Solver choice (CP-SAT or HiGHS) and its settings"
    )
    output_dir: Path | None = Field(
        None,
        description="Output folder, relative to this file's folder; default out/<name> in "
        "the current directory; the command line's --out wins",
    )
    sensitivity: Sensitivity = Field(
        default_factory=Sensitivity,
        description="How allocate sensitivity moves the assumptions (ignored by allocate run)",
    )


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario file, validated on its own, with its paths resolved.

    Attributes
    ----------
    spec:
        The file's content as written.
    path:
        The scenario file.
    model_path, data_paths:
        The model and data files, resolved against the scenario file's folder.
    sha256:
        Hash of the scenario file's bytes.
    """

    spec: Scenario
    path: Path
    model_path: Path
    data_paths: tuple[Path, ...]
    sha256: str

    def out_dir(self, override: Path | None = None) -> Path:
        """The output folder: ``override``, else the file's ``output_dir``, else out/<name>."""
        if override is not None:
            return override
        if self.spec.output_dir is not None:
            return self.path.parent / self.spec.output_dir
        return Path("out") / self.spec.name


# --------------------------------------------------------------------------------------------
# Loading


def load_scenario(
    path: str | Path,
    *,
    model_path: Path | None = None,
    data_paths: Sequence[Path] | None = None,
) -> LoadedScenario:
    """Read and validate a scenario file on its own (no model needed).

    Parameters
    ----------
    path:
        The YAML file.
    model_path, data_paths:
        The model and data files to use instead of those the file names (relative to its
        folder): a run folder's own copies (:mod:`allocator.outputs.copies`). ``data_paths``
        must list as many files as the scenario's ``data``.

    Returns
    -------
    LoadedScenario
        The validated content with resolved paths and the file's hash.

    Raises
    ------
    InputError
        Listing every problem found, each with the file and the key path.
    """
    path = Path(path)
    file = str(path)
    raw = read_input(path, MAX_YAML_BYTES)
    data = parse_yaml(raw, file)
    if not isinstance(data, dict):
        raise InputError([InputProblem(file, _("a mapping of keys at the top level"), _kind(data))])
    spec = validate_as(Scenario, data, file, phrases=_phrases())
    problems = _check_names(spec, file)
    base = path.parent
    model_path = base / spec.model if model_path is None else model_path
    if data_paths is None:
        data_paths = tuple(base / p for p in spec.data)
    elif len(data_paths) != len(spec.data):
        problems.append(
            InputProblem(
                file,
                _("{n} data file(s)").format(n=len(data_paths)),
                _("{n} data file(s)").format(n=len(spec.data)),
                key="data",
            )
        )
    data_paths = tuple(data_paths)
    if not model_path.is_file():
        problems.append(_not_a_file(file, model_path, "model"))
    for i, p in enumerate(data_paths):
        if not p.is_file():
            key = "data" if len(data_paths) == 1 else f"data[{i}]"
            problems.append(_not_a_file(file, p, key))
    if problems:
        raise InputError(problems)
    return LoadedScenario(
        spec=spec,
        path=path,
        model_path=model_path,
        data_paths=data_paths,
        sha256=sha256_bytes(raw),
    )


def _not_a_file(file: str, path: Path, key: str) -> InputProblem:
    """A missing model or data file (``key`` says which), or one that is no regular file."""
    model = key == "model"
    if path.exists():
        found = _("{path} ({kind})").format(path=path, kind=describe_file(path))
        expected = (
            _("an existing regular model file") if model else _("an existing regular data file")
        )
        return InputProblem(file, expected, found, key=key)
    expected = _("an existing model file") if model else _("an existing data file")
    return InputProblem(file, expected, str(path), key=key)


def _check_names(spec: Scenario, file: str) -> list[InputProblem]:
    """Districts, industries, data fields and unique names: what needs no model."""
    problems: list[InputProblem] = []
    districts = _(", ").join(DISTRICTS)
    for section, mapping in (
        ("district_caps", spec.district_caps),
        ("district_floors", spec.district_floors),
        ("weights.districts", spec.weights.districts),
    ):
        for name in mapping:
            if name not in DISTRICTS:
                problems.append(
                    InputProblem(
                        file,
                        _("a district ({districts})").format(districts=districts),
                        repr(name),
                        key=f"{section}[{name}]",
                    )
                )
    for name in spec.weights.industries:
        if name not in INDUSTRIES:
            problems.append(
                InputProblem(
                    file,
                    _("an industry code ({codes})").format(codes=_(", ").join(INDUSTRIES)),
                    repr(name),
                    key=f"weights.industries[{name}]",
                )
            )
    for name, floor in spec.district_floors.items():
        cap = spec.district_caps.get(name)
        if cap is not None and floor > cap:
            problems.append(
                InputProblem(
                    file,
                    _("a floor no higher than district_caps[{name}] = {cap}").format(
                        name=name, cap=cap
                    ),
                    str(floor),
                    key=f"district_floors[{name}]",
                )
            )
    contribution = spec.weights.contribution
    if contribution is not None:
        money = sorted(f.name for f in FIELD_BY_NAME.values() if f.kind is Kind.MONEY)
        for attr in ("field_now", "field_before"):
            value = getattr(contribution, attr)
            if value not in money:
                problems.append(
                    InputProblem(
                        file,
                        _("a money field of the data schema ({fields})").format(
                            fields=_(", ").join(money)
                        ),
                        repr(value),
                        key=f"weights.contribution.{attr}",
                    )
                )
    for section, names in (
        ("sub_budgets", [s.name for s in spec.sub_budgets]),
        ("exclusive_groups", [g.name for g in spec.exclusive_groups]),
    ):
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.append(
                    InputProblem(
                        file, _("a name not used before"), repr(name), key=f"{section}[{i}].name"
                    )
                )
    return problems


def _phrases() -> dict[str, str]:
    """What a key path expects where pydantic would list the members of a union."""
    return {
        "overrides[": _("a number, a list of numbers or a table (a list of rows of numbers)"),
    }


def _kind(value: object) -> str:
    return _("nothing") if value is None else type(value).__name__


# --------------------------------------------------------------------------------------------
# JSON Schema


def time_limit_override(value: float | None, where: str | None = None) -> float | None:
    """A time limit a caller gives in place of the scenario's ``solver.time_limit_s``, checked.

    Raises
    ------
    InputError
        When ``value`` is not a finite number of seconds in (0, 86400] (``nan`` and ``inf``
        included); ``where`` says where it was given (by default the command line).
    """
    if value is None:
        return None
    if not (math.isfinite(value) and 0 < value <= MAX_TIME_LIMIT_S):
        raise InputError(
            [
                InputProblem(
                    where or _("the command line"),
                    _("a time limit in seconds, more than 0 and at most {most}").format(
                        most=f"{MAX_TIME_LIMIT_S:g}"
                    ),
                    repr(value),
                    key="time-limit",
                )
            ]
        )
    return value


def solver_override(value: str | None, where: str | None = None) -> Engine | None:
    """The engine a caller names in place of the scenario's ``solver.solver``, checked.

    Raises
    ------
    InputError
        When ``value`` names no engine; ``where`` says where it was given (by default the
        command line).
    """
    if value is None:
        return None
    try:
        return Engine(value)
    except ValueError:
        known = _(" or ").join(repr(e.value) for e in Engine)
        place = where or _("the command line")
        raise InputError([InputProblem(place, known, repr(value), key="solver")]) from None


def json_schema() -> str:
    """The JSON Schema of a scenario file, as ``docs/scenario.schema.json`` holds it."""
    schema: dict[str, Any] = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = [
    "Contribution",
    "ExclusiveGroup",
    "Fairness",
    "LoadedScenario",
    "Scenario",
    "Solver",
    "SubBudget",
    "Weights",
    "json_schema",
    "load_scenario",
    "solver_override",
    "time_limit_override",
]

if __name__ == "__main__":
    sys.stdout.write(json_schema())
