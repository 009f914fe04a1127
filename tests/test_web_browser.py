"""The workbench in a real browser: Playwright driving Debian's Chromium against
``allocate serve`` started on a free port of 127.0.0.1.

A clerk fills the Excel template with the bureau's firms, uploads it with one mistake, reads
the message at its row and column, fixes it, sets up the scenario, runs it, downloads
awards.xlsx and audits the run; two runs are compared and a budget sweep is charted; a
token-protected server and a form without its CSRF field are refused.

Screenshots go to ``$ALLOCATE_WEB_SCREENSHOTS`` when it is set (``make web-screenshots``
writes docs/img/web-*.png for docs/web.md), else to the test's temporary folder.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from allocator.cli import main
from allocator.outputs.ledger import list_runs
from allocator.web.pages_runs import PAGE_SIZE
from browsing import SAMPLE, Server, chromium, filled_template, start_server, stop_server, upload

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
MODEL = "liuzhou-2026-q1-draft.yaml"
# A bound that only stops a hung test; no test asserts how long anything takes.
RUN_TIMEOUT_MS = 600_000


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("ALLOCATE_WEB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    chromium()
    running = start_server(tmp_path_factory.mktemp("web"))
    yield running
    stop_server(running)


def save_scenario(page: Page, server: Server, name: str, budget: str) -> None:
    page.select_option("#model-select", MODEL)
    page.click("form.inline button[type=submit]")
    page.fill("input[name=name]", name)
    page.fill("input[name=budget_wan]", budget)
    page.select_option("select[name=rule]", "proportional")
    page.click("#save-scenario")
    expect(page).to_have_url(f"{server.url}/scenarios/{name}")


def test_a_clerk_uploads_fixes_runs_downloads_and_audits(
    page: Page, server: Server, shots: Path, tmp_path: Path
) -> None:
    # The workbook with a district that is not one of Liuzhou's, at spreadsheet row 7.
    upload(page, server, filled_template(tmp_path, district_at_row_7="柳州新区"))
    problems = page.locator("#data-problems tr.problem-row")
    expect(problems).to_have_count(1)
    expect(problems.first).to_have_attribute("data-row", "7")
    expect(problems.first).to_contain_text("第 7 行")
    expect(problems.first).to_contain_text("“所属县区”列")
    expect(problems.first).to_contain_text("柳州新区")
    expect(page.locator("#data-problems")).to_contain_text("数据有 1 处问题")
    page.screenshot(path=shots / "web-data-problems.png", full_page=True)

    # Fixed, uploaded again: the check passes and the scenario form appears.
    upload(page, server, filled_template(tmp_path))
    expect(page.locator("#data-ok")).to_contain_text("数据检查通过：1500 家企业")
    page.select_option("#model-select", MODEL)
    page.click("form.inline button[type=submit]")
    expect(page.locator("#params tr.param.b-assumed").first).to_be_visible()
    expect(page.locator("#params tr.param.b-document").first).to_be_visible()
    page.screenshot(path=shots / "web-new.png")
    page.locator("#rules").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('rules').previousElementSibling.scrollIntoView()")
    page.screenshot(path=shots / "web-params.png")
    page.fill("input[name=name]", "clerk-2026-q1")
    page.fill("input[name=budget_wan]", "5000")
    page.select_option("select[name=rule]", "proportional")
    page.click("#save-scenario")
    expect(page).to_have_url(f"{server.url}/scenarios/clerk-2026-q1")

    page.click("#run-button")
    expect(page.locator("#job")).to_be_visible()
    page.wait_for_url(f"{server.url}/runs/*", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#awarded")).to_have_text("5,000")
    expect(page.locator("#awards-table tbody tr")).to_have_count(PAGE_SIZE)
    page.screenshot(path=shots / "web-result.png")

    # Search by firm name, then by credit code.
    page.fill("#awards-search input[name=q]", "泰美茂")
    page.click("#awards-search button")
    rows = page.locator("#awards-table tbody tr")
    expect(rows.first).to_contain_text("柳州泰美茂工程机械有限公司（模拟）")
    code = rows.first.locator("td").first.inner_text()
    page.fill("#awards-search input[name=q]", code.lower())
    page.click("#awards-search button")
    expect(page.locator("#awards-table tbody tr").first).to_contain_text(code)

    # awards.xlsx: every award within its claim, the fund spent exactly (claims exceed it),
    # and every recipient a firm of the uploaded data.
    with page.expect_download() as caught:
        page.click("#downloads a:has-text('awards.xlsx')")
    workbook = tmp_path / "awards.xlsx"
    caught.value.save_as(workbook)
    book = openpyxl.load_workbook(workbook, read_only=True)
    try:
        header, *records = list(book["奖补明细"].iter_rows(values_only=True))
    finally:
        book.close()  # a read-only workbook keeps its file open until closed
    claim, award = header.index("测算金额（万元）"), header.index("奖补金额（万元）")
    assert sum(r[award] for r in records) == 5000
    assert sum(r[claim] for r in records) > 5000
    assert all(0 <= r[award] <= r[claim] for r in records)
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        codes = {r["credit_code"] for r in csv.DictReader(handle)}
    firms = {r[0] for r in records if r[2] == "企业"}  # the workbook names kinds (zh)
    assert firms
    assert firms <= codes

    # Explain one firm, then audit the run.
    page.fill("#explain-form input[name=recipient]", code)
    page.click("#explain-form button")
    expect(page.locator("#explanation")).to_contain_text(code)
    page.screenshot(path=shots / "web-explain.png", full_page=False)
    page.go_back()
    page.click("#audit-button")
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "passed")
    page.screenshot(path=shots / "web-audit.png", full_page=True)

    # The same ledger as the command line's: the run is there, and `allocate audit` agrees.
    entries = list_runs(f"sqlite:///{server.ledger}")
    assert [e.scenario_name for e in entries] == ["clerk-2026-q1"]
    audited = CliRunner().invoke(
        main, ["audit", entries[0].output_dir, "--ledger", str(server.ledger)]
    )
    assert audited.exit_code == 0, audited.output
    page.goto(server.url)
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Allocation runs")
    page.screenshot(path=shots / "web-home-en.png")
    page.click("#lang-zh")
    expect(page.locator("h1")).to_have_text("分配记录")


def test_two_runs_side_by_side_and_a_budget_sweep(page: Page, server: Server, shots: Path) -> None:
    upload(page, server, SAMPLE)
    save_scenario(page, server, "sweep-2026-q1", "5000")
    page.fill("#sweep-form input[name=budgets]", "4000,6000")
    page.click("#sweep-button")
    page.wait_for_url(f"{server.url}/sweeps/*", timeout=RUN_TIMEOUT_MS)
    table = page.locator("#sweep-table tbody tr")
    expect(table).to_have_count(2)
    expect(table.nth(0)).to_contain_text("4000")
    expect(table.nth(1)).to_contain_text("6000")
    expect(page.locator("#sweep-chart svg")).to_have_count(1)
    page.screenshot(path=shots / "web-sweep.png", full_page=True)
    runs = [table.nth(k).locator("a").get_attribute("href") for k in range(2)]
    assert all(r and r.startswith("/runs/") for r in runs)

    # Each variant is a run of the ledger, and passes the command line's audit.
    variants = [
        e for e in list_runs(f"sqlite:///{server.ledger}") if e.scenario_name.startswith("sweep-")
    ]
    assert sorted(e.budget_wan for e in variants) == [4000, 6000]
    for entry in variants:
        audited = CliRunner().invoke(
            main, ["audit", entry.output_dir, "--ledger", str(server.ledger)]
        )
        assert audited.exit_code == 0, audited.output

    a, b = (str(r).rsplit("/", 1)[1] for r in runs)
    page.goto(f"{server.url}/compare")
    page.select_option("#run-a", a)
    page.select_option("#run-b", b)
    page.click("#compare-button")
    metrics = page.locator("#metrics")
    expect(metrics.locator("thead th")).to_have_count(3)
    expect(metrics).to_contain_text("4,000")
    expect(metrics).to_contain_text("6,000")
    expect(page.locator("#charts svg")).to_have_count(4)
    page.screenshot(path=shots / "web-compare.png")
    page.locator("#charts").screenshot(path=shots / "web-compare-charts.png")


def test_a_form_posted_without_its_csrf_field_is_refused(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/")  # the browser holds the CSRF cookie
    refused = page.request.post(f"{server.url}/new/upload", form={"model": MODEL})
    assert refused.status == 403
    assert "安全令牌" in refused.text()
    forged = page.request.post(
        f"{server.url}/new/upload", form={"csrf_token": "0" * 64, "model": MODEL}
    )
    assert forged.status == 403


def test_a_token_protected_server_refuses_a_request_without_the_token(
    page: Page, tmp_path: Path
) -> None:
    chromium()
    protected = start_server(tmp_path, "--token", "clerk-token-2026")
    try:
        refused = page.goto(f"{protected.url}/")
        assert refused is not None
        assert refused.status == 401
        expect(page.locator("body")).to_contain_text("需要访问令牌")
        assert page.request.get(f"{protected.url}/new").status == 401
        allowed = page.goto(f"{protected.url}/?token=clerk-token-2026")
        assert allowed is not None
        assert allowed.status == 200
        assert "token=" not in page.url  # the token moved to a cookie
        assert page.goto(f"{protected.url}/new").status == 200  # type: ignore[union-attr]
    finally:
        stop_server(protected)


@pytest.mark.slow
def test_a_100000_firm_result_page_is_paged(page: Page, server: Server, shots: Path) -> None:
    data = server.workspace / "uploads" / "firms-100k.csv"
    made = CliRunner().invoke(
        main, ["generate", "--enterprises", "100000", "--out", str(data), "--quiet"]
    )
    assert made.exit_code == 0, made.output
    scenario = server.workspace / "scenarios" / "national-100k.yaml"
    scenario.write_text(
        f"name: national-100k\nmodel: {ROOT / 'models' / MODEL}\ndata: ../uploads/{data.name}\n"
        "budget_wan: 300000\nfairness:\n  rule: proportional\n"
        "solver:\n  time_limit_s: 600\n  workers: 2\n  seed: 0\n",
        encoding="utf-8",
    )
    runs_before = len(list_runs(f"sqlite:///{server.ledger}"))

    # Cancelled from its page while it runs: nothing kept, nothing recorded.
    page.goto(f"{server.url}/scenarios/national-100k")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-state", "running", timeout=120_000)
    page.click("#cancel-button")
    expect(page.locator("#job-state")).to_have_text("已取消", timeout=120_000)
    assert len(list_runs(f"sqlite:///{server.ledger}")) == runs_before
    assert list((server.workspace / ".work").iterdir()) == []

    # Run again to the end, its phases shown as they end.
    page.goto(f"{server.url}/scenarios/national-100k")
    page.click("#run-button")
    expect(page.locator("#phases tbody tr").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=shots / "web-run.png")
    page.wait_for_url(f"{server.url}/runs/*", timeout=RUN_TIMEOUT_MS)
    result_url = page.url

    # A fresh load of the result page, timed by the browser itself.
    page.goto(result_url)
    timing = page.evaluate(
        """() => new Promise((resolve) => {
            const nav = performance.getEntriesByType('navigation')[0];
            const report = (paint) => resolve({
                response_end_ms: nav.responseEnd,
                first_contentful_paint_ms: paint ? paint.startTime : null,
                dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                bytes: nav.transferSize,
            });
            new PerformanceObserver((list) => {
                const fcp = list.getEntriesByName('first-contentful-paint')[0];
                if (fcp) { report(fcp); }
            }).observe({type: 'paint', buffered: true});
            setTimeout(() => report(null), 10000);
        })"""
    )
    entry = list_runs(f"sqlite:///{server.ledger}")[0]
    with (Path(entry.output_dir) / "awards.csv").open(encoding="utf-8") as handle:
        rows = sum(1 for _ in handle) - 1
    pages = math.ceil(rows / PAGE_SIZE)
    expect(page.locator("#awards-table tbody tr")).to_have_count(PAGE_SIZE)
    expect(page.locator("#awards-count")).to_contain_text(f"第 1 / {pages} 页，共 {rows} 条")
    page.screenshot(path=shots / "web-100k.png", full_page=False)
    page.click("#next-page")
    expect(page.locator("#awards-count")).to_contain_text(f"第 2 / {pages} 页")
    expect(page.locator("#awards-table tbody tr")).to_have_count(PAGE_SIZE)
    # Reported, not asserted: speed belongs to `make bench`.
    report = {"awards_rows": rows, "pages": pages, **timing}
    (shots / "web-100k.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"100,000-firm result page: {report}")
