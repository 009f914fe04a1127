"""Run a sensitivity analysis and tabulate it: ``allocate sensitivity SCENARIO.yaml``.

The variants (:mod:`allocator.pipeline.sensitivity`) run on a backend
(:mod:`allocator.pipeline.backends`) from the model, data and claims loaded once; each is a
full solve that writes nothing (:func:`allocator.pipeline.batch.run_sensitivity_variant`). The
folder:

.. code-block:: text

    DIR/
      sensitivity.csv    one row per variant: its factor values, status, total awarded,
                         coverage, Gini of awards, mean award ratio
      effects.csv        one row per factor: the figures at the low and high ends of its range
                         (one at a time) and their swing, largest effect on the total first
      firm_ranges.csv    per recipient: its award in the base run, and the least, median and
                         most across the variants with an allocation
      tornado.svg        the factors ranked by their effect on total awarded, coverage, Gini
      sensitivity.html   one self-contained page of the above

Every file depends on the results only (no timings): the same analysis gives the same bytes on
every backend and for any number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.analysis.compare import csv_bytes, format_value
from allocator.core.errors import InputError, InputProblem
from allocator.core.files import write_atomic
from allocator.core.i18n import N_
from allocator.inputs.scenario import LoadedScenario, load_scenario, solver_override
from allocator.pipeline.backends import Backend, Outcome, make_backend
from allocator.pipeline.batch import (
    ALLOCATED,
    RunSettings,
    SensitivityOutcome,
    SensitivityTask,
    load_shared,
    run_sensitivity_variant,
    with_spec,
)
from allocator.pipeline.folders import check_folder, clear
from allocator.pipeline.sensitivity import (
    BASE,
    ONE_AT_A_TIME,
    Factor,
    Options,
    Variant,
    design,
    plan,
    sampler_name,
    scenario_changes,
)
from allocator.policy.bind import check_against_model
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

SENSITIVITY_CSV = "sensitivity.csv"
EFFECTS_CSV = "effects.csv"
RANGES_CSV = "firm_ranges.csv"
TORNADO_SVG = "tornado.svg"
PAGE = "sensitivity.html"
FILES = (SENSITIVITY_CSV, EFFECTS_CSV, RANGES_CSV, TORNADO_SVG, PAGE)
ERROR = "ERROR"
#: The figures of each variant, after its factor values; ``budget_used_wan`` is the total
#: awarded.
FIGURES = (
    "status",
    "budget_wan",
    "budget_used_wan",
    "recipients_funded",
    "eligible_recipients",
    "coverage",
    "gini_awards",
    "mean_ratio",
    "message",
)
#: The figures a tornado ranks the factors by, with their labels.
EFFECT_METRICS = (
    ("budget_used_wan", "total awarded (10,000 yuan)"),
    ("coverage", "coverage (share of eligible recipients funded)"),
    ("gini_awards", "Gini of awards"),
    ("mean_ratio", "mean award ratio"),
)


@dataclass(frozen=True)
class VariantResult:
    """One variant's outcome: ``status`` is ``ERROR`` when its run raised (``message`` says
    what)."""

    variant: Variant
    outcome: SensitivityOutcome | None
    status: str
    message: str


@dataclass(frozen=True)
class SensitivityResult:
    """A finished analysis: factors, variants in order, tables, and the folder written."""

    scenario: Path
    name: str
    out_dir: Path
    factors: tuple[Factor, ...]
    results: tuple[VariantResult, ...]
    table: pd.DataFrame
    effects: pd.DataFrame
    ranges: pd.DataFrame
    backend: str
    sampler: str
    seconds: float

    @property
    def failed(self) -> tuple[VariantResult, ...]:
        """The variants whose run raised an error."""
        return tuple(r for r in self.results if r.status == ERROR)

    def path(self, name: str) -> Path:
        """A file of the folder (:data:`FILES`)."""
        return self.out_dir / name


ProgressFn = Callable[[VariantResult, int, int], None]


def run_sensitivity(
    scenario: str | Path,
    *,
    options: Options | None = None,
    out_dir: str | Path | None = None,
    backend: Backend | None = None,
    time_limit_s: float | None = None,
    solver: str | None = None,
    on_done: ProgressFn | None = None,
) -> SensitivityResult:
    """Run every variant of a sensitivity analysis and write its folder.

    Parameters
    ----------
    scenario:
        The scenario file; its ``sensitivity`` section gives the defaults of ``options``.
    options:
        What to vary; default the scenario's section, both designs.
    out_dir:
        The folder; default ``out/<name>-sensitivity``. An earlier analysis there is replaced;
        a folder holding anything else is refused.
    backend:
        Where the variants run; default a pool of one process per core.
    time_limit_s, solver:
        Override each run's solver time limit and engine.
    on_done:
        Called as each variant ends with its result, the number done and the total.

    Raises
    ------
    InputError
        Before anything is written: a bad scenario, model, data file or range, a variant
        that is not a valid scenario (naming the variant's values), or a refused folder.
    """
    start = time.perf_counter()
    engine = solver_override(solver)
    path = Path(scenario)
    loaded = load_scenario(path)
    model = load_model(loaded.model_path)
    budget = check_against_model(loaded, model)
    options = options or Options(loaded.spec.sensitivity)
    factors = plan(loaded, model, budget, options)
    variants = design(factors, options)
    settings = RunSettings(time_limit_s=time_limit_s, engine=engine)
    tasks = _tasks(loaded, model, factors, variants, settings)
    shared = load_shared(loaded, model)
    backend = backend or make_backend(None)
    out = Path(out_dir) if out_dir is not None else Path("out") / f"{loaded.spec.name}-sensitivity"
    earlier = check_folder(
        out,
        [path, loaded.model_path, *loaded.data_paths],
        what=N_("sensitivity analysis"),
        markers=(SENSITIVITY_CSV,),
        is_entry=lambda e: e.is_file() and e.name in FILES,
    )

    results: dict[int, VariantResult] = {}

    def collect(outcome: Outcome[SensitivityOutcome]) -> None:
        v = variants[outcome.index]
        got = outcome.value
        if got is None:
            error = outcome.failure.error if outcome.failure is not None else ""
            result = VariantResult(v, None, ERROR, error)
        else:
            result = VariantResult(v, got, got.status, got.message)
        results[outcome.index] = result
        if on_done is not None:
            on_done(result, len(results), len(variants))

    backend.run(run_sensitivity_variant, shared, tasks, collect)
    ordered = tuple(results[n] for n in range(len(variants)))
    table = sensitivity_table(ordered, factors)
    effects = effects_table(table, factors)
    ranges = award_ranges(ordered)
    result = SensitivityResult(
        scenario=path,
        name=loaded.spec.name,
        out_dir=out,
        factors=tuple(factors),
        results=ordered,
        table=table,
        effects=effects,
        ranges=ranges,
        backend=backend.label,
        sampler=sampler_name(),
        seconds=time.perf_counter() - start,
    )
    # The earlier analysis goes only now: Ctrl-C or an error before this leaves it as it was.
    clear(earlier)
    _write(result)
    return result


def _tasks(
    loaded: LoadedScenario,
    model: PolicyModel,
    factors: list[Factor],
    variants: list[Variant],
    settings: RunSettings,
) -> list[SensitivityTask]:
    """Each variant as a scenario checked against the model; every problem names its variant."""
    problems: list[InputProblem] = []
    tasks: list[SensitivityTask] = []
    for v in variants:
        try:
            changed = with_spec(loaded, **scenario_changes(v, factors, loaded.spec.overrides))
            tasks.append(SensitivityTask(changed, check_against_model(changed, model), settings))
        except InputError as exc:
            where = f"{loaded.path} with {v.describe(factors)}"
            problems.extend(
                InputProblem(where, p.expected, p.found, key=p.key) for p in exc.problems
            )
        except ValueError as exc:  # pydantic's, for a value the scenario's fields refuse
            where = f"{loaded.path} with {v.describe(factors)}"
            problems.append(InputProblem(where, "values the scenario accepts", str(exc)[:300]))
    if problems:
        raise InputError(problems)
    return tasks


def _write(result: SensitivityResult) -> None:
    import matplotlib

    from allocator.analysis.charts import svg_text
    from allocator.pipeline.sensitivity_report import FONT_RC, page_html, tornado_figure

    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / SENSITIVITY_CSV, table_csv_bytes(result.table))
    write_atomic(out / EFFECTS_CSV, table_csv_bytes(result.effects))
    write_atomic(out / RANGES_CSV, table_csv_bytes(result.ranges))
    with matplotlib.rc_context(FONT_RC):  # the SVG names the fonts in force when it is saved
        svg = svg_text(tornado_figure(result.effects, result.name), salt="tornado")
    write_atomic(out / TORNADO_SVG, svg.encode("utf-8"))
    write_atomic(out / PAGE, page_html(result, svg).encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Tables


def sensitivity_table(results: tuple[VariantResult, ...], factors: list[Factor]) -> pd.DataFrame:
    """One row per variant: ``variant``, ``design``, ``varied``, each factor's value (its
    column :attr:`Factor.column`), then :data:`FIGURES`; figures blank without an allocation."""
    rows = []
    for r in results:
        v, got = r.variant, r.outcome
        m = got.metrics if got is not None else None
        row: dict[str, object] = {
            "variant": v.name,
            "design": v.design,
            "varied": v.varied,
            "status": r.status,
            "budget_wan": got.budget_wan if got is not None else None,
        }
        row.update(
            {
                "budget_used_wan": m.budget_used_wan if m else None,
                "recipients_funded": m.recipients_funded if m else None,
                "eligible_recipients": m.eligible_recipients if m else None,
                "coverage": m.coverage if m else None,
                "gini_awards": m.gini_awards if m else None,
                "mean_ratio": m.mean_ratio if m else None,
                "message": r.message,
            }
        )
        # The factor values last, so that a varied budget_wan shows as drawn.
        for f, t in zip(factors, v.t, strict=True):
            row[f.column] = f.shown(t) if t is not None else _base_shown(f)
        rows.append(row)
    # A varied budget is the run's budget: one column, not two of the same name.
    columns = ["variant", "design", "varied", *_columns(factors)]
    columns += [c for c in FIGURES if c not in columns]
    table = pd.DataFrame(rows, columns=columns)
    for col in ("budget_used_wan", "recipients_funded", "eligible_recipients"):
        table[col] = table[col].astype("Int64")
    if "budget_wan" not in _columns(factors):
        table["budget_wan"] = table["budget_wan"].astype("Int64")
    for col in ("coverage", "gini_awards", "mean_ratio"):
        table[col] = table[col].astype(np.float64)
    return table


def _columns(factors: list[Factor]) -> list[str]:
    return [f.column for f in factors]


def _base_shown(f: Factor) -> str:
    return str(f.base) if isinstance(f.base, int | float) else "1"


def table_csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as allocate writes CSV: whole numbers as they are, shares to 6 decimals."""
    return csv_bytes(table.astype(object).map(format_value))


def effects_table(table: pd.DataFrame, factors: list[Factor]) -> pd.DataFrame:
    """Per factor, the figures at the low and high ends of its range and their swing.

    The swing of a figure is the most minus the least of it over the base run and the two
    ends (blank when one of them has no allocation). Rows are ranked by the swing of the
    total awarded, then of coverage, then of Gini, largest first, then by address.
    """
    allocated = table["status"].isin(ALLOCATED)
    base = table[(table["design"] == BASE) & allocated]
    rows = []
    for f in factors:
        row: dict[str, object] = {
            "parameter": f.address,
            "basis": f.basis,
            "unit": f.unit,
            "base": _base_shown(f),
            "low": f.shown(0.0),
            "high": f.shown(1.0),
            "by": "multiple" if f.by_scale and f.column != f.address else "value",
        }
        mine = (table["design"] == ONE_AT_A_TIME) & (table["varied"] == f.address) & allocated
        low = table[mine & table["variant"].str.endswith("-low")]
        high = table[mine & table["variant"].str.endswith("-high")]
        for metric, _ in EFFECT_METRICS:
            at = [
                float(part[metric].iloc[0]) if len(part) else np.nan for part in (low, base, high)
            ]
            row[f"{metric}_low"] = at[0]
            row[f"{metric}_base"] = at[1]
            row[f"{metric}_high"] = at[2]
            row[f"{metric}_swing"] = max(at) - min(at) if not np.isnan(at).any() else np.nan
        rows.append(row)
    effects = pd.DataFrame(rows)
    if effects.empty:
        return effects
    keys = [f"{m}_swing" for m, _ in EFFECT_METRICS[:3]]
    order = effects.sort_values(
        [*keys, "parameter"], ascending=[False] * len(keys) + [True], na_position="last"
    )
    out = order.reset_index(drop=True)
    for col in [c for c in out.columns if str(c).startswith("budget_used_wan_")]:
        out[col] = out[col].astype("Int64")
    return out


def award_ranges(results: tuple[VariantResult, ...]) -> pd.DataFrame:
    """Per recipient: its award in the base run, and the least, median and most over the
    variants with an allocation (0 in a variant where it has no claim).

    Columns ``recipient_id``, ``recipient_name``, ``base_award_wan``, ``min_award_wan``,
    ``median_award_wan``, ``max_award_wan``, ``variants``; sorted by id.
    """
    frames = [
        r.outcome.awards.set_index("recipient_id")
        for r in results
        if r.outcome is not None and r.status in ALLOCATED
    ]
    columns = [
        "recipient_id",
        "recipient_name",
        "base_award_wan",
        "min_award_wan",
        "median_award_wan",
        "max_award_wan",
        "variants",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    ids = sorted(set().union(*(f.index for f in frames)))
    names = pd.concat([f["recipient_name"] for f in frames])
    names = names[~names.index.duplicated()].reindex(ids)
    matrix = np.stack(
        [f["award_wan"].reindex(ids, fill_value=0).to_numpy(dtype=np.int64) for f in frames],
        axis=1,
    )
    base = results[0]
    base_awards = (
        base.outcome.awards.set_index("recipient_id")["award_wan"].reindex(ids, fill_value=0)
        if base.outcome is not None and base.status in ALLOCATED
        else pd.Series([pd.NA] * len(ids), index=ids)
    )
    median = np.median(matrix, axis=1)
    return pd.DataFrame(
        {
            "recipient_id": ids,
            "recipient_name": names.to_numpy(),
            "base_award_wan": pd.array(base_awards.to_numpy(), dtype="Int64"),
            "min_award_wan": matrix.min(axis=1),
            "median_award_wan": [int(x) if float(x).is_integer() else float(x) for x in median],
            "max_award_wan": matrix.max(axis=1),
            "variants": matrix.shape[1],
        },
        columns=columns,
    )


__all__ = [
    "EFFECTS_CSV",
    "EFFECT_METRICS",
    "ERROR",
    "FIGURES",
    "FILES",
    "PAGE",
    "RANGES_CSV",
    "SENSITIVITY_CSV",
    "TORNADO_SVG",
    "SensitivityResult",
    "VariantResult",
    "award_ranges",
    "effects_table",
    "run_sensitivity",
    "sensitivity_table",
    "table_csv_bytes",
]
