"""report.html in a real browser: headless Chromium loads it without a console message, its
DOM holds result.json's totals, and it draws a page worth looking at.

Needs Chromium (Debian's ``chromium``). Without it the tests fail in CI (``CI=true``), where
it must be installed, and are skipped on a developer's machine.
"""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.outputs.names import REPORT
from browsing import FLAGS, chromium
from report_dom import dom_totals, expected_totals

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"

TIMEOUT_S = 120


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page with a fresh profile."""
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def console_lines(stderr: str) -> list[str]:
    """What the page said on its console, uncaught errors included."""
    return [line for line in stderr.splitlines() if ":INFO:CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    chromium()  # before the run: no need to allocate for a browser that is not there
    out = tmp_path_factory.mktemp("browser") / "out"
    result = CliRunner().invoke(main, ["run", str(SCENARIO_2026), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return out / REPORT, doc


def test_the_console_check_catches_errors(tmp_path: Path) -> None:
    # A page that does fail, so that the absence of messages below means something.
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p id="x">x</p>'
        "<script>console.error('boom'); notDefined();</script></body></html>",
        encoding="utf-8",
    )
    done = browse(page, tmp_path / "profile", "--dump-dom")
    lines = console_lines(done.stderr)
    assert any('"boom"' in line for line in lines), done.stderr
    assert any("Uncaught ReferenceError" in line for line in lines), done.stderr


def test_report_loads_cleanly_with_the_totals_of_result_json(
    report: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    page, doc = report
    done = browse(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr
    assert console_lines(done.stderr) == []
    # The DOM as the browser built it, not the file: the same figures as result.json.
    assert dom_totals(done.stdout) == expected_totals(doc)


def test_report_screenshot(report: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    page, _ = report
    shot = tmp_path / "report.png"
    done = browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert done.returncode == 0, done.stderr
    assert console_lines(done.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == (1280, 2000)
    # A blank or all-white page compresses to a few kilobytes; text, tables and three charts
    # give well over 50.
    assert len(data) > 50_000
