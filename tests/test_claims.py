"""The claims table: formula blocks, aggregation, the application check, rounding, overrides.

Every expectation is computed by hand from the fixture model's numbers
(tests/fixtures/mini-model.yaml) or from the small models built here.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.core.errors import InputError
from allocator.policy.cases import blank_frame, frame_from_records
from allocator.policy.claims import evaluate, floor_wan
from allocator.policy.columns import TABLE_COLUMNS, TEXT_COLUMNS
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

ROOT = Path(__file__).resolve().parents[1]
MINI_PATH = ROOT / "tests" / "fixtures" / "mini-model.yaml"
RAW: dict[str, Any] = yaml.safe_load(MINI_PATH.read_text(encoding="utf-8"))
NAN = math.nan


@pytest.fixture(scope="module")
def mini() -> PolicyModel:
    return load_model(MINI_PATH)


def one_item(item: dict[str, Any], derived: dict[str, Any] | None = None) -> PolicyModel:
    """A model with the mini model's rules and a single award clause "1" holding ``item``."""
    data = copy.deepcopy(RAW)
    data["derived"] = derived or {}
    data["clauses"] = [
        {"id": "1", "label": "（一）", "kind": "award", "title": "t", "quote": "q", "items": [item]}
    ]
    return PolicyModel.model_validate(data)


def assumed(value: object) -> dict[str, Any]:
    return {"value": value, "basis": "assumed", "rationale": "for the test"}


def claims_of(model: PolicyModel, key: str, records: list[dict[str, Any]], **kw: Any) -> Any:
    frame = frame_from_records(records)
    return evaluate(model, frame, kw.get("overrides"), items=[key]).items[key].frame


# --- the table ----------------------------------------------------------------------------


def test_table_has_one_row_per_recipient_and_item_in_order(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [
            {"district": "柳北区", "industry": "steel", "above_scale": True, "output_2026q1": 600},
            {"district": "柳南区", "industry": "模具", "chem_park": "园区", "chem_park_grade": 1},
        ]
    )
    table = evaluate(mini, frame).table
    assert list(table.columns) == list(TABLE_COLUMNS)
    firm_items = ["1/oneoff", "2/booth", "3/growth", "4/scale", "5/vehicles", "6/parts"]
    expected_keys = [k for k in firm_items for _ in range(2)] + ["7/project"] * 2
    expected_keys += ["8/district"] * 2 + ["9/park"]
    assert table["item_key"].tolist() == expected_keys
    # districts come in the schema's order, not the data's
    assert table["recipient_id"].tolist()[-3:] == ["柳南区", "柳北区", "园区"]
    assert table["recipient_id"].tolist()[:2] == ["firm-1", "firm-2"]
    assert table["industry"].tolist()[:2] == ["steel", "mould"]
    assert table["firm_row"].tolist() == [0, 1] * 7 + [-1, -1, -1]
    assert table["recipient_kind"].tolist()[12:] == ["project"] * 2 + ["district"] * 2 + ["park"]
    assert dict(table.dtypes.astype(str)) == {
        "recipient_kind": "category",
        "recipient_id": "category",
        "recipient_name": "category",
        "district": "category",
        "industry": "category",
        "clause_id": "category",
        "item_id": "category",
        "item_key": "category",
        "eligible": "bool",
        "applied": "bool",
        "amount": "float64",
        "claim_wan": "int64",
        "exclusive_group": "category",
        "all_or_nothing": "bool",
        "provincial_type": "category",
        "provincial_applied": "bool",
        "provincial_award_wan": "int64",
        "firm_row": "int64",
    }
    # the codes follow the texts' order, so sorting or grouping a column sorts its texts
    for name in TEXT_COLUMNS:
        categories = table[name].cat.categories.tolist()
        assert categories == sorted(set(table[name].tolist()))
    first = table.iloc[0]
    assert (first.clause_id, first.item_id, first.eligible, first.claim_wan) == (
        "1",
        "oneoff",
        True,
        5,
    )
    assert first.all_or_nothing
    assert first.provincial_type == "holiday"
    assert table.loc[table.item_key == "3/growth", "exclusive_group"].tolist() == ["growth"] * 2
    assert table.loc[table.item_key == "2/booth", "exclusive_group"].tolist() == ["", ""]


def test_firm_row_is_the_position_whatever_the_index(mini: PolicyModel) -> None:
    frame = frame_from_records([{"above_scale": True, "output_2026q1": 600}] * 2)
    frame.index = pd.Index([10, 20])
    table = evaluate(mini, frame, items=["1/oneoff"]).table
    assert table["firm_row"].tolist() == [0, 1]
    assert table["claim_wan"].tolist() == [5, 5]


def test_same_inputs_give_the_same_table(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [{"above_scale": True, "output_2026q1": 700, "district": "柳江区"}] * 3
    )
    pd.testing.assert_frame_equal(evaluate(mini, frame).table, evaluate(mini, frame).table)


# --- formula blocks -----------------------------------------------------------------------


def test_fixed(mini: PolicyModel) -> None:
    detail = claims_of(
        mini,
        "1/oneoff",
        [
            {"above_scale": True, "output_2026q1": 500},
            {"above_scale": True, "output_2026q1": 499.999},
            {"above_scale": False, "output_2026q1": 900},
        ],
    )
    assert detail["claim_wan"].tolist() == [5, 0, 0]
    assert detail["output.value"].tolist() == [500.0, 499.999, 900.0]
    assert detail["output.threshold"].tolist() == [500.0] * 3
    assert detail["applied"].tolist() == [True] * 3  # 免审即享: no application needed


def test_rate_with_cap(mini: PolicyModel) -> None:
    fees = [20.0, 30.0, 19.99, 1.0, 0.0]
    detail = claims_of(
        mini,
        "2/booth",
        [{"above_scale": True, "booth_fee_2026q1": f, "applied_clauses": "2"} for f in fees],
    )
    assert detail["formula.raw"].tolist() == [10.0, 15.0, 9.995, 0.5, 0.0]
    assert detail["formula.capped"].tolist() == [10.0, 10.0, 9.995, 0.5, 0.0]
    assert detail["amount"].tolist() == [10.0, 10.0, 9.995, 0.5, 0.0]
    assert detail["claim_wan"].tolist() == [10, 10, 9, 0, 0]
    assert detail["eligible"].tolist() == [True, True, True, True, False]  # fee 0: not paid


def test_steps_at_exact_thresholds(mini: PolicyModel) -> None:
    # steps [[500, 2], [2000, 5], [10000, 10]]; every firm grows 10%
    outputs = [499.99, 500, 1999.99, 2000, 9999.99, 10000, 99999]
    detail = claims_of(
        mini,
        "3/growth",
        [{"output_2025q1": o / 1.1, "output_2026q1": o, "applied_clauses": "3"} for o in outputs],
    )
    assert detail["eligible"].all()
    assert detail["formula.step"].tolist() == [-1, 0, 0, 1, 1, 2, 2]
    assert detail["claim_wan"].tolist() == [0, 2, 2, 5, 5, 10, 10]


def test_scale_growth_at_band_edges(mini: PolicyModel) -> None:
    # rows from 500 and 5,000万元; columns from 5, 10 and 20%; table [[1, 2, 3], [4, 6, 8]]
    cases = [  # (output 2026, growth %, scale band, growth band, award)
        (500, 5, 0, 0, 1),
        (4999, 10, 0, 1, 2),
        (4999, 20, 0, 2, 3),
        (5000, 5, 1, 0, 4),
        (5000, 19.99, 1, 1, 6),
        (80000, 20, 1, 2, 8),
        (499, 50, -1, 2, 0),
        (5000, 4.99, 1, -1, 0),
    ]
    records = [
        {
            "above_scale": True,
            "output_2026q1": out,
            "output_2025q1": out * 100 / (100 + g),
            "applied_clauses": "4",
        }
        for out, g, *_ in cases
    ]
    detail = claims_of(mini, "4/scale", records)
    assert detail["formula.scale_band"].tolist() == [c[2] for c in cases]
    assert detail["formula.growth_band"].tolist() == [c[3] for c in cases]
    assert detail["claim_wan"].tolist() == [c[4] for c in cases]


def test_per_unit_above(mini: PolicyModel) -> None:
    # 0.001万元 a car above 150,000, capped at 100万元
    volumes = [150000, 150001, 160000, 250000, 400000, 149999]
    detail = claims_of(
        mini,
        "5/vehicles",
        [
            {"vehicle_maker": True, "passenger_vehicles_2025q1": v, "applied_clauses": "5"}
            for v in volumes
        ],
    )
    assert detail["formula.excess"].tolist() == [0, 1, 10000, 100000, 250000, 0]
    assert detail["claim_wan"].tolist() == [0, 0, 10, 100, 100, 0]
    assert detail["eligible"].tolist() == [True] * 5 + [False]


def test_per_item(mini: PolicyModel) -> None:
    detail = claims_of(
        mini,
        "6/parts",
        [
            {"construction_machinery": True, "parts_validated_2025q1": k, "applied_clauses": "6"}
            for k in (0, 1, 2, 3, 4)
        ],
    )
    assert detail["formula.raw"].tolist() == [0, 20, 40, 60, 80]
    assert detail["claim_wan"].tolist() == [0, 20, 40, 60, 60]


def test_negative_and_blank_results_are_zero() -> None:
    model = one_item(
        {
            "id": "export",
            "title": "t",
            "recipient": "enterprise",
            "conditions": [{"id": "exporter", "text": "t", "expr": "export_2025q1 >= 0"}],
            "formula": {"type": "rate", "base": "export_2025q1 - export_2024q1", "rate": "0.1"},
            "requires_application": False,
        }
    )
    detail = claims_of(
        model,
        "1/export",
        [
            {"export_2024q1": 100, "export_2025q1": 50},  # shrank: -5, paid 0
            {"export_2025q1": 50},  # no base: blank, paid 0
            {"export_2024q1": 100, "export_2025q1": 250},
        ],
    )
    assert detail["eligible"].tolist() == [True, True, True]
    assert detail["formula.raw"].tolist()[0] == -5.0
    assert math.isnan(detail["formula.raw"].tolist()[1])
    assert detail["amount"].tolist() == [0.0, 0.0, 15.0]
    assert detail["claim_wan"].tolist() == [0, 0, 15]


def test_a_date_field_reads_as_yyyymmdd() -> None:
    model = one_item(
        {
            "id": "new_plant",
            "title": "t",
            "recipient": "enterprise",
            "conditions": [
                {"id": "since", "text": "2024 年 4 月以来", "expr": "production_start >= 20240401"}
            ],
            "formula": {"type": "fixed", "amount": "3"},
            "requires_application": False,
        }
    )
    detail = claims_of(
        model,
        "1/new_plant",
        [
            {"production_start": "2024-04-01"},
            {"production_start": "2024-03-31"},
            {},
        ],
    )
    assert detail["since.value"].tolist()[:2] == [20240401.0, 20240331.0]
    assert detail["claim_wan"].tolist() == [3, 0, 0]


# --- recipients by group ------------------------------------------------------------------


def test_district_aggregation(mini: PolicyModel) -> None:
    detail = claims_of(
        mini,
        "8/district",
        [
            {"district": "柳北区", "above_scale": True, "output_2025q1": 100,
             "output_2026q1": 130},
            {"district": "柳南区", "above_scale": True, "output_2025q1": 1000,
             "output_2026q1": 1100},
            {"district": "柳南区", "output_2025q1": 1000, "output_2026q1": 1060},
            {"district": "柳南区", "above_scale": True, "output_2026q1": 40},  # no 2025 figure
            {"district": "鹿寨县"},  # no figures at all
        ],
    )  # fmt: skip
    assert detail["recipient_id"].tolist() == ["柳南区", "柳北区", "鹿寨县"]
    # 柳南区: 2,200 over 2,000 is 10%; 柳北区: 30%; 鹿寨县: no figure, blank growth
    assert detail["growth.value"].tolist()[:2] == [10.0, 30.0]
    assert math.isnan(detail["growth.value"].tolist()[2])
    assert detail["firms.value"].tolist() == [2.0, 1.0, 0.0]
    assert detail["claim_wan"].tolist() == [100, 100, 0]
    assert detail["firm_row"].tolist() == [-1, -1, -1]


def test_every_aggregation() -> None:
    model = one_item(
        {
            "id": "park",
            "title": "t",
            "recipient": "park",
            "aggregate": {
                "output_2026q1": "sum",
                "output_2025q1": "max",
                "chem_park_grade": "min",
                "chem_park_smart_upgraded": "any",
                "above_scale": "all",
                "credit_code": "count",
            },
            "conditions": [{"id": "c", "text": "t", "expr": "True"}],
            "formula": {
                "type": "fixed",
                "amount": "output_2026q1 + output_2025q1 / 1000 + chem_park_grade * 100"
                " + chem_park_smart_upgraded * 10000 + above_scale * 100000 + credit_code",
            },
        }
    )
    detail = claims_of(
        model,
        "1/park",
        [
            {"chem_park": "乙园", "district": "鹿寨县", "output_2026q1": 5, "chem_park_grade": 3,
             "above_scale": True, "output_2025q1": 2000},
            {"chem_park": "乙园", "district": "鹿寨县", "output_2026q1": 7, "chem_park_grade": 2,
             "above_scale": True, "chem_park_smart_upgraded": True, "output_2025q1": 1000},
            {"chem_park": "甲园", "district": "柳江区", "output_2026q1": 1, "above_scale": True},
            {"chem_park": "甲园", "district": "柳南区", "above_scale": False},
            {"district": "柳南区", "output_2026q1": 1000},  # in no park
        ],
    )  # fmt: skip
    assert detail["recipient_id"].tolist() == ["乙园", "甲园"]  # parks sorted by name
    # 乙园: sum 12, max 2,000 -> 2, min grade 2 -> 200, any 10,000, all 100,000, two firms
    # 甲园: sum 1, max blank -> the whole amount is blank, hence 0
    assert detail["amount"].tolist() == [12 + 2 + 200 + 10000 + 100000 + 2, 0.0]
    assert math.isnan(detail["formula.amount"].tolist()[1])


def test_a_park_district_is_known_only_when_its_firms_share_one(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [
            {"chem_park": "乙园", "district": "鹿寨县", "chem_park_grade": 1},
            {"chem_park": "乙园", "district": "鹿寨县"},
            {"chem_park": "甲园", "district": "柳江区", "chem_park_grade": 1},
            {"chem_park": "甲园", "district": "柳南区"},
        ]
    )
    table = evaluate(mini, frame, items=["9/park"]).table
    assert table["district"].tolist() == ["鹿寨县", ""]
    assert table["industry"].tolist() == ["", ""]
    assert table["claim_wan"].tolist() == [50, 50]


# --- applications -------------------------------------------------------------------------


def test_application_check_reads_every_separator(mini: PolicyModel) -> None:
    cells = ["2", "1;2", "3；2", "2, 5", "2、6", " 2 ", "5", "", "3;4"]
    detail = claims_of(
        mini,
        "2/booth",
        [{"above_scale": True, "booth_fee_2026q1": 4, "applied_clauses": c} for c in cells],
    )
    assert detail["applied"].tolist() == [True] * 6 + [False] * 3
    assert detail["claim_wan"].tolist() == [2] * 6 + [0] * 3


def test_list_given_as_list(mini: PolicyModel) -> None:
    detail = claims_of(
        mini,
        "2/booth",
        [{"above_scale": True, "booth_fee_2026q1": 4, "applied_clauses": ["5", "2"]}],
    )
    assert detail["applied"].tolist() == [True]


def test_without_an_applied_clauses_column_every_firm_has_applied(mini: PolicyModel) -> None:
    frame = frame_from_records([{"above_scale": True, "booth_fee_2026q1": 4}])
    claims = evaluate(mini, frame.drop(columns=["applied_clauses"]), items=["2/booth"])
    assert claims.table["applied"].tolist() == [True]
    assert claims.table["claim_wan"].tolist() == [2]


@dataclass(frozen=True)
class _Loaded:
    """What allocator.inputs.data.EnterpriseData offers the evaluator: the frame and the fields the
    files had."""

    frame: pd.DataFrame
    present: frozenset[str]


def test_enterprise_data_without_the_column_in_its_files(mini: PolicyModel) -> None:
    frame = frame_from_records([{"above_scale": True, "booth_fee_2026q1": 4}])
    # the loader fills a column no file had with blanks; `present` tells them apart
    data = _Loaded(frame, frozenset(frame.columns) - {"applied_clauses"})
    assert evaluate(mini, data, items=["2/booth"]).table["applied"].tolist() == [True]
    data = _Loaded(frame, frozenset(frame.columns))
    assert evaluate(mini, data, items=["2/booth"]).table["applied"].tolist() == [False]


# --- rounding -----------------------------------------------------------------------------


def test_floor_wan() -> None:
    assert floor_wan([0.29 * 100, 10.999999, 10.9999999, 9.0, -3.0, NAN, 0.4]).tolist() == [
        29,  # 28.999999999999996: binary noise, not a missing yuan
        10,  # a hundredth of a yuan short of 11 is short
        11,  # within a millionth of a 万元 is taken as 11
        9,
        0,
        0,
        0,
    ]
    assert floor_wan([]).dtype == np.int64


def test_rounding_is_applied_once_to_the_amount(mini: PolicyModel) -> None:
    detail = claims_of(
        mini,
        "2/booth",
        [{"above_scale": True, "booth_fee_2026q1": 100, "applied_clauses": "2"}],
        overrides={"2/booth/rate": 0.29, "2/booth/cap": 1000},
    )
    assert detail["amount"].tolist() == [pytest.approx(29.0)]
    assert detail["claim_wan"].tolist() == [29]


# --- provincial awards --------------------------------------------------------------------


def test_provincial_columns(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [
            {"above_scale": True, "booth_fee_2026q1": 20, "applied_clauses": "2",
             "prov_applied_market": True, "prov_award_market": 6.9},
            {"above_scale": True, "booth_fee_2026q1": 20, "applied_clauses": "2"},
        ]
    )  # fmt: skip
    table = evaluate(mini, frame, items=["2/booth", "4/scale"]).table
    booth = table[table.item_key == "2/booth"]
    assert booth["provincial_type"].tolist() == ["market", "market"]
    assert booth["provincial_applied"].tolist() == [True, False]
    assert booth["provincial_award_wan"].tolist() == [6, 0]
    scale = table[table.item_key == "4/scale"]
    assert scale["provincial_type"].tolist() == ["", ""]
    assert scale["provincial_award_wan"].tolist() == [0, 0]


# --- parameters, items, data errors -------------------------------------------------------


def test_overrides_and_params_used(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [{"above_scale": True, "booth_fee_2026q1": 30, "applied_clauses": "2"}]
    )
    claims = evaluate(mini, frame, {"2/booth/cap": 12}, items=["2/booth"])
    assert claims.table["claim_wan"].tolist() == [12]
    assert claims.params.values["2/booth/cap"] == 12
    assert claims.params.basis["2/booth/cap"] == "override"
    assert claims.params.basis["2/booth/rate"] == "document"
    assert claims.model is mini
    with pytest.raises(InputError, match="did you mean '2/booth/cap'"):
        evaluate(mini, frame, {"2/booth/cp": 12})


def test_unknown_item(mini: PolicyModel) -> None:
    with pytest.raises(InputError, match="did you mean '2/booth'"):
        evaluate(mini, blank_frame(1), items=["2/both"])


def test_a_frame_without_a_column_the_model_reads(mini: PolicyModel) -> None:
    frame = blank_frame(2).drop(columns=["booth_fee_2026q1", "chem_park"])
    with pytest.raises(InputError) as info:
        evaluate(mini, frame)
    assert [p.column for p in info.value.problems] == ["booth_fee_2026q1", "chem_park"]
    # items that read neither still evaluate
    assert len(evaluate(mini, frame, items=["1/oneoff"]).table) == 2


def test_a_column_of_the_wrong_dtype(mini: PolicyModel) -> None:
    frame = blank_frame(1)
    frame["above_scale"] = ["yes"]
    with pytest.raises(InputError, match="column 'above_scale' of kind bool"):
        evaluate(mini, frame, items=["1/oneoff"])


def test_no_firms(mini: PolicyModel) -> None:
    claims = evaluate(mini, blank_frame(0))
    assert len(claims.table) == 0
    assert list(claims.table.columns) == list(TABLE_COLUMNS)


def test_the_detail_of_an_item(mini: PolicyModel) -> None:
    frame = frame_from_records(
        [{"output_2025q1": 1000, "output_2026q1": 1100, "applied_clauses": "3"}]
    )
    evaluation = evaluate(mini, frame).items["3/growth"]
    assert evaluation.conditions == ("growth",)
    assert evaluation.intermediates == ("on", "step", "step_from")
    assert evaluation.formula_type == "steps"
    assert len(evaluation) == 1
    assert list(evaluation.frame.columns) == [
        "recipient_id",
        "recipient_name",
        "firm_row",
        "growth.value",
        "growth.threshold",
        "growth.result",
        "applied",
        "eligible",
        "formula.on",
        "formula.step",
        "formula.step_from",
        "amount",
        "claim_wan",
    ]
    row = evaluation.frame.iloc[0]
    assert (row["growth.value"], row["growth.threshold"], row["claim_wan"]) == (10.0, 5.0, 2)


# --- test frames --------------------------------------------------------------------------


def test_frame_from_records_fills_blanks() -> None:
    frame = frame_from_records([{"industry": "钢铁", "district": "北部生态新区"}, {}])
    assert frame["industry"].tolist() == ["steel", ""]
    assert frame["district"].tolist() == ["阳和工业新区", ""]
    assert frame["credit_code"].tolist() == ["firm-1", "firm-2"]
    assert frame["above_scale"].dtype == np.bool_
    assert frame["output_2026q1"].isna().all()
    assert str(frame["production_start"].dtype) == "datetime64[ns]"


def test_frame_from_records_refuses_what_it_cannot_read() -> None:
    with pytest.raises(InputError) as info:
        frame_from_records([{"outptu_2026q1": 1}, {"above_scale": "yes", "industry": "stel"}])
    found = [(p.key, p.expected) for p in info.value.problems]
    assert found == [
        ("[0].outptu_2026q1", "a field of the data schema; did you mean 'output_2026q1'?"),
        ("[1].industry", "one of the values of industry; did you mean 'steel'?"),
        ("[1].above_scale", "true or false"),
    ]


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    fees=st.lists(
        st.one_of(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.just(NAN)),
        min_size=1,
        max_size=20,
    ),
    applied=st.booleans(),
)
def test_a_claim_is_the_floor_of_its_amount(fees: list[float], applied: bool) -> None:
    model = load_model(MINI_PATH)
    records = [
        {"above_scale": True, "booth_fee_2026q1": None if math.isnan(f) else f,
         "applied_clauses": "2" if applied else ""}
        for f in fees
    ]  # fmt: skip
    detail = claims_of(model, "2/booth", records)
    amount, claim = detail["amount"].to_numpy(), detail["claim_wan"].to_numpy()
    assert ((claim <= amount + 1e-6) & (amount < claim + 1)).all()
    assert (amount <= 10).all()
    assert (claim[~detail["eligible"].to_numpy()] == 0).all()
    for fee, got in zip(fees, claim, strict=True):
        expected = 0 if math.isnan(fee) or fee == 0 or not applied else min(fee * 0.5, 10)
        assert got == math.floor(round(expected, 6))


# --- the integer domain -------------------------------------------------------------------


def uncapped_rate() -> PolicyModel:
    return one_item(
        {
            "id": "fee",
            "title": "t",
            "recipient": "enterprise",
            "conditions": [],
            "formula": {"type": "rate", "base": "booth_fee_2026q1", "rate": "rate"},
            "params": {"rate": assumed(0.5)},
        }
    )


def test_a_claim_beyond_2_to_the_52_is_refused_naming_the_parameter() -> None:
    # 1e11万元 × 1e12 = 1e23万元: floored to int64 it would wrap round to a negative claim.
    frame = frame_from_records([{"booth_fee_2026q1": 1e11, "applied_clauses": "1"}])
    with pytest.raises(InputError) as info:
        evaluate(uncapped_rate(), frame, {"1/fee/rate": 1e12})
    (p,) = info.value.problems
    assert (p.file, p.key) == ("item 1/fee", "1/fee/rate")
    assert "a claim of at most 4,503,599,627,370,496万元 (2^52)" in p.expected
    assert "1e+23万元" in p.found
    assert "1/fee/rate = 1e+12 (override)" in p.found


def test_the_largest_claim_the_domain_holds_is_kept_whole() -> None:
    # 2^52 exactly: a whole float64, kept to the 万元.
    frame = frame_from_records([{"booth_fee_2026q1": 2.0**53, "applied_clauses": "1"}])
    table = evaluate(uncapped_rate(), frame).table
    assert table["claim_wan"].tolist() == [2**52]


@pytest.mark.parametrize("value", [1.0e300, -1.0e13, 1.0e19])
def test_an_override_beyond_the_data_range_is_refused(value: object) -> None:
    frame = frame_from_records([{"booth_fee_2026q1": 1.0}])
    with pytest.raises(InputError) as info:
        evaluate(uncapped_rate(), frame, {"1/fee/rate": value})
    assert "numbers from -1e+12 to 1e+12" in str(info.value)
