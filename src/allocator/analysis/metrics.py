"""The figures of one run that a comparison puts side by side (``docs/analysis.md``).

Over ``awards.csv``: the **ratio** of a claim is ``award_wan / claim_wan``, over claims with a
positive claim; a recipient is **eligible** when its claims together are positive and
**funded** when its awards together are; **coverage** is funded ÷ eligible; the **Gini**
coefficient of ``x_1 .. x_n`` with mean ``μ`` is ``Σ_i Σ_j |x_i − x_j| / (2 n² μ)`` (no
``n/(n−1)`` correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

# Histogram classes of the award ratio: nothing, ten-per-cent steps, the whole claim.
RATIO_BINS: tuple[str, ...] = (
    "0",
    *(f"({k / 10:.1f}, {(k + 1) / 10:.1f}]" for k in range(9)),
    "(0.9, 1)",
    "1",
)


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
    by_recipient = awards.groupby("recipient_id", sort=True)
    out = pd.DataFrame(
        {
            "recipient_name": by_recipient["recipient_name"].first(),
            "claim_wan": by_recipient["claim_wan"].sum().astype(np.int64),
            "award_wan": by_recipient["award_wan"].sum().astype(np.int64),
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


__all__ = [
    "RATIO_BINS",
    "RunMetrics",
    "award_ratios",
    "gini",
    "lorenz",
    "ratio_histogram",
    "recipient_totals",
    "run_metrics",
]
