"""File helpers every layer shares: content hashes, atomic writes and reproducible zips.

One home for each, so that a hash recorded by a run and the hash an audit recomputes can never
be computed two ways, and every zip (a workbook, a template) is written with the same fixed
times and modes.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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

    The entries are written as :mod:`zipfile` writes them; an entry larger than
    :data:`DEFLATE_PIECE` is deflated in pieces of that size on several threads and the pieces
    joined into one deflate stream (as pigz does), so a large worksheet takes a fraction of the
    time. The pieces are fixed by the content alone, so the bytes do not depend on the number
    of threads or cores.

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
    entries: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        for info in src.infolist():
            content = src.read(info.filename)
            if edit is not None:
                content = edit(info.filename, content)
            entries.append((info.filename, content))
    if sum(len(content) for _, content in entries) * 1.05 > _ZIP32_LIMIT:
        return _zipfile_zip(entries, level)  # zipfile adds the ZIP64 records such sizes need
    out = io.BytesIO()
    directory: list[bytes] = []
    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        for name, content in entries:
            crc, packed = _deflate(pool, content, level)
            raw, flags = _name_bytes(name)
            fields = (crc, len(packed), len(content), len(raw), 0)
            offset = out.tell()
            out.write(_LOCAL.pack(_LOCAL_SIG, 20, 0, flags, zipfile.ZIP_DEFLATED, *_DOS, *fields))
            out.write(raw)
            out.write(packed)
            directory.append(
                _CENTRAL.pack(
                    _CENTRAL_SIG,
                    20,
                    3,
                    20,
                    0,
                    flags,
                    zipfile.ZIP_DEFLATED,
                    *_DOS,
                    *fields,
                    0,
                    0,
                    0,
                    ZIP_MODE << 16,
                    offset,
                )
                + raw
            )
    start = out.tell()
    out.write(b"".join(directory))
    size = out.tell() - start
    out.write(_END.pack(_END_SIG, 0, 0, len(entries), len(entries), size, start, 0))
    return out.getvalue()


#: Entries larger than this are deflated in pieces of this size, side by side.
DEFLATE_PIECE = 8 << 20
# zipfile switches to ZIP64 records above this; such archives are left to it.
_ZIP32_LIMIT = (1 << 31) - 1
# The DOS date and time of ZIP_TIME (1980-01-01 00:00:00): time 0, date day 1 of month 1.
_DOS = (0, (ZIP_TIME[0] - 1980) << 9 | ZIP_TIME[1] << 5 | ZIP_TIME[2])
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LOCAL_SIG, _CENTRAL_SIG, _END_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _name_bytes(name: str) -> tuple[bytes, int]:
    """An entry's name as stored, and the flag that marks a UTF-8 name (as zipfile sets it)."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), 0x800


def _deflate(pool: ThreadPoolExecutor, content: bytes, level: int) -> tuple[int, bytes]:
    """The CRC-32 and raw deflate stream of ``content``, large contents in parallel pieces.

    Every piece but the last ends with a sync flush (byte-aligned, not final), so the pieces
    joined are one valid stream; each piece is primed with the 32 KiB before it, so the file
    is hardly larger than one deflated whole. zlib releases the GIL while it works.
    """
    view = memoryview(content)
    starts = range(0, max(len(content), 1), DEFLATE_PIECE)
    crc = pool.submit(zlib.crc32, content)
    pieces = [
        pool.submit(_deflate_piece, view, start, level, start + DEFLATE_PIECE >= len(content))
        for start in starts
    ]
    return crc.result(), b"".join(piece.result() for piece in pieces)


def _deflate_piece(view: memoryview, start: int, level: int, last: bool) -> bytes:
    if start:
        primer = bytes(view[max(0, start - 32768) : start])
        packer = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=primer)
    else:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = packer.compress(view[start : start + DEFLATE_PIECE])
    return body + packer.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _zipfile_zip(entries: list[tuple[str, bytes]], level: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, content in entries:
            fixed = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = ZIP_MODE << 16
            dst.writestr(fixed, content, compresslevel=level)
    return out.getvalue()


__all__ = [
    "DEFLATE_PIECE",
    "ZIP_MODE",
    "ZIP_TIME",
    "copy_hashed",
    "fixed_zip",
    "sha256_bytes",
    "sha256_file",
    "write_atomic",
]
