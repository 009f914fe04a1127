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

import hashlib
import json
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    WithJsonSchema,
)

from allocator.core.errors import InputError, Problem
from allocator.inputs.choices import Engine, Rule
from allocator.inputs.schema import DISTRICTS, FIELD_BY_NAME, INDUSTRIES, Kind
from allocator.inputs.sensitivity import Sensitivity

# Whole 万元; ``strict`` so that ``true`` or ``"500"`` is an error rather than 1 or 500.
Wan = Annotated[int, Field(strict=True, ge=0)]
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


class Solver(_Strict):
    """Solver settings: the engine of the priority phases, its time, threads and seed."""

    time_limit_s: float = Field(
        30.0, gt=0, le=86400, allow_inf_nan=False, description="Wall-clock limit in seconds"
    )
    workers: int = Field(
        2, ge=1, le=64, description="Parallel search workers (CP-SAT) or threads (HiGHS)"
    )
    seed: int = Field(0, ge=0, description="Random seed, for reproducible searches")
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
    allow_budget_above_document_cap: bool = Field(
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


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file on its own (no model needed).

    Parameters
    ----------
    path:
        The YAML file.

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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, "a readable scenario file", exc.strerror or "")]) from exc
    try:
        text = raw.decode("utf-8")
        _refuse_aliases(text, file)
        data = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise InputError([Problem(file, "UTF-8 text", f"byte {exc.start}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = str(getattr(exc, "problem", None) or type(exc).__name__).removeprefix("found ")
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError([Problem(file, "valid YAML", f"{what}{where}")]) from exc
    if not isinstance(data, dict):
        raise InputError([Problem(file, "a mapping of keys at the top level", _kind(data))])
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, data, Scenario, file)) from exc

    problems = _check_names(spec, file)
    base = path.parent
    model_path = base / spec.model
    data_paths = tuple(base / p for p in spec.data)
    if not model_path.is_file():
        problems.append(Problem(file, "an existing model file", str(model_path), key="model"))
    for i, p in enumerate(data_paths):
        if not p.is_file():
            key = "data" if len(data_paths) == 1 else f"data[{i}]"
            problems.append(Problem(file, "an existing data file", str(p), key=key))
    if problems:
        raise InputError(problems)
    return LoadedScenario(
        spec=spec,
        path=path,
        model_path=model_path,
        data_paths=data_paths,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _refuse_aliases(text: str, file: str) -> None:
    """Refuse anchors and aliases before anything is built, as the policy model does.

    A scenario never needs them, and an alias bomb (a few lines that expand to billions of
    nodes when validated or printed) must be refused, not expanded.
    """
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent) or anchor:
            what = "an alias" if isinstance(event, yaml.AliasEvent) else "an anchor"
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise InputError(
                [
                    Problem(
                        file,
                        "plain YAML without anchors (&name) or aliases (*name)",
                        f"{what} {anchor!r} at line {line}",
                    )
                ]
            )


def _check_names(spec: Scenario, file: str) -> list[Problem]:
    """Districts, industries, data fields and unique names: what needs no model."""
    problems: list[Problem] = []
    districts = ", ".join(DISTRICTS)
    for section, mapping in (
        ("district_caps", spec.district_caps),
        ("district_floors", spec.district_floors),
        ("weights.districts", spec.weights.districts),
    ):
        for name in mapping:
            if name not in DISTRICTS:
                problems.append(
                    Problem(file, f"a district ({districts})", repr(name), key=f"{section}[{name}]")
                )
    for name in spec.weights.industries:
        if name not in INDUSTRIES:
            problems.append(
                Problem(
                    file,
                    f"an industry code ({', '.join(INDUSTRIES)})",
                    repr(name),
                    key=f"weights.industries[{name}]",
                )
            )
    for name, floor in spec.district_floors.items():
        cap = spec.district_caps.get(name)
        if cap is not None and floor > cap:
            problems.append(
                Problem(
                    file,
                    f"a floor no higher than district_caps[{name}] = {cap}",
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
                    Problem(
                        file,
                        f"a money field of the data schema ({', '.join(money)})",
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
                    Problem(file, "a name not used before", repr(name), key=f"{section}[{i}].name")
                )
    return problems


# --------------------------------------------------------------------------------------------
# Pydantic errors as Problems with key paths


def pydantic_problems(
    exc: ValidationError, data: object, root: type[BaseModel], file: str
) -> list[Problem]:
    """Turn a pydantic ValidationError into one :class:`Problem` per offending key.

    Key paths name fields with dots, list positions and mapping keys in brackets
    (``sub_budgets[0].clauses[1]``, ``weights.clauses[3.9]``). Errors of the alternatives
    of one union are merged into one problem.
    """
    merged: dict[str, tuple[list[str], str]] = {}
    for err in exc.errors(include_url=False):
        loc = _real_loc(err["loc"], data, err["type"])
        parts, parent = _walk(root, loc)
        key = "".join(parts).lstrip(".") or "<top level>"
        if err["type"] == "extra_forbidden":
            valid = ", ".join(parent.model_fields) if parent else ""
            expected = f"one of the known keys ({valid})" if valid else "no such key"
            merged.setdefault(key, ([expected], "an unknown key"))
            continue
        if err["type"] == "missing":
            merged.setdefault(key, (["this key (required)"], "nothing"))
            continue
        expected = (
            "a number, a list of numbers or a table (a list of rows of numbers)"
            if key.startswith("overrides[")
            else _expected(err["type"], err["msg"], key, err.get("ctx") or {})
        )
        found = "" if isinstance(err["input"], dict) else _short(err["input"])
        if key in merged:
            if expected not in merged[key][0]:
                merged[key][0].append(expected)
        else:
            merged[key] = ([expected], found)
    return [
        Problem(file, " or ".join(expected), found, key=key)
        for key, (expected, found) in merged.items()
    ]


def _real_loc(loc: tuple[int | str, ...], data: object, kind: str) -> tuple[int | str, ...]:
    """Cut the location where it stops naming the input (pydantic appends union tags)."""
    node = data
    for n, part in enumerate(loc):
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if inside:
            node = node[part]  # type: ignore[index]
        elif kind == "missing" and n == len(loc) - 1:
            return loc
        else:
            return loc[:n]
    return loc


def _walk(
    root: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[list[str], type[BaseModel] | None]:
    """Render a location as a key path; also return the model holding the last key."""
    parts: list[str] = []
    node: object = root
    parent: type[BaseModel] | None = root
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            parent = node
            parts.append(f".{part}")
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        else:
            parts.append(f"[{part}]")
            args = typing.get_args(node)
            node = args[-1] if args else None
            parent = None
    return parts, parent


def _unwrap(tp: object) -> object:
    """Strip Annotated and Optional so that the walk reaches the model, list or dict."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp


_PHRASES = {
    "string_pattern_mismatch": "a safe file name: letters, digits, '.', '_' or '-', not starting "
    "with '.' or '-', at most 100 characters",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "too_short": "a non-empty list",
}


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _expected(kind: str, msg: str, key: str, ctx: dict[str, Any]) -> str:
    if kind == "too_short" and key.startswith("exclusive_groups"):
        return "at least two item keys"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"a number {words} {ctx.get(name)}"
    if kind in _PHRASES:
        return _PHRASES[kind]
    if kind.startswith("int_"):
        return "a whole number"
    if kind.startswith("float_"):
        return "a number"
    msg = msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        msg = msg.removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


# --------------------------------------------------------------------------------------------
# JSON Schema


def solver_override(value: str | None, where: str = "the command line") -> Engine | None:
    """The engine a caller names in place of the scenario's ``solver.solver``, checked.

    Raises
    ------
    InputError
        When ``value`` names no engine; ``where`` says where it was given.
    """
    if value is None:
        return None
    try:
        return Engine(value)
    except ValueError:
        known = " or ".join(repr(e.value) for e in Engine)
        raise InputError([Problem(where, known, repr(value), key="solver")]) from None


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
    "pydantic_problems",
    "solver_override",
]

if __name__ == "__main__":
    sys.stdout.write(json_schema())
