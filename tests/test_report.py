"""report.html: its totals are result.json's, its bytes repeat, it fetches nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from allocator.core.i18n import speaking
from allocator.outputs.names import REPORT
from allocator.outputs.report import reason_counts, render_report, report_from_folder
from allocator.pipeline.run import run_scenario
from report_dom import dom_totals, expected_totals, parse

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 2026 sample run twice into two folders, with the same command line."""
    base = tmp_path_factory.mktemp("report")
    command = "allocate run scenarios/liuzhou-2026-q1.yaml"
    _, first = run_scenario(SCENARIO_2026, out_dir=base / "first", command=command)
    _, second = run_scenario(SCENARIO_2026, out_dir=base / "second", command=command)
    return first, second


# --------------------------------------------------------------------------------------------
# On the shipped 2026 scenario


def test_report_totals_are_those_of_result_json(two_runs: tuple[Path, Path]) -> None:
    out, _ = two_runs
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    html = (out / REPORT).read_text(encoding="utf-8")
    assert dom_totals(html) == expected_totals(doc)
    # The 2026 scenario spends its whole assumed fund of 5,000万元.
    assert dom_totals(html)["total-awarded"] == "5000"
    assert REPORT in doc["files"]
    # The per-clause and per-district rows add up to the same total and repeat result.json.
    rows = parse(html).rows
    clauses = [r for r in rows if "data-clause" in r]
    districts = [r for r in rows if "data-district" in r]
    for found, key, expected in (
        (clauses, "clause", doc["totals"]["per_clause"]),
        (districts, "district", doc["totals"]["per_district"]),
    ):
        assert [r[f"data-{key}"] for r in found] == [
            str(e[f"{key}_id" if key == "clause" else key]) for e in expected
        ]
        assert [int(r["data-award"]) for r in found] == [e["award_wan"] for e in expected]
        assert sum(int(r["data-award"]) for r in found) == doc["total_awarded_wan"]
        assert sum(int(r["data-claim"]) for r in found) == doc["total_claim_wan"]
    # The one constraint row, the fund cap, is spent and shown binding.
    binding = [r for r in rows if r.get("data-binding") == "true"]
    assert [(r["data-row"], r["class"]) for r in binding] == [("fund_cap", "binding")]


def test_report_is_byte_identical_across_runs(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    assert (first / REPORT).read_bytes() == (second / REPORT).read_bytes()


def test_report_rebuilds_from_the_folder(two_runs: tuple[Path, Path]) -> None:
    out, _ = two_runs
    assert report_from_folder(out) == (out / REPORT).read_bytes()


def test_report_is_self_contained(two_runs: tuple[Path, Path]) -> None:
    out, _ = two_runs
    html = (out / REPORT).read_text(encoding="utf-8")
    elements = parse(html)
    assert not elements.tags & {"script", "link", "img", "iframe", "object", "embed"}
    # Links only within the page; no CSS import or remote url().
    assert set(re.findall(r'\bhref="([^"#][^"]*)"', html)) == set()
    assert "src=" not in html
    assert "@import" not in html
    assert not re.search(r"url\((?!#)", html)
    # Three inline charts, their text kept as text, their ids unique on the page.
    assert html.count("<svg ") == 3
    assert "<?xml" not in html
    assert "Liudong New Area</text>" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    # The font stack went into the CSS unescaped.
    assert "font: 14px/1.5 'DejaVu Sans', 'Noto Sans CJK SC'" in html


# --------------------------------------------------------------------------------------------
# On a hand-made run


def small_run() -> tuple[dict[str, object], pd.DataFrame, pd.DataFrame]:
    """Three claims of 10, 6 and 4万元 under a budget of 13万元, two firms capped at 3万元.

    Awards: 10 in full, 3 (the firm cap), 0 (all-or-nothing, the budget spent).
    """
    awards = pd.DataFrame(
        {
            "recipient_id": ["91450200MA5KB00001", "91450200MA5KB00002", "91450200MA5KB00003"],
            "recipient_name": ["甲", "乙", "丙"],
            "recipient_kind": ["enterprise"] * 3,
            "district": ["柳南区", "柳北区", "柳北区"],
            "industry": ["machinery"] * 3,
            "clause_id": ["1", "2", "8"],
            "item_key": ["1/a", "2/b", "8/c"],
            "claim_wan": [10, 6, 4],
            "award_wan": [10, 3, 0],
            "reason": [
                "",
                "firm_cap[91450200MA5KB00002] binding",
                "fund_cap binding (scenario budget); all_or_nothing: not funded",
            ],
        }
    )
    constraints = pd.DataFrame(
        {
            "name": ["fund_cap", "firm_cap[91450200MA5KB00002]"],
            "family": ["fund_cap", "firm_cap"],
            "clause_id": ["scenario", "scenario"],
            "sense": ["<=", "<="],
            "lhs": [13, 3],
            "rhs": [13, 3],
            "slack": [0, 0],
            "binding": [True, True],
            "members": [3, 1],
        }
    )
    doc: dict[str, object] = {
        "scenario": "small",
        "policy": {"title": "测试政策", "document_number": None, "status": "draft"},
        "status": "OPTIMAL",
        "rule": "priority",
        "budget_wan": 13,
        "budget_source": "scenario",
        "document_fund_cap_wan": None,
        "total_claim_wan": 20,
        "total_awarded_wan": 13,
        "objective": 13000.0,
        "best_bound": 13000.0,
        "gap": 0.0,
        "counts": {
            "recipients": 3,
            "eligible_claims": 3,
            "variables": 3,
            "constraint_rows": 2,
            "funded_claims": 2,
            "funded_recipients": 2,
        },
        "totals": {
            "per_clause": [
                {
                    "clause_id": c,
                    "title": t,
                    "claims": 1,
                    "funded": f,
                    "claim_wan": cw,
                    "award_wan": aw,
                }
                for c, t, f, cw, aw in (
                    ("1", "一", 1, 10, 10),
                    ("2", "二", 1, 6, 3),
                    ("8", "八", 0, 4, 0),
                )
            ],
            "per_district": [
                {"district": "柳南区", "claims": 1, "funded": 1, "claim_wan": 10, "award_wan": 10},
                {"district": "柳北区", "claims": 2, "funded": 1, "claim_wan": 10, "award_wan": 3},
            ],
        },
        "parameters": {
            "assumed": [
                {"address": "1/a/amount", "value": 10, "unit": "万元", "rationale": "因为"}
            ],
            "overridden": [
                {
                    "address": "2/b/rate",
                    "value": 0.4,
                    "model_value": 0.5,
                    "model_basis": "document",
                    "unit": "ratio",
                }
            ],
        },
        "inputs": [{"role": "scenario", "path": "s.yaml", "sha256": "ab" * 32}],
        "versions": {"allocate": "0.1.0"},
        "command": "allocate run s.yaml",
        "files": ["awards.csv", "report.html", "result.json"],
        "solver": {"method": "greedy"},
        "timings": {"solve": 1.234},
    }
    return doc, awards, constraints


def test_reasons_fold_credit_codes_and_amounts() -> None:
    awards = pd.DataFrame(
        {
            "claim_wan": [10, 8, 5, 5, 7],
            "award_wan": [4, 8, 0, 1, 0],
            "reason": [
                "firm_cap[91450200MA5KB00001] binding",
                "",
                "provincial: the provincial award of the same type (9万元) is not below the claim",
                "firm_cap[91450200MA5KB00002] binding",
                "provincial: the provincial award of the same type (12万元) is not below the claim",
            ],
        }
    )
    # Two firm caps (shortfall 6 + 4) and two provincial deductions (5 + 7); the full award
    # is no reason at all. Ties in count go by the reason's text.
    assert reason_counts(awards) == [
        {
            "reason": "firm_cap[<credit code>] binding",
            "claims": 2,
            "claim_wan": 15,
            "award_wan": 5,
            "shortfall_wan": 10,
        },
        {
            "reason": "provincial: the provincial award of the same type (N万元) is not below "
            "the claim",
            "claims": 2,
            "claim_wan": 12,
            "award_wan": 0,
            "shortfall_wan": 12,
        },
    ]


def test_small_report_shows_each_section() -> None:
    doc, awards, constraints = small_run()
    html = render_report(doc, awards, constraints)
    assert dom_totals(html) == expected_totals(doc)
    elements = parse(html)
    assert elements.by_id["budget-used"] is not None
    assert ">100.0%<" in html.replace("\n", "")  # 13 of 13万元
    # Ratios over the claims: 10/10 in full, 3/6 in part, 0/4 nothing.
    assert [
        elements.by_id[k]["data-value"] for k in ("ratio-full", "ratio-part", "ratio-none")
    ] == [
        "1",
        "1",
        "1",
    ]
    # Both rows bind; both are highlighted.
    rows = [r for r in elements.rows if "data-row" in r]
    assert [(r["data-row"], r.get("class")) for r in rows] == [
        ("fund_cap", "binding"),
        ("firm_cap[91450200MA5KB00002]", "binding"),
    ]
    # Reasons: one row each.
    assert [r["data-count"] for r in elements.rows if "data-count" in r] == ["1", "1"]
    assert "firm_cap[&lt;credit code&gt;] binding" in html
    # Assumptions and overrides, and the provenance stamp.
    for text in ("1/a/amount", "因为", "2/b/rate", ">0.4<", ">0.5<"):
        assert text in html
    assert "ab" * 32 in html
    assert "allocate run s.yaml" in html
    # No timings: a run that took longer gives the same page.
    assert "1.234" not in html
    doc["timings"] = {"solve": 9.876}
    assert render_report(doc, awards, constraints) == html


def test_small_report_escapes_what_it_quotes() -> None:
    doc, awards, constraints = small_run()
    doc["scenario"] = "<b>x</b>"
    html = render_report(doc, awards, constraints)
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_run_without_claims_still_renders() -> None:
    doc, awards, constraints = small_run()
    doc["total_claim_wan"] = doc["total_awarded_wan"] = 0
    doc["totals"] = {"per_clause": [], "per_item": [], "per_district": []}
    html = render_report(doc, awards.iloc[:0], constraints.iloc[:0])
    assert parse(html).by_id["total-awarded"]["data-value"] == "0"
    assert "Every award equals its claim." in html  # no award below its claim
    assert html.count("<svg ") == 3


def test_the_report_speaks_chinese_by_default_and_english_on_request() -> None:
    doc, awards, constraints = small_run()
    with speaking("zh"):
        zh = render_report(doc, awards, constraints)
    with speaking("en"):
        en = render_report(doc, awards, constraints)
    assert '<html lang="zh-CN">' in zh
    assert '<html lang="en">' in en
    for chinese, english in (
        ("<h1>奖补资金分配报告</h1>", "<h1>Allocation report</h1>"),
        (">最优</span>", ">optimal</span>"),
        ('data-value="priority">优先序</td>', 'data-value="priority">priority</td>'),
        ("单户上限[&lt;credit code&gt;]已用足", "firm_cap[&lt;credit code&gt;] binding"),
        ("资金总额已用足（情景预算）；整项奖补", "fund_cap binding (scenario budget); all_or_"),
        ("柳北区</text>", "Liubei</text>"),  # the district chart's labels
        ("<td>单户上限</td>", "<td>firm_cap</td>"),
    ):
        assert chinese in zh, chinese
        assert english in en, english
    # The codes the page's tests and scripts read stay codes in both.
    for html in (zh, en):
        assert 'id="status" data-value="OPTIMAL"' in html
    # Nothing English in the Chinese page's own words: every heading went through the catalogue.
    headings = re.findall(r"<h[123][^>]*>([^<]*)<", zh)
    assert headings
    assert all(not re.search(r"[A-Za-z]{3,}", h) for h in headings), headings
