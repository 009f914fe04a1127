"""docs/data-dictionary.md is generated from the schema and kept in step with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.core.i18n import speaking
from allocator.inputs.dictionary import COMMAND, DEFAULT_PATH, ZH_PATH, clause_label, main, render
from allocator.inputs.schema import FIELDS, INDUSTRIES


@pytest.mark.change_detector
@pytest.mark.parametrize(("lang", "path"), [("en", DEFAULT_PATH), ("zh", ZH_PATH)])
def test_committed_dictionary_is_current(lang: str, path: Path) -> None:
    committed = path.read_text(encoding="utf-8")
    with speaking(lang):
        assert committed == render(), f"{path.name} is stale; regenerate it with {COMMAND}"


def test_the_chinese_dictionary_names_every_field_in_chinese() -> None:
    with speaking("zh"):
        text = render()
    assert text.startswith("# 数据字典\n")
    row = next(line for line in text.splitlines() if line.startswith("| `output_2025q1`"))
    assert row.startswith("| `output_2025q1` | 2025年一季度工业总产值 | 万元 | 金额 | 选填 | ")
    assert row.endswith(", 2026 四（二） | 2025年一季度工业总产值 |")


def test_clause_labels() -> None:
    assert clause_label("2025:11") == "2025（十一）"
    assert clause_label("2025:20") == "2025（二十）"
    assert clause_label("2025:4") == "2025（四）"
    assert clause_label("2026:3.9") == "2026 三（九）"
    assert clause_label("2026:11.3") == "2026 十一（三）"
    assert clause_label("2026:6") == "2026 六"


def test_every_field_and_code_is_listed() -> None:
    text = render()
    for f in FIELDS:
        assert f"| `{f.name}` | {f.zh} |" in text
    for code, label in INDUSTRIES.items():
        assert f"| `{code}` | {label} |" in text
    row = next(line for line in text.splitlines() if line.startswith("| `output_2025q1`"))
    assert "| 万元 | money | optional |" in row
    assert "2026 三（九）" in row


def test_main_writes_the_file(tmp_path: Path) -> None:
    out, out_zh = tmp_path / "dd.md", tmp_path / "dd.zh.md"
    assert main([str(out), str(out_zh)]) == 0
    with speaking("en"):
        assert out.read_text(encoding="utf-8") == render()
    with speaking("zh"):
        assert out_zh.read_text(encoding="utf-8") == render()
