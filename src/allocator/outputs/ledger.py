"""The run ledger: one row per run of ``allocate run``, kept in a database.

A finance bureau must be able to say, for any output folder, which scenario, model and data
produced it, who ran it, when, and whether the files are still the ones that run wrote. After
the pipeline has written an output folder it calls :func:`record_run`; ``allocate history``
lists the rows and ``allocate audit`` calls :func:`check_against_ledger` to catch a folder whose
files were edited, added or removed after the run.

The ledger is an embedded SQLite file by default (``out/ledger.sqlite``) and a bureau can point
it at a shared PostgreSQL database with a SQLAlchemy URL (``--ledger`` or the environment
variable ``ALLOCATE_LEDGER``). The schema is created on first write; every write is one short
transaction; on SQLite the file is opened in WAL mode with a busy timeout and writes take the
write lock up front, so that two runs finishing together wait for each other instead of
failing or damaging the file.

A run checks and records a plain SQLite file through the standard library
(:mod:`allocator.outputs.ledger_sqlite`), so that it never imports SQLAlchemy; other URLs, and
reading the ledger, go through SQLAlchemy (:mod:`allocator.outputs.ledger_db`). Both write the
same table and the same row.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

from allocator.core.errors import AllocatorError, InputError, InputProblem
from allocator.core.i18n import _
from allocator.outputs.ledger_entry import Finding, RunEntry
from allocator.outputs.ledger_sqlite import sqlite_file

__all__ = [
    "ENV_VAR",
    "LedgerError",
    "check_against_ledger",
    "check_creatable",
    "check_ledger",
    "find_run",
    "find_run_of_result",
    "is_recorded",
    "ledger_problem",
    "ledger_url",
    "list_runs",
    "record_run",
    "safe_url",
]

ENV_VAR = "ALLOCATE_LEDGER"
"""Environment variable naming the ledger (a SQLAlchemy URL or a file path)."""


class LedgerError(AllocatorError):
    """The ledger database could not be read or written (exit code 1)."""

    @classmethod
    def already_recorded(cls, url: str, entry: RunEntry) -> LedgerError:
        """The run id is in the ledger already (either writer)."""
        return cls(
            _("ledger {ledger}: run {id} is already recorded").format(
                ledger=safe_url(url), id=entry.short_id
            )
        )

    @classmethod
    def failed(cls, url: str, message: str, exc: BaseException) -> LedgerError:
        """The database refused: ``message`` names the ledger as ``{ledger}`` (password
        masked) and the database's words as ``{reason}``."""
        return cls(message.format(ledger=safe_url(url), reason=exc))


def ledger_url(
    explicit: str | os.PathLike[str] | None = None, *, create_parent: bool = True
) -> str:
    """Resolve which ledger to use.

    Parameters
    ----------
    explicit:
        A SQLAlchemy URL (``postgresql+psycopg://user@host/db``) or a file path, typically from
        ``--ledger``. When ``None`` or empty, the environment variable ``ALLOCATE_LEDGER`` is
        used, else ``out/ledger.sqlite`` under the current folder.
    create_parent:
        Create the folder of a SQLite file if missing. Commands that only read pass ``False``
        so that looking at history does not leave folders behind.

    Returns
    -------
    str
        A SQLAlchemy URL; a plain path becomes ``sqlite:///<absolute path>``.

    Raises
    ------
    InputError
        The value looks like a URL but SQLAlchemy cannot parse it.
    """
    source = "--ledger"
    value = os.fspath(explicit) if explicit is not None else ""
    if not value:
        value, source = os.environ.get(ENV_VAR, ""), ENV_VAR
    if not value:
        value, source = str(Path.cwd() / "out" / "ledger.sqlite"), "default"
    if "://" not in value:
        path = Path(value).expanduser().resolve()
        text = f"sqlite:///{path.as_posix()}"
    else:
        plain = sqlite_file(value)
        if plain is None:
            from allocator.outputs.ledger_db import resolve_url

            return resolve_url(value, source, create_parent=create_parent)
        path, text = plain, value
    if create_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    return text


def safe_url(url: str) -> str:
    """The URL with any password masked, fit to print or log."""
    if sqlite_file(url) is not None:
        return url  # a file has no password
    from allocator.outputs.ledger_db import safe_url as masked

    return masked(url)


def ledger_problem(url: str, found: str) -> InputProblem:
    """The one refusal of a ledger a run cannot record in, naming it (password masked)."""
    return InputProblem(
        file=safe_url(url),
        expected=_("a ledger this run can record in (--ledger or ALLOCATE_LEDGER)"),
        found=found,
    )


def check_ledger(url: str) -> None:
    """Open the ledger as a run will write to it, and refuse it now if that would fail.

    Called before the solve, so that a ledger that cannot record the run stops it before any
    earlier output is replaced. Nothing is written: a missing SQLite file is not created (its
    folder must allow it), and on an existing ledger the write lock is taken, the file
    checked, a probe table created and the whole transaction rolled back.

    Parameters
    ----------
    url:
        The ledger, as returned by :func:`ledger_url`.

    Raises
    ------
    InputError
        The driver is missing, the database cannot be reached, the file is not a database or
        is damaged, it or its folder is read-only, or another process holds its write lock
        for longer than a few seconds.
    """
    path = sqlite_file(url)
    if path is None:
        from allocator.outputs.ledger_db import check_ledger as check_db

        check_db(url)
        return
    if not path.exists():
        check_creatable(url, path)
        return
    if path.is_dir():
        raise InputError([ledger_problem(url, _("a folder, not a file"))])
    from allocator.outputs.ledger_sqlite import check

    reason = check(path)
    if reason is not None:
        raise InputError([ledger_problem(url, reason)])


def check_creatable(url: str, path: Path) -> None:
    """Refuse a SQLite file that could not be created: a file on the way, a read-only folder."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(
            [ledger_problem(url, _("{folder} is a file, not a folder").format(folder=folder))]
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            [ledger_problem(url, _("cannot create the file in {folder}").format(folder=folder))]
        )


def record_run(url: str, entry: RunEntry) -> RunEntry:
    """Add one run to the ledger, creating the table on first use.

    Parameters
    ----------
    url:
        The ledger, as returned by :func:`ledger_url`.
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
    path = sqlite_file(url)
    if path is None:
        from allocator.outputs.ledger_db import record_run as record_db

        return record_db(url, entry)
    from allocator.outputs.ledger_sqlite import record

    try:
        row_id = record(path, entry)
    except sqlite3.IntegrityError:
        raise LedgerError.already_recorded(url, entry) from None
    except (sqlite3.Error, OSError) as exc:
        raise LedgerError.failed(
            url, _("ledger {ledger}: cannot record the run ({reason})"), exc
        ) from None
    return replace(entry, id=row_id)


def is_recorded(url: str, output_dir: str | os.PathLike[str]) -> bool:
    """Whether the files now in ``output_dir`` are those its latest ledger entry recorded."""
    from allocator.outputs.ledger_db import is_recorded as recorded

    return recorded(url, output_dir)


def list_runs(url: str, limit: int | None = None, scenario: str | None = None) -> list[RunEntry]:
    """Runs in the ledger, newest first (:func:`allocator.outputs.ledger_db.list_runs`)."""
    from allocator.outputs.ledger_db import list_runs as runs

    return runs(url, limit, scenario)


def find_run(url: str, output_dir: str | os.PathLike[str]) -> RunEntry | None:
    """The latest ledger entry for an output folder, or None (see ``ledger_db.find_run``)."""
    from allocator.outputs.ledger_db import find_run as find

    return find(url, output_dir)


def find_run_of_result(url: str, result_sha256: str) -> RunEntry | None:
    """The run whose folder held a ``result.json`` of these bytes, or None (a copied or moved
    folder; see ``ledger_db.find_run_of_result``)."""
    from allocator.outputs.ledger_db import find_run_of_result as find

    return find(url, result_sha256)


def check_against_ledger(url: str, output_dir: str | os.PathLike[str]) -> list[Finding]:
    """An output folder's files against its run's record
    (:func:`allocator.outputs.ledger_db.check_against_ledger`)."""
    from allocator.outputs.ledger_db import check_against_ledger as against

    return against(url, output_dir)
