"""Shared test helpers for the tests that drive a real browser (marker ``browser``).

:func:`chromium` finds Debian's Chromium (it fails in CI and skips elsewhere without one);
``FLAGS`` keep it headless, off the network and away from the user's profile, ``ARGS`` are
those of them Playwright needs. :func:`start_server` and :func:`stop_server` run
``allocate serve`` on a free port of 127.0.0.1; :func:`filled_template` fills the Excel
template with the sample's firms as a clerk would, and :func:`upload` sends a file from the
workbench's upload page. The ``browser`` fixture itself is in tests/conftest.py.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import pytest
from click.testing import CliRunner

from allocator.cli import main

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"

# Each flag keeps the browser off the network and away from the user's profile; together they
# print console messages on stderr as ":INFO:CONSOLE" lines.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)
# Those of the flags Playwright needs (the logging flags are for reading console lines,
# which Playwright does itself).
ARGS = list(FLAGS[:6])
# A bound that only stops a hung start; no test asserts how long anything takes.
START_TIMEOUT_S = 120


def chromium() -> str:
    """The Chromium executable; fails in CI and skips elsewhere when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed; CI must install it (apt-get install -y chromium)")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI runs these tests")


@dataclass
class Server:
    url: str
    workspace: Path
    ledger: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, *extra: str) -> Server:
    """``allocate serve`` on a free port of 127.0.0.1, answering once it is up."""
    port = free_port()
    workspace, ledger = root / "ws", root / "ledger.sqlite"
    allocate = Path(sys.executable).parent / "allocate"
    argv = [str(allocate), "serve", "--port", str(port), "--workspace", str(workspace),
            "--models", str(ROOT / "models"), "--ledger", str(ledger), *extra]  # fmt: skip
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(argv, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/static/app.css", timeout=5):
                break
        except urllib.error.HTTPError:
            break  # up, and refusing a request without the token
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError((root / "server.log").read_text()) from None
            time.sleep(0.2)
    return Server(url, workspace, ledger, process)


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def filled_template(folder: Path, *, district_at_row_7: str | None = None) -> Path:
    """``allocate template`` filled with the sample's 1,500 firms, as a clerk would."""
    template = folder / "template.xlsx"
    result = CliRunner().invoke(main, ["template", "--out", str(template)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(template)
    sheet = book["企业数据"]
    names = [str(c.value).split(" · ")[0] for c in sheet[2]]
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            sheet.append([record.get(n) or None for n in names])
    if district_at_row_7 is not None:
        sheet.cell(row=7, column=names.index("district") + 1, value=district_at_row_7)
    out = folder / ("季度数据-有误.xlsx" if district_at_row_7 else "季度数据.xlsx")
    book.save(out)
    return out


def upload(page: Page, server: Server, file: Path) -> None:
    page.goto(f"{server.url}/new")
    page.set_input_files("input[name=data]", str(file))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state()
