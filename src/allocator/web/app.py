"""The workbench application: configuration, templates, language, and the routes.

:func:`create_app` builds a Starlette application from a :class:`Config`; ``allocate serve``
hands it to uvicorn. Pages are rendered on the server with Jinja2; the one script
(``static/app.js``, shipped in the package) only polls a running job's progress.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from allocator.web import i18n, library
from allocator.web.jobs import JobQueue
from allocator.web.security import CSRF_FIELD, Guard, GuardMiddleware, csrf_field
from allocator.web.workspace import Workspace

_HERE = Path(__file__).parent
LANG_COOKIE = "allocate_lang"


@dataclass(frozen=True)
class Config:
    """What ``allocate serve`` was told.

    Attributes
    ----------
    workspace:
        Folder of uploads, scenarios, runs and sweeps.
    models:
        Folder of the policy models offered.
    ledger:
        Ledger URL (the command line's ``--ledger`` resolution).
    token:
        Access token, or None on 127.0.0.1 without one.
    local_only:
        Bound to a loopback address.
    max_upload_mb:
        Largest upload accepted, in MiB.
    """

    workspace: Path
    models: Path
    ledger: str
    token: str | None = None
    local_only: bool = True
    max_upload_mb: int = 50


def create_app(config: Config) -> Starlette:
    """The workbench as an ASGI application; its job queue starts and stops with it."""
    from allocator.web import pages_compare, pages_new, pages_runs

    workspace = Workspace(config.workspace, config.models)
    workspace.clear_work()
    jobs = JobQueue(workspace, config.ledger, on_finished=pages_runs.warm)
    guard = Guard(
        token=config.token,
        local_only=config.local_only,
        max_body_bytes=config.max_upload_mb * 1024 * 1024 + 64 * 1024,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        jobs.start()
        try:
            yield
        finally:
            jobs.stop()

    routes = [
        Route("/", pages_runs.home),
        Route("/lang/{code:str}", switch_language),
        *pages_new.ROUTES,
        *pages_runs.ROUTES,
        *pages_compare.ROUTES,
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.workspace = workspace
    app.state.jobs = jobs
    app.state.guard = guard
    app.state.templates = _environment()
    return app


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("allocator.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wan"] = _wan
    env.filters["pct"] = _pct
    return env


def _wan(value: Any) -> str:
    if value is None or value == "":
        return "–"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _pct(value: Any) -> str:
    if value is None:
        return "–"
    return f"{float(value):.2%}"


def language(request: Request) -> str:
    """``zh`` unless the browser chose English."""
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def render(
    request: Request, template: str, /, http_status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page in the request's language, with its CSRF field at hand."""
    lang = language(request)
    env: jinja2.Environment = request.app.state.templates
    jobs: JobQueue = request.app.state.jobs

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    page = env.get_template(template).render(
        request=request,
        lang=lang,
        t=t,
        csrf_name=CSRF_FIELD,
        csrf=csrf_field(request),
        active=[j for j in jobs.jobs() if not j.finished],
        path=request.url.path,
        query=request.url.query,
        **context,
    )
    headers = {
        # Nothing is loaded from elsewhere: no scripts, styles, fonts or frames of other sites.
        "content-security-policy": "default-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
    }
    return HTMLResponse(page, status_code=http_status, headers=headers)


async def switch_language(request: Request) -> Response:
    """Set the page language (``zh`` or ``en``) and go back where the switch was pressed."""
    code = request.path_params["code"]
    back = request.query_params.get("next", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(LANG_COOKIE, "en" if code == "en" else "zh", samesite="strict")
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    key = {403: "error.csrf", 404: "error.not_found"}.get(exc.status_code, "error.generic")
    if exc.status_code == 403 and exc.detail != "csrf":
        key = "error.generic"
    if "csrf_cookie" not in request.scope.get("state", {}):
        return Response(str(exc.detail), status_code=exc.status_code)
    return render(request, "error.html", http_status=exc.status_code, key=key, detail=exc.detail)


def problem_rows(
    problems: list[library.InputProblem], shown: dict[str, str]
) -> list[dict[str, Any]]:
    """Problems as table rows, the stored file's path replaced by the name the clerk knows."""
    labels = library.field_labels()
    rows = []
    for p in problems:
        rows.append(
            {
                "file": shown.get(p.file, Path(p.file).name),
                "row": p.row,
                "column": p.column,
                "column_zh": labels.get(p.column or "", ""),
                "key": p.key,
                "expected": p.expected,
                "found": p.found,
            }
        )
    return rows


__all__ = ["Config", "create_app", "language", "problem_rows", "render"]
