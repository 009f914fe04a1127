"""A run as the ledger records it: :class:`RunEntry`, read from an output folder.

The entry carries what a finance bureau must be able to say about an output folder: which
scenario, model and data produced it, who ran it, when, and the sha256 of every file the run
wrote (docs/ledger.md). :mod:`allocator.outputs.ledger` stores entries; this module only reads
folders and builds them.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shlex
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from allocator import __version__
from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_file
from allocator.outputs.names import RESULT


@dataclass(frozen=True)
class RunEntry:
    """One run of ``allocate run``, as recorded in the ledger.

    Attributes
    ----------
    run_id:
        64 hex digits: sha256 of the run's ``result.json`` digest, its start and end times and
        its output folder. Unique in the ledger; the first 12 digits are shown as the short id.
    scenario_name:
        Name of the scenario (from ``result.json``, else the scenario file's stem).
    scenario_path:
        Absolute path of the scenario file as given to ``allocate run``.
    scenario_sha256, model_sha256:
        sha256 of the scenario file and of the policy model, ``None`` when unknown.
    data_sha256:
        sha256 of every enterprise data file, in the order the scenario lists them.
    output_dir:
        Absolute path of the output folder.
    outputs_sha256:
        Every file in the output folder (path relative to the folder, ``/``-separated) mapped to
        its sha256 at the time of recording.
    status:
        Solver status (``OPTIMAL``, ``FEASIBLE`` ...).
    rule:
        Fairness rule, ``None`` when ``result.json`` does not say.
    budget_wan, total_claim_wan, total_awarded_wan:
        Fund, sum of the claims and sum of the awards, whole 万元.
    recipients:
        Number of recipients with a positive award, ``None`` when unknown.
    user, host:
        Account and machine that ran the command.
    started_at, finished_at:
        UTC, ISO 8601 with microseconds (``2025-03-01T08:00:00.000000+00:00``).
    allocator_version:
        Version of allocate that produced the outputs.
    command_line:
        The command as typed, shell-quoted.
    warnings:
        What the data gave warnings of (``result.json``'s ``warnings``): implausible amounts,
        incomplete district figures.
    id:
        Row number in the ledger; ``None`` until recorded.
    """

    run_id: str
    scenario_name: str
    scenario_path: str
    scenario_sha256: str | None
    model_sha256: str | None
    data_sha256: tuple[str, ...]
    output_dir: str
    outputs_sha256: Mapping[str, str]
    status: str
    rule: str | None
    budget_wan: int
    total_claim_wan: int | None
    total_awarded_wan: int
    recipients: int | None
    user: str
    host: str
    started_at: str
    finished_at: str
    allocator_version: str
    command_line: str
    warnings: tuple[str, ...] = ()
    id: int | None = field(default=None, compare=False)

    @property
    def short_id(self) -> str:
        """First 12 hex digits of :attr:`run_id`, enough to tell runs apart on screen."""
        return self.run_id[:12]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (lists and dicts, no tuples or mappings)."""
        out = asdict(self)
        out["data_sha256"] = list(self.data_sha256)
        out["outputs_sha256"] = dict(self.outputs_sha256)
        out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_output_dir(
        cls,
        out_dir: str | os.PathLike[str],
        *,
        scenario_path: str | os.PathLike[str],
        started_at: datetime,
        finished_at: datetime,
        command_line: str | Sequence[str],
        scenario_name: str | None = None,
    ) -> RunEntry:
        """Build the entry of a finished run from its output folder.

        Reads ``result.json`` and hashes every file in the folder, so call it only once every
        output (including the report) has been written.

        Parameters
        ----------
        out_dir:
            The run's output folder.
        scenario_path:
            The scenario file given to ``allocate run``.
        started_at, finished_at:
            When the run started and when its outputs were complete. Aware datetimes are
            converted to UTC; naive ones are taken as local time.
        command_line:
            The command as a string, or as an argument list (``sys.argv``), which is
            shell-quoted.
        scenario_name:
            Overrides the name found in ``result.json``.

        Returns
        -------
        RunEntry
            Not yet recorded (``id`` is ``None``); pass it to :func:`record_run`.

        Raises
        ------
        InputError
            The folder or its ``result.json`` is missing, is not JSON, or lacks ``status``,
            ``budget_wan`` or ``total_awarded_wan``; every problem is listed.
        """
        folder = existing_dir(out_dir)
        result_path = folder / RESULT
        result = _read_result(result_path)
        outputs = hash_outputs(folder)
        return cls.from_result(
            result,
            file=str(result_path),
            out_dir=folder,
            outputs=outputs,
            result_sha256=outputs[RESULT],
            scenario_path=scenario_path,
            started_at=started_at,
            finished_at=finished_at,
            command_line=command_line,
            scenario_name=scenario_name,
        )

    @classmethod
    def from_result(
        cls,
        result: Mapping[str, Any],
        *,
        file: str,
        out_dir: Path,
        outputs: Mapping[str, str],
        result_sha256: str,
        scenario_path: str | os.PathLike[str],
        started_at: datetime,
        finished_at: datetime,
        command_line: str | Sequence[str],
        scenario_name: str | None = None,
    ) -> RunEntry:
        """Build the entry of a run from the content of its ``result.json``.

        :meth:`from_output_dir` reads the folder and calls this; a run that wrote no folder
        (an infeasible run that kept an earlier allocation) calls it with no ``outputs``.

        Parameters
        ----------
        result:
            The content of ``result.json``.
        file:
            Where the result came from, for messages.
        out_dir:
            The output folder (absolute).
        outputs:
            The sha256 of every file the run left in the folder; empty when it left none.
        result_sha256:
            The sha256 of ``result.json``'s bytes, which enters the run id.
        scenario_path, started_at, finished_at, command_line, scenario_name:
            As for :meth:`from_output_dir`.

        Raises
        ------
        InputError
            ``result`` lacks ``status`` or ``budget_wan``, or ``total_awarded_wan`` for a
            run with an allocation; every problem is listed.
        """
        folder = out_dir
        facts = _result_facts(result, file)
        scenario = Path(scenario_path).expanduser().resolve()
        # result.json lists its inputs as {"role", "path", "sha256"}; older folders may carry
        # a "sha256" mapping instead.
        inputs = result.get("inputs")
        by_role: dict[str, list[str]] = {}
        if isinstance(inputs, list):
            for entry in inputs:
                if isinstance(entry, dict) and "role" in entry and "sha256" in entry:
                    by_role.setdefault(str(entry["role"]), []).append(str(entry["sha256"]))
        scenario_sha = _opt_str(_get(result, "sha256", "scenario")) or next(
            iter(by_role.get("scenario", [])), None
        )
        if scenario_sha is None and scenario.is_file():
            scenario_sha = sha256_file(scenario)
        data = _get(result, "sha256", "data")
        data_sha = (
            tuple(str(d) for d in data)
            if isinstance(data, list)
            else tuple(by_role.get("data", []))
        )
        model_sha = _opt_str(_get(result, "sha256", "model")) or next(
            iter(by_role.get("model", [])), None
        )
        start, finish = _iso(started_at), _iso(finished_at)
        command = command_line if isinstance(command_line, str) else shlex.join(command_line)
        # The folder path enters the id so that two runs with identical results written in the
        # same microsecond to different folders still get different ids.
        seed = "\n".join([result_sha256, start, finish, str(folder)])
        return cls(
            run_id=hashlib.sha256(seed.encode()).hexdigest(),
            scenario_name=scenario_name or _scenario_name(result) or scenario.stem,
            scenario_path=str(scenario),
            scenario_sha256=scenario_sha,
            model_sha256=model_sha,
            data_sha256=data_sha,
            output_dir=str(folder),
            outputs_sha256=dict(outputs),
            status=facts["status"],
            rule=_opt_str(result.get("rule")),
            budget_wan=facts["budget_wan"],
            total_claim_wan=_opt_int(result.get("total_claim_wan")),
            total_awarded_wan=facts["total_awarded_wan"],
            recipients=_opt_int(_get(result, "counts", "recipients")),
            user=_user(),
            host=_host(),
            started_at=start,
            finished_at=finish,
            allocator_version=_opt_str(_get(result, "versions", "allocator")) or __version__,
            command_line=command,
            warnings=_warnings(result.get("warnings")),
        )


@dataclass(frozen=True)
class Finding:
    """One discrepancy between an output folder and its ledger entry.

    Attributes
    ----------
    severity:
        ``"error"`` when a file differs from what the run wrote; ``"warning"`` when the folder
        has no ledger entry (it may come from another machine's ledger, or be forged).
    what:
        One line naming the file: ``"awards.csv changed since the run"``.
    detail:
        The evidence: recorded and current sha256, run id and time.
    """

    severity: Literal["error", "warning"]
    what: str
    detail: str


def hash_outputs(out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of every file under an output folder.

    Parameters
    ----------
    out_dir:
        The folder; sub-folders are walked too.

    Returns
    -------
    dict
        Path relative to the folder, ``/``-separated, mapped to its hex sha256; sorted by path.
    """
    folder = Path(out_dir)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}


def existing_dir(path: str | os.PathLike[str]) -> Path:
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(
            [InputProblem(file=str(folder), expected="an output folder", found="no such folder")]
        )
    return folder


def _read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            [InputProblem(file=str(path), expected="the run's result file", found="no such file")]
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            [InputProblem(file=str(path), expected="a JSON object", found=str(exc))]
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            [InputProblem(file=str(path), expected="a JSON object", found=type(data).__name__)]
        )
    return data


# Statuses of a run without an allocation (docs/outputs.md, exit codes 3 and 4).
_NO_ALLOCATION = ("INFEASIBLE", "UNKNOWN")


class _Required(TypedDict):
    status: str
    budget_wan: int
    total_awarded_wan: int


def _result_facts(result: Mapping[str, Any], file: str) -> _Required:
    """The keys a ledger entry cannot do without, all checked before raising."""
    problems: list[InputProblem] = []
    status = _opt_str(result.get("status"))
    if status is None:
        problems.append(
            InputProblem(
                file=file,
                key="status",
                expected="a solver status string",
                found=_found(result.get("status")),
            )
        )
    amounts: dict[str, int] = {}
    for key in ("budget_wan", "total_awarded_wan"):
        value = _opt_int(result.get(key))
        if value is None and key == "total_awarded_wan" and status in _NO_ALLOCATION:
            # An infeasible or unsolved run awarded nothing; result.json says null.
            value = 0 if result.get(key) is None else None
        if value is None:
            problems.append(
                InputProblem(
                    file=file,
                    key=key,
                    expected="a whole number of 万元",
                    found=_found(result.get(key)),
                )
            )
        else:
            amounts[key] = value
    if problems or status is None:
        raise InputError(problems)
    return _Required(
        status=status,
        budget_wan=amounts["budget_wan"],
        total_awarded_wan=amounts["total_awarded_wan"],
    )


def _found(value: object) -> str:
    return "nothing" if value is None else repr(value)


def _get(data: Mapping[str, Any], *keys: str) -> object:
    node: object = data
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_int(value: object) -> int | None:
    # bool is an int in Python, but True 万元 is a bug upstream, not an amount.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _scenario_name(result: Mapping[str, Any]) -> str | None:
    scenario = result.get("scenario")
    if isinstance(scenario, Mapping):
        return _opt_str(scenario.get("name"))
    return _opt_str(scenario) or _opt_str(result.get("scenario_name"))


def _iso(moment: datetime) -> str:
    # Fixed width (always microseconds, always +00:00) so that text order is time order.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        # No USER/LOGNAME and no passwd entry (some containers); the run is still recorded.
        return "unknown"


def _host() -> str:
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"


def _warnings(value: object) -> tuple[str, ...]:
    """result.json's ``warnings``: a list of texts; anything else records none."""
    if not isinstance(value, list):
        return ()
    return tuple(str(w) for w in value)


__all__ = ["Finding", "RunEntry", "existing_dir", "hash_outputs"]
