"""``allocate explain``: conditions, formula, claim, award and why, for a firm and a district.

One run of the 2026 sample (about 2 s, made once for the module) under the shipped budget and
rule, with an extra no-duplicate group pairing 5.1/booth and 5.1/launch. The firms explained
are found in its awards.csv; what the explanation must say is computed by hand from the
sample data (the booth fee and 五（一）'s 50%, capped at 10万元; a district's output growth).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.core.i18n import set_language

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
GROUP = "market_events"


@dataclass(frozen=True)
class Run:
    folder: Path
    scenario: Path
    ledger: str
    awards: list[dict[str, str]]
    firms: dict[str, dict[str, str]]  # the sample data by credit code


@pytest.fixture(autouse=True)
def _language_of_the_environment() -> Iterator[None]:
    """explain --lang zh sets the process's language: the next test starts from $ALLOCATE_LANG."""
    yield
    set_language(None)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("explain")
    shutil.copy(SAMPLE, root / "data.csv")
    body = {
        "name": "explain",
        "model": str(MODEL_2026),
        "data": "data.csv",
        "budget_wan": 5000,
        "fairness": {"rule": "proportional"},
        "exclusive_groups": [{"name": GROUP, "items": ["5.1/booth", "5.1/launch"]}],
    }
    scenario = root / "explain.yaml"
    scenario.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    folder = root / "out"
    ledger = f"sqlite:///{root / 'ledger.sqlite'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALLOCATE_LEDGER", ledger)
        result = invoke("run", str(scenario), "--out", str(folder), "--quiet")
    assert result.exit_code == 0, result.output
    with (folder / "awards.csv").open(encoding="utf-8", newline="") as handle:
        awards = list(csv.DictReader(handle))
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        firms = {r["credit_code"]: r for r in csv.DictReader(handle)}
    return Run(folder, scenario, ledger, awards, firms)


def explain(run: Run, recipient: str, *extra: str) -> Result:
    return invoke("explain", str(run.folder), recipient, "--ledger", run.ledger, *extra)


def number(text: str) -> str:
    """A figure of the data as explain prints it: no trailing zeros."""
    return format(Decimal(text).normalize(), "f")


def cut_by_the_fund(run: Run) -> tuple[int, dict[str, str]]:
    """A booth-fee award cut by the fund cap, with its awards.csv row number."""
    for n, r in enumerate(run.awards):
        award, claim = int(r["award_wan"]), int(r["claim_wan"])
        if r["item_key"] == "5.1/booth" and "fund_cap" in r["reason"] and 0 < award < claim:
            return n + 2, r
    raise AssertionError("no booth award cut by the fund cap")


def test_a_firm_cut_by_the_fund_cap(run: Run) -> None:
    row, award = cut_by_the_fund(run)
    firm = run.firms[award["recipient_id"]]
    fee = firm["booth_fee_2026q1"]
    # 五（一）: half the booth fee, at most 10万元, the part below one 万元 dropped.
    expected = int(min(Decimal(fee) * Decimal("0.5"), Decimal(10)).to_integral(ROUND_FLOOR))
    assert int(award["claim_wan"]) == expected
    result = explain(run, award["recipient_id"], "--lang", "zh")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert firm["name"] in text
    block = text[text.index("5.1/booth") : text.index("5.1/launch")]
    assert f"booth_fee_2026q1 > 0: {number(fee)} > 0 → 通过" in block
    assert f"min(rate × booth_fee_2026q1, cap) = min(0.5 × {number(fee)}, 10)" in block
    assert f"→ {expected}万元" in block
    assert f"测算金额：{expected}万元" in block
    assert f"奖补金额：{award['award_wan']}万元（awards.csv 第 {row} 行）" in block
    assert "紧约束 资金总额（资金总额，条款 情景）" in block  # the row and family by name
    assert "按比例规则水平" in block
    # The run line names the rule and the status in Chinese, not by their codes.
    assert "分配规则 按比例，求解状态 最优" in text


def test_explain_speaks_the_language_of_the_command_line(run: Run) -> None:
    # explain's own --lang defaults to the group's --lang (and $ALLOCATE_LANG).
    _, award = cut_by_the_fund(run)
    rid = award["recipient_id"]
    zh = invoke("--lang", "zh", "explain", str(run.folder), rid, "--ledger", run.ledger)
    en = invoke("--lang", "en", "explain", str(run.folder), rid, "--ledger", run.ledger)
    assert zh.exit_code == en.exit_code == 0
    assert "测算金额：" in zh.stdout
    assert "  claim: " not in zh.stdout
    assert "  claim: " in en.stdout
    assert "测算金额" not in en.stdout
    # An explicit explain --lang wins over the group's.
    both = invoke(
        "--lang", "en", "explain", str(run.folder), rid, "--ledger", run.ledger, "--lang", "zh"
    )
    assert "测算金额：" in both.stdout


def test_the_same_firm_in_english_and_as_json(run: Run) -> None:
    row, award = cut_by_the_fund(run)
    fee = float(run.firms[award["recipient_id"]]["booth_fee_2026q1"])
    text = explain(run, award["recipient_id"], "--lang", "en").stdout
    assert "binding row fund_cap (fund_cap, clause scenario)" in text
    assert "proportional level" in text
    result = explain(run, award["recipient_id"], "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    (item,) = [i for i in doc["items"] if i["item_key"] == "5.1/booth"]
    (cond,) = [c for c in item["conditions"] if c["id"] == "booth_fee"]
    assert cond["value"] == pytest.approx(fee)
    assert cond["threshold"] == 0
    assert cond["passed"]
    assert item["csv_row"] == row
    assert item["award_wan"] == int(award["award_wan"])
    assert [b["name"] for b in item["binding"]] == ["fund_cap"]
    assert doc["rule"] == "proportional"
    assert doc["levels"]["fund_cap"] > 0


def test_a_credit_code_in_lower_case_or_full_width_is_the_firm(run: Run) -> None:
    # The loader reads a code typed in lower case or full width as the code; so does explain.
    _, award = cut_by_the_fund(run)
    code = award["recipient_id"]
    assert code != code.lower()  # the sample's codes end in a letter or hold one
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)
    for typed in (code.lower(), f" {code.lower()} ", full_width):
        result = explain(run, typed, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["recipient_id"] == code
    # A code that is not in the data is still refused, with the closest ones.
    other = code[:-1] + ("0" if code[-1] != "0" else "1")
    result = explain(run, other.lower())
    assert result.exit_code == 2
    assert "closest" in result.stderr


def test_a_firm_shut_out_by_a_no_duplicate_group(run: Run) -> None:
    items: dict[str, dict[str, dict[str, str]]] = {}
    for r in run.awards:
        if r["item_key"] in ("5.1/booth", "5.1/launch") and int(r["claim_wan"]) > 0:
            items.setdefault(r["recipient_id"], {})[r["item_key"]] = r
    firm, pair = next((f, p) for f, p in items.items() if len(p) == 2)
    unpaid = next(k for k, r in pair.items() if r["award_wan"] == "0")
    paid = next(k for k in pair if k != unpaid)
    # Both items are eligible by the data: a booth fee (and 规上) and a launch-event fee.
    data = run.firms[firm]
    assert Decimal(data["booth_fee_2026q1"]) > 0
    assert Decimal(data["launch_event_fee_2026q1"]) > 0
    said = {"zh": f"不可重复享受组 {GROUP}：已获 {paid}", "en": f"group {GROUP}: paid {paid}"}
    for lang, words in said.items():
        text = explain(run, firm, "--lang", lang).stdout
        start = text.index(f"{unpaid} ")
        block = text[start : text.find("\n\n", start)]
        assert words in block
        # The binding row by its family's name in the reader's language, its ids as they are.
        row = {"zh": "不重复享受", "en": "no_duplicate"}[lang]
        assert f"{row}[{GROUP}][{firm}]" in block
    doc = json.loads(explain(run, firm, "--json").stdout)
    (item,) = [i for i in doc["items"] if i["item_key"] == unpaid]
    assert item["award_wan"] == 0
    assert GROUP in item["groups"]
    assert item["group_paid"] == [
        {"group": GROUP, "item_key": paid, "award_wan": int(pair[paid]["award_wan"])}
    ]


def test_a_district_and_its_summed_growth(run: Run) -> None:
    # 四（二） reads the district's summed output: growth = (Σ 2026 − Σ 2025) × 100 / Σ 2025.
    now = sum(
        Decimal(f["output_2026q1"])
        for f in run.firms.values()
        if f["district"] == "柳南区" and f["output_2026q1"]
    )
    before = sum(
        Decimal(f["output_2025q1"])
        for f in run.firms.values()
        if f["district"] == "柳南区" and f["output_2025q1"]
    )
    growth = float((now - before) * 100 / before)
    doc: dict[str, Any] = json.loads(explain(run, "柳南区", "--json").stdout)
    assert doc["recipient_id"] == "柳南区"
    assert [i["item_key"] for i in doc["items"]] == ["4.2/district"]
    (cond,) = [c for c in doc["items"][0]["conditions"] if c["id"] == "output_growth"]
    assert cond["value"] == pytest.approx(growth, rel=1e-9)
    assert cond["threshold"] == pytest.approx(8.5)
    assert cond["passed"] is (growth >= 8.5)


def test_ineligible_items_are_brief_unless_all(run: Run) -> None:
    _, award = cut_by_the_fund(run)
    brief = explain(run, award["recipient_id"], "--lang", "zh").stdout
    full = explain(run, award["recipient_id"], "--all", "--lang", "zh").stdout
    doc = json.loads(explain(run, award["recipient_id"], "--json").stdout)
    eligible = sum(i["eligible"] for i in doc["items"])
    assert brief.count("公式：") == eligible < len(doc["items"])
    assert "不符合条件的项目：" in brief
    assert full.count("公式：") == len(doc["items"])
    assert "不符合条件的项目：" not in full
    english = explain(run, award["recipient_id"]).stdout  # the suite runs with ALLOCATE_LANG=en
    assert english.count("formula:") == eligible
    assert "Items not eligible:" in english


def test_an_unknown_recipient_lists_close_matches(run: Run) -> None:
    _, award = cut_by_the_fund(run)
    code = award["recipient_id"]
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    result = explain(run, typo)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert repr(typo) in result.stderr
    assert code in result.stderr
    # A firm's registered name is accepted for its code.
    named = explain(run, run.firms[code]["name"], "--json")
    assert json.loads(named.stdout)["recipient_id"] == code


def test_explain_refuses_inputs_that_changed(run: Run, tmp_path: Path) -> None:
    # A copy of the folder whose own copy of the data was changed.
    folder = tmp_path / "copy"
    shutil.copytree(run.folder, folder)
    (data,) = (folder / "inputs").glob("*-data.csv")
    data.write_bytes(data.read_bytes() + b"\n")  # any change of bytes counts
    _, award = cut_by_the_fund(run)
    result = invoke("explain", str(folder), award["recipient_id"], "--ledger", run.ledger)
    assert result.exit_code == 2
    assert "data.csv" in result.stderr
    assert f"copy inputs/{data.name} of the data file data.csv was edited" in result.stderr
