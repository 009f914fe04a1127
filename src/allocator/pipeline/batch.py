"""Many variants of one scenario from inputs loaded once.

:class:`SharedInputs` holds what every variant reads the same: the policy model, the
enterprise data and the claims under the scenario's own overrides. A backend
(:mod:`allocator.pipeline.backends`) sends it once to each process or into Ray's object store;
each variant then evaluates claims again only when its overrides differ, and builds and solves
its own problem with one solver worker, so that its result does not depend on how many
variants run at once.

- :func:`run_sweep_variant` writes a variant's whole run folder (docs/outputs.md) into a
  temporary folder and returns its files, which the sweep writes where it belongs: the worker
  may be another machine.
- :func:`run_sensitivity_variant` writes nothing: it returns the run's figures and each
  recipient's total award.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.analysis.compare_runs import load_runs
from allocator.analysis.metrics import RunMetrics, recipient_totals, run_metrics
from allocator.inputs.choices import Engine
from allocator.inputs.data import EnterpriseData, load_enterprises
from allocator.inputs.scenario import LoadedScenario
from allocator.model.problem import Status
from allocator.outputs.folder import write_outputs
from allocator.outputs.result import InputFile, RunResult
from allocator.outputs.tables import award_vector
from allocator.pipeline.run import compute_run
from allocator.policy.bind import Budget
from allocator.policy.claims import Claims, evaluate
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

# Each variant's solver runs on one thread: the variants are the parallelism, and a result
# must not depend on how many run at once.
SOLVER_WORKERS = 1
ALLOCATED = (Status.OPTIMAL.value, Status.FEASIBLE.value)


@dataclass(frozen=True)
class SharedInputs:
    """What every variant of a scenario reads the same, loaded once.

    Attributes
    ----------
    model_path, model:
        The policy model file and the model.
    data_paths, data:
        The enterprise data files and their content.
    overrides, claims:
        The scenario's own overrides and the claims under them.
    """

    model_path: Path
    model: PolicyModel
    data_paths: tuple[Path, ...]
    data: EnterpriseData
    overrides: Mapping[str, object]
    claims: Claims


def load_shared(loaded: LoadedScenario, model: PolicyModel) -> SharedInputs:
    """Load the data of a scenario and evaluate its claims, once for every variant."""
    data = load_enterprises(*loaded.data_paths)
    overrides = dict(loaded.spec.overrides)
    return SharedInputs(
        model_path=loaded.model_path,
        model=model,
        data_paths=loaded.data_paths,
        data=data,
        overrides=overrides,
        claims=evaluate(model, data, overrides),
    )


@dataclass(frozen=True)
class RunSettings:
    """Solver settings a batch overrides in every variant (None: the scenario's)."""

    time_limit_s: float | None = None
    engine: Engine | None = None


def _inputs_of(shared: SharedInputs, loaded: LoadedScenario) -> tuple[PolicyModel, EnterpriseData]:
    """The model and data of a variant: the shared ones unless the variant names others."""
    model = shared.model
    if loaded.model_path != shared.model_path:
        model = load_model(loaded.model_path)
    data = shared.data
    if loaded.data_paths != shared.data_paths:
        data = load_enterprises(*loaded.data_paths)
    return model, data


def _claims_of(
    shared: SharedInputs, loaded: LoadedScenario, model: PolicyModel, data: EnterpriseData
) -> Claims | None:
    """The shared claims when the variant changes nothing they depend on, else None."""
    same = model is shared.model and data is shared.data
    return shared.claims if same and dict(loaded.spec.overrides) == shared.overrides else None


def _compute(
    shared: SharedInputs,
    loaded: LoadedScenario,
    budget: Budget,
    settings: RunSettings,
    inputs: Sequence[InputFile] = (),
    command: str = "",
) -> RunResult:
    """A variant's run from the shared inputs, its solver on one worker."""
    model, data = _inputs_of(shared, loaded)
    return compute_run(
        loaded,
        model,
        data,
        budget=budget,
        inputs=list(inputs),
        claims=_claims_of(shared, loaded, model, data),
        time_limit_s=settings.time_limit_s,
        workers=SOLVER_WORKERS,
        engine=settings.engine,
        command=command,
    ).result


# --------------------------------------------------------------------------------------------
# Sweep


@dataclass(frozen=True)
class SweepTask:
    """One sweep variant: its scenario (as written in ``scenarios/``) and provenance."""

    loaded: LoadedScenario
    budget: Budget
    inputs: tuple[InputFile, ...]
    settings: RunSettings
    command: str


@dataclass(frozen=True)
class SweepOutcome:
    """A sweep variant's figures and run folder (file name to bytes)."""

    status: str
    budget_wan: int
    metrics: RunMetrics | None
    message: str
    files: dict[str, bytes]
    seconds: float


def run_sweep_variant(shared: SharedInputs, task: SweepTask) -> SweepOutcome:
    """Run one sweep variant and return its run folder's files and figures."""
    start = time.perf_counter()
    result = _compute(shared, task.loaded, task.budget, task.settings, task.inputs, task.command)
    with tempfile.TemporaryDirectory(prefix="allocate-variant-") as tmp:
        folder = Path(tmp) / "run"
        # The copies of the inputs are made where the folder is put (write_run_folder), not
        # shipped back from the worker as bytes.
        write_outputs(folder, result, copies=False)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
        metrics = None
        if result.status.value in ALLOCATED:
            (run,) = load_runs([folder])
            metrics = run_metrics(run.awards, task.budget.value_wan)
    return SweepOutcome(
        status=result.status.value,
        budget_wan=task.budget.value_wan,
        metrics=metrics,
        message=result.message,
        files=files,
        seconds=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------------------------
# Sensitivity


@dataclass(frozen=True)
class SensitivityTask:
    """One sensitivity variant: the scenario with its values set, checked against the model."""

    loaded: LoadedScenario
    budget: Budget
    settings: RunSettings


@dataclass(frozen=True)
class SensitivityOutcome:
    """A sensitivity variant's figures and each eligible recipient's total award.

    ``awards`` has ``recipient_id``, ``recipient_name``, ``claim_wan`` and ``award_wan`` (whole
    万元), one row per recipient with a claim, sorted by id; empty without an allocation.
    """

    status: str
    budget_wan: int
    metrics: RunMetrics | None
    message: str
    awards: pd.DataFrame
    seconds: float


def run_sensitivity_variant(shared: SharedInputs, task: SensitivityTask) -> SensitivityOutcome:
    """Run one sensitivity variant in memory: figures and awards per recipient."""
    start = time.perf_counter()
    result = _compute(shared, task.loaded, task.budget, task.settings)
    status = result.status.value
    metrics = None
    totals = pd.DataFrame(columns=["recipient_id", "recipient_name", "claim_wan", "award_wan"])
    if status in ALLOCATED and result.allocation is not None:
        rows = result.build.rows
        awards = pd.DataFrame(
            {
                "recipient_id": rows["recipient_id"].to_numpy(),
                "recipient_name": rows["recipient_name"].to_numpy(),
                "claim_wan": rows["claim_wan"].to_numpy(dtype=np.int64),
                "award_wan": award_vector(result.build, result.allocation),
            }
        )
        metrics = run_metrics(awards, task.budget.value_wan)
        totals = recipient_totals(awards)
        totals = totals[totals["claim_wan"] > 0].reset_index(drop=True)
    return SensitivityOutcome(
        status=status,
        budget_wan=task.budget.value_wan,
        metrics=metrics,
        message=result.message,
        awards=totals,
        seconds=time.perf_counter() - start,
    )


def with_spec(loaded: LoadedScenario, **changes: object) -> LoadedScenario:
    """A loaded scenario with some of its values changed (validated as the file would be)."""
    spec = type(loaded.spec).model_validate({**loaded.spec.model_dump(), **changes})
    return replace(loaded, spec=spec)


__all__ = [
    "ALLOCATED",
    "SOLVER_WORKERS",
    "RunSettings",
    "SensitivityOutcome",
    "SensitivityTask",
    "SharedInputs",
    "SweepOutcome",
    "SweepTask",
    "load_shared",
    "run_sensitivity_variant",
    "run_sweep_variant",
    "with_spec",
]
