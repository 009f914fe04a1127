"""Keep the Chinese message catalogue in step with the sources (``make messages``).

Extracts every ``_()`` / ``ngettext()`` id (and Jinja2 ``{% trans %}``) by the mapping in
babel.cfg, adds new ids to ``core/locale/zh/LC_MESSAGES/allocator.po`` with an empty text,
drops ids no source uses any more, and compiles the ``.mo`` beside it. Prints the ids that
still need a Chinese text; tests/test_i18n.py fails while any does.
"""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "src/allocator/core/locale/zh/LC_MESSAGES/allocator.po"
KEYWORDS = {"_": None, "N_": None, "N_plural": (1, 2), "ngettext": (1, 2)}
# babel.cfg is the one mapping of where messages are: the sources and every template.
with (ROOT / "babel.cfg").open(encoding="utf-8") as _cfg:
    METHODS, OPTIONS = parse_mapping_cfg(_cfg)


def help_ids() -> list[str]:
    """The docstrings click shows as the commands' help (``allocate run --help``).

    A command's docstring is its help text; allocator.cli translates it, cleaned as
    :func:`inspect.cleandoc` cleans it, when the language is known. Babel does not extract
    docstrings, so the functions decorated with ``*.command(...)`` or ``*.group(...)`` in
    cli.py and commands/ are read here.
    """
    ids = []
    sources = [
        ROOT / "src/allocator/cli.py",
        *sorted((ROOT / "src/allocator/commands").glob("*.py")),
    ]
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorated = any(
                isinstance(d, ast.Call) and getattr(d.func, "attr", None) in ("command", "group")
                for d in node.decorator_list
            )
            doc = ast.get_docstring(node)
            if decorated and doc:
                ids.append(doc)
    return ids


def field_ids() -> list[str]:
    """The data fields' descriptions (inputs/schema.py), which the template's 字段说明 sheet
    and the data dictionary show through ``_()``; they are data, not literals in a call."""
    from allocator.inputs.schema import FIELDS

    return [f.description for f in FIELDS]


def source_ids() -> dict[str, str | tuple[str, str]]:
    """Every message id in the sources, keyed by its singular form."""
    ids: dict[str, str | tuple[str, str]] = {doc: doc for doc in [*help_ids(), *field_ids()]}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, KEYWORDS
    ):
        key = message[0] if isinstance(message, tuple) else message
        ids[key] = tuple(message[:2]) if isinstance(message, tuple) else message
    return ids


def main() -> int:
    with PO.open("rb") as handle:
        old = read_po(handle, locale="zh")
    new = Catalog(
        locale="zh",
        domain="allocator",
        project="allocate",
        header_comment="# Chinese texts of allocate's messages: `make messages`, then translate.",
        version="",
        msgid_bugs_address="",
        last_translator="allocate",
        language_team="zh",
        # Fixed, so that the catalogue changes only when a message does.
        creation_date=datetime(2026, 1, 1, tzinfo=UTC),
        revision_date=datetime(2026, 1, 1, tzinfo=UTC),
        fuzzy=False,
    )
    missing = []
    for key, msgid in sorted(source_ids().items()):
        kept = old.get(key)
        string = kept.string if kept is not None else ("", "") if isinstance(msgid, tuple) else ""
        new.add(msgid, string, flags=("python-brace-format",) if "{" in key else ())
        if not (string[0] if isinstance(string, tuple) else string):
            missing.append(key)
    with PO.open("wb") as handle:
        write_po(handle, new, width=100, no_location=True, sort_output=True)
    with PO.with_suffix(".mo").open("wb") as handle:
        write_mo(handle, new)
    for key in missing:
        print(f"needs a Chinese text: {key!r}")
    print(f"{len(new) - len(missing)} of {len(new)} messages translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
