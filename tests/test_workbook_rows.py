"""Tables longer than an Excel sheet: the workbook leaves them out, 汇总 says so, the sheet
明细文件 names the CSV file holding every row, and the audit accepts such a workbook while still
checking what it holds. Tested with the sheet limit set to a few rows."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.analysis import audit_published
from allocator.cli import main
from allocator.outputs import workbook
from allocator.outputs.names import AWARD_COLUMNS, CONSTRAINT_COLUMNS

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "liuzhou-2026-q1.yaml"


def _doc() -> dict[str, Any]:
    return {
        "scenario": "s",
        "policy": {"title": "t", "document_number": None},
        "status": "OPTIMAL",
        "rule": "priority",
        "budget_wan": 10,
        "budget_source": "scenario",
        "total_claim_wan": 15,
        "total_awarded_wan": 10,
        "counts": {
            "recipients": 5,
            "eligible_claims": 5,
            "funded_claims": 4,
            "funded_recipients": 4,
        },
        "totals": {"per_clause": [], "per_district": []},
    }


def _awards(n: int) -> pd.DataFrame:
    rows = [
        {
            "recipient_id": f"firm{k}",
            "recipient_name": f"企业{k}",
            "recipient_kind": "enterprise",
            "district": "柳南区",
            "industry": "machinery",
            "clause_id": "1.1",
            "item_key": "1.1/a",
            "claim_wan": 3,
            "award_wan": 2 if k else 0,
            "reason": None,
        }
        for k in range(n)
    ]
    return pd.DataFrame(rows, columns=list(AWARD_COLUMNS))


def _constraints(n: int) -> pd.DataFrame:
    rows = [
        {
            "name": f"firm_cap[{k}]",
            "family": "firm_cap",
            "clause_id": "1.1",
            "sense": "<=",
            "lhs": 2,
            "rhs": 2,
            "slack": 0,
            "binding": True,
            "members": 1,
        }
        for k in range(n)
    ]
    return pd.DataFrame(rows, columns=list(CONSTRAINT_COLUMNS))


def _sheets(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return {s.title: [tuple(r) for r in s.iter_rows(values_only=True)] for s in book}
    finally:
        book.close()


def test_tables_within_the_limit_are_whole_and_unremarked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 3)
    sheets = _sheets(workbook.workbook_bytes(_doc(), _awards(3), _constraints(3)))
    assert [r[0] for r in sheets["奖补明细"][1:]] == ["firm0", "firm1", "firm2"]
    assert len(sheets["约束"]) == 4
    assert "说明" not in [r[0] for r in sheets["汇总"]]


def test_longer_tables_are_left_to_their_csv_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 3)
    sheets = _sheets(workbook.workbook_bytes(_doc(), _awards(5), _constraints(4)))
    # Neither table is cut short in a sheet: both are left out, and named where they are.
    assert list(sheets) == ["汇总", "按条款", "按县区", "明细文件"]
    assert sheets["明细文件"] == [
        ("明细", "行数", "文件"),
        ("奖补明细", 5, "awards.csv"),
        ("约束", 4, "constraints.csv"),
    ]
    notes = [r[1] for r in sheets["汇总"] if r[0] == "说明"]
    assert notes == [
        "奖补明细共 5 行，超过 Excel 工作表行数上限，不列入本工作簿；完整明细见 awards.csv",
        "约束共 4 行，超过 Excel 工作表行数上限，不列入本工作簿；完整约束见 constraints.csv",
    ]
    # The summary's figures are those of the run.
    assert ("奖补总额（万元）", 10) in sheets["汇总"]


def test_a_table_within_the_limit_keeps_its_sheet_beside_a_longer_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 3)
    sheets = _sheets(workbook.workbook_bytes(_doc(), _awards(4), _constraints(2)))
    assert list(sheets) == ["汇总", "按条款", "按县区", "约束", "明细文件"]
    assert [r[0] for r in sheets["约束"][1:]] == ["firm_cap[0]", "firm_cap[1]"]
    assert sheets["明细文件"][1:] == [("奖补明细", 4, "awards.csv")]


# --- the audit of such a workbook -----------------------------------------------------------


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The 2026 sample allocated with a sheet of 20 rows: its awards exceed it."""
    root = tmp_path_factory.mktemp("rows")
    ledger = f"sqlite:///{root / 'ledger.sqlite'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(workbook, "EXCEL_MAX_ROWS", 20)
        result = CliRunner().invoke(
            main, ["run", str(SCENARIO), "--out", str(root / "out"), "--quiet", "--ledger", ledger]
        )
    assert result.exit_code == 0, result.output
    return root / "out", ledger


def _audit(folder: Path, ledger: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["audit", str(folder), "--ledger", ledger, "--json"])
    report = json.loads(result.stdout)
    errors = [f["message"] for f in report["findings"] if f["severity"] == "error"]
    return result.exit_code, errors


def test_the_audit_accepts_a_summary_workbook_and_checks_it(
    long_run: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, ledger = long_run
    monkeypatch.setattr(audit_published, "EXCEL_MAX_ROWS", 20)
    sheets = _sheets((folder / "awards.xlsx").read_bytes())
    assert "奖补明细" not in sheets
    assert "约束" in sheets
    assert _audit(folder, ledger) == (0, [])

    # The summary is still checked against awards.csv: a wrong total is caught.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    doc = json.loads((copy / "result.json").read_text(encoding="utf-8"))
    awards = pd.read_csv(copy / "awards.csv", dtype=str, keep_default_na=False)
    constraints = pd.read_csv(copy / "constraints.csv", dtype=str, keep_default_na=False)
    doc["total_awarded_wan"] += 1
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 20)
    (copy / "awards.xlsx").write_bytes(workbook.workbook_bytes(doc, awards, constraints))
    code, errors = _audit(copy, ledger)
    assert code == 1
    assert any("汇总" in m and "奖补总额（万元）" in m for m in errors), errors


def test_the_audit_refuses_a_sheet_left_out_that_would_fit(long_run: tuple[Path, str]) -> None:
    folder, ledger = long_run
    # With Excel's own limit the sample's tables fit: leaving them out is a finding.
    code, errors = _audit(folder, ledger)
    assert code == 1
    assert any("奖补明细" in m and "awards.csv" in m for m in errors), errors
