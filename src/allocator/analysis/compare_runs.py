"""The output folders a comparison reads: ``result.json`` and ``awards.csv`` of each run,
every problem of every folder reported at once (:func:`load_runs`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.outputs.names import AWARDS, RESULT

# The columns of awards.csv that a comparison reads (docs/outputs.md).
AWARD_NEEDS = (
    "recipient_id",
    "recipient_name",
    "district",
    "clause_id",
    "item_key",
    "claim_wan",
    "award_wan",
)
DEFAULT_SOLVER = "CP-SAT"


@dataclass(frozen=True)
class Run:
    """One run's output folder, read back.

    Attributes
    ----------
    path:
        The folder, as given.
    label:
        The column heading: ``<scenario> · <rule> · <solver>``, with the folder's name added
        when two runs would otherwise share it.
    result:
        ``result.json``.
    awards:
        ``awards.csv``, every column text except ``claim_wan`` and ``award_wan`` (int64).
    """

    path: Path
    label: str
    result: dict[str, Any]
    awards: pd.DataFrame

    @property
    def scenario(self) -> str:
        return str(self.result.get("scenario") or self.path.name)

    @property
    def rule(self) -> str:
        return str(self.result.get("rule") or "")

    @property
    def solver(self) -> str:
        return solver_name(self.result)

    @property
    def status(self) -> str:
        return str(self.result.get("status") or "")

    @property
    def policy_title(self) -> str:
        """The title of the policy model the run used, as ``result.json`` records it."""
        policy = self.result.get("policy")
        return str(policy.get("title") or "") if isinstance(policy, dict) else ""


def solver_name(result: dict[str, Any]) -> str:
    """The solver a ``result.json`` names, else CP-SAT (the default engine).

    A run names its engine and version in ``solver.solver`` (``"CP-SAT 9.15.6755"``,
    ``"HiGHS 1.12.0"``); a top-level ``solver_name`` or a plain string ``solver`` is read too.
    Runs written before the engine could be chosen name none: CP-SAT solved them.
    """
    for key in ("solver_name", "engine"):
        value = result.get(key)
        if isinstance(value, str) and value:
            return value
    details = result.get("solver")
    if isinstance(details, str) and details:
        return details
    if isinstance(details, dict):
        for key in ("solver", "name", "engine"):
            value = details.get(key)
            if isinstance(value, str) and value:
                return value
    return DEFAULT_SOLVER


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Read run folders; every problem of every folder is reported at once.

    Parameters
    ----------
    paths:
        Output folders of ``allocate run``.

    Returns
    -------
    list of Run
        In the order given, with unique labels.

    Raises
    ------
    InputError
        For a folder without ``result.json`` or ``awards.csv`` (an infeasible run has no
        awards), or whose files cannot be read; each problem names the folder or file.
    """
    problems: list[InputProblem] = []
    read: list[tuple[Path, dict[str, Any], pd.DataFrame]] = []
    for p in paths:
        path = Path(p)
        found = _read_folder(path, problems)
        if found is not None:
            read.append((path, *found))
    if problems:
        raise InputError(problems)
    labels = _unique_labels(
        [
            f"{_scenario(doc, path)} · {doc.get('rule') or '?'} · {solver_name(doc)}"
            for path, doc, _awards in read
        ],
        [path for path, _doc, _awards in read],
    )
    return [
        Run(path=path, label=label, result=doc, awards=awards)
        for (path, doc, awards), label in zip(read, labels, strict=True)
    ]


def _scenario(doc: dict[str, Any], path: Path) -> str:
    return str(doc.get("scenario") or path.name)


def _unique_labels(labels: list[str], paths: list[Path]) -> list[str]:
    """Add the folder's name to labels that repeat, then a counter if still needed."""
    out = [
        f"{label} ({path.name})" if labels.count(label) > 1 else label
        for label, path in zip(labels, paths, strict=True)
    ]
    seen: dict[str, int] = {}
    for n, label in enumerate(out):
        if out.count(label) > 1:
            seen[label] = seen.get(label, 0) + 1
            out[n] = f"{label} #{seen[label]}"
    return out


def _read_folder(
    path: Path, problems: list[InputProblem]
) -> tuple[dict[str, Any], pd.DataFrame] | None:
    where = str(path)
    if not path.is_dir():
        problems.append(InputProblem(where, _("a run's output folder"), _("no such folder")))
        return None
    result_file, awards_file = path / RESULT, path / AWARDS
    missing = [f.name for f in (result_file, awards_file) if not f.is_file()]
    if missing:
        found = _("no {files}").format(files=_(" and no ").join(missing))
        if result_file.is_file():
            status = _peek_status(result_file)
            if status:
                found = _("{found}; status {status}, so there is no allocation to compare").format(
                    found=found, status=status
                )
        problems.append(
            InputProblem(
                where,
                _("a run's output folder with {result} and {awards}").format(
                    result=RESULT, awards=AWARDS
                ),
                found,
            )
        )
        return None
    try:
        doc = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        problems.append(InputProblem(str(result_file), _("a JSON document"), type(exc).__name__))
        return None
    if not isinstance(doc, dict):
        problems.append(InputProblem(str(result_file), _("a JSON object"), type(doc).__name__))
        return None
    awards = _read_awards(awards_file, problems)
    if awards is None:
        return None
    return doc, awards


def _peek_status(path: Path) -> str:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return ""
    return str(doc.get("status", "")) if isinstance(doc, dict) else ""


def _read_awards(path: Path, problems: list[InputProblem]) -> pd.DataFrame | None:
    file = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(InputProblem(file, _("a CSV file of awards"), type(exc).__name__))
        return None
    absent = [c for c in AWARD_NEEDS if c not in frame.columns]
    if absent:
        problems.append(
            InputProblem(
                file,
                _("the columns {columns}").format(columns=", ".join(AWARD_NEEDS)),
                _("no {files}").format(files=", ".join(absent)),
            )
        )
        return None
    bad = False
    for col in ("claim_wan", "award_wan"):
        numbers = pd.to_numeric(frame[col], errors="coerce")
        # Beyond 2**53 a float is no longer a whole number of 万元 read exactly (inf included).
        wrong = numbers.isna() | (numbers < 0) | (numbers >= 2**53) | (numbers != numbers.round())
        if wrong.any():
            first = int(np.flatnonzero(wrong.to_numpy())[0])
            problems.append(
                InputProblem(
                    file,
                    _("a whole number of 万元, 0 or more"),
                    repr(frame[col].iloc[first]),
                    row=first + 2,  # the header is row 1
                    column=col,
                )
            )
            bad = True
        else:
            frame[col] = numbers.astype(np.int64)
    return None if bad else frame


__all__ = ["Run", "load_runs", "solver_name"]
