"""What a sensitivity analysis varies: the factors (assumptions and budget) and the variants.

A **factor** is one parameter of the model, addressed ``<clause>/<item>/<name>``
(:func:`allocator.policy.model.address`), or the scenario's ``budget_wan``. Every parameter
the model marks ``basis: assumed`` is a factor, and so is the budget when the scenario sets it;
a parameter the document states (``basis: document``) only when asked (``include_document``,
or named in the scenario's ``sensitivity.ranges``). A factor moves over a range: by default
from ``1 − spread`` to ``1 + spread`` times its value (the scenario's override when it has
one); a number or the budget may instead be given ``low`` and ``high`` values, any parameter
a ``scale`` of multiples. A list (band edges) is scaled whole, a table too, except a stepped
table (rows ``[threshold, amount]``), of which only the amounts move.

The **variants** (:func:`design`): ``base`` (every factor at its value); one at a time, each
factor at the low and at the high end of its range, the rest held; and joint, ``samples``
variants of every factor at once, drawn by Latin hypercube with a fixed seed
(``scipy.stats.qmc`` when SciPy is installed, else the same design drawn with NumPy).
Variants are drawn here, in the calling process, so that every backend runs the same values.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from allocator.core.errors import InputError, InputProblem
from allocator.inputs.scenario import LoadedScenario
from allocator.inputs.sensitivity import ParamRange, Sensitivity
from allocator.policy.bind import Budget
from allocator.policy.expr import suggest
from allocator.policy.model import Basis, ParamValue, PolicyModel, Steps, address, param_shape

BUDGET = "budget_wan"
BASE = "base"
ONE_AT_A_TIME = "one-at-a-time"
JOINT = "joint"
Method = Literal["both", "one-at-a-time", "joint"]
METHODS: tuple[Method, ...] = ("both", "one-at-a-time", "joint")
# Varied values are rounded to this many decimals, so that their text is short and exact.
DECIMALS = 6


@dataclass(frozen=True)
class Factor:
    """One parameter (or the budget) and the range it moves over.

    Attributes
    ----------
    address:
        ``<clause>/<item>/<name>`` or ``budget_wan``.
    basis:
        ``assumed``, ``document`` (the model's basis) or, for the budget, ``scenario``.
    unit, description:
        From the model (the budget: 万元).
    base:
        The value the scenario runs with.
    low, high:
        The ends of the range: values, or multiples of ``base`` when ``by_scale``.
    by_scale:
        Whether the range is a multiple of the value.
    steps_table:
        A stepped table, of which only the amounts (the last column) are scaled.
    """

    address: str
    basis: str
    unit: str
    description: str
    base: ParamValue
    low: float
    high: float
    by_scale: bool
    steps_table: bool = False

    @property
    def column(self) -> str:
        """The factor's column in sensitivity.csv: values, or multiples for lists and tables."""
        return self.address if param_shape(self.base) == "scalar" else f"{self.address} (×)"

    def position(self, t: float) -> float:
        """The value (or multiple) at ``t`` in [0, 1] from the low to the high end."""
        return round(self.low + t * (self.high - self.low), DECIMALS)

    def value(self, t: float) -> ParamValue:
        """The parameter's value at ``t`` in [0, 1] from the low to the high end."""
        at = self.position(t)
        if not self.by_scale:
            return round(at) if self.address == BUDGET else _number(at)
        if self.address == BUDGET:
            assert isinstance(self.base, int)
            return round(self.base * at)
        return _scaled(self.base, at, self.steps_table)

    def shown(self, t: float) -> str:
        """The text of the factor at ``t`` in sensitivity.csv."""
        if param_shape(self.base) == "scalar":
            return _text(self.value(t))
        return _text(self.position(t))


def _number(x: float) -> int | float:
    r = round(x, DECIMALS)
    return int(r) if float(r).is_integer() else r


def _scaled(value: ParamValue, m: float, steps_table: bool) -> ParamValue:
    if isinstance(value, int | float):
        return _number(value * m)
    if param_shape(value) == "list":
        return [_number(v * m) for v in value if isinstance(v, int | float)]
    rows = [row for row in value if isinstance(row, list)]
    if steps_table:
        return [[*row[:-1], _number(row[-1] * m)] for row in rows]
    return [[_number(v * m) for v in row] for row in rows]


def _text(value: object) -> str:
    return str(value)


@dataclass(frozen=True)
class Options:
    """What to vary, from the scenario's ``sensitivity`` section and the command line."""

    spec: Sensitivity
    method: Method = "both"
    only: tuple[str, ...] = ()


def plan(
    loaded: LoadedScenario, model: PolicyModel, budget: Budget, options: Options
) -> list[Factor]:
    """The factors of a scenario, in model order, the budget first.

    Raises
    ------
    InputError
        For an address in ``sensitivity.ranges`` or ``--param`` that the model does not have,
        values given for a list or table parameter, a budget range in fractions of 万元, or
        nothing to vary.
    """
    spec, file = options.spec, str(loaded.path)
    steps = {
        address(c.id, i.id, i.formula.table)
        for c, i in model.items()
        if isinstance(i.formula, Steps)
    }
    params = {
        address(c.id, i.id, name): p for c, i in model.items() for name, p in i.params.items()
    }
    known = [BUDGET, *params]
    problems: list[InputProblem] = []
    for addr in [*spec.ranges, *options.only]:
        if addr not in known:
            key = f"sensitivity.ranges[{addr}]" if addr in spec.ranges else None
            where = file if key else "--param"
            problems.append(
                InputProblem(
                    where,
                    "a parameter address <clause>/<item>/<name> or budget_wan"
                    f"{suggest(addr, known)}",
                    repr(addr),
                    key=key,
                )
            )
    wanted = set(options.only) or (set(spec.ranges) if spec.only_ranges else None)
    factors: list[Factor] = []
    budget_basis = "document" if budget.source == "document" else "scenario"
    candidates: list[tuple[str, str, str, str, ParamValue]] = [
        (BUDGET, budget_basis, "万元", "the fund", budget.value_wan)
    ]
    for addr, param in params.items():
        value = loaded.spec.overrides.get(addr, param.value)
        candidates.append((addr, param.basis.value, param.unit, param.description, value))
    for addr, basis, unit, description, value in candidates:
        named = addr in spec.ranges or addr in options.only
        if wanted is not None and addr not in wanted:
            continue
        document = basis == Basis.DOCUMENT.value
        if wanted is None and not named and document and not spec.include_document:
            continue
        factor = _factor(addr, basis, unit, description, value, spec.ranges.get(addr), spec.spread)
        if isinstance(factor, InputProblem):
            problems.append(InputProblem(file, factor.expected, factor.found, key=factor.key))
            continue
        factors.append(
            Factor(**{**factor.__dict__, "steps_table": addr in steps}) if addr in steps else factor
        )
    if not problems and not factors:
        problems.append(
            InputProblem(file, "at least one parameter to vary", "none", key="sensitivity")
        )
    if problems:
        raise InputError(problems)
    return factors


def _factor(
    addr: str,
    basis: str,
    unit: str,
    description: str,
    value: ParamValue,
    given: ParamRange | None,
    spread: float,
) -> Factor | InputProblem:
    key = f"sensitivity.ranges[{addr}]"
    if given is not None and given.low is not None and given.high is not None:
        if param_shape(value) != "scalar":
            return InputProblem(
                "", "scale: [lowest, highest multiple], for a list or table", "low/high", key=key
            )
        if addr == BUDGET and not (isinstance(given.low, int) and isinstance(given.high, int)):
            return InputProblem(
                "", "whole 万元 for the budget", f"{given.low}, {given.high}", key=key
            )
        return Factor(
            addr, basis, unit, description, value, float(given.low), float(given.high), False
        )
    low, high = given.scale if given is not None and given.scale else (1 - spread, 1 + spread)
    return Factor(
        addr, basis, unit, description, value, round(low, DECIMALS), round(high, DECIMALS), True
    )


# --------------------------------------------------------------------------------------------
# Variants


@dataclass(frozen=True)
class Variant:
    """One set of factor values.

    Attributes
    ----------
    index:
        Position in the analysis (``base`` is 0).
    name:
        ``base``, ``oat-003-low`` (the third factor at its low end), ``joint-017``.
    design:
        ``base``, ``one-at-a-time`` or ``joint``.
    varied:
        The factor moved (one at a time), else empty.
    t:
        Each factor's position in [0, 1] from the low to the high end of its range; None
        where the factor keeps the scenario's value.
    """

    index: int
    name: str
    design: str
    varied: str
    t: tuple[float | None, ...]

    def values(self, factors: Sequence[Factor]) -> dict[str, ParamValue]:
        """Each factor's value in this variant, by address."""
        return {
            f.address: (f.base if t is None else f.value(t))
            for f, t in zip(factors, self.t, strict=True)
        }

    def describe(self, factors: Sequence[Factor]) -> str:
        """The values that differ from the base, as ``address=value`` pairs."""
        moved = [
            f"{f.address}={f.shown(t)}"
            for f, t in zip(factors, self.t, strict=True)
            if t is not None
        ]
        return ", ".join(moved) if moved else BASE


def design(factors: Sequence[Factor], options: Options) -> list[Variant]:
    """The base, then one factor at a time (low, high), then the joint samples."""
    n = len(factors)
    out = [Variant(0, BASE, BASE, "", (None,) * n)]
    if options.method in ("both", ONE_AT_A_TIME):
        for k, f in enumerate(factors):
            for end, t in (("low", 0.0), ("high", 1.0)):
                moved = tuple(t if j == k else None for j in range(n))
                name = f"oat-{k + 1:03d}-{end}"
                out.append(Variant(len(out), name, ONE_AT_A_TIME, f.address, moved))
    samples = options.spec.samples if options.method in ("both", JOINT) else 0
    if samples:
        points = latin_hypercube(samples, n, options.spec.seed)
        for s in range(samples):
            drawn = tuple(round(float(x), DECIMALS) for x in points[s])
            out.append(Variant(len(out), f"joint-{s + 1:03d}", JOINT, "", drawn))
    return out


def sampler_name() -> str:
    """Which Latin hypercube draws the joint samples here."""
    return "scipy.stats.qmc" if importlib.util.find_spec("scipy") is not None else "numpy"


def latin_hypercube(samples: int, dims: int, seed: int) -> npt.NDArray[np.float64]:
    """``samples`` points in [0, 1)^dims, one in each of ``samples`` slices of every axis."""
    if sampler_name() == "scipy.stats.qmc":
        from scipy.stats import qmc

        return np.asarray(qmc.LatinHypercube(d=dims, seed=seed).random(samples), dtype=np.float64)
    rng = np.random.default_rng(seed)
    slices = np.stack([rng.permutation(samples) for _ in range(dims)], axis=1)
    return (slices + rng.random((samples, dims))) / samples


def scenario_changes(
    variant: Variant, factors: Sequence[Factor], overrides: Mapping[str, ParamValue]
) -> dict[str, object]:
    """The scenario values a variant sets: ``overrides`` and, when moved, ``budget_wan``."""
    values = variant.values(factors)
    merged = dict(overrides)
    merged.update({a: v for a, v in values.items() if a != BUDGET})
    changes: dict[str, object] = {"overrides": merged}
    if BUDGET in values:
        changes[BUDGET] = values[BUDGET]
    return changes


__all__ = [
    "BASE",
    "BUDGET",
    "JOINT",
    "METHODS",
    "ONE_AT_A_TIME",
    "Factor",
    "Method",
    "Options",
    "Variant",
    "design",
    "latin_hypercube",
    "plan",
    "sampler_name",
    "scenario_changes",
]
