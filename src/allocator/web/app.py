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
from starlette.types import ASGIApp, Receive, Scope, Send

from allocator.core.i18n import N_, _, speaking
from allocator.inputs.choices import district_name, industry_name
from allocator.web import library
from allocator.web.jobs import JobQueue
from allocator.web.security import CSRF_FIELD, Guard, GuardMiddleware, csrf_field
from allocator.web.words import word
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
        middleware=[Middleware(LanguageMiddleware), Middleware(GuardMiddleware, guard=guard)],
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
    # pandas: loaded with the pages, not with `allocate serve --help`
    from allocator.outputs.wording import family_name, reason_text, row_name

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("allocator.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wan"] = _wan
    env.filters["pct"] = _pct
    # The catalogue's messages, in the language the request's context speaks (LanguageMiddleware).
    env.globals["_"] = _
    env.globals["word"] = word
    env.globals["district"] = district_name
    env.globals["industry"] = industry_name
    env.globals["reason"] = reason_text
    env.globals["row"] = row_name
    env.globals["family"] = family_name
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


class LanguageMiddleware:
    """Answer each request in its reader's language: the cookie's, else Chinese.

    Every message of the request, the library's included (a refused upload's problems, an
    audit's findings), goes through the catalogue in that language
    (:func:`allocator.core.i18n.speaking`); the process's own language is left as it is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with speaking(language(Request(scope))):
            await self.app(scope, receive, send)


def render(
    request: Request, template: str, /, http_status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page in the request's language, with its CSRF field at hand."""
    lang = language(request)
    env: jinja2.Environment = request.app.state.templates
    jobs: JobQueue = request.app.state.jobs
    with speaking(lang):
        page = env.get_template(template).render(
            request=request,
            lang=lang,
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


# An error page's heading, translated when the page is drawn (error.html: _(key)).
_CSRF = N_("Request refused: the form lacks a valid security token; go back, reload and retry.")
_NOT_FOUND = N_("No such page or record.")
_GENERIC = N_("The request could not be completed.")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    key = {403: _CSRF, 404: _NOT_FOUND}.get(exc.status_code, _GENERIC)
    if exc.status_code == 403 and exc.detail != "csrf":
        key = _GENERIC
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


__all__ = ["Config", "LanguageMiddleware", "create_app", "language", "problem_rows", "render"]
