"""The one-way flow of docs/architecture.md, checked at run time.

import-linter (``make lint``) checks the imports written in the source; these tests check what
a fresh interpreter actually loads, which also catches an ``importlib.import_module`` the
static graph cannot see. The layers are read from the import-linter contract in
pyproject.toml, their one home.

The tests keep a flow of their own: a test module takes shared helpers from the helper
modules beside it (tests/helpers.py, runs.py, browsing.py …) or fixtures from conftest.py,
never from another test module, so that each can be read, run and changed alone.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import allocator

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layers() -> list[str]:
    (layers,) = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    assert isinstance(layers, list)
    return [str(layer) for layer in layers]


def _loaded_after_importing(package: str) -> set[str]:
    """Every module a fresh interpreter holds after importing all of ``package``'s modules."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_every_module_sits_in_a_layer() -> None:
    # A new subpackage must be placed in the contract, or import-linter would not check it.
    layers = _layers()
    top = {name for _, name, _ in pkgutil.iter_modules(allocator.__path__)}
    placed = {layer.removeprefix("allocator.") for layer in layers}
    assert top - placed == set(), "add the new module or package to the layers contract"


@pytest.mark.parametrize("layer", _layers()[2:])
def test_a_layer_loads_nothing_above_it(layer: str) -> None:
    layers = _layers()
    above = layers[: layers.index(layer)]
    loaded = _loaded_after_importing(layer)
    upward = sorted(m for m in loaded if any(m == a or m.startswith(a + ".") for a in above))
    assert upward == [], f"{layer} loads {upward}"


def test_analysis_loads_no_solver() -> None:
    # An audit re-checks a run without trusting the solver: none may even be loaded.
    (forbidden,) = [c["forbidden_modules"] for c in _contracts() if c["type"] == "forbidden"]
    assert isinstance(forbidden, list)
    loaded = _loaded_after_importing("allocator.analysis")
    found = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert found == []
    # The builder neither: the audit derives the constraint rows again on its own.
    assert "allocator.model.build" not in loaded


def _test_modules_imported(source: str) -> list[str]:
    """The test modules (``test_*``) an ``import`` or ``from … import`` of ``source`` names."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name.split(".")[0].startswith("test_")]


def test_the_check_sees_both_forms_of_import() -> None:
    source = "import os\nimport test_a\nfrom test_b import x\nfrom helpers import y\n"
    assert _test_modules_imported(source) == ["test_a", "test_b"]
    assert _test_modules_imported("def f():\n    from test_c import z\n") == ["test_c"]


def test_no_test_module_imports_another() -> None:
    # Shared helpers live in the helper modules and conftest.py; a test module importing
    # another also runs that module's import-time code and couples their fixtures.
    found = {
        path.name: imported
        for path in sorted(TESTS.glob("*.py"))
        if (imported := _test_modules_imported(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "move the shared helper to a helper module under tests/"
