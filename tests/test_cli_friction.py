"""What a first try at the command line meets: a data file where a scenario belongs, and
``--scenario`` meaning the same thing in history, audit and explain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main

SMALL = Path(__file__).resolve().parent / "bad_inputs"
SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "liuzhou-sample.csv"


@pytest.mark.parametrize(
    "args",
    [["clean.xlsx"], ["run", "clean.xlsx"], ["./clean.xlsx"], ["run", "firms.parquet"]],
)
def test_a_data_file_given_as_the_scenario_says_what_to_run(
    args: list[str], tmp_path: Path
) -> None:
    # Whether the file exists or not: the name says what it is.
    (tmp_path / "clean.xlsx").write_bytes(b"PK\x03\x04\n not a scenario")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        result = CliRunner().invoke(main, args)
    name = str(Path(args[-1]))  # as the message shows it: ./clean.xlsx is clean.xlsx
    assert result.exit_code == 2
    assert "No such command" not in result.stderr
    assert "byte" not in result.stderr
    assert result.stderr == (
        f"allocate: {name}: expected a scenario file (.yaml) naming the policy model, the data "
        f"and the budget (found a {Path(name).suffix} file; an enterprise data file is checked "
        f"with 'allocate validate {name}' and allocated through a scenario that names it under "
        "data: (docs/scenario.md))\n"
    )


def test_past_the_group_options_too(tmp_path: Path) -> None:
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        shutil.copyfile(SMALL / name, tmp_path / name)
    refused = CliRunner().invoke(main, ["--lang", "en", "data.xlsx"])
    assert refused.exit_code == 2
    assert "'allocate validate data.xlsx'" in refused.stderr
    ran = CliRunner().invoke(
        main, ["--lang=en", str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "o"), "-q"]
    )
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "o" / "result.json").is_file()


def test_the_command_it_names_takes_the_data_file() -> None:
    refused = CliRunner().invoke(main, [str(SAMPLE)])
    assert refused.exit_code == 2
    assert f"'allocate validate {SAMPLE}'" in refused.stderr
    taken = CliRunner().invoke(main, ["validate", "--json", str(SAMPLE)])
    assert taken.exit_code == 0, taken.output
    assert json.loads(taken.stdout)["rows"] == 1500


def test_a_mistyped_command_is_still_no_such_command() -> None:
    result = CliRunner().invoke(main, ["histroy"])
    assert result.exit_code == 2
    assert "No such command 'histroy'" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["histroy"], ["错误：没有 'histroy' 这个命令。", "您是想输入 'history' 吗？", "查看帮助"]),
        (["history", "--nope"], ["错误：没有 '--nope' 这个选项。"]),
        (["--lang", "fr"], ["'--lang' 的值无效：'fr' 不是可选值（可选：'zh', 'en'）"]),
        (["audit"], ["缺少参数 'DIR'"]),
    ],
)
def test_clicks_own_refusals_speak_chinese(
    args: list[str], words: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Click's usage errors come from Python's gettext, bound to the catalogue by the group.
    monkeypatch.setenv("ALLOCATE_LANG", "zh")
    monkeypatch.setenv("LANGUAGE", "en")  # the group names the reader's language itself
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr
    assert "Error" not in result.stderr


@pytest.fixture
def small_run(tmp_path: Path) -> tuple[Path, Path, str]:
    """A run of the small inputs: its scenario file, its output folder and the ledger."""
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        shutil.copyfile(SMALL / name, tmp_path / name)
    ledger = str(tmp_path / "ledger.sqlite")
    out = tmp_path / "out"
    done = CliRunner().invoke(
        main, ["run", str(tmp_path / "scenario.yaml"), "--out", str(out), "--ledger", ledger, "-q"]
    )
    assert done.exit_code == 0, done.output
    return tmp_path / "scenario.yaml", out, ledger


def test_scenario_takes_the_scenario_file_in_history_audit_and_explain(
    small_run: tuple[Path, Path, str], tmp_path: Path
) -> None:
    scenario, out, ledger = small_run
    # A second run of another scenario in the same ledger, which the filter must leave out.
    other = tmp_path / "other.yaml"
    other.write_text(
        scenario.read_text(encoding="utf-8").replace("name: bad-inputs", "name: other"), "utf-8"
    )
    done = CliRunner().invoke(
        main, ["run", str(other), "--out", str(tmp_path / "o2"), "--ledger", ledger, "-q"]
    )
    assert done.exit_code == 0, done.output

    by_file = CliRunner().invoke(
        main, ["history", "--ledger", ledger, "--scenario", str(scenario), "--json"]
    )
    by_name = CliRunner().invoke(
        main, ["history", "--ledger", ledger, "--scenario", "bad-inputs", "--json"]
    )
    assert by_file.exit_code == 0, by_file.output
    runs = json.loads(by_file.stdout)
    assert [r["output_dir"] for r in runs] == [str(out)]
    assert json.loads(by_name.stdout) == runs

    audit = CliRunner().invoke(
        main, ["audit", str(out), "--ledger", ledger, "--scenario", str(scenario), "--json"]
    )
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["verdict"] == "passed"
    why = CliRunner().invoke(
        main,
        ["explain", str(out), "91450200MA5K00001K", "--ledger", ledger,
         "--scenario", str(scenario), "--json"],
    )  # fmt: skip
    assert why.exit_code == 0, why.output
    assert json.loads(why.stdout)["scenario"] == "bad-inputs"


def test_history_of_a_scenario_file_that_is_not_there(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["history", "--ledger", str(tmp_path / "l.sqlite"), "--scenario", str(tmp_path / "x.yaml")],
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"allocate: {tmp_path / 'x.yaml'}: expected an existing file (found no such file)\n"
    )


def test_every_scenario_option_has_the_same_metavar() -> None:
    for command in ("history", "audit", "explain"):
        text = CliRunner().invoke(main, [command, "--help"]).stdout
        assert "--scenario SCENARIO.yaml" in text, (command, text)
