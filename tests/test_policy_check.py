"""``allocate policy --check``: the shipped models against their source texts, and a check that
fails where a model departs from its text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.policy.check import check_file, normalise, stated_by

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "liuzhou-2025-q1": ROOT / "models" / "liuzhou-2025-q1.yaml",
    "liuzhou-2026-q1-draft": ROOT / "models" / "liuzhou-2026-q1-draft.yaml",
}
# Clauses and quoted parameters counted by hand from the model files: 2025 has 20 clauses, 4
# rule quotes and 15 quoted parameters; 2026 has 32 clauses, 3 rule quotes and 17.
QUOTES = {"liuzhou-2025-q1": 39, "liuzhou-2026-q1-draft": 52}


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_shipped_models_pass_every_check(stem: str) -> None:
    report = check_file(MODELS[stem])
    assert report.problems == []
    summary = report.summary()
    assert summary["quotes"] == (QUOTES[stem], QUOTES[stem])
    passed, total = summary["numbers"]
    assert passed == total > 10
    passed, total = summary["assumptions"]
    assert passed == total > 30


def test_the_2025_page_break_is_the_one_place_the_page_rule_applies() -> None:
    report = check_file(MODELS["liuzhou-2025-q1"])
    assert report.applied["page_break_repeat"] == ["line 30: 车\\n\\n车"]
    assert report.source_file == "models/sources/liuzhou-2025-q1-policy.txt"
    assert check_file(MODELS["liuzhou-2026-q1-draft"]).applied["page_break_repeat"] == []


def test_every_provincial_pairing_is_an_assumption_with_its_rationale() -> None:
    for path in MODELS.values():
        report = check_file(path)
        pairings = [a for a in report.assumptions if ".provincial_type" in a.where]
        assert pairings
        assert all(a.rationale.startswith("assumed:") for a in pairings)


def test_readings_of_the_documents_numbers() -> None:
    assert stated_by(150000, "乘用车产量达到或超过 15 万辆").startswith("wan")
    assert stated_by(0.5, "对其展位费给予50%补助").startswith("percent")
    assert stated_by(8, "向单一主机厂配套销售额同比增长 8% 以上").startswith("plain")
    assert stated_by(20240401, "2024 年 4 月以来").startswith("date")
    assert stated_by(20250331, "（含 2025 年一季度）").startswith("quarter")
    assert stated_by(2, "竞争力评价达到二级").startswith("grade")
    assert stated_by(1000, "出口贸易额达 1000 万元以上").startswith("plain")
    # 万元 is the unit of money, not a multiplier; the old 10万元 cap of 2026 六 is not stated
    assert stated_by(10_000_000, "出口贸易额达 1000 万元以上") == ""
    assert stated_by(10, "给予不超过0.25%资金支持") == ""


def test_normalise_reads_a_page_break_repeat_once_and_drops_whitespace() -> None:
    applied: dict[str, list[str]] = {}
    assert (
        normalise("整车企业乘用车\n\n车产量达到 15 万辆", applied) == "整车企业乘用车产量达到15万辆"
    )
    assert applied["page_break_repeat"] == ["line 1: 车\\n\\n车"]
    # a paragraph that ends with another character is left alone
    assert normalise("给予奖励。\n\n对参加") == "给予奖励。对参加"


def _copy_model(tmp_path: Path, stem: str) -> tuple[Path, str]:
    """The model and its source text copied under tmp_path, as a repository would hold them."""
    (tmp_path / "models" / "sources").mkdir(parents=True)
    model = tmp_path / "models" / f"{stem}.yaml"
    shutil.copy(MODELS[stem], model)
    for text in (ROOT / "models" / "sources").glob("*.txt"):
        shutil.copy(text, tmp_path / "models" / "sources" / text.name)
    return model, model.read_text(encoding="utf-8")


def test_a_quote_not_in_the_text_fails_with_its_key(tmp_path: Path) -> None:
    model, text = _copy_model(tmp_path, "liuzhou-2026-q1-draft")
    wrong = text.replace('quote: "最高不超过10万元"', 'quote: "最高不超过12万元"', 1)
    assert wrong != text
    model.write_text(wrong, encoding="utf-8")
    report = check_file(model)
    failed = [(p.key, p.found) for p in report.problems]
    assert ("5.1/booth/cap.quote", "最高不超过12万元") in failed
    # the number 10 is no longer stated by the (wrong) quote either
    assert ("5.1/booth/cap", "最高不超过12万元") in failed


def test_a_document_number_its_quote_does_not_state_fails(tmp_path: Path) -> None:
    model, text = _copy_model(tmp_path, "liuzhou-2025-q1")
    block = 'value: 5\n            unit: "%"\n            basis: document'
    assert block in text
    model.write_text(text.replace(block, block.replace("value: 5", "value: 6"), 1), "utf-8")
    report = check_file(model)
    assert [p.key for p in report.problems] == ["1/growth/min_growth"]
    assert "the number 6 stated by its quote" in str(report.problems[0])


def test_a_pairing_without_rationale_fails(tmp_path: Path) -> None:
    model, text = _copy_model(tmp_path, "liuzhou-2026-q1-draft")
    lines = text.split("\n")
    first = next(k for k, line in enumerate(lines) if "provincial_rationale:" in line)
    model.write_text("\n".join(lines[:first] + lines[first + 1 :]), encoding="utf-8")
    report = check_file(model)
    assert [p.key for p in report.problems] == ["1.1/festival_power.provincial_type (holiday)"]


def test_a_source_text_that_cannot_be_found_is_refused(tmp_path: Path) -> None:
    model, text = _copy_model(tmp_path, "liuzhou-2025-q1")
    model.write_text(text.replace("source: models/sources/", "source: nowhere/", 1), "utf-8")
    with pytest.raises(InputError) as info:
        check_file(model)
    assert info.value.problems[0].key == "source"


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_cli_prints_the_counts_and_the_normalisations(stem: str) -> None:
    result = CliRunner().invoke(main, ["policy", "--check", str(MODELS[stem])])
    assert result.exit_code == 0, result.output
    n = QUOTES[stem]
    assert f"quotes verbatim: {n}/{n}" in result.output
    assert "page_break_repeat:" in result.output
    assert "whitespace:" in result.output
    as_json = CliRunner().invoke(main, ["policy", "--check", "--json", str(MODELS[stem])])
    data = json.loads(as_json.output)
    assert data["summary"]["quotes"] == {"passed": n, "total": n}
    assert [x["name"] for x in data["normalisations"]] == ["page_break_repeat", "whitespace"]


def test_cli_exits_2_listing_the_failures(tmp_path: Path) -> None:
    model, text = _copy_model(tmp_path, "liuzhou-2026-q1-draft")
    model.write_text(
        text.replace("给予每家企业5万元一次性奖补", "给予每家企业6万元一次性奖补"), "utf-8"
    )
    result = CliRunner().invoke(main, ["policy", "--check", str(model)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "1.2/continuous_production/amount.quote" in result.output


def test_policy_check_is_also_a_word_after_policy() -> None:
    # `allocate policy check MODEL`, as the check is usually asked for, means policy --check.
    model = str(Path(__file__).resolve().parents[1] / "models" / "liuzhou-2025-q1.yaml")
    as_word = CliRunner().invoke(main, ["--lang", "en", "policy", "check", model])
    as_option = CliRunner().invoke(main, ["--lang", "en", "policy", "--check", model])
    assert as_word.exit_code == as_option.exit_code == 0, as_word.output
    assert as_word.output == as_option.output
    assert "39/39" in as_word.output
