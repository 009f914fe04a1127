"""The fairness rule, checked from outside on the awards and the rows they meet.

Under ``priority`` no award below its claim could be raised without breaking a row; under a
level rule every claim below its claim is held by a row, its group or its indivisibility,
and the claims held by the same rows share one level up to the whole-万元 rounding
(:func:`allocator.analysis.audit_levels.level_violation`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.analysis.audit_findings import Collector, num, row_text
from allocator.analysis.audit_levels import level_violation
from allocator.analysis.audit_recompute import BoolArray, FloatArray, IntArray, Recomputed, RowState
from allocator.outputs.names import AWARDS


def check_fairness(
    out: Collector,
    rec: Recomputed,
    result: dict[str, Any],
    x: FloatArray,
    matched: IntArray,
    state: RowState,
) -> None:
    eligible = rec.eligible
    rule = rec.spec.fairness.rule.value
    upper = eligible["upper"].to_numpy(dtype=np.float64)
    below = (x < upper) & eligible["var"].to_numpy(dtype=bool)
    rows = rec.rows
    linear = (rows["sense"].to_numpy(dtype=object) == "<=") & (
        rows["family"].to_numpy(dtype=object) != "no_duplicate"
    )
    pl = linear[rec.pair_row]
    min_slack = np.full(len(eligible), np.inf)
    np.minimum.at(min_slack, rec.pair_var[pl], state.slack[rec.pair_row[pl]])
    in_tight = np.zeros(len(eligible), dtype=bool)
    pt = state.tight[rec.pair_row]
    in_tight[rec.pair_var[pt]] = True
    step = state.step

    def row_of(k: int) -> int | None:
        return int(matched[k]) if matched[k] > 0 else None

    status = result.get("status")
    if rule == "priority":
        # Pareto: no award below its claim could take its next step within every row.
        raisable = below & np.isfinite(step) & (min_slack >= step)

        def raise_text(k: int) -> str:
            held = [n for n in rec.rows_of(k) if not n.startswith("no_duplicate")]
            slack = ", ".join(f"{n} slack {num(state.slack[rec.row_index[n]])}" for n in held)
            return (
                f"{row_text(eligible, matched, k)} at {num(x[k])} of {num(upper[k])}万元 could "
                f"rise by {num(step[k])}万元 without breaking any row ({slack}): priority leaves "
                "no money a claim below its claim could take"
            )

        _add_some(
            out,
            "fairness",
            np.flatnonzero(raisable),
            matched,
            raise_text,
            "could rise as well",
            warn=status == "FEASIBLE",
        )
        out.done("fairness", "priority: no award below its claim could be raised")
        return

    # A level rule: each claim below its claim is held by something ...
    holds = state.blocked | (min_slack < step) | in_tight

    def loose_text(k: int) -> str:
        return (
            f"{row_text(eligible, matched, k)} at {num(x[k])} of {num(upper[k])}万元 is held by no "
            f"row, group or indivisibility: {rule} raises every claim until a row stops it"
        )

    _add_some(
        out,
        "fairness",
        np.flatnonzero(below & ~holds),
        matched,
        loose_text,
        "are held by nothing either",
        warn=status == "FEASIBLE",
    )
    # ... and the claims held by the same rows share one level. Exempt: indivisible claims (0
    # or all), members of floored districts (a floor lifts them above the level), and claims
    # a no-duplicate group shut out.
    aon = eligible["all_or_nothing"].to_numpy(dtype=bool)
    floor_member = np.zeros(len(eligible), dtype=bool)
    floors = rows["family"].to_numpy(dtype=object)[rec.pair_row] == "district_floor"
    floor_member[rec.pair_var[floors]] = True
    grouped = np.zeros(len(eligible), dtype=bool)
    multi = (rows["family"].to_numpy(dtype=object) == "no_duplicate")[rec.pair_row]
    grouped[rec.pair_var[multi]] = True
    shut_out = grouped & (x == 0)
    comparable = eligible["var"].to_numpy(dtype=bool) & ~aon & ~floor_member & ~shut_out
    signature = _signatures(rec, state.tight, len(eligible))
    classes = pd.Series(np.flatnonzero(comparable)).groupby(signature[comparable])
    claims = eligible["upper"].to_numpy(dtype=np.int64)
    compared = 0
    for _, members in classes:
        ks = members.to_numpy(dtype=np.int64)
        if ks.size < 2:
            continue
        compared += 1
        bad = level_violation(rule, claims[ks], x[ks])
        if bad is None:
            continue
        i, j, why = int(ks[bad[0]]), int(ks[bad[1]]), bad[2]
        shared = [n for n in rec.rows_of(i) if state.tight[rec.row_index[n]]]
        out.add(
            "fairness",
            AWARDS,
            f"{row_text(eligible, matched, i)} ({num(x[i])} of {claims[i]}万元) and "
            f"{row_text(eligible, matched, j)} ({num(x[j])} of {claims[j]}万元), held by the same "
            f"rows ({', '.join(shared) or 'none'}): {why} ({rule})",
            row=row_of(i),
            warn=status == "FEASIBLE",
        )
    out.done("fairness", f"{rule}: {compared} set(s) of claims held by the same rows compared")


_LISTED = 10  # findings of one kind listed one by one; the rest are summed up in one


def _add_some(
    out: Collector,
    check: str,
    positions: IntArray,
    matched: IntArray,
    text: Callable[[int], str],
    more: str,
    *,
    warn: bool,
) -> None:
    """Add the first findings of a kind one by one and the rest as one, naming their rows.

    Messages are built only for the claims listed: a run gone wrong everywhere may have
    hundreds of thousands of them.
    """
    for k in positions[:_LISTED].tolist():
        row = int(matched[k]) if matched[k] > 0 else None
        out.add(check, AWARDS, text(k), row=row, warn=warn)
    rest = positions[_LISTED:]
    if rest.size:
        rows = [str(int(r)) for r in matched[rest[:30]] if r > 0]
        shown = ", ".join(rows) + (" ..." if rest.size > 30 else "")
        out.add(check, AWARDS, f"{rest.size} more claims {more}: rows {shown}", warn=warn)


def _signatures(rec: Recomputed, tight: BoolArray, n: int) -> npt.NDArray[np.uint64]:
    """Per claim, a key of the set of tight rows holding it (equal sets, equal keys).

    Each row gets a random 64-bit key and a set the sum of its keys modulo 2**64: two
    different sets collide with probability 2**-64, and the sums take one pass over the
    memberships however many rows there are.
    """
    keys = np.random.default_rng(20250126).integers(
        1, np.iinfo(np.uint64).max, size=len(tight), dtype=np.uint64
    )
    sig = np.zeros(n, dtype=np.uint64)
    on = tight[rec.pair_row]
    np.add.at(sig, rec.pair_var[on], keys[rec.pair_row[on]])
    return sig


__all__ = ["check_fairness"]
