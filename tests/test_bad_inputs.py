"""The catalogue of bad inputs: each is refused by ``allocate run`` and nothing is written.

Every case starts from the valid inputs of ``tests/bad_inputs/`` (``scenario.yaml``,
``model.yaml``, ``data.csv``), breaks one of them (with a fixture file beside them, or bytes
made here where they are binary), and runs the command line on it. Each must give:

- exit code 2, and nothing on stdout;
- one message on stderr, ``allocate: ...`` without a traceback, naming the file and the key
  path, or the row and column, with what was expected and what was found;
- nothing written: the output folder does not appear, an earlier run in it stays byte for
  byte as it was, no temporary sibling is left, the inputs are untouched (the whole working
  folder is compared before and after).

The catalogue is counted in docs/reliability.md. Cases a check showed the product gets wrong
are marked ``xfail(strict=True)`` with the reason.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from allocator.cli import main

HERE = Path(__file__).resolve().parent / "bad_inputs"
# The valid inputs, and the names under which a case's files replace them.
SCENARIO, MODEL, DATA = "scenario.yaml", "model.yaml", "data.csv"
NAMES = (
    "柳州甲机械有限公司（模拟）",
    "柳州乙钢铁有限公司（模拟）",
    "柳州丙食品有限公司（模拟）",
    "柳州丁汽配有限公司（模拟）",
)

Writer = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes
    ----------
    id:
        The case's name in the test ids.
    expect:
        Texts the message must hold: the place (file, key path, row and column), what was
        expected and what was found.
    scenario, model, data:
        Fixture files of ``tests/bad_inputs/`` copied over the valid ``scenario.yaml``,
        ``model.yaml`` and ``data.csv`` (the valid ones by default).
    write:
        Makes a binary input in the input folder, after the copies.
    out:
        Where ``--out`` points: ``fresh`` (a new folder, then an earlier run's folder),
        ``input`` (the inputs' folder), ``parent`` (a folder holding the inputs' folder),
        ``foreign`` (a folder holding someone else's file), ``none`` (no ``--out``: the
        scenario's ``output_dir``).
    problems:
        How many problems the one message lists; None when a case makes several by nature.
    args:
        More command-line options (``--time-limit nan``).
    """

    id: str
    expect: tuple[str, ...]
    scenario: str = SCENARIO
    model: str = MODEL
    data: str = DATA
    write: Writer | None = None
    out: str = "fresh"
    problems: int | None = 1
    args: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Binary inputs, made here rather than kept as files


def _data_text() -> str:
    return (HERE / DATA).read_text(encoding="utf-8")


def _scenario_gbk(folder: Path) -> None:
    text = (HERE / SCENARIO).read_text(encoding="utf-8") + "notes: 柳州市稳增长\n"
    (folder / SCENARIO).write_bytes(text.encode("gbk"))


def _gbk_offset() -> int:
    text = (HERE / SCENARIO).read_text(encoding="utf-8") + "notes: 柳州市稳增长\n"
    return text.encode("gbk").index("柳".encode("gbk"))


def _damaged_utf8(folder: Path) -> None:
    # UTF-8 throughout, but the middle byte of 丙 (E4 B8 99) is damaged: a GB18030 reading
    # would succeed and turn every Chinese character into another one.
    raw = _data_text().encode("utf-8")
    at = raw.index("丙".encode())
    (folder / DATA).write_bytes(raw[: at + 1] + b"\xff" + raw[at + 2 :])


def _damaged_utf8_offset() -> int:
    return _data_text().encode("utf-8").index("丙".encode())


def _neither_encoding(folder: Path) -> None:
    # GBK text, but 丙 replaced by 81 30 FF: the start of a four-byte GB18030 sequence that
    # no valid byte follows.
    raw = _data_text().encode("gbk").replace("丙".encode("gbk"), b"\x81\x30\xff")
    (folder / DATA).write_bytes(raw)


def _neither_offset() -> int:
    return _data_text().encode("gbk").index("丙".encode("gbk"))


def _utf16(folder: Path) -> None:
    (folder / DATA).write_bytes(_data_text().encode("utf-16"))


def _use_xlsx(folder: Path) -> None:
    text = (folder / SCENARIO).read_text(encoding="utf-8").replace("data.csv", "data.xlsx")
    (folder / SCENARIO).write_text(text, encoding="utf-8")


def _xlsx_without_data(folder: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "空白"
    book.create_sheet("说明")
    book.save(folder / "data.xlsx")
    _use_xlsx(folder)


def _xlsx_not_a_workbook(folder: Path) -> None:
    (folder / "data.xlsx").write_bytes(b"PK\x03\x04 this is not a zip archive")
    _use_xlsx(folder)


def _deep_scenario(folder: Path) -> None:
    # 20,000 nested lists: a recursive reader would exhaust the interpreter's stack.
    text = (HERE / SCENARIO).read_text(encoding="utf-8")
    (folder / SCENARIO).write_text(text + "notes: " + "[" * 20000 + "]" * 20000 + "\n")


def _deep_model(folder: Path) -> None:
    text = (HERE / MODEL).read_text(encoding="utf-8")
    (folder / MODEL).write_text(text + "derived: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n")


def _derived_chain(folder: Path) -> None:
    # d0 reads d1, which reads d2 ... d1499: computing d0 would nest 1,500 calls deep.
    lines = ["derived:"]
    for k in range(1500):
        body = f"d{k + 1} + 1" if k < 1499 else "1"
        lines.append(f"  d{k}: {{expr: '{body}', unit: '', description: chain}}")
    text = (HERE / MODEL).read_text(encoding="utf-8")
    (folder / MODEL).write_text(text + "\n".join(lines) + "\n", encoding="utf-8")


def _fifo(name: str) -> Writer:
    def write(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        os.mkfifo(folder / name)

    return write


def _dev_zero(folder: Path) -> None:
    (folder / "zero.csv").symlink_to("/dev/zero")


def _with_name(name: str, encoding: str = "utf-8") -> Writer:
    def write(folder: Path) -> None:
        text = _data_text().replace("柳州丙食品有限公司（模拟）", name)
        (folder / DATA).write_bytes(text.encode(encoding))

    return write


def _gbk_with_a_utf8_line(folder: Path) -> None:
    # A row pasted from a UTF-8 file into a GBK one. Its bytes are chosen so that GB18030
    # decodes them without error (runs of an even number of Chinese characters, English
    # district name, Y for yes): read as GB18030, 柳州丙食品厂 would become other characters.
    row = "91450203MA5K000035,柳州丙食品厂（模拟）,柳东新区,green_food,Y,Y,450,400,6,,\n"
    row.encode("utf-8").decode("gb18030")  # no error: only the line check can catch it
    lines = _data_text().splitlines(keepends=True)
    raw = b"".join(
        row.encode("utf-8") if k == 3 else line.encode("gbk") for k, line in enumerate(lines)
    )
    (folder / DATA).write_bytes(raw)


def _utf8_with_a_gbk_line(folder: Path) -> None:
    lines = _data_text().splitlines(keepends=True)
    raw = b"".join(line.encode("gbk" if k == 3 else "utf-8") for k, line in enumerate(lines))
    (folder / DATA).write_bytes(raw)


def _xlsx_with_sheet(sheet_xml: bytes) -> Writer:
    """The valid data as a workbook whose first sheet's XML is replaced."""

    def write(folder: Path) -> None:
        book = openpyxl.Workbook()
        for row in csv.reader(io.StringIO(_data_text())):
            book.active.append(row)
        plain = io.BytesIO()
        book.save(plain)
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(folder / "data.xlsx", "w") as out:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = sheet_xml
                out.writestr(info, data)
        _use_xlsx(folder)

    return write


_SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _xlsx_zip_bomb(folder: Path) -> None:
    _xlsx_with_sheet(_SHEET + b"<sheetData/></worksheet>")(folder)
    with zipfile.ZipFile(folder / "data.xlsx", "a", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/media/padding.bin", b"\0" * (64 * 1024 * 1024))


def _parquet_list_column(folder: Path) -> None:
    frame = pd.read_csv(io.StringIO(_data_text()), dtype=str, keep_default_na=False)
    frame["applied_clauses"] = [["1"], ["1", "2"], [], ["2"]]
    frame.to_parquet(folder / "data.parquet")
    text = (folder / SCENARIO).read_text(encoding="utf-8").replace("data.csv", "data.parquet")
    (folder / SCENARIO).write_text(text, encoding="utf-8")


def _huge_cell(folder: Path) -> None:
    _with_name("柳州丙" + "食" * 140_000)(folder)


def _late_nul(folder: Path) -> None:
    # Past the first 4 KiB, where the UTF-16 sniffing looks.
    _with_name("柳州丙" + "食" * 2000 + "\x00有限公司")(folder)


def _scenario_file(folder: Path) -> str:
    return str(folder / SCENARIO)


# --------------------------------------------------------------------------------------------
# The catalogue

S = "scenario.yaml, key "
M = "model.yaml, key "
CONDITION = "'clauses[0].items[0].conditions[0].expr'"

SCENARIO_CASES = [
    Case(
        "scenario-missing-required-key",
        (S + "'model'", "expected this key (required)", "found nothing"),
        scenario="scenario-missing-model.yaml",
    ),
    Case(
        "scenario-unknown-key",
        (S + "'budjet_wan'", "one of the known keys (name, notes, model", "an unknown key"),
        scenario="scenario-unknown-key.yaml",
    ),
    Case(
        "scenario-budget-in-words",
        (S + "'budget_wan'", "expected a whole number", "found 'five thousand'"),
        scenario="scenario-budget-text.yaml",
    ),
    Case(
        "scenario-budget-negative",
        (S + "'budget_wan'", "expected a number at least 0", "found -5"),
        scenario="scenario-budget-negative.yaml",
    ),
    Case(
        "scenario-budget-not-whole",
        (S + "'budget_wan'", "expected a whole number", "found 20.5"),
        scenario="scenario-budget-decimal.yaml",
    ),
    Case(
        "scenario-budget-missing-model-without-cap",
        (S + "'budget_wan'", "the model states no fund cap", "found no budget_wan"),
        scenario="scenario-budget-missing-no-cap.yaml",
    ),
    Case(
        "scenario-budget-above-document-cap",
        (S + "'budget_wan'", "at most the document's fund cap of 100万元", "found 150"),
        scenario="scenario-budget-above-cap.yaml",
    ),
    Case(
        "scenario-weight-of-unknown-clause",
        (S + "'weights.clauses[9]'", "award clause id (1, 2) or item key", "found '9'"),
        scenario="scenario-weights-unknown-clause.yaml",
    ),
    Case(
        # Weights 100 x 100 x 100 (1e9 in thousandths) on a claim of 5e10万元 (a booth fee of
        # 1e11, inside the data limit, with its cap lifted): Σ weight x claim leaves the
        # solver's 64-bit sums (the solver's integer range, docs/reliability.md).
        "scenario-weights-times-claims-beyond-the-solver-range",
        (
            S + "'weights'",
            "Σ weight × claim (weights in thousandths) of at most 4,611,686,018,427,387,903",
            "found 50,000,000,000,051,805,000",
            "1,000,000,000 × 50,000,000,000万元 for 91450200MA5K00001K under item 2/booth",
        ),
        scenario="scenario-objective-overflow.yaml",
    ),
    Case(
        "scenario-cap-of-unknown-district",
        (S + "'district_caps[火星区]'", "expected a district (城中区", "found '火星区'"),
        scenario="scenario-caps-unknown-district.yaml",
    ),
    Case(
        "scenario-floor-of-unknown-district",
        (S + "'district_floors[火星区]'", "expected a district (城中区", "found '火星区'"),
        scenario="scenario-floors-unknown-district.yaml",
    ),
    Case(
        "scenario-floor-above-cap",
        (S + "'district_floors[柳南区]'", "no higher than district_caps[柳南区] = 5", "found 8"),
        scenario="scenario-floor-above-cap.yaml",
    ),
    Case(
        "scenario-sub-budget-of-unknown-item",
        (S + "'sub_budgets[0].clauses[0]'", "item key (1/oneoff, 2/booth)", "found '2/stand'"),
        scenario="scenario-sub-budget-unknown-item.yaml",
    ),
    Case(
        "scenario-override-unknown-clause",
        (S + "'overrides[9/booth/rate]'", "did you mean '2/booth/rate'", "found '9/booth/rate'"),
        scenario="scenario-override-unknown-clause.yaml",
    ),
    Case(
        "scenario-override-unknown-item",
        (S + "'overrides[2/stand/rate]'", "did you mean '2/booth/rate'", "found '2/stand/rate'"),
        scenario="scenario-override-unknown-item.yaml",
    ),
    Case(
        "scenario-override-unknown-param",
        (
            S + "'overrides[2/booth/ratio]'",
            "the address <clause>/<item>/<param>",
            "'2/booth/ratio'",
        ),
        scenario="scenario-override-unknown-param.yaml",
    ),
    Case(
        "scenario-override-wrong-shape",
        (S + "'overrides[2/booth/rate]'", "expected a number, as the model's value", "[0.4, 0.5]"),
        scenario="scenario-override-wrong-shape.yaml",
    ),
    Case(
        "scenario-override-yes-is-not-1",
        # YAML 1.2: `yes` is the text 'yes', neither true nor 1.
        (S + "'overrides[2/booth/rate]'", "expected a number", "found 'yes'"),
        scenario="scenario-override-yes.yaml",
    ),
    Case(
        "scenario-override-quoted-number",
        (S + "'overrides[2/booth/rate]'", "expected a number", "found '0.4'"),
        scenario="scenario-override-quoted-number.yaml",
    ),
    Case(
        "scenario-alias-bomb",
        (
            "scenario.yaml: expected plain YAML without anchors",
            "found an anchor 'a' first at line 11",
        ),
        scenario="scenario-alias-bomb.yaml",
    ),
    Case(
        "scenario-yaml-syntax-error",
        ("scenario.yaml: expected valid YAML", "at line 12, column 1"),
        scenario="scenario-syntax-error.yaml",
    ),
    Case(
        "scenario-data-file-missing",
        (S + "'data'", "expected an existing data file", "nowhere.csv"),
        scenario="scenario-data-missing.yaml",
    ),
    Case(
        "scenario-model-file-missing",
        (S + "'model'", "expected an existing model file", "nowhere.yaml"),
        scenario="scenario-model-missing.yaml",
    ),
    Case(
        "scenario-output-dir-is-its-own-folder",
        ("expected an output folder apart from the inputs", "it holds the input file"),
        scenario="scenario-output-dir-self.yaml",
        out="none",
    ),
    Case(
        "scenario-name-leaves-the-output-folder",
        (S + "'name'", "expected a safe file name", "found '../../etc'"),
        scenario="scenario-name-traversal.yaml",
    ),
    Case(
        "scenario-unknown-fairness-rule",
        (S + "'fairness.rule'", "'priority', 'proportional'", "found 'lottery'"),
        scenario="scenario-unknown-rule.yaml",
    ),
    Case(
        "scenario-empty-file",
        ("scenario.yaml: expected a mapping of keys at the top level", "found nothing"),
        scenario="scenario-empty.yaml",
    ),
    Case(
        "scenario-yaml-list",
        ("scenario.yaml: expected a mapping of keys at the top level", "found list"),
        scenario="scenario-list.yaml",
    ),
    Case(
        "scenario-not-utf8",
        ("scenario.yaml: expected UTF-8 text", f"not UTF-8 at offset {_gbk_offset()}"),
        write=_scenario_gbk,
    ),
    Case(
        "output-folder-is-the-input-folder",
        ("expected an output folder apart from the inputs", "holds the input file"),
        out="input",
    ),
    Case(
        "output-folder-contains-the-input-folder",
        ("expected an output folder apart from the inputs", "holds the input file"),
        out="parent",
    ),
    Case(
        "output-folder-holds-other-files",
        ("expected an empty folder or the output of an earlier run", "other content: 台账.txt"),
        out="foreign",
    ),
]

MODEL_CASES = [
    Case(
        "model-injection-import-os-system",
        (M + CONDITION, "expected a call to one of min, max", "__import__('os')"),
        model="model-injection-import.yaml",
    ),
    Case(
        "model-injection-open-file",
        (M + CONDITION, "expected a call to one of min, max", "open('/etc/passwd')"),
        model="model-injection-open.yaml",
    ),
    Case(
        "model-attribute-access",
        (M + CONDITION, "expected a call to one of min, max", "a call on attribute access (.)"),
        model="model-attribute-access.yaml",
    ),
    Case(
        "model-subscript",
        (M + CONDITION, "expression of the policy language", "indexing or slicing"),
        model="model-subscript.yaml",
    ),
    Case(
        "model-lambda",
        (M + CONDITION, "expected a call to one of min, max", "a call on a lambda"),
        model="model-lambda.yaml",
    ),
    Case(
        "model-huge-exponent",
        (M + CONDITION, "a number literal between -4 and 4 as the exponent", "'9 ** 9'"),
        model="model-huge-exponent.yaml",
    ),
    Case(
        "model-unknown-field",
        (M + CONDITION, "did you mean 'output_2026q1'?", "found 'output_2027q1'"),
        model="model-unknown-field.yaml",
    ),
    Case(
        "model-unknown-param",
        (M + CONDITION, "did you mean 'min_output'?", "found 'min_outpt'"),
        model="model-unknown-param.yaml",
    ),
    Case(
        "model-document-param-without-quote",
        (M + "'clauses[0].items[0].params.min_output'", "needs the quote", "clause 1, item oneoff"),
        model="model-document-param-without-quote.yaml",
    ),
    Case(
        "model-assumed-param-without-rationale",
        (M + "'clauses[1].items[0].params.rate'", "needs a one-line rationale", "item booth"),
        model="model-assumed-param-without-rationale.yaml",
    ),
    Case(
        "model-duplicate-clause-id",
        (M + "'clauses'", "expected clause ids that differ", "repeated: 1"),
        model="model-duplicate-clause-id.yaml",
    ),
    Case(
        "model-award-clause-without-items",
        (M + "'clauses[2]'", "award clause 3 has no award items"),
        model="model-award-clause-without-items.yaml",
    ),
    Case(
        "model-anchor-and-alias",
        ("model.yaml: expected plain YAML without anchors", "an anchor 'why' first at line 23"),
        model="model-alias.yaml",
    ),
]

D = "data.csv, row "
ENCODINGS = "expected text encoded as UTF-8 or GBK/GB18030"

DATA_CASES = [
    Case(
        "data-missing-required-column",
        (D + "1, column 'industry'", "'所属行业' or 'industry'", "found no such column"),
        data="data-missing-required-column.csv",
    ),
    Case(
        "data-money-wrong-type",
        (D + "3, column 'output_2026q1'", "an amount in 万元", "found '一万二'"),
        data="data-money-wrong-type.csv",
    ),
    Case(
        "data-nan-literal-in-money",
        (D + "3, column 'output_2026q1'", "NaN, inf and N/A are not values", "found 'nan'"),
        data="data-nan-literal.csv",
    ),
    Case(
        "data-blank-in-required-column",
        (D + "4, column 'district'", "as the column is required", "found a blank cell"),
        data="data-blank-required.csv",
    ),
    Case(
        "data-nan-in-required-column",
        (D + "4, column 'above_scale'", "是 or 否", "found 'NaN'"),
        data="data-nan-in-required.csv",
    ),
    Case(
        "data-negative-money",
        (D + "3, column 'output_2026q1'", "a value of 0 or more", "found '-12000'"),
        data="data-negative-money.csv",
    ),
    Case(
        "data-negative-volume",
        (D + "3, column 'steel_supply_2026q1'", "a value of 0 or more", "found '-3.5'"),
        data="data-negative-volume.csv",
    ),
    Case(
        "data-duplicate-credit-code",
        (D + "4, column 'credit_code'", "row 2 has it too", "found '91450200MA5K00001K'"),
        data="data-duplicate-credit-code.csv",
    ),
    Case(
        "data-credit-code-check-character",
        (D + "4, column 'credit_code'", "check character '5' at position 18, not '6'"),
        data="data-check-character.csv",
    ),
    Case(
        "data-unknown-district",
        (D + "4, column 'district'", "one of the counties/districts", "found '火星区'"),
        data="data-unknown-district.csv",
    ),
    Case(
        "data-unknown-industry",
        (D + "4, column 'industry'", "one of the industry codes or labels", "'spaceships'"),
        data="data-unknown-industry.csv",
    ),
    Case(
        "data-amount-beyond-the-solver-domain",
        (D + "3, column 'output_2026q1'", "a value of at most 1e+12", "found '1e15'"),
        data="data-amount-too-large.csv",
    ),
    Case(
        # A booth fee of 1e11万元 (inside the data limit) with its cap lifted gives a claim of
        # 5e10万元, beyond the 2^20万元 the proportional rule's exact ratios take.
        "data-claim-beyond-the-proportional-ratio-grid",
        (
            "data-huge-booth-fee.csv, row 2",
            "a claim of at most 1,048,576万元 (2^20)",
            "found 50,000,000,000万元 for 91450200MA5K00001K under item 2/booth",
        ),
        scenario="scenario-claim-beyond-ratio-grid.yaml",
    ),
    Case(
        "data-percent-above-100",
        (D + "3, column 'special_steel_share_2025q1'", "from 0 to 100", "found '145'"),
        data="data-percent-over-100.csv",
    ),
    Case(
        "data-unquoted-comma-shifts-a-row",
        (D + "3, column 'column 12'", "a comma inside a cell needs quotes", "found 12 cells"),
        data="data-unquoted-comma.csv",
        problems=None,  # the shifted cells are wrong too, each named
    ),
    Case(
        "data-empty-file",
        ("data.csv: expected a header row naming the columns", "found an empty file"),
        data="data-empty.csv",
    ),
    Case(
        "data-header-only",
        ("data.csv: expected at least one firm", "found no firm rows"),
        data="data-header-only.csv",
    ),
    Case(
        "data-damaged-utf8-not-read-as-gb18030",
        (D + "4: " + ENCODINGS, f"at byte offset {_damaged_utf8_offset()}, invalid in UTF-8"),
        write=_damaged_utf8,
    ),
    Case(
        "data-bytes-valid-in-no-encoding",
        (D + "4: " + ENCODINGS, "81 30 FF", f"offset {_neither_offset()}, invalid in GBK/GB18030"),
        write=_neither_encoding,
    ),
    Case(
        "data-utf16",
        (D + "1: " + ENCODINGS, "found UTF-16 text or binary data"),
        write=_utf16,
    ),
    Case(
        "data-xlsx-without-a-data-sheet",
        (
            "data.xlsx: expected a sheet with a header row",
            "no sheet has any data (sheets: 空白, 说明)",
        ),
        write=_xlsx_without_data,
    ),
    Case(
        "data-xlsx-not-a-workbook",
        ("data.xlsx: expected an Excel .xlsx workbook", "BadZipFile"),
        write=_xlsx_not_a_workbook,
    ),
]

# Strict YAML (docs/reliability.md): what a clerk wrote is what is read, or it is refused.
YAML_1_1 = "which YAML 1.1 reads as another number"
STRICT_SCENARIO_CASES = [
    Case(
        "scenario-duplicate-key",
        ("scenario.yaml: expected each key once", "'budget_wan' at line 5 and again at line 6"),
        scenario="scenario-duplicate-key.yaml",
    ),
    Case(
        "scenario-duplicate-nested-key",
        ("expected each key once", "'workers' at line 10 and again at line 11"),
        scenario="scenario-duplicate-nested-key.yaml",
    ),
    Case(
        "scenario-duplicate-fairness-rule",
        ("expected each key once", "'rule' at line 7 and again at line 8"),
        scenario="scenario-fairness-duplicate-rule.yaml",
    ),
    Case(
        "scenario-octal-020",
        ("expected a number in plain decimal (e.g. 20 or 0.5)", "'020' at line 5", YAML_1_1),
        scenario="scenario-octal-budget.yaml",
    ),
    Case(
        "scenario-base-60-1-20",
        ("expected a number in plain decimal", "'1:20' at line 5", YAML_1_1),
        scenario="scenario-base60-budget.yaml",
    ),
    Case(
        "scenario-hexadecimal-0x14",
        ("expected a number in plain decimal", "'0x14' at line 5", YAML_1_1),
        scenario="scenario-hex-budget.yaml",
    ),
    Case(
        "scenario-digit-separator-2_0",
        ("expected a number in plain decimal", "'2_0' at line 5", YAML_1_1),
        scenario="scenario-underscore-budget.yaml",
    ),
    Case(
        "scenario-int-tag-on-a-string",
        ("expected plain YAML without tags", "tag:yaml.org,2002:int at line 5"),
        scenario="scenario-int-tag.yaml",
    ),
    Case(
        "scenario-python-tag",
        ("expected plain YAML without tags", "tag:yaml.org,2002:python/object/apply:os.system"),
        scenario="scenario-python-tag.yaml",
    ),
    Case(
        "scenario-merge-key",
        ("expected plain YAML without merge keys (<<)", "'<<' at line 9"),
        scenario="scenario-merge-key.yaml",
    ),
    Case(
        "scenario-nested-20000-deep",
        ("expected at most 100 levels of nested mappings and lists", "deeper at line 11"),
        write=_deep_scenario,
    ),
    Case(
        "scenario-workers-true",
        (S + "'solver.workers'", "expected a whole number", "found True"),
        scenario="scenario-workers-true.yaml",
    ),
    Case(
        "scenario-time-limit-quoted-1e-9",
        (S + "'solver.time_limit_s'", "a number without quotes: write 1e-9, not '1e-9'"),
        scenario="scenario-time-limit-quoted.yaml",
    ),
    Case(
        "scenario-time-limit-nan",
        (S + "'solver.time_limit_s'", "expected a finite number", "found nan"),
        scenario="scenario-time-limit-nan.yaml",
    ),
    Case(
        "scenario-time-limit-inf",
        (S + "'solver.time_limit_s'", "expected a finite number", "found inf"),
        scenario="scenario-time-limit-inf.yaml",
    ),
    Case(
        "scenario-time-limit-1e999",
        (
            "scenario.yaml: expected a number of at most 40 characters within ±1.7e308",
            "1e999... at line 9",
        ),
        scenario="scenario-float-overflow-literal.yaml",
    ),
    Case(
        "scenario-seed-2147483648",
        (S + "'solver.seed'", "expected a number at most 2147483647", "found 2147483648"),
        scenario="scenario-seed-beyond-32-bits.yaml",
    ),
    Case(
        "scenario-budget-of-26-digits",
        ("expected a whole number of at most 18 digits", "a number of 26 digits at line 5"),
        scenario="scenario-budget-26-digits.yaml",
    ),
    Case(
        "scenario-literal-of-400-digits",
        ("expected a whole number of at most 18 digits", "a number of 400 digits at line 5"),
        scenario="scenario-budget-400-digits.yaml",
    ),
    Case(
        # A whole 5,000 is read as the data reads it (tests/test_scenario.py); a grouped
        # number with decimals is not a whole amount, and the message says what to write.
        "scenario-budget-with-thousands-separator",
        (S + "'budget_wan'", "write 5000.0, not '5,000.0'"),
        scenario="scenario-budget-thousands-separator.yaml",
    ),
    Case(
        "scenario-budget-quoted",
        (S + "'budget_wan'", "a number without quotes: write 20, not '20'"),
        scenario="scenario-budget-quoted.yaml",
    ),
    Case(
        "scenario-budget-as-a-float",
        (S + "'budget_wan'", "expected a whole number", "found 25.0"),
        scenario="scenario-budget-float-exponent.yaml",
    ),
    Case(
        "scenario-yes-is-not-true",
        (S + "'allow_budget_above_document_cap'", "expected true or false", "found 'yes'"),
        scenario="scenario-flag-yes.yaml",
    ),
    Case(
        "cli-time-limit-nan",
        ("the command line, key 'time-limit'", "more than 0 and at most 86400", "found nan"),
        args=("--time-limit", "nan"),
    ),
    Case(
        "cli-time-limit-inf",
        ("the command line, key 'time-limit'", "more than 0 and at most 86400", "found inf"),
        args=("--time-limit", "inf"),
    ),
]

# Overflow: every value entering the claims table fits the solver's integers, or the run
# is refused naming the parameter.
RANGE = "expected numbers from -1e+12 to 1e+12"
OVERFLOW_CASES = [
    Case(
        "scenario-override-1e300",
        (S + "'overrides[2/booth/rate]'", RANGE, "found 1e+300"),
        scenario="scenario-override-1e300.yaml",
    ),
    Case(
        "scenario-override-1e19",
        (S + "'overrides[2/booth/cap]'", RANGE, "found 1e+19"),
        scenario="scenario-override-1e19.yaml",
    ),
    Case(
        "scenario-override-1e13",
        (S + "'overrides[1/oneoff/one_off]'", RANGE, "found 1e+13"),
        scenario="scenario-override-beyond-range-in-list.yaml",
    ),
    Case(
        "scenario-override-minus-2-to-the-63",
        ("expected a whole number of at most 18 digits", "a number of 19 digits at line 12"),
        scenario="scenario-override-negative-huge.yaml",
    ),
    Case(
        "scenario-claim-beyond-the-integer-domain",
        (
            "item 2/booth, key '2/booth/rate'",
            "a claim of at most 4,503,599,627,370,496万元 (2^52)",
            "found 1e+23万元 for 91450200MA5K00001K",
            "2/booth/rate = 1e+12 (override)",
        ),
        scenario="scenario-claim-beyond-integer-domain.yaml",
    ),
    Case(
        "model-param-1e300",
        (M + "'clauses[1].items[0].params.cap.value'", RANGE, "[clause 2, item booth]"),
        model="model-param-1e300.yaml",
    ),
]

STRICT_MODEL_CASES = [
    Case(
        "model-rate-written-twice",
        ("model.yaml: expected each key once", "'value' at line 79 and again at line 80"),
        model="model-duplicate-rate-value.yaml",
    ),
    Case(
        "model-parameter-written-twice",
        ("model.yaml: expected each key once", "'cap' at line 82 and again at line 87"),
        model="model-duplicate-param.yaml",
    ),
    Case(
        "model-quote-written-twice",
        ("model.yaml: expected each key once", "'quote' at line 63 and again at line 64"),
        model="model-duplicate-clause-key.yaml",
    ),
    Case(
        "model-python-object-apply-tag",
        ("model.yaml: expected plain YAML without tags", "python/object/apply:os.system"),
        model="model-python-tag.yaml",
    ),
    Case(
        "model-octal-parameter",
        ("model.yaml: expected a number in plain decimal", "'0500' at line 48", YAML_1_1),
        model="model-octal-param.yaml",
    ),
    Case(
        "model-literal-of-400-digits",
        ("model.yaml: expected a whole number of at most 18 digits", "400 digits at line 48"),
        model="model-param-400-digits.yaml",
    ),
    Case(
        "model-merge-key",
        ("model.yaml: expected plain YAML without merge keys (<<)", "'<<' at line 53"),
        model="model-merge-key.yaml",
    ),
    Case(
        "model-on-is-not-true",
        (M + "'clauses[0].items[0].requires_application'", "true or false", "found 'on'"),
        model="model-yaml-bool-on-key.yaml",
    ),
    Case(
        "model-nested-5000-deep",
        ("model.yaml: expected at most 100 levels of nested mappings and lists",),
        write=_deep_model,
    ),
    Case(
        "model-chain-of-1500-derived-names",
        (M + "'derived.d50.expr'", "derived names that read each other at most 50 deep"),
        write=_derived_chain,
    ),
    Case(
        "model-file-is-a-fifo",
        (S + "'model'", "an existing regular model file", "model-fifo.yaml (a named pipe (FIFO))"),
        scenario="scenario-model-is-a-fifo.yaml",
        write=_fifo("model-fifo.yaml"),
    ),
]

HOSTILE_DATA_CASES = [
    Case(
        "data-control-character-in-a-name",
        (D + "4, column 'name'", "text without control characters", "\\x07"),
        data="data-control-character.csv",
    ),
    Case(
        "data-escape-sequence-in-a-name",
        (D + "4, column 'name'", "text without control characters", "\\x1b[2J"),
        data="data-escape-in-name.csv",
    ),
    Case(
        "data-direction-override-in-a-name",
        (D + "4, column 'name'", "text without control characters", "\\u202e"),
        data="data-bidi-override.csv",
    ),
    Case(
        "data-line-break-in-a-name",
        (D + "4, column 'name'", "text without control characters", "\\n"),
        data="data-line-break-in-name.csv",
    ),
    Case(
        "data-late-nul-in-a-name",
        (D + "4, column 'name'", "text without control characters", "\\x00"),
        write=_late_nul,
    ),
    Case(
        "data-cell-over-128-kib",
        (D + "4, column 'column 2'", "a cell of at most 131,072 characters", "140,003"),
        write=_huge_cell,
    ),
    Case(
        "data-gbk-file-with-a-utf8-line",
        (D + "4: expected one encoding for the whole file", "a line in UTF-8 ('91450203"),
        write=_gbk_with_a_utf8_line,
    ),
    Case(
        "data-utf8-file-with-a-gbk-line",
        (D + "4: " + ENCODINGS, "invalid in UTF-8"),
        write=_utf8_with_a_gbk_line,
    ),
    Case(
        "data-file-is-a-fifo",
        (S + "'data'", "expected an existing regular data file", "a named pipe (FIFO)"),
        write=_fifo(DATA),
    ),
    Case(
        "data-file-is-dev-zero",
        (S + "'data'", "expected an existing regular data file", "zero.csv (a device)"),
        scenario="scenario-data-is-dev-zero.yaml",
        write=_dev_zero,
    ),
    Case(
        "data-xlsx-malformed-sheet-xml",
        ("data.xlsx: expected an Excel .xlsx workbook", "ParseError: no element found"),
        write=_xlsx_with_sheet(_SHEET + b"<sheetData><row r='1'><c r='A1' t='inlineStr'>"),
    ),
    Case(
        "data-xlsx-doctype-entity-expansion",
        ("data.xlsx: expected a workbook whose XML has no document type declaration",),
        write=_xlsx_with_sheet(
            b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + _SHEET + b"</worksheet>"
        ),
    ),
    Case(
        "data-xlsx-external-entity",
        ("data.xlsx: expected a workbook whose XML has no document type declaration",),
        write=_xlsx_with_sheet(
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + _SHEET
            + b"<sheetData><row><c t='inlineStr'><is><t>&e;</t></is></c></row></sheetData>"
            + b"</worksheet>"
        ),
    ),
    Case(
        "data-xlsx-zip-bomb",
        ("data.xlsx: expected a workbook whose parts are compressed at most 200:1",),
        write=_xlsx_zip_bomb,
    ),
    Case(
        "data-parquet-list-column",
        ("data.parquet, row 1, column 'applied_clauses'", "a column of plain values"),
        write=_parquet_list_column,
    ),
]

CASES = (
    SCENARIO_CASES
    + MODEL_CASES
    + DATA_CASES
    + STRICT_SCENARIO_CASES
    + OVERFLOW_CASES
    + STRICT_MODEL_CASES
    + HOSTILE_DATA_CASES
)


# --------------------------------------------------------------------------------------------
# Running a case


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["run", *args, "--quiet"])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (as None) under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a successful run of the valid inputs."""
    base = tmp_path_factory.mktemp("earlier")
    inputs = base / "in"
    shutil.copytree(HERE, inputs)
    out = base / "out"
    result = invoke(str(inputs / SCENARIO), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def prepare(case: Case, tmp_path: Path, earlier_run: Path) -> Path:
    """The input folder of ``case`` and an earlier run's folder beside it."""
    inputs = tmp_path / "in"
    shutil.copytree(HERE, inputs)
    for name, source in ((SCENARIO, case.scenario), (MODEL, case.model), (DATA, case.data)):
        if source != name:
            shutil.copyfile(HERE / source, inputs / name)
    if case.write is not None:
        case.write(inputs)
    shutil.copytree(earlier_run, tmp_path / "earlier")
    return inputs


def targets(case: Case, tmp_path: Path, inputs: Path) -> list[list[str]]:
    """The ``--out`` arguments to try the case with."""
    if case.out == "fresh":
        return [["--out", str(tmp_path / "fresh")], ["--out", str(tmp_path / "earlier")]]
    if case.out == "input":
        return [["--out", str(inputs)]]
    if case.out == "parent":
        return [["--out", str(tmp_path)]]
    if case.out == "foreign":
        other = tmp_path / "other"
        other.mkdir()
        (other / "台账.txt").write_text("someone else's ledger\n", encoding="utf-8")
        return [["--out", str(other)]]
    assert case.out == "none"
    return [[]]


def problem_count(message: str) -> int:
    first = message.splitlines()[0]
    if first.endswith(" problems:"):
        return int(first.removeprefix("allocate: ").split()[0])
    return 1


def check_refused(case: Case, tmp_path: Path, earlier_run: Path) -> None:
    inputs = prepare(case, tmp_path, earlier_run)
    for out in targets(case, tmp_path, inputs):
        before = snapshot(tmp_path)
        result = invoke(str(inputs / SCENARIO), *out, *case.args)
        message = result.stderr
        assert result.exit_code == 2, (result.exit_code, message, result.exception)
        assert result.stdout == ""
        assert message.startswith("allocate: ")
        assert message.count("allocate:") == 1
        assert "Traceback" not in message
        if case.problems is not None:
            assert problem_count(message) == case.problems, message
        for text in case.expect:
            assert text in message, (text, message)
        # Nothing written, nothing deleted: no output folder, no temporary sibling, the
        # earlier run and the inputs byte for byte as they were.
        assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_nothing_is_written(
    case: Case, tmp_path: Path, earlier_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The working folder is inside tmp_path: a file an injected expression managed to
    # create ('pwned-by-model') would show in the snapshot.
    monkeypatch.chdir(tmp_path)
    check_refused(case, tmp_path, earlier_run)


def test_the_catalogue_is_large_enough() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert (len(SCENARIO_CASES), len(MODEL_CASES), len(DATA_CASES)) == (32, 13, 22)
    assert len(CASES) - 67 >= 45  # the cases of strict YAML, overflow and hostile files
    # Every fixture file is used by a case (or is one of the valid inputs they start from).
    used = {
        SCENARIO,
        MODEL,
        DATA,
        "model-no-cap.yaml",
        "data-huge-booth-fee.csv",
        "model-uncapped.yaml",
    }
    for case in CASES:
        used |= {case.scenario, case.model, case.data}
    assert {p.name for p in HERE.iterdir()} == used


# --------------------------------------------------------------------------------------------
# Positive controls: the valid inputs, and the encodings Excel in China writes


def allocate_ok(tmp_path: Path, data: bytes) -> pd.DataFrame:
    inputs = tmp_path / "in"
    shutil.copytree(HERE, inputs)
    (inputs / DATA).write_bytes(data)
    out = tmp_path / "out"
    result = invoke(str(inputs / SCENARIO), "--out", str(out))
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "awards.csv", dtype={"recipient_id": str, "clause_id": str})


def expected_awards(names: tuple[str, ...]) -> list[tuple[str, str, int, int]]:
    # Claims: the one-off 5万元 (all or nothing) for 甲 (800万元) and 乙 (12,000万元), not 丙
    # (450 < 500) nor 丁 (not above scale); booths at 50%: 甲 12 -> 6, 乙 30 -> 15 capped at
    # 10, 丙 6 -> 3. Priority with equal weights and a budget of 20: the one-offs (ranks 0
    # and 1) 10, 甲's booth 6, and 乙's booth the last 4; 丙's booth nothing.
    return [
        (names[0], "1/oneoff", 5, 5),
        (names[1], "1/oneoff", 5, 5),
        (names[0], "2/booth", 6, 6),
        (names[1], "2/booth", 10, 4),
        (names[2], "2/booth", 3, 0),
    ]


def rows(awards: pd.DataFrame) -> list[tuple[str, str, int, int]]:
    cols = ["recipient_name", "item_key", "claim_wan", "award_wan"]
    return [(str(a), str(b), int(c), int(d)) for a, b, c, d in awards[cols].itertuples(False)]


def test_the_valid_inputs_allocate(tmp_path: Path) -> None:
    awards = allocate_ok(tmp_path, _data_text().encode("utf-8"))
    assert rows(awards) == expected_awards(NAMES)


def test_a_gbk_csv_loads_as_written(tmp_path: Path) -> None:
    awards = allocate_ok(tmp_path, _data_text().encode("gbk"))
    assert rows(awards) == expected_awards(NAMES)


def test_a_gb18030_csv_loads_as_written(tmp_path: Path) -> None:
    # 𠀀 (U+20000) is outside GBK: a four-byte GB18030 sequence.
    text = _data_text().replace("柳州甲", "柳州𠀀")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    awards = allocate_ok(tmp_path, text.encode("gb18030"))
    names = ("柳州𠀀机械有限公司（模拟）", *NAMES[1:])
    assert rows(awards) == expected_awards(names)
