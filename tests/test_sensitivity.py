"""``allocate sensitivity``: the factors, the design, whole analyses, failures and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.inputs.export import write_population
from allocator.inputs.generate import generate_population
from allocator.inputs.scenario import load_scenario
from allocator.inputs.sensitivity import Sensitivity
from allocator.pipeline import batch
from allocator.pipeline.backends import PoolBackend, SerialBackend
from allocator.pipeline.run import run_scenario
from allocator.pipeline.sensitivity import BUDGET, Options, design, latin_hypercube, plan
from allocator.pipeline.sensitivity_run import FILES, RANGES_CSV, SENSITIVITY_CSV, run_sensitivity
from allocator.policy.bind import check_against_model
from allocator.policy.load import load_model

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
RATE = "7/interest/rate"
TABLE = "2.1/growth/award_table"
STEPS = "2.3/no_base/award_by_output"
BANDS = "2.1/growth/growth_bands"


def factors_of(scenario: Path, options: Options) -> dict[str, Any]:
    loaded = load_scenario(scenario)
    model = load_model(loaded.model_path)
    budget = check_against_model(loaded, model)
    return {f.address: f for f in plan(loaded, model, budget, options)}


def write_scenario(folder: Path, **extra: Any) -> Path:
    doc = {
        "name": "small",
        "model": str(MODEL_2026),
        "data": "firms.csv",
        "budget_wan": 300,
        "fairness": {"rule": "proportional"},
        "solver": {"time_limit_s": 30, "workers": 1},
        **extra,
    }
    path = folder / f"small-{len(extra)}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 generated firms under the 2026 draft, proportional rule, 300万元."""
    folder = tmp_path_factory.mktemp("small")
    write_population(generate_population(120, 7), folder / "firms.csv", "csv")
    return write_scenario(folder)


# --------------------------------------------------------------------------------------------
# Factors


def test_every_assumed_parameter_and_the_budget_document_ones_only_when_asked() -> None:
    model = load_model(MODEL_2026)
    params = [
        (p.basis.value, f"{c.id}/{i.id}/{n}") for c, i in model.items() for n, p in i.params.items()
    ]
    assumed = [a for b, a in params if b == "assumed"]
    document = [a for b, a in params if b == "document"]
    factors = factors_of(SCENARIO_2026, Options(Sensitivity()))
    assert list(factors) == [BUDGET, *assumed]
    assert not set(document) & set(factors)
    everything = factors_of(SCENARIO_2026, Options(Sensitivity(include_document=True)))
    assert list(everything) == [BUDGET, *(a for _, a in params)]


def test_default_range_is_twenty_percent_either_way() -> None:
    factors = factors_of(SCENARIO_2026, Options(Sensitivity()))
    # The scenario's budget is 5,000万元; the model's 7/interest/rate 0.3 (贴息 30%).
    assert (factors[BUDGET].value(0.0), factors[BUDGET].value(1.0)) == (4000, 6000)
    assert (factors[RATE].value(0.0), factors[RATE].value(1.0)) == (0.24, 0.36)
    assert factors[RATE].value(0.5) == 0.3


def test_a_stepped_table_moves_its_amounts_not_its_thresholds() -> None:
    factors = factors_of(SCENARIO_2026, Options(Sensitivity()))
    # 2.3: [[1000, 2], [5000, 3], [10000, 4], [50000, 8]] in the model.
    assert factors[STEPS].value(0.0) == [[1000, 1.6], [5000, 2.4], [10000, 3.2], [50000, 6.4]]
    # A band list and a scale × growth table move whole.
    assert factors[BANDS].value(1.0) == [0, 12, 24]
    assert factors[TABLE].value(1.0)[0] == [1.2, 1.2, 2.4]


def test_ranges_from_the_scenario(small: Path) -> None:
    section = {
        "only_ranges": True,
        "ranges": {
            "budget_wan": {"low": 200, "high": 500},
            RATE: {"low": 0.1, "high": 0.5},
            TABLE: {"scale": [0.5, 2]},
            # A parameter the document states (50% of the booth fee), named here, is varied.
            "5.1/booth/rate": {"low": 0.3, "high": 0.5},
        },
    }
    scenario = write_scenario(small.parent, sensitivity=section)
    factors = factors_of(scenario, Options(load_scenario(scenario).spec.sensitivity))
    assert list(factors) == [BUDGET, TABLE, "5.1/booth/rate", RATE]
    assert factors["5.1/booth/rate"].basis == "document"
    assert (factors[BUDGET].value(0.0), factors[BUDGET].value(1.0)) == (200, 500)
    assert factors[RATE].value(0.25) == 0.2
    assert factors[TABLE].value(0.0)[5] == [2.5, 3.5, 5]


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"7/interest/rat": {"scale": [0.5, 1.5]}}, "did you mean '7/interest/rate'"),
        ({TABLE: {"low": 1, "high": 2}}, "for a list or table"),
        ({"budget_wan": {"low": 100.5, "high": 400}}, "whole 万元"),
    ],
)
def test_bad_ranges_name_the_key(small: Path, ranges: dict[str, Any], message: str) -> None:
    scenario = write_scenario(small.parent, sensitivity={"ranges": ranges})
    with pytest.raises(InputError, match=message) as err:
        factors_of(scenario, Options(load_scenario(scenario).spec.sensitivity))
    assert "sensitivity.ranges[" in str(err.value)


def test_a_range_that_does_not_rise_is_refused(small: Path) -> None:
    scenario = write_scenario(small.parent, sensitivity={"ranges": {RATE: {"low": 1, "high": 1}}})
    with pytest.raises(InputError, match="low below high"):
        load_scenario(scenario)


# --------------------------------------------------------------------------------------------
# Design


def test_design_base_then_one_at_a_time_then_joint() -> None:
    factors = list(factors_of(SCENARIO_2026, Options(Sensitivity(), only=(BUDGET, RATE))).values())
    variants = design(factors, Options(Sensitivity(samples=5), only=(BUDGET, RATE)))
    assert [v.name for v in variants] == [
        "base",
        "oat-001-low",
        "oat-001-high",
        "oat-002-low",
        "oat-002-high",
        *(f"joint-{k:03d}" for k in range(1, 6)),
    ]
    assert variants[3].values(factors) == {BUDGET: 5000, RATE: 0.24}
    joint = [v.values(factors)[BUDGET] for v in variants[5:]]
    assert all(4000 <= b <= 6000 for b in joint)
    again = design(factors, Options(Sensitivity(samples=5), only=(BUDGET, RATE)))
    assert again == variants  # a fixed seed draws the same samples


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_latin_hypercube_puts_one_point_in_every_slice(samples: int, dims: int, seed: int) -> None:
    points = latin_hypercube(samples, dims, seed)
    assert points.shape == (samples, dims)
    assert ((points >= 0) & (points < 1)).all()
    for column in points.T:
        assert sorted(np.floor(column * samples).astype(int)) == list(range(samples))


# --------------------------------------------------------------------------------------------
# Whole analyses


def options(samples: int = 2) -> Options:
    return Options(Sensitivity(samples=samples), only=(BUDGET, RATE, TABLE))


def test_a_variant_is_the_run_of_its_scenario(small: Path, tmp_path: Path) -> None:
    """The one-at-a-time variant with the award table at 0.8 gives the awards that
    ``allocate run`` gives with that table as an override; the budget is spent in full."""
    result = run_sensitivity(
        small, options=options(0), out_dir=tmp_path / "s", backend=SerialBackend()
    )
    table = pd.read_csv(tmp_path / "s" / SENSITIVITY_CSV)
    assert table["variant"].tolist()[:3] == ["base", "oat-001-low", "oat-001-high"]
    assert table["budget_used_wan"].tolist()[:3] == [300, 240, 360]
    assert (table["status"] == "OPTIMAL").all()

    k, factor = next((k, f) for k, f in enumerate(result.factors) if f.address == TABLE)
    doc = yaml.safe_load(small.read_text(encoding="utf-8"))
    doc["overrides"] = {TABLE: factor.value(0.0)}
    doc["data"] = str(small.parent / "firms.csv")
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    run_scenario(single, out_dir=tmp_path / "run", workers=1)
    awards = pd.read_csv(tmp_path / "run" / "awards.csv", dtype={"recipient_id": str})
    per_firm = awards.groupby("recipient_id")["award_wan"].sum()
    variant = next(r for r in result.results if r.variant.name == f"oat-{k + 1:03d}-low")
    assert variant.outcome is not None
    mine = variant.outcome.awards.set_index("recipient_id")["award_wan"]
    assert mine.to_dict() == per_firm[per_firm.index.isin(mine.index)].to_dict()

    ranges = pd.read_csv(tmp_path / "s" / RANGES_CSV)
    assert (ranges["min_award_wan"] <= ranges["base_award_wan"]).all()
    assert (ranges["base_award_wan"] <= ranges["max_award_wan"]).all()
    assert (
        ranges["median_award_wan"].between(ranges["min_award_wan"], ranges["max_award_wan"])
    ).all()


def test_same_bytes_in_one_process_and_in_a_pool(small: Path, tmp_path: Path) -> None:
    one = run_sensitivity(
        small, options=options(), out_dir=tmp_path / "one", backend=SerialBackend()
    )
    two = run_sensitivity(
        small, options=options(), out_dir=tmp_path / "two", backend=PoolBackend(2)
    )
    assert two.backend == "2 processes"
    for name in FILES:
        assert (one.out_dir / name).read_bytes() == (two.out_dir / name).read_bytes(), name


def test_a_failing_variant_is_reported_with_its_values_and_the_others_kept(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batch.compute_run

    def flaky(loaded: Any, *args: Any, **kwargs: Any) -> Any:
        if loaded.spec.budget_wan == 360:
            raise ZeroDivisionError("a bug met on the way")
        return real(loaded, *args, **kwargs)

    monkeypatch.setattr(batch, "compute_run", flaky)
    out = tmp_path / "s"
    args = ["sensitivity", str(small), "--param", "budget_wan", "--param", RATE]
    result = CliRunner().invoke(main, [*args, "--samples", "0", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert (
        "variant failed: oat-001-high: budget_wan=360: ZeroDivisionError: a bug met"
        in result.stderr
    )
    table = pd.read_csv(out / SENSITIVITY_CSV, keep_default_na=False)
    assert table["status"].tolist() == ["OPTIMAL", "OPTIMAL", "ERROR", "OPTIMAL", "OPTIMAL"]
    assert table.loc[2, "message"] == "ZeroDivisionError: a bug met on the way"
    assert table.loc[2, "budget_used_wan"] == ""
    assert table.loc[1, "budget_used_wan"] == "240"
    assert "a bug met on the way" in (out / "sensitivity.html").read_text(encoding="utf-8")


def test_an_earlier_analysis_is_replaced_and_a_foreign_folder_refused(
    small: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    run_sensitivity(small, options=options(0), out_dir=out, backend=SerialBackend())
    (out / "tornado.svg").write_text("stale", encoding="utf-8")
    run_sensitivity(small, options=options(0), out_dir=out, backend=SerialBackend())
    assert (out / "tornado.svg").read_text(encoding="utf-8").startswith("<?xml")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.txt"):
        run_sensitivity(small, options=options(0), out_dir=out, backend=SerialBackend())
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def _group_alive(pgid: int) -> list[int]:
    """Processes of a process group still running (zombies are done)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_stops_every_variant(small: Path, tmp_path: Path) -> None:
    """Ctrl-C, as a terminal sends it to the whole process group, while a pool runs."""
    out = tmp_path / "s"
    allocate = str(Path(sys.executable).parent / "allocate")
    command = [allocate, "sensitivity", str(small), "--samples", "200"]
    command += ["--param", "budget_wan", "--jobs", "2", "--out", str(out)]
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.Popen(
        [*command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )
    # Wait until the pool has started its processes (the group then has more than one).
    for _ in range(600):
        if len(_group_alive(proc.pid)) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode()
    for _ in range(300):
        if not _group_alive(proc.pid):
            break
        time.sleep(0.1)
    assert _group_alive(proc.pid) == []
    assert not (out / SENSITIVITY_CSV).exists()
