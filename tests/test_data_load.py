"""Loading enterprise data: every format and encoding, headers, and the dtype contract."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from allocator.inputs.data import load_enterprises
from allocator.inputs.schema import FIELD_BY_NAME, FIELDS, Kind

Record = dict[str, object]

ZH = {f.name: f.zh for f in FIELDS}


def zh_record(record: Record) -> Record:
    return {ZH.get(k, k): v for k, v in record.items()}


def test_utf8_csv_with_english_headers(firm: Callable[..., Record], write_records) -> None:
    path = write_records(firm(output_2025q1="1200.5"))
    data = load_enterprises(path)
    assert len(data) == 1
    row = data.frame.iloc[0]
    assert row["credit_code"] == "91350100M000100Y43"
    assert row["district"] == "柳东新区"
    assert row["output_2025q1"] == 1200.5
    assert data.row_numbers.tolist() == [2]
    assert data.source_file.tolist() == [0]
    assert data.files == (path,)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_with_chinese_headers(
    encoding: str, firm: Callable[..., Record], write_records
) -> None:
    record = zh_record(firm(name="柳州螺蛳粉食品有限公司（模拟）", district="鹿寨县"))
    path = write_records(record, encoding=encoding, newline="\r\n")
    frame = load_enterprises(path).frame
    assert frame.loc[0, "name"] == "柳州螺蛳粉食品有限公司（模拟）"
    assert frame.loc[0, "district"] == "鹿寨县"
    assert bool(frame.loc[0, "above_scale"]) is True


def test_gb18030_only_characters(firm: Callable[..., Record], write_records) -> None:
    # 𠮷 is outside GBK; only GB18030 (four-byte form) can hold it.
    path = write_records(zh_record(firm(name="柳州𠮷祥有限公司（模拟）")), encoding="gb18030")
    assert load_enterprises(path).frame.loc[0, "name"] == "柳州𠮷祥有限公司（模拟）"


def test_headers_tolerate_spaces_case_and_full_width(
    firm: Callable[..., Record], write_csv
) -> None:
    record = firm(industry="绿色食品加工(含螺蛳粉)")
    header = [" Credit_Code ", "企业 名称", "所属县区", " industry", "ABOVE_SCALE", "制造业企业"]
    path = write_csv([header, list(record.values())])
    frame = load_enterprises(path).frame
    assert frame.loc[0, "credit_code"] == "91350100M000100Y43"
    assert frame.loc[0, "industry"] == "green_food"  # half-width brackets match the label


def test_dtype_contract_and_blank_fill(firm: Callable[..., Record], write_records) -> None:
    path = write_records(
        firm(
            output_2025q1="1,234.5",
            special_steel_share_2025q1="45%",
            production_start="2024/4/1",
            two_high="Y",
            applied_clauses=" 1， 3.9 、5.1;; ",
            main_product="螺蛳粉",
        )
        | {"main_product": "预包装柳州螺蛳粉"},
        firm("91110000600037341L", district="Liudong New Area", industry="汽车零部件"),
    )
    data = load_enterprises(path)
    frame = data.frame
    assert list(frame.columns) == [f.name for f in FIELDS]
    assert frame.index.equals(pd.RangeIndex(2))
    for f in FIELDS:
        dtype = frame[f.name].dtype
        if f.kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST):
            assert dtype.kind == "O", f.name
            assert all(isinstance(v, str) for v in frame[f.name]), f.name
        elif f.kind is Kind.BOOL:
            assert dtype == np.bool_, f.name
        elif f.kind is Kind.DATE:
            assert dtype == "datetime64[ns]", f.name
        else:
            assert dtype == np.float64, f.name
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["output_2025q1"] == 1234.5
    assert first["special_steel_share_2025q1"] == 45.0
    assert first["production_start"] == pd.Timestamp("2024-04-01")
    assert bool(first["two_high"]) is True
    assert first["applied_clauses"] == "1;3.9;5.1"
    assert first["main_product"] == "luosifen"
    assert second["district"] == "柳东新区"
    assert second["industry"] == "auto_parts"
    # blanks: "" for text, False for optional flags, NaN for numbers, NaT for dates
    assert second["applied_clauses"] == ""
    assert second["chem_park"] == ""
    assert bool(second["two_high"]) is False
    assert np.isnan(second["output_2025q1"])
    assert pd.isna(second["production_start"])
    assert data.present == frozenset(
        {"credit_code", "name", "district", "industry", "above_scale", "manufacturing",
         "output_2025q1", "special_steel_share_2025q1", "production_start", "two_high",
         "applied_clauses", "main_product"}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("written", "expected"),
    [("是", True), ("否", False), ("Y", True), ("n", False), ("Yes", True), ("NO", False),
     ("true", True), ("FALSE", False), ("1", True), ("0", False), ("√", True), (" 是 ", True),
     ("", False)],
)  # fmt: skip
def test_flag_spellings(
    written: str, expected: bool, firm: Callable[..., Record], write_records
) -> None:
    path = write_records(firm(gov_platform=written))
    assert bool(load_enterprises(path).frame.loc[0, "gov_platform"]) is expected


@pytest.mark.parametrize(
    "written", ["2024-04-01", "2024/4/1", "20240401", "2024.4.1", "2024年4月1日", "45383",
                "2024-04-01 00:00:00"],
)  # fmt: skip
def test_date_spellings(written: str, firm: Callable[..., Record], write_records) -> None:
    # 45383 is 2024-04-01 in Excel's 1900 date system: 1899-12-30 plus 45383 days.
    path = write_records(firm(production_start=written))
    assert load_enterprises(path).frame.loc[0, "production_start"] == pd.Timestamp("2024-04-01")


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(
    firm: Callable[..., Record], write_csv
) -> None:
    a, b = firm(), firm("91110000600037341L")
    rows = [list(a), list(a.values()), [""] * 6, list(b.values()), [""] * 6]
    data = load_enterprises(write_csv(rows))
    assert data.row_numbers.tolist() == [2, 4]
    assert data.frame["credit_code"].tolist() == ["91350100M000100Y43", "91110000600037341L"]


def test_rows_above_the_header_are_skipped_with_a_warning(
    firm: Callable[..., Record], write_csv
) -> None:
    a = firm()
    rows = [["2025年一季度企业数据"], [], list(a), list(a.values())]
    data = load_enterprises(write_csv(rows))
    assert data.row_numbers.tolist() == [4]
    assert any("rows 1-2 above the header row 3" in w for w in data.warnings)


def test_unknown_columns_are_warnings(firm: Callable[..., Record], write_records) -> None:
    data = load_enterprises(write_records(firm(备注="老客户", extra="x")))
    assert len(data) == 1
    assert data.warnings == (
        f"{data.files[0]}: columns not in the schema are ignored: '备注', 'extra'",
    )


def test_unit_row_under_the_header_is_skipped(firm: Callable[..., Record], write_csv) -> None:
    record = zh_record(firm(output_2025q1="10"))
    units = ["credit_code · 必填", "name · 必填", "district · 下拉选择 · 必填",
             "industry · 下拉选择 · 必填", "above_scale · 是/否 · 必填",
             "manufacturing · 是/否 · 必填", "output_2025q1 · 万元 · 选填"]  # fmt: skip
    data = load_enterprises(write_csv([list(record), units, list(record.values())]))
    assert len(data) == 1
    assert data.row_numbers.tolist() == [3]
    assert data.frame.loc[0, "output_2025q1"] == 10.0


def test_several_files_are_concatenated(firm: Callable[..., Record], write_records) -> None:
    one = write_records(firm(), name="one.csv")
    two = write_records(zh_record(firm("91110000600037341L", output_2026q1="7")), name="two.csv",
                        encoding="gbk")  # fmt: skip
    data = load_enterprises(one, two)
    assert data.frame["credit_code"].tolist() == ["91350100M000100Y43", "91110000600037341L"]
    assert data.source_file.tolist() == [0, 1]
    assert data.row_numbers.tolist() == [2, 2]
    assert data.locate(1) == (str(two), 2)
    assert np.isnan(data.frame.loc[0, "output_2026q1"])  # the first file has no such column
    assert data.frame.loc[1, "output_2026q1"] == 7.0
    assert len(data.sha256) == 2
    assert data.sha256[0] != data.sha256[1]


def test_sha256_is_of_the_file_bytes(firm: Callable[..., Record], write_records) -> None:
    import hashlib

    path = write_records(firm())
    assert load_enterprises(path).sha256 == (hashlib.sha256(path.read_bytes()).hexdigest(),)


def _workbook(path: Path, rows: list[list[object]], *, sheets_before: int = 0) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    if sheets_before:
        first.title = "说明"
        ws = book.create_sheet("数据")
    else:
        ws = first
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_xlsx_typed_cells(tmp_path: Path, firm: Callable[..., Record]) -> None:
    record = zh_record(firm())
    header = [*record, ZH["output_2025q1"], ZH["production_start"], ZH["two_high"],
              ZH["parts_validated_2025q1"]]  # fmt: skip
    values = [*record.values(), 1234.5, dt.datetime(2024, 4, 1), True, 3]
    data = load_enterprises(_workbook(tmp_path / "d.xlsx", [header, values], sheets_before=1))
    row = data.frame.iloc[0]
    assert row["output_2025q1"] == 1234.5
    assert row["production_start"] == pd.Timestamp("2024-04-01")
    assert bool(row["two_high"]) is True
    assert row["parts_validated_2025q1"] == 3.0
    assert data.row_numbers.tolist() == [2]


def test_xlsx_percentage_cells_read_as_shown(tmp_path: Path, firm: Callable[..., Record]) -> None:
    record = firm()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append([*record, "special_steel_share_2025q1"])
    ws.append([*record.values(), 0.455])
    ws.cell(row=2, column=len(record) + 1).number_format = "0.0%"
    book.save(tmp_path / "p.xlsx")
    frame = load_enterprises(tmp_path / "p.xlsx").frame
    assert frame.loc[0, "special_steel_share_2025q1"] == 45.5


def test_parquet_typed_and_text(tmp_path: Path, firm: Callable[..., Record]) -> None:
    typed = pd.DataFrame(
        {
            **{k: [v] for k, v in firm().items() if k not in ("above_scale", "manufacturing")},
            "above_scale": [True],
            "manufacturing": [False],
            "output_2025q1": [1200.25],
            "parts_validated_2025q1": pd.array([2], dtype="Int64"),
            "production_start": [pd.Timestamp("2024-05-06")],
        }
    )
    typed.to_parquet(tmp_path / "t.parquet")
    frame = load_enterprises(tmp_path / "t.parquet").frame
    assert bool(frame.loc[0, "above_scale"]) is True
    assert bool(frame.loc[0, "manufacturing"]) is False
    assert frame.loc[0, "output_2025q1"] == 1200.25
    assert frame.loc[0, "parts_validated_2025q1"] == 2.0
    assert frame.loc[0, "production_start"] == pd.Timestamp("2024-05-06")

    text = pd.DataFrame({ZH[k]: [str(v)] for k, v in firm(output_2025q1="1,200.25").items()})
    text.to_parquet(tmp_path / "s.parquet")
    assert load_enterprises(tmp_path / "s.parquet").frame.loc[0, "output_2025q1"] == 1200.25


def test_excel_gbk_csv_loads_like_its_workbook(tmp_path: Path) -> None:
    """An XLSX and the CSV Excel saves from it ('CSV (逗号分隔)': GBK, CRLF) load alike."""
    fields = ["credit_code", "name", "district", "industry", "above_scale", "manufacturing",
              "output_2024q1", "output_2025q1", "production_start", "special_steel_share_2025q1",
              "two_high", "parts_validated_2025q1", "applied_clauses"]  # fmt: skip
    typed = [
        ["91350100M000100Y43", "柳州甲钢铁有限公司（模拟）", "柳北区", "钢铁", "是", "是",
         118000.25, 125000.5, dt.datetime(2008, 9, 1), 0.462, "否", None, "5;1.1"],
        ["91110000600037341L", "柳州乙螺蛳粉有限公司（模拟）", "鹿寨县", "绿色食品加工（含螺蛳粉）",
         "是", "是", 820, 1034.75, dt.datetime(2024, 4, 1), None, "否", 2, "7"],
    ]  # fmt: skip
    # What Excel shows, and so writes: dates as 2008/9/1, a percentage as 46.2%, numbers
    # with the column's thousands format.
    shown = [
        ["91350100M000100Y43", "柳州甲钢铁有限公司（模拟）", "柳北区", "钢铁", "是", "是",
         "118,000.25", "125,000.50", "2008/9/1", "46.2%", "否", "", "5;1.1"],
        ["91110000600037341L", "柳州乙螺蛳粉有限公司（模拟）", "鹿寨县", "绿色食品加工（含螺蛳粉）",
         "是", "是", "820.00", "1,034.75", "2024/4/1", "", "否", "2", "7"],
    ]  # fmt: skip
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append([FIELD_BY_NAME[f].zh for f in fields])
    for row in typed:
        ws.append(row)
    for r in (2, 3):
        ws.cell(row=r, column=7).number_format = "#,##0.00"
        ws.cell(row=r, column=8).number_format = "#,##0.00"
        ws.cell(row=r, column=9).number_format = "yyyy/m/d"
        ws.cell(row=r, column=10).number_format = "0.0%"
    book.save(tmp_path / "企业.xlsx")
    header = ",".join(FIELD_BY_NAME[f].zh for f in fields)
    lines = [header, *(",".join(f'"{c}"' if "," in c else c for c in row) for row in shown)]
    (tmp_path / "企业.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))

    from_xlsx = load_enterprises(tmp_path / "企业.xlsx")
    from_csv = load_enterprises(tmp_path / "企业.csv")
    pd.testing.assert_frame_equal(from_csv.frame, from_xlsx.frame)
    assert from_csv.row_numbers.tolist() == from_xlsx.row_numbers.tolist() == [2, 3]
    assert from_csv.present == from_xlsx.present
    row = from_csv.frame.iloc[0]
    assert row["special_steel_share_2025q1"] == 46.2
    assert row["output_2025q1"] == 125000.5
    assert row["industry"] == "steel"
