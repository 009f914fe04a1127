"""The output folder of a run, written atomically: awards, constraints, result and a workbook.

``docs/outputs.md`` describes every file and column. In short:

- ``awards.csv``: one row per eligible (recipient, award item), with the claim, the award and,
  when the award is below the claim, the reason;
- ``constraints.csv``: every constraint row with its left side, right side, slack and
  whether it binds;
- ``result.json``: status, totals, counts, parameters, provenance, and ``timings``;
- ``awards.xlsx``: the same for a clerk, with Chinese headers;
- ``report.html``: one self-contained page for an auditor (``allocator.outputs.report``).

Same inputs give byte-identical ``awards.csv``, ``constraints.csv``, ``awards.xlsx`` and
``report.html``;
``result.json`` differs only under ``timings``. A run writes into a temporary sibling folder
and renames it into place when complete, so an interrupted run leaves the previous output
untouched. When the scenario is infeasible, or the solver finds no allocation in time, the
folder holds ``result.json`` alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.core import interrupt
from allocator.core.errors import InputError, Problem
from allocator.model.problem import Status
from allocator.outputs.names import AWARDS, CONSTRAINTS, OUTPUT_FILES, REPORT, RESULT, WORKBOOK
from allocator.outputs.reasons import awards_table
from allocator.outputs.report import report_bytes
from allocator.outputs.result import RunResult, json_bytes, result_document, timings_document
from allocator.outputs.tables import constraints_table
from allocator.outputs.workbook import workbook_bytes


def check_out_dir(out_dir: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output folder that would put inputs or unrelated files at risk.

    Raises
    ------
    InputError
        When ``out_dir`` is a file, is or contains the folder of an input file, or exists
        with content that is not an earlier output of allocate.
    """
    out = Path(os.path.abspath(out_dir))
    real = out.resolve()
    where = str(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError([Problem(where, "an output folder", "a file")])
    for p in inputs:
        folder = p.resolve().parent
        if folder == real or real in folder.parents:
            raise InputError(
                [
                    Problem(
                        where,
                        "an output folder apart from the inputs (it is replaced on every run)",
                        f"it holds the input file {p}",
                    )
                ]
            )
    if out.is_dir():
        entries = sorted(e.name for e in out.iterdir())
        foreign = [e for e in entries if e not in OUTPUT_FILES]
        if foreign or (entries and RESULT not in entries):
            raise InputError(
                [
                    Problem(
                        where,
                        "an empty folder or the output of an earlier run, which is replaced",
                        f"other content: {', '.join(foreign or entries)[:200]}",
                    )
                ]
            )


def write_outputs(out_dir: Path | str, run: RunResult) -> list[Path]:
    """Write the run's output folder atomically.

    Everything goes into a temporary sibling folder first; only when it is complete does it
    replace ``out_dir`` (the previous run is renamed aside, the new one renamed in, the old one
    deleted). Any failure, Ctrl-C included, leaves ``out_dir`` as it was and removes the
    temporary folder and any parent folder made for it; the renames and the clean-up run with
    Ctrl-C held (:mod:`allocator.core.interrupt`), and a Ctrl-C during the renames undoes them.

    Parameters
    ----------
    out_dir:
        The output folder.
    run:
        The run's result.

    Returns
    -------
    list of Path
        The files written, under ``out_dir``.

    Raises
    ------
    InputError
        When the output folder is refused (see :func:`check_out_dir`).
    """
    out = Path(out_dir)
    check_out_dir(out, [f.path for f in run.inputs])
    made = _missing_folders(out.parent)
    tmp: list[Path] = []
    try:
        with interrupt.held():  # a folder made must be known, to be removed again
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.append(Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent)))
        os.chmod(tmp[0], 0o755)
        names = _write_files(tmp[0], run)
        with interrupt.held() as hold:
            _swap(tmp[0], out, hold)
    except BaseException:
        with interrupt.held():  # a second Ctrl-C must not stop the clean-up half-way
            for folder in tmp:
                shutil.rmtree(folder, ignore_errors=True)
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    return [out / n for n in names]


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, the deepest first."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _write_files(folder: Path, run: RunResult) -> list[str]:
    start = time.perf_counter()
    alloc = run.allocation
    if alloc is None or run.status in (Status.INFEASIBLE, Status.UNKNOWN):
        doc = result_document(run, None, None)
        run.timings["write"] = time.perf_counter() - start
        doc["timings"] = timings_document(run.timings)
        _write(folder / RESULT, json_bytes(doc))
        return [RESULT]
    constraints = constraints_table(run.build, alloc)
    awards = awards_table(run.build, alloc, constraints)
    _write(folder / AWARDS, _csv_bytes(awards))
    _write(folder / CONSTRAINTS, _csv_bytes(constraints))
    doc = result_document(run, awards, constraints)
    _write(folder / WORKBOOK, workbook_bytes(doc, awards, constraints))
    _write(folder / REPORT, report_bytes(doc, awards, constraints))
    run.timings["write"] = time.perf_counter() - start
    doc["timings"] = timings_document(run.timings)
    # result.json last: its presence marks a complete folder.
    _write(folder / RESULT, json_bytes(doc))
    return sorted(OUTPUT_FILES)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    if "binding" in out:
        out["binding"] = np.where(out["binding"].to_numpy(dtype=bool), "true", "false")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _swap(new: Path, out: Path, hold: interrupt.Hold) -> None:
    """Rename ``new`` to ``out``, moving an earlier ``out`` aside first and deleting it after.

    Runs with Ctrl-C held: if one came meanwhile, both renames are undone (``new`` is back,
    the earlier ``out`` in its place) and the caller, seeing the Ctrl-C, removes ``new``.
    """
    old: Path | None = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        os.rename(out, old)
    try:
        os.rename(new, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        raise
    if hold.interrupted:
        os.rename(out, new)
        if old is not None:
            os.rename(old, out)
        return
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["check_out_dir", "write_outputs"]
