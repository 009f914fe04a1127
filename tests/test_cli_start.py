"""The command answers at once: what ``allocate`` imports before it has anything to compute.

Each case runs the command in a fresh interpreter, as a user does, and lists the heavy
libraries in ``sys.modules`` afterwards. How long the start takes is measured by
``make bench`` (docs/performance.md); here the behaviour behind it is checked: help, the
ledger, a policy model and a refused input load no pandas, numpy, solver, plotting, Arrow or
Excel library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "bad_inputs"

HEAVY = (
    "pandas",
    "numpy",
    "ortools",
    "highspy",
    "matplotlib",
    "sqlalchemy",
    "pyarrow",
    "openpyxl",
)

# Runs the command in this process and prints, on the last line of stdout, which of the
# heavy modules it imported.
PROBE = """\
import json, sys
from allocator.cli import main
try:
    main(sys.argv[2:], prog_name="allocate")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = json.loads(sys.argv[1])
print()
print(json.dumps({"code": code, "imported": [m for m in heavy if m in sys.modules]}))
"""


def imported_by(args: list[str], cwd: Path) -> tuple[int, list[str], str]:
    """Exit code, heavy modules imported and stderr of ``allocate ARGS`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    last = done.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    return int(result["code"] or 0), list(result["imported"]), done.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["run", "--help"], 0),
        (["validate", "--help"], 0),
        (["audit", "--help"], 0),
        (["sweep", "--help"], 0),
        (["policy", str(ROOT / "models" / "liuzhou-2026-q1-draft.yaml")], 0),
        (["policy", "--json", str(ROOT / "models" / "liuzhou-2025-q1.yaml")], 0),
        (["policy", str(SMALL / "model-unknown-field.yaml")], 2),
        (["absent.yaml"], 2),
        (["run", str(SMALL / "scenario-unknown-key.yaml")], 2),
        (["run", str(SMALL / "data.csv")], 2),
        (["data.xlsx"], 2),
    ],
)
def test_help_policy_and_refusals_import_nothing_heavy(
    args: list[str], code: int, tmp_path: Path
) -> None:
    got, imported, stderr = imported_by(args, tmp_path)
    assert got == code, stderr
    assert imported == [], stderr
    assert "Traceback" not in stderr


def test_history_imports_the_ledger_database_alone(tmp_path: Path) -> None:
    got, imported, stderr = imported_by(
        ["history", "--ledger", str(tmp_path / "l.sqlite")], tmp_path
    )
    assert got == 0, stderr
    assert imported == ["sqlalchemy"]


def test_the_probe_sees_a_run_import_the_solver(tmp_path: Path) -> None:
    # The probe itself can fail: a run loads pandas and the solver, and the probe says so.
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        (tmp_path / name).write_bytes((SMALL / name).read_bytes())
    args = ["run", "scenario.yaml", "--out", "out", "--ledger", "l.sqlite", "-q"]
    got, imported, stderr = imported_by(args, tmp_path)
    assert got == 0, stderr
    assert {"pandas", "numpy", "ortools"} <= set(imported)
