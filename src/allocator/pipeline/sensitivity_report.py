"""The tornado chart and the page of a sensitivity analysis.

The tornado has one panel per figure (total awarded, coverage, Gini of awards); in each, the
factors that move it most, largest on top, a bar from the base run's value to the value at each
end of the factor's range. The page (``sensitivity.html``) is self-contained: no script, font or
image fetched.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocator.analysis.charts import SVG_RC
from allocator.analysis.compare import format_value
from allocator.core.i18n import N_, _, language

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

    from allocator.pipeline.sensitivity_run import SensitivityResult

#: Factors shown per panel of the tornado, and in the page's tables.
TOP = 12
#: Fonts tried in order for the chart's text: parameter descriptions are Chinese, and an SVG
#: keeps its text as text, drawn by the viewer's first font that has the glyphs.
FONT_STACK = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Micro Hei",
    "SimHei",
    "DejaVu Sans",
    "sans-serif",
]
#: The chart's font settings, in force when it is drawn and when it is saved.
FONT_RC: dict[RcKeyType, Any] = {"font.family": "sans-serif", "font.sans-serif": FONT_STACK}
_PANELS = (
    ("budget_used_wan", N_("total awarded (万元)")),
    ("coverage", N_("coverage (share of eligible recipients funded)")),
    ("gini_awards", N_("Gini of awards")),
)
_LOW, _HIGH = "#4c72b0", "#dd8452"


def tornado_figure(effects: pd.DataFrame, title: str) -> Figure:
    """The factors ranked by their effect on total awarded, coverage and Gini of awards.

    Parameters
    ----------
    effects:
        :func:`allocator.pipeline.sensitivity_run.effects_table`.
    title:
        The scenario's name.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**SVG_RC, **FONT_RC}):
        heights = [max(1, min(TOP, _shown(effects, m))) for m, _ in _PANELS]
        fig = Figure(figsize=(7.5, 1.4 + 0.28 * sum(heights) + 0.9 * len(_PANELS)))
        fig.set_layout_engine("constrained")
        axes = fig.subplots(len(_PANELS), 1, height_ratios=[h + 2 for h in heights])
        for ax, (metric, label) in zip(axes, _PANELS, strict=True):
            _panel(ax, effects, metric, _(label))
        handles = [
            matplotlib.patches.Patch(color=_LOW, label=_("low end of the range")),
            matplotlib.patches.Patch(color=_HIGH, label=_("high end of the range")),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        fig.suptitle(_("{title}: what the assumptions move (one at a time)").format(title=title))
    return fig


def _shown(effects: pd.DataFrame, metric: str) -> int:
    if effects.empty:
        return 0
    return len(_ranked(effects, metric))


def _ranked(effects: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The factors that move ``metric``, largest swing first (then by address), at most TOP."""
    if effects.empty:
        return effects
    swing = effects[f"{metric}_swing"].astype(float)
    have = effects[swing.notna() & (swing > 0)].copy()
    have["_swing"] = have[f"{metric}_swing"].astype(float)
    have = have.sort_values(["_swing", "parameter"], ascending=[False, True], kind="stable")
    return have.head(TOP)


def _panel(ax: Any, effects: pd.DataFrame, metric: str, label: str) -> None:
    ranked = _ranked(effects, metric)
    ax.set_xlabel(label)
    if ranked.empty:
        ax.text(0.5, 0.5, _("no factor moves it"), ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    base = _base_value(effects, metric)
    y = np.arange(len(ranked))[::-1].astype(float)
    low = ranked[f"{metric}_low"].astype(float).to_numpy()
    high = ranked[f"{metric}_high"].astype(float).to_numpy()
    ax.barh(y + 0.18, low - base, left=base, height=0.36, color=_LOW)
    ax.barh(y - 0.18, high - base, left=base, height=0.36, color=_HIGH)
    ax.axvline(base, color="0.3", linewidth=0.8)
    labels = [
        f"{p} ({lo} → {hi})"
        for p, lo, hi in ranked[["parameter", "low", "high"]].itertuples(index=False)
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)


def _base_value(effects: pd.DataFrame, metric: str) -> float:
    """The base run's figure, where every bar starts."""
    return float(effects[f"{metric}_base"].iloc[0])


# --------------------------------------------------------------------------------------------
# The page


def page_html(result: SensitivityResult, svg: str) -> str:
    """``sensitivity.html``: the design, the ranking, the tornado, the widest award ranges."""
    esc = html.escape
    table = result.table
    counts = table["design"].value_counts()
    ok = int(table["status"].isin(("OPTIMAL", "FEASIBLE")).sum())
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if language() == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{esc(_('{name}: sensitivity').format(name=result.name))}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',"
        "'PingFang SC',sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
        "font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px}td.n{text-align:right}"
        "</style></head><body>",
        f"<h1>{esc(_('{name}: what the assumptions decide').format(name=result.name))}</h1>",
        "<p>"
        + esc(
            _(
                "{factors} factors; {variants} variants: {single} one at a time, {joint} joint "
                "(Latin hypercube, {sampler}), and the base run; {ok} with an allocation, "
                "{failed} failed."
            ).format(
                factors=len(result.factors),
                variants=len(table),
                single=int(counts.get("one-at-a-time", 0)),
                joint=int(counts.get("joint", 0)),
                sampler=result.sampler,
                ok=ok,
                failed=len(result.failed),
            )
        )
        + "</p>",
        f"<h2>{esc(_('Tornado'))}</h2>",
        _inline_svg(svg),
        f"<h2>{esc(_('Factors ranked by their effect on the total awarded'))}</h2>",
        _html_table(
            result.effects.head(TOP * 2),
            [
                "parameter",
                "basis",
                "unit",
                "base",
                "low",
                "high",
                "budget_used_wan_low",
                "budget_used_wan_high",
                "coverage_swing",
                "gini_awards_swing",
            ],
        ),
        f"<h2>{esc(_('Widest award ranges (万元)'))}</h2>",
        _html_table(_widest(result.ranges), list(result.ranges.columns)),
    ]
    if result.failed:
        parts.append(f"<h2>{esc(_('Variants that failed'))}</h2><ul>")
        parts += [
            f"<li>{esc(r.variant.name)}: {esc(r.variant.describe(list(result.factors)))}: "
            f"{esc(r.message)}</li>"
            for r in result.failed
        ]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _widest(ranges: pd.DataFrame) -> pd.DataFrame:
    if ranges.empty:
        return ranges
    spread = ranges["max_award_wan"].astype(np.int64) - ranges["min_award_wan"].astype(np.int64)
    order = ranges.assign(_spread=spread).sort_values(
        ["_spread", "recipient_id"], ascending=[False, True], kind="stable"
    )
    return order.drop(columns="_spread").head(TOP * 2)


def _inline_svg(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _html_table(frame: pd.DataFrame, columns: list[str]) -> str:
    if frame.empty:
        return f"<p>{html.escape(_('none'))}</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for record in frame[columns].astype(object).itertuples(index=False):
        cells = []
        for value in record:
            number = isinstance(value, int | float | np.integer | np.floating)
            css = ' class="n"' if number else ""
            cells.append(f"<td{css}>{html.escape(format_value(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


__all__ = ["FONT_RC", "FONT_STACK", "TOP", "page_html", "tornado_figure"]
