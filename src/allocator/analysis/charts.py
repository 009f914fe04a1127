"""The charts of a comparison: grouped bars of the totals per clause and per district, Lorenz
curves of awards, histograms of ratios, as matplotlib figures; :func:`svg_text` turns one into
SVG text with fixed ids and no date, so that the same comparison gives the same bytes.

Titles, axes and districts are in the reader's language. Chinese needs a CJK font: matplotlib
measures the text with the first font of :data:`FONT_STACK` that has each glyph (DejaVu Sans
for Latin, then a CJK family such as WenQuanYi Micro Hei, Debian's ``fonts-wqy-microhei``),
and the SVG keeps the text as text with the same stack, so that the reader's browser draws it
with whichever of those fonts its machine has.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.analysis.compare import Comparison, run_labels
from allocator.analysis.metrics import (
    RATIO_BINS,
    award_ratios,
    lorenz,
    ratio_histogram,
    recipient_totals,
)
from allocator.core.i18n import _
from allocator.inputs.choices import district_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

# Latin glyphs from DejaVu Sans (matplotlib's own), Chinese from the first CJK family found:
# the open ones Linux distributions ship, then those of Windows and macOS.
FONT_STACK: tuple[str, ...] = (
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)

# Fixed SVG ids and no date: equal inputs give equal bytes (docs/analysis.md).
SVG_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "allocate",
    "svg.fonttype": "none",
    "font.family": ["sans-serif"],
    "font.sans-serif": list(FONT_STACK),
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": "allocate"}
# The sweep's chart names its budget axis in ASCII, the same in either language.
WAN_UNIT = "10,000 yuan"
_MISSING_GLYPH = re.compile(r"Glyph \d+ .* missing from font")


def svg_text(fig: Figure, *, salt: str = "allocate") -> str:
    """A figure as SVG text with fixed ids and no date (equal figures, equal bytes).

    Text stays text (``svg.fonttype: none``), so that the file is small and the viewer's fonts
    draw it. Figures meant for one page need different ``salt``s, so that their ids differ.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**chart_rc(), "svg.hashsalt": salt}), warnings.catch_warnings():
        # On a machine without any CJK font a Chinese label only lacks a glyph for
        # matplotlib's measure of its width; the SVG keeps the characters and the browser
        # draws them with its own fonts.
        warnings.filterwarnings("ignore", message=_MISSING_GLYPH.pattern, category=UserWarning)
        fig.savefig(buffer, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
    return buffer.getvalue()


# Font files of the CJK families of FONT_STACK, by the names their packages give them.
_CJK_FILES = re.compile(r"wqy|notosanscjk|sourcehansans|msyh|pingfang|simhei", re.IGNORECASE)


@functools.cache
def font_families() -> tuple[str, ...]:
    """The families of :data:`FONT_STACK` matplotlib has, in order, for its glyph fallback.

    matplotlib lists the system's fonts once and keeps the list in its cache; a CJK font
    installed after that (``apt-get install fonts-wqy-microhei``) is not in it, so the
    system's CJK font files are then looked through once per process and added. Only the
    families found are named to matplotlib (it warns of every missing one); the SVG names
    them all, through ``sans-serif``.
    """
    from matplotlib import font_manager

    wanted = set(FONT_STACK[1:])
    if not any(f.name in wanted for f in font_manager.fontManager.ttflist):
        for path in sorted(font_manager.findSystemFonts()):
            if _CJK_FILES.search(Path(path).name):
                font_manager.fontManager.addfont(path)
    known = {f.name for f in font_manager.fontManager.ttflist}
    return tuple(f for f in FONT_STACK if f in known)


def chart_rc() -> dict[RcKeyType, Any]:
    """:data:`SVG_RC` with the font families found (:func:`font_families`) before the rest."""
    return {**SVG_RC, "font.family": [*font_families(), "sans-serif"]}


def _figure(width: float, height: float, rows: int = 1) -> tuple[Figure, list[Any]]:
    """A figure with ``rows`` axes, made without pyplot (no global state, any backend)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(chart_rc()):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = [fig.add_subplot(rows, 1, k + 1) for k in range(rows)]
    return fig, axes


def _legend_below(fig: Figure, entries: int) -> None:
    """The runs' legend under the axes, where it hides no bar."""
    fig.legend(loc="outside lower center", ncols=min(entries, 3), fontsize=7, frameon=False)


def clause_chart_labels(comparison: Comparison) -> list[str]:
    """Clause ids for a chart axis (a title would not fit under a bar); an id that two models
    use gets the number of the first run that has it (``6 (run 3)``)."""
    table = comparison.per_clause
    repeated = table["clause_id"].duplicated(keep=False).to_numpy()
    present = table[[f"claim_wan[{lb}]" for lb in comparison.labels]].notna().to_numpy()
    first = present.argmax(axis=1) + 1
    return [
        _("{clause} (run {n})").format(clause=cid, n=n) if rep else str(cid)
        for cid, rep, n in zip(table["clause_id"], repeated, first, strict=True)
    ]


def district_label(name: str) -> str:
    """A district as a chart axis names it: in the reader's language (schema.DISTRICTS)."""
    return district_name(name) or "-"


def totals_figure(comparison: Comparison, by: str = "clause") -> Figure:
    """Grouped bars: the award total per clause (``by="clause"``) or district, one bar a run."""
    import matplotlib

    if by == "clause":
        table = comparison.per_clause
        names = clause_chart_labels(comparison)
        xlabel, title = _("clause"), _("Awards by clause")
    elif by == "district":
        table = comparison.per_district
        names = [district_label(d) for d in table["district"]]
        xlabel, title = _("district"), _("Awards by district")
    else:
        raise ValueError(f"totals_figure: by must be 'clause' or 'district' (got {by!r})")
    n = len(comparison.runs)
    width = max(6.0, min(14.0, 0.28 * len(names) * max(n, 2) + 1.5))
    fig, (ax,) = _figure(width, 3.6)
    shown = run_labels(comparison)
    with matplotlib.rc_context(chart_rc()):
        x = np.arange(len(names), dtype=np.float64)
        bar = 0.8 / n
        for k, label in enumerate(comparison.labels):
            values = pd.to_numeric(table[f"award_wan[{label}]"]).fillna(0).to_numpy(float)
            ax.bar(x - 0.4 + bar * (k + 0.5), values, bar, label=shown[label])
        ax.set_xticks(
            x,
            names,
            rotation=45 if by == "district" or len(names) > 14 else 0,
            ha="right" if by == "district" else "center",
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(_("award (万元)"))
        ax.set_title(title)
        _legend_below(fig, n)
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    return fig


def lorenz_figure(comparison: Comparison) -> Figure:
    """Lorenz curves of the eligible recipients' total awards, one line a run."""
    import matplotlib

    fig, (ax,) = _figure(5.2, 4.4)
    shown = run_labels(comparison)
    with matplotlib.rc_context(chart_rc()):
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8, linestyle="--", label=_("equality"))
        for run in comparison.runs:
            totals = recipient_totals(run.awards)
            awards = totals.loc[totals["claim_wan"] > 0, "award_wan"].to_numpy()
            x, y = lorenz(awards)
            g = comparison.metric("gini_awards", run.label)
            ax.plot(
                x,
                y,
                linewidth=1.2,
                label=_("{run} (Gini {gini})").format(run=shown[run.label], gini=f"{g:.3f}"),
            )
        ax.set_xlabel(_("share of eligible recipients, smallest awards first"))
        ax.set_ylabel(_("share of the awards"))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_title(_("Lorenz curves of awards per recipient"))
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return fig


def ratio_figure(comparison: Comparison) -> Figure:
    """Histograms of the award ratio (award ÷ claim) as shares of claims, one bar a run."""
    import matplotlib

    n = len(comparison.runs)
    fig, (ax,) = _figure(max(6.0, min(12.0, 0.22 * len(RATIO_BINS) * max(n, 2) + 1.5)), 3.4)
    shown = run_labels(comparison)
    with matplotlib.rc_context(chart_rc()):
        x = np.arange(len(RATIO_BINS), dtype=np.float64)
        bar = 0.8 / n
        for k, run in enumerate(comparison.runs):
            counts = ratio_histogram(award_ratios(run.awards))
            share = counts / max(1, int(counts.sum()))
            ax.bar(x - 0.4 + bar * (k + 0.5), share, bar, label=shown[run.label])
        ax.set_xticks(x, RATIO_BINS, rotation=30, ha="right")
        ax.set_xlabel(_("award ÷ claim"))
        ax.set_ylabel(_("share of claims"))
        ax.set_title(_("Award ratios"))
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


__all__ = [
    "FONT_STACK",
    "SVG_RC",
    "WAN_UNIT",
    "chart_rc",
    "chart_svgs",
    "charts",
    "font_families",
    "lorenz_figure",
    "ratio_figure",
    "svg_text",
    "totals_figure",
]
