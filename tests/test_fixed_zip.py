"""core.files.fixed_zip: fixed times and modes, pieces deflated side by side, one valid zip."""

from __future__ import annotations

import io
import random
import zipfile
import zlib

import pytest

from allocator.core import files
from allocator.core.files import ZIP_MODE, ZIP_TIME, fixed_zip


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return out.getvalue()


def _as_zipfile_writes(entries: dict[str, bytes], level: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ZIP_MODE << 16
            z.writestr(info, content, compresslevel=level)
    return out.getvalue()


def test_small_entries_are_written_byte_for_byte_as_zipfile_writes_them() -> None:
    entries = {"[Content_Types].xml": b"<a/>" * 50, "docProps/core.xml": b"", "名.xml": b"x"}
    for level in (1, zlib.Z_DEFAULT_COMPRESSION):
        assert fixed_zip(_zip(entries), level=level) == _as_zipfile_writes(entries, level)


def test_large_entries_deflated_in_pieces_read_back_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "DEFLATE_PIECE", 1000)
    rng = random.Random(7)
    big = bytes(rng.getrandbits(8) for _ in range(2500)) + b"<row/>" * 2000
    edited = fixed_zip(_zip({"xl/big.xml": big, "b": b"keep"}), edit=lambda n, c: c + b"!")
    with zipfile.ZipFile(io.BytesIO(edited)) as z:
        assert z.testzip() is None
        assert z.read("xl/big.xml") == big + b"!"
        assert z.read("b") == b"keep!"
        for info in z.infolist():
            assert info.date_time == ZIP_TIME
            assert info.external_attr >> 16 == ZIP_MODE
    # The pieces depend on the content alone: the same bytes again, whatever the threads.
    monkeypatch.setattr(files, "_threads", lambda: 1)
    assert fixed_zip(_zip({"xl/big.xml": big, "b": b"keep"}), edit=lambda n, c: c + b"!") == edited
