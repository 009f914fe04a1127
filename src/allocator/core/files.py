"""File helpers every layer shares: content hashes, atomic writes and reproducible zips.

One home for each, so that a hash recorded by a run and the hash an audit recomputes can never
be computed two ways, and every zip (a workbook, a template) is written with the same fixed
times and modes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

_CHUNK = 1 << 20

# Every entry of a zip this project writes carries this time and mode, so equal content gives
# equal bytes on any machine and under any umask.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o644


def sha256_bytes(data: bytes) -> str:
    """The sha256 of ``data``, as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, as lowercase hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashed(source: str | Path, target: str | Path) -> str:
    """Copy ``source`` to a new file ``target`` in 1 MiB chunks; return the copy's sha256.

    One pass reads, hashes and writes, so that a file of hundreds of MB is neither held in
    memory nor read twice, and the hash is that of the bytes the copy holds. ``target`` must
    not exist yet.
    """
    digest = hashlib.sha256()
    with Path(source).open("rb") as src, Path(target).open("xb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file is either the old one or the new one.

    The bytes go to a temporary file in the same folder, which then replaces ``path`` in one
    step (``os.replace``); an interrupted run leaves no half-written file behind.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fixed_zip(
    data: bytes,
    *,
    edit: Callable[[str, bytes], bytes] | None = None,
    level: int = zlib.Z_DEFAULT_COMPRESSION,
) -> bytes:
    """Rewrite a zip (an .xlsx) with fixed entry times and modes, so equal content gives
    equal bytes.

    Parameters
    ----------
    data:
        The zip as written by its library.
    edit:
        Called with each entry's name and content; returns the content to keep (a workbook's
        document properties carry the time it was written, for instance).
    level:
        The deflate level of every entry (zlib's default unless given): a lower one writes a
        large workbook several times faster for a slightly larger file.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = ZIP_MODE << 16
            content = src.read(info.filename)
            if edit is not None:
                content = edit(info.filename, content)
            dst.writestr(fixed, content, compresslevel=level)
    return out.getvalue()


__all__ = [
    "ZIP_MODE",
    "ZIP_TIME",
    "copy_hashed",
    "fixed_zip",
    "sha256_bytes",
    "sha256_file",
    "write_atomic",
]
