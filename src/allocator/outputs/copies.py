"""A run folder's own copies of its inputs, so that the folder stands alone.

Every run folder holds, under ``inputs/``, the scenario, the policy model and the enterprise
data the run read, each named ``<first 16 hex digits of its sha256>-<file name>``
(:func:`allocator.outputs.names.copy_name`); ``result.json`` lists them under ``inputs``
with their sha256. ``allocate audit`` and ``allocate explain`` read these copies, so they
work from any folder, on a folder moved to another machine, and after the originals were
edited or deleted (docs/outputs.md, docs/audit.md).

How the bytes get there (a data file of a million firms is some 150 MB):

- a copy is streamed in 1 MiB chunks and hashed on the way
  (:func:`allocator.core.files.copy_hashed`): never held in memory, read once; when the
  bytes differ from the sha256 the run recorded on loading, the file changed during the run
  and the run is refused rather than recorded with inputs it did not read;
- an original is never hard-linked: an editor that saves in place would then change the
  run's copy with it, silently;
- within one batch (a sweep), the variants' copies of the same model and data are hard links
  to the first copy made in that batch, when the file system allows it (a plain copy
  otherwise): all of them are copies allocate itself made and checked, and a 20-variant
  sweep of a 150 MB file then takes 150 MB, not 3 GB.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from allocator.core.errors import InputError, InputProblem
from allocator.core.files import copy_hashed
from allocator.core.i18n import _
from allocator.outputs.names import INPUTS_DIR, copy_name
from allocator.outputs.result import InputFile


def copy_inputs(
    folder: Path, inputs: Iterable[InputFile], *, made: dict[str, Path] | None = None
) -> list[str]:
    """Copy a run's input files into ``folder/inputs/``, named by content.

    Parameters
    ----------
    folder:
        The run folder being written (the temporary one, before it is renamed into place).
    inputs:
        The run's input files with the sha256 recorded when they were loaded.
    made:
        Copies already made in this batch, by sha256: a copy of the same bytes is a hard
        link to it where the file system allows. Updated with the copies made here.

    Returns
    -------
    list of str
        The copies' paths inside ``folder``, ``/``-separated.

    Raises
    ------
    InputError
        When an input's bytes now differ from those the run loaded (it changed during the
        run), or it can no longer be read.
    """
    (folder / INPUTS_DIR).mkdir(exist_ok=True)
    names: list[str] = []
    for f in inputs:
        name = copy_name(f.sha256, f.path.name)
        names.append(name)
        target = folder / name
        if target.exists():  # the same bytes under the same name: copied already
            continue
        earlier = (made or {}).get(f.sha256)
        if earlier is None or not _link(earlier, target):
            _copy(f, target)
        if made is not None:
            made.setdefault(f.sha256, target)
    return names


def _link(earlier: Path, target: Path) -> bool:
    try:
        os.link(earlier, target)
    except OSError:  # another file system, or one without hard links
        return False
    return True


def _copy(f: InputFile, target: Path) -> None:
    try:
        digest = copy_hashed(f.path, target)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise InputError(
            [InputProblem(f.shown, _("an input file allocate can copy"), str(exc.strerror))]
        ) from None
    if digest != f.sha256:
        target.unlink()
        raise InputError(
            [
                InputProblem(
                    f.shown,
                    _("the file as the run read it (sha256 {sha256})").format(sha256=f.sha256),
                    _("it changed during the run (sha256 now {sha256})").format(sha256=digest),
                )
            ]
        )


__all__ = ["copy_inputs"]
