"""The data dictionary, ``docs/data-dictionary.md``, rendered from :mod:`allocator.inputs.schema`.

Run ``python -m allocator.inputs.dictionary`` to regenerate it; a test fails when the committed
file differs from what this module renders, so the two cannot drift apart.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from allocator.core.files import write_atomic
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
COMMAND = ".venv/bin/python -m allocator.inputs.dictionary"

_GROUP_TITLES = {
    "identity": "Identity",
    "flags": "Flags and dates",
    "output": "Output value and revenue",
    "power": "Electricity",
    "investment": "Investment and projects",
    "markets": "Markets",
    "volumes": "Volumes and sector figures",
    "finance": "Finance",
    "chemical park": "Chemical park",
    "provincial": "Provincial awards",
    "applications": "Applications",
}

_KIND_TEXT = {
    Kind.TEXT: "text",
    Kind.CATEGORY: "category",
    Kind.BOOL: "yes/no",
    Kind.INT: "whole number",
    Kind.MONEY: "money",
    Kind.QUANTITY: "quantity",
    Kind.PERCENT: "per cent",
    Kind.DATE: "date",
    Kind.LIST: "list",
}

_KIND_RULES = {
    Kind.TEXT: 'Trimmed text; blank is `""`. The credit code is also upper-cased, its '
    "full-width characters folded, and checked against GB 32100-2015.",
    Kind.CATEGORY: "One of the code lists below, by code, Chinese label or (districts) English "
    "name; stored as the canonical value.",
    Kind.BOOL: "是/否, Y/N, yes/no, true/false, 1/0, √/×; blank is 否 for an optional flag "
    "and an error for a required one.",
    Kind.INT: "A whole number of 0 or more; blank is unknown (NaN).",
    Kind.MONEY: "万元, 0 or more, thousands separators allowed (`1,234.5`); blank is unknown.",
    Kind.QUANTITY: "In the unit shown, 0 or more; blank is unknown.",
    Kind.PERCENT: "Per cent from 0 to 100 (`45` or `45%`; an Excel cell formatted as a "
    "percentage is read as it shows).",
    Kind.DATE: "`2024-04-01`, `2024/4/1`, `2024.4.1`, `2024年4月1日`, `20240401` or an Excel "
    "date; blank is unknown.",
    Kind.LIST: "Items separated by `;` (also `；` `,` `，` `、`), stored as `a;b`.",
}

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
                _KIND_TEXT[f.kind],
                "required" if f.required else "optional",
                clauses,
                f.description,
            )
        )
        + " |"
    )


def render() -> str:
    """The whole data dictionary as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated from src/allocator/inputs/schema.py; do not edit. "
        f"Regenerate: {COMMAND} -->",
        "",
        "The enterprise table has one row per firm and one column per field below. A file may",
        "use the English field names or the Chinese headers (surrounding spaces and full-width",
        "brackets do not matter); fields a file lacks are blank, and only the required fields",
        "must be present. The Excel template (`allocate template --out FILE.xlsx`) writes both",
        "headers. `allocate validate FILE` checks a file and lists every problem.",
        "",
        "Money is in 万元 throughout. Clause references name the 2025 measures",
        "(柳政规〔2025〕1号, （一）…（二十）) and the 2026 draft (一（一）…十一（三）).",
        "",
        f"{len(FIELDS)} fields, {sum(f.required for f in FIELDS)} of them required.",
        "",
        "## Types",
        "",
        "| type | how a cell is read |",
        "| --- | --- |",
    ]
    lines += [f"| {_KIND_TEXT[k]} | {_cell(_KIND_RULES[k])} |" for k in Kind]
    lines += [
        "",
        "NaN, inf and N/A literals are refused in number columns (a blank cell means unknown),",
        "and so are values above 1e12.",
        "",
        "## Fields",
    ]
    groups = list(dict.fromkeys(f.group for f in FIELDS))
    for group in groups:
        lines += [
            "",
            f"### {_GROUP_TITLES.get(group, group.capitalize())}",
            "",
            "| field | Chinese header | unit | type | required | clauses | description |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_field_row(f) for f in FIELDS if f.group == group]
    aliases: dict[str, list[str]] = {}
    for alias, name in DISTRICT_ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    lines += [
        "",
        "## Code lists",
        "",
        "### Districts (`district`)",
        "",
        "| Chinese name (stored) | English name | also accepted |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {zh} | {en} | {'、'.join(aliases.get(zh, []))} |" for zh, en in DISTRICTS.items()]
    lines += [
        "",
        "### Industries (`industry`)",
        "",
        "| code (stored) | Chinese label |",
        "| --- | --- |",
    ]
    lines += [f"| `{code}` | {label} |" for code, label in INDUSTRIES.items()]
    lines += [
        "",
        "### Main products (`main_product`)",
        "",
        "| code (stored) | Chinese label |",
        "| --- | --- |",
    ]
    lines += [f"| `{code}` | {label} |" for code, label in MAIN_PRODUCTS.items()]
    lines += [
        "",
        "### Provincial award types",
        "",
        "| type | Chinese label | fields |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{t}` | {zh} | `prov_applied_{t}`, `prov_award_{t}` |"
        for t, zh in PROVINCIAL_TYPES.items()
    ]
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dictionary to the path given (default ``docs/data-dictionary.md``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else DEFAULT_PATH
    write_atomic(path, render().encode("utf-8"))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
