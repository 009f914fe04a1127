"""Tables longer than an Excel sheet: the sheet lists the first rows, 汇总 says how many
there are and where all of them are. Tested with the sheet limit set to three rows."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pandas as pd
import pytest

from allocator.outputs import workbook
from allocator.outputs.names import AWARD_COLUMNS, CONSTRAINT_COLUMNS


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


def test_longer_tables_list_their_first_rows_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "EXCEL_MAX_ROWS", 3)
    sheets = _sheets(workbook.workbook_bytes(_doc(), _awards(5), _constraints(4)))
    # Header and the first three of five awards, in order; the same for the constraints.
    assert [r[0] for r in sheets["奖补明细"][1:]] == ["firm0", "firm1", "firm2"]
    assert [r[0] for r in sheets["约束"][1:]] == ["firm_cap[0]", "firm_cap[1]", "firm_cap[2]"]
    notes = [r[1] for r in sheets["汇总"] if r[0] == "说明"]
    assert notes == [
        "奖补明细共 5 行，超过 Excel 工作表行数上限，只列前 3 行；完整明细见 awards.csv",
        "约束共 4 行，超过 Excel 工作表行数上限，只列前 3 行；完整约束见 constraints.csv",
    ]
    # The other sheets are whole.
    assert set(sheets) == {"汇总", "奖补明细", "按条款", "按县区", "约束"}
