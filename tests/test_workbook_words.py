"""The workbook in the reader's language: kinds, districts, industries, statuses, rules,
constraint families and reasons as 汉字 by default, and English under ``--lang en``, while
``awards.csv`` keeps its codes and fixed English (docs/outputs.md). The run is the hand-made
one of tests/runs.py (``make_run``), so every expected cell is written out here."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from allocator.core.i18n import speaking
from allocator.outputs.folder import write_outputs
from allocator.outputs.wording import reason_text
from runs import A, B, C, make_run

ROOT = Path(__file__).resolve().parents[1]
ALLOCATE = str(Path(sys.executable).with_name("allocate"))


def _sheet(path: Path, name: str) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in book[name].iter_rows(values_only=True)]
    finally:
        book.close()


def _written(tmp_path: Path, lang: str) -> Path:
    out = tmp_path / f"out-{lang}"
    with speaking(lang):
        write_outputs(out, make_run(tmp_path))
    return out


def test_the_workbook_values_are_chinese_by_default(tmp_path: Path) -> None:
    out = _written(tmp_path, "zh")
    rows = _sheet(out / "awards.xlsx", "奖补明细")[1:]
    # recipient, kind, district, industry, reason
    assert [(r[0], r[2], r[3], r[4], r[9]) for r in rows] == [
        (A, "企业", "柳南区", "钢铁", f"单户上限[{A}]已用足"),
        (B, "企业", "柳北区", "汽车零部件", "自治区同类奖补：已申请自治区同类型奖补（第 20 条）"),
        (A, "企业", "柳南区", "钢铁", "不重复享受[growth_award]：已安排同组其他项目"),
        (A, "企业", "柳南区", "钢铁", "资金总额已用足（第 18 条）"),
        (C, "企业", "柳南区", "高端装备制造（机械）", "整项奖补：未能整项安排，不予奖补"),
        ("柳南区", "县区", "柳南区", None, "资金总额已用足（第 18 条）"),
    ]
    summary = dict(r[:2] for r in _sheet(out / "awards.xlsx", "汇总"))
    assert (summary["求解状态"], summary["分配规则"]) == ("最优", "优先序")
    constraints = _sheet(out / "awards.xlsx", "约束")[1:]
    assert [(r[0], r[1], r[2], r[7]) for r in constraints] == [
        ("资金总额", "资金总额", "18", "是"),
        (f"单户上限[{A}]", "单户上限", "情景", "是"),
        (f"不重复享受[growth_award][{A}]", "不重复享受", "20", "是"),
    ]
    # The CSV keeps its codes and English reasons, the interface programs read.
    with (out / "awards.csv").open(encoding="utf-8", newline="") as handle:
        first = next(csv.DictReader(handle))
    assert (first["recipient_kind"], first["industry"], first["reason"]) == (
        "enterprise",
        "steel",
        f"firm_cap[{A}] binding",
    )


def test_the_workbook_values_are_english_on_request(tmp_path: Path) -> None:
    out = _written(tmp_path, "en")
    rows = _sheet(out / "awards.xlsx", "奖补明细")[1:]
    assert [(r[2], r[3], r[4], r[9]) for r in rows] == [
        ("enterprise", "Liunan", "steel", f"firm_cap[{A}] binding"),
        (
            "enterprise",
            "Liubei",
            "auto_parts",
            "provincial: applied for the provincial award of the same type (clause 20)",
        ),
        (
            "enterprise",
            "Liunan",
            "steel",
            "no_duplicate[growth_award]: another item of the group was chosen",
        ),
        ("enterprise", "Liunan", "steel", "fund_cap binding (clause 18)"),
        ("enterprise", "Liunan", "machinery", "all_or_nothing: not funded"),
        ("district", "Liunan", None, "fund_cap binding (clause 18)"),
    ]
    summary = dict(r[:2] for r in _sheet(out / "awards.xlsx", "汇总"))
    assert (summary["求解状态"], summary["分配规则"]) == ("optimal", "priority")
    assert [r[7] for r in _sheet(out / "awards.xlsx", "约束")[1:]] == ["yes", "yes", "yes"]


@pytest.mark.parametrize(
    "reason",
    [
        "proportional level 0.5000 (fund_cap binding, clause 18); all_or_nothing: not funded",
        "provincial: less the provincial award of the same type (12万元): better of the two, "
        "not both (clause 20); equal_awards level 3.0000 (sub_budget[园区 A] binding, "
        "scenario budget)",
        "provincial: the firm's city awards of type growth together at most 7万元 (its claims "
        "less the provincial award of the same type (5万元): better of the two, not both, "
        "clause 11.3)",
        "below claim: no binding constraint found (status FEASIBLE)",
    ],
)
def test_a_reason_reads_back_as_itself_in_english_and_as_chinese_in_chinese(reason: str) -> None:
    with speaking("en"):
        assert reason_text(reason) == reason
    with speaking("zh"):
        chinese = reason_text(reason)
    assert not any(word in chinese for word in ("binding", "level", "provincial:", "clause"))


def test_a_level_reason_in_chinese() -> None:
    with speaking("zh"):
        assert reason_text("equal_losses level 2.5000 (district_cap[柳南区] binding)") == (
            "等损，核定水平 2.5000（县区上限[柳南区]已用足）"
        )


@pytest.mark.slow
def test_the_sample_run_audits_in_either_language(tmp_path: Path) -> None:
    """``allocate run`` writes the workbook's values in its language (汉字 by default, English
    with --lang en), and a workbook written in one language passes the audit in the other."""
    env = {k: v for k, v in os.environ.items() if k != "ALLOCATE_LANG"}
    for write, read in (("zh", "en"), ("en", "zh")):
        out = tmp_path / write
        run = subprocess.run(
            [ALLOCATE, "--lang", write, "run", "scenarios/liuzhou-2025-q1.yaml", "--out", out],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        detail = _sheet(out / "awards.xlsx", "奖补明细")[1:]
        summary = dict(r[:2] for r in _sheet(out / "awards.xlsx", "汇总"))
        kinds = {r[2] for r in detail}
        if write == "zh":
            assert kinds == {"企业", "项目", "县区"}
            assert (summary["求解状态"], summary["分配规则"]) == ("最优", "优先序")
            assert "汽车零部件" in {r[4] for r in detail}
        else:
            assert kinds == {"enterprise", "project", "district"}
            assert (summary["求解状态"], summary["分配规则"]) == ("optimal", "priority")
            assert "auto_parts" in {r[4] for r in detail}
        audit = subprocess.run(
            [ALLOCATE, "--lang", read, "audit", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
