"""What a reader sees, in both languages, drawn by a real browser: the report, the compare
page, a chart, and a clerk's refused workbook on the workbench's upload page.

Playwright drives Debian's Chromium (headless). Each page is checked for its language's own
words, then photographed; ``make web-screenshots`` keeps the pictures in docs/img
(``report-zh.png``, ``report-en.png`` …) for docs/report.md and docs/web.md, else they go
to the test's temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import filled_template, start_server, stop_server, upload

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ALLOCATE = str(Path(sys.executable).with_name("allocate"))
LANGS = ("zh", "en")
# Words each page shows in one language only: the page passed through the catalogue.
WORDS = {
    "report": {"zh": "奖补资金分配报告", "en": "Allocation report"},
    "compare": {"zh": "2 次运行对比", "en": "Comparison of 2 runs"},
    "refused": {"zh": "第 7 行", "en": "row 7"},
}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("ALLOCATE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _allocate(lang: str, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ALLOCATE_LANG"}
    done = subprocess.run(
        [ALLOCATE, "--lang", lang, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per language: the two samples run, compared into a page and a folder of charts."""
    base = tmp_path_factory.mktemp("runs")
    folders = {}
    for lang in LANGS:
        ledger = str(base / f"{lang}.sqlite")
        runs = []
        for year in ("2025", "2026"):
            out = base / f"{lang}-{year}"
            _allocate(lang, "run", f"scenarios/liuzhou-{year}-q1.yaml", "--out", str(out),
                      "--ledger", ledger, "--quiet")  # fmt: skip
            runs.append(str(out))
        _allocate(lang, "compare", *runs, "--html", str(base / f"{lang}-compare.html"),
                  "--charts", str(base / f"{lang}-charts"))  # fmt: skip
        folders[lang] = base
    return folders


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_report_in_each_language(
    page: Page, outputs: dict[str, Path], shots: Path, lang: str
) -> None:
    page.goto((outputs[lang] / f"{lang}-2026" / "report.html").as_uri())
    expect(page.locator("h1")).to_have_text(WORDS["report"][lang])
    other = WORDS["report"]["en" if lang == "zh" else "zh"]
    assert other not in page.content()
    # The district chart's labels in the reader's names for the districts.
    district = "柳东新区" if lang == "zh" else "Liudong New Area"
    expect(page.locator("#by-district svg text", has_text=district).first).to_be_attached()
    page.screenshot(path=shots / f"report-{lang}.png")


@pytest.mark.parametrize("lang", LANGS)
def test_the_compare_page_and_a_chart_in_each_language(
    page: Page, outputs: dict[str, Path], shots: Path, lang: str
) -> None:
    page.goto((outputs[lang] / f"{lang}-compare.html").as_uri())
    expect(page.locator("h1")).to_have_text(WORDS["compare"][lang])
    page.screenshot(path=shots / f"compare-{lang}.png")
    chart = outputs[lang] / f"{lang}-charts" / "districts.svg"
    svg = chart.read_text(encoding="utf-8")
    # Text stays text, in a font stack with a CJK family, so that 汉字 render.
    assert "WenQuanYi Micro Hei" in svg or "Noto Sans CJK SC" in svg
    assert ("柳东新区" in svg) == (lang == "zh")
    page.goto(chart.as_uri())
    page.locator("svg").first.screenshot(path=shots / f"chart-{lang}.png")


def test_a_refused_workbook_in_each_language(page: Page, shots: Path, tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        workbook = filled_template(tmp_path, district_at_row_7="柳州新区")
        for lang in LANGS:
            page.goto(f"{server.url}/lang/{lang}?next=/new")
            upload(page, server, workbook)
            problems = page.locator("#data-problems")
            expect(problems).to_contain_text(WORDS["refused"][lang])
            expect(problems).to_contain_text("柳州新区")
            page.locator("#data-problems").scroll_into_view_if_needed()
            page.screenshot(path=shots / f"refused-{lang}.png")
    finally:
        stop_server(server)
