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

import gettext
import os
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
    if chosen == "en":
        _Current.translations = gettext.NullTranslations()
    else:
        _Current.translations = gettext.translation(
            DOMAIN, localedir=LOCALE_DIR, languages=[chosen]
        )
    _Current.language = chosen
    return chosen


def language() -> str:
    """The language messages are given in now (``zh`` or ``en``)."""
    if not _Current.language:
        _default()
    return _Current.language


def _default() -> None:
    try:
        set_language()
    except ValueError:
        # A bad ALLOCATE_LANG must not stop every message: Chinese, and the CLI says why.
        set_language(DEFAULT)


def _(message: str) -> str:
    """The reader's text for the English message id ``message``."""
    if not _Current.language:
        _default()
    return _Current.translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The reader's text for a message with a count (``1 problem`` / ``3 problems``)."""
    if not _Current.language:
        _default()
    return _Current.translations.ngettext(singular, plural, n)


__all__ = [
    "DEFAULT",
    "ENV",
    "LANGUAGES",
    "_",
    "language",
    "ngettext",
    "resolve_language",
    "set_language",
]
