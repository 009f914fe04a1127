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

The folders are read by :mod:`allocator.analysis.compare_runs`, the metrics computed by
:mod:`allocator.analysis.metrics`; the charts are drawn by :mod:`allocator.analysis.charts`
and the HTML page by :mod:`allocator.analysis.compare_page`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.analysis.compare_runs import Run, load_runs
from allocator.analysis.labels import rule_name
from allocator.analysis.metrics import recipient_totals, run_metrics
from allocator.core.i18n import _
from allocator.inputs.schema import DISTRICTS

TOP = 10

# The key of every metric, in the order tables show them (:func:`metric_name` names them).
METRICS: tuple[str, ...] = (
    "scenario",
    "rule",
    "solver",
    "status",
    "budget_wan",
    "budget_used_wan",
    "total_claim_wan",
    "eligible_recipients",
    "recipients_funded",
    "coverage",
    "funded_claims",
    "mean_ratio",
    "median_ratio",
    "min_ratio",
    "gini_awards",
    "gini_ratios",
    "objective",
    "best_bound",
    "gap",
    "claims_changed",
)


def metric_name(key: str) -> str:
    """The name of metric ``key`` (of :data:`METRICS`) in the reader's language."""
    names = {
        "scenario": _("scenario"),
        "rule": _("fairness rule"),
        "solver": _("solver"),
        "status": _("status"),
        "budget_wan": _("budget (万元)"),
        "budget_used_wan": _("budget used (万元)"),
        "total_claim_wan": _("claims (万元)"),
        "eligible_recipients": _("recipients eligible (claim > 0)"),
        "recipients_funded": _("recipients funded"),
        "coverage": _("share of eligible recipients funded"),
        "funded_claims": _("claims funded"),
        "mean_ratio": _("mean award ratio"),
        "median_ratio": _("median award ratio"),
        "min_ratio": _("minimum award ratio"),
        "gini_awards": _("Gini of awards (per recipient)"),
        "gini_ratios": _("Gini of award ratios"),
        "objective": _("objective"),
        "best_bound": _("best bound"),
        "gap": _("gap"),
        "claims_changed": _("claims with another award than the first run"),
    }
    return names[key]


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
        {label: [col[k] for k in METRICS] for label, col in columns.items()},
        index=list(METRICS),
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
    before = pd.Series(first["award_wan"].to_numpy(), index=_claim_keys(first))
    after = pd.Series(other["award_wan"].to_numpy(), index=_claim_keys(other))
    before, after = before.groupby(level=0).sum(), after.groupby(level=0).sum()
    both = pd.concat([before.rename("before"), after.rename("after")], axis=1).fillna(0)
    return int((both["before"] != both["after"]).sum())


def _change(first: Run, run: Run, top: int) -> Change:
    before = recipient_totals(first.awards).set_index("recipient_id")
    after = recipient_totals(run.awards).set_index("recipient_id")
    ids = before.index.union(after.index).sort_values()
    names = after["recipient_name"].reindex(ids).fillna(before["recipient_name"].reindex(ids))

    def award(totals: pd.DataFrame) -> npt.NDArray[np.int64]:
        return totals["award_wan"].reindex(ids).fillna(0).to_numpy(dtype=np.int64)

    table = pd.DataFrame(
        {
            "recipient_id": ids,
            "recipient_name": names.to_numpy(),
            "award_before_wan": award(before),
            "award_after_wan": award(after),
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
                verdict = _("objective missing")
            elif abs(oa - ob) <= 1e-6 * max(1.0, abs(oa)):
                verdict = _("objectives agree ({value})").format(value=f"{oa:g}")
            else:
                verdict = _("objectives differ ({first} and {second})").format(
                    first=f"{oa:g}", second=f"{ob:g}"
                )
            changed = _claims_changed(a.awards, b.awards)
            if changed == 0:
                awards = _("same awards")
            else:
                awards = _("{n} claims awarded differently").format(n=changed)
            notes.append(
                _("{first} and {second}: {verdict}; {awards}").format(
                    first=a.label, second=b.label, verdict=verdict, awards=awards
                )
            )
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


def run_labels(comparison: Comparison) -> dict[str, str]:
    """Each run's label as a reader sees it: its fairness rule named in the reader's language.

    The labels themselves (``scenario · rule · solver``) stay the keys of the CSV and JSON
    forms, which do not change with the language.
    """
    return {
        r.label: r.label.replace(f" · {r.rule} · ", f" · {rule_name(r.rule)} · ", 1)
        for r in comparison.runs
    }


def long_table(comparison: Comparison) -> pd.DataFrame:
    """Every figure as a row ``metric, run, value`` (the ``--csv`` form).

    Metrics use the keys of :data:`METRICS`; totals are ``clause[<id>].award_wan`` (and
    ``claim_wan``; a clause id of two models is ``clause[<id> <title>]``),
    ``district[<name>].award_wan``; winners and losers are ``change[<recipient id>]`` under
    the later run, in 万元.
    """
    rows: list[tuple[str, str, str]] = []
    for key in METRICS:
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
                    rows.append(
                        (f"{name}[{row_key}].{what}", label, format_value(plain_value(value)))
                    )
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


def plain_value(value: object) -> object:
    """A pandas or numpy scalar as a plain Python value; None for a missing one."""
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
        value = plain_value(value)
        if isinstance(value, float):
            return round(value, 6) if math.isfinite(value) else None
        return value

    def totals(table: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
        out = []
        for _index, row in table.iterrows():
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
                "policy": r.policy_title,
            }
            for r in comparison.runs
        ],
        "metrics": {
            label: {k: number(comparison.metric(k, label)) for k in METRICS}
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


__all__ = [
    "METRICS",
    "TOP",
    "Change",
    "Comparison",
    "compare",
    "compare_folders",
    "csv_bytes",
    "format_value",
    "long_table",
    "metric_name",
    "plain_value",
    "run_labels",
    "to_json",
]
