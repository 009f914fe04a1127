"""``allocate audit``: clean runs pass under every fairness rule; every kind of tampering fails.

Five runs of the sample data are made once for the module (about 2 s each), one per fairness
rule, with the scenario's constraint families spread over them. Each tampering test copies a
clean folder, edits it, and expects exit code 1 with a finding that names the file and row.
The fairness definitions are also tested alone, on hand-computed numbers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.core.i18n import set_language
from allocator.outputs.ledger import record_run
from allocator.outputs.ledger_entry import RunEntry
from runs import SAMPLE, audit_json, findings, invoke, read_awards, tiny_run, write_awards

ROOT = Path(__file__).resolve().parent.parent
MODEL_2025 = ROOT / "models" / "liuzhou-2025-q1.yaml"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"


# The scenario of each run: every fairness rule once, and between them every constraint family.
SCENARIOS: dict[str, dict[str, Any]] = {
    # 2025 as issued: the document's cap, exclude_if_applied, contribution weights.
    "priority": {
        "model": str(MODEL_2025),
        "fairness": {"rule": "priority"},
        "weights": {"contribution": {"growth": 1.0, "increment": 1.0}},
    },
    # 2026 as shipped: better_of, pro rata.
    "proportional": {"model": str(MODEL_2026), "budget_wan": 5000},
    "equal_awards": {
        "model": str(MODEL_2026),
        "budget_wan": 5000,
        "firm_cap_wan": 12,
        "district_caps": {"柳南区": 300, "柳东新区": 400},
        "sub_budgets": [{"name": "growth", "clauses": ["2.1", "2.2"], "budget_wan": 500}],
    },
    "equal_losses": {
        "model": str(MODEL_2026),
        "budget_wan": 5000,
        "district_floors": {"城中区": 100},
        "exclusive_groups": [{"name": "market_events", "items": ["5.1/booth", "5.1/launch"]}],
    },
    "talmud": {
        "model": str(MODEL_2026),
        "budget_wan": 4000,
        "firm_cap_wan": 20,
        "district_caps": {"柳北区": 250},
        "sub_budgets": [{"name": "market", "clauses": ["5.1", "5.2", "6"], "budget_wan": 200}],
    },
}


@dataclass(frozen=True)
class Runs:
    """The module's runs: their folders, scenarios and the ledger they are recorded in."""

    root: Path
    ledger: str
    folders: dict[str, Path]
    scenarios: dict[str, Path]


def record(ledger: str, folder: Path, scenario: Path) -> None:
    """Record a folder in the ledger as the pipeline's ledger step does after a run."""
    now = datetime.now(UTC)
    entry = RunEntry.from_output_dir(
        folder,
        scenario_path=scenario,
        started_at=now,
        finished_at=now,
        command_line=["allocate", "run", str(scenario), "--out", str(folder)],
    )
    record_run(ledger, entry)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("audit")
    ledger = f"sqlite:///{root / 'ledger.sqlite'}"
    shutil.copy(SAMPLE, root / "data.csv")
    folders: dict[str, Path] = {}
    scenarios: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as mp:
        # Should allocate run record runs itself, they land in this test's ledger.
        mp.setenv("ALLOCATE_LEDGER", ledger)
        for rule, content in SCENARIOS.items():
            body = {"name": f"audit-{rule}", "data": "data.csv", **content}
            body.setdefault("fairness", {"rule": rule})
            path = root / f"{rule}.yaml"
            path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
            out = root / f"out-{rule}"
            result = invoke("run", str(path), "--out", str(out), "--quiet")
            assert result.exit_code == 0, result.output
            record(ledger, out, path)
            folders[rule], scenarios[rule] = out, path
        yield Runs(root, ledger, folders, scenarios)


def copy_run(runs: Runs, rule: str, tmp_path: Path) -> Path:
    dst = tmp_path / f"copy-{rule}"
    shutil.copytree(runs.folders[rule], dst)
    return dst


# --------------------------------------------------------------------------------------------
# Clean runs


@pytest.mark.parametrize("rule", list(SCENARIOS))
def test_a_clean_run_passes_under_every_rule(runs: Runs, rule: str) -> None:
    result = invoke("audit", str(runs.folders[rule]), "--ledger", runs.ledger)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith("audit passed")
    code, report = audit_json(runs.folders[rule], runs.ledger)
    assert code == 0
    assert report["errors"] == 0
    assert report["warnings"] == 0
    status = {c["name"]: c["status"] for c in report["checks"]}
    # The checks that matter ran rather than being skipped.
    for name in ("inputs", "ledger", "claims", "fund_cap", "totals", "workbook"):
        assert status[name] == "passed", (name, status)
    # A level rule is checked against its exact value, priority by the fairness check.
    if rule == "priority":
        assert status["fairness"] == "passed"
    else:
        assert status["fairness"] == "skipped"
        assert status["exact"] in ("passed", "skipped"), status
    assert status["constraints"] == "passed"


def test_the_scenario_families_were_checked(runs: Runs) -> None:
    _, report = audit_json(runs.folders["equal_awards"], runs.ledger)
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status["firm_cap"] == status["district_cap"] == status["sub_budget"] == "passed"
    _, report = audit_json(runs.folders["equal_losses"], runs.ledger)
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status["district_floor"] == "passed"
    assert status["firm_cap"] == "skipped"


# --------------------------------------------------------------------------------------------
# Tampering with awards.csv


def test_an_award_above_its_claim_is_caught(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "proportional", tmp_path)
    rows = read_awards(folder)
    k = next(n for n, r in enumerate(rows) if int(r["claim_wan"]) >= 3)
    rows[k]["award_wan"] = str(int(rows[k]["claim_wan"]) + 2)
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    csv_row = k + 2  # the header is row 1
    hit = findings(report, "integrality")
    assert [f["row"] for f in hit] == [csv_row]
    message = hit[0]["message"]
    assert f"row {csv_row}:" in message
    assert rows[k]["recipient_id"] in message
    assert rows[k]["item_key"] in message
    assert "above its claim" in message
    # The text table says the same, with the verdict last.
    result = invoke("audit", str(folder), "--ledger", runs.ledger)
    assert result.exit_code == 1
    assert result.stdout.strip().splitlines()[-1].startswith("audit FAILED")


def test_a_total_over_budget_is_caught(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "proportional", tmp_path)
    rows = read_awards(folder)
    # Raise cut awards to their claims (each stays within its claim) until 20万元 over.
    raised: list[int] = []
    extra = 0
    for n, r in enumerate(rows):
        gap = int(r["claim_wan"]) - int(r["award_wan"])
        if gap > 0 and r["item_key"] != "1.2/continuous_production":
            r["award_wan"] = r["claim_wan"]
            raised.append(n + 2)
            extra += gap
        if extra > 20:
            break
    write_awards(folder, rows)
    total = sum(int(r["award_wan"]) for r in rows)
    assert total == 5000 + extra > 5000
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (fund,) = findings(report, "fund_cap")
    assert f"add up to {total}万元" in fund["message"]
    assert "above the budget of 5000万元" in fund["message"]
    assert f"rows 2–{len(rows) + 1}" in fund["message"]
    # The raised rows themselves are named by the exact check (more than 1万元 above).
    named = {f["row"] for f in findings(report, "exact")}
    assert named & set(raised)
    assert not findings(report, "integrality")


def test_a_deleted_row_is_caught(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "proportional", tmp_path)
    rows = read_awards(folder)
    k = next(n for n, r in enumerate(rows) if int(r["award_wan"]) > 0)
    gone = rows.pop(k)
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (missing,) = findings(report, "claims")
    assert f"{gone['recipient_id']} {gone['item_key']}" in missing["message"]
    assert f"belongs at row {k + 2}" in missing["message"]
    assert findings(report, "totals")  # result.json no longer adds up either


def test_a_no_duplicate_violation_is_caught(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "equal_losses", tmp_path)
    rows = read_awards(folder)
    # A firm paid one of 5.1/booth and 5.1/launch (the scenario's group market_events).
    by_firm: dict[str, dict[str, int]] = {}
    for n, r in enumerate(rows):
        if r["item_key"] in ("5.1/booth", "5.1/launch") and int(r["claim_wan"]) > 0:
            by_firm.setdefault(r["recipient_id"], {})[r["item_key"]] = n
    firm, items = next((f, i) for f, i in by_firm.items() if len(i) == 2)
    unpaid = next(n for n in items.values() if rows[n]["award_wan"] == "0")
    paid = next(n for n in items.values() if n != unpaid)
    assert int(rows[paid]["award_wan"]) > 0
    rows[unpaid]["award_wan"] = "1"
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (dup,) = findings(report, "no_duplicate")
    assert f"row {unpaid + 2}" in dup["message"]
    assert f"row {paid + 2}" in dup["message"]
    assert firm in dup["message"]
    assert "market_events" in dup["message"]


def test_a_provincial_award_paid_twice_is_caught(runs: Runs, tmp_path: Path) -> None:
    # 2026 better_of: a firm whose provincial award is not below its claim gets nothing.
    folder = copy_run(runs, "proportional", tmp_path)
    rows = read_awards(folder)
    k = next(
        n
        for n, r in enumerate(rows)
        if "is not below the claim" in r["reason"] and int(r["claim_wan"]) > 0
    )
    rows[k]["award_wan"] = rows[k]["claim_wan"]
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (hit,) = findings(report, "provincial")
    assert hit["row"] == k + 2
    assert "better of the two" in hit["message"]


def test_an_award_despite_a_provincial_application_is_caught(runs: Runs, tmp_path: Path) -> None:
    # 2025 （二十）: no city award of a type the firm applied to the province for.
    folder = copy_run(runs, "priority", tmp_path)
    rows = read_awards(folder)
    k = next(n for n, r in enumerate(rows) if r["reason"].startswith("provincial: applied"))
    rows[k]["award_wan"] = rows[k]["claim_wan"]
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (hit,) = findings(report, "provincial")
    assert hit["row"] == k + 2
    assert "applied for the provincial award" in hit["message"]


def test_money_left_unspent_under_priority_is_caught(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "priority", tmp_path)
    rows = read_awards(folder)
    k = next(n for n, r in enumerate(rows) if int(r["award_wan"]) >= 2)
    rows[k]["award_wan"] = str(int(rows[k]["award_wan"]) - 1)
    write_awards(folder, rows)
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    rows_named = {f["row"] for f in findings(report, "fairness")}
    # The award lowered could take its 1万元 back: it is among those named.
    assert k + 2 in rows_named


# --------------------------------------------------------------------------------------------
# Inputs and the ledger


def test_a_changed_data_copy_is_caught_by_its_sha256(runs: Runs, tmp_path: Path) -> None:
    # The folder's own copy of the data is audited, wherever the original is; one value of
    # the copy is changed.
    folder = copy_run(runs, "equal_losses", tmp_path)
    code, _ = audit_json(folder, runs.ledger)
    assert code == 0
    (copy,) = (folder / "inputs").glob("*-data.csv")
    text = copy.read_text(encoding="utf-8")
    lines = text.split("\n")
    header = lines[0].split(",")
    column = header.index("output_2026q1")
    cells = lines[1].split(",")
    cells[column] = str(float(cells[column]) + 1)
    lines[1] = ",".join(cells)
    copy.write_text("\n".join(lines), encoding="utf-8")
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    (changed,) = findings(report, "inputs")
    assert changed["file"] == "data.csv"
    assert f"copy inputs/{copy.name} of the data file data.csv was edited" in changed["message"]
    # Nothing is recomputed from inputs that changed.
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status["claims"] == status["fairness"] == "skipped"


def test_an_edited_output_folder_is_caught_by_the_ledger(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "equal_losses", tmp_path)
    record(runs.ledger, folder, runs.scenarios["equal_losses"])
    code, report = audit_json(folder, runs.ledger)
    assert code == 0
    assert report["warnings"] == 0
    # Edit what no other check reads (result.json's timings), add a file, delete the workbook.
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    doc["timings"]["solve"] = 0.001
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (folder / "awards_fixed.csv").write_text("recipient_id\n", encoding="utf-8")
    (folder / "awards.xlsx").unlink()
    code, report = audit_json(folder, runs.ledger)
    assert code == 1
    ledger = {f["file"]: f["message"] for f in findings(report, "ledger")}
    assert set(ledger) == {"result.json", "awards_fixed.csv", "awards.xlsx"}
    assert ledger["result.json"].startswith("result.json changed since the run")
    assert ledger["awards_fixed.csv"].startswith("awards_fixed.csv added")
    assert ledger["awards.xlsx"].startswith("awards.xlsx missing")


def test_a_folder_without_a_ledger_entry_is_a_warning_only(runs: Runs, tmp_path: Path) -> None:
    # A copy whose result.json is not that of any recorded run (what no check reads changed).
    folder = copy_run(runs, "equal_losses", tmp_path)
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    doc["timings"]["solve"] = 0.001
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    code, report = audit_json(folder, runs.ledger)
    assert code == 0
    (warning,) = [f for f in report["findings"] if f["severity"] == "warning"]
    assert warning["check"] == "ledger"
    assert "no ledger entry" in warning["message"]


def test_unreadable_input_exits_2(runs: Runs, tmp_path: Path) -> None:
    result = invoke("audit", str(tmp_path / "nowhere"), "--ledger", runs.ledger)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    folder = copy_run(runs, "proportional", tmp_path)
    (folder / "result.json").unlink()
    result = invoke("audit", str(folder), "--ledger", runs.ledger)
    assert result.exit_code == 2
    assert "result.json" in result.stderr
    # A folder without copies of its inputs (written before runs carried them) whose scenario
    # can be found nowhere: the message says how to point at it.
    folder = copy_run(runs, "talmud", tmp_path / "other")
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    for entry in doc["inputs"]:
        del entry["copy"]
    doc["inputs"][0]["path"] = str(tmp_path / "gone.yaml")
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    result = invoke("audit", str(folder), "--ledger", runs.ledger)
    assert result.exit_code == 2
    assert "--scenario" in result.stderr


# --------------------------------------------------------------------------------------------
# The exact rule value: a tiny run of claims (1, 1, 5) under a fund of 4


def test_the_old_proportional_answer_0_0_4_is_flagged(tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    folder = tiny_run(tmp_path, ledger, ["2", "2", "10"], 4, "proportional")
    rows = read_awards(folder)
    assert sorted(r["claim_wan"] for r in rows) == ["1", "1", "5"]
    big = next(n for n, r in enumerate(rows) if r["claim_wan"] == "5")
    for n, row in enumerate(rows):
        row["award_wan"] = "4" if n == big else "0"
    write_awards(folder, rows)
    code, report = audit_json(folder, ledger)
    assert code == 1
    hit = findings(report, "exact")
    # Exact: 4/7, 4/7 and 20/7; the 4 is 1.14万元 from 20/7, the zeros are within 1.
    assert [f["row"] for f in hit] == [big + 2]
    assert "20/7 ≈ 2.8571" in hit[0]["message"]
    assert "1.1429万元 from the exact proportional value" in hit[0]["message"]
    exact = next(c for c in report["checks"] if c["name"] == "exact")
    assert exact["status"] == "failed"


def test_an_exact_run_passes_and_a_broken_order_is_flagged(tmp_path: Path) -> None:
    # Textbook claims 100, 200, 300 with an estate of 200 under equal awards: 200/3 each.
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    folder = tiny_run(tmp_path, ledger, ["200", "400", "600"], 200, "equal_awards")
    rows = read_awards(folder)
    claims = [int(r["claim_wan"]) for r in rows]
    assert sorted(claims) == [100, 200, 300]
    # Any whole vector within 1 of 66⅔ that spends 200: two 67s and a 66. Give the 66 to the
    # largest claim and the 67s to the others: within 1, summing to 200, order kept (a tie).
    order = sorted(range(3), key=lambda n: claims[n])
    for n, award in zip(order, ["67", "67", "66"], strict=True):
        rows[n]["award_wan"] = award
    write_awards(folder, rows)
    _, report = audit_json(folder, ledger)
    assert findings(report, "exact") == []
    # A total that is not the estate is flagged even when each award is within 1万元.
    rows[order[0]]["award_wan"] = "66"
    write_awards(folder, rows)
    _, report = audit_json(folder, ledger)
    hit = findings(report, "exact")
    assert any("add up to 199万元" in f["message"] for f in hit)


def test_priority_says_not_checked_and_a_floor_is_checked(runs: Runs) -> None:
    _, report = audit_json(runs.folders["priority"], runs.ledger)
    exact = next(c for c in report["checks"] if c["name"] == "exact")
    assert exact["status"] == "skipped"
    assert exact["detail"].startswith("not checked:")
    # equal_losses carries a district floor: its floor is met first, then checked exactly.
    _, report = audit_json(runs.folders["equal_losses"], runs.ledger)
    exact = next(c for c in report["checks"] if c["name"] == "exact")
    assert exact["status"] == "passed", exact


# --------------------------------------------------------------------------------------------
# Independence and the fairness definitions on hand-computed numbers


def test_audit_does_not_load_the_model_builder_or_a_solver() -> None:
    # Every module of allocator.analysis, imported in a fresh interpreter: none may pull in
    # the builder, a fairness rule, a solver or the writer that imports the builder.
    code = (
        "import importlib, pkgutil, sys, allocator.analysis as a; "
        "[importlib.import_module(m.name) for m in pkgutil.iter_modules(a.__path__, "
        "'allocator.analysis.')]; "
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('allocator.', 'ortools', 'highspy'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "'allocator.analysis.audit_recompute'" in out  # the walk did import the modules
    for module in (
        "allocator.model.",
        "allocator.solve.",
        "allocator.outputs.folder",
        "allocator.outputs.reasons",
        "allocator.outputs.tables",
        "allocator.outputs.workbook",
    ):
        assert f"'{module}" not in out
    assert "ortools" not in out
    assert "highspy" not in out


# --------------------------------------------------------------------------------------------
# Edited folders: audit and explain never crash


@dataclass(frozen=True)
class Tiny:
    """A tiny run: its folder holds the scenario, model and data beside ``out``."""

    root: Path
    ledger: str


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    root = tmp_path_factory.mktemp("tiny")
    ledger = f"sqlite:///{root / 'ledger.sqlite'}"
    # A fund above the claims (1, 1, 5): every rule pays them in full, so the audit of the
    # copy fails on the edit alone.
    tiny_run(root, ledger, ["2", "2", "10"], 10, "proportional")
    return Tiny(root, ledger)


def edit_json(change: Callable[[dict[str, Any]], object]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / "out" / "result.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc), encoding="utf-8")

    return edit


def edit_awards(column: str, value: str | None) -> Callable[[Path], None]:
    """Set ``column`` of the first row of awards.csv to ``value``, or drop it when None."""

    def edit(root: Path) -> None:
        rows = read_awards(root / "out")
        for row in rows:
            if value is None:
                row.pop(column)
        if value is not None:
            rows[0][column] = value
        write_awards(root / "out", rows)

    return edit


def drop_constraint_column(root: Path) -> None:
    path = root / "out" / "constraints.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n", "utf-8")


def truncate_a_sheet(root: Path) -> None:
    path = root / "out" / "awards.xlsx"
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet2.xml"
    parts[sheet] = parts[sheet][: len(parts[sheet]) // 2]
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def huge_total(root: Path) -> None:
    path = root / "out" / "result.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["total_awarded_wan"] = 0
    text = json.dumps(doc).replace('"total_awarded_wan": 0', '"total_awarded_wan": ' + "9" * 5000)
    path.write_text(text, encoding="utf-8")


def set_key(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc.__setitem__(key, value)


def set_input_path(doc: dict[str, Any]) -> None:
    doc["inputs"][0]["path"] = ["scenario.yaml"]


def set_copy_outside(doc: dict[str, Any]) -> None:
    doc["inputs"][2]["copy"] = "inputs/../../data.csv"


def set_copy_outside_windows(doc: dict[str, Any]) -> None:
    doc["inputs"][2]["copy"] = "inputs/..\\..\\data.csv"


def drop_scenario_input(doc: dict[str, Any]) -> None:
    doc["inputs"] = [i for i in doc["inputs"] if i["role"] != "scenario"]


def set_totals_part(doc: dict[str, Any]) -> None:
    doc["totals"]["per_clause"] = {"2": 4}


# (what is edited, the edit, audit's exit code and words, explain's exit code and words)
EDITS: list[tuple[str, Callable[[Path], None], int, str, int, str]] = [
    (
        "result a list",
        lambda root: (root / "out" / "result.json").write_text("[]"),
        2,
        "result.json",
        2,
        "result.json",
    ),
    (
        "result nested 100,000 deep",
        lambda root: (root / "out" / "result.json").write_text("[" * 100_000 + "]" * 100_000),
        2,
        "result.json",
        2,
        "result.json",
    ),
    (
        "inputs an object",
        edit_json(set_key("inputs", {"role": "scenario"})),
        2,
        "inputs",
        2,
        "inputs",
    ),
    ("an input path a list", edit_json(set_input_path), 2, "inputs", 2, "inputs"),
    ("no scenario input", edit_json(drop_scenario_input), 2, "inputs", 2, "inputs"),
    (
        "counts a list",
        edit_json(set_key("counts", [1, 2])),
        1,
        "counts is [1, 2], not a JSON object",
        0,
        "",
    ),
    (
        "totals a list",
        edit_json(set_key("totals", [{"per_clause": 1}])),
        1,
        "totals is [{'per_clause': 1}], not a JSON object",
        0,
        "",
    ),
    (
        "totals.per_clause an object",
        edit_json(set_totals_part),
        1,
        "totals.per_clause is {'2': 4}, not a JSON list",
        0,
        "",
    ),
    ("budget a list", edit_json(set_key("budget_wan", [4])), 1, "budget_wan [4], but", 0, "—万元"),
    ("solver a list", edit_json(set_key("solver", [1])), 0, "", 0, ""),
    (
        "a 5,000-digit total",
        huge_total,
        1,
        "total_awarded_wan is '<a number of 5000 digits>'",
        0,
        "",
    ),
    (
        "a 5,000-digit award",
        edit_awards("award_wan", "9" * 5000),
        1,
        "is not a whole number of 万元",
        0,
        "",
    ),
    (
        "an award of inf",
        edit_awards("award_wan", "inf"),
        1,
        "award_wan 'inf' is not a whole number of 万元",
        0,
        "",
    ),
    ("a truncated sheet", truncate_a_sheet, 1, "awards.xlsx sheet 奖补明细 cannot be read", 0, ""),
    (
        "awards.csv without reason",
        edit_awards("reason", None),
        1,
        "awards.csv expected the columns",
        2,
        "awards.csv",
    ),
    (
        "constraints.csv without members",
        drop_constraint_column,
        1,
        "constraints.csv expected the columns",
        0,
        "",
    ),
    (
        "the data copy gone",
        lambda root: next((root / "out" / "inputs").glob("*-data.csv")).unlink(),
        1,
        "of the data file data.csv is missing",
        2,
        "of the data file data.csv is missing",
    ),
    (
        "the model copy gone",
        lambda root: next((root / "out" / "inputs").glob("*-model.yaml")).unlink(),
        1,
        "of the model file model.yaml is missing",
        2,
        "of the model file model.yaml is missing",
    ),
    (
        "a copy named outside the folder",
        edit_json(set_copy_outside),
        2,
        "inputs",
        2,
        "inputs",
    ),
    (
        "a copy named outside the folder, Windows-style",
        edit_json(set_copy_outside_windows),
        2,
        "inputs",
        2,
        "inputs",
    ),
]


@pytest.mark.parametrize(
    ("edit", "audit_code", "audit_says", "explain_code", "explain_says"),
    [pytest.param(*case[1:], id=case[0]) for case in EDITS],
)
def test_an_edited_folder_gives_a_finding_or_exit_2(
    tiny: Tiny,
    tmp_path: Path,
    edit: Callable[[Path], None],
    audit_code: int,
    audit_says: str,
    explain_code: int,
    explain_says: str,
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(tiny.root, root, ignore=shutil.ignore_patterns("ledger.sqlite*"))
    recipient = read_awards(root / "out")[0]["recipient_id"]
    edit(root)
    scenario = str(root / "tiny.yaml")
    folder = str(root / "out")
    audited = invoke("audit", folder, "--ledger", tiny.ledger, "--scenario", scenario, "--json")
    assert audited.exception is None or isinstance(audited.exception, SystemExit)
    assert "Traceback" not in audited.output
    # A copy has no ledger entry (a warning); the edit alone decides the exit code.
    assert audited.exit_code == audit_code, audited.output
    if audit_code == 2:
        assert audit_says in audited.stderr
    else:
        report = json.loads(audited.stdout)
        messages = [f["message"] for f in report["findings"] if f["severity"] == "error"]
        assert all(len(m) < 1000 for m in messages)
        assert any(audit_says in m for m in messages) or not audit_says, messages
    explained = invoke(
        "explain", folder, recipient, "--ledger", tiny.ledger, "--scenario", scenario
    )
    assert explained.exception is None or isinstance(explained.exception, SystemExit)
    assert explained.exit_code == explain_code, explained.output
    assert explain_says in (explained.stderr if explain_code == 2 else explained.stdout)


# --------------------------------------------------------------------------------------------
# In Chinese


def test_the_report_reads_in_chinese(runs: Runs, tmp_path: Path) -> None:
    folder = copy_run(runs, "priority", tmp_path)
    rows = read_awards(folder)
    k = next(n for n, r in enumerate(rows) if int(r["claim_wan"]) >= 3)
    claim = int(rows[k]["claim_wan"])
    rows[k]["award_wan"] = str(claim + 2)
    write_awards(folder, rows)
    try:
        result = invoke("--lang", "zh", "audit", str(folder), "--ledger", runs.ledger)
        assert result.exit_code == 1
        text = result.stdout
        # The finding with its row and figures, the check's title, the outcome and the verdict.
        csv_row = k + 2
        recipient, item = rows[k]["recipient_id"], rows[k]["item_key"]
        assert (
            f"第 {csv_row} 行：{recipient} {item} 核定 {claim + 2}万元，超过测算金额 {claim}万元"
        ) in text
        assert "奖补为整数万元、不为负、不超过测算金额" in text
        assert "未通过" in text
        assert "分配规则 优先序，预算" in text  # the result check names the rule in Chinese
        verdict = text.strip().splitlines()[-1]
        assert verdict.startswith("审计未通过：")
        assert "integrality" in verdict  # the checks keep their names, for a script to grep
        # --json keeps its keys and codes; only the texts are Chinese.
        doc = json.loads(
            invoke("--lang", "zh", "audit", str(folder), "--ledger", runs.ledger, "--json").stdout
        )
        assert doc["verdict"] == "failed"
        (hit,) = findings(doc, "integrality")
        assert hit["severity"] == "error"
        assert "超过测算金额" in hit["message"]
    finally:
        set_language(None)
