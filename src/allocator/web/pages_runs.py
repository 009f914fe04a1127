"""首页, 运行 and 结果: the ledger's runs, a job's progress, and a finished run's results."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from allocator.core import i18n
from allocator.web import library
from allocator.web.app import render
from allocator.web.jobs import Job, JobQueue
from allocator.web.pages_new import saved_scenarios
from allocator.web.security import post_route

PAGE_SIZE = 50
_SHORT_ID = 12


def _ledger(request: Request) -> str:
    ledger: str = request.app.state.config.ledger
    return ledger


async def home(request: Request) -> Response:
    """The ledger's runs, newest first, filtered by text, status and rule."""
    runs = await run_in_threadpool(library.list_runs, _ledger(request))
    q = request.query_params.get("q", "").strip()
    status = request.query_params.get("status", "")
    rule = request.query_params.get("rule", "")
    shown = [
        r
        for r in runs
        if (not q or q.lower() in f"{r.scenario_name} {r.user} {r.run_id}".lower())
        and (not status or r.status == status)
        and (not rule or r.rule == rule)
    ]
    jobs: JobQueue = request.app.state.jobs
    return render(
        request,
        "home.html",
        runs=shown,
        total=len(runs),
        q=q,
        status=status,
        rule=rule,
        statuses=sorted({r.status for r in runs}),
        rules=sorted({r.rule for r in runs if r.rule}),
        jobs=jobs.jobs()[:10],
        scenarios=saved_scenarios(request.app.state.workspace),
    )


def _job(request: Request) -> Job:
    jobs: JobQueue = request.app.state.jobs
    job = jobs.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "job")
    return job


async def job_page(request: Request) -> Response:
    """A queued or running job: phases, incumbent, bound and gap, updated as they come."""
    job = _job(request)
    jobs: JobQueue = request.app.state.jobs
    return render(request, "job.html", job=job, position=jobs.position(job))


async def job_state(request: Request) -> Response:
    """The job's progress as JSON, polled by the job page."""
    job = _job(request)
    jobs: JobQueue = request.app.state.jobs
    return JSONResponse(job.to_dict(jobs.position(job)), headers={"cache-control": "no-store"})


async def cancel_job(request: Request, form: FormData) -> Response:
    """Stop a job: a queued one never starts, a running one is interrupted, nothing is kept."""
    job = _job(request)
    jobs: JobQueue = request.app.state.jobs
    jobs.cancel(job)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def find_entry(request: Request, run_id: str) -> Any:
    """The ledger entry whose run id starts with ``run_id`` (at least 12 hex digits)."""
    if len(run_id) < _SHORT_ID or not all(c in "0123456789abcdef" for c in run_id):
        raise HTTPException(404, "run")
    for entry in library.list_runs(_ledger(request)):
        if entry.run_id.startswith(run_id):
            return entry
    raise HTTPException(404, "run")


@dataclass(frozen=True)
class RunTables:
    """What the result page reads from a run's awards.csv: the table and its reason counts."""

    awards: Any
    reasons: list[dict[str, Any]]


@functools.lru_cache(maxsize=4)
def _tables(path: str, stamp: tuple[int, int], lang: str) -> RunTables:
    """Read once per run (keyed by mtime and size) and language, kept for the next page of the
    same run; the reasons are counted in the reader's words."""
    import pandas as pd

    text = {"recipient_id": str, "recipient_name": str, "clause_id": str, "item_key": str}
    frame = pd.read_csv(path, dtype=text, keep_default_na=False)
    return RunTables(frame, library.reason_counts(frame))


def run_tables(folder: Path) -> RunTables:
    """The run's awards table and reasons (cached)."""
    path = folder / library.AWARDS
    stat = path.stat()
    return _tables(str(path), (stat.st_mtime_ns, stat.st_size), i18n.language())


def warm(folder: Path) -> None:
    """Read a finished run's tables ahead of its result page's first visit."""
    if (folder / library.AWARDS).is_file():
        run_tables(folder)


def awards_page(frame: Any, q: str, page: int) -> tuple[list[dict[str, Any]], int, int]:
    """One page of the awards whose firm name or credit code contains ``q``.

    Returns the rows, the number of matching rows and the number of pages.
    """
    if q:
        names = frame["recipient_name"].str.contains(q, regex=False)
        codes = frame["recipient_id"].str.contains(q.upper(), regex=False)
        frame = frame[names | codes]
    matches = len(frame)
    pages = max(1, math.ceil(matches / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = frame.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].to_dict("records")
    return rows, matches, pages


def _binding(folder: Path) -> list[dict[str, Any]]:
    import pandas as pd

    table = pd.read_csv(
        folder / library.CONSTRAINTS, dtype={"name": str, "clause_id": str}, keep_default_na=False
    )
    binding = table[table["binding"].astype(str).str.lower() == "true"]
    columns = ["name", "family", "clause_id", "sense", "lhs", "rhs", "slack"]
    return [
        {str(k): v for k, v in row.items()}
        for row in binding[columns].head(PAGE_SIZE).to_dict("records")
    ]


async def result_page(request: Request) -> Response:
    """A finished run: summary, totals, reasons, constraints, the awards, downloads."""
    entry = await run_in_threadpool(find_entry, request, request.path_params["run"])
    folder = Path(entry.output_dir)
    if not (folder / library.RESULT).is_file():
        raise HTTPException(404, "folder")
    q = request.query_params.get("q", "").strip()
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1

    def load() -> dict[str, Any]:
        doc = json.loads((folder / library.RESULT).read_text(encoding="utf-8"))
        tables = run_tables(folder)
        rows, matches, pages = awards_page(tables.awards, q, page)
        return {
            "doc": doc,
            "rows": rows,
            "matches": matches,
            "pages": pages,
            "page": min(max(page, 1), pages),
            "reasons": tables.reasons[:20],
            "binding": _binding(folder),
        }

    context = await run_in_threadpool(load)
    downloads = [name for name in library.DOWNLOADS if (folder / name).is_file()]
    return render(
        request,
        "result.html",
        entry=entry,
        run=entry.run_id[:_SHORT_ID],
        q=q,
        downloads=downloads,
        **context,
    )


async def download(request: Request) -> Response:
    """One of the run's files; only the names a run writes are served."""
    entry = await run_in_threadpool(find_entry, request, request.path_params["run"])
    name = request.path_params["name"]
    if name not in library.DOWNLOADS:
        raise HTTPException(404, "file")
    path = Path(entry.output_dir) / name
    if not path.is_file():
        raise HTTPException(404, "file")
    disposition = "inline" if name == library.REPORT else "attachment"
    return FileResponse(
        path,
        media_type=library.DOWNLOADS[name],
        filename=f"{entry.scenario_name}-{name}",
        content_disposition_type=disposition,
    )


async def audit_run(request: Request, form: FormData) -> Response:
    """Re-verify the run without any solver, and show every check and finding."""
    entry = await run_in_threadpool(find_entry, request, request.path_params["run"])
    try:
        report = await run_in_threadpool(library.audit, Path(entry.output_dir), _ledger(request))
    except library.InputError as exc:
        return render(
            request, "audit.html", entry=entry, run=entry.run_id[:_SHORT_ID], report=None,
            error=str(exc),
        )  # fmt: skip
    return render(
        request, "audit.html", entry=entry, run=entry.run_id[:_SHORT_ID], report=report, error=""
    )


async def explain_firm(request: Request) -> Response:
    """``explain`` for one firm, district or park of the run."""
    entry = await run_in_threadpool(find_entry, request, request.path_params["run"])
    recipient = request.query_params.get("recipient", "").strip()
    text, error = "", ""
    if recipient:
        from allocator.web.app import language

        try:
            text = await run_in_threadpool(
                library.explain_text,
                Path(entry.output_dir),
                recipient,
                _ledger(request),
                language(request),
            )
        except library.InputError as exc:
            error = str(exc)
    return render(
        request,
        "explain.html",
        entry=entry,
        run=entry.run_id[:_SHORT_ID],
        recipient=recipient,
        text=text,
        error=error,
    )


ROUTES = [
    Route("/jobs/{job:str}", job_page),
    Route("/jobs/{job:str}/state", job_state),
    post_route("/jobs/{job:str}/cancel", cancel_job),
    Route("/runs/{run:str}", result_page),
    Route("/runs/{run:str}/files/{name:str}", download),
    post_route("/runs/{run:str}/audit", audit_run),
    Route("/runs/{run:str}/explain", explain_firm),
]

__all__ = ["PAGE_SIZE", "ROUTES", "awards_page", "find_entry", "home"]
