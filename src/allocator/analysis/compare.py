"""Compare the output folders of several runs: metrics, totals, winners and losers, charts.

``allocate compare DIR_A DIR_B [DIR ...]`` reads each folder's ``result.json`` and
``awards.csv`` (docs/outputs.md) and never calls the solver. The first folder is the reference:
the winners and losers of every other run are the recipients whose total award changed most
against it. ``docs/analysis.md`` defines every metric; in short, over ``awards.csv``:

- the **ratio** of a claim is ``award_wan / claim_wan``, over eligible claims with a positive
  claim (a claim of 0 cannot be funded, so it has no ratio);
- a recipient is **eligible** when its claims together are positive, and **funded** when its
  awards together are; **coverage** is funded ÷ eligible;
- the **Gini** coefficient of values ``x_1 .. x_n`` with mean ``μ`` is
  ``Σ_i Σ_j |x_i − x_j| / (2 n² μ)`` (no ``n/(n−1)`` correction), 0 when all are equal or all
  zero; the Gini of awards is over the eligible recipients' total awards, the Gini of ratios
  over the claims' ratios.

The charts (grouped bars of totals per clause and per district, Lorenz curves of awards,
histograms of ratios) are matplotlib figures; :func:`svg_text` turns one into SVG text with
fixed ids and no date, so that the same comparison gives the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.errors import InputError, Problem
from allocator.inputs.schema import DISTRICTS
from allocator.outputs.names import AWARDS, RESULT

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

FloatArray = npt.NDArray[np.float64]

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
TOP = 10

# (key, label) of every metric, in the order tables show them.
METRICS: tuple[tuple[str, str], ...] = (
    ("scenario", "scenario"),
    ("rule", "fairness rule"),
    ("solver", "solver"),
    ("status", "status"),
    ("budget_wan", "budget (万元)"),
    ("budget_used_wan", "budget used (万元)"),
    ("total_claim_wan", "claims (万元)"),
    ("eligible_recipients", "recipients eligible (claim > 0)"),
    ("recipients_funded", "recipients funded"),
    ("coverage", "share of eligible recipients funded"),
    ("funded_claims", "claims funded"),
    ("mean_ratio", "mean award ratio"),
    ("median_ratio", "median award ratio"),
    ("min_ratio", "minimum award ratio"),
    ("gini_awards", "Gini of awards (per recipient)"),
    ("gini_ratios", "Gini of award ratios"),
    ("objective", "objective"),
    ("best_bound", "best bound"),
    ("gap", "gap"),
    ("claims_changed", "claims with another award than the first run"),
)
METRIC_LABELS = dict(METRICS)

# Histogram classes of the award ratio: nothing, ten-per-cent steps, the whole claim.
RATIO_BINS: tuple[str, ...] = (
    "0",
    *(f"({k / 10:.1f}, {(k + 1) / 10:.1f}]" for k in range(9)),
    "(0.9, 1)",
    "1",
)

# Fixed SVG ids and no date: equal inputs give equal bytes (docs/analysis.md).
SVG_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "allocate",
    "svg.fonttype": "none",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": "allocate"}
# Chart text is ASCII (matplotlib's default fonts have no Chinese glyphs): 万元 spelled out.
WAN_UNIT = "10,000 yuan"
AWARD_AXIS = f"award ({WAN_UNIT})"
_MISSING_GLYPH = re.compile(r"Glyph \d+ .* missing from font")


# --------------------------------------------------------------------------------------------
# Reading run folders


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
    problems: list[Problem] = []
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
            for path, doc, _ in read
        ],
        [path for path, _, _ in read],
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


def _read_folder(path: Path, problems: list[Problem]) -> tuple[dict[str, Any], pd.DataFrame] | None:
    where = str(path)
    if not path.is_dir():
        problems.append(Problem(where, "a run's output folder", "no such folder"))
        return None
    result_file, awards_file = path / RESULT, path / AWARDS
    missing = [f.name for f in (result_file, awards_file) if not f.is_file()]
    if missing:
        found = f"no {' and no '.join(missing)}"
        if result_file.is_file():
            status = _peek_status(result_file)
            if status:
                found += f"; status {status}, so there is no allocation to compare"
        problems.append(Problem(where, f"a run's output folder with {RESULT} and {AWARDS}", found))
        return None
    try:
        doc = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(str(result_file), "a JSON document", type(exc).__name__))
        return None
    if not isinstance(doc, dict):
        problems.append(Problem(str(result_file), "a JSON object", type(doc).__name__))
        return None
    awards = _read_awards(awards_file, problems)
    if awards is None:
        return None
    return doc, awards


def _peek_status(path: Path) -> str:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return str(doc.get("status", "")) if isinstance(doc, dict) else ""


def _read_awards(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    file = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(Problem(file, "a CSV file of awards", type(exc).__name__))
        return None
    absent = [c for c in AWARD_NEEDS if c not in frame.columns]
    if absent:
        problems.append(
            Problem(file, f"the columns {', '.join(AWARD_NEEDS)}", f"no {', '.join(absent)}")
        )
        return None
    bad = False
    for col in ("claim_wan", "award_wan"):
        numbers = pd.to_numeric(frame[col], errors="coerce")
        wrong = numbers.isna() | (numbers < 0) | (numbers != numbers.round())
        if wrong.any():
            first = int(np.flatnonzero(wrong.to_numpy())[0])
            problems.append(
                Problem(
                    file,
                    "a whole number of 万元, 0 or more",
                    repr(frame[col].iloc[first]),
                    row=first + 2,  # the header is row 1
                    column=col,
                )
            )
            bad = True
        else:
            frame[col] = numbers.astype(np.int64)
    return None if bad else frame


# --------------------------------------------------------------------------------------------
# Metrics


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient ``Σ_i Σ_j |x_i − x_j| / (2 n² μ)``, without the ``n/(n−1)`` factor.

    Parameters
    ----------
    values:
        Non-negative numbers.

    Returns
    -------
    float
        0 for equal values (and for none, or all zero); ``(n − 1)/n`` when one value holds
        everything: awards 0, 0, 10 give 2/3.

    Raises
    ------
    ValueError
        For a negative or non-finite value.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size and (not np.isfinite(x).all() or x[0] < 0):
        raise ValueError("gini: values must be finite and non-negative")
    total = float(x.sum())
    if x.size == 0 or total == 0:
        return 0.0
    n = x.size
    # Sorted ascending, the double sum equals Σ_i (2i − n − 1) x_(i), i = 1..n.
    coefficient = 2.0 * np.arange(1, n + 1, dtype=np.float64) - n - 1
    return float(coefficient @ x / (n * total))


def lorenz(values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """The Lorenz curve: share of recipients (poorest first) against their share of the total.

    Returns
    -------
    tuple of arrays
        ``x`` and ``y``, both from 0 to 1 with ``n + 1`` points; the diagonal when the total
        is 0 (nobody has more than anybody).
    """
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    x = np.linspace(0.0, 1.0, v.size + 1)
    total = float(v.sum())
    if total == 0:
        return x, x.copy()
    return x, np.concatenate([np.zeros(1), np.cumsum(v) / total]).astype(np.float64)


def award_ratios(awards: pd.DataFrame) -> FloatArray:
    """``award_wan / claim_wan`` of every claim with a positive claim, in table order."""
    claim = awards["claim_wan"].to_numpy(dtype=np.float64)
    award = awards["award_wan"].to_numpy(dtype=np.float64)
    positive = claim > 0
    ratios: FloatArray = award[positive] / claim[positive]
    return ratios


def recipient_totals(awards: pd.DataFrame) -> pd.DataFrame:
    """Claims and awards per recipient (a firm's projects count towards the firm).

    Returns
    -------
    DataFrame
        ``recipient_id`` (sorted), ``recipient_name`` (the first row's), ``claim_wan``,
        ``award_wan``.
    """
    g = awards.groupby("recipient_id", sort=True)
    out = pd.DataFrame(
        {
            "recipient_name": g["recipient_name"].first(),
            "claim_wan": g["claim_wan"].sum().astype(np.int64),
            "award_wan": g["award_wan"].sum().astype(np.int64),
        }
    )
    return out.reset_index()


def ratio_histogram(ratios: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Counts of ratios in the classes of :data:`RATIO_BINS`: 0, (0, 0.1] ... (0.9, 1), 1."""
    r = np.asarray(ratios, dtype=np.float64)
    counts = np.zeros(len(RATIO_BINS), dtype=np.int64)
    counts[0] = int((r <= 0).sum())
    counts[-1] = int((r >= 1).sum())
    inside = r[(r > 0) & (r < 1)]
    # (k/10, (k+1)/10] for k = 0..8, and (0.9, 1): the ceiling of 10 r, less one.
    k = np.clip(np.ceil(inside * 10 - 1e-9).astype(np.int64) - 1, 0, 9)
    np.add.at(counts, 1 + k, 1)
    return counts


@dataclass(frozen=True)
class RunMetrics:
    """The figures of one run that a comparison puts side by side (docs/analysis.md).

    Money is whole 万元; ratios, coverage and Gini coefficients are in [0, 1]; ``None`` where a
    figure does not exist (no claims, no objective).
    """

    budget_wan: int | None
    budget_used_wan: int
    total_claim_wan: int
    eligible_recipients: int
    recipients_funded: int
    coverage: float | None
    funded_claims: int
    mean_ratio: float | None
    median_ratio: float | None
    min_ratio: float | None
    gini_awards: float
    gini_ratios: float


def run_metrics(awards: pd.DataFrame, budget_wan: int | None = None) -> RunMetrics:
    """The metrics of one awards table.

    Parameters
    ----------
    awards:
        ``awards.csv`` of a run (``claim_wan`` and ``award_wan`` whole 万元).
    budget_wan:
        The run's fund, reported as given.
    """
    totals = recipient_totals(awards)
    eligible = totals[totals["claim_wan"] > 0]
    funded = int((eligible["award_wan"] > 0).sum())
    ratios = award_ratios(awards)
    has = ratios.size > 0
    return RunMetrics(
        budget_wan=budget_wan,
        budget_used_wan=int(awards["award_wan"].sum()),
        total_claim_wan=int(awards["claim_wan"].sum()),
        eligible_recipients=len(eligible),
        recipients_funded=funded,
        coverage=funded / len(eligible) if len(eligible) else None,
        funded_claims=int((awards["award_wan"] > 0).sum()),
        mean_ratio=float(ratios.mean()) if has else None,
        median_ratio=float(np.median(ratios)) if has else None,
        min_ratio=float(ratios.min()) if has else None,
        gini_awards=gini(eligible["award_wan"].to_numpy()),
        gini_ratios=gini(ratios),
    )


# --------------------------------------------------------------------------------------------
# The comparison


@dataclass(frozen=True)
class Change:
    """The recipients whose total award changed most from the first run to another.

    ``winners`` and ``losers`` have the columns ``recipient_id``, ``recipient_name``,
    ``award_before_wan``, ``award_after_wan``, ``change_wan``; winners by the largest rise,
    losers by the largest fall, ties by recipient id.
    """

    before: str
    after: str
    winners: pd.DataFrame
    losers: pd.DataFrame
    recipients_up: int
    recipients_down: int


@dataclass(frozen=True)
class Comparison:
    """Runs side by side.

    Attributes
    ----------
    runs:
        The runs, the first being the reference.
    metrics:
        One row per metric key of :data:`METRICS`, one column per run label.
    per_clause, per_district:
        One row per clause (district), with ``claim_wan`` and ``award_wan`` per run: columns
        ``clause_id``, ``title`` (``district``) then ``claim_wan[<label>]`` and
        ``award_wan[<label>]``; missing where a run has no such clause.
    changes:
        For each run after the first, its winners and losers against the first.
    notes:
        Remarks on pairs of runs of one scenario and rule solved by different solvers: whether
        their objectives and awards agree.
    """

    runs: list[Run]
    metrics: pd.DataFrame
    per_clause: pd.DataFrame
    per_district: pd.DataFrame
    changes: list[Change]
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.runs]

    def metric(self, key: str, label: str) -> Any:
        """The value of metric ``key`` (a key of :data:`METRICS`) for the run ``label``."""
        value: Any = self.metrics.at[key, label]
        return value


def compare(runs: Sequence[Run], *, top: int = TOP) -> Comparison:
    """Compare runs, the first being the reference.

    Parameters
    ----------
    runs:
        At least one run (from :func:`load_runs`).
    top:
        How many winners and losers to list per run.
    """
    if not runs:
        raise ValueError("compare: no runs")
    first = runs[0]
    columns: dict[str, dict[str, Any]] = {}
    for run in runs:
        m = run_metrics(run.awards, _int_or_none(run.result.get("budget_wan")))
        values: dict[str, Any] = {
            "scenario": run.scenario,
            "rule": run.rule,
            "solver": run.solver,
            "status": run.status,
            **m.__dict__,
            "objective": _float_or_none(run.result.get("objective")),
            "best_bound": _float_or_none(run.result.get("best_bound")),
            "gap": _float_or_none(run.result.get("gap")),
            "claims_changed": _claims_changed(first.awards, run.awards),
        }
        columns[run.label] = values
    metrics = pd.DataFrame(
        {label: [col[k] for k, _ in METRICS] for label, col in columns.items()},
        index=[k for k, _ in METRICS],
        dtype=object,
    )
    changes = [_change(first, run, top) for run in runs[1:]]
    return Comparison(
        runs=list(runs),
        metrics=metrics,
        per_clause=_per_clause(runs),
        per_district=_per_district(runs),
        changes=changes,
        notes=_solver_notes(runs, columns),
    )


def compare_folders(paths: Iterable[str | Path], *, top: int = TOP) -> Comparison:
    """:func:`load_runs` then :func:`compare`."""
    return compare(load_runs(paths), top=top)


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float_or_none(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _claim_keys(awards: pd.DataFrame) -> pd.Series:
    return awards["recipient_id"] + "\x1f" + awards["item_key"]


def _claims_changed(first: pd.DataFrame, other: pd.DataFrame) -> int:
    """Claims (recipient, item) whose award differs; a claim in one run only counts if paid."""
    a = pd.Series(first["award_wan"].to_numpy(), index=_claim_keys(first))
    b = pd.Series(other["award_wan"].to_numpy(), index=_claim_keys(other))
    a, b = a.groupby(level=0).sum(), b.groupby(level=0).sum()
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).fillna(0)
    return int((both["a"] != both["b"]).sum())


def _change(first: Run, run: Run, top: int) -> Change:
    a = recipient_totals(first.awards).set_index("recipient_id")
    b = recipient_totals(run.awards).set_index("recipient_id")
    ids = a.index.union(b.index).sort_values()
    names = b["recipient_name"].reindex(ids).fillna(a["recipient_name"].reindex(ids))
    table = pd.DataFrame(
        {
            "recipient_id": ids,
            "recipient_name": names.to_numpy(),
            "award_before_wan": a["award_wan"].reindex(ids).fillna(0).astype(np.int64).to_numpy(),
            "award_after_wan": b["award_wan"].reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        }
    )
    table["change_wan"] = table["award_after_wan"] - table["award_before_wan"]
    up = table[table["change_wan"] > 0]
    down = table[table["change_wan"] < 0]
    winners = up.sort_values(["change_wan", "recipient_id"], ascending=[False, True], kind="stable")
    losers = down.sort_values(["change_wan", "recipient_id"], ascending=[True, True], kind="stable")
    return Change(
        before=first.label,
        after=run.label,
        winners=winners.head(top).reset_index(drop=True),
        losers=losers.head(top).reset_index(drop=True),
        recipients_up=len(up),
        recipients_down=len(down),
    )


def _titles(run: Run) -> dict[str, str]:
    totals = run.result.get("totals")
    rows = totals.get("per_clause") if isinstance(totals, dict) else None
    if not isinstance(rows, list):
        return {}
    return {
        str(r.get("clause_id")): str(r.get("title") or "")
        for r in rows
        if isinstance(r, dict) and r.get("clause_id") is not None
    }


def _side_by_side(
    runs: Sequence[Run], keys: list[pd.Series], key_columns: list[str], order: list[tuple[str, ...]]
) -> pd.DataFrame:
    """Claims and awards per key, one pair of columns per run, rows in ``order``."""
    out = pd.DataFrame(order, columns=key_columns)
    index = pd.MultiIndex.from_tuples(order, names=key_columns)
    for run, key in zip(runs, keys, strict=True):
        frame = run.awards.assign(_k=key)
        sums = frame.groupby("_k", sort=False)[["claim_wan", "award_wan"]].sum()
        parts = [tuple(k.split("\x1f")) for k in sums.index]
        sums.index = pd.MultiIndex.from_tuples(parts, names=key_columns)
        aligned = sums.reindex(index)
        # Int64: a clause a run does not have is missing (<NA>), not 0 nor a float NaN.
        out[f"claim_wan[{run.label}]"] = aligned["claim_wan"].astype("Int64").array
        out[f"award_wan[{run.label}]"] = aligned["award_wan"].astype("Int64").array
    return out


def _per_clause(runs: Sequence[Run]) -> pd.DataFrame:
    """Clauses in document order of the first run that has them; a clause id that means
    different clauses in two runs (two policy models) gets a row per title."""
    keys: list[pd.Series] = []
    order: list[tuple[str, ...]] = []
    for run in runs:
        titles = _titles(run)
        title = run.awards["clause_id"].map(lambda c, t=titles: t.get(c, ""))
        key = run.awards["clause_id"] + "\x1f" + title
        keys.append(key)
        for k in dict.fromkeys(key):
            pair = tuple(k.split("\x1f"))
            if pair not in order:
                order.append(pair)
    return _side_by_side(runs, keys, ["clause_id", "title"], order)


def _per_district(runs: Sequence[Run]) -> pd.DataFrame:
    """Districts in the schema's order, then any other in alphabetical order."""
    seen = set().union(*(set(r.awards["district"]) for r in runs))
    order = [d for d in DISTRICTS if d in seen] + sorted(seen - set(DISTRICTS))
    keys = [r.awards["district"] for r in runs]
    return _side_by_side(runs, keys, ["district"], [(d,) for d in order])


def _solver_notes(runs: Sequence[Run], columns: dict[str, dict[str, Any]]) -> list[str]:
    """For runs of one scenario, rule and budget solved by different solvers: do they agree?"""
    notes = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            same = (a.scenario, a.rule, a.result.get("budget_wan")) == (
                b.scenario,
                b.rule,
                b.result.get("budget_wan"),
            )
            if not same or a.solver == b.solver:
                continue
            oa, ob = columns[a.label]["objective"], columns[b.label]["objective"]
            if oa is None or ob is None:
                verdict = "objective missing"
            elif abs(oa - ob) <= 1e-6 * max(1.0, abs(oa)):
                verdict = f"objectives agree ({oa:g})"
            else:
                verdict = f"objectives differ ({oa:g} and {ob:g})"
            changed = _claims_changed(a.awards, b.awards)
            awards = "same awards" if changed == 0 else f"{changed} claims awarded differently"
            notes.append(f"{a.label} and {b.label}: {verdict}; {awards}")
    return notes


# --------------------------------------------------------------------------------------------
# Machine-readable forms


def format_value(value: object) -> str:
    """A metric as text: integers as they are, other numbers to 6 decimals, None as ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.6f}"
    return str(value)


def long_table(comparison: Comparison) -> pd.DataFrame:
    """Every figure as a row ``metric, run, value`` (the ``--csv`` form).

    Metrics use the keys of :data:`METRICS`; totals are ``clause[<id>].award_wan`` (and
    ``claim_wan``; a clause id of two models is ``clause[<id> <title>]``),
    ``district[<name>].award_wan``; winners and losers are ``change[<recipient id>]`` under
    the later run, in 万元.
    """
    rows: list[tuple[str, str, str]] = []
    for key, _ in METRICS:
        for label in comparison.labels:
            rows.append((key, label, format_value(comparison.metric(key, label))))
    for name, table in (
        ("clause", _keyed(comparison.per_clause, ["clause_id", "title"])),
        ("district", _keyed(comparison.per_district, ["district"])),
    ):
        for row_key, row in table.iterrows():
            for what in ("claim_wan", "award_wan"):
                for label in comparison.labels:
                    value = row[f"{what}[{label}]"]
                    rows.append((f"{name}[{row_key}].{what}", label, format_value(_plain(value))))
    for change in comparison.changes:
        for frame in (change.winners, change.losers):
            for rec in frame.itertuples(index=False):
                rows.append((f"change[{rec.recipient_id}]", change.after, str(rec.change_wan)))
    return pd.DataFrame(rows, columns=["metric", "run", "value"])


def _keyed(table: pd.DataFrame, key_columns: list[str]) -> pd.DataFrame:
    """Index a per-clause table by clause id, or by id and title where an id repeats."""
    if key_columns == ["clause_id", "title"]:
        repeated = table["clause_id"].duplicated(keep=False)
        key = table["clause_id"].where(~repeated, table["clause_id"] + " " + table["title"])
    else:
        key = table[key_columns[0]].replace("", "-")
    return table.set_index(key)


def _plain(value: object) -> object:
    if value is pd.NA or value is None:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as a JSON-ready document (the ``--json`` form), floats to 6 decimals."""

    def number(value: object) -> object:
        value = _plain(value)
        if isinstance(value, float):
            return round(value, 6) if math.isfinite(value) else None
        return value

    def totals(table: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
        out = []
        for _, row in table.iterrows():
            rec: dict[str, Any] = {k: row[k] for k in keys}
            for what in ("claim_wan", "award_wan"):
                rec[what] = {lb: number(row[f"{what}[{lb}]"]) for lb in comparison.labels}
            out.append(rec)
        return out

    def people(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{str(k): number(v) for k, v in rec.items()} for rec in frame.to_dict("records")]

    return {
        "runs": [
            {
                "label": r.label,
                "path": str(r.path),
                "scenario": r.scenario,
                "rule": r.rule,
                "solver": r.solver,
                "status": r.status,
                "policy": _policy_title(r),
            }
            for r in comparison.runs
        ],
        "metrics": {
            label: {k: number(comparison.metric(k, label)) for k, _ in METRICS}
            for label in comparison.labels
        },
        "per_clause": totals(comparison.per_clause, ["clause_id", "title"]),
        "per_district": totals(comparison.per_district, ["district"]),
        "changes": [
            {
                "before": c.before,
                "after": c.after,
                "recipients_up": c.recipients_up,
                "recipients_down": c.recipients_down,
                "winners": people(c.winners),
                "losers": people(c.losers),
            }
            for c in comparison.changes
        ],
        "notes": list(comparison.notes),
    }


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV without a byte-order mark, ``\\n`` line ends, as every output of allocate."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Charts


def svg_text(fig: Figure, *, salt: str = "allocate") -> str:
    """A figure as SVG text with fixed ids and no date (equal figures, equal bytes).

    Text stays text (``svg.fonttype: none``), so that the file is small and the viewer's fonts
    draw it. Figures meant for one page need different ``salt``s, so that their ids differ.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**SVG_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        # A label in Chinese only lacks a glyph for matplotlib's measure of its width; the
        # SVG keeps the characters and the browser draws them with its own fonts.
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH.pattern, category=UserWarning)
        fig.savefig(buffer, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
    return buffer.getvalue()


def _figure(width: float, height: float, rows: int = 1) -> tuple[Figure, list[Any]]:
    """A figure with ``rows`` axes, made without pyplot (no global state, any backend)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(SVG_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = [fig.add_subplot(rows, 1, k + 1) for k in range(rows)]
    return fig, axes


def _legend_below(fig: Figure, entries: int) -> None:
    """The runs' legend under the axes, where it hides no bar."""
    fig.legend(loc="outside lower center", ncols=min(entries, 3), fontsize=7, frameon=False)


def clause_chart_labels(comparison: Comparison) -> list[str]:
    """Clause ids for a chart axis; an id that two models use gets the number of the first run
    that has it (``6 (run 3)``), since the titles are Chinese and chart text is ASCII."""
    table = comparison.per_clause
    repeated = table["clause_id"].duplicated(keep=False).to_numpy()
    present = table[[f"claim_wan[{lb}]" for lb in comparison.labels]].notna().to_numpy()
    first = present.argmax(axis=1) + 1
    return [
        f"{cid} (run {n})" if rep else str(cid)
        for cid, rep, n in zip(table["clause_id"], repeated, first, strict=True)
    ]


def district_label(name: str) -> str:
    """A district's English name for chart axes (schema.DISTRICTS), else the name itself."""
    return DISTRICTS.get(name, name) or "-"


def totals_figure(comparison: Comparison, by: str = "clause") -> Figure:
    """Grouped bars: the award total per clause (``by="clause"``) or district, one bar a run."""
    import matplotlib

    if by == "clause":
        table = comparison.per_clause
        names = clause_chart_labels(comparison)
        xlabel = "clause"
    elif by == "district":
        table = comparison.per_district
        names = [district_label(d) for d in table["district"]]
        xlabel = "district"
    else:
        raise ValueError(f"totals_figure: by must be 'clause' or 'district' (got {by!r})")
    n = len(comparison.runs)
    width = max(6.0, min(14.0, 0.28 * len(names) * max(n, 2) + 1.5))
    fig, (ax,) = _figure(width, 3.6)
    with matplotlib.rc_context(SVG_RC):
        x = np.arange(len(names), dtype=np.float64)
        bar = 0.8 / n
        for k, label in enumerate(comparison.labels):
            values = pd.to_numeric(table[f"award_wan[{label}]"]).fillna(0).to_numpy(float)
            ax.bar(x - 0.4 + bar * (k + 0.5), values, bar, label=label)
        ax.set_xticks(
            x,
            names,
            rotation=45 if by == "district" or len(names) > 14 else 0,
            ha="right" if by == "district" else "center",
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(AWARD_AXIS)
        ax.set_title(f"Awards by {xlabel}")
        _legend_below(fig, n)
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    return fig


def lorenz_figure(comparison: Comparison) -> Figure:
    """Lorenz curves of the eligible recipients' total awards, one line a run."""
    import matplotlib

    fig, (ax,) = _figure(5.2, 4.4)
    with matplotlib.rc_context(SVG_RC):
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--", label="equality")
        for run in comparison.runs:
            totals = recipient_totals(run.awards)
            awards = totals.loc[totals["claim_wan"] > 0, "award_wan"].to_numpy()
            x, y = lorenz(awards)
            g = comparison.metric("gini_awards", run.label)
            ax.plot(x, y, linewidth=1.2, label=f"{run.label} (Gini {g:.3f})")
        ax.set_xlabel("share of eligible recipients, smallest awards first")
        ax.set_ylabel("share of the awards")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_title("Lorenz curves of awards per recipient")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return fig


def ratio_figure(comparison: Comparison) -> Figure:
    """Histograms of the award ratio (award ÷ claim) as shares of claims, one bar a run."""
    import matplotlib

    n = len(comparison.runs)
    fig, (ax,) = _figure(max(6.0, min(12.0, 0.22 * len(RATIO_BINS) * max(n, 2) + 1.5)), 3.4)
    with matplotlib.rc_context(SVG_RC):
        x = np.arange(len(RATIO_BINS), dtype=np.float64)
        bar = 0.8 / n
        for k, run in enumerate(comparison.runs):
            counts = ratio_histogram(award_ratios(run.awards))
            share = counts / max(1, int(counts.sum()))
            ax.bar(x - 0.4 + bar * (k + 0.5), share, bar, label=run.label)
        ax.set_xticks(x, RATIO_BINS, rotation=30, ha="right")
        ax.set_xlabel("award ÷ claim")
        ax.set_ylabel("share of claims")
        ax.set_title("Award ratios")
        _legend_below(fig, n)
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    return fig


CHARTS = ("clauses", "districts", "lorenz", "ratios")


def chart_svgs(comparison: Comparison) -> dict[str, str]:
    """The four charts as standalone SVG documents, by name (:data:`CHARTS`).

    Each has its own salt for its ids, so that the four can share one HTML page.
    """
    figures = {
        "clauses": totals_figure(comparison, "clause"),
        "districts": totals_figure(comparison, "district"),
        "lorenz": lorenz_figure(comparison),
        "ratios": ratio_figure(comparison),
    }
    return {name: svg_text(fig, salt=f"allocate-{name}") for name, fig in figures.items()}


def charts(comparison: Comparison) -> dict[str, str]:
    """The four charts as inline ``<svg>`` elements for an HTML page, by name."""
    # Inline in HTML, the XML declaration and doctype of a standalone file do not belong.
    return {name: text[text.index("<svg") :] for name, text in chart_svgs(comparison).items()}


# --------------------------------------------------------------------------------------------
# For people: display text and the HTML page

_PERCENT = {"coverage", "gap"}
_RATIO = {"mean_ratio", "median_ratio", "min_ratio", "gini_awards", "gini_ratios"}


def display_value(key: str, value: object) -> str:
    """A metric as a person reads it: 万元 with separators, shares in per cent, ratios to 4
    decimals, objectives in full; '–' where the figure does not exist."""
    value = _plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if key in _PERCENT:
            return f"{value:.2%}"
        if key in _RATIO:
            return f"{value:.4f}"
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.6g}"
    return str(value)


def clause_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The per-clause table as text, in 万元: header and rows (clause, title, claim, then the
    award of each run under its label).

    The claim column is shown once when every run has the same claim; otherwise each cell is
    ``award / claim``.
    """
    return _total_rows(comparison, comparison.per_clause, ["clause_id", "title"])


def district_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The per-district table as text, as :func:`clause_rows`."""
    return _total_rows(comparison, comparison.per_district, ["district"])


def _total_rows(
    comparison: Comparison, table: pd.DataFrame, keys: list[str]
) -> tuple[list[str], list[list[str]]]:
    labels = comparison.labels
    claims = table[[f"claim_wan[{lb}]" for lb in labels]]
    one_claim = bool((claims.nunique(axis=1, dropna=False) <= 1).all())
    header = [k.replace("_id", "") for k in keys]
    header += ["claim"] if one_claim else []
    header += [lb if one_claim else f"{lb} (award / claim)" for lb in labels]
    rows = []
    for _, row in table.iterrows():
        cells = [str(row[k]) or "–" for k in keys]
        if one_claim:
            cells.append(display_value("claim_wan", row[f"claim_wan[{labels[0]}]"]))
        for lb in labels:
            award = display_value("award_wan", row[f"award_wan[{lb}]"])
            claim = display_value("claim_wan", row[f"claim_wan[{lb}]"])
            cells.append(award if one_claim else f"{award} / {claim}")
        rows.append(cells)
    return header, rows


def change_rows(change: Change, which: str) -> tuple[list[str], list[list[str]]]:
    """Winners (``which="winners"``) or losers of one change as text rows."""
    frame = change.winners if which == "winners" else change.losers
    header = ["recipient id", "name", "before (万元)", "after (万元)", "change (万元)"]
    rows = [
        [
            str(r.recipient_id),
            str(r.recipient_name),
            f"{r.award_before_wan:,}",
            f"{r.award_after_wan:,}",
            f"{r.change_wan:+,}",
        ]
        for r in frame.itertuples(index=False)
    ]
    return header, rows


_HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Comparison: {{ labels | join(" | ") }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
       "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; vertical-align: top; }
th { text-align: left; background: #f4f4f4; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
.note { color: #555; }
</style>
</head>
{%- macro table(spec) %}
{%- set header, rows, skip = spec %}
<table>
<tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{%- for row in rows %}
<tr>{% for c in row %}<td{% if loop.index > skip %} class="n"{% endif %}>{{ c }}</td>
{%- endfor %}</tr>
{%- endfor %}
</table>
{%- endmacro %}
<body>
<h1>Comparison of {{ runs | length }} runs</h1>
{{ table(run_table) }}
{%- for note in notes %}
<p class="note">{{ note }}</p>
{%- endfor %}
<h2>Metrics</h2>
{{ table(metrics) }}
<h2>Awards by clause (万元)</h2>
<figure>{{ charts.clauses | safe }}</figure>
{{ table(clauses) }}
<h2>Awards by district (万元)</h2>
<figure>{{ charts.districts | safe }}</figure>
{{ table(districts) }}
<h2>Distribution</h2>
<figure>{{ charts.lorenz | safe }}</figure>
<figure>{{ charts.ratios | safe }}</figure>
{%- for c in changes %}
<h2>From {{ c.before }} to {{ c.after }}</h2>
<p>{{ c.up }} recipients receive more, {{ c.down }} less.</p>
<h3>Largest rises</h3>
{{ table(c.winners) }}
<h3>Largest falls</h3>
{{ table(c.losers) }}
{%- endfor %}
</body>
</html>
"""


def render_html(comparison: Comparison) -> str:
    """A self-contained page: metrics, totals, winners and losers, and the charts inline.

    Nothing is fetched from elsewhere (no scripts, fonts or images), and the page carries no
    date, so the same runs give the same bytes.
    """
    import jinja2

    labels = comparison.labels
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    run_table = (
        ["run", "folder", "policy"],
        [[r.label, str(r.path), _policy_title(r)] for r in comparison.runs],
        3,
    )
    metrics = (
        ["metric", *labels],
        [
            [name, *(display_value(key, comparison.metric(key, lb)) for lb in labels)]
            for key, name in METRICS
        ],
        1,
    )
    changes = [
        {
            "before": c.before,
            "after": c.after,
            "up": c.recipients_up,
            "down": c.recipients_down,
            "winners": (*change_rows(c, "winners"), 2),
            "losers": (*change_rows(c, "losers"), 2),
        }
        for c in comparison.changes
    ]
    page: str = env.from_string(_HTML).render(
        labels=labels,
        run_table=run_table,
        notes=comparison.notes,
        metrics=metrics,
        charts=charts(comparison),
        clauses=(*clause_rows(comparison), 2),
        districts=(*district_rows(comparison), 1),
        changes=changes,
    )
    return page


def _policy_title(run: Run) -> str:
    policy = run.result.get("policy")
    return str(policy.get("title") or "") if isinstance(policy, dict) else ""


__all__ = [
    "AWARD_AXIS",
    "AWARD_NEEDS",
    "CHARTS",
    "METRICS",
    "RATIO_BINS",
    "SVG_RC",
    "WAN_UNIT",
    "Change",
    "Comparison",
    "Run",
    "RunMetrics",
    "award_ratios",
    "change_rows",
    "chart_svgs",
    "charts",
    "clause_chart_labels",
    "clause_rows",
    "compare",
    "compare_folders",
    "csv_bytes",
    "display_value",
    "district_label",
    "district_rows",
    "gini",
    "load_runs",
    "long_table",
    "lorenz",
    "lorenz_figure",
    "ratio_figure",
    "ratio_histogram",
    "recipient_totals",
    "render_html",
    "run_metrics",
    "solver_name",
    "svg_text",
    "to_json",
    "totals_figure",
]
