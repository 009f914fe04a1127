"""Reading a run's folder for the audit and for explain: ``result.json``, the inputs it
recorded (the folder's own copies, or for an older folder the files themselves, hashed again)
and ``awards.csv`` / ``constraints.csv`` as text cells."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.analysis.audit_findings import short
from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_file
from allocator.core.i18n import _
from allocator.inputs.scenario import LoadedScenario, load_scenario
from allocator.outputs.csvfile import QUOTE, csv_text
from allocator.outputs.ledger import ENV_VAR, find_run, find_run_of_result, ledger_url
from allocator.outputs.ledger_entry import RunEntry
from allocator.outputs.names import AWARD_COLUMNS, INPUTS_DIR, RESULT

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


# A figure of a run has at most 19 digits (int64); a longer one is kept as text, so that a
# check reports it instead of Python refusing to read the file (it stops at 4,300 digits).
MAX_DIGITS = 30
INPUT_KEYS = ("role", "path", "sha256")


def _whole_number(text: str) -> int | str:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _("<a number of {n} digits>").format(n=len(text.lstrip("-")))
    return int(text)


def read_json(path: Path) -> Any:
    """A JSON file of the run folder; numbers too long for a figure are kept as text.

    Raises
    ------
    InputError
        When the file is missing, not UTF-8 or not JSON (nested too deep included).
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_int=_whole_number)
    except FileNotFoundError:
        raise InputError(
            [InputProblem(str(path), _("the run's result.json"), _("no such file"))]
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError([InputProblem(str(path), _("a JSON object"), short(str(exc)))]) from None
    except RecursionError:
        raise InputError(
            [InputProblem(str(path), _("a JSON object"), _("nesting too deep"))]
        ) from None


def read_result(folder: Path) -> dict[str, Any]:
    """``result.json`` of an output folder.

    Raises
    ------
    InputError
        When the folder or its ``result.json`` is missing, the file is not a JSON object, or
        its ``inputs`` or ``status`` (what every check starts from) are not as written by
        ``allocate run``: there is nothing to audit.
    """
    if not folder.is_dir():
        raise InputError(
            [InputProblem(str(folder), _("an output folder of allocate run"), _("no folder"))]
        )
    path = folder / RESULT
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError([InputProblem(str(path), _("a JSON object"), type(data).__name__)])
    problems = []
    inputs = data.get("inputs")
    if (
        not isinstance(inputs, list)
        or not all(
            isinstance(i, dict) and all(isinstance(i.get(k), str) for k in INPUT_KEYS)
            for i in inputs
        )
        or sum(i["role"] == "scenario" for i in inputs) != 1
        or not all(_copy_ok(i.get("copy")) for i in inputs)
    ):
        problems.append(
            InputProblem(
                str(path),
                _("a list of role, path and sha256 texts, one of them the scenario"),
                short(inputs),
                key="inputs",
            )
        )
    if not isinstance(data.get("status"), str):
        problems.append(
            InputProblem(str(path), _("a status"), short(data.get("status")), key="status")
        )
    if problems:
        raise InputError(problems)
    return data


def _copy_ok(copy: object) -> bool:
    """A copy's name is absent (an older folder) or ``inputs/<name>``, never outside it."""
    if copy is None:
        return True
    if not isinstance(copy, str):
        return False
    parts = copy.split("/")
    # No backslash or drive colon either: on Windows they would lead out of the folder.
    return (
        len(parts) == 2
        and parts[0] == INPUTS_DIR
        and parts[1] not in ("", ".", "..")
        and not any(c in parts[1] for c in "\\:")
    )


def run_ledger(result: dict[str, Any], explicit: str | None = None) -> str:
    """The ledger to look a run up in.

    ``--ledger`` when given; else the ledger ``result.json`` says the run was recorded in,
    when it can be reached from here (a SQLite file that exists, a server URL without a
    masked password); else ``ALLOCATE_LEDGER`` or the default, as every command reads them.
    """
    if explicit:
        return ledger_url(explicit, create_parent=False)
    recorded = result.get("ledger")
    if isinstance(recorded, str) and "***" not in recorded:
        sqlite = "sqlite:///"
        if not recorded.startswith(sqlite) or os.path.isfile(recorded[len(sqlite) :]):
            return recorded
    return ledger_url(os.environ.get(ENV_VAR) or None, create_parent=False)


def ledger_entry(ledger: str, folder: Path) -> RunEntry | None:
    """The folder's ledger entry: by its path, else (a folder copied or moved) by its result."""
    entry = find_run(ledger, folder)
    if entry is None and (folder / RESULT).is_file():
        entry = find_run_of_result(ledger, sha256_file(folder / RESULT))
    return entry


def section(result: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``result[key]`` when it is a JSON object; an empty one when absent; None otherwise."""
    value = result.get(key)
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def locate_scenario(
    folder: Path,
    result: dict[str, Any],
    *,
    explicit: Path | None = None,
    ledger: str | None = None,
) -> Path:
    """The scenario file of a run.

    ``result.json`` records the scenario's path as it was typed, possibly relative to the
    folder the run was started from; the ledger records it absolute. Tried in order: the
    path given (``--scenario``), the recorded path (relative to the current folder), the
    ledger's.

    Raises
    ------
    InputError
        When none of them is a file; the message lists what was tried.
    """
    tried: list[Path] = []
    if explicit is not None:
        tried.append(explicit)
    recorded = [i["path"] for i in result["inputs"] if i.get("role") == "scenario"]
    tried.extend(Path(p) for p in recorded)
    if ledger is not None:
        entry = ledger_entry(ledger, folder)
        if entry is not None:
            tried.append(Path(entry.scenario_path))
    for path in tried:
        if path.is_file():
            return path
    shown = _(", ").join(str(p) for p in tried) or _("none recorded")
    raise InputError(
        [
            InputProblem(
                str(folder / RESULT),
                _("a scenario file that exists (pass --scenario PATH)"),
                _("tried {paths}").format(paths=shown),
                key="inputs",
            )
        ]
    )


@dataclass(frozen=True)
class InputChange:
    """An input file whose bytes differ from what the run recorded (or that is gone).

    ``kind`` says which: ``file`` an input of an older folder read where it lies; ``copy``
    the folder's own copy; ``ledger`` a copy whose recorded sha256 is not the one the
    ledger recorded for the run (``now`` then holds the ledger's, ``shown`` the run id).
    """

    role: str
    shown: str
    path: Path
    recorded: str
    now: str  # "" when the file is missing
    kind: str = "file"

    def message(self) -> str:
        """What happened to the file, in the reader's language."""
        role = _role_name(self.role)
        if self.kind == "ledger":
            return _(
                "the run folder's copy {copy} of the {role} file does not match ledger run "
                "{run}: sha256 in result.json {recorded}, in the ledger {now}"
            ).format(
                copy=self.path, role=role, run=self.shown, recorded=self.recorded, now=self.now
            )
        if self.kind == "copy" and not self.now:
            return _("the run folder's copy {copy} of the {role} file {name} is missing").format(
                copy=self.path, role=role, name=self.shown
            )
        if self.kind == "copy":
            return _(
                "the run folder's copy {copy} of the {role} file {name} was edited: sha256 "
                "recorded {recorded}, now {now}"
            ).format(
                copy=self.path, role=role, name=self.shown, recorded=self.recorded, now=self.now
            )
        if not self.now:
            return _("{role} file {name} ({path}) is missing").format(
                role=role, name=self.shown, path=self.path
            )
        return _(
            "{role} file {name} ({path}) changed since the run: sha256 recorded {recorded}, "
            "now {now}"
        ).format(role=role, name=self.shown, path=self.path, recorded=self.recorded, now=self.now)


def _role_name(role: str) -> str:
    names = {"scenario": _("scenario"), "model": _("model"), "data": _("data")}
    return names.get(role, role)


def check_inputs(
    result: dict[str, Any], scenario_path: Path
) -> tuple[list[InputChange], LoadedScenario | None]:
    """Hash the scenario, model and data files again and compare with ``result.json``.

    The scenario is compared first: a changed scenario may point at other files, so its
    model and data are then not even looked at.

    Returns
    -------
    tuple
        The changed or missing files, and the loaded scenario when it is unchanged.
    """
    recorded = result["inputs"]
    changes: list[InputChange] = []
    scenario_rec = next(i for i in recorded if i.get("role") == "scenario")
    now = sha256_file(scenario_path)
    if now != scenario_rec["sha256"]:
        changes.append(
            InputChange(
                "scenario", scenario_rec["path"], scenario_path, scenario_rec["sha256"], now
            )
        )
        return changes, None
    loaded = load_scenario(scenario_path)
    files = [("model", loaded.model_path)] + [("data", p) for p in loaded.data_paths]
    wanted = [i for i in recorded if i.get("role") in ("model", "data")]
    if [r for r, _path in files] != [i["role"] for i in wanted]:
        changes.append(
            InputChange(
                "data",
                ", ".join(str(p) for p in loaded.data_paths),
                scenario_path,
                _("{n} data file(s)").format(n=sum(i["role"] == "data" for i in wanted)),
                _("{n} data file(s)").format(n=len(loaded.data_paths)),
            )
        )
        return changes, loaded
    for (role, path), rec in zip(files, wanted, strict=True):
        digest = sha256_file(path) if path.is_file() else ""
        if digest != rec["sha256"]:
            changes.append(InputChange(role, rec["path"], path, rec["sha256"], digest))
    return changes, loaded


@dataclass(frozen=True)
class SourceNote:
    """An original input file that changed or went away since the run: information only,
    when the run folder's own copy of it is intact."""

    role: str
    path: Path
    missing: bool

    def message(self) -> str:
        """One line, in the reader's language."""
        role = _role_name(self.role)
        if self.missing:
            return _(
                "the original {role} file {path} is no longer there; the run folder's own "
                "copy was used"
            ).format(role=role, path=self.path)
        return _(
            "the original {role} file {path} has changed since the run; the run folder's own "
            "copy is intact and was used"
        ).format(role=role, path=self.path)


@dataclass(frozen=True)
class RunInputs:
    """A run's inputs as the audit and explain read them.

    Attributes
    ----------
    loaded:
        The scenario with its model and data, when every file is what the run recorded.
    changes:
        Files that are not (findings).
    notes:
        Originals edited or gone since the run while the folder's copies are intact
        (information).
    copies:
        Whether the folder's own copies were read (an older folder has none).
    """

    loaded: LoadedScenario | None
    changes: list[InputChange]
    notes: list[SourceNote]
    copies: bool


def run_inputs(
    folder: Path,
    result: dict[str, Any],
    *,
    ledger: str,
    explicit: Path | None = None,
) -> RunInputs:
    """The run's scenario, model and data, checked against ``result.json`` and the ledger.

    A folder with copies (every ``inputs`` entry has a ``copy``) is read from them alone:
    each copy must hash to the sha256 ``result.json`` recorded and, when the ledger has the
    run, to the one the ledger recorded; the originals (found through the ledger's absolute
    path of the scenario, else the recorded path from here) are hashed too, and a change to
    them is a note. An older folder is read from the original files
    (:func:`locate_scenario`, :func:`check_inputs`).

    Raises
    ------
    InputError
        As :func:`locate_scenario` for an older folder, or when the copies do not load.
    """
    recorded = result["inputs"]
    if not all(isinstance(i.get("copy"), str) for i in recorded):
        path = locate_scenario(folder, result, explicit=explicit, ledger=ledger)
        found, loaded = check_inputs(result, path)
        return RunInputs(loaded, found, [], copies=False)
    entry = ledger_entry(ledger, folder)
    changes: list[InputChange] = []
    for rec in recorded:
        copy = folder / rec["copy"]
        digest = sha256_file(copy) if copy.is_file() else ""
        if digest != rec["sha256"]:
            changes.append(
                InputChange(
                    rec["role"], rec["path"], Path(rec["copy"]), rec["sha256"], digest, kind="copy"
                )
            )
    if entry is not None:
        changes += _against_ledger(recorded, entry)
    if changes:
        # The originals are not looked at: their note says the copies are intact.
        return RunInputs(None, changes, [], copies=True)
    notes = _source_notes(recorded, entry)
    scenario = next(i for i in recorded if i["role"] == "scenario")
    model = [folder / i["copy"] for i in recorded if i["role"] == "model"]
    data = [folder / i["copy"] for i in recorded if i["role"] == "data"]
    loaded = load_scenario(
        folder / scenario["copy"],
        model_path=model[0] if model else None,
        data_paths=data,
    )
    return RunInputs(loaded, [], notes, copies=True)


def _against_ledger(recorded: list[dict[str, Any]], entry: RunEntry) -> list[InputChange]:
    """Copies whose recorded sha256 is not the one the ledger holds for the run."""
    ledger_sha: dict[str, list[str | None]] = {
        "scenario": [entry.scenario_sha256],
        "model": [entry.model_sha256],
        "data": list(entry.data_sha256),
    }
    out: list[InputChange] = []
    for role, known in ledger_sha.items():
        mine = [i for i in recorded if i["role"] == role]
        for n, rec in enumerate(mine):
            theirs = known[n] if n < len(known) else None
            if theirs is not None and theirs != rec["sha256"]:
                out.append(
                    InputChange(
                        role,
                        entry.short_id,
                        Path(rec["copy"]),
                        rec["sha256"],
                        theirs,
                        kind="ledger",
                    )
                )
    return out


def _source_notes(recorded: list[dict[str, Any]], entry: RunEntry | None) -> list[SourceNote]:
    """The originals that changed or went away since the run, as far as they can be found.

    The scenario's path is the ledger's (absolute) or, without an entry, the one
    ``result.json`` records (as typed, from the folder the run was started in); the model's
    and the data's are recorded relative to the scenario's folder, as the scenario names them.
    """
    scenario = next(i for i in recorded if i["role"] == "scenario")
    source = Path(entry.scenario_path) if entry is not None else Path(scenario["path"])
    if entry is None and not source.is_file():
        return []  # nowhere known to look: nothing to say about the originals
    notes: list[SourceNote] = []
    for rec in recorded:
        path = source if rec["role"] == "scenario" else source.parent / rec["path"]
        if not path.is_file():
            notes.append(SourceNote(rec["role"], path, missing=True))
        elif sha256_file(path) != rec["sha256"]:
            notes.append(SourceNote(rec["role"], path, missing=False))
    return notes


@dataclass(frozen=True)
class AwardsFile:
    """``awards.csv`` as read: text cells, and the two money columns as numbers.

    ``claim`` and ``award`` are NaN where a cell is not a number; ``csv_row`` is the row
    number a spreadsheet shows (the header is row 1).
    """

    frame: pd.DataFrame
    claim: FloatArray
    award: FloatArray
    claim_whole: BoolArray
    award_whole: BoolArray
    csv_row: IntArray

    def __len__(self) -> int:
        return len(self.frame)


_WHOLE = re.compile(r"-?\d+")


# The largest amount a cell may hold and still be read exactly as a number.
MAX_AMOUNT = 2**53


def _numbers(cells: pd.Series) -> tuple[FloatArray, BoolArray]:
    """The cells as numbers (NaN where not a finite number within ±2**53) and which are whole."""
    text = cells.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values[~(np.abs(values) < MAX_AMOUNT)] = np.nan  # inf, -inf and NaN included
    whole = np.asarray([bool(_WHOLE.fullmatch(t)) for t in text], dtype=bool)
    return values, whole & ~np.isnan(values)


def read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """A CSV of the folder as text cells, with exactly ``columns``.

    Raises
    ------
    ValueError
        When the file cannot be read or has other columns; the message says which.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(_("cannot be read as CSV ({problem})").format(problem=exc)) from None
    if list(frame.columns) != list(columns):
        raise ValueError(
            _("expected the columns {expected} (found {found})").format(
                expected=", ".join(columns), found=", ".join(map(str, frame.columns))
            )
        )
    # A text a spreadsheet would run as a formula was written with a quote in front.
    for col in frame.columns:
        quoted = frame[col].str.startswith(QUOTE).to_numpy(dtype=bool)
        if quoted.any():
            frame.loc[quoted, col] = frame.loc[quoted, col].map(csv_text)
    return frame


def read_awards(path: Path) -> AwardsFile:
    """Read ``awards.csv`` (see :func:`read_csv`)."""
    frame = read_csv(path, AWARD_COLUMNS)
    claim, claim_whole = _numbers(frame["claim_wan"])
    award, award_whole = _numbers(frame["award_wan"])
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    return AwardsFile(frame, claim, award, claim_whole, award_whole, rows)


__all__ = [
    "AwardsFile",
    "InputChange",
    "RunInputs",
    "SourceNote",
    "check_inputs",
    "ledger_entry",
    "locate_scenario",
    "read_awards",
    "read_csv",
    "read_json",
    "read_result",
    "run_inputs",
    "run_ledger",
    "section",
]
