"""``allocate run`` end to end through click's CliRunner: exit codes, stdout, stderr, files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.policy.load import load_model

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2025 = ROOT / "scenarios" / "liuzhou-2025-q1.yaml"
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def scenario(tmp_path: Path, **content: object) -> Path:
    body = {"name": "t", "model": str(MODEL_2026), "data": "data.csv", **content}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("credit_code\n", encoding="utf-8")
    path = scenario(tmp_path, budget_wan=-1, zzz=1)
    out = tmp_path / "out"
    result = invoke("run", str(path), "--out", str(out))
    assert result.exit_code == 2
    assert "key 'budget_wan'" in result.stderr
    assert "key 'zzz'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not out.exists()


def test_missing_budget_without_a_document_cap_exits_2(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("credit_code\n", encoding="utf-8")
    result = invoke("run", str(scenario(tmp_path)), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "budget_wan" in result.stderr
    assert "states no fund cap" in result.stderr


def test_missing_scenario_file_exits_2(tmp_path: Path) -> None:
    result = invoke("run", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


def test_an_output_folder_holding_the_inputs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("credit_code\n", encoding="utf-8")
    path = scenario(tmp_path, budget_wan=100)
    result = invoke("run", str(path), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "holds the input file" in result.stderr
    assert (tmp_path / "data.csv").exists()


def test_infeasible_floors_exit_3_with_result_json_alone(tmp_path: Path) -> None:
    # Floors of 60 + 60 = 120万元 against a budget of 100万元 cannot be met.
    path = scenario(
        tmp_path,
        data=str(SAMPLE),
        budget_wan=100,
        district_floors={"柳南区": 60, "柳北区": 60},
    )
    out = tmp_path / "out"
    result = invoke("run", str(path), "--out", str(out), "--quiet")
    assert result.exit_code == 3
    assert "infeasible" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["inputs", "result.json"]
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "INFEASIBLE"
    assert "the district floors add up to 120万元" in doc["message"]


def test_infeasible_found_by_the_solver_names_the_rows(tmp_path: Path) -> None:
    # Every award clause within 10万元, yet 柳东新区 must receive at least 50万元.
    clauses = [c.id for c in load_model(MODEL_2026).clauses if c.kind == "award"]
    path = scenario(
        tmp_path,
        data=str(SAMPLE),
        budget_wan=5000,
        sub_budgets=[{"name": "all", "clauses": clauses, "budget_wan": 10}],
        district_floors={"柳东新区": 50},
    )
    out = tmp_path / "out"
    result = invoke("run", str(path), "--out", str(out), "--quiet")
    assert result.exit_code == 3
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "INFEASIBLE"
    assert "sub_budget[all]" in doc["message"]
    assert "district_floor[柳东新区]" in doc["message"]
    assert sorted(p.name for p in out.iterdir()) == ["inputs", "result.json"]


@pytest.fixture(scope="module")
def runs_2026(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, Result, Path]:
    base = tmp_path_factory.mktemp("runs")
    first, second = base / "first", base / "second"
    one = invoke("run", str(SCENARIO_2026), "--out", str(first))
    # The short form, quiet.
    two = invoke(str(SCENARIO_2026), "--out", str(second), "--quiet")
    return one, first, two, second


def test_shipped_2026_scenario(runs_2026: tuple[Result, Path, Result, Path]) -> None:
    result, out, _, _ = runs_2026
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "OPTIMAL"
    assert doc["rule"] == "proportional"
    assert (doc["budget_wan"], doc["budget_source"]) == (5000, "scenario")
    awards = pd.read_csv(out / "awards.csv", dtype={"recipient_id": str, "clause_id": str})
    assert awards["award_wan"].dtype.kind == "i"
    assert awards["claim_wan"].dtype.kind == "i"
    assert (awards["award_wan"] >= 0).all()
    assert (awards["award_wan"] <= awards["claim_wan"]).all()
    total = int(awards["award_wan"].sum())
    assert total == doc["total_awarded_wan"] <= doc["budget_wan"]
    assert int(awards["claim_wan"].sum()) == doc["total_claim_wan"]
    # Every award below its claim says why.
    short = awards[awards["award_wan"] < awards["claim_wan"]]
    assert short["reason"].notna().all()
    cons = pd.read_csv(out / "constraints.csv")
    fund = cons[cons["family"] == "fund_cap"].iloc[0]
    assert (fund["lhs"], fund["rhs"]) == (total, 5000)
    assert sorted(p.name for p in out.iterdir()) == [
        "awards.csv",
        "awards.xlsx",
        "constraints.csv",
        "inputs",
        "report.html",
        "result.json",
    ]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "awards.csv",
        "awards.xlsx",
        "constraints.csv",
        "report.html",
        "result.json",
    ]
    # stdout: the summary; stderr: the phases.
    assert result.stdout.splitlines()[0] == "status      OPTIMAL"
    assert f"awarded     {total}万元" in result.stdout
    assert f"output      {out}" in result.stdout
    for phase in ("load", "claims", "build", "solve", "write"):
        assert phase in result.stderr
    assert set(doc["timings"]) >= {"load", "claims", "build", "solve", "write"}
    assert doc["command"] == f"allocate run {SCENARIO_2026} --out {out}"


def test_quiet_and_byte_identical_reruns(runs_2026: tuple[Result, Path, Result, Path]) -> None:
    _, first, quiet, second = runs_2026
    assert quiet.exit_code == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    for name in ("awards.csv", "constraints.csv", "awards.xlsx"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    one = json.loads((first / "result.json").read_bytes())
    two = json.loads((second / "result.json").read_bytes())
    for doc in (one, two):
        del doc["timings"], doc["command"]
    assert one == two


def test_shipped_2025_scenario(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(SCENARIO_2025), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "OPTIMAL"
    assert (doc["budget_wan"], doc["budget_source"]) == (5000, "document")
    assert doc["total_awarded_wan"] <= 5000
    awards = pd.read_csv(out / "awards.csv")
    assert (awards["award_wan"] <= awards["claim_wan"]).all()
    # 2025 （二十）: no city award of a type the firm applied to the province for.
    excluded = awards["reason"].fillna("").str.startswith("provincial: applied")
    assert (awards.loc[excluded, "award_wan"] == 0).all()
