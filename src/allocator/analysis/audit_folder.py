"""Reading a run's folder for the audit and for explain: ``result.json``, the inputs it
recorded (found and hashed again) and ``awards.csv`` / ``constraints.csv`` as text cells."""

from __future__ import annotations

import json
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
from allocator.outputs.ledger import find_run
from allocator.outputs.names import AWARD_COLUMNS, RESULT

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
        entry = find_run(ledger, folder)
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
    """An input file whose bytes differ from what the run recorded (or that is gone)."""

    role: str
    shown: str
    path: Path
    recorded: str
    now: str  # "" when the file is missing

    def message(self) -> str:
        """What happened to the file, in the reader's language."""
        role = _role_name(self.role)
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
    "check_inputs",
    "locate_scenario",
    "read_awards",
    "read_csv",
    "read_json",
    "read_result",
    "section",
]
