"""``allocate policy MODEL.yaml [--json]``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.core import i18n

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini-model.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_tables(runner: CliRunner) -> None:
    result = runner.invoke(main, ["policy", str(MINI)])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("测试用政策措施", "（十一）", "measure", "Award items", "2/booth", "免审即享"):
        assert text in out
    assert "rate = 0.5" in out
    assert "award_by_output = [[500, 2], [2000, 5], [10000, 10]]" in out
    assert (
        "11 clauses (9 award, 1 measure, 1 rule), 9 award items, 17 parameters "
        "(6 from the document, 11 assumed)." in out
    )


def test_json(runner: CliRunner) -> None:
    result = runner.invoke(main, ["policy", str(MINI), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {
        "clauses": 11,
        "award": 9,
        "measure": 1,
        "rule": 1,
        "items": 9,
        "params": 17,
        "document": 6,
        "assumed": 11,
    }
    assert [c["id"] for c in data["clauses"]] == [str(k) for k in range(1, 12)]
    assert [c["kind"] for c in data["clauses"]][-2:] == ["measure", "rule"]
    booth = data["clauses"][1]["items"][0]
    assert booth["address"] == "2/booth"
    assert booth["formula"] == "rate"
    assert booth["params"]["cap"]["value"] == 10
    assert booth["params"]["cap"]["basis"] == "document"
    oneoff = data["clauses"][0]["items"][0]
    assert (oneoff["all_or_nothing"], oneoff["requires_application"]) == (True, False)
    assert data["model"]["status"] == "draft"
    assert len(data["model"]["sha256"]) == 64
    assert data["rules"]["rounding"]["rule"] == "floor_wan"


def test_an_injected_expression_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    text = MINI.read_text(encoding="utf-8").replace(
        "expr: booth_fee_2026q1 > 0", "expr: \"__import__('os').system('id') > 0\""
    )
    path = tmp_path / "injected.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["policy", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert (
        f"allocate: {path}, key 'clauses[1].items[0].conditions[1].expr': expected a call to "
        "one of min, max, abs, where, pct_change, known [clause 2, item booth, condition paid] "
        "(found a call on attribute access (.) at column 1 of "
        "\"__import__('os').system('id') > 0\")"
    ) in result.stderr


def test_an_alias_bomb_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text('a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n', encoding="utf-8")
    result = runner.invoke(main, ["policy", str(path), "--json"])
    assert result.exit_code == 2
    assert "anchors (&name) or aliases (*name)" in result.stderr


def test_a_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["policy", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "expected an existing file (found no such file)" in result.stderr


@pytest.mark.parametrize(
    ("stem", "clauses"), [("liuzhou-2025-q1", 20), ("liuzhou-2026-q1-draft", 32)]
)
def test_shipped_models(runner: CliRunner, stem: str, clauses: int) -> None:
    path = ROOT / "models" / f"{stem}.yaml"
    result = runner.invoke(main, ["policy", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.output)
    assert data["counts"]["clauses"] == clauses
    assert data["counts"]["items"] >= data["counts"]["award"]


def test_tables_in_chinese(runner: CliRunner) -> None:
    try:
        result = runner.invoke(main, ["--lang", "zh", "policy", str(MINI)])
    finally:
        i18n.set_language(None)
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "编号",
        "类别",
        "奖补项数",
        "措施",
        "规则",
        "地址",
        "受奖对象",
        "文件所定",
        "假设",
    ):
        assert text in out
    assert "rate = 0.5" in out
    assert "award_by_output = [[500, 2], [2000, 5], [10000, 10]]" in out
    assert (
        "共 11 个条款（奖补 9、措施 1、规则 1），9 个奖补项，17 个参数（文件所定 6、假设 11）。"
        in out
    )
