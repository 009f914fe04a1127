"""``allocate compare``: metrics computed by hand on tiny tables, two hand-written run folders
with known winners and losers, and the 2026 sample under two fairness rules."""

from __future__ import annotations

import importlib.metadata
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.analysis.charts import chart_rc, chart_svgs, font_families, totals_figure
from allocator.analysis.compare import METRICS, compare, compare_folders, long_table, to_json
from allocator.analysis.compare_page import change_rows, district_rows, render_html
from allocator.analysis.compare_runs import load_runs, solver_name
from allocator.analysis.metrics import (
    RATIO_BINS,
    award_ratios,
    gini,
    lorenz,
    ratio_histogram,
    recipient_totals,
    run_metrics,
)
from allocator.cli import main
from allocator.core.errors import InputError
from allocator.core.i18n import set_language
from allocator.pipeline.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"


HEADER = (
    "recipient_id,recipient_name,recipient_kind,district,industry,clause_id,item_key,"
    "claim_wan,award_wan,reason"
)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def awards_frame(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    """(recipient, district, clause, claim, award) rows as an awards table."""
    return pd.DataFrame(
        {
            "recipient_id": [r[0] for r in rows],
            "recipient_name": [f"name {r[0]}" for r in rows],
            "district": [r[1] for r in rows],
            "clause_id": [r[2] for r in rows],
            "item_key": [f"{r[2]}/x" for r in rows],
            "claim_wan": np.array([r[3] for r in rows], dtype=np.int64),
            "award_wan": np.array([r[4] for r in rows], dtype=np.int64),
        }
    )


# --------------------------------------------------------------------------------------------
# Metrics by hand


def test_gini_of_one_holder_among_three_is_two_thirds() -> None:
    # Σ|xi − xj| over ordered pairs = 4 × 10 = 40; 2 n² μ = 2 × 9 × 10/3 = 60.
    assert gini([0, 0, 10]) == pytest.approx(2 / 3)


def test_gini_of_one_to_four_is_a_quarter() -> None:
    # Unordered differences 1+2+3+1+2+1 = 10, ordered 20; 2 n² μ = 2 × 16 × 2.5 = 80.
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)


@pytest.mark.parametrize("values", [[5, 5, 5], [], [0, 0], [7]])
def test_gini_is_zero_when_nobody_has_more(values: list[int]) -> None:
    assert gini(values) == 0.0


def test_gini_refuses_negative_values() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_lorenz_curve_of_one_holder() -> None:
    x, y = lorenz([10, 0, 0])
    assert x.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert y.tolist() == [0, 0, 0, 1]


def test_lorenz_curve_of_nothing_is_the_diagonal() -> None:
    x, y = lorenz([0, 0])
    assert y.tolist() == x.tolist() == [0, 0.5, 1]


def test_ratios_skip_claims_of_zero() -> None:
    table = awards_frame([("a", "d", "1", 0, 0), ("a", "d", "2", 4, 1), ("b", "d", "1", 10, 10)])
    assert award_ratios(table).tolist() == [0.25, 1.0]


def test_ratio_histogram_classes() -> None:
    counts = ratio_histogram([0, 0.05, 0.1, 0.15, 0.95, 1.0])
    expected = dict.fromkeys(RATIO_BINS, 0)
    expected.update({"0": 1, "(0.0, 0.1]": 2, "(0.1, 0.2]": 1, "(0.9, 1)": 1, "1": 1})
    assert dict(zip(RATIO_BINS, counts.tolist(), strict=True)) == expected


def test_recipient_totals_add_a_firms_items() -> None:
    table = awards_frame([("b", "d", "1", 5, 2), ("a", "d", "1", 3, 3), ("b", "d", "2", 4, 4)])
    totals = recipient_totals(table)
    assert totals["recipient_id"].tolist() == ["a", "b"]
    assert totals["claim_wan"].tolist() == [3, 9]
    assert totals["award_wan"].tolist() == [3, 6]


def test_run_metrics_by_hand() -> None:
    # d has only a claim of 0: not eligible. a and c are funded of a, b, c.
    table = awards_frame(
        [
            ("a", "x", "1", 10, 10),
            ("a", "x", "2", 4, 4),
            ("b", "x", "1", 6, 0),
            ("c", "y", "2", 10, 6),
            ("d", "y", "1", 0, 0),
        ]
    )
    m = run_metrics(table, budget_wan=25)
    assert m.budget_wan == 25
    assert m.budget_used_wan == 20
    assert m.total_claim_wan == 30
    assert (m.eligible_recipients, m.recipients_funded) == (3, 2)
    assert m.coverage == pytest.approx(2 / 3)
    assert m.funded_claims == 3
    # Ratios 1, 1, 0, 0.6.
    assert m.mean_ratio == pytest.approx(0.65)
    assert m.median_ratio == pytest.approx(0.8)
    assert m.min_ratio == 0.0
    # Recipient totals 14, 0, 6: sorted 0, 6, 14, (−2·0 + 0·6 + 2·14) / (3 · 20) = 28/60.
    assert m.gini_awards == pytest.approx(7 / 15)
    # Ratios sorted 0, 0.6, 1, 1: (−3·0 − 1·0.6 + 1·1 + 3·1) / (4 · 2.6) = 3.4/10.4.
    assert m.gini_ratios == pytest.approx(3.4 / 10.4)


def test_run_metrics_without_claims() -> None:
    m = run_metrics(awards_frame([("a", "x", "1", 0, 0)]))
    assert m.coverage is None
    assert m.mean_ratio is None
    assert m.gini_awards == 0.0


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"solver": {"method": "greedy"}}, "CP-SAT"),
        ({"solver": {"solver": "HiGHS 1.7.1"}}, "HiGHS 1.7.1"),
        ({"solver_name": "highs"}, "highs"),
        ({"solver": "highs"}, "highs"),
        ({}, "CP-SAT"),
    ],
)
def test_solver_name(result: dict[str, Any], expected: str) -> None:
    assert solver_name(result) == expected


# --------------------------------------------------------------------------------------------
# Two hand-written run folders
#
# Budget 20, claims: F1 10 (clause 1) + 4 (clause 2), F2 6 (clause 1), F3 10 (clause 2),
# F4 0. Run A pays in order: F1 14, F2 6, F3 0. Run B pays 2/3 of each claim, rounded down, the
# two left-over 万元 to F1's and F3's first claims: F1 7 + 2, F2 4, F3 7.

A_ROWS = [
    ("F1", "甲", "柳南区", "1", 10, 10),
    ("F1", "甲", "柳南区", "2", 4, 4),
    ("F2", "乙", "柳南区", "1", 6, 6),
    ("F3", "丙", "城中区", "2", 10, 0),
    ("F4", "丁", "城中区", "1", 0, 0),
]
B_AWARDS = [7, 2, 4, 7, 0]


def write_run(
    folder: Path,
    rows: list[tuple[str, str, str, str, int, int]],
    *,
    rule: str,
    objective: float,
    solver: dict[str, Any] | None = None,
    scenario: str = "tiny",
) -> Path:
    folder.mkdir(parents=True)
    lines = [HEADER]
    for rid, name, district, clause, claim, award in rows:
        lines.append(
            f"{rid},{name}（模拟）,enterprise,{district},steel,{clause},{clause}/x,{claim},{award},"
        )
    (folder / "awards.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = {
        "scenario": scenario,
        "rule": rule,
        "status": "OPTIMAL",
        "budget_wan": 20,
        "objective": objective,
        "best_bound": objective,
        "gap": 0.0,
        "policy": {"title": "测试用政策"},
        "solver": solver or {},
        "totals": {
            "per_clause": [
                {"clause_id": "1", "title": "一次性奖补"},
                {"clause_id": "2", "title": "展位费补助"},
            ]
        },
    }
    (folder / "result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "a", A_ROWS, rule="priority", objective=20.0)
    b_rows = [(*r[:5], award) for r, award in zip(A_ROWS, B_AWARDS, strict=True)]
    b = write_run(tmp_path / "b", b_rows, rule="proportional", objective=1.0)
    return a, b


def test_compare_two_hand_written_runs(two_runs: tuple[Path, Path]) -> None:
    c = compare_folders(two_runs)
    a, b = c.labels
    assert a == "tiny · priority · CP-SAT"
    assert b == "tiny · proportional · CP-SAT"
    m = c.metrics
    assert m.at["budget_used_wan", a] == m.at["budget_used_wan", b] == 20
    assert (m.at["eligible_recipients", a], m.at["recipients_funded", a]) == (3, 2)
    assert m.at["recipients_funded", b] == 3
    assert m.at["coverage", b] == 1.0
    # A: ratios 1, 1, 1, 0; B: 0.7, 0.5, 4/6, 0.7.
    assert m.at["mean_ratio", a] == pytest.approx(0.75)
    assert m.at["mean_ratio", b] == pytest.approx((0.7 + 0.5 + 4 / 6 + 0.7) / 4)
    assert m.at["median_ratio", b] == pytest.approx((4 / 6 + 0.7) / 2)
    assert m.at["min_ratio", b] == 0.5
    # A: totals 0, 6, 14 → 28/60; B: 4, 7, 9 → (−8 + 18)/60.
    assert m.at["gini_awards", a] == pytest.approx(7 / 15)
    assert m.at["gini_awards", b] == pytest.approx(1 / 6)
    # Ratios 0, 1, 1, 1: (−1 + 1 + 3)/(4 · 3).
    assert m.at["gini_ratios", a] == pytest.approx(0.25)
    assert m.at["claims_changed", a] == 0
    assert m.at["claims_changed", b] == 4
    assert m.at["objective", b] == 1.0

    (change,) = c.changes
    assert change.winners[
        ["recipient_id", "award_before_wan", "award_after_wan"]
    ].values.tolist() == [["F3", 0, 7]]
    assert change.losers["recipient_id"].tolist() == ["F1", "F2"]
    assert change.losers["change_wan"].tolist() == [-5, -2]
    assert change.losers["recipient_name"].tolist() == ["甲（模拟）", "乙（模拟）"]
    assert (change.recipients_up, change.recipients_down) == (1, 2)

    clauses = c.per_clause.set_index("clause_id")
    assert clauses.at["1", "title"] == "一次性奖补"
    assert clauses.at["1", f"award_wan[{a}]"] == 16
    assert clauses.at["1", f"award_wan[{b}]"] == 11
    assert clauses.at["2", f"claim_wan[{b}]"] == 14
    districts = c.per_district.set_index("district")
    # Schema order: 城中区 before 柳南区.
    assert districts.index.tolist() == ["城中区", "柳南区"]
    assert districts.at["城中区", f"award_wan[{b}]"] == 7
    assert districts.at["柳南区", f"award_wan[{a}]"] == 20


def test_top_limits_winners_and_losers(two_runs: tuple[Path, Path]) -> None:
    (change,) = compare_folders(two_runs, top=1).changes
    assert change.losers["recipient_id"].tolist() == ["F1"]
    assert change.recipients_down == 2


def test_long_table_and_json(two_runs: tuple[Path, Path]) -> None:
    c = compare_folders(two_runs)
    a, b = c.labels
    table = long_table(c)
    assert table.columns.tolist() == ["metric", "run", "value"]
    rows = {(r.metric, r.run): r.value for r in table.itertuples()}
    assert rows["coverage", a] == "0.666667"
    assert rows["recipients_funded", b] == "3"
    assert rows["clause[1].award_wan", b] == "11"
    assert rows["district[城中区].award_wan", a] == "0"
    assert rows["change[F3]", b] == "7"
    assert rows["change[F1]", b] == "-5"
    assert len(table) == len(METRICS) * 2 + (2 + 2) * 2 * 2 + 3

    doc = json.loads(json.dumps(to_json(c), ensure_ascii=False))
    assert [r["label"] for r in doc["runs"]] == [a, b]
    assert doc["metrics"][b]["gini_awards"] == pytest.approx(1 / 6, abs=1e-6)
    assert doc["per_clause"][1]["award_wan"] == {a: 4, b: 9}
    assert doc["changes"][0]["winners"][0]["change_wan"] == 7


def test_models_that_share_a_clause_id_get_a_row_each(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", A_ROWS, rule="priority", objective=1.0)
    other = json.loads((a / "result.json").read_text(encoding="utf-8"))
    b = write_run(tmp_path / "b", A_ROWS, rule="priority", objective=1.0, scenario="other")
    other["scenario"] = "other"
    other["totals"]["per_clause"][0]["title"] = "另一条款"
    (b / "result.json").write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    c = compare_folders([a, b])
    keys = list(zip(c.per_clause["clause_id"], c.per_clause["title"], strict=True))
    assert keys == [("1", "一次性奖补"), ("2", "展位费补助"), ("1", "另一条款")]
    la, _lb = c.labels
    assert pd.isna(c.per_clause.at[2, f"award_wan[{la}]"])
    metrics = set(long_table(c)["metric"])
    assert {"clause[1 一次性奖补].award_wan", "clause[1 另一条款].award_wan"} <= metrics


def test_runs_of_two_solvers_are_checked_to_agree(tmp_path: Path) -> None:
    a = write_run(tmp_path / "cpsat", A_ROWS, rule="priority", objective=20.0)
    h = write_run(
        tmp_path / "highs", A_ROWS, rule="priority", objective=20.0, solver={"solver": "HiGHS 1"}
    )
    c = compare_folders([a, h])
    assert c.labels[1] == "tiny · priority · HiGHS 1"
    assert c.notes == [
        "tiny · priority · CP-SAT and tiny · priority · HiGHS 1: objectives agree (20); same awards"
    ]


def test_equal_labels_get_the_folder_name(tmp_path: Path) -> None:
    a = write_run(tmp_path / "one", A_ROWS, rule="priority", objective=1.0)
    b = write_run(tmp_path / "two", A_ROWS, rule="priority", objective=1.0)
    assert [r.label for r in load_runs([a, b])] == [
        "tiny · priority · CP-SAT (one)",
        "tiny · priority · CP-SAT (two)",
    ]


def test_html_is_self_contained_and_deterministic(two_runs: tuple[Path, Path]) -> None:
    c = compare_folders(two_runs)
    page = render_html(c)
    assert page == render_html(compare_folders(two_runs))
    assert page.count("<svg") == 4
    assert "<script" not in page
    for fetch in ("<link", " src=", 'href="http', "@import", "<?xml"):
        assert fetch not in page
    assert "甲（模拟）" in page  # names are escaped text, not lost
    assert "<dc:date>" not in page
    assert "<h1>Comparison of 2 runs</h1>" in page


# --------------------------------------------------------------------------------------------
# Refusals


def test_a_folder_without_awards_is_refused_by_name(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    (b / "awards.csv").unlink()
    with pytest.raises(InputError) as err:
        compare_folders([a, b])
    assert str(b) in str(err.value)
    assert "no awards.csv" in str(err.value)


def test_an_infeasible_run_is_refused_saying_why(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    bad = tmp_path / "infeasible"
    bad.mkdir()
    (bad / "result.json").write_text('{"status": "INFEASIBLE"}', encoding="utf-8")
    result = invoke("compare", str(two_runs[0]), str(bad))
    assert result.exit_code == 2
    assert str(bad) in result.stderr
    assert "status INFEASIBLE" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_bad_folder_is_listed(tmp_path: Path) -> None:
    result = invoke("compare", str(tmp_path / "x"), str(tmp_path / "y"))
    assert result.exit_code == 2
    assert "2 problems" in result.stderr
    assert str(tmp_path / "x") in result.stderr
    assert str(tmp_path / "y") in result.stderr


def test_bad_awards_are_refused_with_row_and_column(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    text = (b / "awards.csv").read_text(encoding="utf-8").replace(",7,\n", ",7.5,\n", 1)
    (b / "awards.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'award_wan'"):
        compare_folders([a, b])


@pytest.mark.parametrize("award", ["inf", "1e300", "9" * 5000])
def test_an_award_beyond_whole_wan_is_refused(two_runs: tuple[Path, Path], award: str) -> None:
    a, b = two_runs
    text = (b / "awards.csv").read_text(encoding="utf-8").replace(",7,\n", f",{award},\n", 1)
    (b / "awards.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'award_wan'"):
        compare_folders([a, b])


def test_a_result_json_too_deep_or_too_long_is_refused(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    for text in ("[" * 100_000 + "]" * 100_000, '{"budget_wan": ' + "9" * 5000 + "}"):
        (b / "result.json").write_text(text, encoding="utf-8")
        result = invoke("compare", str(a), str(b))
        assert result.exit_code == 2
        assert str(b / "result.json") in result.stderr
        assert "Traceback" not in result.stderr


def test_one_folder_is_a_usage_error(two_runs: tuple[Path, Path]) -> None:
    result = invoke("compare", str(two_runs[0]))
    assert result.exit_code == 2
    assert "at least two" in result.stderr


# --------------------------------------------------------------------------------------------
# The command


def test_cli_tables_csv_json_html(tmp_path: Path, two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    csv_file, html_file = tmp_path / "c.csv", tmp_path / "c.html"
    charts = tmp_path / "charts"
    result = invoke(
        "compare",
        str(a),
        str(b),
        "--csv",
        str(csv_file),
        "--html",
        str(html_file),
        "--charts",
        str(charts),
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "share of eligible recipients funded" in out
    assert "66.67%" in out
    assert "100.00%" in out
    assert "Awards by clause" in out
    assert "Awards by district" in out
    assert "largest rises" in out
    assert "F3" in out
    table = pd.read_csv(csv_file, dtype=str, keep_default_na=False)
    assert table.columns.tolist() == ["metric", "run", "value"]
    assert html_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in charts.iterdir()) == [
        "clauses.svg",
        "districts.svg",
        "lorenz.svg",
        "ratios.svg",
    ]
    assert (charts / "lorenz.svg").read_text(encoding="utf-8").startswith("<?xml")

    as_json = invoke("compare", str(a), str(b), "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["metrics"]["tiny · proportional · CP-SAT"]["coverage"] == 1.0


# --------------------------------------------------------------------------------------------
# The 2026 sample under proportional and priority


def _scenario_with_rule(source: Path, rule: str, folder: Path) -> Path:
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc["fairness"] = {"rule": rule}
    doc["model"] = str((source.parent / doc["model"]).resolve())
    doc["data"] = str((source.parent / doc["data"]).resolve())
    path = folder / f"{rule}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    folder = tmp_path_factory.mktemp("sample-2026")
    outs = []
    for rule in ("proportional", "priority"):
        _, out = run_scenario(
            _scenario_with_rule(SCENARIO_2026, rule, folder), out_dir=folder / f"out-{rule}"
        )
        outs.append(out)
    return outs


@pytest.mark.slow
def test_sample_2026_proportional_against_priority(sample_runs: list[Path], tmp_path: Path) -> None:
    runs = load_runs(sample_runs)
    c = compare(runs)
    # A run names its engine with the version that solved it.
    cp_sat = f"CP-SAT {importlib.metadata.version('ortools')}"
    assert c.labels == [
        f"liuzhou-2026-q1 · proportional · {cp_sat}",
        f"liuzhou-2026-q1 · priority · {cp_sat}",
    ]
    for run in runs:
        doc = run.result
        label = run.label
        # The same figures as the run's own result.json, computed another way.
        assert c.metric("budget_used_wan", label) == doc["total_awarded_wan"] == 5000
        assert c.metric("recipients_funded", label) == doc["counts"]["funded_recipients"]
        assert c.metric("funded_claims", label) == doc["counts"]["funded_claims"]
        assert c.metric("total_claim_wan", label) == doc["total_claim_wan"]
        by_clause = c.per_clause.set_index("clause_id")[f"award_wan[{label}]"]
        assert {r["clause_id"]: r["award_wan"] for r in doc["totals"]["per_clause"]} == {
            k: int(v) for k, v in by_clause.items()
        }
        by_district = c.per_district.set_index("district")[f"award_wan[{label}]"]
        assert {r["district"]: r["award_wan"] for r in doc["totals"]["per_district"]} == {
            k: int(v) for k, v in by_district.items()
        }
        assert 0 < c.metric("gini_awards", label) < 1
    # Same claims, so the same eligible recipients and the same changed total: what one rule
    # gives some recipients it takes from others.
    (change,) = c.changes
    assert c.metric("eligible_recipients", c.labels[0]) == c.metric(
        "eligible_recipients", c.labels[1]
    )
    assert change.recipients_up > 0
    assert change.recipients_down > 0
    assert (change.winners["change_wan"] > 0).all()
    assert (change.losers["change_wan"] < 0).all()

    html = tmp_path / "compare-2026.html"
    result = invoke(
        "compare", *map(str, sample_runs), "--html", str(html), "--csv", str(tmp_path / "c.csv")
    )
    assert result.exit_code == 0, result.stderr
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 4
    assert "Lorenz" in page
    assert "Awards by district" in page


# --------------------------------------------------------------------------------------------
# In Chinese


@pytest.fixture
def chinese() -> Iterator[None]:
    """Messages in Chinese for one test, then the suite's language again."""
    set_language("zh")
    yield
    set_language(None)


@pytest.mark.usefixtures("chinese")
def test_the_page_and_its_tables_read_in_chinese(two_runs: tuple[Path, Path]) -> None:
    c = compare_folders(two_runs)
    page = render_html(c)
    assert '<html lang="zh-CN">' in page
    assert "<h1>2 次运行对比</h1>" in page
    assert "<h2>分条款奖补金额（万元）</h2>" in page
    assert "<h2>分县区奖补金额（万元）</h2>" in page
    # Rules and statuses by their Chinese names, in the metrics and in the runs' headings.
    assert "<td>分配规则</td>" in page
    assert "tiny · 优先序 · " in page
    assert "tiny · 按比例 · " in page
    assert '<td class="n">最优</td>' in page
    # Winners and losers: run a gave F3 nothing, run b 7万元.
    header, rows = change_rows(c.changes[0], "winners")
    assert header == ["对象代码", "名称", "之前（万元）", "之后（万元）", "变化（万元）"]
    assert rows[0] == ["F3", "丙（模拟）", "0", "7", "+7"]
    header, rows = district_rows(c)
    assert header[0] == "县区"
    assert [r[0] for r in rows] == ["城中区", "柳南区"]
    # The CSV and JSON forms keep the codes: a file does not change with the language.
    assert set(long_table(c)["run"]) == set(c.labels)
    assert to_json(c)["runs"][0]["rule"] == "priority"


@pytest.mark.usefixtures("chinese")
def test_charts_name_districts_in_chinese_with_a_cjk_font_stack(
    two_runs: tuple[Path, Path],
) -> None:
    svgs = chart_svgs(compare_folders(two_runs))
    districts = svgs["districts"]
    # Text stays text (svg.fonttype none): the district names and the title as characters.
    for text in ("城中区", "柳南区", "分县区奖补金额", "奖补金额（万元）"):
        assert text in districts
    for family in ("'DejaVu Sans'", "'Noto Sans CJK SC'", "'Microsoft YaHei'", "sans-serif"):
        assert family in districts
    assert "优先序" in svgs["lorenz"]  # the legend names the runs by their rules
    assert svgs == chart_svgs(compare_folders(two_runs))  # the same bytes again


@pytest.mark.skipif(
    "WenQuanYi Micro Hei" not in font_families() and "Noto Sans CJK SC" not in font_families(),
    reason="no CJK font installed (Debian: fonts-wqy-microhei)",
)
@pytest.mark.usefixtures("chinese")
def test_a_chinese_chart_draws_every_glyph(two_runs: tuple[Path, Path]) -> None:
    # With a CJK font matplotlib measures every character it draws: no "Glyph missing"
    # warning (pytest turns warnings into errors), here without svg_text's guard.
    import matplotlib

    figure = totals_figure(compare_folders(two_runs), "district")
    with matplotlib.rc_context(chart_rc()):
        figure.savefig(io.BytesIO(), format="png")


def test_english_names_districts_in_english(two_runs: tuple[Path, Path]) -> None:
    districts = chart_svgs(compare_folders(two_runs))["districts"]
    assert "Chengzhong" in districts
    assert "Liunan" in districts
    assert "城中区" not in districts
