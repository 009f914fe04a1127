"""Checks of an XLSX archive before any XML in it is parsed.

An ``.xlsx`` file is a zip archive of XML parts. Before openpyxl reads one, the archive is
checked so that a hostile or broken file is refused with a message rather than expanded or
parsed: at most :data:`MAX_UNPACKED` bytes unpacked in all, no part compressed more than
:data:`MAX_RATIO` to 1 (a zip bomb packs gigabytes into kilobytes), and no XML part with a
document type declaration (``<!DOCTYPE``), which is where entity expansion ("billion
laughs") and external entities (reading local files or URLs) live; Excel never writes one.
"""

from __future__ import annotations

import io
import re
import zipfile

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.readfile import MIB

MAX_UNPACKED = 1024 * MIB
MAX_RATIO = 200
# The prolog of an XML part (declaration, comments) comes before its root element; a
# document type declaration can only be there.
_PROLOG_BYTES = 64 * 1024
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def check_xlsx_archive(data: bytes, label: str) -> None:
    """Refuse a workbook whose archive could exhaust memory or whose XML declares a DTD.

    Raises
    ------
    InputError
        For a file that is not a zip archive, unpacks to more than :data:`MAX_UNPACKED`
        bytes, has a part compressed more than :data:`MAX_RATIO`:1, or has an XML part with
        a ``<!DOCTYPE`` or ``<!ENTITY`` declaration.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if total > MAX_UNPACKED:
                    raise InputError(
                        [
                            InputProblem(
                                label,
                                _("a workbook of at most {size} MiB unpacked").format(
                                    size=f"{MAX_UNPACKED // MIB:,}"
                                ),
                                _("more than that by part {part}").format(part=repr(info.filename)),
                            )
                        ]
                    )
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > MIB and ratio > MAX_RATIO:
                    raise InputError(
                        [
                            InputProblem(
                                label,
                                _(
                                    "a workbook whose parts are compressed at most {ratio}:1 "
                                    "(a zip bomb is refused)"
                                ).format(ratio=MAX_RATIO),
                                _("part {part} compressed {ratio}:1").format(
                                    part=repr(info.filename), ratio=f"{ratio:,.0f}"
                                ),
                            )
                        ]
                    )
                if info.filename.lower().endswith(_XML_SUFFIXES):
                    with archive.open(info) as part:
                        prolog = part.read(_PROLOG_BYTES)
                    _check_prolog(prolog, info.filename, label)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise InputError(
            [
                InputProblem(
                    label,
                    _("an Excel .xlsx workbook"),
                    _("a file that is not a readable zip archive ({problem})").format(
                        problem=f"{type(exc).__name__}: {exc}"
                    ),
                )
            ]
        ) from None


def _check_prolog(prolog: bytes, name: str, label: str) -> None:
    root = _ROOT_START.search(prolog)
    head = prolog[: root.start()] if root else prolog
    if _DOCTYPE.search(head):
        raise InputError(
            [
                InputProblem(
                    label,
                    _(
                        "a workbook whose XML has no document type declaration (Excel writes "
                        "none; entities and external references are refused)"
                    ),
                    _("<!DOCTYPE or <!ENTITY in part {part}").format(part=repr(name)),
                )
            ]
        )
    if root is None and len(prolog) == _PROLOG_BYTES:
        raise InputError(
            [
                InputProblem(
                    label,
                    _("a workbook whose XML parts start their content within 64 KiB"),
                    _("part {part} with a longer prolog").format(part=repr(name)),
                )
            ]
        )


__all__ = ["MAX_RATIO", "MAX_UNPACKED", "check_xlsx_archive"]
