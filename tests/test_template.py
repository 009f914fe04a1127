"""The Excel template: two header rows, drop-downs, a field sheet; it loads back empty."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.i18n import speaking
from allocator.inputs.data import load_enterprises
from allocator.inputs.generate import generate_population
from allocator.inputs.schema import FIELD_BY_NAME, FIELDS
from allocator.inputs.template import DATA_SHEET, FIELDS_SHEET, unit_label, workbook_bytes


def _write(tmp_path: Path) -> Path:
    out = tmp_path / "模板.xlsx"
    result = CliRunner().invoke(main, ["template", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_unit_label() -> None:
    assert unit_label(FIELD_BY_NAME["output_2025q1"]) == "output_2025q1 · 万元 · 选填"
    assert unit_label(FIELD_BY_NAME["credit_code"]) == "credit_code · 必填"
    assert unit_label(FIELD_BY_NAME["above_scale"]) == "above_scale · 是/否 · 必填"
    assert unit_label(FIELD_BY_NAME["power_2025q4"]) == "power_2025q4 · 万千瓦时 · 选填"


def test_layout(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_write(tmp_path))
    assert book.sheetnames[:2] == [DATA_SHEET, FIELDS_SHEET]
    ws = book[DATA_SHEET]
    assert [c.value for c in ws[1]] == [f.zh for f in FIELDS]
    assert [c.value for c in ws[2]] == [unit_label(f) for f in FIELDS]
    assert ws.max_row == 2
    assert ws.freeze_panes == "C3"
    assert ws.column_dimensions["A"].width > 10
    assert ws.column_dimensions["A"].number_format == "@"  # credit codes stay text
    ranges = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    col = {f.name: openpyxl.utils.get_column_letter(i) for i, f in enumerate(FIELDS, start=1)}
    assert ranges[f"{col['district']}3:{col['district']}5002"] == "'选项'!$A$1:$A$12"
    assert ranges[f"{col['industry']}3:{col['industry']}5002"] == "'选项'!$B$1:$B$18"
    yes_no = next(dv for dv in ws.data_validations.dataValidation if dv.formula1 == '"是,否"')
    assert f"{col['above_scale']}3:{col['above_scale']}5002" in str(yes_no.sqref)
    assert book["选项"].sheet_state == "hidden"
    assert book["选项"]["A1"].value == "城中区"


def test_field_sheet_lists_every_field(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(_write(tmp_path))[FIELDS_SHEET]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in rows] == [f.name for f in FIELDS]
    credit = rows[0]
    assert credit[:7] == (
        "A",
        "统一社会信用代码",
        "credit_code",
        "text",
        None,
        "required",
        "Identity",
    )


def test_field_sheet_speaks_chinese_by_default(tmp_path: Path) -> None:
    out = tmp_path / "模板.xlsx"
    with speaking("zh"):
        out.write_bytes(workbook_bytes())
    ws = openpyxl.load_workbook(out)[FIELDS_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "列",
        "中文表头",
        "字段名",
        "类型",
        "单位",
        "必填",
        "分组",
        "说明",
        "相关条款",
    )
    assert rows[1][:8] == (
        "A",
        "统一社会信用代码",
        "credit_code",
        "文本",
        None,
        "必填",
        "基本信息",
        "18 位统一社会信用代码（GB 32100-2015），核验校验码",
    )
    by_name = {r[2]: r for r in rows[1:]}
    assert by_name["output_2025q1"][3:8] == (
        "金额",
        "万元",
        "选填",
        "产值和收入",
        "2025年一季度工业总产值",
    )
    # Every description is Chinese: none is left in the schema's English.
    assert all(re.search(r"[\u4e00-\u9fff]", r[7]) for r in rows[1:])


def test_empty_template_loads_as_a_valid_empty_table(tmp_path: Path) -> None:
    data = load_enterprises(_write(tmp_path))
    assert len(data) == 0
    assert list(data.frame.columns) == [f.name for f in FIELDS]
    assert data.present == frozenset(f.name for f in FIELDS)
    assert data.warnings == ()


def test_filled_template_loads_from_row_3(tmp_path: Path) -> None:
    frame = generate_population(25, 9)
    (tmp_path / "filled.xlsx").write_bytes(workbook_bytes(frame))
    data = load_enterprises(tmp_path / "filled.xlsx")
    pd.testing.assert_frame_equal(data.frame, frame)
    assert data.row_numbers.tolist() == list(range(3, 28))


def test_same_bytes_every_time() -> None:
    first = workbook_bytes()
    time.sleep(1.1)
    assert workbook_bytes() == first


def test_refuses_other_extensions(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 2
    assert "the template is an .xlsx workbook" in result.output
