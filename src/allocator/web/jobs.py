"""One solve at a time: the queue of runs and sweeps, each solved in a process of its own.

A job waits in a queue; one worker thread takes them in order. The solve itself runs in a
fresh (spawned) process that calls the library's pipeline and reports each phase and each
incumbent back through a queue, so that the page can show them and a cancel can interrupt it
as Ctrl-C does the command line: the pipeline stops the solver and writes nothing. The process
writes into the workspace's ``.work/<job>/``; only a complete run is moved to ``runs/<job>``
(one rename) and recorded in the ledger, exactly as ``allocate run`` records it. A cancelled,
failed or crashed job's work folder is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import queue
import secrets
import shlex
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from allocator.core.i18n import language, set_language
from allocator.web import library
from allocator.web.workspace import Workspace

State = Literal["queued", "running", "done", "failed", "cancelled"]
Kind = Literal["run", "sweep"]

# A cancelled process has this long to stop on its own before it is terminated.
_GRACE_S = 20.0
# Incumbents arrive as often as the search improves; a page polls twice a second.
_REPORT_EVERY_S = 0.25


@dataclass
class Job:
    """One queued or finished run or sweep, as the progress page shows it."""

    id: str
    kind: Kind
    scenario: Path
    time_limit_s: float | None = None
    budgets: str = ""
    # The language of the reader who queued it: the run's workbook and report speak it.
    lang: str = "zh"
    state: State = "queued"
    phases: list[tuple[str, float]] = field(default_factory=list)
    solver_phase: str = ""
    incumbent: float | None = None
    bound: float | None = None
    message: str = ""
    run_id: str = ""
    pid: int | None = None
    created: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def gap(self) -> float | None:
        """Relative distance between the incumbent and the bound, as the CLI prints it."""
        if self.incumbent is None or self.bound is None:
            return None
        return abs(self.bound - self.incumbent) / max(1.0, abs(self.bound))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def to_dict(self, position: int | None) -> dict[str, Any]:
        """The progress page's JSON."""
        return {
            "id": self.id,
            "kind": self.kind,
            "scenario": self.scenario.stem,
            "state": self.state,
            "position": position,
            "phases": [[name, round(sec, 2)] for name, sec in self.phases],
            "solver_phase": self.solver_phase,
            "incumbent": self.incumbent,
            "bound": self.bound,
            "gap": self.gap,
            "message": self.message,
            "run_id": self.run_id,
        }


def _child(
    kind: str,
    scenario: str,
    out: str,
    time_limit_s: float | None,
    budgets: str,
    command: str,
    reports: Any,
    lang: str = "zh",
) -> None:
    """The solving process: run, report, and say how it ended (spawned; arguments pickle)."""
    set_language(lang)
    last_at, last_phase = [0.0], [""]
    pending: list[Any] = []

    def on_phase(name: str, seconds: float) -> None:
        if pending:
            reports.put(pending.pop())
        reports.put(("phase", name, seconds))

    def on_progress(phase: str, incumbent: float, bound: float) -> None:
        now = time.monotonic()
        message = ("progress", phase, float(incumbent), float(bound))
        pending.clear()
        if phase != last_phase[0] or now - last_at[0] >= _REPORT_EVERY_S:
            reports.put(message)
            last_at[0], last_phase[0] = now, phase
        else:
            pending.append(message)

    try:
        if kind == "run":
            library.run_scenario(
                Path(scenario),
                Path(out),
                time_limit_s=time_limit_s,
                command=command,
                on_phase=on_phase,
                on_progress=on_progress,
            )
        else:
            library.run_budget_sweep(Path(scenario), Path(out), budgets)
        reports.put(("done",))
    except library.AllocatorError as exc:
        reports.put(("error", exc.exit_code, str(exc)))
    except KeyboardInterrupt:
        reports.put(("error", 130, "interrupted; nothing written"))


class JobQueue:
    """The server's queue of jobs and the worker that runs them one at a time.

    Parameters
    ----------
    workspace:
        Where jobs write.
    ledger:
        The ledger URL every finished run is recorded in.
    on_finished:
        Called with a finished run's folder before its job is marked done (the result page
        reads its tables then, so that its first visit is not the one that waits).
    """

    def __init__(
        self,
        workspace: Workspace,
        ledger: str,
        on_finished: Callable[[Path], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.ledger = ledger
        self._on_finished = on_finished
        self._jobs: dict[str, Job] = {}
        self._waiting: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._context = multiprocessing.get_context("spawn")

    # -- the pages' side ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="allocate-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Cancel every job and stop the worker, waiting for a running solve to end."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        self._waiting.put(None)
        if self._thread is not None:
            self._thread.join(timeout=_GRACE_S + 10)
            self._thread = None

    def submit(
        self, kind: Kind, scenario: Path, *, time_limit_s: float | None = None, budgets: str = ""
    ) -> Job:
        """Queue a run (or a budget sweep) of a saved scenario, in the reader's language."""
        job = Job(
            secrets.token_hex(8),
            kind,
            scenario,
            time_limit_s=time_limit_s,
            budgets=budgets,
            lang=language(),
        )
        with self._lock:
            self._jobs[job.id] = job
        self._waiting.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every job of this server, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def position(self, job: Job) -> int | None:
        """1 for the next job to run, 2 after it ...; None unless the job is waiting."""
        if job.state != "queued":
            return None
        with self._lock:
            waiting = sorted(
                (j for j in self._jobs.values() if j.state == "queued"), key=lambda j: j.created
            )
        return next((n for n, j in enumerate(waiting, 1) if j.id == job.id), None)

    def cancel(self, job: Job) -> None:
        """Ask a job to stop: a queued job never starts, a running one is interrupted."""
        job.cancel.set()

    # -- the worker's side ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            if job.cancel.is_set():
                job.state, job.message = "cancelled", "cancelled before it started"
                continue
            try:
                self._run(job)
            except Exception as exc:  # the worker must outlive any one job
                job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
                shutil.rmtree(self.workspace.work_dir(job.id), ignore_errors=True)

    def _command(self, job: Job, final: Path) -> list[str]:
        allocate = ["allocate", "--lang", "en"] if job.lang == "en" else ["allocate"]
        if job.kind == "sweep":
            argv = [*allocate, "sweep", str(job.scenario), "--vary", f"budget_wan={job.budgets}"]
            return [*argv, "--jobs", "1", "--out", str(final)]
        argv = [*allocate, "run", str(job.scenario), "--out", str(final)]
        if job.time_limit_s is not None:
            argv += ["--time-limit", f"{job.time_limit_s:g}"]
        return argv

    def _run(self, job: Job) -> None:
        work = self.workspace.work_dir(job.id)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        out = work / "out"
        final = (self.workspace.runs if job.kind == "run" else self.workspace.sweeps) / job.id
        argv = self._command(job, final)
        reports = self._context.Queue()
        process = self._context.Process(
            target=_child,
            args=(
                job.kind,
                str(job.scenario),
                str(out),
                job.time_limit_s,
                job.budgets,
                shlex.join(argv),
                reports,
                job.lang,
            ),
            name=f"allocate-{job.kind}-{job.id}",
            daemon=True,
        )
        started = dt.datetime.now(dt.UTC)
        job.state = "running"
        process.start()
        job.pid = process.pid
        ending = self._watch(job, process, reports)
        process.join(timeout=_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
        # The job says how it ended only once its work folder is gone.
        state: State
        try:
            if ending is not None and ending[0] == "done" and not job.cancel.is_set():
                self._finish(job, out, final, started, argv)
                state, message = "done", ""
            elif job.cancel.is_set():
                state, message = "cancelled", "cancelled; nothing written"
            elif ending is not None and ending[0] == "error":
                state, message = "failed", str(ending[2])
            else:
                code = process.exitcode
                state = "failed"
                message = f"the solving process ended unexpectedly (exit code {code})"
        finally:
            shutil.rmtree(work, ignore_errors=True)
            reports.close()
        job.state, job.message = state, message

    def _watch(self, job: Job, process: Any, reports: Any) -> tuple[Any, ...] | None:
        """Pass reports on to ``job`` until the process says how it ended or dies."""
        interrupted_at: float | None = None
        while True:
            if job.cancel.is_set() and interrupted_at is None and process.pid is not None:
                interrupted_at = time.monotonic()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
            if interrupted_at is not None and time.monotonic() - interrupted_at > _GRACE_S:
                process.terminate()
                return None
            try:
                report = reports.get(timeout=0.1)
            except queue.Empty:
                if not process.is_alive():
                    # A last report may still be in the pipe after the process ended.
                    try:
                        report = reports.get(timeout=0.5)
                    except queue.Empty:
                        return None
                else:
                    continue
            if report[0] == "phase":
                job.phases = [*job.phases, (str(report[1]), float(report[2]))]
            elif report[0] == "progress":
                job.solver_phase, job.incumbent, job.bound = report[1], report[2], report[3]
            else:
                return tuple(report)

    def _finish(
        self, job: Job, out: Path, final: Path, started: dt.datetime, argv: list[str]
    ) -> None:
        """Move a complete job's folder into place and record its runs in the ledger."""
        os.replace(out, final)
        finished = dt.datetime.now(dt.UTC)
        try:
            if job.kind == "run":
                entry = library.record_run(
                    self.ledger,
                    final,
                    scenario=job.scenario,
                    started_at=started,
                    finished_at=finished,
                    command_line=argv,
                )
                job.run_id = entry.run_id
                if self._on_finished is not None:
                    self._on_finished(final)
                return
            for name, status in library.sweep_variants(final):
                if status in ("OPTIMAL", "FEASIBLE"):
                    library.record_run(
                        self.ledger,
                        final / name,
                        scenario=library.sweep_variant_scenario(final, name),
                        started_at=started,
                        finished_at=finished,
                        command_line=argv,
                    )
            job.run_id = job.id
        except BaseException:
            # A folder the ledger does not know would fail every audit: none is left.
            shutil.rmtree(final, ignore_errors=True)
            raise


__all__ = ["Job", "JobQueue"]
