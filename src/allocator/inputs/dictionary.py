"""The data dictionary, ``docs/data-dictionary.md`` and its Chinese ``data-dictionary.zh.md``,
rendered from :mod:`allocator.inputs.schema`, and the words the template shares with it.

Run ``python -m allocator.inputs.dictionary`` to regenerate both; a test fails when a committed
file differs from what this module renders, so they cannot drift apart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from allocator.core.files import write_atomic
from allocator.core.i18n import _, speaking
from allocator.inputs.schema import (
    DISTRICT_ALIASES,
    DISTRICTS,
    FIELDS,
    INDUSTRIES,
    MAIN_PRODUCTS,
    PROVINCIAL_TYPES,
    Field,
    Kind,
)

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "docs" / "data-dictionary.md"
ZH_PATH = DEFAULT_PATH.with_name("data-dictionary.zh.md")
COMMAND = ".venv/bin/python -m allocator.inputs.dictionary"

# The schema's groups, kinds and their reading rules as the reader names them; looked up
# when the dictionary or the template is written, in the language chosen then.
_GROUP_TITLES: dict[str, Callable[[], str]] = {
    "identity": lambda: _("Identity"),
    "flags": lambda: _("Flags and dates"),
    "output": lambda: _("Output value and revenue"),
    "power": lambda: _("Electricity"),
    "investment": lambda: _("Investment and projects"),
    "markets": lambda: _("Markets"),
    "volumes": lambda: _("Volumes and sector figures"),
    "finance": lambda: _("Finance"),
    "chemical park": lambda: _("Chemical park"),
    "provincial": lambda: _("Provincial awards"),
    "applications": lambda: _("Applications"),
}

_KIND_TEXT: dict[Kind, Callable[[], str]] = {
    Kind.TEXT: lambda: _("text"),
    Kind.CATEGORY: lambda: _("category"),
    Kind.BOOL: lambda: _("yes/no"),
    Kind.INT: lambda: _("whole number"),
    Kind.MONEY: lambda: _("money"),
    Kind.QUANTITY: lambda: _("quantity"),
    Kind.PERCENT: lambda: _("per cent"),
    Kind.DATE: lambda: _("date"),
    Kind.LIST: lambda: _("list"),
}

_KIND_RULES: dict[Kind, Callable[[], str]] = {
    Kind.TEXT: lambda: _(
        'Trimmed text; blank is `""`. The credit code is also upper-cased, its full-width '
        "characters folded, and checked against GB 32100-2015."
    ),
    Kind.CATEGORY: lambda: _(
        "One of the code lists below, by code, Chinese label or (districts) English name; "
        "stored as the canonical value."
    ),
    Kind.BOOL: lambda: _(
        "是/否, Y/N, yes/no, true/false, 1/0, √/×; blank is 否 for an optional flag and an "
        "error for a required one."
    ),
    Kind.INT: lambda: _("A whole number of 0 or more; blank is unknown (NaN)."),
    Kind.MONEY: lambda: _(
        "万元, 0 or more, thousands separators allowed (`1,234.5`); blank is unknown."
    ),
    Kind.QUANTITY: lambda: _("In the unit shown, 0 or more; blank is unknown."),
    Kind.PERCENT: lambda: _(
        "Per cent from 0 to 100 (`45` or `45%`; an Excel cell formatted as a percentage is "
        "read as it shows)."
    ),
    Kind.DATE: lambda: _(
        "`2024-04-01`, `2024/4/1`, `2024.4.1`, `2024年4月1日`, `20240401` or an Excel date; "
        "blank is unknown."
    ),
    Kind.LIST: lambda: _("Items separated by `;` (also `；` `,` `，` `、`), stored as `a;b`."),
}


def group_title(group: str) -> str:
    """A field group as the reader names it (``identity`` → 基本信息)."""
    title = _GROUP_TITLES.get(group)
    return title() if title else group.capitalize()


def kind_name(kind: Kind) -> str:
    """A field's type as the reader names it (``Kind.MONEY`` → 金额)."""
    return _KIND_TEXT[kind]()


def required_word(required: bool) -> str:
    """必填 or 选填 (required or optional) in the reader's language."""
    return _("required") if required else _("optional")


def description(field: Field) -> str:
    """A field's description in the reader's language (tools/messages.py extracts them)."""
    return _(field.description)


_NUMERALS = "零一二三四五六七八九十"


def _numeral(k: int) -> str:
    """Chinese numeral for 1..99, as the documents number their clauses."""
    tens, ones = divmod(k, 10)
    if tens == 0:
        return _NUMERALS[ones]
    head = "" if tens == 1 else _NUMERALS[tens]
    return head + "十" + (_NUMERALS[ones] if ones else "")


def clause_label(ref: str) -> str:
    """A clause reference as the documents print it.

    ``2025:11`` → ``2025（十一）``; ``2026:3.9`` → ``2026 三（九）``; ``2026:6`` → ``2026 六``.
    """
    year, _, clause = ref.partition(":")
    parts = [int(p) for p in clause.split(".")]
    if year == "2025":
        return f"2025（{_numeral(parts[0])}）"
    if len(parts) == 1:
        return f"{year} {_numeral(parts[0])}"
    return f"{year} {_numeral(parts[0])}（{_numeral(parts[1])}）"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _field_row(f: Field) -> str:
    clauses = ", ".join(clause_label(c) for c in f.clauses)
    return (
        "| "
        + " | ".join(
            _cell(v)
            for v in (
                f"`{f.name}`",
                f.zh,
                f.unit,
                kind_name(f.kind),
                required_word(f.required),
                clauses,
                description(f),
            )
        )
        + " |"
    )


def render() -> str:
    """The whole data dictionary as Markdown, in the language messages are given in."""
    lines = [
        _("# Data dictionary"),
        "",
        "<!-- Generated from src/allocator/inputs/schema.py; do not edit. "
        f"Regenerate: {COMMAND} -->",
        "",
        _(
            "The enterprise table has one row per firm and one column per field below. A file "
            "may use the English field names or the Chinese headers (surrounding spaces and "
            "full-width brackets do not matter); fields a file lacks are blank, and only the "
            "required fields must be present. The Excel template (`allocate template --out "
            "FILE.xlsx`) writes both headers. `allocate validate FILE` checks a file and lists "
            "every problem."
        ),
        "",
        _(
            "Money is in 万元 throughout. Clause references name the 2025 measures "
            "(柳政规〔2025〕1号, （一）…（二十）) and the 2026 draft (一（一）…十一（三）)."
        ),
        "",
        _("{fields} fields, {required} of them required.").format(
            fields=len(FIELDS), required=sum(f.required for f in FIELDS)
        ),
        "",
        _("## Types"),
        "",
        _("| type | how a cell is read |"),
        "| --- | --- |",
    ]
    lines += [f"| {kind_name(k)} | {_cell(_KIND_RULES[k]())} |" for k in Kind]
    lines += [
        "",
        _(
            "NaN, inf and N/A literals are refused in number columns (a blank cell means "
            "unknown), and so are values above 1e12."
        ),
        "",
        _("## Fields"),
    ]
    groups = list(dict.fromkeys(f.group for f in FIELDS))
    for group in groups:
        lines += [
            "",
            f"### {group_title(group)}",
            "",
            _("| field | Chinese header | unit | type | required | clauses | description |"),
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_field_row(f) for f in FIELDS if f.group == group]
    aliases: dict[str, list[str]] = {}
    for alias, name in DISTRICT_ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    lines += [
        "",
        _("## Code lists"),
        "",
        _("### Districts (`district`)"),
        "",
        _("| Chinese name (stored) | English name | also accepted |"),
        "| --- | --- | --- |",
    ]
    lines += [f"| {zh} | {en} | {'、'.join(aliases.get(zh, []))} |" for zh, en in DISTRICTS.items()]
    lines += [
        "",
        _("### Industries (`industry`)"),
        "",
        _("| code (stored) | Chinese label |"),
        "| --- | --- |",
    ]
    lines += [f"| `{code}` | {label} |" for code, label in INDUSTRIES.items()]
    lines += [
        "",
        _("### Main products (`main_product`)"),
        "",
        _("| code (stored) | Chinese label |"),
        "| --- | --- |",
    ]
    lines += [f"| `{code}` | {label} |" for code, label in MAIN_PRODUCTS.items()]
    lines += [
        "",
        _("### Provincial award types"),
        "",
        _("| type | Chinese label | fields |"),
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{t}` | {zh} | `prov_applied_{t}`, `prov_award_{t}` |"
        for t, zh in PROVINCIAL_TYPES.items()
    ]
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dictionary in English and in Chinese to the two paths given (default
    ``docs/data-dictionary.md`` and ``docs/data-dictionary.zh.md``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = (Path(args[0]), Path(args[1])) if len(args) >= 2 else (DEFAULT_PATH, ZH_PATH)
    for lang, path in zip(("en", "zh"), paths, strict=True):
        with speaking(lang):
            write_atomic(path, render().encode("utf-8"))
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
