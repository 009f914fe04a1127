"""A run records itself in a SQLite ledger file through ``sqlite3``, without SQLAlchemy.

The row, the table and its indexes are those SQLAlchemy writes: a ledger written one way is
read, listed and checked the other way alike.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from allocator.core.errors import InputError
from allocator.outputs import ledger, ledger_db
from allocator.outputs.ledger_entry import RunEntry
from allocator.outputs.ledger_sqlite import sqlite_file

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _entry(root: Path, name: str, minutes: int, warnings: tuple[str, ...] = ()) -> RunEntry:
    folder = root / name
    folder.mkdir(parents=True)
    doc = {
        "scenario": {"name": "柳州2026"},
        "status": "OPTIMAL",
        "rule": "priority",
        "budget_wan": 1000,
        "total_claim_wan": 1500,
        "total_awarded_wan": 990,
        "counts": {"recipients": 4},
        "sha256": {"scenario": "a" * 64, "model": "b" * 64, "data": ["c" * 64]},
        "versions": {"allocator": "9.9.9"},
        "warnings": list(warnings),
    }
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (folder / "awards.csv").write_text("recipient_id,award_wan\nA,600\nB,390\n", encoding="utf-8")
    start = T0 + timedelta(minutes=minutes)
    return RunEntry.from_output_dir(
        folder,
        scenario_path=root / "scenario.yaml",
        started_at=start,
        finished_at=start + timedelta(seconds=30),
        command_line=["allocate", "run", "scenario.yaml"],
    )


def _dump(path: Path) -> tuple[list[Any], list[Any]]:
    with closing(sqlite3.connect(path)) as con:
        # By name: SQLAlchemy creates the indexes in an order that varies from run to run.
        schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = con.execute("SELECT * FROM runs ORDER BY id").fetchall()
    return schema, rows


def test_a_run_is_recorded_as_sqlalchemy_records_it(tmp_path: Path) -> None:
    entries = [_entry(tmp_path, "a", 0), _entry(tmp_path, "b", 5, ("区县合计不全",))]
    by_stdlib = ledger.ledger_url(tmp_path / "stdlib" / "ledger.sqlite")
    by_orm = ledger.ledger_url(tmp_path / "orm" / "ledger.sqlite")
    assert sqlite_file(by_stdlib) == tmp_path / "stdlib" / "ledger.sqlite"
    ids = [ledger.record_run(by_stdlib, e).id for e in entries]
    assert ids == [ledger_db.record_run(by_orm, e).id for e in entries] == [1, 2]
    # Same table, indexes and rows, value for value.
    assert _dump(tmp_path / "stdlib" / "ledger.sqlite") == _dump(tmp_path / "orm" / "ledger.sqlite")
    # Read back through SQLAlchemy, the entries are those recorded.
    listed = ledger.list_runs(by_stdlib)
    assert [e.run_id for e in listed] == [entries[1].run_id, entries[0].run_id]
    assert listed[0].warnings == ("区县合计不全",)
    assert listed[1].outputs_sha256 == entries[0].outputs_sha256
    assert ledger.check_against_ledger(by_stdlib, tmp_path / "a") == []


def test_a_ledger_of_either_writer_takes_rows_of_the_other(tmp_path: Path) -> None:
    url = ledger.ledger_url(tmp_path / "ledger.sqlite")
    a = _entry(tmp_path, "a", 0)
    first = ledger_db.record_run(url, a)
    second = ledger.record_run(url, _entry(tmp_path, "b", 5))
    assert (first.id, second.id) == (1, 2)
    with pytest.raises(ledger.LedgerError, match="already recorded"):
        ledger.record_run(url, a)


def test_an_earlier_ledger_gains_the_warnings_column(tmp_path: Path) -> None:
    url = ledger.ledger_url(tmp_path / "ledger.sqlite")
    ledger_db.record_run(url, _entry(tmp_path, "a", 0))
    with closing(sqlite3.connect(tmp_path / "ledger.sqlite")) as con:
        con.execute("ALTER TABLE runs DROP COLUMN warnings")
        con.commit()
    ledger.record_run(url, _entry(tmp_path, "b", 5, ("w",)))
    runs = ledger.list_runs(url)
    assert [r.warnings for r in runs] == [("w",), ()]


def test_the_check_refuses_a_file_that_is_no_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database, but a file of text" * 100)
    with pytest.raises(InputError, match="not a database"):
        ledger.check_ledger(ledger.ledger_url(path))


def test_only_plain_sqlite_file_urls_skip_sqlalchemy() -> None:
    assert sqlite_file("sqlite:////srv/l.sqlite") == Path("/srv/l.sqlite")
    assert sqlite_file("sqlite:///relative.sqlite") == Path("relative.sqlite")
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///l.sqlite?mode=ro",
        "sqlite:///a%20b.sqlite",
        "sqlite+pysqlite:///l.sqlite",
        "postgresql+psycopg://user@host/db",
    ):
        assert sqlite_file(url) is None, url


def test_a_run_of_the_sample_imports_no_sqlalchemy(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from allocator.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='allocate')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        "print()\n"
        "print(code, 'sqlalchemy' in sys.modules)\n"
    )
    scenario = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
    args = ["run", str(scenario), "--out", "out", "--ledger", "l.sqlite", "-q"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr
    # The run is in the ledger, as SQLAlchemy reads it.
    runs = ledger.list_runs(ledger.ledger_url(tmp_path / "l.sqlite"))
    assert [r.output_dir for r in runs] == [str((tmp_path / "out").resolve())]
