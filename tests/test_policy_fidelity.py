"""Policy fidelity (issue 15, items 1, 2 and 4): each case with its input, the award or message
before, and the award or message now. Items 3, 5 and 6 are clause cases under tests/clauses/
(2026 六, 2025 （十）, 2026 三（九））.

Amounts are computed by hand from the documents' numbers and the models' stated defaults:
2026 六 0.25% of the sales increase; 2026 七 30% of the interest (assumed); 2026 八 5万元
(assumed); 2026 五（一） 50% of booth fees up to 10万元; 2025 （一） 3万元 for a Q1 2025 output of
2,000-5,000万元 (assumed table); 2025 （三） 5万元 (assumed).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.inputs.data import load_enterprises
from allocator.policy.cases import frame_from_records
from allocator.policy.claims import evaluate
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

ROOT = Path(__file__).resolve().parents[1]
MODEL_2025 = ROOT / "models" / "liuzhou-2025-q1.yaml"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"


@pytest.fixture(scope="module")
def m2026() -> PolicyModel:
    return load_model(MODEL_2026)


def _firms(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows of a data file: identity from the sample (valid credit codes), the rest given."""
    sample = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, nrows=len(rows))
    base = {"industry": "other_manufacturing", "above_scale": "是", "manufacturing": "是"}
    out = []
    for k, row in enumerate(rows):
        ident = {c: sample.loc[k, c] for c in ("credit_code", "name", "district")}
        out.append({**ident, **base, **row})
    return pd.DataFrame(out)


def _run(tmp_path: Path, model: Path, rows: list[dict[str, object]], **keys: object) -> Result:
    _firms(rows).to_csv(tmp_path / "data.csv", index=False)
    body = {"name": "t", "model": str(model), "data": "data.csv", **keys}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return CliRunner().invoke(
        main, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), "-q"]
    )


def _awards(tmp_path: Path) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "out" / "awards.csv", dtype={"clause_id": str})


# --- item 1: application ids tied to their document -----------------------------------------

# 2026 六 (sales increase 4,000万元 x 0.25% = 10), 七 (interest 10 x 30% = 3), 八 (5).
SIX_SEVEN_EIGHT = {
    "sales_co_sales_2025q1": 1000,
    "sales_co_sales_2026q1": 5000,
    "loan_listed": True,
    "loan_interest_2026q1": 10,
    "first_time_reporting": True,
    "revenue_2025": 2500,
}
ITEMS_678 = ["6/sales_company", "7/interest", "8/new_above_scale"]


def _paid_678(model: PolicyModel, record: dict[str, object]) -> int:
    frame = frame_from_records([{**SIX_SEVEN_EIGHT, **record}])
    table = evaluate(model, frame, items=ITEMS_678).table
    return int(table["claim_wan"].where(table["eligible"], 0).sum())


def test_2025_ids_no_longer_claim_2026_clauses(m2026: PolicyModel) -> None:
    # Before: one column "applied_clauses" read by both models; "6;7;8", meant as 2025's
    # （六）（七）（八）, claimed 10 + 3 + 5 = 18万元 under 2026 六、七、八. Now the 2025
    # applications are in the 2025 column, which the 2026 model never reads.
    assert _paid_678(m2026, {"applied_clauses_2025q1": "6;7;8"}) == 0
    assert _paid_678(m2026, {"applied_clauses_2026q1": "6;7;8"}) == 18


def test_labels_name_the_same_clauses(m2026: PolicyModel) -> None:
    assert _paid_678(m2026, {"applied_clauses_2026q1": "六；七、八"}) == 18
    frame = frame_from_records(
        [{"above_scale": True, "booth_fee_2025q1": 8, "applied_clauses_2025q1": "（十一）"}]
    )
    table = evaluate(load_model(MODEL_2025), frame, items=["11/booth"]).table
    assert table["claim_wan"].tolist() == [4]


def test_a_clause_that_pays_nothing_is_refused_too(m2026: PolicyModel) -> None:
    # 九（一） is a measure and 十一（三） a rule: nothing to apply for, most likely a slip.
    frame = frame_from_records([{"applied_clauses_2026q1": "5.1;9.1;十一（三）"}])
    with pytest.raises(InputError) as info:
        evaluate(m2026, frame, items=["5.1/booth"])
    assert info.value.problems[0].found == "'9.1', '十一（三）'"


def test_an_id_the_model_lacks_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    # Before: "11;12" in a 2026 run was silently ignored (the firm simply had not applied).
    rows: list[dict[str, object]] = [
        {"applied_clauses_2026q1": "5.1"},
        {"applied_clauses_2026q1": "11;12", "booth_fee_2026q1": 8},
    ]
    result = _run(tmp_path, MODEL_2026, rows, budget_wan=100)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "row 3" in result.output
    assert "column '申报条款（2026年一季度）'" in result.output
    assert "'11', '12'" in result.output
    assert "row 2" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_filled_column_without_its_document_is_refused(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"applied_clauses": "5.1"}]
    result = _run(tmp_path, MODEL_2026, rows, budget_wan=100)
    assert result.exit_code == 2, result.output
    assert "column '申报条款'" in result.output
    assert "申报条款（2026年一季度）" in result.output
    assert not (tmp_path / "out").exists()


def test_the_shipped_sample_keeps_each_documents_applications_apart() -> None:
    data = load_enterprises(SAMPLE)
    frame = data.frame
    assert (frame["applied_clauses"] == "").all()
    for model_path, column in (
        (MODEL_2025, "applied_clauses_2025q1"),
        (MODEL_2026, "applied_clauses_2026q1"),
    ):
        model = load_model(model_path)
        assert model.applications == column
        ids = {c.id for c in model.clauses}
        used = {t for cell in frame[column] for t in cell.split(";") if t}
        assert used
        assert used <= ids
        evaluate(model, data, items=[f"{c.id}/{i.id}" for c, i in model.items()[:1]])


def test_a_model_column_that_is_not_a_list_field_is_refused(tmp_path: Path) -> None:
    text = MODEL_2026.read_text(encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(text.replace("applications: applied_clauses_2026q1", "applications: name"))
    with pytest.raises(InputError, match="a list field of the data schema"):
        load_model(path)


# --- item 2: 2026 十一（三） with a provincial application but no amount ----------------------

BOOTH = {"booth_fee_2026q1": 20, "applied_clauses_2026q1": "5.1", "prov_applied_market": "是"}


def test_a_provincial_application_without_amount_is_held(tmp_path: Path) -> None:
    # Before: with no provincial amount on file the rule did not apply and the firm was paid
    # its full 10万元 (50% of 20) beside whatever the province pays. Now: held at 0, with the
    # reason in awards.csv.
    result = _run(tmp_path, MODEL_2026, [BOOTH], budget_wan=100)
    assert result.exit_code == 0, result.output
    row = _awards(tmp_path).set_index("item_key").loc["5.1/booth"]
    assert (row["claim_wan"], row["award_wan"]) == (10, 0)
    assert "amount not on file" in row["reason"]


def test_with_the_amount_on_file_the_better_of_the_two_is_paid(tmp_path: Path) -> None:
    result = _run(tmp_path, MODEL_2026, [{**BOOTH, "prov_award_market": 4}], budget_wan=100)
    assert result.exit_code == 0, result.output
    row = _awards(tmp_path).set_index("item_key").loc["5.1/booth"]
    assert (row["claim_wan"], row["award_wan"]) == (10, 6)


def test_the_scenario_may_refuse_the_row_instead(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"applied_clauses_2026q1": "5.1"}, BOOTH]
    result = _run(tmp_path, MODEL_2026, rows, budget_wan=100, provincial_without_amount="refuse")
    assert result.exit_code == 2, result.output
    assert "row 3" in result.output
    assert "column '自治区开拓市场类奖补金额'" in result.output
    assert "5.1/booth" in result.output
    assert not (tmp_path / "out").exists()


def test_the_2025_rule_needs_no_amount(tmp_path: Path) -> None:
    # 2025 （二十）: the application alone excludes the city award; refuse has nothing to ask.
    row = {"booth_fee_2025q1": 8, "applied_clauses_2025q1": "11", "prov_applied_market": "是"}
    result = _run(tmp_path, MODEL_2025, [row], provincial_without_amount="refuse")
    assert result.exit_code == 0, result.output
    award = _awards(tmp_path).set_index("item_key").loc["11/booth"]
    assert (award["claim_wan"], award["award_wan"]) == (4, 0)


# --- item 4: no no-duplicate group the texts do not state -------------------------------------

BOTH = {
    "industry": "machinery",
    "output_2023q1": 900,
    "output_2024q1": 1000,
    "output_2025q1": 2000,
    "production_start": "2024-06-15",
    "applied_clauses_2025q1": "1;3",
}


def test_a_firm_meeting_2025_one_and_three_gets_both(tmp_path: Path) -> None:
    # Before: growth_award let the firm take one of （一） 3万元 and （三） 5万元. Now both, as
    # （二十） "各条政策可以叠加享受" says: 8万元.
    result = _run(tmp_path, MODEL_2025, [BOTH])
    assert result.exit_code == 0, result.output
    awards = _awards(tmp_path).set_index("item_key")
    assert awards.loc["1/growth", "award_wan"] == 3
    assert awards.loc["3/new_plant", "award_wan"] == 5
    constraints = pd.read_csv(tmp_path / "out" / "constraints.csv")
    assert not constraints["name"].str.startswith("no_duplicate").any()


def test_a_scenario_may_still_join_them_as_an_assumption(tmp_path: Path) -> None:
    group = {"name": "growth_award", "items": ["1/growth", "3/new_plant"]}
    result = _run(tmp_path, MODEL_2025, [BOTH], exclusive_groups=[group])
    assert result.exit_code == 0, result.output
    assert _awards(tmp_path)["award_wan"].sum() == 5


# --- properties of the application column ----------------------------------------------------

_SEPARATORS = st.sampled_from([";", "；", ",", "，", "、", " ", " ; "])


@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_any_ids_or_labels_of_the_model_are_read_as_its_clauses(
    m2026: PolicyModel, data: st.DataObject
) -> None:
    award = [c for c in m2026.clauses if c.kind == "award"]
    chosen = data.draw(st.lists(st.sampled_from(award), max_size=6))
    names = [data.draw(st.sampled_from([c.id, c.label])) for c in chosen]
    cell = "".join(n + data.draw(_SEPARATORS) for n in names)
    frame = frame_from_records([{"applied_clauses_2026q1": cell}])
    needs = [
        f"{c.id}/{i.id}"
        for c, i in m2026.items()
        if i.requires_application and i.recipient in ("enterprise", "project")
    ]
    table = evaluate(m2026, frame, items=needs).table
    applied = set(table.loc[table["applied"], "clause_id"])
    assert applied == {c.id for c in chosen} & set(table["clause_id"])


@given(token=st.text(alphabet="0123456789.一二三四五六七八九十（）()", min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_a_token_the_model_lacks_is_always_refused(m2026: PolicyModel, token: str) -> None:
    award = [c for c in m2026.clauses if c.kind == "award"]
    known = {c.id for c in award} | {c.label for c in award}
    known |= {c.label.replace("（", "(").replace("）", ")") for c in award}
    frame = frame_from_records([{"applied_clauses_2026q1": f"5.1;{token}"}])
    if token in known:
        evaluate(m2026, frame, items=["5.1/booth"])
        return
    with pytest.raises(InputError) as info:
        evaluate(m2026, frame, items=["5.1/booth"])
    assert info.value.problems[0].column == "申报条款（2026年一季度）"
    assert repr(token) in info.value.problems[0].found
