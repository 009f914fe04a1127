"""Leftovers of a run killed while it replaced its output folder, found and repaired.

A run replaces folder ``NAME`` in three steps (:func:`allocator.outputs.folder.write_outputs`):
the earlier run is renamed aside to ``.NAME.old-…``, the new one renamed in from
``.NAME.partial-…``, the run recorded in the ledger, and only then the old one deleted. A
process killed on the way (SIGKILL, a power cut) leaves siblings behind. The rule that
repairs them keeps the last state the ledger knows:

- the new run is in place and recorded: the old folder is deleted;
- the new run is in place but was never recorded: it is removed and the old one put back;
- no folder is in place (killed between the renames): the old one is put back;
- a ``.partial-`` folder that was never put in place is deleted.

``allocate run`` repairs before it writes; ``allocate history`` and ``allocate audit`` only
report (:func:`describe`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from allocator.core.i18n import _
from allocator.outputs.names import old_prefix, partial_prefix


def leftovers(out_dir: Path) -> tuple[list[Path], list[Path]]:
    """The ``.partial-`` and ``.old-`` siblings of an output folder, oldest first."""
    parent = out_dir.parent
    if not parent.is_dir():
        return [], []
    partial, old = partial_prefix(out_dir.name), old_prefix(out_dir.name)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return [], []
    partials = sorted((p for p in entries if p.name.startswith(partial)), key=_age)
    olds = sorted((p for p in entries if p.name.startswith(old)), key=_age)
    return partials, olds


def describe(out_dir: Path) -> list[str]:
    """One line per leftover beside ``out_dir``, saying what it is and what repairs it."""
    partials, olds = leftovers(out_dir)
    lines = [
        _(
            "{path}: the unfinished folder of a run that was stopped; the next `allocate run` "
            "into {folder} removes it"
        ).format(path=p, folder=out_dir)
        for p in partials
    ]
    lines += [
        _(
            "{path}: an earlier run moved aside by a run that was stopped before it finished; "
            "the next `allocate run` into {folder} puts it back or removes it"
        ).format(path=p, folder=out_dir)
        for p in olds
    ]
    return lines


def recover(out_dir: Path, is_recorded: Callable[[Path], bool]) -> list[str]:
    """Repair the leftovers beside ``out_dir``; one line per repair, empty when none was due.

    Parameters
    ----------
    out_dir:
        The output folder (absolute).
    is_recorded:
        Whether the run now in ``out_dir`` is the one the ledger recorded for it.
    """
    partials, olds = leftovers(out_dir)
    done: list[str] = []
    if olds:
        newest, older = olds[-1], olds[:-1]
        if out_dir.exists() and is_recorded(out_dir):
            shutil.rmtree(newest, ignore_errors=True)
            done.append(
                _("removed {path}: the earlier run, replaced by the recorded run").format(
                    path=newest
                )
            )
        else:
            if out_dir.exists():
                # The run in place never reached the ledger: it is moved out of the way first,
                # so that the folder is never missing for longer than one rename.
                unrecorded = out_dir.parent / f"{partial_prefix(out_dir.name)}unrecorded"
                shutil.rmtree(unrecorded, ignore_errors=True)
                os.rename(out_dir, unrecorded)
                partials.append(unrecorded)
                done.append(
                    _(
                        "{folder}: the run in it was never recorded in the ledger; the earlier "
                        "run is put back"
                    ).format(folder=out_dir)
                )
            os.rename(newest, out_dir)
            done.append(_("put back {folder} from {name}").format(folder=out_dir, name=newest.name))
        for p in older:
            shutil.rmtree(p, ignore_errors=True)
            done.append(_("removed {path}: an older run moved aside").format(path=p))
    for p in partials:
        shutil.rmtree(p, ignore_errors=True)
        done.append(
            _("removed {path}: the unfinished folder of a run that was stopped").format(path=p)
        )
    return done


def _age(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


__all__ = ["describe", "leftovers", "recover"]
