"""PyYAML's syntax problems as the kind of mistake a clerk made, in the reader's words.

PyYAML says what its parser met ("mapping values are not allowed in this context"); a clerk
editing a scenario needs to know what to change (a value holding ": " goes in quotes). Both
of PyYAML's parsers are covered: libyaml's (the C one, used when installed) and the pure
Python one word the same problems differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from allocator.core.i18n import _

_Explain = Callable[[re.Match[str]], str]

# The first pattern that matches names the problem.
_KINDS: tuple[tuple[re.Pattern[str], _Explain], ...] = (
    (
        re.compile(r"tab character|found character '\\t'"),
        lambda m: _("a tab character: YAML is indented with spaces only"),
    ),
    (
        re.compile(r"found character (?:(?P<char>'.*') )?that cannot start any token"),
        lambda m: _(
            "a character that cannot start a value ({char}): put the value in quotes"
        ).format(char=m["char"] or "@ ` %"),
    ),
    (
        re.compile(r"mapping values are not allowed"),
        lambda m: _(
            "a colon where none may stand: a value holding ': ' must be in quotes, or the line "
            "is indented differently from its neighbours"
        ),
    ),
    (
        re.compile(r"could not find expected ':'|did not find expected key"),
        lambda m: _(
            "a line that is not 'key: value' where one is due: a colon is missing, a quote is "
            "not closed, or the line is indented differently from its neighbours"
        ),
    ),
    (
        re.compile(r"expected <block end>|did not find expected '-' indicator"),
        lambda m: _("a line whose indentation does not line up with the lines above it"),
    ),
    (
        re.compile(r"(mapping keys|sequence entries) are not allowed"),
        lambda m: _("a key or a list entry ('- ') where the indentation allows none"),
    ),
    (
        re.compile(r"expected ',' or '[]}]'|unclosed '\['"),
        lambda m: _("a list in [ ] or a table in { } that is not closed"),
    ),
    (
        re.compile(r"found unexpected (end of stream|document separator)"),
        lambda m: _("a quoted text that is not closed: its closing quote is missing"),
    ),
    (
        re.compile(r"unknown escape character(?: (?P<char>.+))?"),
        lambda m: _("an unknown escape after a backslash inside double quotes: use single quotes"),
    ),
    (
        re.compile(r"expected the node content|did not find expected node content"),
        lambda m: _("a value missing after '-', '&', '*' or '!'"),
    ),
    (
        re.compile(
            r"expected a single document|expected '<document start>'|"
            r"did not find expected <document start>|but found another document"
        ),
        lambda m: _("more than one document: a line '---' or text after the file's data"),
    ),
    (
        re.compile(r"expected a comment or a line break|expected comment or line break"),
        lambda m: _("more text on a line after a closing quote"),
    ),
)


def yaml_problem(text: str) -> str:
    """PyYAML's ``problem`` text as the reader's explanation of the kind of mistake.

    A problem none of the known kinds matches is given in PyYAML's own words.
    """
    for pattern, explain in _KINDS:
        match = pattern.search(text)
        if match is not None:
            return explain(match)
    return text.removeprefix("found ")


__all__ = ["yaml_problem"]
