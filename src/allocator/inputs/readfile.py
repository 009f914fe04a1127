"""Reading an input file's bytes: regular files only, and no more than a stated size.

Every input (scenario, model, data) is read through :func:`read_input`, so that a FIFO, a
device such as ``/dev/zero`` or a folder is refused at once rather than read forever, and a
file larger than its kind allows is refused before it is loaded into memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _

MIB = 1024 * 1024


def read_input(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, refused when not regular or over ``max_bytes``.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor,
    so that a FIFO neither blocks the check nor slips in between check and read.

    Raises
    ------
    InputError
        For a missing or unreadable file, anything but a regular file, or a file larger than
        ``max_bytes``.
    """
    file = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError([InputProblem(file, _("an existing file"), _("no such file"))]) from None
    except OSError as exc:
        raise InputError(
            [InputProblem(file, _("a readable file"), exc.strerror or str(exc))]
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError([InputProblem(file, _("a regular file"), _kind(info.st_mode))])
        if info.st_size > max_bytes:
            raise InputError([InputProblem(file, _at_most(max_bytes), _size(info.st_size))])
        try:
            # One byte more than allowed: a file that grows while it is read is still caught.
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(
                [InputProblem(file, _("a readable file"), exc.strerror or str(exc))]
            ) from None
    if len(data) > max_bytes:
        raise InputError([InputProblem(file, _at_most(max_bytes), _("a file that kept growing"))])
    return data


def describe_file(path: str | Path) -> str:
    """What ``path`` is, in a clerk's words: a folder, a named pipe, a device ... ."""
    try:
        return _kind(os.stat(path).st_mode)
    except OSError as exc:
        return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return _("a folder")
    if stat.S_ISFIFO(mode):
        return _("a named pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    if stat.S_ISREG(mode):
        return _("a regular file")
    return _("not a regular file")


def _size(n: int) -> str:
    if n >= MIB:
        return _("{mib} MiB ({count} bytes)").format(mib=f"{n / MIB:,.1f}", count=f"{n:,}")
    return _("{count} bytes").format(count=f"{n:,}")


def _at_most(n: int) -> str:
    return _("a file of at most {size}").format(size=_size(n))


__all__ = ["MIB", "describe_file", "read_input"]
