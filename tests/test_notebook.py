"""notebooks/compare-rules.ipynb: kept without outputs, and runs from top to bottom."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import find_kernel_specs
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "compare-rules.ipynb"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
KERNEL = "python3"


def test_notebook_is_kept_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for n, cell in enumerate(code):
        assert cell.outputs == [], f"code cell {n} has outputs"
        assert cell.execution_count is None, f"code cell {n} has an execution count"
    assert nb.metadata["kernelspec"]["name"] == KERNEL


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The python3 kernel; where none is registered, one of this interpreter in a temp dir."""
    if KERNEL not in find_kernel_specs():
        spec = tmp_path / "kernels" / KERNEL
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


@pytest.mark.slow
def test_notebook_runs_without_errors(kernel_name: str) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    # Lorenz, clauses, districts and ratios for each year, then the budget sweep.
    assert len(svgs) == 9
    # Each year's four charts carry its own document in the title, never the other year's.
    text = ["".join(o["data"]["image/svg+xml"]) for o in svgs]
    y2026, y2025 = (False, True), (True, False)
    assert [("柳政规〔2025〕1号" in t, "2026 draft" in t) for t in text] == [
        *(y2026, y2025),  # Lorenz
        *(y2026, y2026, y2025, y2025),  # clauses and districts
        *(y2026, y2025),  # ratios
        y2026,  # the budget sweep
    ]


def test_the_notebook_copied_elsewhere_says_what_it_needs(tmp_path: Path) -> None:
    # Its first cell, run from a folder with no scenarios/ above it (a copy of the notebook
    # on its own): one clear error naming the folder, not a bare StopIteration.
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    done = subprocess.run(
        [sys.executable, "-c", first], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError: no scenarios/ folder in "), done.stderr
    assert "copy scenarios/ and models/ beside it" in last
    assert "StopIteration" not in done.stderr
