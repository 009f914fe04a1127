"""The report's hand-drawn SVG charts: ticks, bars in proportion, text kept as text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from allocator.outputs.svgchart import bars, histogram, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def test_ticks_step_by_one_two_two_and_a_half_or_five() -> None:
    # 1,781 / 5 = 356 -> a step of 500; 0..1,500 stays under 1,781.
    assert nice_ticks(1781) == [0, 500, 1000, 1500]
    # 12 / 5 = 2.4 -> 2.5.
    assert nice_ticks(12) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert nice_ticks(0) == [0.0, 1.0]


def test_bars_are_in_proportion_and_labels_are_text() -> None:
    svg = bars("chart-x", ["柳东新区", "<b>&"], [200, 100], [100, 0])
    root = ET.fromstring(svg)
    assert root.get("aria-labelledby") == "chart-x-title"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "柳东新区" in texts
    assert "<b>&" in texts
    assert "100 / 200" in texts
    assert "0 / 100" in texts
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")][:4]
    claim_a, award_a, claim_b, award_b = widths
    assert abs(claim_a - 2 * claim_b) < 0.02
    assert abs(claim_a - 2 * award_a) < 0.02
    assert award_b == 0


def test_histogram_puts_a_full_award_in_the_last_bin() -> None:
    svg = histogram("chart-r", np.array([1.0, 1.0, 0.5, 0.0]))
    root = ET.fromstring(svg)
    rects = [(float(r.get("x", "0")), float(r.get("height", "0"))) for r in root.iter(f"{SVG}rect")]
    assert len(rects) == 3  # bins 0-5%, 50-55% and 95-100%
    heights = [h for _, h in sorted(rects)]
    assert abs(heights[2] - 2 * heights[0]) < 0.02
    assert abs(heights[1] - heights[0]) < 0.02


def test_the_same_numbers_give_the_same_text() -> None:
    first = bars("c", ["a"], [3], [1]) + histogram("r", np.array([0.3]))
    again = bars("c", ["a"], [3], [1]) + histogram("r", np.array([0.3]))
    assert first == again
    assert not re.search(r"\d\.\d{3,}", first)  # coordinates with at most two decimals
