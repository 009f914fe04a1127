"""Re-check a finished run without the solver: ``allocate audit OUTPUT_DIR``.

An auditor must be able to verify a published allocation without trusting the program that
made it. :func:`audit` reads an output folder (``awards.csv``, ``constraints.csv``,
``result.json``, ``awards.xlsx``) and the folder's own copies of the scenario, model and data
(``inputs/``; an older folder without them: the files the run recorded), and checks every
rule the allocation must obey, each from its own definition:

- the copies still hash to the sha256 ``result.json`` and the ledger recorded (an original
  edited or deleted since is noted as information), and the folder still holds the files its
  ledger entry recorded, wherever the folder now is;
- the claims, recomputed by :func:`allocator.policy.claims.evaluate`, are exactly the rows of
  ``awards.csv``; awards are whole, non-negative and at most the claim;
- the provincial rule, the fund, the sub-budgets, the firm and district caps and floors, the
  no-duplicate groups and the all-or-nothing items, each re-derived from the scenario and
  the model;
- the fairness rule, checked from outside: under ``priority`` no award below its claim could
  be raised without breaking a row; under a level rule every claim below its claim is held by
  a row, its group or its indivisibility, and claims held by the same rows share one level up
  to the whole-万元 rounding; and each award is within 1万元 of the rule's exact value in
  fractions, computed again on the run's claims and limits;
- the totals of ``result.json``, the sheets of ``awards.xlsx`` and every row of
  ``constraints.csv``, recomputed from ``awards.csv``.

Nothing here imports the model builder, the fairness rules or the solver
(``allocator.model``, ``allocator.solve``, nor ``allocator.outputs.write``, which imports the
builder; import-linter holds this): the constraint rows are derived again from
``docs/scenario.md``, so a mistake in the builder is not repeated here. Only the loaders and
the claims evaluation are shared. ``docs/audit.md`` explains each check.
"""

from __future__ import annotations

import re
from pathlib import Path

from allocator.analysis.audit_checks import (
    check_claims,
    check_families,
    check_files,
    check_integrality,
    check_provincial,
    check_result,
    load_awards,
    load_constraints,
    no_awards,
)
from allocator.analysis.audit_fairness import check_exact, check_fairness
from allocator.analysis.audit_findings import CHECKS, AuditReport, Collector
from allocator.analysis.audit_folder import read_result, run_inputs, run_ledger
from allocator.analysis.audit_published import check_constraints, check_totals, check_workbook
from allocator.analysis.audit_recompute import recompute, row_state
from allocator.core.i18n import _
from allocator.outputs.ledger import check_against_ledger


def audit(
    folder: Path | str,
    *,
    ledger: str | None = None,
    scenario: Path | None = None,
) -> AuditReport:
    """Re-verify a finished run from its folder and inputs, without any solver.

    Parameters
    ----------
    folder:
        The output folder of ``allocate run``.
    ledger:
        The ledger URL (:func:`allocator.outputs.ledger.ledger_url`), for the folder's entry;
        None: the one ``result.json`` names, else the usual (:func:`run_ledger`).
    scenario:
        For a folder without copies of its inputs: the scenario file, when the one
        ``result.json`` names cannot be found.

    Returns
    -------
    AuditReport
        Every check with its outcome, and every finding.

    Raises
    ------
    InputError
        When the folder, its ``result.json`` or the scenario cannot be read, or the inputs
        do not load: there is nothing to check against.
    """
    folder = Path(folder)
    result = read_result(folder)
    out = Collector()

    ledger = run_ledger(result, ledger)
    inputs = run_inputs(folder, result, ledger=ledger, explicit=scenario)
    changes, loaded = inputs.changes, inputs.loaded
    for change in changes:
        out.add("inputs", change.shown, change.message())
    for note in inputs.notes:
        out.add("inputs", str(note.path), note.message(), warn=True)
    if inputs.copies:
        out.done("inputs", _("{n} copies in the run folder hashed").format(n=len(result["inputs"])))
    else:
        out.done("inputs", _("{n} file(s) hashed").format(n=len(result["inputs"])))

    for lf in check_against_ledger(ledger, folder):
        named = _LEDGER_WHAT.fullmatch(lf.what)
        name = named.group(1) if named else "ledger"
        out.add(
            "ledger",
            name,
            _("{what}: {detail}").format(what=lf.what, detail=lf.detail),
            warn=lf.severity == "warning",
        )
    out.done("ledger")

    check_files(out, folder, result)
    awards = load_awards(out, folder, result)
    constraints = load_constraints(out, folder, result)

    if awards is not None:
        check_totals(out, result, awards)
        check_workbook(out, folder, result, awards, constraints)
    else:
        for name in ("totals", "workbook"):
            out.skip(name, no_awards(result))

    if changes or loaded is None:
        why = _("the inputs changed since the run: nothing is recomputed from them")
        for name in CHECKS:
            out.skip(name, why)
        return out.report(folder)

    rec = recompute(loaded)
    check_result(out, result, rec)
    if awards is None:
        for name in CHECKS:
            out.skip(name, no_awards(result))
        return out.report(folder)

    x, matched = check_claims(out, rec, awards)
    check_integrality(out, rec, awards, x, matched)
    check_provincial(out, rec, x, matched)
    state = row_state(rec, x)
    check_families(out, rec, awards, x, matched, state)
    check_fairness(out, rec, result, x, matched, state)
    check_exact(out, rec, result, x, matched)
    if constraints is not None:
        check_constraints(out, rec, result, constraints, state)
    else:
        out.skip("constraints", _("constraints.csv could not be read"))
    return out.report(folder)


_LEDGER_WHAT = re.compile(r"(.+) (?:changed since the run|missing|added)")


__all__ = ["audit"]
