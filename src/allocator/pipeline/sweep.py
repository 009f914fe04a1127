"""Run one scenario over a grid of values: every combination a full run, side by side.

``allocate sweep SCENARIO.yaml --vary budget_wan=3000:8000:500 [--vary ...]`` varies scenario
values by their key path (``budget_wan``, ``fairness.rule``, ``firm_cap_wan``,
``district_caps.柳南区``, ``overrides.5.1/booth/rate``, ``sub_budgets[0].budget_wan``): a
range ``start:stop:step`` (the stop included when it lands on the grid) or a comma list. The
cartesian product of the values gives the variants, each run by
:func:`allocator.pipeline.run.run_scenario` into its own folder:

.. code-block:: text

    DIR/
      scenarios/01_budget_wan=3000.yaml   the variant's scenario file (the run's input)
      01_budget_wan=3000/                 the run's output folder (docs/outputs.md)
      ...
      sweep.csv                           one row per variant
      sweep.svg                           coverage, mean ratio and Gini against the budget

Variants run in parallel, one process each (``ProcessPoolExecutor``); with more than one
process each run's solver gets one worker, so that the machine is not oversubscribed. A
variant without an allocation (``INFEASIBLE``, ``UNKNOWN``) is a row with its status, not a
failure of the sweep. ``sweep.csv`` and ``sweep.svg`` depend on the results only: the same
sweep gives the same bytes.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import multiprocessing
import os
import re
import shlex
import shutil
import tempfile
import time
import types
import typing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel

from allocator.analysis.charts import SVG_RC, WAN_UNIT, svg_text
from allocator.analysis.compare import csv_bytes, format_value
from allocator.analysis.compare_runs import load_runs
from allocator.analysis.metrics import RunMetrics, run_metrics
from allocator.core.errors import InfeasibleError, InputError, NoSolutionError, Problem
from allocator.core.files import write_atomic
from allocator.inputs.scenario import Scenario, load_scenario, solver_override
from allocator.outputs.names import OUTPUT_FILES, RESULT
from allocator.policy.bind import check_against_model
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SWEEP_CSV = "sweep.csv"
SWEEP_SVG = "sweep.svg"
SCENARIOS = "scenarios"
# A grid bigger than this is a typo more often than a plan (each variant is a full run).
MAX_VARIANTS = 1000
# Keys the sweep sets itself: each variant's name, and its output folder.
RESERVED_KEYS = ("name", "output_dir")
#: Short spellings of the keys an analyst varies most, and the scenario keys they stand for.
KEY_ALIASES = {"budget": "budget_wan", "rule": "fairness.rule", "engine": "solver.solver"}
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
ALLOCATED = ("OPTIMAL", "FEASIBLE")
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
        raise InputError([Problem(VARY, "KEY=VALUES, e.g. budget_wan=3000:8000:500", repr(text))])
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
        node = _unwrap(node)
        origin = typing.get_origin(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            match = re.match(r"\.?([A-Za-z_]\w*)" if path else r"([A-Za-z_]\w*)", rest)
            fields = list(node.model_fields)
            name = match.group(1) if match else rest
            if match is None or name not in fields:
                raise InputError(
                    [
                        Problem(
                            VARY,
                            f"a key of the scenario ({', '.join(fields)})",
                            repr(name),
                            key=key,
                        )
                    ]
                )
            if not path and name in RESERVED_KEYS:
                raise InputError(
                    [
                        Problem(
                            VARY,
                            f"a key other than {' and '.join(RESERVED_KEYS)}, which the sweep "
                            "sets for each variant",
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
                raise InputError([Problem(VARY, "a mapping key after the field", key=key)])
            path.append(part)
            node = typing.get_args(node)[1]
        elif origin is list:
            match = re.match(r"(?:\.(\d+)|\[(\d+)\])", rest)
            if match is None:
                raise InputError([Problem(VARY, "a list position ([0], [1] ...)", rest, key=key)])
            path.append(int(match.group(1) or match.group(2)))
            rest = rest[match.end() :]
            node = typing.get_args(node)[0]
        else:
            raise InputError([Problem(VARY, "nothing after a value's key", repr(rest), key=key)])
    return tuple(path)


def _mapping_key(rest: str) -> tuple[str, str]:
    """A mapping key: ``[key]`` up to the bracket, else ``.key`` up to the end."""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return "", rest
        return rest[1:end], rest[end + 1 :]
    return rest.removeprefix("."), ""


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional, so that the walk sees the model, dict or list."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp  # a union of values (a parameter), not a container to walk into
            tp = args[0]
        else:
            return tp


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
                [Problem(VARY, "start:stop:step of numbers", repr(text), key=key)]
            ) from None
        if not all(d.is_finite() for d in (start, stop, step)) or step <= 0 or stop < start:
            raise InputError(
                [
                    Problem(
                        VARY,
                        "start:stop:step with a positive step and stop not below start",
                        repr(text),
                        key=key,
                    )
                ]
            )
        count = int((stop - start) // step) + 1
        if count > MAX_VARIANTS:
            raise InputError([Problem(VARY, f"at most {MAX_VARIANTS} values", f"{count}", key=key)])
        whole = not any(c in p for p in parts for c in ".eE")
        grid = [start + k * step for k in range(count)]
        return tuple(int(v) if whole else float(v) for v in grid)
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise InputError(
            [Problem(VARY, "start:stop:step or a comma list of values", repr(text), key=key)]
        )
    values = []
    for item in items:
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise InputError([Problem(VARY, "a plain value", repr(item), key=key)]) from None
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
            raise InputError([Problem(VARY, "each key once", "a repeated key", key=keys[n])])
    total = math.prod(len(v.values) for v in varies) if varies else 0
    if not varies or total > MAX_VARIANTS:
        raise InputError(
            [Problem(VARY, f"1 to {MAX_VARIANTS} variants", f"{total}", key=", ".join(keys))]
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
                        Problem(
                            VARY,
                            f"a list position the scenario has (0..{_size(node) - 1})",
                            str(part),
                            key=key,
                        )
                    ]
                )
        elif not isinstance(node, dict):
            raise InputError([Problem(VARY, "a key path through mappings", key=key)])
        elif not last and not isinstance(node.get(part), dict | list):
            if isinstance(path[n + 1], int):
                raise InputError([Problem(VARY, f"a list {part} in the scenario", "none", key=key)])
            node[part] = {}
        if last:
            node[part] = value
        else:
            node = node[part]


def _size(node: object) -> int:
    return len(node) if isinstance(node, list) else 0


def _write_yaml(path: Path, doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class VariantResult:
    """The outcome of one variant.

    Attributes
    ----------
    variant:
        The combination of values.
    status:
        ``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE`` or ``UNKNOWN``.
    budget_wan:
        The run's fund.
    metrics:
        The run's figures (:func:`allocator.analysis.metrics.run_metrics`); None without an
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
    jobs: int
    seconds: float

    @property
    def csv_path(self) -> Path:
        return self.out_dir / SWEEP_CSV

    @property
    def svg_path(self) -> Path:
        return self.out_dir / SWEEP_SVG


@dataclass(frozen=True)
class _Task:
    """What a worker process needs to run one variant (plain, so that it pickles)."""

    index: int
    scenario: str
    out_dir: str
    workers: int | None
    time_limit_s: float | None
    solver: str | None
    command: str


@dataclass(frozen=True)
class _Outcome:
    index: int
    status: str
    budget_wan: int | None
    metrics: RunMetrics | None
    message: str
    seconds: float
    problems: tuple[Problem, ...] = ()


def _run_variant(task: _Task) -> _Outcome:
    """Run one variant (in a worker process) and measure its output folder.

    Bad input comes back as the problems rather than an exception, because InputError does
    not survive pickling with its problems.
    """
    from allocator.pipeline.run import run_scenario  # the worker's import, not the parent's

    start = time.perf_counter()
    out = Path(task.out_dir)
    try:
        run_scenario(
            task.scenario,
            out_dir=out,
            workers=task.workers,
            time_limit_s=task.time_limit_s,
            solver=task.solver,
            command=task.command,
        )
    except (InfeasibleError, NoSolutionError) as exc:
        doc = _read_json(out / RESULT)
        return _Outcome(
            index=task.index,
            status=str(doc.get("status") or ("INFEASIBLE" if exc.exit_code == 3 else "UNKNOWN")),
            budget_wan=doc.get("budget_wan"),
            metrics=None,
            message=str(doc.get("message") or exc),
            seconds=time.perf_counter() - start,
        )
    except InputError as exc:
        return _Outcome(task.index, "", None, None, str(exc), 0.0, tuple(exc.problems))
    (run,) = load_runs([out])
    budget = run.result.get("budget_wan")
    return _Outcome(
        index=task.index,
        status=run.status,
        budget_wan=budget,
        metrics=run_metrics(run.awards, budget),
        message="",
        seconds=time.perf_counter() - start,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


ProgressFn = Callable[[VariantResult, int, int], None]


def run_sweep(
    scenario: str | Path,
    varies: Sequence[Vary],
    *,
    out_dir: str | Path | None = None,
    jobs: int | None = None,
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
        What to vary (:func:`parse_vary`).
    out_dir:
        The sweep folder; default ``out/<name>-sweep``. An earlier sweep there is replaced;
        a folder holding anything else is refused.
    jobs:
        Processes running variants at once; default ``os.cpu_count()``. With more than one,
        each run's solver gets one worker. With one, the variants run in this process.
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
        Before anything is written: a bad scenario, key or value, any variant that is not a
        valid scenario (each problem names the variant), or a refused folder. After writing
        has begun: bad data (every variant reads the same), and the sweep stops.
    """
    start = time.perf_counter()
    solver_override(solver)
    path = Path(scenario)
    loaded = load_scenario(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    grid = variants(varies)
    paths = [v.path for v in varies]
    docs = [variant_document(raw, path.parent, v, paths) for v in grid]
    _check_variants(path, grid, docs)

    out = Path(out_dir) if out_dir is not None else Path("out") / f"{loaded.spec.name}-sweep"
    inputs = [path, loaded.model_path, *loaded.data_paths]
    _prepare(out, inputs)
    folder = out / SCENARIOS
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(grid)))
    workers = 1 if jobs > 1 else None
    tasks = []
    for v, doc in zip(grid, docs, strict=True):
        file = folder / f"{v.name}.yaml"
        _write_yaml(file, doc)
        argv = ["allocate", "run", str(file), "--out", str(out / v.name)]
        argv += ["--workers", str(workers)] if workers else []
        argv += ["--time-limit", f"{time_limit_s:g}"] if time_limit_s else []
        argv += ["--solver", solver] if solver else []
        tasks.append(
            _Task(
                v.index,
                str(file),
                str(out / v.name),
                workers,
                time_limit_s,
                solver,
                shlex.join(argv),
            )
        )

    by_index = {v.index: v for v in grid}
    results: dict[int, VariantResult] = {}

    def collect(outcome: _Outcome) -> None:
        if outcome.problems:
            raise InputError(list(outcome.problems))
        result = VariantResult(
            variant=by_index[outcome.index],
            status=outcome.status,
            budget_wan=outcome.budget_wan,
            metrics=outcome.metrics,
            message=outcome.message,
            seconds=outcome.seconds,
        )
        results[outcome.index] = result
        if on_done is not None:
            on_done(result, len(results), len(grid))

    if jobs == 1:
        for task in tasks:
            collect(_run_variant(task))
    else:
        _run_parallel(tasks, jobs, collect)

    ordered = tuple(results[v.index] for v in grid)
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
        jobs=jobs,
        seconds=time.perf_counter() - start,
    )


def _run_parallel(tasks: list[_Task], jobs: int, collect: Callable[[_Outcome], None]) -> None:
    """Run the tasks in ``jobs`` fresh processes, passing each outcome on as it comes.

    The processes are spawned, not forked: a fork copies the parent's threads' locks (the
    progress display's, the solver's) in whatever state they are.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: set[Future[_Outcome]] = {pool.submit(_run_variant, t) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: f.result().index):
                    collect(future.result())
        except BaseException:
            # Bad data or Ctrl-C: the variants not started are dropped, not run.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _check_variants(path: Path, grid: list[Variant], docs: list[dict[str, Any]]) -> None:
    """Validate every variant as a scenario file, naming the variant in each problem."""
    problems: list[Problem] = []
    models: dict[Path, PolicyModel] = {}
    with tempfile.TemporaryDirectory(prefix="allocate-sweep-") as tmp:
        for v, doc in zip(grid, docs, strict=True):
            file = Path(tmp) / f"{v.name}.yaml"
            _write_yaml(file, doc)
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


def _prepare(out: Path, inputs: Sequence[Path]) -> None:
    """Make ``out`` ready: absent, empty, or an earlier sweep, which is removed.

    Raises
    ------
    InputError
        When ``out`` is a file, holds an input file, or holds anything an earlier sweep does
        not (its variant folders, ``scenarios/``, ``sweep.csv``, ``sweep.svg``), or holds
        run folders without ``sweep.csv`` or ``scenarios/``.
    """
    where = str(out)
    if out.exists() and not out.is_dir():
        raise InputError([Problem(where, "a folder for the sweep", "a file")])
    real = out.resolve()
    for p in inputs:
        folder = p.resolve().parent
        if folder == real or real in folder.parents:
            raise InputError(
                [
                    Problem(
                        where,
                        "a sweep folder apart from the inputs (it is replaced on every sweep)",
                        f"it holds the input file {p}",
                    )
                ]
            )
    if not out.is_dir():
        return
    entries = sorted(out.iterdir())
    if not entries:
        return
    foreign = [e.name for e in entries if not _sweep_entry(e)]
    # sweep.csv marks a finished sweep, scenarios/ one that was interrupted; without either,
    # a folder of run folders (out/ itself) is not a sweep to delete.
    marked = (out / SWEEP_CSV).is_file() or (out / SCENARIOS).is_dir()
    if foreign or not marked:
        raise InputError(
            [
                Problem(
                    where,
                    "an empty folder or an earlier sweep (with sweep.csv or scenarios/), "
                    "which is replaced",
                    f"other content: {', '.join(foreign or [e.name for e in entries])[:200]}",
                )
            ]
        )
    for e in entries:
        if e.is_dir():
            shutil.rmtree(e)
        else:
            e.unlink()


def _sweep_entry(entry: Path) -> bool:
    """Whether an entry of a folder is part of an earlier sweep."""
    if entry.name in (SWEEP_CSV, SWEEP_SVG) and entry.is_file():
        return True
    if not entry.is_dir() or entry.is_symlink():
        return False
    names = [e.name for e in entry.iterdir()]
    if entry.name == SCENARIOS:
        return all(n.endswith(".yaml") for n in names)
    # A run's output folder, or what an interrupted run left (.<name>.partial-…, .old-…).
    return set(names) <= set(OUTPUT_FILES) and (
        RESULT in names or entry.name.startswith(".") or not names
    )


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
    ("coverage", "coverage\n(share of eligible\nrecipients funded)"),
    ("mean_ratio", "mean award ratio\n(award / claim)"),
    ("gini_awards", "Gini of awards\n(per recipient)"),
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
            ax.set_ylabel(ylabel)
            ax.grid(linewidth=0.4, alpha=0.5)
        if categorical:
            axes[-1].set_xticks(range(len(categories)), categories)
        axes[-1].set_xlabel(f"budget_wan ({WAN_UNIT})" if x_key == "budget_wan" else x_key)
        missing = int((~allocated).sum())
        note = f" ({missing} without an allocation, not drawn)" if missing else ""
        fig.suptitle(f"{title}{note}" if title else f"Sweep{note}")
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
    "MAX_VARIANTS",
    "ROW_COLUMNS",
    "SWEEP_CSV",
    "SWEEP_SVG",
    "SweepResult",
    "Variant",
    "VariantResult",
    "Vary",
    "key_path",
    "parse_values",
    "parse_vary",
    "run_sweep",
    "sweep_csv_bytes",
    "sweep_figure",
    "sweep_table",
    "value_text",
    "variant_document",
    "variants",
]
