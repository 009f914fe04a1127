"""docs/fairness.md holds the table benchmarks/fairness_table.py prints, and the table says
what the level rules must do: within 1万元 of the exact value, the estate spent, the order of
the claims kept and no award lower than at an estate 1万元 smaller."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def script() -> ModuleType:
    path = ROOT / "benchmarks" / "fairness_table.py"
    spec = importlib.util.spec_from_file_location("fairness_table", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fairness_table"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table() -> tuple[ModuleType, str]:
    module = script()
    return module, module.table()


@pytest.mark.change_detector
def test_the_document_holds_the_scripts_table(table: tuple[ModuleType, str]) -> None:
    module, text = table
    doc = (ROOT / "docs" / "fairness.md").read_text(encoding="utf-8")
    assert module.section(text) in doc, "run benchmarks/fairness_table.py --write"


def test_every_row_is_within_quota_spent_ordered_and_monotone(
    table: tuple[ModuleType, str],
) -> None:
    module, text = table
    rows = [line for line in text.splitlines() if line.startswith("| ") and "instance" not in line]
    assert len(rows) == 4 * len(module.instances()) >= 4 * 20
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[3]) < 1.0, line
        assert cells[4].endswith("= estate"), line
        assert cells[5] == cells[6] == "yes", line
