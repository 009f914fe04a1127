"""Faults around the output folder and the ledger: each run is real, each expectation exact.

- A ledger that cannot record the run stops it with exit 2 before the earlier run in the
  folder is touched (checked before the solve), and a recording that fails later undoes the
  folder swap.
- A run without an allocation is recorded, and keeps an earlier allocation unless --replace.
- A process killed with SIGKILL between the two renames, or after them but before the ledger
  write, leaves siblings that ``history`` and ``audit`` report and the next run repairs.
- An --out that cannot be written is refused with exit 2 before the solve, nothing written.
- Text that a spreadsheet would run is text in awards.xlsx and quoted in awards.csv.

The inputs are the valid ones of the bad-input catalogue (``tests/bad_inputs/``): four firms,
a fund of 20万元, solved in well under a second.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.outputs import ledger as ledger_module
from allocator.outputs.csvfile import csv_text
from allocator.outputs.folder import FAULT_ENV
from allocator.outputs.ledger import LedgerError, check_against_ledger, is_recorded, list_runs
from allocator.outputs.recovery import leftovers, recover

HERE = Path(__file__).resolve().parent / "bad_inputs"
FORMULA_NAME = '=HYPERLINK("http://x","y")'


def _inputs(tmp_path: Path, **scenario_lines: str) -> Path:
    """The catalogue's valid inputs in ``tmp_path/in``; extra scenario lines appended."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        shutil.copy(HERE / name, folder / name)
    if scenario_lines:
        with (folder / "scenario.yaml").open("a", encoding="utf-8") as handle:
            for line in scenario_lines.values():
                handle.write(line + "\n")
    return folder / "scenario.yaml"


def _run(scenario: Path, out: Path | str, *extra: str, env: dict[str, str] | None = None) -> Result:
    args = ["run", str(scenario), "--out", str(out), "--quiet", *extra]
    return CliRunner().invoke(main, args, env=env)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith("."))


Earlier = tuple[Path, Path, str, dict[str, bytes]]


@pytest.fixture
def earlier(tmp_path: Path) -> tuple[Path, Path, str, dict[str, bytes]]:
    """A scenario, its output folder holding a recorded run, the ledger URL, the files."""
    scenario = _inputs(tmp_path)
    out = tmp_path / "runs" / "out"
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 0, result.output
    return scenario, out, url, _files(out)


# --------------------------------------------------------------------------------------------
# The ledger before the swap


def _corrupt(tmp_path: Path) -> str:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database, only some text " * 100)
    return str(path)


def _under_a_file(tmp_path: Path) -> str:
    (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    return str(tmp_path / "plain.txt" / "ledger.sqlite")


@pytest.mark.parametrize(
    ("ledger", "expect"),
    [
        (lambda tmp: "nosuchdialect://host/db", "nosuchdialect"),
        (lambda tmp: "postgresql://user@host:notaport/db", "SQLAlchemy database URL"),
        (_corrupt, "not a database"),
        (_under_a_file, "is a file"),
    ],
    ids=["unknown-dialect", "bad-port", "corrupt-file", "under-a-file"],
)
@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_bad_ledger_leaves_the_earlier_run_byte_identical(
    tmp_path: Path,
    earlier: Earlier,
    ledger: object,
    expect: str,
    how: str,
) -> None:
    scenario, out, url, before = earlier
    value = ledger(tmp_path)  # type: ignore[operator]
    if how == "option":
        result = _run(scenario, out, "--ledger", value)
    else:
        result = _run(scenario, out, env={"ALLOCATE_LEDGER": value})
    assert result.exit_code == 2, result.output
    assert expect in result.stderr
    assert "Traceback" not in result.stderr
    assert _files(out) == before
    assert _siblings(out) == []
    assert len(list_runs(url)) == 1  # the earlier run, and nothing more


def test_a_locked_ledger_is_refused_before_the_solve(
    earlier: Earlier,
) -> None:
    scenario, out, url, before = earlier
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
        result = _run(scenario, out, "--ledger", url)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 2, result.output
    assert "locked by another process" in result.stderr
    assert _files(out) == before
    assert len(list_runs(url)) == 1


@contextlib.contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """``path`` immutable (``chattr +i``): not even root may write it or create in it."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"chattr +i {path}: {done.stderr.decode()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_ledger_is_refused_before_the_solve(
    earlier: Earlier,
) -> None:
    scenario, out, url, before = earlier
    path = Path(url.removeprefix("sqlite:///"))
    # WAL files left by the first run are folded back, so that only the file itself matters.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with _immutable(path):
        result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 2, result.output
    assert "ledger this run can record in" in result.stderr
    assert _files(out) == before


def test_a_recording_that_fails_after_the_swap_puts_the_earlier_run_back(
    earlier: Earlier, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario, out, url, before = earlier

    def broken(url: str, entry: object) -> object:
        # The new folder is in place at this moment, the earlier one aside.
        assert leftovers(out)[1], "the earlier run is aside while the run is recorded"
        raise LedgerError("ledger: disk full")

    monkeypatch.setattr("allocator.pipeline.run.record_run", broken)
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 1, result.output
    assert "disk full" in result.stderr
    assert _files(out) == before
    assert _siblings(out) == []


def test_out_with_a_tilde_is_one_folder_for_the_run_and_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = _inputs(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    result = _run(scenario, "~/runs", "--ledger", url)
    assert result.exit_code == 0, result.output
    assert (home / "runs" / "result.json").is_file()
    assert not (tmp_path / "~").exists()
    assert [r.output_dir for r in list_runs(url)] == [str(home / "runs")]
    assert check_against_ledger(url, home / "runs") == []


# --------------------------------------------------------------------------------------------
# Runs without an allocation

# Floors above the fund of 20万元: infeasible before the solve.
INFEASIBLE = {"floors": "district_floors:\n  柳东新区: 15\n  柳北区: 15"}


def test_an_infeasible_run_is_recorded(tmp_path: Path) -> None:
    scenario = _inputs(tmp_path, **INFEASIBLE)
    out, url = tmp_path / "out", f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 3, result.output
    assert [n for n in sorted(_files(out)) if not n.startswith("inputs/")] == ["result.json"]
    [entry] = list_runs(url)
    assert (entry.status, entry.total_awarded_wan) == ("INFEASIBLE", 0)
    assert [n for n in entry.outputs_sha256 if not n.startswith("inputs/")] == ["result.json"]
    assert len(entry.outputs_sha256) == 4  # and the copies of scenario, model and data
    assert check_against_ledger(url, out) == []


def test_an_infeasible_run_keeps_an_earlier_allocation_and_says_so(
    earlier: Earlier,
) -> None:
    scenario, out, url, before = earlier
    with scenario.open("a", encoding="utf-8") as handle:
        handle.write(INFEASIBLE["floors"] + "\n")
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 3, result.output
    assert "is kept: use --replace" in result.stderr
    assert _files(out) == before
    runs = list_runs(url)
    assert [r.status for r in runs] == ["INFEASIBLE", "OPTIMAL"]
    assert dict(runs[0].outputs_sha256) == {}
    # The folder is still the recorded allocation: an audit finds nothing to say.
    assert check_against_ledger(url, out) == []

    replaced = _run(scenario, out, "--ledger", url, "--replace")
    assert replaced.exit_code == 3, replaced.output
    assert [n for n in sorted(_files(out)) if not n.startswith("inputs/")] == ["result.json"]
    assert check_against_ledger(url, out) == []


# --------------------------------------------------------------------------------------------
# Crash windows: a real process killed with SIGKILL at the named point


def _killed_run(
    scenario: Path, out: Path, url: str, point: str
) -> subprocess.CompletedProcess[str]:
    code = "import sys; from allocator.cli import main; sys.exit(main())"
    args = [sys.executable, "-c", code, "run", str(scenario), "--out", str(out), "--quiet"]
    env = {**os.environ, FAULT_ENV: point, "ALLOCATE_LEDGER": url}
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)


def _edit_budget(scenario: Path) -> None:
    text = scenario.read_text(encoding="utf-8").replace("budget_wan: 20", "budget_wan: 15")
    scenario.write_text(text, encoding="utf-8")


def test_killed_between_the_renames(
    earlier: Earlier,
) -> None:
    scenario, out, url, before = earlier
    _edit_budget(scenario)  # a different run, so that which one is in place shows
    killed = _killed_run(scenario, out, url, "between-renames")
    assert killed.returncode == -9, killed.stderr
    partials, olds = leftovers(out)
    assert not out.exists()
    assert (len(partials), len(olds)) == (1, 1)
    assert _files(olds[0]) == before

    # history and audit report the leftovers and change nothing.
    history = CliRunner().invoke(main, ["history", "--ledger", url])
    assert history.exit_code == 0, history.output
    assert ".old-" in history.stderr
    assert ".partial-" in history.stderr
    assert leftovers(out) == (partials, olds)

    # The repair rule: nothing is in place, so the earlier run goes back.
    repairs = recover(out, lambda folder: is_recorded(url, folder))
    assert any("put back" in line for line in repairs)
    assert _files(out) == before
    assert leftovers(out) == ([], [])
    assert check_against_ledger(url, out) == []


def test_killed_after_the_renames_before_the_ledger_write(
    earlier: Earlier,
) -> None:
    scenario, out, url, before = earlier
    _edit_budget(scenario)
    killed = _killed_run(scenario, out, url, "before-ledger")
    assert killed.returncode == -9, killed.stderr
    partials, olds = leftovers(out)
    assert (len(partials), len(olds)) == (0, 1)
    assert _files(out) != before  # the new, unrecorded run is in place
    assert len(list_runs(url)) == 1

    findings = check_against_ledger(url, out)
    assert "unfinished run beside the folder" in [f.what for f in findings]
    assert "awards.csv changed since the run" in [f.what for f in findings]

    # The next run repairs first (the unrecorded run out, the earlier one back), then runs.
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 0, result.output
    assert "never recorded in the ledger" in result.stderr
    assert leftovers(out) == ([], [])
    assert len(list_runs(url)) == 2
    assert check_against_ledger(url, out) == []


def test_a_recorded_run_beside_a_leftover_old_folder_keeps_its_place(
    earlier: Earlier,
) -> None:
    # Killed after the ledger write, before the old folder was deleted: the run in place is
    # the recorded one, so the repair deletes the old folder and keeps the folder as it is.
    _, out, url, before = earlier
    old = out.parent / ".out.old-0123456789ab"
    shutil.copytree(out, old)
    (old / "awards.csv").write_text("stale", encoding="utf-8")
    assert any("removed" in line for line in recover(out, lambda f: is_recorded(url, f)))
    assert _files(out) == before
    assert leftovers(out) == ([], [])


# --------------------------------------------------------------------------------------------
# --out checked before the solve


def _dangling(tmp_path: Path) -> Path:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    return link


def _long_name(tmp_path: Path) -> Path:
    return tmp_path / ("运" * 80)  # 240 bytes: with ".partial-XXXXXXXX" over 255


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda tmp: tmp / "plain.txt" / "out", "plain.txt is a file"),
        (lambda tmp: Path("/proc/allocate-out"), "kernel's file system /proc"),
        (_dangling, "which is missing"),
        (_long_name, "folder names of at most 237 bytes"),
    ],
    ids=["under-a-file", "in-proc", "dangling-link", "name-too-long"],
)
def test_an_unwritable_out_is_refused_before_the_solve(
    tmp_path: Path, make: object, expect: str
) -> None:
    scenario = _inputs(tmp_path)
    (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
    out = make(tmp_path)  # type: ignore[operator]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _run(scenario, out, "--ledger", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    assert result.exit_code == 2, result.output
    assert expect in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # not even the ledger


def test_an_out_under_an_immutable_folder_is_refused_before_the_solve(tmp_path: Path) -> None:
    scenario = _inputs(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    with _immutable(locked):
        result = _run(scenario, locked / "a" / "out")
    assert result.exit_code == 2, result.output
    assert f"cannot create a folder in {locked}" in result.stderr
    assert list(locked.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Formula injection


def test_a_formula_firm_name_is_text_in_the_workbook_and_quoted_in_the_csv(
    tmp_path: Path,
) -> None:
    scenario = _inputs(tmp_path)
    data = scenario.parent / "data.csv"
    rows = list(csv.reader(io.StringIO(data.read_text(encoding="utf-8"))))
    rows[1][1] = FORMULA_NAME
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data.write_text(buffer.getvalue(), encoding="utf-8")
    out, url = tmp_path / "out", f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    result = _run(scenario, out, "--ledger", url)
    assert result.exit_code == 0, result.output

    sheet = openpyxl.load_workbook(out / "awards.xlsx")["奖补明细"]
    cells = [row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == FORMULA_NAME]
    assert len(cells) >= 1
    assert {c.data_type for c in cells} == {"s"}

    with (out / "awards.csv").open(encoding="utf-8", newline="") as handle:
        names = [r["recipient_name"] for r in csv.DictReader(handle)]
    assert not any(n.startswith("=") for n in names)
    assert f"'{FORMULA_NAME}" in names
    assert FORMULA_NAME in [csv_text(n) for n in names]
    # The audit reads the quote off again: the names agree with the inputs and the workbook.
    audit = CliRunner().invoke(main, ["audit", str(out), "--ledger", url])
    assert audit.exit_code == 0, audit.output


def test_the_ledger_module_checks_before_it_creates(tmp_path: Path) -> None:
    # A missing SQLite ledger is not created by the check: a run that stops writes nothing.
    url = f"sqlite:///{tmp_path / 'new' / 'ledger.sqlite'}"
    ledger_module.check_ledger(url)
    assert not (tmp_path / "new").exists()
