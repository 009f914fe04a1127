"""``allocate sweep``: parsing of --vary, the grid of variants, the folder, and whole sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.inputs.export import write_population
from allocator.inputs.generate import generate_population
from allocator.pipeline import batch
from allocator.pipeline.sweep import ERROR, ROW_COLUMNS, SWEEP_CSV, SWEEP_SVG, run_sweep
from allocator.pipeline.vary import (
    Variant,
    key_path,
    parse_values,
    parse_vary,
    variant_document,
    variants,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2025 = ROOT / "scenarios" / "liuzhou-2025-q1.yaml"
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# --------------------------------------------------------------------------------------------
# Values


def test_budget_range_includes_the_stop_on_the_grid() -> None:
    values = parse_values("3000:8000:500")
    assert values == tuple(range(3000, 8001, 500))
    assert len(values) == 11
    assert all(type(v) is int for v in values)


def test_decimal_range_has_no_binary_drift() -> None:
    assert parse_values("0.3:0.6:0.1") == (0.3, 0.4, 0.5, 0.6)


def test_range_stop_off_the_grid_is_left_out() -> None:
    assert parse_values("1:10:4") == (1, 5, 9)


def test_comma_list_reads_scalars_as_yaml() -> None:
    assert parse_values("priority, proportional") == ("priority", "proportional")
    assert parse_values("500") == (500,)
    assert parse_values("20,0.5,true") == (20, 0.5, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5:1:1", "stop not below start"),
        ("1:5:0", "positive step"),
        ("a:b:c", "start:stop:step of numbers"),
        ("1,,2", "comma list"),
        ("", "comma list"),
        ("0:5000:1", "at most 1000 values"),
    ],
)
def test_bad_values(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_values(text, key="budget_wan")


# --------------------------------------------------------------------------------------------
# Key paths


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("budget_wan", ("budget_wan",)),
        ("fairness.rule", ("fairness", "rule")),
        ("firm_cap_wan", ("firm_cap_wan",)),
        ("overrides.5.1/booth/rate", ("overrides", "5.1/booth/rate")),
        ("overrides[5.1/booth/rate]", ("overrides", "5.1/booth/rate")),
        ("weights.clauses.3.9", ("weights", "clauses", "3.9")),
        ("district_caps.柳南区", ("district_caps", "柳南区")),
        ("sub_budgets[0].budget_wan", ("sub_budgets", 0, "budget_wan")),
        ("sub_budgets.1.budget_wan", ("sub_budgets", 1, "budget_wan")),
        ("weights.contribution.growth", ("weights", "contribution", "growth")),
    ],
)
def test_key_paths(key: str, path: tuple[Any, ...]) -> None:
    assert key_path(key) == path


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("budget", r"expected a key of the scenario \(name, notes, model"),
        ("fairness.rules", r"\(rule, rounding, one_offs\) \(found 'rules'\)"),
        ("name", "the sweep sets for each variant"),
        ("output_dir", "the sweep sets for each variant"),
        ("budget_wan.x", "nothing after"),
        ("sub_budgets.x", "a list position"),
    ],
)
def test_bad_keys(key: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        key_path(key)
    assert f"key '{key}'" in str(err.value)


@pytest.mark.parametrize(
    ("short", "key"),
    [("budget", "budget_wan"), ("rule", "fairness.rule"), ("engine", "solver.solver")],
)
def test_short_keys_stand_for_their_scenario_keys(short: str, key: str) -> None:
    value = {"budget": "3000:4000:500", "rule": "talmud", "engine": "highs"}[short]
    vary = parse_vary(f"{short}={value}")
    assert vary.key == key
    assert vary.path == key_path(key)


def test_parse_vary_needs_an_equals_sign() -> None:
    with pytest.raises(InputError, match="KEY=VALUES"):
        parse_vary("budget_wan")
    vary = parse_vary("overrides.5.1/booth/rate=0.3:0.6:0.1")
    assert vary.path == ("overrides", "5.1/booth/rate")
    assert vary.values == (0.3, 0.4, 0.5, 0.6)


# --------------------------------------------------------------------------------------------
# The grid and the variant files


def test_variants_are_the_product_first_key_slowest() -> None:
    grid = variants([parse_vary("budget_wan=100,200"), parse_vary("fairness.rule=priority,talmud")])
    assert [v.name for v in grid] == [
        "01_budget_wan=100_fairness.rule=priority",
        "02_budget_wan=100_fairness.rule=talmud",
        "03_budget_wan=200_fairness.rule=priority",
        "04_budget_wan=200_fairness.rule=talmud",
    ]
    assert grid[1].values == (("budget_wan", 100), ("fairness.rule", "talmud"))


def test_variant_names_are_safe_folder_names() -> None:
    (v,) = variants([parse_vary("overrides.5.1/booth/rate=0.4")])
    assert v.name == "01_overrides.5.1-booth-rate=0.4"


def test_a_key_varied_twice_is_refused() -> None:
    with pytest.raises(InputError, match="each key once"):
        variants([parse_vary("budget_wan=1,2"), parse_vary("budget_wan=3")])


def test_variant_document(tmp_path: Path) -> None:
    raw = {
        "name": "base",
        "model": "../models/m.yaml",
        "data": ["data/a.csv", "/abs/b.csv"],
        "output_dir": "elsewhere",
        "sub_budgets": [{"name": "s", "clauses": ["1"], "budget_wan": 5}],
    }
    varies = [parse_vary("sub_budgets[0].budget_wan=7"), parse_vary("fairness.rule=talmud")]
    (v,) = variants(varies)
    base = tmp_path / "scenarios"
    doc = variant_document(raw, base, v, [x.path for x in varies])
    assert doc["sub_budgets"][0]["budget_wan"] == 7
    assert doc["fairness"] == {"rule": "talmud"}
    assert doc["model"] == str((tmp_path / "models" / "m.yaml").resolve())
    assert doc["data"] == [str((base / "data" / "a.csv").resolve()), "/abs/b.csv"]
    assert "output_dir" not in doc
    assert doc["name"] == "base.01_sub_budgets-0-.budget_wan-7_fairness.rule-talmud"
    assert raw["sub_budgets"][0]["budget_wan"] == 5  # the original is not touched
    bad = Variant(1, "x", (("sub_budgets[3].budget_wan", 1),))
    with pytest.raises(InputError, match="a list position the scenario has"):
        variant_document(raw, base, bad, [("sub_budgets", 3, "budget_wan")])


def test_invalid_variants_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    # The 2025 document caps the fund at 5,000万元.
    with pytest.raises(InputError) as err:
        run_sweep(SCENARIO_2025, [parse_vary("budget_wan=4000,6000,7000")], out_dir=out)
    text = str(err.value)
    assert "2 problems" in text
    assert f"{SCENARIO_2025} with budget_wan=6000, key 'budget_wan'" in text
    assert "budget_wan=7000" in text
    assert "budget_wan=4000" not in text
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# Whole sweeps of a small generated population


@pytest.fixture(scope="module")
def small_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 generated firms under the 2026 draft, priority rule: claims of about 1,160万元."""
    folder = tmp_path_factory.mktemp("small")
    write_population(generate_population(120, 7), folder / "firms.csv", "csv")
    doc = {
        "name": "small",
        "model": str(MODEL_2026),
        "data": "firms.csv",
        "budget_wan": 300,
        "fairness": {"rule": "priority"},
        "solver": {"time_limit_s": 30, "workers": 1},
    }
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_infeasible_variant_is_a_row(small_scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    seen: list[tuple[str, int, int]] = []
    result = run_sweep(
        small_scenario,
        [parse_vary("district_floors.城中区=0,100000")],
        out_dir=out,
        jobs=1,
        on_done=lambda r, n, total: seen.append((r.status, n, total)),
    )
    assert seen == [("OPTIMAL", 1, 2), ("INFEASIBLE", 2, 2)]
    _, bad = result.results
    assert bad.metrics is None
    assert "floor" in bad.message
    table = pd.read_csv(out / SWEEP_CSV, dtype=str, keep_default_na=False)
    assert table.columns.tolist() == ["variant", "district_floors.城中区", *ROW_COLUMNS]
    assert table["status"].tolist() == ["OPTIMAL", "INFEASIBLE"]
    assert table.loc[1, "budget_wan"] == "300"
    assert table.loc[1, "coverage"] == ""
    assert table.loc[0, "budget_used_wan"] == "300"
    assert sorted(p.name for p in (out / bad.variant.name).iterdir()) == ["inputs", "result.json"]
    svg = (out / SWEEP_SVG).read_text(encoding="utf-8")
    assert "1 without an allocation" in svg


def test_cli_sweep_in_two_processes_is_deterministic(small_scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(small_scenario), "--vary", "budget_wan=200:300:100"]
    args += ["--vary", "fairness.rule=priority,proportional", "--jobs", "2", "--out", str(out)]
    first = invoke(*args)
    assert first.exit_code == 0, first.stderr
    assert f"wrote {out / SWEEP_CSV}" in first.stdout
    assert "4 variants in" in first.stderr
    csv_bytes, svg_bytes = (out / SWEEP_CSV).read_bytes(), (out / SWEEP_SVG).read_bytes()
    table = pd.read_csv(out / SWEEP_CSV)
    assert table["budget_wan"].tolist() == [200, 200, 300, 300]
    assert table["fairness.rule"].tolist() == ["priority", "proportional"] * 2
    assert (table["budget_used_wan"] == table["budget_wan"]).all()
    # Each variant ran with one solver worker, as its provenance says.
    scenario = out / "scenarios" / f"{table['variant'][0]}.yaml"
    assert "--workers 1" in (out / table["variant"][0] / "result.json").read_text("utf-8")
    assert yaml.safe_load(scenario.read_text("utf-8"))["budget_wan"] == 200

    again = invoke(*args, "--quiet")  # replaces the earlier sweep in place
    assert again.exit_code == 0, again.stderr
    assert again.stderr == ""
    assert (out / SWEEP_CSV).read_bytes() == csv_bytes
    assert (out / SWEEP_SVG).read_bytes() == svg_bytes


def test_a_folder_with_other_content_is_refused(small_scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = invoke("sweep", str(small_scenario), "--vary", "budget_wan=100", "--out", str(out))
    assert result.exit_code == 2
    assert "notes.txt" in result.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_holding_the_scenario_is_refused(small_scenario: Path) -> None:
    result = invoke(
        "sweep",
        str(small_scenario),
        "--vary",
        "budget_wan=100",
        "--out",
        str(small_scenario.parent),
    )
    assert result.exit_code == 2
    assert "apart from the inputs" in result.stderr


def test_unknown_key_exits_2(small_scenario: Path) -> None:
    result = invoke("sweep", str(small_scenario), "--vary", "budgt_wan=1,2")
    assert result.exit_code == 2
    assert "--vary, key 'budgt_wan'" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# The 2026 sample: 11 budgets


@pytest.mark.slow
def test_sample_2026_eleven_budgets(tmp_path: Path) -> None:
    """The 2026 sample's model and data under the priority rule, 3,000 to 8,000万元.

    Priority, not the shipped scenario's proportional rule: under proportional the whole-万元
    rounding makes the number funded move both ways as the budget grows (docs/analysis.md),
    while under priority a larger budget pays every claim a smaller one paid.
    """
    doc = yaml.safe_load(SCENARIO_2026.read_text(encoding="utf-8"))
    doc["fairness"] = {"rule": "priority"}
    doc["model"] = str((SCENARIO_2026.parent / doc["model"]).resolve())
    doc["data"] = str((SCENARIO_2026.parent / doc["data"]).resolve())
    scenario = tmp_path / "priority.yaml"
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")

    result = run_sweep(
        scenario, [parse_vary("budget_wan=3000:8000:500")], out_dir=tmp_path / "s", jobs=2
    )
    table = pd.read_csv(result.csv_path)
    assert len(table) == 11
    assert table["budget_wan"].tolist() == list(range(3000, 8001, 500))
    assert (table["status"] == "OPTIMAL").all()
    # Claims total 9,129万元: every budget of the sweep is spent.
    assert table["budget_used_wan"].tolist() == table["budget_wan"].tolist()
    assert table["budget_used_wan"].is_monotonic_increasing
    assert table["coverage"].is_monotonic_increasing
    assert table["mean_ratio"].is_monotonic_increasing
    assert result.svg_path.read_text(encoding="utf-8").startswith("<?xml")


def test_a_failing_variant_is_a_row_and_the_others_are_kept(
    small_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batch.compute_run

    def flaky(loaded: Any, *args: Any, **kwargs: Any) -> Any:
        if loaded.spec.budget_wan == 300:
            raise RuntimeError("a bug met on the way")
        return real(loaded, *args, **kwargs)

    monkeypatch.setattr(batch, "compute_run", flaky)
    out = tmp_path / "sweep"
    args = ["sweep", str(small_scenario), "--vary", "budget_wan=200,300", "--jobs", "1"]
    result = invoke(*args, "--out", str(out))
    assert result.exit_code == 1, result.stderr
    assert "variant failed: budget_wan=300: RuntimeError: a bug met on the way" in result.stderr
    table = pd.read_csv(out / SWEEP_CSV, dtype=str, keep_default_na=False)
    assert table["status"].tolist() == ["OPTIMAL", ERROR]
    assert table.loc[1, "budget_used_wan"] == ""
    assert (out / table.loc[0, "variant"] / "awards.csv").is_file()
    assert not (out / table.loc[1, "variant"]).exists()
