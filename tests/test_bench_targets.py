"""The benchmark's targets table and its merging of partial runs (benchmarks/).

Figures here are made up to exercise the verdicts; nothing is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _module(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return __import__(name)


def run(seconds: float, status: str = "OPTIMAL", peak_gib: float = 1.0) -> dict[str, Any]:
    return {"seconds": seconds, "status": status, "peak_rss_bytes": int(peak_gib * 1024**3)}


def test_each_target_is_judged_against_its_own_limit() -> None:
    targets = _module("bench_targets")
    rules = ("priority", "proportional")
    doc = {
        "command": {"help": {"median_s": 0.22}, "sample": {"median_s": 1.6}},
        "sizes": {
            "100000": {rule: run(5.0) for rule in rules},
            "1000000": {"priority": run(50.0, peak_gib=8.5), "proportional": run(40.0)},
        },
        "crossing": {"cpsat": {"status": "OPTIMAL", "solve_s": 34.3, "claims": 400_000}},
        "pulp_ratio": {"100000": {"ratio": 6.0, "pulp_s": 12.0, "solve_s": 2.0}},
    }
    rows = targets.rows(doc)
    assert rows["help"] == ("0.22 s", True)
    assert rows["sample"] == ("1.60 s", False)  # over 1.5 s
    assert rows["city"][1] is True
    assert rows["nation"][1] is False  # 8.5 GiB > 8 GiB, though every run is in time
    assert rows["crossing"] == ("OPTIMAL in 34.3 s (400,000 claims)", True)
    # One size of two measured and met: not yet a verdict.
    assert rows["pulp"][1] is None
    doc["pulp_ratio"]["1000000"] = {"ratio": 4.9, "pulp_s": 49.0, "solve_s": 10.0}
    assert targets.rows(doc)["pulp"][1] is False
    doc["pulp_ratio"]["1000000"]["ratio"] = 5.0
    assert targets.rows(doc)["pulp"][1] is True


def test_a_run_that_is_not_optimal_or_killed_misses_the_target() -> None:
    targets = _module("bench_targets")
    doc = {"sizes": {"100000": {"priority": run(4.0, "FEASIBLE"), "talmud": run(3.0)}}}
    text, met = targets.rows(doc)["city"]
    assert met is False
    assert "priority FEASIBLE" in text
    doc = {"sizes": {"100000": {"priority": {"timeout": True, "seconds": 80.0}}}}
    assert targets.rows(doc)["city"] == ("killed: priority", False)
    assert targets.rows({})["crossing"] == ("not measured", None)


def test_a_partial_run_is_merged_into_the_results() -> None:
    bench = _module("bench")
    old = {
        "generated": "then",
        "invoked": "make bench",
        "bench_s": 100.0,
        "load_before": 1.0,
        "load_after": 1.5,
        "sizes": {"1500": {"rules": {"priority": {"e2e_s": 1.0}}, "pulp": {"seconds": 0.1}}},
        "targets": {"sizes": {"100000": {"priority": run(9.0)}}, "crossing": {"cpsat": {}}},
    }
    new = {
        "generated": "now",
        "invoked": "bench.py --only targets",
        "bench_s": 50.0,
        "load_before": 3.0,
        "load_after": 4.0,
        "sizes": {"1500": {"rules": {"talmud": {"e2e_s": 2.0}}}},
        "targets": {"sizes": {"1000000": {"priority": run(40.0)}}, "crossing": {"cpsat": {"x": 1}}},
    }
    merged = bench.merge(old, new)
    assert merged["sizes"]["1500"]["rules"] == {
        "priority": {"e2e_s": 1.0},
        "talmud": {"e2e_s": 2.0},
    }
    assert merged["sizes"]["1500"]["pulp"] == {"seconds": 0.1}
    assert set(merged["targets"]["sizes"]) == {"100000", "1000000"}
    assert merged["targets"]["crossing"] == {"cpsat": {"x": 1}}
    assert merged["bench_s"] == 150.0
    assert [p["invoked"] for p in merged["parts"]] == ["make bench", "bench.py --only targets"]
