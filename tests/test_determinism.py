"""The same inputs give the same files: across reruns, and across solver workers.

The shipped 2026 scenario is run under its own rule (proportional) and under priority, each
twice with the same command into the same folder and once with the other number of CP-SAT
workers. ``awards.csv``, ``constraints.csv`` and ``awards.xlsx`` must be byte-identical in
all three; a rerun of the same command must also give the same ``report.html``, and the
same ``result.json`` except under ``timings`` (docs/outputs.md, Determinism). Runs with
different commands differ in the command they record, so there ``result.json`` is compared
without ``timings`` and ``command``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from allocator.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
SAME_BYTES = ("awards.csv", "constraints.csv", "awards.xlsx")


def scenario_with_rule(tmp_path: Path, rule: str) -> Path:
    """The shipped 2026 scenario under ``rule``, its paths made absolute."""
    body = yaml.safe_load(SCENARIO_2026.read_text(encoding="utf-8"))
    body["model"] = str((SCENARIO_2026.parent / body["model"]).resolve())
    body["data"] = str((SCENARIO_2026.parent / body["data"]).resolve())
    body["fairness"] = {"rule": rule}
    assert body["solver"]["workers"] == 2
    path = tmp_path / f"2026-{rule}.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def run(scenario: Path, out: Path, *options: str) -> dict[str, bytes]:
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "-q", *options])
    assert result.exit_code == 0, result.output
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def result_doc(files: dict[str, bytes], *drop: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(files["result.json"])
    assert doc["status"] == "OPTIMAL"
    assert doc["timings"]["solve"] >= 0
    for key in ("timings", *drop):
        del doc[key]
    return doc


def one_worker_scenario(tmp_path: Path, scenario: Path) -> Path:
    """``scenario`` with ``solver.workers: 1``, its paths made absolute."""
    body = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    for key in ("model", "data"):
        body[key] = str((scenario.parent / body[key]).resolve())
    body["solver"]["workers"] = 1
    path = tmp_path / f"{scenario.stem}-one-worker.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rule", "one_worker_by"),
    [("proportional", "scenario"), ("priority", "option")],
)
def test_reruns_and_worker_counts_give_the_same_files(
    tmp_path: Path, rule: str, one_worker_by: str
) -> None:
    scenario = SCENARIO_2026 if rule == "proportional" else scenario_with_rule(tmp_path, rule)
    out = tmp_path / "out"
    first = run(scenario, out)  # the scenario's 2 workers
    second = run(scenario, out)  # the same command, replacing the first run
    if one_worker_by == "option":
        one_worker = run(scenario, tmp_path / "one-worker", "--workers", "1")
    else:
        one_worker = run(one_worker_scenario(tmp_path, scenario), tmp_path / "one-worker")

    # The same copies of the inputs, byte for byte (the one-worker scenario is another file).
    assert first.keys() == second.keys()
    scenario_copy = json.loads(first["result.json"])["inputs"][0]["copy"]
    one_scenario = json.loads(one_worker["result.json"])["inputs"][0]["copy"]
    assert {k for k in first if k != scenario_copy} == {k for k in one_worker if k != one_scenario}
    for name in SAME_BYTES:
        assert first[name] == second[name], name
        assert first[name] == one_worker[name], name
    # The same command: the report too, and result.json but for the timings.
    assert first["report.html"] == second["report.html"]
    assert result_doc(first) == result_doc(second)
    # Another command (and, with solver.workers in the file, another scenario file): the
    # rest of result.json.
    assert result_doc(first, "command", "inputs") == result_doc(one_worker, "command", "inputs")
    # The timings are the part that measures the run: present, and free to differ.
    assert set(json.loads(first["result.json"])["timings"]) >= {"load", "solve", "write"}
