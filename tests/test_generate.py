"""The synthetic population: reproducible, labelled, consistent with industries, fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.inputs import creditcode
from allocator.inputs.data import load_enterprises
from allocator.inputs.export import csv_bytes, format_of, parquet_bytes, xlsx_bytes
from allocator.inputs.firms import CLAUSES_2025, CLAUSES_2026, MARKER
from allocator.inputs.generate import generate_population
from allocator.inputs.schema import DISTRICTS, FIELDS, INDUSTRIES

SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "liuzhou-sample.csv"


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return generate_population(1500, 2025)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = csv_bytes(generate_population(300, 11))
    assert a == csv_bytes(generate_population(300, 11))
    assert a != csv_bytes(generate_population(300, 12))


@pytest.mark.parametrize("render", [xlsx_bytes, parquet_bytes])
def test_other_formats_are_reproducible(render: Callable[[pd.DataFrame], bytes]) -> None:
    frame = generate_population(40, 5)
    first = render(frame)
    time.sleep(1.1)  # a timestamp in the file would now differ
    assert render(generate_population(40, 5)) == first


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_every_format_loads_back_to_the_same_frame(tmp_path: Path, suffix: str) -> None:
    frame = generate_population(120, 3)
    out = tmp_path / f"firms{suffix}"
    result = CliRunner().invoke(
        main, ["generate", "--enterprises", "120", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = load_enterprises(out)
    pd.testing.assert_frame_equal(data.frame, frame)
    assert data.warnings == ()


@pytest.mark.change_detector
def test_shipped_sample_is_what_the_command_writes(tmp_path: Path) -> None:
    out = tmp_path / "again.csv"
    result = CliRunner().invoke(
        main, ["generate", "--enterprises", "1500", "--seed", "2025", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == SAMPLE.read_bytes(), (
        "scenarios/data/liuzhou-sample.csv is stale; regenerate it with\n"
        "  allocate generate --enterprises 1500 --seed 2025 --out "
        "scenarios/data/liuzhou-sample.csv"
    )


def test_sample_is_utf8_with_english_headers() -> None:
    text = SAMPLE.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    assert text.splitlines()[0].split(",") == [f.name for f in FIELDS]
    assert len(text.splitlines()) == 1501


def test_every_firm_is_marked_synthetic(people: pd.DataFrame) -> None:
    assert people["name"].str.endswith(MARKER).all()
    assert people["name"].is_unique
    parks = people.loc[people["chem_park"] != "", "chem_park"]
    assert parks.str.endswith(MARKER).all()


def test_codes_are_valid_distinct_and_match_the_district(people: pd.DataFrame) -> None:
    codes = people["credit_code"]
    assert creditcode.validate_series(codes).all()
    assert codes.is_unique
    divisions = people["district"].map(creditcode.DIVISION_CODES)
    assert (codes.str[2:8] == divisions).all()


def test_all_districts_and_industries_are_present(people: pd.DataFrame) -> None:
    assert set(people["district"]) == set(DISTRICTS)
    assert set(people["industry"]) == set(INDUSTRIES)
    counts = people["district"].value_counts()
    heavy = ["柳东新区", "柳南区", "柳北区", "柳江区", "鱼峰区"]
    counties = ["融安县", "融水苗族自治县", "三江侗族自治县"]
    assert counts[heavy].min() > counts[counties].max()


def test_industry_shares_are_exact(people: pd.DataFrame) -> None:
    counts = people["industry"].value_counts()
    # 1,500 × 21% = 315 parts makers, 1,500 × 1.5% = 22.5 → 22 or 23 vehicle makers
    assert counts["auto_parts"] in (314, 315, 316)
    assert counts["auto_vehicle"] in (22, 23)
    assert counts["steel"] == 18


def test_flags_and_volumes_follow_the_industry(people: pd.DataFrame) -> None:
    ind = people["industry"]

    def only_in(column: str, *industries: str) -> None:
        col = people[column]
        has = col if col.dtype == bool else col.notna()
        assert set(ind[has]) <= set(industries), column
        assert has.any(), column

    only_in("vehicle_maker", "auto_vehicle")
    only_in("passenger_vehicles_2025q1", "auto_vehicle")
    only_in("commercial_vehicles_2025q1", "auto_vehicle")
    only_in("special_steel_share_2025q1", "steel")
    only_in("steel_normative", "steel")
    only_in("construction_machinery", "machinery")
    only_in("battery_cells_2026q1", "new_energy")
    only_in("ai_units_2026q1", "ai_robotics")
    only_in("shale_gas_2026q1", "shale_gas")
    only_in("key_metal_fixed_assets", "nonferrous")
    only_in("ne_machine_sales_2025q1", "machinery")
    only_in("parcels_2025q1", "green_food")
    assert set(people.loc[people["parcels_2025q1"].notna(), "main_product"]) == {"luosifen"}
    assert set(people.loc[people["main_product"] == "tcm", "industry"]) == {"biomedicine"}
    chem = people["chem_park"] != ""
    assert (
        people.loc[chem, "industry"]
        .isin(["chemical", "daily_chemical", "new_energy", "biomedicine"])
        .all()
    )
    assert not people.loc[~chem, "chem_park_smart_upgraded"].any()
    assert people.loc[~chem, "chem_park_grade"].isna().all()


def test_growth_is_correlated_and_power_follows_output(people: pd.DataFrame) -> None:
    growth24 = people["output_2024q1"] / people["output_2023q1"] - 1
    growth25 = people["output_2025q1"] / people["output_2024q1"] - 1
    assert growth24.corr(growth25) > 0.15
    logs = np.log(people[["output_2026q1", "power_2025q4"]].dropna())
    assert logs.corr().iloc[0, 1] > 0.8


def test_output_is_heavy_tailed(people: pd.DataFrame) -> None:
    out = people["output_2025q1"].dropna().sort_values(ascending=False)
    assert out.head(len(out) // 100).sum() > 0.3 * out.sum()  # the top 1% make over 30%
    assert out.median() < out.mean() / 3


def test_new_plants_have_no_base(people: pd.DataFrame) -> None:
    start = people["production_start"]
    new = (start >= "2024-04-01") & (start <= "2025-03-31")
    assert new.sum() > 30
    assert people.loc[new, "output_2024q1"].isna().all()
    assert people.loc[new, "output_2025q1"].notna().all()
    first = people["first_time_reporting"]
    assert people.loc[first, "output_2025q1"].isna().all()
    assert people.loc[first, "output_2026q1"].notna().all()


def test_applied_clauses_name_both_documents(people: pd.DataFrame) -> None:
    # One column per document, so that "6" in one never means the other's clause 6.
    assert (people["applied_clauses"] == "").all()
    cells25, cells26 = people["applied_clauses_2025q1"], people["applied_clauses_2026q1"]
    assert ((cells25 != "") | (cells26 != "")).mean() > 0.8
    used25 = {c for cell in cells25 for c in cell.split(";") if c}
    used26 = {c for cell in cells26 for c in cell.split(";") if c}
    assert used25 <= set(CLAUSES_2025)
    assert used26 <= set(CLAUSES_2026)
    assert {"4", "5", "8", "13"} <= used25
    assert {"1.2", "3.9", "8"} <= used26
    steel = people["industry"] == "steel"
    assert cells25[steel].str.split(";").map(lambda c: "5" in c).sum() >= 5


def test_format_of() -> None:
    assert format_of("a.CSV") == "csv"
    assert format_of("a.bin", "parquet") == "parquet"
    with pytest.raises(ValueError, match="cannot tell the format"):
        format_of("a.txt")
    with pytest.raises(ValueError, match="format must be one of"):
        format_of("a.csv", "json")


def test_cli_refuses_an_unknown_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert "cannot tell the format" in result.output
    assert not (tmp_path / "x.txt").exists()


def test_cli_replaces_the_file_in_one_step(tmp_path: Path) -> None:
    out = tmp_path / "firms.csv"
    out.write_text("old")
    result = CliRunner().invoke(
        main, ["generate", "--enterprises", "10", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0
    assert out.read_bytes() == csv_bytes(generate_population(10, 2025))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["firms.csv"]  # no temporary left


@pytest.mark.slow
def test_100000_firms_are_written_and_load_back(tmp_path: Path) -> None:
    # How fast belongs to `make bench` (docs/performance.md); here: that it works at scale.
    result = CliRunner().invoke(
        main, ["generate", "--enterprises", "100000", "--out", str(tmp_path / "big.csv")]
    )
    assert result.exit_code == 0, result.output
    data = load_enterprises(tmp_path / "big.csv")
    assert len(data) == 100_000
    assert data.frame["credit_code"].is_unique
