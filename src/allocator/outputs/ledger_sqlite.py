"""The ledger in a SQLite file, written through the standard library's ``sqlite3``.

A run records itself in the default ledger, ``out/ledger.sqlite``, and checks it before the
solve; through SQLAlchemy that costs its import (a quarter of a second) on every run. For a
plain SQLite file URL (``sqlite:///PATH``, no query string, no escapes) the check and the
record go through ``sqlite3`` directly, with the table, indexes and row values SQLAlchemy
writes (``allocator.outputs.ledger``): a ledger written either way is read, listed and
audited the same (``tests/test_ledger.py``). Every other URL, and ``allocate history``, go
through SQLAlchemy.

As there: the file is opened in WAL mode with a busy timeout, and writes take the write lock
up front (``BEGIN IMMEDIATE``), so that two runs finishing together wait for each other
instead of failing or damaging the file.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from allocator.core.i18n import _
from allocator.outputs.ledger_entry import RunEntry

__all__ = [
    "BUSY_TIMEOUT_S",
    "CHECK_TIMEOUT_S",
    "PROBE",
    "SCHEMA",
    "check",
    "record",
    "row_values",
    "sqlite_file",
]

#: Long enough to outlast another run's write (one INSERT), short enough that a stuck lock
#: surfaces as an error instead of a hung command.
BUSY_TIMEOUT_S = 30
#: How long the check before a run waits for another process's write lock.
CHECK_TIMEOUT_S = 5
#: A table the check creates inside a transaction it rolls back: proof the ledger is writable.
PROBE = "allocate_ledger_probe"

_PREFIX = "sqlite:///"

#: The statements SQLAlchemy issues for the ledger's table (``allocator.outputs.ledger``), in
#: its order and to the character: SQLite keeps their text as the schema.
SCHEMA = (
    "CREATE TABLE runs (\n\tid INTEGER NOT NULL, \n\trun_id VARCHAR(64) NOT NULL, "
    "\n\tscenario_name VARCHAR(255) NOT NULL, \n\tscenario_path TEXT NOT NULL, "
    "\n\tscenario_sha256 VARCHAR(64), \n\tmodel_sha256 VARCHAR(64), "
    "\n\tdata_sha256 TEXT NOT NULL, \n\toutput_dir VARCHAR(4096) NOT NULL, "
    "\n\toutputs_sha256 TEXT NOT NULL, \n\tstatus VARCHAR(32) NOT NULL, "
    "\n\trule VARCHAR(64), \n\tbudget_wan BIGINT NOT NULL, \n\ttotal_claim_wan BIGINT, "
    "\n\ttotal_awarded_wan BIGINT NOT NULL, \n\trecipients INTEGER, "
    "\n\tuser VARCHAR(255) NOT NULL, \n\thost VARCHAR(255) NOT NULL, "
    "\n\tstarted_at VARCHAR(32) NOT NULL, \n\tfinished_at VARCHAR(32) NOT NULL, "
    "\n\tallocator_version VARCHAR(64) NOT NULL, \n\tcommand_line TEXT NOT NULL, "
    "\n\twarnings TEXT, \n\tPRIMARY KEY (id), \n\tUNIQUE (run_id)\n)",
    "CREATE INDEX ix_runs_output_dir ON runs (output_dir)",
    "CREATE INDEX ix_runs_scenario_name ON runs (scenario_name)",
    "CREATE INDEX ix_runs_finished_at ON runs (finished_at)",
)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite file URL (``sqlite:///PATH``), else ``None``.

    Plain means what SQLAlchemy reads as the file ``PATH`` itself: no driver name, no query
    string and no ``%`` escapes; any other URL is left to SQLAlchemy.

    >>> sqlite_file("sqlite:////srv/ledger.sqlite")
    PosixPath('/srv/ledger.sqlite')
    >>> sqlite_file("sqlite:///ledger.sqlite?timeout=5") is None
    True
    """
    if not url.startswith(_PREFIX):
        return None
    database = url[len(_PREFIX) :]
    if not database or database == ":memory:" or any(c in database for c in "?%"):
        return None
    return Path(database)


def row_values(entry: RunEntry) -> dict[str, Any]:
    """The ledger row of ``entry``, column by column, JSON-valued columns as text."""
    values = entry.to_dict()
    values.pop("id")
    values["data_sha256"] = json.dumps(values["data_sha256"])
    values["outputs_sha256"] = json.dumps(values["outputs_sha256"], sort_keys=True)
    values["warnings"] = json.dumps(values["warnings"], ensure_ascii=False)
    return values


def _connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    # isolation_level None: BEGIN is issued here, never implicitly by the driver, whose
    # deferred transactions would let a write start as a read and fail, not wait, when busy.
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        # WAL lets history and audit read while a run writes, and survives a crash mid-write.
        # synchronous stays FULL: a recorded run must survive a power cut too.
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _columns(conn: sqlite3.Connection) -> set[str] | None:
    """The columns of the runs table, or None when there is no such table yet."""
    rows = conn.execute("PRAGMA table_info(runs)").fetchall()
    return {str(r[1]) for r in rows} if rows else None


def check(path: Path) -> str | None:
    """Open an existing ledger file as a run will write to it; why it cannot be, or None.

    The write lock is taken, the file checked, a probe table created and the transaction
    rolled back: nothing is written.
    """
    try:
        with closing(_connect(path, CHECK_TIMEOUT_S)) as conn:
            conn.execute("BEGIN IMMEDIATE")  # the write lock, now
            try:
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    return _("a damaged file ({verdict})").format(verdict=verdict)
                if _columns(conn) is not None:
                    conn.execute("SELECT runs.id FROM runs LIMIT 1").fetchall()
                conn.execute(f"CREATE TABLE {PROBE} (x INTEGER)")
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "locked" in text:
            return _("locked by another process for more than {seconds} s ({text})").format(
                seconds=CHECK_TIMEOUT_S, text=text
            )
        return text
    return None


def record(path: Path, entry: RunEntry) -> int:
    """Add ``entry`` to the ledger file, creating it and its table on first use.

    Returns
    -------
    int
        The row number (``id``) of the new row.

    Raises
    ------
    sqlite3.IntegrityError
        The run id is already recorded.
    sqlite3.Error
        The file cannot be opened or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    values = row_values(entry)
    with closing(_connect(path, BUSY_TIMEOUT_S)) as conn:
        # The table is created in a write transaction of its own, as SQLAlchemy does, so
        # that two first runs do not both create it.
        conn.execute("BEGIN IMMEDIATE")
        try:
            columns = _columns(conn)
            if columns is None:
                for statement in SCHEMA:
                    conn.execute(statement)
            elif "warnings" not in columns:
                # A ledger of an earlier version: the column added since, empty, so the
                # rows already recorded keep every value.
                conn.execute("ALTER TABLE runs ADD COLUMN warnings TEXT")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # One short transaction: the lock is held for a single INSERT.
        names = list(values)
        statement = (
            f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        )
        conn.execute("BEGIN IMMEDIATE")
        try:
            row_id = conn.execute(statement, values).lastrowid
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    assert row_id is not None
    return int(row_id)
