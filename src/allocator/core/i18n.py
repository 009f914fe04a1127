"""Messages in the reader's language: Chinese by default, English on request.

Every text a clerk or an auditor reads is written in the code once, in English, as a message
id wrapped in :func:`_` (``_("row {row}").format(row=3)``); the Chinese text comes from the
catalogue ``core/locale/zh/LC_MESSAGES/allocator.po``, compiled to the ``.mo`` beside it
(``make messages`` extracts the ids with Babel, updates the catalogue and compiles it;
``tests/test_i18n.py`` fails when an id has no translation or the ``.mo`` is stale).

The language is chosen once per process: :func:`set_language` with ``zh`` or ``en``, else the
``ALLOCATE_LANG`` environment variable, else Chinese. Placeholders are named, so a translation
may put them in any order.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext
import os
from collections.abc import Iterator
from pathlib import Path

DOMAIN = "allocator"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"
ENV = "ALLOCATE_LANG"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


class _Current:
    """The process's chosen language and its translations, set on first use."""

    language = ""
    translations: gettext.NullTranslations = gettext.NullTranslations()


def _normalise(lang: str | None) -> str | None:
    """``zh``, ``zh_CN``, ``zh-CN.UTF-8`` → ``zh``; ``en``, ``en_US`` → ``en``; else None."""
    if not lang:
        return None
    head = lang.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    return head if head in LANGUAGES else None


def resolve_language(lang: str | None = None) -> str:
    """The language a process speaks: ``lang`` if given, else ``$ALLOCATE_LANG``, else ``zh``.

    Raises
    ------
    ValueError
        When ``lang`` (or the environment variable) names a language other than zh or en.
    """
    for source, value in (("--lang", lang), (ENV, os.environ.get(ENV))):
        if value:
            chosen = _normalise(value)
            if chosen is None:
                raise ValueError(f"{source}: expected zh or en, found {value!r}")
            return chosen
    return DEFAULT


def set_language(lang: str | None = None) -> str:
    """Choose the language of every later message; returns the language chosen."""
    chosen = resolve_language(lang)
    _Current.translations = _translations(chosen)
    _Current.language = chosen
    return chosen


# A language chosen for one stretch of work (a web request, an audit reading a workbook
# written in the other language), over the process's own; None: the process's.
_SPOKEN: contextvars.ContextVar[tuple[str, gettext.NullTranslations] | None] = (
    contextvars.ContextVar("allocate_language", default=None)
)
_LOADED: dict[str, gettext.NullTranslations] = {}


def _translations(lang: str) -> gettext.NullTranslations:
    if lang not in _LOADED:
        _LOADED[lang] = (
            gettext.NullTranslations()
            if lang == "en"
            else gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])
        )
    return _LOADED[lang]


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Give every message inside the ``with`` block in ``lang`` (``zh`` or ``en``).

    The choice holds for the current thread or task only (a context variable), so that a
    server answers each request in its reader's language while the process keeps its own.
    """
    chosen = _normalise(lang) or DEFAULT
    token = _SPOKEN.set((chosen, _translations(chosen)))
    try:
        yield chosen
    finally:
        _SPOKEN.reset(token)


def language() -> str:
    """The language messages are given in now (``zh`` or ``en``)."""
    spoken = _SPOKEN.get()
    if spoken is not None:
        return spoken[0]
    if not _Current.language:
        _default()
    return _Current.language


def _active() -> gettext.NullTranslations:
    spoken = _SPOKEN.get()
    if spoken is not None:
        return spoken[1]
    if not _Current.language:
        _default()
    return _Current.translations


def _default() -> None:
    try:
        set_language()
    except ValueError:
        # A bad ALLOCATE_LANG must not stop every message: Chinese, and the CLI says why.
        set_language(DEFAULT)


def _(message: str) -> str:
    """The reader's text for the English message id ``message``."""
    return _active().gettext(message)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name for the marker
    """Mark ``message`` for the catalogue without translating it now.

    For texts fixed before the language is known (a command's ``--help``, written when the
    module is imported): the id is extracted here and translated with :func:`_` when shown.
    """
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - as N_
    """Mark a message with a plural for the catalogue without translating it now (see N_)."""
    return singular, plural


def ngettext(singular: str, plural: str, n: int) -> str:
    """The reader's text for a message with a count (``1 problem`` / ``3 problems``)."""
    return _active().ngettext(singular, plural, n)


__all__ = [
    "DEFAULT",
    "ENV",
    "LANGUAGES",
    "N_",
    "_",
    "language",
    "ngettext",
    "resolve_language",
    "set_language",
    "speaking",
]
