"""The message catalogue: every text a reader sees exists in Chinese, and the language choice.

The ids are extracted from the sources as ``make messages`` extracts them (Babel, the mapping
in babel.cfg); a new ``_("...")`` without a Chinese text fails here, as does a ``.mo`` that was
not compiled again after the ``.po`` changed.
"""

from __future__ import annotations

import gettext
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from allocator.core import i18n
from allocator.core.errors import InputError, InputProblem

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "src/allocator/core/locale/zh/LC_MESSAGES/allocator.po"
MO = PO.with_suffix(".mo")
# The console script of the environment the tests run in.
ALLOCATE = str(Path(sys.executable).with_name("allocate"))


def _source_ids() -> set[str]:
    """The ids ``make messages`` extracts (tools/messages.py: babel.cfg's sources and
    templates, and the commands' docstrings), read by the tool's own code."""
    spec = importlib.util.spec_from_file_location("messages", ROOT / "tools" / "messages.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return set(tool.source_ids())


def _catalogue() -> dict[str, object]:
    with PO.open("rb") as handle:
        catalogue = read_po(handle, locale="zh")
    return {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalogue
        if m.id and "fuzzy" not in m.flags
    }


def test_every_message_id_has_a_chinese_text() -> None:
    catalogue = _catalogue()
    missing = sorted(i for i in _source_ids() if not catalogue.get(i))
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing[:20])


@pytest.mark.change_detector
def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, text in _catalogue().items():
        expected = text[0] if isinstance(text, tuple) else text
        assert compiled.gettext(msgid) == expected, f"stale .mo for {msgid!r}: make messages"


def test_a_problem_reads_in_chinese_by_default_and_in_english_on_request() -> None:
    problem = InputProblem("企业.csv", "a whole number", "'x'", row=3, column="销售额")
    try:
        i18n.set_language("zh")
        assert str(problem) == "企业.csv，第 3 行，第 '销售额' 列：应为a whole number（实际为 'x'）"
        assert str(InputError([problem, problem])).startswith("共 2 个问题：")
        i18n.set_language("en")
        assert str(problem) == (
            "企业.csv, row 3, column '销售额': expected a whole number (found 'x')"
        )
        assert str(InputError([problem, problem])).startswith("2 problems:")
    finally:
        i18n.set_language(None)


@pytest.mark.parametrize(
    ("value", "language"), [("zh_CN.UTF-8", "zh"), ("en-US", "en"), ("EN", "en"), (None, "zh")]
)
def test_the_language_comes_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, language: str
) -> None:
    monkeypatch.delenv(i18n.ENV, raising=False)
    assert i18n.resolve_language(value) == language
    if value is not None:
        monkeypatch.setenv(i18n.ENV, value)
        assert i18n.resolve_language() == language


def test_an_unknown_language_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(i18n.ENV, "fr")
    with pytest.raises(ValueError, match="ALLOCATE_LANG"):
        i18n.resolve_language()
    result = subprocess.run(
        [ALLOCATE, "run", "scenario.yaml"],
        capture_output=True,
        text=True,
        env={**os.environ, i18n.ENV: "fr"},
    )
    assert result.returncode == 2
    assert "ALLOCATE_LANG" in result.stderr


def test_the_command_line_speaks_the_chosen_language(tmp_path: Path) -> None:
    missing = str(tmp_path / "无此情景.yaml")
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV}
    zh = subprocess.run([ALLOCATE, "run", missing], capture_output=True, text=True, env=env)
    en = subprocess.run(
        [ALLOCATE, "--lang", "en", "run", missing], capture_output=True, text=True, env=env
    )
    assert zh.returncode == en.returncode == 2
    assert "应为" in zh.stderr
    assert "expected" in en.stderr
    assert "应为" not in en.stderr


def test_the_extraction_reaches_every_kind_of_source() -> None:
    ids = _source_ids()
    # One id that only each kind of source holds: the report's template, a workbench page,
    # a value's word of the workbench, a command's docstring, an option's help, click's own.
    for only_there in (
        "Why awards are below their claims",  # outputs/templates/report.html.j2
        "Step 1: upload the enterprise data",  # web/templates/new.html
        "failed to run",  # web/words.py
        "List recorded runs, newest first.\n\n--scenario takes the scenario file, as run, "
        "audit and explain do (the runs recorded under\nthe name: it sets), or that name itself.",
        "Print JSON for machines.",  # commands/options.py, N_()
        "Show this message and exit.",  # cli.py, click's text
    ):
        assert only_there in ids, only_there


def test_a_translation_names_the_placeholders_of_its_id() -> None:
    names = re.compile(r"\{(\w*)[^{}]*\}")
    wrong = []
    for msgid, text in _catalogue().items():
        texts = text if isinstance(text, tuple) else (text,)
        for t in texts:
            if sorted(set(names.findall(msgid))) != sorted(set(names.findall(str(t)))):
                wrong.append(msgid)
    assert wrong == []


def _help(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV}
    done = subprocess.run([ALLOCATE, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_is_chinese_by_default_and_english_on_request() -> None:
    zh = _help("--help")
    assert zh.startswith("用法: allocate")
    assert "在预算之内，逐条款把工业奖补资金分配给企业。" in zh
    assert "显示本帮助并退出。" in zh
    assert "Allocate an industrial-subsidy" not in zh
    en = _help("--lang", "en", "--help")
    assert en.startswith("Usage: allocate")
    assert "Show this message and exit." in en
    run_zh = _help("run", "--help")
    assert "输出文件夹（默认：情景的 output_dir，否则 out/<name>）。" in run_zh
    assert "不在标准错误输出显示进度。" in run_zh  # a shared option (commands/options.py)
    run_en = _help("--lang", "en", "run", "--help")
    assert "No progress on stderr." in run_en
    # A command loaded only when asked for (cli.DEFERRED) speaks too.
    assert "变动情景 SCENARIO 的假设参数和预算" in _help("sensitivity", "--help")
