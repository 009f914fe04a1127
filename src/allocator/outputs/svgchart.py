"""The report's charts as SVG text: horizontal claim-and-award bars and a histogram.

Drawn directly as SVG elements rather than through a plotting library: a run writes three
small charts, and importing and laying out a plotting library took longer than the rest of
the sample run's writing. The same numbers give the same bytes (coordinates are written with
two decimals, ids are prefixed with the chart's name), and text stays text, so the browser
draws the Chinese with the page's font stack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from allocator.core.i18n import _

#: Pixels per inch of the page: a chart 8 inches wide is 768 pixels wide.
_DPI = 96
_FONT_PX = 12.0  # 9 pt, the charts' text
_SMALL_PX = 9.33  # 7 pt, the amounts beside the bars
_CLAIM_COLOUR = "#c7d2e0"
_AWARD_COLOUR = "#2f6db5"
_GRID_COLOUR = "#e5e5e5"
_TEXT_COLOUR = "#333333"


def _n(value: float) -> str:
    """A coordinate with two decimals, trailing zeros dropped: the same number, the same text."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text_width_px(text: str, size_px: float) -> float:
    """The width of ``text``, counting a CJK character a full em and others 0.62 em."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.62 for ch in text) * size_px


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Tick values from 0 to at least ``top`` at a step of 1, 2, 2.5 or 5 times a power of ten.

    Parameters
    ----------
    top:
        The largest value the axis shows; at most ``top`` is exceeded by one step.
    count:
        About how many steps the axis is cut into.
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    steps = math.floor(top / step + 1e-9)
    return [k * step for k in range(steps + 1)]


def _tick_label(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _svg(name: str, width: float, height: float, body: list[str]) -> str:
    head = (
        f'<svg role="img" aria-labelledby="{name}-title" xmlns="http://www.w3.org/2000/svg" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'id="{name}-svg" font-size="{_n(_FONT_PX)}" fill="{_TEXT_COLOUR}">'
    )
    return "\n".join([head, *body, "</svg>"])


def _rect(x: float, y: float, w: float, h: float, colour: str, extra: str = "") -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(h)}" '
        f'fill="{colour}"{extra}/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{colour}" stroke-width="{_n(width)}"/>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" '
        f'dominant-baseline="central"{extra}>{escape(text, quote=False)}</text>'
    )


def bars(name: str, labels: Sequence[str], claimed: Sequence[int], awarded: Sequence[int]) -> str:
    """Horizontal bars, claim behind award, one pair per label, the first label on top.

    Each pair is annotated ``award / claim`` at the end of its claim bar; a legend above and
    the unit (万元) below.

    Parameters
    ----------
    name:
        The chart's name: its ids start with it, and it is labelled by the element whose id
        is ``{name}-title``.
    labels, claimed, awarded:
        One label, claim and award (万元) per row.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    rows = max(len(labels), 1)
    row = 0.3 * _DPI
    top_margin = 0.45 * _DPI
    width = 8.0 * _DPI
    height = 0.9 * _DPI + row * rows
    widest = max((_text_width_px(s, _FONT_PX) for s in labels), default=_FONT_PX)
    left = widest + 0.35 * _DPI
    right = width * 0.9
    top = max(claimed, default=0)
    ticks = nice_ticks(max(top * 1.18, 1.0))
    x_max = max(top * 1.18, 1.0, ticks[-1])

    def x(value: float) -> float:
        return left + (right - left) * value / x_max

    def y(k: float) -> float:  # the centre of row k
        return top_margin + row * (k + 0.5)

    body: list[str] = []
    bottom = top_margin + row * rows
    for tick in ticks:
        body.append(_line(x(tick), top_margin, x(tick), bottom, _GRID_COLOUR, 0.8))
        body.append(_text(x(tick), bottom + 12, _tick_label(tick), "middle"))
    for k, (c, a) in enumerate(zip(claimed, awarded, strict=True)):
        body.append(_rect(x(0), y(k) - row * 0.375, x(c) - x(0), row * 0.75, _CLAIM_COLOUR))
        body.append(_rect(x(0), y(k) - row * 0.225, x(a) - x(0), row * 0.45, _AWARD_COLOUR))
        note = f' font-size="{_n(_SMALL_PX)}"'
        body.append(_text(x(c) + (right - left) * 0.01, y(k), f"{a:,} / {c:,}", extra=note))
    for k, label in enumerate(labels):
        body.append(_text(left - 6, y(k), label, "end"))
    body.append(_line(left, top_margin, left, bottom, _TEXT_COLOUR, 0.8))
    body.append(_line(left, bottom, right, bottom, _TEXT_COLOUR, 0.8))
    body.append(_text((left + right) / 2, bottom + 30, "万元", "middle"))
    legend_y = top_margin - 14
    body.append(_rect(left, legend_y - 5, 18, 10, _CLAIM_COLOUR))
    claimed_word = _("Claimed")
    body.append(_text(left + 24, legend_y, claimed_word))
    second = left + 24 + _text_width_px(claimed_word, _FONT_PX) + 36
    body.append(_rect(second, legend_y - 5, 18, 10, _AWARD_COLOUR))
    body.append(_text(second + 24, legend_y, _("Awarded")))
    return _svg(name, width, height, body)


def histogram(name: str, ratios: np.ndarray[Any, np.dtype[np.float64]]) -> str:
    """Claims by award ÷ claim, in 5% bins; a full award falls in the last bin.

    Parameters
    ----------
    name:
        As for :func:`bars`.
    ratios:
        Award ÷ claim of each claim with a positive claim.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    width, height = 8.0 * _DPI, 3.0 * _DPI
    left, right = 0.09 * width, 0.96 * width
    top, bottom = 0.08 * height, 0.83 * height
    edges = np.linspace(0.0, 1.0, 21)
    counts, _edges = np.histogram(ratios, bins=edges)
    highest = int(counts.max()) if counts.size else 0
    ticks = nice_ticks(max(highest * 1.05, 1.0))
    y_max = max(ticks[-1], 1.0)

    def x(value: float) -> float:
        return left + (right - left) * value

    def y(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    body: list[str] = []
    for tick in ticks:
        body.append(_line(left, y(tick), right, y(tick), _GRID_COLOUR, 0.8))
        body.append(_text(left - 6, y(tick), _tick_label(tick), "end"))
    white = ' stroke="white" stroke-width="1"'
    for lo, count in zip(edges[:-1], counts, strict=True):
        if count:
            tall = y(0) - y(int(count))
            body.append(_rect(x(lo), y(int(count)), x(0.05) - x(0), tall, _AWARD_COLOUR, white))
    for k in range(11):
        body.append(_text(x(k / 10), bottom + 12, f"{k * 10}%", "middle"))
    body.append(_line(left, top, left, bottom, _TEXT_COLOUR, 0.8))
    body.append(_line(left, bottom, right, bottom, _TEXT_COLOUR, 0.8))
    body.append(_text((left + right) / 2, bottom + 32, _("Award ÷ claim"), "middle"))
    turn = f' transform="rotate(-90 {_n(left - 52)} {_n((top + bottom) / 2)})"'
    body.append(_text(left - 52, (top + bottom) / 2, _("Claims"), "middle", turn))
    return _svg(name, width, height, body)


__all__ = ["bars", "histogram", "nice_ticks"]
