"""The run ledger through SQLAlchemy: any database URL, and ``allocate history``.

:mod:`allocator.outputs.ledger` is the ledger's public face; it comes here for every URL but
a plain SQLite file, which a run records in through :mod:`allocator.outputs.ledger_sqlite`.

A finance bureau must be able to say, for any output folder, which scenario, model and data
produced it, who ran it, when, and whether the files are still the ones that run wrote. After
the pipeline has written an output folder it calls :func:`record_run`; ``allocate history``
lists the rows and ``allocate audit`` calls :func:`check_against_ledger` to catch a folder whose
files were edited, added or removed after the run.

The ledger goes through SQLAlchemy, so it is an embedded SQLite file by default
(``out/ledger.sqlite``) and a bureau can point it at a shared PostgreSQL database with a URL
(``--ledger`` or the environment variable ``ALLOCATE_LEDGER``). The schema is created on first
write; every write is one short transaction; on SQLite the file is opened in WAL mode with a
busy timeout and writes take the write lock up front, so that two runs finishing together wait
for each other instead of failing or damaging the file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    String,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, defer, mapped_column
from sqlalchemy.sql import Executable

from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_file
from allocator.core.i18n import _
from allocator.outputs.ledger import LedgerError, check_creatable, ledger_problem
from allocator.outputs.ledger_entry import Finding, RunEntry, existing_dir, hash_outputs
from allocator.outputs.ledger_sqlite import BUSY_TIMEOUT_S, CHECK_TIMEOUT_S, PROBE, row_values
from allocator.outputs.names import RESULT
from allocator.outputs.recovery import describe

__all__ = [
    "check_against_ledger",
    "check_ledger",
    "find_run",
    "is_recorded",
    "list_runs",
    "record_run",
    "resolve_url",
    "safe_url",
]

_BUSY_TIMEOUT_S = BUSY_TIMEOUT_S
_CHECK_TIMEOUT_S = CHECK_TIMEOUT_S
_PROBE = PROBE
# outputs_sha256 of a run that wrote no folder.
_NO_OUTPUTS = "{}"
_WRITE = "allocate_ledger_write"  # execution option marking a connection that will write
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------
# Schema


class _Base(DeclarativeBase):
    pass


class _RunRow(_Base):
    """One run, as stored. JSON-valued columns are text so that SQLite and PostgreSQL agree."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    scenario_name: Mapped[str] = mapped_column(String(255), index=True)
    scenario_path: Mapped[str] = mapped_column(Text)
    scenario_sha256: Mapped[str | None] = mapped_column(String(64))
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    data_sha256: Mapped[str] = mapped_column(Text)
    output_dir: Mapped[str] = mapped_column(String(4096), index=True)
    outputs_sha256: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(64))
    budget_wan: Mapped[int] = mapped_column(BigInteger)
    total_claim_wan: Mapped[int | None] = mapped_column(BigInteger)
    total_awarded_wan: Mapped[int] = mapped_column(BigInteger)
    recipients: Mapped[int | None] = mapped_column(Integer)
    user: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[str] = mapped_column(String(32))
    finished_at: Mapped[str] = mapped_column(String(32), index=True)
    allocator_version: Mapped[str] = mapped_column(String(64))
    command_line: Mapped[str] = mapped_column(Text)
    # JSON list; added after the first ledgers were written (see _add_missing_columns).
    warnings: Mapped[str | None] = mapped_column(Text, nullable=True)


# --------------------------------------------------------------------------------------------
# Public functions


def resolve_url(value: str, source: str, *, create_parent: bool) -> str:
    """A database URL as SQLAlchemy writes it (:func:`allocator.outputs.ledger.ledger_url`).

    Raises
    ------
    InputError
        SQLAlchemy cannot parse it; ``source`` says where it came from.
    """
    text = _parse(value, source).render_as_string(hide_password=False)
    path = _sqlite_path(text)
    if create_parent and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return text


def safe_url(url: str) -> str:
    """The URL with any password masked, fit to print or log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable ledger URL>"


def check_ledger(url: str) -> None:
    """Open the ledger as a run will write to it, and refuse it now if that would fail.

    Called before the solve, so that a ledger that cannot record the run stops it before any
    earlier output is replaced. Nothing is written: a missing SQLite file is not created (its
    folder must allow it), and on an existing ledger the write lock is taken, the file
    checked, a probe table created and the whole transaction rolled back.

    Parameters
    ----------
    url:
        The ledger, as returned by :func:`allocator.outputs.ledger.ledger_url`.

    Raises
    ------
    InputError
        The driver is missing, the database cannot be reached, the file is not a database or
        is damaged, it or its folder is read-only, or another process holds its write lock
        for longer than a few seconds.
    """
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        check_creatable(url, path)
        return
    if path is not None and path.is_dir():
        raise InputError([ledger_problem(url, _("a folder, not a file"))])
    with _engine(url, write=False, busy_timeout_s=_CHECK_TIMEOUT_S) as engine:
        assert engine is not None
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(**{_WRITE: True})
                with conn.begin() as transaction:  # BEGIN IMMEDIATE: the write lock, now
                    if engine.dialect.name == "sqlite":
                        verdict = conn.exec_driver_sql("PRAGMA quick_check").scalar()
                        if verdict != "ok":
                            raise InputError(
                                [
                                    ledger_problem(
                                        url, _("a damaged file ({verdict})").format(verdict=verdict)
                                    )
                                ]
                            )
                    if inspect(conn).has_table(_RunRow.__tablename__):
                        conn.execute(select(_RunRow.id).limit(1)).all()
                    conn.exec_driver_sql(f"CREATE TABLE {_PROBE} (x INTEGER)")
                    transaction.rollback()
        except SQLAlchemyError as exc:
            raise InputError([ledger_problem(url, _reason(exc))]) from None


def is_recorded(url: str, output_dir: str | os.PathLike[str]) -> bool:
    """Whether the files now in ``output_dir`` are those its latest ledger entry recorded."""
    entry = find_run(url, output_dir)
    return entry is not None and dict(entry.outputs_sha256) == hash_outputs(output_dir)


def record_run(url: str, entry: RunEntry) -> RunEntry:
    """Add one run to the ledger, creating the table on first use.

    Parameters
    ----------
    url:
        The ledger, as returned by :func:`allocator.outputs.ledger.ledger_url`.
    entry:
        Usually :meth:`RunEntry.from_output_dir`.

    Returns
    -------
    RunEntry
        The entry with its ledger row number (``id``) filled in.

    Raises
    ------
    LedgerError
        The database cannot be opened or written, or the run id is already recorded.
    """
    with _engine(url, write=True) as engine:
        assert engine is not None
        row = _to_row(entry)
        try:
            # One short transaction: the lock is held for a single INSERT.
            with Session(engine.execution_options(**{_WRITE: True})) as session, session.begin():
                session.add(row)
                session.flush()
                row_id = row.id
        except IntegrityError:
            raise LedgerError.already_recorded(url, entry) from None
        except SQLAlchemyError as exc:
            raise LedgerError.failed(
                url, _("ledger {ledger}: cannot record the run ({reason})"), exc
            ) from None
    return replace(entry, id=row_id)


def list_runs(url: str, limit: int | None = None, scenario: str | None = None) -> list[RunEntry]:
    """Runs in the ledger, newest first.

    Parameters
    ----------
    url:
        The ledger, as returned by :func:`allocator.outputs.ledger.ledger_url`.
    limit:
        At most this many runs.
    scenario:
        Only runs of the scenario with this name.

    Returns
    -------
    list of RunEntry
        Ordered by finish time, latest first; empty when the ledger does not exist yet.
    """
    stmt = select(_RunRow).order_by(_RunRow.finished_at.desc(), _RunRow.id.desc())
    if scenario is not None:
        stmt = stmt.where(_RunRow.scenario_name == scenario)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _query(url, stmt)


def find_run(url: str, output_dir: str | os.PathLike[str]) -> RunEntry | None:
    """The latest ledger entry for an output folder.

    The run that finished last is the one whose files the folder holds when runs reuse it.

    Parameters
    ----------
    url:
        The ledger.
    output_dir:
        The folder; resolved to an absolute path as :meth:`RunEntry.from_output_dir` does.

    Returns
    -------
    RunEntry or None
        ``None`` when the folder was never recorded or the ledger does not exist.
    """
    folder = str(Path(output_dir).expanduser().resolve())
    stmt = (
        select(_RunRow)
        .where(_RunRow.output_dir == folder)
        # A run that kept the earlier folder (an infeasible run without --replace) wrote none.
        .where(_RunRow.outputs_sha256 != _NO_OUTPUTS)
        .order_by(_RunRow.finished_at.desc(), _RunRow.id.desc())
        .limit(1)
    )
    found = _query(url, stmt)
    return found[0] if found else None


def find_run_of_result(url: str, result_sha256: str) -> RunEntry | None:
    """The ledger entry whose folder held a ``result.json`` of these bytes, latest first.

    Finds the run of a folder that was copied or moved since it was recorded, where
    :func:`find_run` (by the folder's path) finds nothing.
    """
    if len(result_sha256) != 64 or not all(c in "0123456789abcdef" for c in result_sha256):
        return None
    # outputs_sha256 is JSON text written with sort_keys: narrow in SQL, confirm in Python.
    needle = json.dumps({RESULT: result_sha256})[1:-1]
    stmt = (
        select(_RunRow)
        .where(_RunRow.outputs_sha256.contains(needle, autoescape=True))
        .order_by(_RunRow.finished_at.desc(), _RunRow.id.desc())
    )
    found = [e for e in _query(url, stmt) if e.outputs_sha256.get(RESULT) == result_sha256]
    return found[0] if found else None


def check_against_ledger(url: str, output_dir: str | os.PathLike[str]) -> list[Finding]:
    """Compare an output folder's files now with what its run recorded.

    Parameters
    ----------
    url:
        The ledger.
    output_dir:
        The folder to check.

    Returns
    -------
    list of Finding
        Empty when every recorded file is present and unchanged and no file was added. One
        finding per changed, missing or added file (in path order), or a single warning when
        the folder has no ledger entry.

    Raises
    ------
    InputError
        ``output_dir`` is not a folder.
    """
    folder = existing_dir(output_dir)
    unfinished = [
        Finding(severity="warning", what=_("unfinished run beside the folder"), detail=line)
        for line in describe(folder)
    ]
    entry = find_run(url, folder)
    if entry is None and (folder / RESULT).is_file():
        # A folder copied or moved since: its result.json still names its run.
        entry = find_run_of_result(url, sha256_file(folder / RESULT))
    if entry is None:
        return [
            *unfinished,
            Finding(
                severity="warning",
                what=_("no ledger entry for this folder"),
                detail=_(
                    "{folder} is not recorded in ledger {ledger}; its files cannot be traced to "
                    "a run"
                ).format(folder=folder, ledger=safe_url(url)),
            ),
        ]
    recorded = dict(entry.outputs_sha256)
    now = hash_outputs(folder)
    run = _("run {id} finished {at}").format(id=entry.short_id, at=entry.finished_at)
    findings: list[Finding] = unfinished
    for name in sorted(recorded.keys() | now.keys()):
        before, after = recorded.get(name), now.get(name)
        if before == after:
            continue
        if after is None:
            what = _("{name} missing").format(name=name)
            detail = _("written by {run} (sha256 {before}), now absent").format(
                run=run, before=before
            )
        elif before is None:
            what = _("{name} added").format(name=name)
            detail = _("not written by {run}; sha256 now {after}").format(run=run, after=after)
        else:
            what = _("{name} changed since the run").format(name=name)
            detail = _("sha256 recorded by {run} is {before}, now {after}").format(
                run=run, before=before, after=after
            )
        findings.append(Finding(severity="error", what=what, detail=detail))
    return findings


# --------------------------------------------------------------------------------------------
# Database plumbing


def _parse(url: str, source: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise InputError(
            [InputProblem(file=source, expected="a SQLAlchemy database URL", found=str(exc))]
        ) from None


def _sqlite_path(url: str) -> Path | None:
    """The file of a file-backed SQLite URL, else ``None`` (other backends, in-memory)."""
    parsed = _parse(url, "ledger")
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, busy_timeout_s: float) -> None:
    # Hand BEGIN over to SQLAlchemy (see _on_sqlite_begin): the sqlite3 driver's implicit
    # transactions would let a write start as a read and fail, not wait, on a busy file.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # WAL lets history and audit read while a run writes, and survives a crash mid-write.
        # synchronous stays FULL: a recorded run must survive a power cut too.
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own words for a failure, without SQLAlchemy's statement and links."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).splitlines()[0]
    if "locked" in text:
        return _("locked by another process for more than {seconds} s ({text})").format(
            seconds=_CHECK_TIMEOUT_S, text=text
        )
    return text


def _on_sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock when it begins, so a concurrent writer waits for the busy
    # timeout rather than failing on lock upgrade; readers start plain deferred transactions.
    write = bool(conn.get_execution_options().get(_WRITE))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def _engine(
    url: str, *, write: bool, busy_timeout_s: float = _BUSY_TIMEOUT_S
) -> Iterator[Engine | None]:
    """An engine for one operation, disposed after it; ``None`` if there is nothing to read."""
    path = _sqlite_path(url)
    if path is not None:
        if not write and not path.is_file():
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout_s} if path is not None else {}
        )
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        # Unknown dialect or driver not installed (psycopg for PostgreSQL, say).
        found = f"{safe_url(url)}: {exc}"
        problem = InputProblem(file="ledger", expected="a usable database URL", found=found)
        raise InputError([problem]) from None
    if engine.dialect.name == "sqlite":
        event.listen(
            engine, "connect", functools.partial(_on_sqlite_connect, busy_timeout_s=busy_timeout_s)
        )
        event.listen(engine, "begin", _on_sqlite_begin)
    try:
        if write:
            try:
                # Inside one write transaction, so two first runs do not both create the table.
                _Base.metadata.create_all(engine.execution_options(**{_WRITE: True}))
                _add_missing_columns(engine)
            except SQLAlchemyError as exc:
                raise LedgerError.failed(
                    url, _("ledger {ledger}: cannot open ({reason})"), exc
                ) from None
        yield engine
    finally:
        engine.dispose()


def _query(url: str, stmt: Executable) -> list[RunEntry]:
    with _engine(url, write=False) as engine:
        if engine is None:
            return []
        try:
            if not inspect(engine).has_table(_RunRow.__tablename__):
                return []
            # A ledger written before the warnings column is read as it is (no warnings).
            full = _has_columns(engine)
            if not full:
                stmt = stmt.options(defer(_RunRow.warnings))
            with Session(engine) as session:
                rows = session.scalars(stmt).all()
                return [_from_row(r, warnings=full) for r in rows]
        except SQLAlchemyError as exc:
            raise LedgerError.failed(
                url, _("ledger {ledger}: cannot read ({reason})"), exc
            ) from None


def _to_row(entry: RunEntry) -> _RunRow:
    return _RunRow(**row_values(entry))


def _has_columns(engine: Engine) -> bool:
    """Whether the runs table has every column of this version (``warnings`` came later)."""
    names = {c["name"] for c in inspect(engine).get_columns(_RunRow.__tablename__)}
    return "warnings" in names


def _add_missing_columns(engine: Engine) -> None:
    """Give a ledger written by an earlier version the columns added since, empty.

    Additive only: rows already recorded keep every value, so their hashes still verify.
    """
    if _has_columns(engine):
        return
    with engine.execution_options(**{_WRITE: True}).begin() as conn:
        conn.execute(text("ALTER TABLE runs ADD COLUMN warnings TEXT"))


def _from_row(row: _RunRow, *, warnings: bool = True) -> RunEntry:
    return RunEntry(
        run_id=row.run_id,
        scenario_name=row.scenario_name,
        scenario_path=row.scenario_path,
        scenario_sha256=row.scenario_sha256,
        model_sha256=row.model_sha256,
        data_sha256=tuple(json.loads(row.data_sha256)),
        output_dir=row.output_dir,
        outputs_sha256=dict(json.loads(row.outputs_sha256)),
        status=row.status,
        rule=row.rule,
        budget_wan=row.budget_wan,
        total_claim_wan=row.total_claim_wan,
        total_awarded_wan=row.total_awarded_wan,
        recipients=row.recipients,
        user=row.user,
        host=row.host,
        started_at=row.started_at,
        finished_at=row.finished_at,
        allocator_version=row.allocator_version,
        command_line=row.command_line,
        warnings=tuple(json.loads(row.warnings)) if warnings and row.warnings else (),
        id=row.id,
    )
