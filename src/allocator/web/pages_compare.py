"""对比: two runs side by side, and a budget sweep with its chart."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from allocator.web import library
from allocator.web.app import render
from allocator.web.pages_new import saved_scenarios
from allocator.web.pages_runs import find_entry


async def compare_page(request: Request) -> Response:
    """Pick two runs of the ledger; show them side by side with the compare charts."""
    runs = await run_in_threadpool(library.list_runs, request.app.state.config.ledger)
    a = request.query_params.get("a", "")
    b = request.query_params.get("b", "")
    tables = None
    error = ""
    if a and b:
        first = await run_in_threadpool(find_entry, request, a)
        second = await run_in_threadpool(find_entry, request, b)

        def compare() -> dict[str, object]:
            folders = [Path(first.output_dir), Path(second.output_dir)]
            return library.comparison_tables(library.compare_folders(folders))

        try:
            tables = await run_in_threadpool(compare)
        except library.InputError as exc:
            error = str(exc)
    charts = {k: Markup(v) for k, v in (tables or {}).get("charts", {}).items()}  # type: ignore[attr-defined]
    return render(
        request,
        "compare.html",
        runs=runs,
        a=a,
        b=b,
        tables=tables,
        charts=charts,
        error=error,
        scenarios=saved_scenarios(request.app.state.workspace),
    )


async def sweep_page(request: Request) -> Response:
    """A finished budget sweep: one row per budget and the sweep's chart."""
    folder = request.app.state.workspace.sweep_dir(request.path_params["sweep"])
    if folder is None:
        raise HTTPException(404, "sweep")
    _, svg_name = library.sweep_files()
    rows = await run_in_threadpool(library.sweep_table, folder)
    columns = list(rows[0]) if rows else []
    # Each variant with an allocation was recorded in the ledger: link to its results.
    runs = await run_in_threadpool(library.list_runs, request.app.state.config.ledger)
    by_folder = {r.output_dir: r.short_id for r in runs}
    for row in rows:
        row["run"] = by_folder.get(str((folder / row["variant"]).resolve()), "")
    # The chart is the sweep's own SVG, drawn by the library from the sweep's figures.
    svg = Markup((folder / svg_name).read_text(encoding="utf-8"))
    return render(request, "sweep.html", sweep=folder.name, rows=rows, chart=svg, columns=columns)


ROUTES = [
    Route("/compare", compare_page),
    Route("/sweeps/{sweep:str}", sweep_page),
]

__all__ = ["ROUTES"]
