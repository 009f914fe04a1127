"""Every class of bad input gives one InputError naming file, row, column, value and expectation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from allocator.core.errors import InputError, InputProblem
from allocator.inputs import read
from allocator.inputs.data import MAX_REPORTED, load_enterprises

SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "liuzhou-sample.csv"

Record = dict[str, object]


def problems(*paths: Path) -> list[InputProblem]:
    with pytest.raises(InputError) as info:
        load_enterprises(*paths)
    return info.value.problems


def only(*paths: Path) -> InputProblem:
    found = problems(*paths)
    assert len(found) == 1, found
    return found[0]


def assert_at(p: InputProblem, row: int, column: str) -> None:
    """The problem and its message name the row and the column as headed in the file."""
    assert (p.row, p.column) == (row, column)
    assert f"row {row}, column {column!r}" in str(p)


def test_missing_required_column(firm: Callable[..., Record], write_records) -> None:
    record = firm()
    del record["industry"]
    p = only(write_records(record))
    assert_at(p, 1, "industry")
    assert "'所属行业' or 'industry'" in p.expected
    assert "required" in p.expected
    assert p.found == "no such column"


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("output_2025q1", "abc", "an amount in 万元"),
        ("output_2025q1", "1,23", "an amount in 万元"),  # not a thousands grouping
        ("passenger_vehicles_2025q1", "many", "a quantity in 辆"),
        ("parts_validated_2025q1", "2.5", "a whole number"),
        ("production_start", "2024-02-30", "a date such as 2024-04-01"),
        ("production_start", "soon", "a date such as 2024-04-01"),
        ("two_high", "maybe", "是 or 否"),
    ],
)
def test_wrong_type(
    column: str, value: str, expected: str, firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(), firm("91110000600037341L", **{column: value})))
    assert_at(p, 3, column)
    assert expected in p.expected
    assert p.found == repr(value)
    assert f"(found {value!r})" in str(p)


@pytest.mark.parametrize("column", ["credit_code", "name", "district", "industry", "above_scale"])
def test_blank_where_required(column: str, firm: Callable[..., Record], write_records) -> None:
    p = only(write_records(firm(**{column: ""})))
    assert_at(p, 2, column)
    assert p.expected.startswith("a value, as the column is required")
    assert p.found == "a blank cell"


@pytest.mark.parametrize(
    "column", ["output_2025q1", "investment_2025q1", "commercial_vehicles_2025q1", "parcels_2025q1"]
)
def test_negative_money_and_volumes(
    column: str, firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(**{column: "-0.5"})))
    assert_at(p, 2, column)
    assert p.expected == "a value of 0 or more"
    assert p.found == "'-0.5'"


@pytest.mark.parametrize(("value", "expected"), [("100.5", "from 0 to 100"), ("-1", "0 or more")])
def test_percent_outside_0_to_100(
    value: str, expected: str, firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(special_steel_share_2025q1=value)))
    assert_at(p, 2, "special_steel_share_2025q1")
    assert expected in p.expected


def test_percent_bounds_are_inclusive(firm: Callable[..., Record], write_records) -> None:
    path = write_records(
        firm(special_steel_share_2025q1="0"),
        firm("91110000600037341L", special_steel_share_2025q1="100"),
    )
    assert load_enterprises(path).frame["special_steel_share_2025q1"].tolist() == [0.0, 100.0]


def test_duplicate_code_in_one_file_names_both_rows(
    firm: Callable[..., Record], write_records
) -> None:
    path = write_records(firm(), firm("91110000600037341L"), firm(name="另一家（模拟）"))
    p = only(path)
    assert_at(p, 4, "credit_code")
    assert "row 2 has it too" in p.expected
    assert p.found == "'91350100M000100Y43'"


def test_duplicate_code_across_files_names_both_files(
    firm: Callable[..., Record], write_records
) -> None:
    one = write_records(firm(), name="one.csv")
    two = write_records({"统一社会信用代码" if k == "credit_code" else k: v for k, v in
                         firm(" 91350100m000100y43 ").items()}, name="two.csv")  # fmt: skip
    p = only(one, two)
    assert p.file == str(two)
    assert_at(p, 2, "统一社会信用代码")  # the header as the second file writes it
    assert f"{one} row 2 has it too" in p.expected


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y4", "18 characters, not 17"),
        ("91350100M000100Y43X", "18 characters, not 19"),
        ("91350100M00I100Y43", "'I' is not allowed"),
        ("91350100M000100Y44", "check character '3' at position 18, not '4'"),
    ],
)
def test_invalid_credit_code(
    code: str, why: str, firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(code)))
    assert_at(p, 2, "credit_code")
    assert "GB 32100-2015" in p.expected
    assert why in p.expected
    assert p.found == repr(code)


def test_credit_code_case_and_width_are_forgiven(
    firm: Callable[..., Record], write_records
) -> None:
    path = write_records(firm("９１350100m000100y43"))
    assert load_enterprises(path).frame.loc[0, "credit_code"] == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("column", "value", "listed"),
    [
        ("district", "桂林市", ["城中区", "阳和工业新区", "Liudong New Area"]),
        ("industry", "cars", ["auto_vehicle (汽车整车)", "utilities"]),
        ("main_product", "米粉", ["tcm (中成药)", "luosifen (预包装柳州螺蛳粉)"]),
    ],
)
def test_unknown_category_lists_accepted_values(
    column: str, value: str, listed: list[str], firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(**{column: value})))
    assert_at(p, 2, column)
    assert all(v in p.expected for v in listed)
    assert p.found == repr(value)


@pytest.mark.parametrize("literal", ["NaN", "nan", "inf", "-inf", "Infinity", "#N/A", "N/A"])
def test_nan_and_inf_literals(literal: str, firm: Callable[..., Record], write_records) -> None:
    p = only(write_records(firm(output_2025q1=literal)))
    assert_at(p, 2, "output_2025q1")
    assert "NaN, inf and N/A are not values" in p.expected


def test_values_beyond_integer_safety(firm: Callable[..., Record], write_records) -> None:
    path = write_records(firm(output_2025q1="1000000000000"),
                         firm("91110000600037341L", output_2025q1="1000000000001"))  # fmt: skip
    p = only(path)
    assert_at(p, 3, "output_2025q1")
    assert p.expected == "a value of at most 1e+12"


def test_the_same_field_twice(firm: Callable[..., Record], write_csv) -> None:
    record = firm()
    path = write_csv([[*record, "企业名称"], [*record.values(), "重复"]])
    p = only(path)
    assert_at(p, 1, "企业名称")
    assert "column 'name' is already field name" in p.expected


def test_csv_row_longer_than_the_header(firm: Callable[..., Record], write_csv) -> None:
    record = firm()
    shifted = list(record.values())
    shifted[1] = "柳州甲"
    shifted.insert(2, "乙有限公司")  # an unquoted comma in the name
    p = problems(write_csv([list(record), list(record.values()), shifted]))
    assert p[0].row == 3
    assert p[0].column == "column 7"
    assert "at most 6 cells" in p[0].expected
    assert "needs quotes" in p[0].expected
    assert p[0].found == "7 cells"


def test_every_problem_of_every_file_at_once(firm: Callable[..., Record], write_records) -> None:
    one = write_records(firm(district="桂林", output_2025q1="x"), name="one.csv")
    two = write_records(firm("91110000600037341L", name="", industry="钢"), name="two.csv")
    with pytest.raises(InputError) as info:
        load_enterprises(one, two)
    where = [(p.file, p.row, p.column) for p in info.value.problems]
    assert where == [
        (str(one), 2, "district"),
        (str(one), 2, "output_2025q1"),
        (str(two), 2, "name"),
        (str(two), 2, "industry"),
    ]
    assert str(info.value).startswith("4 problems:\n  - ")


# --- files that cannot be read at all --------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_bytes(b"\r\n  \r\n")
    for name in ("empty.csv", "blank.csv"):
        p = only(tmp_path / name)
        assert p.found == "an empty file"
        assert p.file == str(tmp_path / name)


def test_workbook_without_a_data_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.create_sheet("第二页")
    book.save(tmp_path / "empty.xlsx")
    p = only(tmp_path / "empty.xlsx")
    assert p.found == "no sheet has any data (sheets: Sheet, 第二页)"


def test_header_only_is_a_valid_empty_table(firm: Callable[..., Record], write_csv) -> None:
    data = load_enterprises(write_csv([list(firm())]))
    assert len(data) == 0
    assert data.frame.shape == (0, 87)


def test_damaged_utf8_is_refused_not_read_as_gbk(
    firm: Callable[..., Record], write_records
) -> None:
    path = write_records(firm(name="柳州螺蛳粉食品有限公司（模拟）"))
    data = path.read_bytes()
    at = data.index("螺".encode())  # E8 9E BA; its second byte is damaged
    path.write_bytes(data[: at + 1] + b"\xff" + data[at + 2 :])
    p = only(path)
    assert p.row == 2
    assert p.found == f"bytes E8 FF BA E8 at byte offset {at}, invalid in UTF-8"
    assert "UTF-8 or GBK/GB18030" in p.expected


def test_bytes_valid_in_neither_encoding(tmp_path: Path) -> None:
    body = "统一社会信用代码,企业名称\r\n".encode("gbk") + b"91350100M000100Y43,\x81\x20\r\n"
    (tmp_path / "bad.csv").write_bytes(body)
    p = only(tmp_path / "bad.csv")
    offset = body.index(b"\x81")
    assert p.row == 2
    assert p.found == f"bytes 81 20 0D 0A at byte offset {offset}, invalid in GBK/GB18030"


def test_utf16_is_refused(firm: Callable[..., Record], write_records) -> None:
    path = write_records(firm(), encoding="utf-16")
    p = only(path)
    assert p.found == "UTF-16 text or binary data (zero bytes)"


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        ("data.xls", b"\xd0\xcf\x11\xe0", "a .xls file"),
        ("data.json", b"{}", "a .json file"),
        ("broken.xlsx", b"PK not really", "a file that is not a readable zip archive"),
        ("broken.parquet", b"PAR1 nope", "a file pyarrow cannot read"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, found: str) -> None:
    (tmp_path / name).write_bytes(content)
    p = only(tmp_path / name)
    assert p.found.startswith(found)


def test_missing_file(tmp_path: Path) -> None:
    p = only(tmp_path / "nowhere.csv")
    assert (p.expected, p.found) == ("an existing file", "no such file")


def test_xls_hint(tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert "save an .xls workbook as .xlsx" in only(tmp_path / "old.xls").expected


def test_no_files() -> None:
    with pytest.raises(InputError, match="at least one enterprise data file"):
        load_enterprises()


def test_credit_code_turned_into_a_number_by_excel(
    tmp_path: Path, firm: Callable[..., Record]
) -> None:
    record = firm()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(list(record))
    ws.append([914502001234567890, *list(record.values())[1:]])
    book.save(tmp_path / "n.xlsx")
    p = only(tmp_path / "n.xlsx")
    assert_at(p, 2, "credit_code")
    assert p.found.startswith("'9.14502001234")
    assert "Excel stored the code as a number" in p.expected


# --- files that are not data, or too much of it ---------------------------------------------

HEADER = "credit_code,name,district,industry,above_scale,output_2026q1\n"


def test_a_fifo_and_a_device_are_refused_without_reading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    assert str(only(tmp_path / "pipe.csv")).endswith(
        "pipe.csv: expected a regular file (found a named pipe (FIFO))"
    )
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    assert "expected a regular file (found a device)" in str(only(tmp_path / "zero.csv"))


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "MAX_DATA_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "x" * 1001, encoding="utf-8")
    p = only(path)
    assert p.expected == "a file of at most 1,000 bytes"
    assert p.found == f"{path.stat().st_size:,} bytes"


def test_junk_rows_give_a_short_message_that_counts_the_rest(tmp_path: Path) -> None:
    # A missing required column, and 100,000 rows with five wrong cells each: 500,001
    # problems found, 200 worded, the rest counted in one closing line.
    path = tmp_path / "junk.csv"
    rows = "".join(f"junk{i},x,火星区,spaceship,maybe,abc\n" for i in range(100_000))
    path.write_text(HEADER + rows, encoding="utf-8")
    found = problems(path)
    assert len(found) == MAX_REPORTED + 1
    assert found[-1].found == f"{1 + 5 * 100_000 - MAX_REPORTED:,} more not listed"
    assert len(str(InputError(found))) < 100_000


def test_the_sample_in_gbk_is_not_taken_for_mixed_encodings(tmp_path: Path) -> None:
    # 1,500 firms of Chinese names: no GBK line of them reads as UTF-8 Chinese text.
    path = tmp_path / "gbk.csv"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").encode("gbk"))
    assert load_enterprises(path).frame.equals(load_enterprises(SAMPLE).frame)


def test_a_control_character_is_refused_in_every_text_field(
    firm: Callable[..., Record], write_records
) -> None:
    p = only(write_records(firm(name="柳州\x1b]8;;http://x\x07甲")))
    assert "text without control characters" in p.expected
    assert p.column == "name"
