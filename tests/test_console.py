"""Windows-like surroundings: a GBK console, folders with Chinese names and spaces, a wheel.

A finance bureau's machine runs Windows with code page 936 (GBK) for consoles and pipes and
keeps its files under folders such as ``D:\\财政局\\2026 一季度``. Each test runs the
``allocate`` command in a fresh process, as the clerk does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "bad_inputs"
ALLOCATE = Path(sys.executable).parent / "allocate"

# A firm of the small valid inputs, renamed with a character GBK does not have (U+20BB7, in
# GB 18030 only), as real firm names sometimes are.
RARE_NAME = "柳州𠮷祥机械有限公司（模拟）"
RARE_CODE = "91450200MA5K00001K"


def small_inputs(folder: Path) -> Path:
    """The small valid scenario, model and data in ``folder``; returns the scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("scenario.yaml", "model.yaml"):
        shutil.copyfile(SMALL / name, folder / name)
    data = (SMALL / "data.csv").read_text(encoding="utf-8")
    assert "柳州甲机械有限公司（模拟）" in data
    (folder / "data.csv").write_text(
        data.replace("柳州甲机械有限公司（模拟）", RARE_NAME), encoding="utf-8"
    )
    return folder / "scenario.yaml"


def allocate(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, exe: Path = ALLOCATE
) -> subprocess.CompletedProcess[bytes]:
    """``allocate ARGS`` in a fresh process; stdout and stderr as bytes."""
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


# --------------------------------------------------------------------------------------------
# A GBK console

GBK = {"PYTHONIOENCODING": "gbk"}


@pytest.fixture(scope="module")
def gbk_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the small inputs, made on a GBK console; returns the folder."""
    folder = tmp_path_factory.mktemp("gbk")
    small_inputs(folder)
    done = allocate(["run", "scenario.yaml", "--out", "out", "--ledger", "l.sqlite"], folder, GBK)
    assert done.returncode == 0, done.stderr.decode("gbk", "replace")
    assert "status      OPTIMAL" in done.stdout.decode("gbk")
    return folder


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["validate", "data.csv"], 0),
        (["validate", "--json", "data.csv"], 0),
        (["policy", "model.yaml"], 0),
        (["explain", "out", RARE_CODE, "--ledger", "l.sqlite"], 0),
        (["explain", "out", RARE_CODE, "--lang", "en", "--ledger", "l.sqlite"], 0),
        (["explain", "out", "91450200MA5K0000XX", "--ledger", "l.sqlite"], 2),
        (["audit", "out", "--ledger", "l.sqlite"], 0),
        (["history", "--ledger", "l.sqlite"], 0),
        (["run", "absent.yaml"], 2),
        (["run", "data.csv"], 2),
        (["validate", "absent.csv"], 2),
        (["policy", "absent.yaml"], 2),
        # Every other command, with its progress on stderr, and their help.
        (["compare", "out", "out"], 0),
        (["--lang", "en", "compare", "out", "out"], 0),
        (["compare", "out", "absent"], 2),
        (["sweep", "scenario.yaml", "--vary", "budget_wan=20,30", "--out", "sw", "--jobs", "1"], 0),
        (
            [
                "sensitivity",
                "scenario.yaml",
                "--param",
                "budget_wan",
                "--method",
                "one-at-a-time",
                "--out",
                "sens",
            ],
            0,
        ),
        (["template", "--out", "模板 文件.xlsx"], 0),
        (["generate", "--enterprises", "20", "--out", "generated.csv"], 0),
        (["history", "--ledger", "l.sqlite", "--json"], 0),
        (["audit", "absent", "--ledger", "l.sqlite"], 2),
        (["--help"], 0),
        (["run", "--help"], 0),
    ],
)
def test_a_gbk_console_never_raises(gbk_run: Path, args: list[str], code: int) -> None:
    done = allocate(args, gbk_run, GBK)
    out, err = done.stdout.decode("gbk"), done.stderr.decode("gbk")
    assert done.returncode == code, err
    assert "Traceback" not in err
    assert "UnicodeEncodeError" not in err
    assert out or err


def test_what_gbk_lacks_is_printed_as_an_escape(gbk_run: Path) -> None:
    done = allocate(["validate", "--json", "data.csv"], gbk_run, GBK)
    assert done.returncode == 0, done.stderr.decode("gbk")
    explained = allocate(["explain", "out", RARE_CODE, "--ledger", "l.sqlite"], gbk_run, GBK)
    text = explained.stdout.decode("gbk")
    # The rare character as \U00020bb7; the rest of the name as GBK shows it.
    assert "柳州\\U00020bb7祥机械有限公司" in text, text
    # The ✓ of a condition that holds (U+2713, not in GBK) as \u2713.
    assert "\\u2713" in text, text


# --------------------------------------------------------------------------------------------
# Folders with Chinese names and spaces


def test_a_folder_with_chinese_characters_and_spaces(tmp_path: Path) -> None:
    work = tmp_path / "柳州 财政局" / "2026 一季度 奖补"
    small_inputs(work)
    out = work / "结果 输出"
    ledger = work / "台账 文件.sqlite"
    done = allocate(["run", "scenario.yaml", "--out", str(out), "--ledger", str(ledger)], work)
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["status"] == "OPTIMAL"
    assert {p.name for p in out.iterdir()} >= {"awards.csv", "awards.xlsx", "report.html"}
    # From another folder, with the paths as arguments.
    audit = allocate(["audit", str(out), "--ledger", str(ledger), "--json"], tmp_path)
    assert audit.returncode == 0, audit.stdout.decode()
    assert json.loads(audit.stdout)["verdict"] == "passed"
    why = allocate(["explain", str(out), RARE_CODE, "--ledger", str(ledger), "--json"], tmp_path)
    assert why.returncode == 0, why.stderr.decode()
    assert json.loads(why.stdout)["recipient_name"] == RARE_NAME
    history = allocate(["history", "--ledger", str(ledger), "--json"], tmp_path)
    assert [run["output_dir"] for run in json.loads(history.stdout)] == [str(out)]


# --------------------------------------------------------------------------------------------
# The wheel


@pytest.mark.slow
def test_the_wheel_installs_and_runs_the_sample(tmp_path: Path) -> None:
    # The source as a fresh checkout has it, so the build leaves the working tree alone.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(dist)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if built.returncode != 0 and "Could not find a version that satisfies" in built.stderr:
        pytest.skip("no package index to fetch the build backend from (CI builds the wheel)")
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("allocate-*.whl")

    # A clean environment that gets allocate from the wheel alone; its dependencies are
    # this environment's, named by a .pth file so that nothing needs downloading.
    clean = tmp_path / "clean env"
    venv.create(clean, with_pip=True)
    bindir = clean / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "dependencies.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    exe = bindir / "allocate"

    work = tmp_path / "示例 运行"
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    shutil.copytree(ROOT / "models", work / "models")
    helped = allocate(["--help"], work, exe=exe)
    assert helped.returncode == 0, helped.stderr.decode()
    assert b"allocate SCENARIO.yaml" in helped.stdout
    # The installed package, not the source tree, is what runs.
    where = subprocess.run(
        [str(python), "-c", "import allocator; print(allocator.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=work,
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where
    ran = allocate(
        ["scenarios/liuzhou-2026-q1.yaml", "--out", "out", "--ledger", "l.sqlite", "-q"],
        work,
        exe=exe,
    )
    assert ran.returncode == 0, ran.stderr.decode()
    # The report comes from the template shipped as package data.
    report = (work / "out" / "report.html").read_text(encoding="utf-8")
    assert "<html" in report
    assert json.loads((work / "out" / "result.json").read_text("utf-8"))["status"] == "OPTIMAL"
