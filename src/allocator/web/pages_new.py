"""新建分配: upload the bureau's data, see its problems, set up and save a scenario."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from allocator.core.i18n import N_, _
from allocator.web import library
from allocator.web.app import problem_rows, render
from allocator.web.jobs import JobQueue
from allocator.web.security import post_route
from allocator.web.workspace import Upload, UploadRefusedError, Workspace

_OVERRIDE = "override:"


def _workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


async def new_page(request: Request) -> Response:
    """The upload form, and once a file is uploaded its check and the scenario form."""
    workspace = _workspace(request)
    upload = workspace.upload(request.query_params.get("data", ""))
    model_name = request.query_params.get("model", "")
    return await _new_page(request, workspace, upload, model_name, {}, [])


async def _new_page(
    request: Request,
    workspace: Workspace,
    upload: Upload | None,
    model_name: str,
    values: dict[str, str],
    scenario_problems: list[dict[str, Any]],
    status: int = 200,
    refused: str = "",
) -> Response:
    context: dict[str, Any] = {
        "upload": upload,
        "refused": refused,
        "problems": [],
        "summary": None,
        "models": [p.name for p in workspace.models()],
        "model": None,
        "model_name": "",
        "params": [],
        "rules": [],
        "values": values,
        "scenario_problems": scenario_problems,
        "rule_choices": [r.value for r in library.Rule],
        "max_mb": request.app.state.config.max_upload_mb,
    }
    if upload is not None:
        try:
            data = await run_in_threadpool(library.load_enterprises, upload.path)
        except library.InputError as exc:
            context["problems"] = problem_rows(exc.problems, {str(upload.path): upload.name})
        else:
            context["summary"] = _summary(data)
            model = workspace.model(model_name) or next(iter(workspace.models()), None)
            if model is not None:
                loaded = library.load_model(model)
                context["model"] = loaded
                context["model_name"] = model.name
                context["params"] = _params(loaded)
                context["rules"] = _rules(loaded)
    return render(request, "new.html", http_status=status, **context)


def _summary(data: Any) -> dict[str, Any]:
    frame = data.frame
    counts = frame["district"].value_counts()
    return {
        "rows": len(frame),
        "warnings": list(data.warnings),
        "districts": [(d, int(counts.get(d, 0))) for d in library.districts()],
    }


def _params(model: Any) -> list[dict[str, Any]]:
    """Every parameter of the model, document-stated and assumed, in document order."""
    rows = []
    for clause, item in model.items():
        for name, p in item.params.items():
            rows.append(
                {
                    "address": f"{clause.id}/{item.id}/{name}",
                    "item": item.title,
                    "description": p.description,
                    "basis": p.basis.value,
                    "value": json.dumps(p.value, ensure_ascii=False),
                    "unit": p.unit,
                    "source": p.quote or p.rationale or "",
                }
            )
    return rows


def _rules(model: Any) -> list[dict[str, Any]]:
    """The document's global rules (fund cap, rounding, stacking, provincial) and their basis."""
    out = []
    for name in ("fund_cap", "rounding", "stacking", "provincial"):
        rule = getattr(model.rules, name)
        value = rule.model_dump(exclude={"basis", "quote", "rationale", "clause"})
        out.append(
            {
                "name": name,
                "value": ", ".join(f"{k}: {v}" for k, v in value.items()),
                "basis": rule.basis.value,
                "source": rule.quote or rule.rationale or "",
            }
        )
    return out


async def upload_data(request: Request, form: FormData) -> Response:
    """Store an uploaded data file under its content hash and show its check."""
    workspace = _workspace(request)
    file = form.get("data")
    model_name = str(form.get("model", ""))
    if not isinstance(file, UploadFile) or not file.filename:
        return await _new_page(
            request, workspace, None, model_name, {}, [], 400, N_("Choose a file to upload.")
        )
    limit = request.app.state.config.max_upload_mb * 1024 * 1024
    data = await file.read(limit + 1)
    if len(data) > limit:
        return await _new_page(
            request,
            workspace,
            None,
            model_name,
            {},
            [],
            413,
            N_("The file is larger than the limit."),
        )
    try:
        upload = workspace.store_upload(data, file.filename)
    except UploadRefusedError as exc:
        return await _new_page(request, workspace, None, model_name, {}, [], 400, str(exc))
    query = f"data={upload.sha256}" + (f"&model={model_name}" if model_name else "")
    return RedirectResponse(f"/new?{query}", status_code=303)


async def template_file(request: Request) -> Response:
    """The empty data template, as ``allocate template`` writes it."""
    return Response(
        await run_in_threadpool(library.template_bytes),
        media_type=library.DOWNLOADS[library.WORKBOOK],
        headers={"content-disposition": 'attachment; filename="template.xlsx"'},
    )


def _number(text: str, key: str, problems: list[library.InputProblem], *, whole: bool) -> Any:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (whole and not value.is_integer()) or value <= 0:
        expected = "a positive whole number" if whole else "a positive number"
        problems.append(library.InputProblem("form", expected, repr(text), key=key))
        return None
    return int(value) if value.is_integer() else value


def scenario_document(
    form: FormData, model: Any
) -> tuple[dict[str, Any], list[library.InputProblem]]:
    """The scenario a submitted form describes, and the form's own problems."""
    problems: list[library.InputProblem] = []
    name = str(form.get("name", "")).strip()
    doc: dict[str, Any] = {"name": name}
    notes = str(form.get("notes", "")).strip()
    if notes:
        doc["notes"] = notes
    doc["model"] = ""
    doc["data"] = ""
    budget = _number(str(form.get("budget_wan", "")), "budget_wan", problems, whole=True)
    if budget is not None:
        doc["budget_wan"] = budget
    overrides: dict[str, Any] = {}
    current = {p["address"]: p["value"] for p in _params(model)}
    for key, raw in form.multi_items():
        if not key.startswith(_OVERRIDE) or not isinstance(raw, str) or not raw.strip():
            continue
        address = key[len(_OVERRIDE) :]
        if address not in current or raw.strip() == current[address]:
            continue
        try:
            overrides[address] = yaml.safe_load(raw)
        except yaml.YAMLError:
            problems.append(
                library.InputProblem(
                    "form", _("a number, or a list or table of numbers"), raw, key=address
                )
            )
    if overrides:
        doc["overrides"] = overrides
    doc["fairness"] = {"rule": str(form.get("rule", "proportional"))}
    limit = _number(str(form.get("time_limit_s", "")), "time_limit_s", problems, whole=False)
    doc["solver"] = {"time_limit_s": limit or 60, "workers": 2, "seed": 0}
    return doc, problems


async def save_scenario(request: Request, form: FormData) -> Response:
    """Check the scenario form as a run would and save it as ``scenarios/<name>.yaml``."""
    workspace = _workspace(request)
    upload = workspace.upload(str(form.get("data", "")))
    model_path = workspace.model(str(form.get("model", "")))
    if upload is None or model_path is None:
        raise HTTPException(404, "data or model")
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    model = library.load_model(model_path)
    doc, problems = scenario_document(form, model)
    if not problems and not re.fullmatch(library.scenario_name_pattern(), doc["name"]):
        problems.append(
            library.InputProblem(
                "form",
                _("letters, digits, '.', '-' or '_' (at most 100)"),
                repr(doc["name"]),
                key="name",
            )
        )
    if not problems:
        try:
            await run_in_threadpool(workspace.save_scenario, doc, model_path, upload)
        except library.InputError as exc:
            problems = exc.problems
    if problems:
        rows = problem_rows(problems, {})
        return await _new_page(request, workspace, upload, model_path.name, values, rows, 400)
    return RedirectResponse(f"/scenarios/{doc['name']}", status_code=303)


async def scenario_page(request: Request) -> Response:
    """A saved scenario: its file, a run form and a budget-sweep form."""
    path = _workspace(request).scenario(request.path_params["name"])
    if path is None:
        raise HTTPException(404, "scenario")
    return render(
        request,
        "scenario.html",
        name=path.stem,
        file=str(path),
        text=path.read_text(encoding="utf-8"),
    )


async def run_scenario(request: Request, form: FormData) -> Response:
    """Queue a run of a saved scenario and show its progress."""
    path = _workspace(request).scenario(request.path_params["name"])
    if path is None:
        raise HTTPException(404, "scenario")
    problems: list[library.InputProblem] = []
    limit = _number(str(form.get("time_limit_s", "")), "time_limit_s", problems, whole=False)
    if problems:
        raise HTTPException(400, str(problems[0]))
    jobs: JobQueue = request.app.state.jobs
    job = jobs.submit("run", path, time_limit_s=limit)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


_BUDGETS = re.compile(r"\d+(:\d+:\d+|(,\d+)*)")


async def sweep_scenario(request: Request, form: FormData) -> Response:
    """Queue a budget sweep of a saved scenario (``start:stop:step`` or a comma list)."""
    path = _workspace(request).scenario(request.path_params["name"])
    if path is None:
        raise HTTPException(404, "scenario")
    budgets = str(form.get("budgets", "")).replace(" ", "").replace("，", ",")
    if not _BUDGETS.fullmatch(budgets):
        raise HTTPException(400, "budgets: start:stop:step or a comma list of whole 万元")
    jobs: JobQueue = request.app.state.jobs
    job = jobs.submit("sweep", path, budgets=budgets)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def saved_scenarios(workspace: Workspace) -> list[str]:
    """Names of the saved scenarios, newest first."""
    return [p.stem for p in workspace.scenario_list()]


ROUTES = [
    Route("/new", new_page),
    post_route("/new/upload", upload_data),
    Route("/template.xlsx", template_file),
    post_route("/scenarios", save_scenario),
    Route("/scenarios/{name:str}", scenario_page),
    post_route("/scenarios/{name:str}/run", run_scenario),
    post_route("/scenarios/{name:str}/sweep", sweep_scenario),
]

__all__ = ["ROUTES", "saved_scenarios", "scenario_document"]
