"""The folder of a batch of runs (a sweep, a sensitivity analysis): made ready, filled safely.

A batch folder is replaced on every batch, so it must hold nothing else: :func:`prepare_folder`
accepts an absent or empty folder, or an earlier batch of the same kind (recognised by its
marker files), which it removes; anything else is refused before a variant runs.
:func:`write_run_folder` puts a variant's run folder in place in one rename.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.outputs.copies import copy_inputs
from allocator.outputs.names import INPUTS_DIR, OUTPUT_ENTRIES, RESULT
from allocator.outputs.result import InputFile


def check_folder(
    out: Path,
    inputs: Sequence[Path],
    *,
    what: str,
    markers: Sequence[str],
    is_entry: Callable[[Path], bool],
) -> list[Path]:
    """Check that ``out`` may take a batch: absent, empty, or an earlier batch.

    Parameters
    ----------
    out:
        The folder.
    inputs:
        The input files, which ``out`` must not hold.
    what:
        The kind of batch, for messages (``sweep``, ``sensitivity analysis``).
    markers:
        Names of which at least one marks an earlier batch (a finished one's table, an
        interrupted one's ``scenarios/``).
    is_entry:
        Whether an entry of the folder belongs to an earlier batch.

    Returns
    -------
    list of Path
        The earlier batch's entries, for :func:`clear` to remove when the new one is written.

    Raises
    ------
    InputError
        When ``out`` is a file, holds an input file, holds anything an earlier batch does not,
        or holds entries without any marker.
    """
    where = str(out)
    word = _(what)  # the callers' N_() ids: "sweep", "sensitivity analysis"
    if out.exists() and not out.is_dir():
        raise InputError([InputProblem(where, _("a folder for the results"), _("a file"))])
    real = out.resolve()
    for p in inputs:
        folder = p.resolve().parent
        if folder == real or real in folder.parents:
            raise InputError(
                [
                    InputProblem(
                        where,
                        _(
                            "a {what} folder apart from the inputs (it is replaced on every {what})"
                        ).format(what=word),
                        _("it holds the input file {path}").format(path=p),
                    )
                ]
            )
    if not out.is_dir():
        return []
    entries = sorted(out.iterdir())
    if not entries:
        return []
    foreign = [e.name for e in entries if not is_entry(e)]
    # Without a marker, a folder of run folders (out/ itself) is not a batch to delete.
    marked = any((out / m).exists() for m in markers)
    if foreign or not marked:
        raise InputError(
            [
                InputProblem(
                    where,
                    _(
                        "an empty folder or an earlier {what} (with {markers}), which is replaced"
                    ).format(what=word, markers=" / ".join(markers)),
                    _("other content: {names}").format(
                        names=", ".join(foreign or [e.name for e in entries])[:200]
                    ),
                )
            ]
        )
    return entries


def clear(entries: Sequence[Path]) -> None:
    """Remove an earlier batch's entries (:func:`check_folder`)."""
    for e in entries:
        if e.is_dir():
            shutil.rmtree(e)
        elif e.exists():
            e.unlink()


def prepare_folder(
    out: Path,
    inputs: Sequence[Path],
    *,
    what: str,
    markers: Sequence[str],
    is_entry: Callable[[Path], bool],
) -> None:
    """:func:`check_folder`, then remove the earlier batch at once."""
    clear(check_folder(out, inputs, what=what, markers=markers, is_entry=is_entry))


def is_run_folder(entry: Path) -> bool:
    """Whether ``entry`` is a run's output folder, or what an interrupted write left."""
    if not entry.is_dir() or entry.is_symlink():
        return False
    names = [e.name for e in entry.iterdir()]
    # .<name>.partial-… and .old-… are what an interrupted run or variant leaves.
    return set(names) <= set(OUTPUT_ENTRIES) and (
        RESULT in names or entry.name.startswith(".") or not names
    )


def write_run_folder(
    out: Path,
    files: Mapping[str, bytes],
    *,
    inputs: Sequence[InputFile] = (),
    made: dict[str, Path] | None = None,
) -> None:
    """Write a run folder's files (name to bytes) as ``out``, renamed into place at once.

    ``inputs`` are copied into its ``inputs/`` (:func:`allocator.outputs.copies.copy_inputs`,
    hard links to the copies in ``made`` where possible) before ``result.json`` is written.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        if inputs:
            copy_inputs(tmp, inputs, made=made)
        # result.json last: its presence marks a complete folder.
        for name in sorted(files, key=lambda n: (n == RESULT, n)):
            (tmp / name).write_bytes(files[name])
        tmp.rename(out)
        if made is not None:  # the batch's copies now live in the folder renamed into place
            for digest, path in made.items():
                if path.parent.parent == tmp and path.parent.name == INPUTS_DIR:
                    made[digest] = out / INPUTS_DIR / path.name
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["check_folder", "clear", "is_run_folder", "prepare_folder", "write_run_folder"]
