"""The run ledger: recording, listing, checking a folder, and ``allocate history``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.outputs import ledger, ledger_entry
from allocator.outputs.ledger import (
    LedgerError,
    check_against_ledger,
    find_run,
    ledger_url,
    list_runs,
    record_run,
    safe_url,
)
from allocator.outputs.ledger_entry import Finding, RunEntry

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _result(scenario: str, budget: int, awarded: int) -> dict[str, Any]:
    return {
        "scenario": {"name": scenario},
        "status": "OPTIMAL",
        "rule": "priority",
        "budget_wan": budget,
        "total_claim_wan": budget + 500,
        "total_awarded_wan": awarded,
        "counts": {"recipients": 4},
        "sha256": {"scenario": "a" * 64, "model": "b" * 64, "data": ["c" * 64, "d" * 64]},
        "versions": {"allocator": "9.9.9"},
    }


def make_output(
    root: Path, name: str, *, scenario: str = "柳州2025", budget: int = 1000, awarded: int = 990
) -> Path:
    """A small output folder as the pipeline leaves it: result.json and two CSV files."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(
        json.dumps(_result(scenario, budget, awarded), ensure_ascii=False), encoding="utf-8"
    )
    (folder / "awards.csv").write_text("recipient_id,award_wan\nA,600\nB,390\n", encoding="utf-8")
    (folder / "constraints.csv").write_text("label,rhs\nfund_cap,1000\n", encoding="utf-8")
    return folder


def entry_for(folder: Path, minutes: int, scenario_path: str = "scenario.yaml") -> RunEntry:
    start = T0 + timedelta(minutes=minutes)
    return RunEntry.from_output_dir(
        folder,
        scenario_path=folder.parent / scenario_path,
        started_at=start,
        finished_at=start + timedelta(seconds=30),
        command_line=["allocate", "run", scenario_path],
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return ledger_url(tmp_path / "ledger" / "ledger.sqlite")


# --------------------------------------------------------------------------------------------
# Building an entry


def test_entry_reads_result_and_hashes_every_file(tmp_path: Path) -> None:
    folder = make_output(tmp_path, "run1")
    (folder / "charts").mkdir()
    (folder / "charts" / "awards.png").write_bytes(b"\x89PNG")
    entry = entry_for(folder, 0)

    assert entry.scenario_name == "柳州2025"
    assert entry.status == "OPTIMAL"
    assert entry.rule == "priority"
    assert (entry.budget_wan, entry.total_claim_wan, entry.total_awarded_wan) == (1000, 1500, 990)
    assert entry.recipients == 4
    assert entry.scenario_sha256 == "a" * 64
    assert entry.model_sha256 == "b" * 64
    assert entry.data_sha256 == ("c" * 64, "d" * 64)
    assert entry.allocator_version == "9.9.9"
    assert entry.output_dir == str(folder.resolve())
    assert sorted(entry.outputs_sha256) == [
        "awards.csv",
        "charts/awards.png",
        "constraints.csv",
        "result.json",
    ]
    # sha256 of "abc", to check that the digest is of the bytes on disk
    (folder / "abc.txt").write_bytes(b"abc")
    assert ledger_entry.hash_outputs(folder)["abc.txt"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert entry.started_at == "2025-03-01T08:00:00.000000+00:00"
    assert entry.finished_at == "2025-03-01T08:00:30.000000+00:00"
    assert entry.command_line == "allocate run scenario.yaml"
    assert len(entry.run_id) == 64
    assert entry.short_id == entry.run_id[:12]
    assert entry.id is None


def test_entry_tolerates_missing_optional_keys(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "result.json").write_text(
        json.dumps({"status": "FEASIBLE", "budget_wan": 50, "total_awarded_wan": 49})
    )
    scenario = tmp_path / "城区扶持.yaml"
    scenario.write_bytes(b"abc")
    entry = RunEntry.from_output_dir(
        folder, scenario_path=scenario, started_at=T0, finished_at=T0, command_line="allocate x"
    )
    assert entry.scenario_name == "城区扶持"  # the file's stem
    assert entry.scenario_sha256 == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )  # hashed from the file since result.json does not say
    assert entry.rule is None
    assert entry.model_sha256 is None
    assert entry.data_sha256 == ()
    assert entry.total_claim_wan is None
    assert entry.recipients is None
    assert entry.allocator_version == ledger_entry.__version__


def test_entry_requires_status_budget_and_awarded(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "result.json").write_text(json.dumps({"budget_wan": "1000", "rule": "priority"}))
    with pytest.raises(InputError) as info:
        entry_for(folder, 0)
    keys = [p.key for p in info.value.problems]
    assert keys == ["status", "budget_wan", "total_awarded_wan"]
    assert "found '1000'" in str(info.value)


@pytest.mark.parametrize(
    ("content", "found"), [(None, "no such file"), ("{not json", "Expecting"), ("[1]", "list")]
)
def test_entry_rejects_missing_or_bad_result_file(
    tmp_path: Path, content: str | None, found: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    if content is not None:
        (folder / "result.json").write_text(content)
    with pytest.raises(InputError, match=found):
        entry_for(folder, 0)


def test_entry_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected an output folder"):
        entry_for(tmp_path / "nowhere", 0)


def test_user_unknown_when_lookup_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(ledger_entry.getpass, "getuser", no_user)
    assert entry_for(make_output(tmp_path, "r"), 0).user == "unknown"


# --------------------------------------------------------------------------------------------
# Recording and listing


def test_record_list_newest_first(tmp_path: Path, url: str) -> None:
    # Recorded out of time order: the listing follows finish time, not insertion order.
    entries = [
        entry_for(make_output(tmp_path, "b", budget=2000, awarded=1800), 10),
        entry_for(make_output(tmp_path, "a"), 0),
        entry_for(make_output(tmp_path, "c", scenario="鹿寨2025"), 20),
    ]
    recorded = [record_run(url, e) for e in entries]
    assert [r.id for r in recorded] == [1, 2, 3]
    assert recorded[0] == entries[0]  # id does not take part in equality

    runs = list_runs(url)
    assert [Path(r.output_dir).name for r in runs] == ["c", "b", "a"]
    assert runs[1] == entries[0]  # every field survives the round trip
    assert runs[1].outputs_sha256 == entries[0].outputs_sha256
    assert runs[1].id == 1


def test_list_filters_by_scenario_and_limit(tmp_path: Path, url: str) -> None:
    for i, scenario in enumerate(["柳州2025", "鹿寨2025", "柳州2025", "柳州2025"]):
        record_run(url, entry_for(make_output(tmp_path, f"r{i}", scenario=scenario), i))
    assert [Path(r.output_dir).name for r in list_runs(url, scenario="柳州2025")] == [
        "r3",
        "r2",
        "r0",
    ]
    assert [Path(r.output_dir).name for r in list_runs(url, limit=2)] == ["r3", "r2"]
    assert [r.scenario_name for r in list_runs(url, scenario="鹿寨2025", limit=5)] == ["鹿寨2025"]
    assert list_runs(url, scenario="nobody") == []


def test_missing_ledger_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "ledger.sqlite"
    url = ledger_url(path, create_parent=False)
    assert list_runs(url) == []
    assert find_run(url, tmp_path) is None
    assert not path.parent.exists()


def test_duplicate_run_is_refused(tmp_path: Path, url: str) -> None:
    entry = entry_for(make_output(tmp_path, "r"), 0)
    record_run(url, entry)
    with pytest.raises(LedgerError, match="already recorded"):
        record_run(url, entry)
    assert len(list_runs(url)) == 1


def test_find_run_returns_latest_for_folder(tmp_path: Path, url: str) -> None:
    folder = make_output(tmp_path, "reused")
    record_run(url, entry_for(make_output(tmp_path, "other"), 50))
    record_run(url, entry_for(folder, 0))
    (folder / "awards.csv").write_text("recipient_id,award_wan\nA,500\n")
    second = record_run(url, entry_for(folder, 5))
    found = find_run(url, tmp_path / "." / "reused")  # a different spelling of the same path
    assert found is not None
    assert found.id == second.id
    assert find_run(url, tmp_path / "never") is None


def test_sqlite_ledger_uses_wal(tmp_path: Path, url: str) -> None:
    record_run(url, entry_for(make_output(tmp_path, "r"), 0))
    with closing(sqlite3.connect(tmp_path / "ledger" / "ledger.sqlite")) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


_WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from allocator.outputs.ledger import record_run
from allocator.outputs.ledger_entry import RunEntry

url, root, tag, n = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t0 = datetime(2025, 1, 1, tzinfo=UTC)
for i in range(n):
    folder = root / f"{tag}{i}"
    entry = RunEntry.from_output_dir(
        folder, scenario_path=root / "s.yaml", started_at=t0,
        finished_at=t0 + timedelta(seconds=i), command_line=["allocate", tag],
    )
    record_run(url, entry)
"""


def test_two_processes_write_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    url = ledger_url(path)
    n = 15
    for tag in "pq":
        for i in range(n):
            make_output(tmp_path, f"{tag}{i}")
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_WRITER))
    procs = [
        subprocess.Popen(
            [sys.executable, "-W", "error", str(script), url, str(tmp_path), tag, str(n)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in "pq"
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    runs = list_runs(url)
    assert len(runs) == 2 * n
    assert len({r.run_id for r in runs}) == 2 * n
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --------------------------------------------------------------------------------------------
# Checking a folder against its entry


def test_check_clean_folder_has_no_findings(tmp_path: Path, url: str) -> None:
    folder = make_output(tmp_path, "r")
    record_run(url, entry_for(folder, 0))
    assert check_against_ledger(url, folder) == []


def test_check_names_edited_file(tmp_path: Path, url: str) -> None:
    folder = make_output(tmp_path, "r")
    entry = record_run(url, entry_for(folder, 0))
    (folder / "awards.csv").write_text("recipient_id,award_wan\nA,990\nB,0\n", encoding="utf-8")
    [finding] = check_against_ledger(url, folder)
    assert finding.severity == "error"
    assert finding.what == "awards.csv changed since the run"
    assert entry.outputs_sha256["awards.csv"] in finding.detail
    assert entry.short_id in finding.detail


def test_check_reports_missing_and_added_files(tmp_path: Path, url: str) -> None:
    folder = make_output(tmp_path, "r")
    record_run(url, entry_for(folder, 0))
    (folder / "constraints.csv").unlink()
    (folder / "awards_fixed.csv").write_text("recipient_id,award_wan\n")
    findings = check_against_ledger(url, folder)
    assert [(f.severity, f.what) for f in findings] == [
        ("error", "awards_fixed.csv added"),
        ("error", "constraints.csv missing"),
    ]


def test_check_folder_without_entry(tmp_path: Path, url: str) -> None:
    record_run(url, entry_for(make_output(tmp_path, "recorded"), 0))
    # Another result: not a copy of the recorded folder, which would be found by its result.
    findings = check_against_ledger(url, make_output(tmp_path, "stray", awarded=980))
    assert findings == [
        Finding(
            severity="warning",
            what="no ledger entry for this folder",
            detail=findings[0].detail,
        )
    ]
    assert "stray" in findings[0].detail


def test_check_without_any_ledger(tmp_path: Path) -> None:
    url = ledger_url(tmp_path / "absent.sqlite", create_parent=False)
    [finding] = check_against_ledger(url, make_output(tmp_path, "r"))
    assert finding.what == "no ledger entry for this folder"
    assert not (tmp_path / "absent.sqlite").exists()


def test_check_refuses_missing_folder(tmp_path: Path, url: str) -> None:
    with pytest.raises(InputError, match="expected an output folder"):
        check_against_ledger(url, tmp_path / "gone")


# --------------------------------------------------------------------------------------------
# Where the ledger is


def test_ledger_url_from_path_creates_parent(tmp_path: Path) -> None:
    url = ledger_url(tmp_path / "a" / "b" / "ledger.sqlite")
    assert url == f"sqlite:///{(tmp_path / 'a' / 'b' / 'ledger.sqlite').as_posix()}"
    assert (tmp_path / "a" / "b").is_dir()


def test_ledger_url_env_var_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ledger.ENV_VAR, raising=False)
    assert ledger_url() == f"sqlite:///{(tmp_path / 'out' / 'ledger.sqlite').as_posix()}"
    assert (tmp_path / "out").is_dir()

    monkeypatch.setenv(ledger.ENV_VAR, "shared/runs.db")
    assert ledger_url() == f"sqlite:///{(tmp_path / 'shared' / 'runs.db').as_posix()}"
    # an explicit value wins over the environment
    assert ledger_url("sqlite:///x.db") == "sqlite:///x.db"


def test_ledger_url_passes_urls_and_rejects_bad_ones() -> None:
    pg = "postgresql+psycopg://finance:s3cret@db.internal:5432/allocate"
    assert ledger_url(pg) == pg
    assert safe_url(pg) == "postgresql+psycopg://finance:***@db.internal:5432/allocate"
    with pytest.raises(InputError, match="SQLAlchemy database URL"):
        ledger_url("postgresql://host:notaport/db")


def test_unusable_backend_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="usable database URL") as info:
        record_run("nosuchdb://u:s3cret@h/db", entry_for(make_output(tmp_path, "r"), 0))
    assert "s3cret" not in str(info.value)


# --------------------------------------------------------------------------------------------
# allocate history


def _three_runs(tmp_path: Path, url: str) -> list[RunEntry]:
    return [
        record_run(url, entry_for(make_output(tmp_path, "old", scenario="鹿寨2025"), 0)),
        record_run(url, entry_for(make_output(tmp_path, "mid", budget=12345, awarded=12000), 5)),
        record_run(url, entry_for(make_output(tmp_path, "new"), 9)),
    ]


def test_history_table(tmp_path: Path, url: str) -> None:
    old, mid, new = _three_runs(tmp_path, url)
    result = CliRunner().invoke(main, ["history", "--ledger", url])
    assert result.exit_code == 0, result.output
    out = result.stdout
    # newest first
    assert out.index(new.short_id) < out.index(mid.short_id) < out.index(old.short_id)
    assert "2025-03-01 08:09:30" in out
    assert "12,345" in out
    assert "12,000" in out
    assert "鹿寨2025" in out
    assert "OPTIMAL" in out


def test_history_json_with_filter(tmp_path: Path, url: str) -> None:
    _old, mid, new = _three_runs(tmp_path, url)
    result = CliRunner().invoke(
        main, ["history", "--ledger", url, "--scenario", "柳州2025", "--limit", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["run_id"] for r in rows] == [new.run_id, mid.run_id]
    assert rows[1]["budget_wan"] == 12345
    assert rows[1]["data_sha256"] == ["c" * 64, "d" * 64]
    assert rows[1]["outputs_sha256"] == dict(mid.outputs_sha256)


def test_history_via_env_var(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _three_runs(tmp_path, url)
    monkeypatch.setenv(ledger.ENV_VAR, url)
    result = CliRunner().invoke(main, ["history", "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert [Path(r["output_dir"]).name for r in json.loads(result.stdout)] == ["new"]


def test_history_of_empty_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ledger.ENV_VAR, raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["history"])
    assert result.exit_code == 0, result.output
    assert "No runs recorded" in result.stdout
    assert not (tmp_path / "out").exists()
    assert json.loads(runner.invoke(main, ["history", "--json"]).stdout) == []


@pytest.mark.parametrize("args", [["--ledger", "postgresql://host:notaport/db"], ["--limit", "0"]])
def test_history_bad_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, ["history", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("markup", ["[/b]", "[bold]x[/bold", "[red]"])
def test_history_shows_rich_markup_in_folder_and_user_as_text(
    tmp_path: Path, url: str, markup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder and a user name that rich would read as markup are shown as they are.
    monkeypatch.setenv("USER", markup)
    monkeypatch.setenv("LOGNAME", markup)
    record_run(url, entry_for(make_output(tmp_path, f"out{markup}"), 1))
    result = CliRunner().invoke(main, ["history", "--ledger", url])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert markup in result.stdout  # in the user column, unchanged
    rows = json.loads(CliRunner().invoke(main, ["history", "--ledger", url, "--json"]).stdout)
    assert rows[0]["user"] == markup
    assert rows[0]["output_dir"] == str(tmp_path / f"out{markup}")


def test_an_infeasible_result_is_an_entry_with_nothing_awarded(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    doc = {**_result("柳州2025", 1000, 0), "status": "INFEASIBLE", "total_awarded_wan": None}
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    entry = entry_for(folder, 0)
    assert (entry.status, entry.total_awarded_wan) == ("INFEASIBLE", 0)
    # An allocated run must say what it awarded.
    (folder / "result.json").write_text(json.dumps({**doc, "status": "OPTIMAL"}), encoding="utf-8")
    with pytest.raises(InputError, match="total_awarded_wan"):
        entry_for(folder, 0)


# --------------------------------------------------------------------------------------------
# Warnings the data gave


def test_the_data_warnings_of_a_run_are_recorded_and_listed(tmp_path: Path, url: str) -> None:
    folder = make_output(tmp_path, "warned")
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    doc["warnings"] = [
        "企业.csv，第 5 行：26,890,000 万元超过任何企业可能填报的数额",
        "县区数据不完整",
    ]
    (folder / "result.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    record_run(url, entry_for(folder, 0))
    (listed,) = list_runs(url)
    assert listed.warnings == tuple(doc["warnings"])
    result = CliRunner().invoke(main, ["history", "--ledger", url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["warnings"] == doc["warnings"]


def test_a_ledger_from_before_the_warnings_column_is_read_then_extended(
    tmp_path: Path, url: str
) -> None:
    first = make_output(tmp_path, "first")
    record_run(url, entry_for(first, 0))
    path = url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN warnings")
        conn.commit()
    # Read as it is: the earlier run, without warnings, and nothing written.
    (old,) = list_runs(url)
    assert old.warnings == ()
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
    assert "warnings" not in columns
    # The next record adds the column; the earlier row keeps every value it had.
    record_run(url, entry_for(make_output(tmp_path, "second"), 5))
    runs = list_runs(url)
    assert [r.output_dir for r in runs] == [
        str((tmp_path / "second").resolve()),
        str(first.resolve()),
    ]
    assert runs[1].outputs_sha256 == old.outputs_sha256
    assert runs[1].run_id == old.run_id
