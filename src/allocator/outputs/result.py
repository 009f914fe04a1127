"""The run's record in memory, and ``result.json``: status, totals, parameters, provenance.

:class:`RunResult` is what the pipeline hands to :func:`allocator.outputs.folder.write_outputs`;
:func:`result_document` turns it into the content of ``result.json`` (docs/outputs.md), which
is the same for the same inputs except under ``timings``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.inputs.scenario import LoadedScenario
from allocator.model.build import Build
from allocator.model.problem import Allocation, Status
from allocator.outputs.names import OUTPUT_FILES, RESULT, copy_name
from allocator.outputs.tables import award_vector, totals
from allocator.policy.model import Basis, PolicyModel


@dataclass(frozen=True)
class InputFile:
    """One input file and the hash of its bytes."""

    role: str  # scenario, model, data
    path: Path
    shown: str  # as the user named it, for the provenance stamp
    sha256: str


@dataclass
class RunResult:
    """Everything a run hands to :func:`write_outputs`.

    Attributes
    ----------
    scenario, model:
        The loaded scenario and policy model.
    build:
        The built problem and its rows.
    allocation:
        The solver's allocation; None when the run stopped before or without one.
    status:
        The run's status (the allocation's, or INFEASIBLE when the build already shows it).
    message:
        For INFEASIBLE and UNKNOWN: why, in a sentence or a few.
    inputs:
        The input files with their hashes.
    command:
        The command line, as a provenance stamp.
    timings:
        Seconds per phase (load, claims, build, solve, write) and per solve phase.
    versions:
        Versions of allocate, OR-Tools, Python and the main libraries.
    solver_details:
        What the fairness rule reports besides the awards (methods, rounds, levels of the
        rows, conflicting rows), kept even when the allocation is not.
    diagnosis:
        For INFEASIBLE: what clashes and the least change that would make it feasible
        (:meth:`allocator.solve.diagnose.Diagnosis.to_json`).
    warnings:
        Things worth a look found in the inputs (implausible amounts, incomplete district
        figures), in the reader's language.
    ledger:
        The ledger the run is recorded in, its password masked
        (:func:`allocator.outputs.ledger.safe_url`), so that its entry can be found from
        wherever the folder is; None when the run is recorded in none.
    """

    scenario: LoadedScenario
    model: PolicyModel
    build: Build
    allocation: Allocation | None
    status: Status
    message: str
    inputs: list[InputFile]
    command: str
    timings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    solver_details: dict[str, object] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    ledger: str | None = None


def input_entries(inputs: list[InputFile]) -> list[dict[str, str]]:
    """``result.json``'s ``inputs``: role, path as named, sha256 and the folder's own copy."""
    return [
        {
            "role": f.role,
            "path": f.shown,
            "sha256": f.sha256,
            "copy": copy_name(f.sha256, f.path.name),
        }
        for f in inputs
    ]


def parameters(model: PolicyModel, overrides: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The model's assumed parameters in force, and the ones the scenario overrode."""
    assumed: list[dict[str, Any]] = []
    overridden: list[dict[str, Any]] = []
    for c, i in model.items():
        for name, p in i.params.items():
            address = f"{c.id}/{i.id}/{name}"
            if address in overrides:
                overridden.append(
                    {
                        "address": address,
                        "value": overrides[address],
                        "model_value": p.value,
                        "model_basis": p.basis.value,
                        "unit": p.unit,
                    }
                )
            elif p.basis is Basis.ASSUMED:
                assumed.append(
                    {
                        "address": address,
                        "value": p.value,
                        "unit": p.unit,
                        "rationale": p.rationale or "",
                    }
                )
    for name in ("fund_cap", "rounding", "stacking", "provincial"):
        rule = getattr(model.rules, name)
        if rule.basis is Basis.ASSUMED:
            value = rule.model_dump(exclude={"basis", "quote", "rationale", "clause"})
            assumed.append(
                {
                    "address": f"rules/{name}",
                    "value": value,
                    "unit": "",
                    "rationale": rule.rationale or "",
                }
            )
    return {"assumed": assumed, "overridden": overridden}


def summary(run: RunResult) -> dict[str, Any]:
    """The few figures a person wants first: status, budget, claimed, awarded, recipients."""
    rows = run.build.rows
    award = award_vector(run.build, run.allocation)
    funded = award > 0
    return {
        "status": run.status.value,
        "budget_wan": run.build.budget.value_wan,
        "budget_source": run.build.budget.source,
        "claimed_wan": int(rows["claim_wan"].sum()),
        "awarded_wan": int(award.sum()),
        "recipients": int(rows["recipient_id"].nunique()),
        "funded_recipients": int(rows.loc[funded, "recipient_id"].nunique()),
        "funded_claims": int(funded.sum()),
    }


def result_document(
    run: RunResult, awards: pd.DataFrame | None, constraints: pd.DataFrame | None
) -> dict[str, Any]:
    """The content of ``result.json``; only ``timings`` differs between equal runs."""
    build, alloc, spec = run.build, run.allocation, run.scenario.spec
    rows = build.rows
    claim_total = int(rows["claim_wan"].sum())
    doc: dict[str, Any] = {
        "scenario": spec.name,
        "policy": {
            "title": run.model.title,
            "document_number": run.model.document_number,
            "status": run.model.status,
        },
        "status": run.status.value,
        "message": run.message,
        "rule": spec.fairness.rule.value,
        "budget_wan": build.budget.value_wan,
        "budget_source": build.budget.source,
        "document_fund_cap_wan": build.budget.document_cap_wan,
        "total_claim_wan": claim_total,
        "total_awarded_wan": None,
        "objective": None,
        "best_bound": None,
        "gap": None,
        "counts": {
            "recipients": int(rows["recipient_id"].nunique()),
            "eligible_claims": len(rows),
            "variables": build.problem.size,
            "constraint_rows": sum(len(f.labels) for f in build.problem.families)
            + len(build.problem.exclusive),
            "funded_claims": None,
            "funded_recipients": None,
        },
        "files": [RESULT],
        "parameters": parameters(run.model, dict(spec.overrides)),
        "inputs": input_entries(run.inputs),
        "ledger": run.ledger,
        "versions": dict(sorted(run.versions.items())),
        "command": run.command,
        "infeasible_because": list(build.infeasible),
        "warnings": list(run.warnings),
        "solver": {},
    }
    if run.solver_details:
        doc["solver"] = _plain(run.solver_details)
    if run.diagnosis is not None:
        doc["diagnosis"] = _plain(run.diagnosis)
    if alloc is not None and awards is not None:
        awarded = awards["award_wan"].to_numpy(dtype=np.int64)
        doc["total_awarded_wan"] = int(awarded.sum())
        doc["objective"] = _num(alloc.objective)
        doc["best_bound"] = _num(alloc.best_bound)
        doc["gap"] = _gap(alloc)
        doc["counts"]["funded_claims"] = int((awarded > 0).sum())
        doc["counts"]["funded_recipients"] = int(awards.loc[awarded > 0, "recipient_id"].nunique())
        doc["files"] = sorted(OUTPUT_FILES)
        doc["totals"] = totals(awards, run.model)
    doc["timings"] = timings_document(run.timings)
    return doc


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars and arrays to Python, floats rounded, the rest as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _num(float(value))
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _gap(alloc: Allocation) -> float | None:
    if alloc.status is Status.OPTIMAL:
        return 0.0
    if not (math.isfinite(alloc.objective) and math.isfinite(alloc.best_bound)):
        return None
    return _num(abs(alloc.best_bound - alloc.objective) / max(1.0, abs(alloc.best_bound)))


def _num(x: float) -> float | None:
    return round(float(x), 6) if math.isfinite(x) else None


def timings_document(timings: dict[str, Any]) -> dict[str, Any]:
    """``timings`` as ``result.json`` holds them: seconds rounded to milliseconds."""
    return {str(k): _timing(v) for k, v in timings.items()}


def _timing(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _timing(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_timing(x) for x in v]
    if isinstance(v, str):
        return v
    return round(float(v), 3)


def json_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


__all__ = [
    "InputFile",
    "RunResult",
    "input_entries",
    "json_bytes",
    "parameters",
    "result_document",
    "summary",
    "timings_document",
]
