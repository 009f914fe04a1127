"""The output folder of a run, written atomically: awards, constraints, result and a workbook.

``docs/outputs.md`` describes every file and column. In short:

- ``awards.csv``: one row per eligible (recipient, award item), with the claim, the award and,
  when the award is below the claim, the reason;
- ``constraints.csv``: every constraint row with its left side, right side, slack and
  whether it binds;
- ``result.json``: status, totals, counts, parameters, provenance, and ``timings``;
- ``awards.xlsx``: the same for a clerk, with Chinese headers;
- ``report.html``: one self-contained page for an auditor (``allocator.outputs.report``);
- ``inputs/``: the run's own copies of its scenario, model and data, named by content
  (:mod:`allocator.outputs.copies`), so that the folder can be audited on its own.

Same inputs give byte-identical ``awards.csv``, ``constraints.csv``, ``awards.xlsx``,
``report.html`` and copies; ``result.json`` differs only under ``timings``. A run writes
into a temporary sibling folder and renames it into place when complete, so an interrupted
run leaves the previous output untouched. When the scenario is infeasible, or the solver
finds no allocation in time, the folder holds ``result.json`` and the copies alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from allocator.core import interrupt
from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.model.problem import Status
from allocator.outputs.copies import copy_inputs
from allocator.outputs.csvfile import csv_bytes
from allocator.outputs.names import (
    AWARDS,
    CONSTRAINTS,
    OLD_RANDOM,
    OUTPUT_ENTRIES,
    OUTPUT_FILES,
    REPORT,
    RESULT,
    SIBLING_EXTRA_BYTES,
    WORKBOOK,
    old_prefix,
    partial_prefix,
)
from allocator.outputs.reasons import awards_table
from allocator.outputs.report import report_bytes
from allocator.outputs.result import RunResult, json_bytes, result_document, timings_document
from allocator.outputs.tables import constraints_table
from allocator.outputs.wording import for_the_reader
from allocator.outputs.workbook import workbook_bytes

#: Environment variable naming a point where the process kills itself (SIGKILL), so that the
#: fault tests can stop a real run there: ``between-renames`` (the earlier run moved aside,
#: the new one not yet in place) or ``before-ledger`` (the new one in place, not yet recorded).
FAULT_ENV = "ALLOCATE_FAULT_AT"
FAULT_POINTS = ("between-renames", "before-ledger")

#: Called with the output folder once the new run is in place and the earlier one still
#: aside; if it raises, the swap is undone. The pipeline records the run in the ledger here.
Commit = Callable[[Path], None]


def output_folder(path: str | os.PathLike[str]) -> Path:
    """The absolute output folder a ``--out`` value or ``output_dir`` names (``~`` expanded).

    The one reading of a folder argument, used by the run and the ledger alike, so that
    ``--out '~/runs'`` means the same folder in both.
    """
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def check_out_dir(out_dir: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output folder that cannot be written or would put other files at risk.

    Checked before the solve, writing nothing: the folder and every missing parent must be
    creatable (no file or dangling link in the way, names short enough for the temporary
    siblings, a parent allocate can create folders in, not under /proc), and an existing
    folder must hold nothing but an earlier run.

    Raises
    ------
    InputError
        When ``out_dir`` is a file or a dangling link, lies under a file, cannot be created
        or replaced, has a name too long, is or contains the folder of an input file, or
        exists with content that is not an earlier output of allocate.
    """
    where = str(out_dir)
    out = output_folder(out_dir)
    if out.is_symlink() and not out.exists():
        target = os.readlink(out)
        raise InputError(
            [
                InputProblem(
                    where,
                    _("an output folder or a link to one"),
                    _("a link to {target}, which is missing").format(target=target),
                )
            ]
        )
    if out.exists() and not out.is_dir():
        raise InputError([InputProblem(where, _("an output folder"), _("a file"))])
    parent = _existing_parent(where, out)
    for part in [out.name, *(p.name for p in _missing_folders(out.parent))]:
        size = len(part.encode("utf-8"))
        if size + SIBLING_EXTRA_BYTES > _NAME_MAX:
            raise InputError(
                [
                    InputProblem(
                        where,
                        _("folder names of at most {limit} bytes").format(
                            limit=_NAME_MAX - SIBLING_EXTRA_BYTES
                        ),
                        _("{name}… of {size} bytes").format(name=part[:40], size=size),
                    )
                ]
            )
    _check_writable(where, parent)
    real = out.resolve()
    for p in inputs:
        folder = p.resolve().parent
        if folder == real or real in folder.parents:
            raise InputError(
                [
                    InputProblem(
                        where,
                        _("an output folder apart from the inputs (it is replaced on every run)"),
                        _("it holds the input file {path}").format(path=p),
                    )
                ]
            )
    if out.is_dir():
        entries = sorted(e.name for e in out.iterdir())
        foreign = [e for e in entries if e not in OUTPUT_ENTRIES]
        if foreign or (entries and RESULT not in entries):
            raise InputError(
                [
                    InputProblem(
                        where,
                        _("an empty folder or the output of an earlier run, which is replaced"),
                        _("other content: {entries}").format(
                            entries=", ".join(foreign or entries)[:200]
                        ),
                    )
                ]
            )


# The longest file name Linux, macOS and Windows file systems all accept, in bytes.
_NAME_MAX = 255
# File systems of the kernel, where a folder made would be no file at all.
_KERNEL_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


def _existing_parent(where: str, out: Path) -> Path:
    """The nearest existing folder above ``out``; refuses a file or a dangling link on the way."""
    folder = out.parent
    while not folder.exists():
        if folder.is_symlink():
            raise InputError(
                [
                    InputProblem(
                        where,
                        _("an output folder whose parent folders exist or can be made"),
                        _("{folder} is a link to {target}, which is missing").format(
                            folder=folder, target=os.readlink(folder)
                        ),
                    )
                ]
            )
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(
            [
                InputProblem(
                    where,
                    _("an output folder whose parent folders exist or can be made"),
                    _("{folder} is a file").format(folder=folder),
                )
            ]
        )
    return folder


def _check_writable(where: str, parent: Path) -> None:
    """Refuse a parent allocate cannot create folders in (read-only, immutable, the kernel's).

    The test is to make an empty folder there and remove it at once: permissions, immutable
    flags and read-only mounts all answer it, as root too.
    """
    real = parent.resolve()
    kernel = [k for k in _KERNEL_FOLDERS if real == k or k in real.parents]
    found = ""
    if kernel:
        found = _("{parent} is on the kernel's file system {system}").format(
            parent=parent, system=kernel[0]
        )
    else:
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".allocate-probe-", dir=parent))
        except OSError as exc:
            found = _("cannot create a folder in {parent}: {problem}").format(
                parent=parent, problem=exc.strerror
            )
    if found:
        raise InputError(
            [InputProblem(where, _("an output folder allocate can create and replace"), found)]
        )


def write_outputs(
    out_dir: Path | str,
    run: RunResult,
    *,
    commit: Commit | None = None,
    keep: bool = False,
    copies: bool = True,
) -> list[Path]:
    """Write the run's output folder atomically.

    Everything goes into a temporary sibling folder first; only when it is complete does it
    replace ``out_dir``: the previous run is renamed aside, the new one renamed in, ``commit``
    called (the ledger records the run), and only then the old one deleted. Any failure, Ctrl-C
    or a failing ``commit`` included, leaves ``out_dir`` as it was and removes the temporary
    folder and any parent folder made for it; the renames and the clean-up run with Ctrl-C held
    (:mod:`allocator.core.interrupt`), and a Ctrl-C during the renames undoes them. A process
    killed in between leaves the siblings that :mod:`allocator.outputs.recovery` repairs.

    Parameters
    ----------
    out_dir:
        The output folder.
    run:
        The run's result.
    commit:
        Called with ``out_dir`` once the new run is in place and the earlier one still aside.
    keep:
        Write nothing and leave ``out_dir`` as it is (``commit`` is still called): an
        infeasible run that must not replace an earlier allocation.
    copies:
        Copy the inputs into ``inputs/`` (:mod:`allocator.outputs.copies`). A batch that
        moves the folder's files elsewhere makes the copies there instead.

    Returns
    -------
    list of Path
        The files written, under ``out_dir``.

    Raises
    ------
    InputError
        When the output folder is refused (see :func:`check_out_dir`), or an input changed
        during the run (its copy would not be what the run read).
    """
    out = output_folder(out_dir)
    check_out_dir(out, [f.path for f in run.inputs])
    if keep:
        if commit is not None:
            commit(out)
        return []
    made = _missing_folders(out.parent)
    tmp: list[Path] = []
    try:
        with interrupt.held():  # a folder made must be known, to be removed again
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.append(Path(tempfile.mkdtemp(prefix=partial_prefix(out.name), dir=out.parent)))
        os.chmod(tmp[0], 0o755)
        names = _write_files(tmp[0], run, copies=copies)
        with interrupt.held() as hold:
            _swap(tmp[0], out, hold, commit)
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


def _write_files(folder: Path, run: RunResult, *, copies: bool) -> list[str]:
    start = time.perf_counter()
    alloc = run.allocation
    inputs = copy_inputs(folder, run.inputs) if copies else []
    if alloc is None or run.status in (Status.INFEASIBLE, Status.UNKNOWN):
        doc = result_document(run, None, None)
        run.timings["write"] = time.perf_counter() - start
        doc["timings"] = timings_document(run.timings)
        _write(folder / RESULT, json_bytes(doc))
        return [*inputs, RESULT]
    constraints = constraints_table(run.build, alloc)
    awards = awards_table(run.build, alloc, constraints)
    _write(folder / AWARDS, csv_bytes(awards))
    _write(folder / CONSTRAINTS, csv_bytes(constraints))
    doc = result_document(run, awards, constraints)
    _write(folder / WORKBOOK, workbook_bytes(*for_the_reader(doc, awards, constraints)))
    _write(folder / REPORT, report_bytes(doc, awards, constraints))
    run.timings["write"] = time.perf_counter() - start
    doc["timings"] = timings_document(run.timings)
    # result.json last: its presence marks a complete folder.
    _write(folder / RESULT, json_bytes(doc))
    return sorted([*OUTPUT_FILES, *inputs])


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _swap(new: Path, out: Path, hold: interrupt.Hold, commit: Commit | None) -> None:
    """Rename ``new`` to ``out``, the earlier ``out`` aside first; commit; delete the old one.

    Runs with Ctrl-C held: if one came meanwhile, or ``commit`` fails, both renames are undone
    (``new`` is back, the earlier ``out`` in its place) and the caller removes ``new``.
    """
    old: Path | None = None
    if out.exists():
        old = out.parent / f"{old_prefix(out.name)}{uuid.uuid4().hex[:OLD_RANDOM]}"
        os.rename(out, old)
        _fault_point("between-renames")
    try:
        os.rename(new, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        raise
    _fault_point("before-ledger")
    try:
        if commit is not None and not hold.interrupted:
            commit(out)
    except BaseException:
        _undo(new, out, old)
        raise
    if hold.interrupted:
        _undo(new, out, old)
        return
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _undo(new: Path, out: Path, old: Path | None) -> None:
    os.rename(out, new)
    if old is not None:
        os.rename(old, out)


def _fault_point(name: str) -> None:
    """Kill this process outright at ``name`` when :data:`FAULT_ENV` says so (fault tests)."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = [
    "FAULT_ENV",
    "FAULT_POINTS",
    "Commit",
    "check_out_dir",
    "output_folder",
    "write_outputs",
]
