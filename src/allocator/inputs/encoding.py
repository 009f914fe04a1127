"""The text of a CSV file: UTF-8 (with or without BOM) or GBK/GB18030, nothing in between."""

from __future__ import annotations

import codecs
import re

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _

# Two or more CJK characters: a line of GBK bytes that also decodes as UTF-8 to Chinese text
# is, in practice, a line that was written as UTF-8 (GBK pairs rarely form UTF-8 sequences,
# and never several that land on CJK characters).
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uff00-\uffef].*[\u3400-\u9fff\uff00-\uffef]")


def _refuse_utf8_lines(data: bytes, label: str) -> None:
    """Refuse a GBK file with a line in UTF-8 (a pasted row), naming the first such line.

    GB18030 decodes almost any bytes, so such a file would load with that line's names
    turned into other characters; one encoding per file is the only safe reading.
    """
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            as_utf8 = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _CJK_RUN.search(as_utf8):
            raise InputError(
                [
                    InputProblem(
                        file=label,
                        row=number,
                        expected=_(
                            "one encoding for the whole file, as the rest of it is GBK/GB18030 "
                            "(save the whole file again, e.g. in Excel as 'CSV UTF-8')"
                        ),
                        found=_("a line in UTF-8 ({text})").format(text=repr(as_utf8.strip()[:40])),
                    )
                ]
            )


def utf8_body(data: bytes) -> bytes | None:
    """The bytes of a file that may be UTF-8, without its byte-order mark; None for UTF-16.

    Whether the bytes are valid UTF-8 is left to the reader (Arrow checks as it reads); a file
    that is not goes through :func:`decode_text`, which names its encoding problem.
    """
    if _utf16_or_binary(data):
        return None
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def _utf16_or_binary(data: bytes) -> bool:
    return data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]


def decode_text(data: bytes, label: str) -> str:
    """Bytes of a CSV to text: UTF-8 (with or without BOM), else GB18030 (a superset of GBK).

    A file that is mostly UTF-8 but holds a few invalid bytes is refused rather than read as
    GB18030: that reading would succeed and silently turn every Chinese character into
    another one.
    """
    if _utf16_or_binary(data):
        # UTF-16 (Excel's "Unicode text") would decode as GB18030 into nonsense.
        raise InputError(
            [
                InputProblem(
                    file=label,
                    row=1,
                    expected=_(
                        "text encoded as UTF-8 or GBK/GB18030 (in Excel: Save As "
                        "'CSV UTF-8' or 'CSV (逗号分隔)')"
                    ),
                    found=_("UTF-16 text or binary data (zero bytes)"),
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    as_utf8 = data.decode("utf-8", errors="replace")
    damaged = as_utf8.count("\ufffd")
    multibyte = len(re.findall(r"[^\x00-\x7f\ufffd]", as_utf8))
    # Text in GBK read as UTF-8 fails at nearly every Chinese character and decodes almost
    # none; UTF-8 with a few damaged bytes decodes most of its characters.
    if multibyte <= 2 * damaged:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            error = exc
            reading = "GBK/GB18030"
        else:
            _refuse_utf8_lines(data, label)
            return text
    else:
        error, reading = utf8_error, "UTF-8"
    offset = error.start
    bad = data[offset : offset + 4].hex(" ").upper()
    line = data.count(b"\n", 0, offset) + 1
    raise InputError(
        [
            InputProblem(
                file=label,
                row=line,
                expected=_(
                    "text encoded as UTF-8 or GBK/GB18030 (in Excel: Save As "
                    "'CSV UTF-8' or 'CSV (逗号分隔)')"
                ),
                found=_("bytes {bad} at byte offset {offset}, invalid in {reading}").format(
                    bad=bad, offset=offset, reading=reading
                ),
            )
        ]
    )


__all__ = ["decode_text", "utf8_body"]
