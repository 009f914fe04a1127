"""A clerk's mistakes that used to load without a word: each is now refused or warned.

Every case says what the file held, what happened before, and what happens now:

- a money header with another unit (``…工业总产值（元）``) or a typo: the column was ignored
  and the awards computed from it fell; now an error naming the field it resembles;
- an amount typed in 元: loaded as 万元, 10,000 times too large; now a warning naming the
  row and column, kept in ``result.json`` and ``report.html``, refused by ``run --strict``;
- a formula without a saved result: read as blank; a hidden first sheet: read instead of
  the visible one; firms on a second sheet: ignored; now refused;
- a totals row (合计): one message per blank required cell; now one message.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.analysis.metrics import run_metrics
from allocator.cli import main
from allocator.core import i18n
from allocator.core.errors import InputError, InputProblem
from allocator.inputs.data import load_enterprises
from allocator.inputs.headers import match_header
from allocator.inputs.plausible import MAX_FIRM_WAN, incomplete_district_sums
from allocator.inputs.schema import FIELD_BY_NAME, FIELDS
from allocator.inputs.template import DATA_SHEET, workbook_bytes

BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"

Record = dict[str, object]


def problems(*paths: Path) -> list[InputProblem]:
    with pytest.raises(InputError) as info:
        load_enterprises(*paths)
    return info.value.problems


def in_chinese(*paths: Path) -> list[str]:
    """The refusal of ``paths`` as a Chinese reader gets it, one line per problem."""
    try:
        i18n.set_language("zh")
        return [str(p) for p in problems(*paths)]
    finally:
        i18n.set_language("en")


# --------------------------------------------------------------------------------------------
# 8. Headers that nearly name a field


def test_a_money_header_in_yuan_is_refused_naming_the_field(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    # Before: the column was not a field, output_2026q1 was blank for every firm.
    path = write_records(firm(**{"2026年一季度工业总产值（元）": 8_000_000}))
    [p] = problems(path)
    assert (p.row, p.column) == (1, "2026年一季度工业总产值（元）")
    assert "resembles field '2026年一季度工业总产值' (output_2026q1)" in p.expected
    assert "the unit '元' where the field is in 万元" in p.expected
    assert in_chinese(path) == [
        f"{path}，第 1 行，第 '2026年一季度工业总产值（元）' 列：应为与字段名完全一致的表头；"
        "此表头近似字段 '2026年一季度工业总产值'（output_2026q1）：单位为 '元'，而该字段以万元为"
        "单位；请将该列换算为万元，并将表头改为 '2026年一季度工业总产值'"
        "（实际为 '2026年一季度工业总产值（元）'）"
    ]


@pytest.mark.parametrize(
    "header",
    ["2026年一季度工业总产值（万元）", "2026年一季度工业总产值(万元)", "output_2026q1 (万元)"],
)
def test_a_header_with_the_fields_own_unit_names_the_field(
    header: str, firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    data = load_enterprises(write_records(firm(**{header: 800})))
    assert "output_2026q1" in data.present
    assert data.frame.loc[0, "output_2026q1"] == 800


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("2025年一季度工业投资完成颔", "investment_2025q1"),  # 颔 for 额
        ("2026年一季度工业总产", "output_2026q1"),  # a character short
        ("output_2026_q1", "output_2026q1"),
        ("2026年一季度工业总产值（吨）", "output_2026q1"),  # a unit the field does not have
    ],
)
def test_a_header_close_to_a_field_is_an_error_naming_it(
    header: str, field: str, firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    [p] = problems(write_records(firm(**{header: 800})))
    f = FIELD_BY_NAME[field]
    assert (p.row, p.column, p.found) == (1, header, repr(header))
    assert f"resembles field {f.zh!r} ({field})" in p.expected


def test_half_width_brackets_name_the_same_field_as_full_width_ones() -> None:
    assert match_header("申报条款(2026年一季度)").field is FIELD_BY_NAME["applied_clauses_2026q1"]


def test_no_two_fields_of_the_schema_resemble_each_other() -> None:
    # Else a correct header could be taken for a typo of another field.
    for f in FIELDS:
        assert match_header(f.zh).field is f
        assert match_header(f.name).field is f


def test_a_header_unlike_every_field_is_still_only_ignored(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    data = load_enterprises(write_records(firm(备注="新企业")))
    assert data.warnings == (f"{data.files[0]}: columns not in the schema are ignored: '备注'",)


# --------------------------------------------------------------------------------------------
# 9. Amounts in 元


def test_an_output_typed_in_yuan_is_a_warning_naming_row_and_column(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    # 700万元 last year; this year's 800万元 typed as 8,000,000 元: 11,429 times as much.
    # Before: loaded as 8,000,000万元 without a word.
    path = write_records(
        firm(output_2025q1=700, output_2026q1=800),
        firm("91110000600037341L", output_2025q1=700, output_2026q1=8_000_000),
    )
    data = load_enterprises(path)
    assert data.frame["output_2026q1"].tolist() == [800, 8_000_000]  # loaded as written
    assert data.warnings == (
        f"{path}, row 3, column 'output_2026q1': 8,000,000.00 万元 is 11,429 times the firm's "
        "'output_2025q1' of 700.00 万元; was the amount entered in 元 rather than 万元?",
    )


def test_an_amount_no_firm_could_report_is_a_warning(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    path = write_records(firm(booth_fee_2026q1=MAX_FIRM_WAN + 1))
    i18n.set_language("zh")
    try:
        data = load_enterprises(path)
    finally:
        i18n.set_language("en")
    assert data.warnings == (
        f"{path}，第 2 行，第 'booth_fee_2026q1' 列：10,000,001 万元超过任何企业可能填报的数额"
        "（10,000,000 万元）；是否误以“元”而非“万元”填报？",
    )


def test_a_tenfold_rise_is_no_warning(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    data = load_enterprises(write_records(firm(output_2025q1=70, output_2026q1=700)))
    assert data.warnings == ()


@pytest.fixture
def yuan_run(tmp_path: Path) -> Path:
    """The bad-input catalogue's valid run, with one firm's 2026 output typed in 元."""
    folder = tmp_path / "in"
    shutil.copytree(BAD_INPUTS, folder, ignore=shutil.ignore_patterns("*-*"))
    data = folder / "data.csv"
    lines = data.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    assert cells[6:8] == ["800", "700"]  # output_2026q1, output_2025q1
    cells[6] = "8000000"
    lines[1] = ",".join(cells)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "scenario.yaml"


def test_run_keeps_the_warning_and_strict_refuses_it(yuan_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["run", str(yuan_run), "--out", str(out)])
    assert done.exit_code == 0, done.output
    warning = (
        f"{yuan_run.parent / 'data.csv'}, row 2, column 'output_2026q1': 8,000,000.00 万元 is "
        "11,429 times the firm's 'output_2025q1' of 700.00 万元; was the amount entered in 元 "
        "rather than 万元?"
    )
    assert f"warning: {warning}" in done.stderr
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["warnings"] == [warning]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="warning-list"' in report
    assert "11,429 times" in report

    refused = CliRunner().invoke(
        main, ["run", str(yuan_run), "--out", str(tmp_path / "strict"), "--strict"]
    )
    assert refused.exit_code == 2
    assert "--strict: expected data without warnings (found " + warning in refused.stderr
    assert "Traceback" not in refused.output
    assert not (tmp_path / "strict").exists()


def test_validate_shows_the_warning(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    path = write_records(firm(output_2025q1=700, output_2026q1=8_000_000))
    try:
        result = CliRunner().invoke(main, ["validate", str(path)], env={"ALLOCATE_LANG": "zh"})
    finally:
        i18n.set_language("en")  # the command chose the language of the whole process
    assert result.exit_code == 0, result.output
    assert "警告：" in result.stderr
    assert "是否误以“元”而非“万元”填报？" in result.stderr


# --------------------------------------------------------------------------------------------
# 10. Workbooks read wrong


def _template(tmp_path: Path, rows: int = 2) -> tuple[Path, openpyxl.Workbook]:
    """The template filled with ``rows`` firms of the sample, opened for editing."""
    sample = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "liuzhou-sample.csv"
    frame = load_enterprises(sample).frame.head(rows)
    path = tmp_path / "clerk.xlsx"
    path.write_bytes(workbook_bytes(frame))
    return path, openpyxl.load_workbook(path)


def test_a_formula_without_its_saved_value_is_refused(tmp_path: Path) -> None:
    path, book = _template(tmp_path)
    sheet = book[DATA_SHEET]
    column = [c.value for c in sheet[1]].index("2026年一季度工业总产值") + 1
    # openpyxl writes formulas without a cached result, as a script or a web export does.
    sheet.cell(4, column).value = "=100+200"
    book.save(path)
    # Before: the cell read as blank and the firm dropped out of every output clause.
    [p] = problems(path)
    assert (p.row, p.column, p.found) == (4, "2026年一季度工业总产值", "'=100+200'")
    assert "open the file in Excel and save it" in p.expected
    assert "请用 Excel 打开并保存该文件" in in_chinese(path)[0]


def test_a_hidden_first_sheet_is_not_read_in_place_of_the_data_sheet(tmp_path: Path) -> None:
    path, book = _template(tmp_path, rows=3)
    old = book.create_sheet("旧表", 0)
    old.sheet_state = "hidden"
    for row in book[DATA_SHEET].iter_rows(max_row=3, values_only=True):
        old.append(row)
    book.active = 1
    book.save(path)
    # Before: the hidden sheet's one firm was read; now the template's sheet is, and the
    # firms on the other sheet are a refusal rather than ignored.
    [p] = problems(path)
    assert "every firm on the sheet '企业数据' the template names" in p.expected
    assert p.found == "firm rows on the sheet '旧表' too (sheets: 旧表, 企业数据)"


def test_two_visible_sheets_of_firms_without_the_template_name_are_ambiguous(
    tmp_path: Path,
) -> None:
    path, book = _template(tmp_path)
    book[DATA_SHEET].title = "一月"
    copy = book.copy_worksheet(book["一月"])
    copy.title = "二月"
    book.save(path)
    [p] = problems(path)
    assert p.found == "firm rows on 2 sheets: '一月', '二月'"


def test_the_data_sheet_is_read_wherever_it_stands(tmp_path: Path) -> None:
    path, book = _template(tmp_path, rows=2)
    book.create_sheet("说明", 0).append(["本表由县区填报"])
    book.active = 0
    book.save(path)
    assert len(load_enterprises(path)) == 2


# --------------------------------------------------------------------------------------------
# 11. A totals row


def test_a_totals_row_is_one_message(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    total = {"credit_code": "", "name": "合计", "district": "", "industry": "",
             "above_scale": "", "manufacturing": "", "output_2026q1": 1600}  # fmt: skip
    path = write_records(firm(output_2026q1=800), firm("91110000600037341L"), total)
    # Before: six messages, one for each blank required cell of row 4.
    [p] = problems(path)
    assert (p.row, p.column, p.found) == (4, "name", "'合计'")
    assert in_chinese(path) == [
        f"{path}，第 4 行，第 'name' 列：应为每行一家企业；合计行不是企业，请删除该行"
        "（程序会自行汇总各企业）（实际为 '合计'）"
    ]


def test_a_firm_whose_name_holds_the_word_is_no_totals_row(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    data = load_enterprises(write_records(firm(name="柳州合计机械有限公司（模拟）")))
    assert len(data) == 1


def test_district_sums_over_a_partial_firm_list_warn_that_they_are_incomplete(
    firm: Callable[..., Record], write_records: Callable[..., Path]
) -> None:
    # 柳东新区: three firms, one without a 2025 output; 柳北区: one firm, its figure known.
    path = write_records(
        firm(output_2025q1=700),
        firm("91110000600037341L", output_2025q1=""),
        firm("91440300708461136T", output_2025q1=300),
        firm("91450200MA5K00001K", district="柳北区", output_2025q1=50),
    )
    data = load_enterprises(path)
    [warning] = incomplete_district_sums(data, "四（二）", ["output_2025q1", "output_2026q1"])
    assert warning == (
        "district figures are incomplete: 四（二） adds up '2025年一季度工业总产值' over each "
        "district's firms, but 1 firms in 1 districts have no value there (first: "
        f"{path} row 3); their districts' figures and awards leave them out"
    )


def test_eligible_is_one_count_in_run_compare_and_workbook(yuan_run: Path, tmp_path: Path) -> None:
    # Before: result.json (run, report, workbook) counted every recipient with an eligible
    # row, compare only those claiming more than 0, and awards.csv held claim-0 rows with no
    # reason. Here 丙's booth fee is 1万元: 50% of it is 0.5万元, which floor_wan makes 0.
    data = yuan_run.parent / "data.csv"
    text = data.read_text(encoding="utf-8")
    assert ",450,400,6,," in text
    data.write_text(text.replace(",450,400,6,,", ",450,400,1,,"), encoding="utf-8")
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["run", str(yuan_run), "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    awards = pd.read_csv(out / "awards.csv", dtype={"recipient_id": str})
    assert (awards["claim_wan"] > 0).all()
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert "91450203MA5K000035" not in set(awards["recipient_id"])  # 丙 claims nothing
    # 甲 and 乙 (output ≥ 500万元); 丙 claims 0, 丁 is not above scale and paid no fee.
    assert doc["counts"]["recipients"] == run_metrics(awards).eligible_recipients == 2
    assert doc["counts"]["eligible_claims"] == len(awards)
    sheet = openpyxl.load_workbook(out / "awards.xlsx", read_only=True)
    summary = {
        row[0]: row[1] for book in sheet.worksheets[:1] for row in book.iter_rows(values_only=True)
    }
    assert summary["符合条件的申报数"] == len(awards)
