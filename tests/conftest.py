"""Shared fixtures: valid enterprise records, small files under pytest's tmp_path, and a
headless Chromium driven by Playwright for the browser tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Messages are asserted against their English ids here; tests/test_i18n.py and the Chinese
# cases set the language themselves (Chinese is what a user gets without ALLOCATE_LANG).
os.environ["ALLOCATE_LANG"] = "en"

# Unified social credit codes published by real enterprises, each with a valid check character.
REAL_CODES = ("91350100M000100Y43", "91110000600037341L", "91440300708461136T")

Record = dict[str, object]


@pytest.fixture
def real_codes() -> tuple[str, ...]:
    """Three valid credit codes of real enterprises."""
    return REAL_CODES


@pytest.fixture
def firm() -> Callable[..., Record]:
    """Make a valid record of the six required fields; keyword arguments add or replace."""

    def make(code: str = REAL_CODES[0], **fields: object) -> Record:
        record: Record = {
            "credit_code": code,
            "name": "柳州甲机械有限公司（模拟）",
            "district": "柳东新区",
            "industry": "machinery",
            "above_scale": "是",
            "manufacturing": "是",
        }
        record.update(fields)
        return record

    return make


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (the header first) as a CSV under ``tmp_path``; returns the path.

    Cells are joined with commas and quoted only when they hold a comma, quote or line
    break; ``encoding`` and ``newline`` choose the bytes (``\\r\\n`` as Excel writes).
    """

    def write(
        rows: Sequence[Sequence[object]],
        name: str = "data.csv",
        *,
        encoding: str = "utf-8",
        newline: str = "\n",
    ) -> Path:
        def cell(value: object) -> str:
            text = "" if value is None else str(value)
            if any(ch in text for ch in ',"\r\n'):
                text = '"' + text.replace('"', '""') + '"'
            return text

        body = "".join(",".join(cell(v) for v in row) + newline for row in rows)
        path = tmp_path / name
        path.write_bytes(body.encode(encoding))
        return path

    return write


@pytest.fixture
def write_records(write_csv: Callable[..., Path]) -> Callable[..., Path]:
    """Write records as a CSV whose header is the union of their keys, in order."""

    def write(*records: Record, name: str = "data.csv", **options: str) -> Path:
        header = list(dict.fromkeys(k for r in records for k in r))
        rows = [header, *([r.get(k, "") for k in header] for r in records)]
        return write_csv(rows, name, **options)

    return write


@pytest.fixture(autouse=True)
def _own_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test records its runs in a ledger of its own, never in the working tree."""
    monkeypatch.setenv("ALLOCATE_LEDGER", str(tmp_path_factory.mktemp("ledger") / "ledger.sqlite"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, launched by Playwright (not a browser build of Playwright's own)."""
    # Imported here so that a run without browser tests never loads Playwright or the CLI.
    from playwright.sync_api import sync_playwright

    from browsing import ARGS, chromium

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()
