"""The pipeline of one scenario: load, claims, build, solve, write.

:func:`run_scenario` is what ``allocate run SCENARIO.yaml`` calls. Each phase is timed; the
timings go to ``result.json`` under ``timings`` (the one part of the outputs that differs
between two runs of the same inputs) and, through ``on_phase``, to the progress display.

Bad input raises :class:`~allocator.core.errors.InputError` before anything is written. When the
scenario is infeasible, or the solver finds no allocation within its time limit, the output
folder is still written (``result.json`` alone, saying why) and then
:class:`~allocator.core.errors.InfeasibleError` (exit code 3) or
:class:`~allocator.core.errors.NoSolutionError` (exit code 4) is raised. Ctrl-C raises
:class:`~allocator.core.errors.RunInterruptedError` (exit code 130) with nothing written: the
solver stops at once and the output folder is replaced in one rename (docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from allocator import __version__
from allocator.core.errors import (
    InfeasibleError,
    InputError,
    InputProblem,
    NoSolutionError,
    RunInterruptedError,
)
from allocator.core.files import sha256_bytes, sha256_file
from allocator.core.i18n import _
from allocator.inputs.choices import Engine
from allocator.inputs.data import EnterpriseData, load_enterprises
from allocator.inputs.plausible import incomplete_district_sums
from allocator.inputs.scenario import (
    LoadedScenario,
    load_scenario,
    solver_override,
    time_limit_override,
)
from allocator.model.build import build, check_limits
from allocator.model.problem import Allocation, ProgressFn, SolverSettings, Status
from allocator.outputs.folder import check_out_dir, output_folder, write_outputs
from allocator.outputs.ledger import check_ledger, is_recorded, record_run, safe_url
from allocator.outputs.ledger_entry import RunEntry
from allocator.outputs.names import AWARDS, RESULT
from allocator.outputs.recovery import recover
from allocator.outputs.result import InputFile, RunResult, json_bytes, result_document
from allocator.policy.bind import Budget, check_against_model
from allocator.policy.claims import Claims, evaluate
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel
from allocator.policy.provincial import refuse_pending
from allocator.solve.diagnose import Diagnosis, diagnose
from allocator.solve.rules import allocate

PhaseCallback = Callable[[str, float], None]
NoticeCallback = Callable[[str], None]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def versions() -> dict[str, str]:
    """Versions of allocate, Python and the libraries that shape the result."""
    out = {"allocate": __version__, "python": platform.python_version()}
    for dist in ("ortools", "highspy", "numpy", "pandas", "pydantic"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed deps
            out[dist] = "unknown"
    return out


def _nothing_written_when_interrupted(run: Callable[_P, _T]) -> Callable[_P, _T]:
    """Turn Ctrl-C during ``run`` into :class:`~allocator.core.errors.RunInterruptedError`.

    ``write_outputs`` is the last thing a run does, and it leaves nothing behind when
    interrupted (the renames undo themselves), so a run Ctrl-C stops has written nothing.
    """

    @functools.wraps(run)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return run(*args, **kwargs)
        except KeyboardInterrupt:
            raise RunInterruptedError("interrupted; nothing written") from None

    return wrapper


def _district_warnings(model: PolicyModel, data: EnterpriseData) -> list[str]:
    """Warnings for district-level items whose sums miss some of a district's firms."""
    out: list[str] = []
    for clause, item in model.items():
        if item.recipient == "district":
            sums = [name for name, how in item.aggregate.items() if how == "sum"]
            out += incomplete_district_sums(data, clause.label, sums)
    return out


class _PhaseClock:
    """Times the phases of a run: each call ends one, records its seconds and reports them."""

    def __init__(self, timings: dict[str, Any], on_phase: PhaseCallback | None) -> None:
        self.timings, self.on_phase = timings, on_phase
        self.restart()

    def restart(self) -> None:
        self.clock = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = now - self.clock
        self.clock = now
        if self.on_phase is not None:
            self.on_phase(phase, self.timings[phase])


@dataclass(frozen=True)
class ComputedRun:
    """A run computed but not written: the result, and for INFEASIBLE the diagnosis."""

    result: RunResult
    diagnosis: Diagnosis | None


def compute_run(
    loaded: LoadedScenario,
    model: PolicyModel,
    data: EnterpriseData,
    *,
    budget: Budget,
    inputs: list[InputFile],
    claims: Claims | None = None,
    time_limit_s: float | None = None,
    workers: int | None = None,
    engine: Engine | None = None,
    command: str = "",
    timings: dict[str, Any] | None = None,
    on_phase: PhaseCallback | None = None,
    on_progress: ProgressFn | None = None,
    warnings: Sequence[str] = (),
) -> ComputedRun:
    """Claims, build and solve of a loaded scenario, without writing anything.

    :func:`run_scenario` is this between loading the files and writing the folder; a batch of
    variants calls it with inputs loaded once (:mod:`allocator.pipeline.batch`).

    Parameters
    ----------
    loaded, model, data:
        The scenario (checked against the model), the model and the enterprise data.
    budget:
        The fund, as :func:`~allocator.policy.bind.check_against_model` settles it.
    inputs:
        The input files with their hashes, for the provenance stamp.
    claims:
        The claims of ``data`` under the scenario's overrides, when already evaluated.
    time_limit_s, workers, engine:
        Override the scenario's solver settings.
    command, on_progress:
        As for :func:`run_scenario`.
    timings, on_phase:
        Seconds per phase are added to ``timings`` and passed to ``on_phase`` as each ends.
    warnings:
        What the data gave warnings of, for ``result.json`` and the report.
    """
    spec = loaded.spec
    timings = {} if timings is None else timings
    done = _PhaseClock(timings, on_phase)

    if claims is None:
        claims = evaluate(model, data, spec.overrides)
    if spec.provincial_without_amount == "refuse":
        refuse_pending(model, claims.table, data)
    done("claims")

    built = build(claims, spec, model, budget=budget, enterprises=data.frame)
    check_limits(
        built, spec.fairness.rule, scenario=loaded.path, model=loaded.model_path, data=data
    )
    done("build")

    settings = SolverSettings(
        time_limit_s=spec.solver.time_limit_s if time_limit_s is None else time_limit_s,
        workers=spec.solver.workers if workers is None else workers,
        seed=spec.solver.seed,
        solver=spec.solver.solver if engine is None else engine,
    )
    allocation: Allocation | None = None
    message = ""
    if built.infeasible:
        status = Status.INFEASIBLE
        message = "; ".join(built.infeasible)
    else:
        try:
            allocation = allocate(built.problem, spec.fairness.rule, settings, progress=on_progress)
            status = allocation.status
        except InfeasibleError as exc:
            status, message = Status.INFEASIBLE, str(exc)
        except NoSolutionError as exc:
            status, message = Status.UNKNOWN, str(exc)
        if allocation is not None:
            timings["solve_phases"] = [[name, sec] for name, sec in allocation.phases]
        if status is Status.INFEASIBLE and not message:
            message = "the constraints of the scenario cannot all be met"
            conflict = allocation.details.get("conflict") if allocation is not None else None
            if isinstance(conflict, list | tuple) and conflict:
                message += f"; conflicting rows: {', '.join(map(str, conflict))}"
        if status is Status.UNKNOWN and not message:
            message = f"no feasible allocation found within {settings.time_limit_s:g} s"
    diagnosis: Diagnosis | None = None
    if status is Status.INFEASIBLE:
        details = allocation.details if allocation is not None else None
        diagnosis = diagnose(built, spec, settings, solver_details=details)
    done("solve")

    result = RunResult(
        scenario=loaded,
        model=model,
        build=built,
        allocation=allocation if status not in (Status.INFEASIBLE, Status.UNKNOWN) else None,
        status=status,
        message=message,
        inputs=inputs,
        command=command,
        timings=timings,
        versions=versions(),
        solver_details=dict(allocation.details) if allocation is not None else {},
        diagnosis=diagnosis.to_json() if diagnosis is not None else None,
        warnings=list(warnings),
    )
    return ComputedRun(result, diagnosis)


@_nothing_written_when_interrupted
def run_scenario(
    path: str | Path,
    *,
    out_dir: Path | None = None,
    time_limit_s: float | None = None,
    workers: int | None = None,
    solver: Engine | str | None = None,
    command: str = "",
    on_phase: PhaseCallback | None = None,
    on_progress: ProgressFn | None = None,
    ledger: str | None = None,
    replace: bool = False,
    on_notice: NoticeCallback | None = None,
    strict: bool = False,
) -> tuple[RunResult, Path]:
    """Run one scenario end to end and write its output folder.

    Parameters
    ----------
    path:
        The scenario file.
    out_dir:
        Output folder; overrides the scenario's ``output_dir`` and the default out/<name>.
    time_limit_s, workers, solver:
        Override the scenario's solver settings (``solver``: ``cpsat`` or ``highs``).
    command:
        The command line, stamped into ``result.json``.
    on_phase:
        Called with each phase's name and seconds as it ends.
    on_progress:
        Passed to the fairness rule as its ``progress`` callback (incumbents, bounds, gaps).
    ledger:
        The ledger URL (:func:`allocator.outputs.ledger.ledger_url`). It is checked before the
        solve and the run recorded in it once the new folder is in place, before the earlier
        one is deleted; a run that cannot be recorded is undone. None: no ledger.
    strict:
        Refuse the run when the data gives warnings (implausible amounts, incomplete
        district figures) instead of recording them in ``result.json``.
    replace:
        Let an infeasible or unsolved run replace an earlier allocation in the folder; without
        it the earlier allocation is kept and the run recorded without a folder.
    on_notice:
        Called with each repair made to the leftovers of an earlier, killed run.

    Returns
    -------
    tuple of RunResult and Path
        The result and the output folder written.

    Raises
    ------
    InputError
        For a bad scenario, model, data file, output folder or ledger; nothing is written.
    InfeasibleError, NoSolutionError
        After writing ``result.json``, when there is no allocation to report.
    """
    engine = solver_override(solver)
    time_limit_s = time_limit_override(time_limit_s)
    started = dt.datetime.now(dt.UTC)
    timings: dict[str, Any] = {}
    done = _PhaseClock(timings, on_phase)

    loaded = load_scenario(path)
    spec = loaded.spec
    model = load_model(loaded.model_path)
    budget = check_against_model(loaded, model)
    out = output_folder(loaded.out_dir(out_dir))
    inputs = [
        InputFile("scenario", loaded.path, str(path), loaded.sha256),
        InputFile("model", loaded.model_path, str(spec.model), sha256_file(loaded.model_path)),
    ]
    # Refuse a bad ledger or output folder now rather than after the solve.
    if ledger is not None:
        check_ledger(ledger)
    url = ledger
    repairs = recover(out, lambda folder: url is None or is_recorded(url, folder))
    for line in repairs:
        if on_notice is not None:
            on_notice(line)
    check_out_dir(out, [*(f.path for f in inputs), *loaded.data_paths])
    data = load_enterprises(*loaded.data_paths)
    # The data files' hashes are those of the bytes loaded, not of a second reading.
    inputs += [
        InputFile("data", p, str(shown), digest)
        for p, shown, digest in zip(loaded.data_paths, spec.data, data.sha256, strict=True)
    ]
    if len(data) == 0:
        # A header row alone is a valid empty table for `allocate validate`, but an allocation
        # among no firms would publish a fund as spent on nobody.
        raise InputError(
            [
                InputProblem(
                    str(p), _("at least one firm: a row under the header row"), _("no firm rows")
                )
                for p in loaded.data_paths
            ]
        )
    warnings = [*data.warnings, *_district_warnings(model, data)]
    if strict and warnings:
        raise InputError(
            [InputProblem("--strict", _("data without warnings"), text) for text in warnings]
        )
    done("load")

    computed = compute_run(
        loaded,
        model,
        data,
        budget=budget,
        inputs=inputs,
        time_limit_s=time_limit_s,
        workers=workers,
        engine=engine,
        command=command,
        timings=timings,
        on_phase=on_phase,
        on_progress=on_progress,
        warnings=warnings,
    )
    done.restart()
    result, diagnosis = computed.result, computed.diagnosis
    result.ledger = safe_url(ledger) if ledger is not None else None
    status, message = result.status, result.message
    failed = status in (Status.INFEASIBLE, Status.UNKNOWN)
    # An earlier allocation is not replaced by a run that has none, unless asked to.
    keep = failed and not replace and (out / AWARDS).is_file()

    def commit(folder: Path) -> None:
        if ledger is None:
            return
        finished = dt.datetime.now(dt.UTC)
        if keep:
            doc = result_document(result, None, None)
            entry = RunEntry.from_result(
                doc,
                file=f"{out}/{RESULT}",
                out_dir=folder,
                outputs={},
                result_sha256=sha256_bytes(json_bytes(doc)),
                scenario_path=path,
                started_at=started,
                finished_at=finished,
                command_line=command,
            )
        else:
            entry = RunEntry.from_output_dir(
                folder,
                scenario_path=path,
                started_at=started,
                finished_at=finished,
                command_line=command,
            )
        record_run(ledger, entry)

    write_outputs(out, result, commit=commit, keep=keep)
    done("write")

    if status is Status.INFEASIBLE:
        lines = "\n".join(diagnosis.lines()) if diagnosis is not None else ""
        if keep:
            raise InfeasibleError(
                f"{loaded.path}: infeasible: {message} (the earlier allocation in {out} "
                f"is kept: use --replace to replace it with this run's "
                f"result.json)\n{lines}".rstrip()
            )
        raise InfeasibleError(
            f"{loaded.path}: infeasible: {message} (wrote {out}/result.json)\n{lines}".rstrip()
        )
    if status is Status.UNKNOWN:
        if keep:
            raise NoSolutionError(
                f"{loaded.path}: no solution: {message} (the earlier allocation in {out} "
                f"is kept: use --replace to replace it with this run's "
                f"result.json)"
            )
        raise NoSolutionError(f"{loaded.path}: no solution: {message} (wrote {out}/result.json)")
    return result, out


__all__ = ["ComputedRun", "RunResult", "compute_run", "run_scenario", "versions"]
