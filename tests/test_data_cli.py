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
    assert "绿色食品加工（含螺蛳粉） (green_food)" in out
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
