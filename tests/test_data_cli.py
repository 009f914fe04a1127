"""allocate validate: a summary of good files, every problem of bad ones (exit code 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from allocator.cli import main

Record = dict[str, object]


def test_summary(firm: Callable[..., Record], write_records) -> None:
    path = write_records(
        firm(extra="x"),
        firm("91110000600037341L", district="鹿寨县", industry="green_food"),
        firm("91440300708461136T", district="鹿寨县"),
    )
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "3 firms; 6 of 87 fields present; absent: main_product" in out
    assert "鹿寨县" in out
    assert "绿色食品加工（含螺蛳粉）" in out
    assert "columns not in the schema are ignored: 'extra'" in result.stderr


def test_summary_as_json(firm: Callable[..., Record], write_records) -> None:
    path = write_records(firm(), firm("91110000600037341L", district="鹿寨县"))
    result = CliRunner().invoke(main, ["validate", "--json", str(path)])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["rows"] == 2
    assert summary["districts"]["鹿寨县"] == 1
    assert summary["districts"]["柳东新区"] == 1
    assert summary["districts"]["城中区"] == 0
    assert summary["industries"]["machinery"] == 2
    assert summary["files"][0]["rows"] == 2
    assert len(summary["files"][0]["sha256"]) == 64
    assert len(summary["fields_present"]) + len(summary["fields_absent"]) == 87


def test_errors_exit_2_with_every_problem(firm: Callable[..., Record], write_records) -> None:
    one = write_records(firm(output_2025q1="abc"), name="one.csv")
    two = write_records(firm(district="桂林"), name="two.csv")
    result = CliRunner().invoke(main, ["validate", str(one), str(two)])
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("allocate: 3 problems:")
    assert f"{one}, row 2, column 'output_2025q1': expected an amount in 万元" in err
    assert f"{two}, row 2, column 'district'" in err
    assert f"{two}, row 2, column 'credit_code': expected a credit code no other firm has; " \
        f"{one} row 2 has it too" in err  # fmt: skip
    assert "Traceback" not in err


def test_validate_needs_a_file() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2


def test_shipped_sample_validates() -> None:
    sample = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "liuzhou-sample.csv"
    result = CliRunner().invoke(main, ["validate", "--json", str(sample)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 1500
    assert summary["fields_absent"] == []
    assert min(summary["districts"].values()) > 20


def test_districts_and_industries_are_two_tables(
    firm: Callable[..., Record], write_records
) -> None:
    path = write_records(
        firm(),
        firm("91110000600037341L", district="鹿寨县", industry="green_food"),
        firm("91440300708461136T", district="鹿寨县"),
    )
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Firms by district" in out
    assert "Firms by industry" in out
    districts = out[out.index("Firms by district") : out.index("Firms by industry")]
    industries = out[out.index("Firms by industry") :]
    # Each row of a table holds one name and its count, and no name of the other table.
    rows = {line.split("│")[1].strip(): line.split("│")[-2].strip()
            for line in districts.splitlines() if line.count("│") == 3}  # fmt: skip
    assert rows["鹿寨县"] == "2"
    assert rows["柳东新区"] == "1"
    assert rows["城中区"] == "0"
    assert "machinery" not in districts
    assert "green_food" in industries
    assert "鹿寨县" not in industries
    cells = [
        [c.strip() for c in line.split("│")[1:-1]]
        for line in industries.splitlines()
        if line.count("│") == 4
    ]
    by_code = {code: n for _, code, n in cells}
    assert (by_code["machinery"], by_code["green_food"], by_code["steel"]) == ("2", "1", "0")


def test_a_file_without_firms_is_refused_with_what_a_run_needs(write_csv) -> None:
    header = write_csv([["credit_code", "name", "district", "industry", "above_scale",
                         "manufacturing"]], name="header.csv")  # fmt: skip
    result = CliRunner().invoke(main, ["validate", str(header)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"allocate: {header}: expected at least one firm: a row under the header row "
        "(found no firm rows)\n"
    )


def test_an_empty_file_beside_a_full_one_is_named(
    firm: Callable[..., Record], write_records, write_csv
) -> None:
    full = write_records(firm(), name="full.csv")
    header = write_csv([["credit_code", "name", "district", "industry", "above_scale",
                         "manufacturing"]], name="header.csv")  # fmt: skip
    result = CliRunner().invoke(main, ["validate", str(full), str(header)])
    assert result.exit_code == 0, result.output
    assert f"warning: {header}: expected at least one firm" in result.stderr
    assert "1 firms;" in result.stdout
