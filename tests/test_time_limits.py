"""Runs the solver cannot finish: a time limit, and Ctrl-C.

The hard instance: 600 synthetic firms (``allocate generate``) under a policy of three
indivisible (all-or-nothing) awards of 1 to 60万元 each, two of them in one no-duplicate
group, shared by priority with industry, district and growth-contribution weights, under a
fund, two district caps and a sub-budget that cross. That is a multi-dimensional knapsack of
about 1,500 indivisible claims: CP-SAT finds allocations at once but does not prove one
optimal within seconds (the gap stays near 10% for a minute). Its hardness is in the
combinatorics, not the size, so the run writes its files in about a second.

- A search cut short ends the run with exit code 0, status ``FEASIBLE``, a positive gap
  between the allocation and the solver's bound, every constraint held, and a clean audit.
  The cut is CP-SAT's deterministic work limit rather than a few seconds of wall clock, so
  that a busy machine cuts the search at the same point as an idle one.
- Ctrl-C (SIGINT) once the solver has found its first allocation must stop the run with exit
  code 130, write nothing, leave an earlier run in the folder as it was and leave no
  temporary folder beside it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.outputs import folder
from allocator.outputs.result import RunResult
from allocator.solve import cpsat

ALLOCATE = Path(sys.executable).parent / "allocate"
FIRMS = 600
BUDGET = 3600

HARD_MODEL = """\
title: 限时测试用政策措施
document_number: null
issuer: 测试
issue_date: null
status: draft
valid_from: 2026-01-01
valid_until: 2026-03-31
source: tests/test_time_limits.py
rules:
  fund_cap: {value_wan: null, basis: assumed, rationale: The scenario sets the fund.}
  rounding: {rule: floor_wan, basis: assumed, rationale: As the real documents.}
  stacking: {default: stack, basis: assumed, rationale: As the real documents.}
  provincial: {mode: better_of, basis: assumed, rationale: As the 2026 draft.}
clauses:
  - id: "1"
    label: （一）
    kind: award
    title: 产值奖励
    quote: 按当季产值或增量给予一次性奖励，不重复。
    items:
      - id: output
        title: Indivisible award by output
        recipient: enterprise
        conditions:
          - {id: positive, text: 有产值, expr: output_2026q1 > 0}
        formula: {type: rate, base: output_2026q1, rate: rate, cap: cap}
        params:
          rate: {value: 0.003, basis: assumed, rationale: Invented for the test.}
          cap: {value: 60, unit: 万元, basis: assumed, rationale: Invented for the test.}
        exclusive_group: output_or_growth
        all_or_nothing: true
        requires_application: false
      - id: growth
        title: Indivisible award by growth
        recipient: enterprise
        conditions:
          - {id: growing, text: 增长, expr: output_2026q1 > output_2025q1}
        formula: {type: rate, base: output_2026q1 - output_2025q1, rate: rate, cap: cap}
        params:
          rate: {value: 0.02, basis: assumed, rationale: Invented for the test.}
          cap: {value: 45, unit: 万元, basis: assumed, rationale: Invented for the test.}
        exclusive_group: output_or_growth
        all_or_nothing: true
        requires_application: false
  - id: "2"
    label: （二）
    kind: award
    title: 营收奖励
    quote: 按营业收入给予一次性奖励。
    items:
      - id: revenue
        title: Indivisible award by revenue
        recipient: enterprise
        conditions:
          - {id: positive, text: 有收入, expr: revenue_2026q1 > 0}
        formula: {type: rate, base: revenue_2026q1, rate: rate, cap: cap}
        params:
          rate: {value: 0.002, basis: assumed, rationale: Invented for the test.}
          cap: {value: 30, unit: 万元, basis: assumed, rationale: Invented for the test.}
        all_or_nothing: true
        requires_application: false
"""

HARD_SCENARIO = f"""\
name: hard
model: model.yaml
data: firms.csv
budget_wan: {BUDGET}
fairness: {{rule: priority}}
weights:
  industries: {{steel: 1.7, auto_parts: 1.3, machinery: 1.1, green_food: 2.3, chemical: 0.7}}
  districts: {{柳南区: 1.2, 柳北区: 0.9, 柳东新区: 1.4}}
  contribution: {{growth: 1, increment: 1, field_now: output_2026q1, field_before: output_2025q1}}
district_caps: {{柳南区: 360, 柳东新区: 480}}
sub_budgets:
  - {{name: revenue, clauses: ["2"], budget_wan: 720}}
solver: {{time_limit_s: 60, workers: 2, seed: 0}}
"""


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hard scenario's folder: model.yaml, firms.csv and scenario.yaml."""
    folder = tmp_path_factory.mktemp("hard")
    made = CliRunner().invoke(
        main,
        [
            "generate",
            "--enterprises",
            str(FIRMS),
            "--seed",
            "7",
            "--out",
            str(folder / "firms.csv"),
        ],
    )
    assert made.exit_code == 0, made.output
    (folder / "model.yaml").write_text(HARD_MODEL, encoding="utf-8")
    (folder / "scenario.yaml").write_text(HARD_SCENARIO, encoding="utf-8")
    return folder


#: CP-SAT's work limit for every search of the cut-short run, in its deterministic units (a
#: fraction of a second's work on an idle machine): enough for the hinted allocation and the
#: root bound (a gap near 11%), far from a proof.
WORK = 0.2


def test_a_search_cut_short_gives_the_best_allocation_found_with_its_gap(
    hard: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    solve = cpsat.solve

    def cut_short(*args: Any, **kwargs: Any) -> cpsat.Result:
        kwargs["deterministic_limit"] = min(kwargs.get("deterministic_limit") or WORK, WORK)
        return solve(*args, **kwargs)

    monkeypatch.setattr(cpsat, "solve", cut_short)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(hard / "scenario.yaml"), "--out", str(out), "--time-limit", "600", "-q"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "FEASIBLE"
    # The allocation and the solver's bound, in weight × 万元: the bound is above, the gap
    # says by how much (docs/outputs.md: abs(bound − objective) / max(1, abs(bound))).
    objective, bound, gap = doc["objective"], doc["best_bound"], doc["gap"]
    assert gap is not None, (objective, bound)
    assert gap > 0, (objective, bound, gap)
    assert bound > objective > 0
    assert gap == pytest.approx(abs(bound - objective) / max(1.0, abs(bound)), abs=1e-6)
    assert doc["solver"]["canonical"] is False  # no proven optimum to make canonical

    awards = pd.read_csv(out / "awards.csv", dtype={"recipient_id": str, "clause_id": str})
    assert awards["award_wan"].between(0, awards["claim_wan"]).all()
    # Indivisible: every award is nothing or the whole claim.
    assert ((awards["award_wan"] == 0) | (awards["award_wan"] == awards["claim_wan"])).all()
    total = int(awards["award_wan"].sum())
    assert total == doc["total_awarded_wan"] <= BUDGET
    rows = pd.read_csv(out / "constraints.csv")
    assert (rows["slack"] >= 0).all()
    assert set(rows["family"]) >= {"fund_cap", "sub_budget", "district_cap", "no_duplicate"}
    by_district = awards.groupby("district")["award_wan"].sum()
    assert by_district.get("柳南区", 0) <= 360
    assert by_district.get("柳东新区", 0) <= 480
    assert awards.loc[awards["clause_id"] == "2", "award_wan"].sum() <= 720
    paid = awards[(awards["award_wan"] > 0) & awards["item_key"].isin(["1/output", "1/growth"])]
    assert not paid["recipient_id"].duplicated().any()

    audit = CliRunner().invoke(
        main, ["audit", str(out), "--ledger", str(tmp_path / "ledger.sqlite"), "--json"]
    )
    report = json.loads(audit.stdout)
    assert audit.exit_code == 0, report["findings"]
    assert report["verdict"] == "passed"
    assert report["errors"] == 0
    # The time limit is said, as a warning, not hidden, with the gap.
    said = [f["message"] for f in report["findings"] if "FEASIBLE" in f["message"]]
    assert said
    assert f"(gap {doc['gap']})" in said[0]


# --------------------------------------------------------------------------------------------
# Ctrl-C


def folder_bytes(out: Path) -> dict[str, bytes]:
    """Every file of a run folder (its copies of the inputs too) by its path in the folder."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _hear_ctrl_c() -> None:
    """In the child before it starts: Ctrl-C at its default, whatever the parent had.

    A shell starts a background job (``make test &``, ``nohup``) with SIGINT ignored, and an
    ignored signal stays ignored across exec: Python would then install no handler of its own
    and the Ctrl-C these tests send would never arrive.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def interrupt_once_solving(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``allocate`` and send SIGINT when the solver reports its first allocation.

    Returns the exit code and stderr.
    """
    proc = subprocess.Popen(
        [str(ALLOCATE), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        preexec_fn=_hear_ctrl_c,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + 300  # a bound for a hung process, not a speed goal
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "".join(seen)
                continue
            seen.append(line)
            if "priority: incumbent" in line:
                break
        else:
            pytest.fail("the solver reported no allocation:\n" + "".join(seen))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    while not lines.empty():
        seen.append(lines.get())
    return code, "".join(seen)


def test_ctrl_c_while_solving_writes_nothing(hard: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("model.yaml", "firms.csv", "scenario.yaml"):
        (work / name).write_bytes((hard / name).read_bytes())
    # An earlier run's folder: it must survive the interrupted run byte for byte.
    out = work / "out"
    out.mkdir()
    (out / "result.json").write_text('{"status": "OPTIMAL", "earlier": true}\n', "utf-8")
    (out / "awards.csv").write_text("recipient_id,award_wan\nearlier,1\n", "utf-8")
    before = folder_bytes(out)
    listing = sorted(p.name for p in work.iterdir())

    code, stderr = interrupt_once_solving(["run", "scenario.yaml", "--out", "out"], work)

    # The search stops rather than running on to its 60 s limit: a search that ran on would
    # end with status FEASIBLE, exit code 0 and its files written, all refused here.
    assert code == 130, stderr
    assert stderr.endswith("allocate: interrupted; nothing written\n"), stderr
    assert "Traceback" not in stderr
    assert folder_bytes(out) == before
    assert sorted(p.name for p in work.iterdir()) == listing  # no .out.partial-* left
    assert not Path(os.environ["ALLOCATE_LEDGER"]).exists()  # the ledger records nothing


AFTER_A_SOLVE = textwrap.dedent(
    """\
    import os, signal, time
    import numpy as np, pandas as pd
    from allocator.solve import cpsat
    from allocator.model.problem import Family, Problem, SolverSettings

    fund = Family("fund_cap", "scenario", ["fund_cap"], [np.arange(2)], np.array([3]), "<=")
    problem = Problem(
        claims=pd.DataFrame({"claim_wan": [2, 2]}), upper=np.array([2, 2]),
        weight=np.array([1, 1]), rank=np.arange(2), all_or_nothing=np.array([True, True]),
        exclusive=[], exclusive_labels=[], exclusive_clause_ids=[], families=[fund], budget=3,
    )
    model = cpsat.build(problem)
    model.cp.maximize(model.linear(problem.weight)[0])
    cpsat.solve(model, SolverSettings(), time_limit=5)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)
        print("no KeyboardInterrupt")
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
    """
)


def test_ctrl_c_after_a_solve_still_reaches_python() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", AFTER_A_SOLVE],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_hear_ctrl_c,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "KeyboardInterrupt"), proc.stderr


# An interrupt while the files are written, or during the renames that put the folder in place,
# in the process itself: the small valid inputs of the bad-input catalogue, an earlier run in
# the output folder, and a KeyboardInterrupt (or a real SIGINT) at the chosen moment.

SMALL = Path(__file__).resolve().parent / "bad_inputs"


def _earlier_run(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """The small inputs copied to ``tmp_path/in``, and a finished run in ``tmp_path/out``."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        (inputs / name).write_bytes((SMALL / name).read_bytes())
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["run", str(inputs / "scenario.yaml"), "--out", str(out), "-q"])
    assert done.exit_code == 0, done.output
    Path(os.environ["ALLOCATE_LEDGER"]).unlink()
    return inputs, out, folder_bytes(out)


def _check_nothing_written(tmp_path: Path, out: Path, before: dict[str, bytes]) -> None:
    assert folder_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no partial, no old
    assert not Path(os.environ["ALLOCATE_LEDGER"]).exists()


def test_ctrl_c_while_writing_removes_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out, before = _earlier_run(tmp_path)
    write_files = folder._write_files

    def interrupted(folder: Path, run: RunResult, *, copies: bool) -> list[str]:
        write_files(folder, run, copies=copies)  # every file and copy written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(folder, "_write_files", interrupted)
    result = CliRunner().invoke(main, ["run", str(inputs / "scenario.yaml"), "--out", str(out)])

    assert result.exit_code == 130, result.output
    assert result.stderr.endswith("allocate: interrupted; nothing written\n"), result.stderr
    _check_nothing_written(tmp_path, out, before)


@pytest.fixture
def ctrl_c_heard() -> Iterator[None]:
    """Python's own Ctrl-C handler for the test, as an interactive run has it.

    A test process started in the background has SIGINT ignored (see :func:`_hear_ctrl_c`).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_heard")
def test_ctrl_c_during_the_renames_puts_the_earlier_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out, before = _earlier_run(tmp_path)
    renames: list[tuple[str, str]] = []
    rename = os.rename

    def interrupted(src: Path, dst: Path) -> None:
        if not renames:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C, as the earlier run moves aside
        renames.append((Path(src).name, Path(dst).name))
        rename(src, dst)

    monkeypatch.setattr(folder.os, "rename", interrupted)
    result = CliRunner().invoke(main, ["run", str(inputs / "scenario.yaml"), "--out", str(out)])

    assert result.exit_code == 130, result.output
    assert result.stderr.endswith("allocate: interrupted; nothing written\n"), result.stderr
    # The earlier run aside, the new one in; then, seeing the Ctrl-C, both undone.
    assert [dst.split("-")[0] for _, dst in renames] == [".out.old", "out", ".out.partial", "out"]
    _check_nothing_written(tmp_path, out, before)
