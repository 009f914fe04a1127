"""Run one scenario over a grid of values: every combination a full run, side by side.

``allocate sweep SCENARIO.yaml --vary budget_wan=3000:8000:500 [--vary ...]`` varies scenario
values by their key path (:mod:`allocator.pipeline.vary`). The cartesian product of the values
gives the variants, each a full run (:func:`allocator.pipeline.run.compute_run`) into its own
folder:

.. code-block:: text

    DIR/
      scenarios/01_budget_wan=3000.yaml   the variant's scenario file (the run's input)
      01_budget_wan=3000/                 the run's output folder (docs/outputs.md)
      ...
      sweep.csv                           one row per variant
      sweep.svg                           coverage, mean ratio and Gini against the budget

The variants run on a backend (:mod:`allocator.pipeline.backends`): a pool of processes by
default, or Ray. The model, the data and the claims are loaded once and shared; each run's
solver gets one worker, so that the results do not depend on the backend or on how many
variants run at once. A variant without an allocation (``INFEASIBLE``, ``UNKNOWN``) is a row
with its status, a variant that fails a row with status ``ERROR``; neither stops the sweep.
``sweep.csv`` and ``sweep.svg`` depend on the results only: the same sweep gives the same
bytes on every backend.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from allocator.analysis.charts import SVG_RC, WAN_UNIT, svg_text
from allocator.analysis.compare import csv_bytes, format_value
from allocator.analysis.metrics import RunMetrics
from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_bytes, sha256_file, write_atomic
from allocator.core.i18n import N_, _
from allocator.inputs.scenario import LoadedScenario, load_scenario, solver_override
from allocator.outputs.result import InputFile
from allocator.pipeline.backends import Backend, Outcome, make_backend
from allocator.pipeline.batch import (
    ALLOCATED,
    SOLVER_WORKERS,
    RunSettings,
    SweepOutcome,
    SweepTask,
    load_shared,
    run_sweep_variant,
)
from allocator.pipeline.folders import is_run_folder, prepare_folder, write_run_folder
from allocator.pipeline.vary import (
    Variant,
    Vary,
    scenario_yaml,
    value_text,
    variant_document,
    variants,
)
from allocator.policy.bind import Budget, check_against_model
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SWEEP_CSV = "sweep.csv"
SWEEP_SVG = "sweep.svg"
SCENARIOS = "scenarios"
#: The status of a variant whose run raised an error (its message says which).
ERROR = "ERROR"
# The figures of each variant, in sweep.csv's order after the varied values.
ROW_COLUMNS = (
    "status",
    "budget_wan",
    "budget_used_wan",
    "recipients_funded",
    "eligible_recipients",
    "coverage",
    "mean_ratio",
    "gini_awards",
)


@dataclass(frozen=True)
class VariantResult:
    """The outcome of one variant.

    Attributes
    ----------
    variant:
        The combination of values.
    status:
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN``, or ``ERROR`` when the run
        raised.
    budget_wan:
        The run's fund.
    metrics:
        The run's figures (:func:`allocator.analysis.compare.run_metrics`); None without an
        allocation.
    message:
        Why there is no allocation, when there is none.
    seconds:
        Wall-clock time of the run (not written to sweep.csv, which depends on results only).
    """

    variant: Variant
    status: str
    budget_wan: int | None
    metrics: RunMetrics | None
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the results in variant order, and the files written."""

    scenario: Path
    out_dir: Path
    varies: tuple[Vary, ...]
    results: tuple[VariantResult, ...]
    table: pd.DataFrame
    backend: str
    seconds: float

    @property
    def csv_path(self) -> Path:
        return self.out_dir / SWEEP_CSV

    @property
    def svg_path(self) -> Path:
        return self.out_dir / SWEEP_SVG

    @property
    def failed(self) -> tuple[VariantResult, ...]:
        """The variants whose run raised an error."""
        return tuple(r for r in self.results if r.status == ERROR)


ProgressFn = Callable[[VariantResult, int, int], None]


def run_sweep(
    scenario: str | Path,
    varies: Sequence[Vary],
    *,
    out_dir: str | Path | None = None,
    jobs: int | None = None,
    backend: Backend | None = None,
    time_limit_s: float | None = None,
    solver: str | None = None,
    on_done: ProgressFn | None = None,
) -> SweepResult:
    """Run every variant of a scenario and write the sweep folder.

    Parameters
    ----------
    scenario:
        The scenario file.
    varies:
        What to vary (:func:`allocator.pipeline.vary.parse_vary`).
    out_dir:
        The sweep folder; default ``out/<name>-sweep``. An earlier sweep there is replaced;
        a folder holding anything else is refused.
    jobs:
        Processes running variants at once when no ``backend`` is given; default
        ``os.cpu_count()``; with one, the variants run in this process.
    backend:
        Where the variants run (:func:`allocator.pipeline.backends.make_backend`).
    time_limit_s:
        Overrides each run's solver time limit.
    solver:
        Overrides each run's solver (``cpsat`` or ``highs``); ``--vary solver.solver=...``
        varies it instead.
    on_done:
        Called as each variant ends with its result, the number done and the total.

    Returns
    -------
    SweepResult
        With ``sweep.csv`` and ``sweep.svg`` written.

    Raises
    ------
    InputError
        Before anything is written: a bad scenario, key, value or data file, any variant that
        is not a valid scenario (each problem names the variant), or a refused folder.
    """
    start = time.perf_counter()
    engine = solver_override(solver)
    path = Path(scenario)
    loaded = load_scenario(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    grid = variants(varies)
    paths = [v.path for v in varies]
    docs = [variant_document(raw, path.parent, v, paths) for v in grid]
    models = _check_variants(path, grid, docs)
    shared = load_shared(loaded, models[loaded.model_path])
    backend = backend or make_backend(jobs)

    out = Path(out_dir) if out_dir is not None else Path("out") / f"{loaded.spec.name}-sweep"
    inputs = [path, loaded.model_path, *loaded.data_paths]
    prepare_folder(
        out, inputs, what=N_("sweep"), markers=(SWEEP_CSV, SCENARIOS), is_entry=_sweep_entry
    )
    folder = out / SCENARIOS
    folder.mkdir(parents=True, exist_ok=True)
    settings = RunSettings(time_limit_s=time_limit_s, engine=engine)
    hashes: dict[Path, str] = {}
    tasks = []
    for v, doc in zip(grid, docs, strict=True):
        file = folder / f"{v.name}.yaml"
        text = scenario_yaml(doc)
        file.write_bytes(text)
        variant = load_scenario(file)
        argv = ["allocate", "run", str(file), "--out", str(out / v.name)]
        argv += ["--workers", str(SOLVER_WORKERS)]
        argv += ["--time-limit", f"{time_limit_s:g}"] if time_limit_s else []
        argv += ["--solver", solver] if solver else []
        budget = check_against_model(variant, models[variant.model_path])
        tasks.append(
            SweepTask(
                loaded=variant,
                budget=budget,
                inputs=_input_files(variant, file, text, hashes),
                settings=settings,
                command=shlex.join(argv),
            )
        )

    results: dict[int, VariantResult] = {}
    made: dict[str, Path] = {}  # the copies of the inputs made so far, for hard links

    def collect(outcome: Outcome[SweepOutcome]) -> None:
        v, task = grid[outcome.index], tasks[outcome.index]
        result = _variant_result(v, task.budget, outcome)
        if outcome.value is not None:
            write_run_folder(out / v.name, outcome.value.files, inputs=task.inputs, made=made)
        results[outcome.index] = result
        if on_done is not None:
            on_done(result, len(results), len(grid))

    backend.run(run_sweep_variant, shared, tasks, collect)

    ordered = tuple(results[n] for n in range(len(grid)))
    table = sweep_table(ordered, varies)
    write_atomic(out / SWEEP_CSV, sweep_csv_bytes(table))
    varied = {v.key for v in varies}
    rule = "" if "fairness.rule" in varied else f", {loaded.spec.fairness.rule.value}"
    title = f"{loaded.spec.name}{rule}: {len(grid)} variants"
    write_atomic(out / SWEEP_SVG, svg_text(sweep_figure(table, varies, title)).encode())
    return SweepResult(
        scenario=path,
        out_dir=out,
        varies=tuple(varies),
        results=ordered,
        table=table,
        backend=backend.label,
        seconds=time.perf_counter() - start,
    )


def _variant_result(v: Variant, budget: Budget, outcome: Outcome[SweepOutcome]) -> VariantResult:
    got = outcome.value
    if got is None:
        error = outcome.failure.error if outcome.failure is not None else ""
        return VariantResult(v, ERROR, budget.value_wan, None, error)
    return VariantResult(v, got.status, got.budget_wan, got.metrics, got.message, got.seconds)


def _input_files(
    loaded: LoadedScenario, file: Path, text: bytes, hashes: dict[Path, str]
) -> tuple[InputFile, ...]:
    """The provenance of a variant's run, as ``allocate run FILE`` stamps it."""

    def digest(p: Path) -> str:
        if p not in hashes:
            hashes[p] = sha256_file(p)
        return hashes[p]

    spec = loaded.spec
    return (
        InputFile("scenario", file, str(file), sha256_bytes(text)),
        InputFile("model", loaded.model_path, str(spec.model), digest(loaded.model_path)),
        *(
            InputFile("data", p, str(shown), digest(p))
            for p, shown in zip(loaded.data_paths, spec.data, strict=True)
        ),
    )


def _check_variants(
    path: Path, grid: list[Variant], docs: list[dict[str, Any]]
) -> dict[Path, PolicyModel]:
    """Validate every variant as a scenario file, naming the variant in each problem.

    Returns the models the variants name, loaded once each.
    """
    problems: list[InputProblem] = []
    models: dict[Path, PolicyModel] = {}
    with tempfile.TemporaryDirectory(prefix="allocate-sweep-") as tmp:
        base = load_scenario(path)
        models[base.model_path] = load_model(base.model_path)
        for v, doc in zip(grid, docs, strict=True):
            file = Path(tmp) / f"{v.name}.yaml"
            file.write_bytes(scenario_yaml(doc))
            where = f"{path} with {v.describe()}"
            try:
                loaded = load_scenario(file)
                if loaded.model_path not in models:
                    models[loaded.model_path] = load_model(loaded.model_path)
                check_against_model(loaded, models[loaded.model_path])
            except InputError as exc:
                problems.extend(
                    replace(p, file=where) if p.file == str(file) else p for p in exc.problems
                )
    if problems:
        raise InputError(problems)
    return models


def _sweep_entry(entry: Path) -> bool:
    """Whether an entry of a folder is part of an earlier sweep."""
    if entry.name in (SWEEP_CSV, SWEEP_SVG) and entry.is_file():
        return True
    if entry.name == SCENARIOS and entry.is_dir() and not entry.is_symlink():
        return all(e.name.endswith(".yaml") for e in entry.iterdir())
    return is_run_folder(entry)


# --------------------------------------------------------------------------------------------
# The table and the plot


def sweep_table(results: Sequence[VariantResult], varies: Sequence[Vary]) -> pd.DataFrame:
    """One row per variant: ``variant``, the varied values (as text), then
    :data:`ROW_COLUMNS`; figures missing (NaN, <NA>) without an allocation."""
    keys = [v.key for v in varies]
    rows = []
    for r in results:
        m = r.metrics
        row: dict[str, Any] = {
            "variant": r.variant.name,
            "status": r.status,
            "budget_wan": r.budget_wan,
        }
        row.update(
            {
                "budget_used_wan": m.budget_used_wan if m else None,
                "recipients_funded": m.recipients_funded if m else None,
                "eligible_recipients": m.eligible_recipients if m else None,
                "coverage": m.coverage if m else None,
                "mean_ratio": m.mean_ratio if m else None,
                "gini_awards": m.gini_awards if m else None,
            }
        )
        # The varied values last, so that a varied budget_wan shows as given.
        row.update({k: value_text(v) for k, v in r.variant.values})
        rows.append(row)
    # A varied budget_wan is the run's budget: one column, not two of the same name.
    columns = ["variant", *keys, *(c for c in ROW_COLUMNS if c not in keys)]
    table = pd.DataFrame(rows, columns=columns)
    for col in ("budget_wan", "budget_used_wan", "recipients_funded", "eligible_recipients"):
        if col not in keys:
            table[col] = table[col].astype("Int64")
    for col in ("coverage", "mean_ratio", "gini_awards"):
        table[col] = table[col].astype(np.float64)
    return table


def sweep_csv_bytes(table: pd.DataFrame) -> bytes:
    """``sweep.csv``: whole numbers as they are, shares to 6 decimals, blanks where missing."""
    text = table.astype(object).map(format_value)
    return csv_bytes(text)


_PANELS = (
    ("coverage", N_("coverage\n(share of eligible\nrecipients funded)")),
    ("mean_ratio", N_("mean award ratio\n(award / claim)")),
    ("gini_awards", N_("Gini of awards\n(per recipient)")),
)


def sweep_figure(table: pd.DataFrame, varies: Sequence[Vary], title: str = "") -> Figure:
    """Coverage, mean ratio and Gini of awards against the budget (or the first varied key).

    One line per combination of the other varied values; variants without an allocation are
    left out and counted in the title.
    """
    import matplotlib
    from matplotlib.figure import Figure

    keys = [v.key for v in varies]
    x_key = "budget_wan" if "budget_wan" in keys else keys[0]
    others = [k for k in keys if k != x_key]
    numeric = pd.to_numeric(table[x_key], errors="coerce")
    categorical = bool(numeric.isna().any())
    if categorical:
        categories = list(dict.fromkeys(table[x_key]))
        x = table[x_key].map({c: n for n, c in enumerate(categories)}).astype(float)
    else:
        x = numeric.astype(float)
    allocated = table["status"].isin(ALLOCATED)
    groups = (
        [(label, idx) for label, idx in table.groupby(others, sort=False).groups.items()]
        if others
        else [("", table.index)]
    )
    with matplotlib.rc_context(SVG_RC):
        fig = Figure(figsize=(7.0, 7.2), layout="constrained")
        axes = fig.subplots(len(_PANELS), 1, sharex=True)
        for ax, (column, ylabel) in zip(axes, _PANELS, strict=True):
            for label, idx in groups:
                rows = [i for i in idx if allocated[i]]
                name = _group_label(others, label)
                ax.plot(
                    x.loc[rows], table.loc[rows, column], marker="o", markersize=3.5, label=name
                )
            ax.set_ylabel(_(ylabel))
            ax.grid(linewidth=0.4, alpha=0.5)
        if categorical:
            axes[-1].set_xticks(range(len(categories)), categories)
        axes[-1].set_xlabel(f"budget_wan ({WAN_UNIT})" if x_key == "budget_wan" else x_key)
        missing = int((~allocated).sum())
        note = _(" ({missing} without an allocation, not drawn)").format(missing=missing)
        note = note if missing else ""
        fig.suptitle(f"{title}{note}" if title else _("Sweep") + note)
        if others:
            fig.legend(
                *axes[0].get_legend_handles_labels(),
                loc="outside lower center",
                ncols=min(len(groups), 3),
                fontsize=7,
                frameon=False,
            )
    return fig


def _group_label(keys: Sequence[str], label: object) -> str:
    if not keys:
        return ""
    values = label if isinstance(label, tuple) else (label,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))


__all__ = [
    "ERROR",
    "ROW_COLUMNS",
    "SWEEP_CSV",
    "SWEEP_SVG",
    "SweepResult",
    "VariantResult",
    "run_sweep",
    "sweep_csv_bytes",
    "sweep_figure",
    "sweep_table",
]
