"""A run folder stands alone: it carries copies of its inputs and names its ledger.

The audit and explain of a folder read its own copies, from any working folder, on a folder
copied elsewhere, after the originals were edited or deleted; an original changed is
information, a copy changed a finding (docs/outputs.md, docs/audit.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.core.errors import InputError
from allocator.outputs.copies import copy_inputs
from allocator.outputs.result import InputFile
from runs import tiny_run


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_json(folder: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = invoke("audit", str(folder), "--json", *extra)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def by_severity(report: dict[str, Any], severity: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["severity"] == severity]


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, str]:
    """A tiny run in ``tmp_path/src`` (scenario, model and data beside ``out``), its ledger."""
    src = tmp_path / "src"
    src.mkdir()
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return tiny_run(src, ledger, ["2", "2", "10"], 10, "proportional"), ledger


def test_the_folder_holds_its_inputs_named_by_content(run: tuple[Path, str]) -> None:
    out, ledger = run
    src = out.parent
    # The names are the first 16 hex digits of each file's sha256 and its name, nothing else.
    expected = {
        f"{sha(src / name)[:16]}-{name}": src / name
        for name in ("tiny.yaml", "model.yaml", "data.csv")
    }
    assert sorted(p.name for p in (out / "inputs").iterdir()) == sorted(expected)
    for name, original in expected.items():
        assert (out / "inputs" / name).read_bytes() == original.read_bytes()
        # Never a hard link to the original: an in-place edit would change the copy too.
        assert (out / "inputs" / name).stat().st_ino != original.stat().st_ino
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert [(i["role"], i["path"], i["copy"]) for i in doc["inputs"]] == [
        ("scenario", str(src / "tiny.yaml"), f"inputs/{sha(src / 'tiny.yaml')[:16]}-tiny.yaml"),
        ("model", "model.yaml", f"inputs/{sha(src / 'model.yaml')[:16]}-model.yaml"),
        ("data", "data.csv", f"inputs/{sha(src / 'data.csv')[:16]}-data.csv"),
    ]
    assert doc["ledger"] == ledger


def test_a_copy_elsewhere_audits_from_anywhere_and_names_the_edited_source(
    run: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = run
    src = out.parent
    elsewhere = tmp_path / "elsewhere" / "run"
    shutil.copytree(out, elsewhere)
    # The original data edited after the run, and the audit started from the root folder.
    with (src / "data.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    monkeypatch.chdir("/")
    code, report = audit_json(elsewhere)
    assert code == 0, report
    assert report["errors"] == 0
    (note,) = by_severity(report, "warning")
    assert note["check"] == "inputs"
    assert note["file"] == str(src / "data.csv")
    assert "has changed since the run" in note["message"]
    status = {c["name"]: c["status"] for c in report["checks"]}
    # Found in the ledger result.json names, by its result.json: the copy is the run's folder.
    assert status["ledger"] == "passed"
    assert status["claims"] == status["exact"] == "passed"

    # The originals deleted: still audited and explained from the copies.
    for name in ("tiny.yaml", "model.yaml", "data.csv"):
        (src / name).unlink()
    shutil.rmtree(out)
    code, report = audit_json(elsewhere)
    assert code == 0, report
    gone = by_severity(report, "warning")
    assert [f["file"] for f in gone] == [
        str(src / n) for n in ("tiny.yaml", "model.yaml", "data.csv")
    ]
    assert all("is no longer there" in f["message"] for f in gone)
    rows = (elsewhere / "awards.csv").read_text(encoding="utf-8").splitlines()
    recipient = rows[1].split(",")[0]
    explained = invoke("explain", str(elsewhere), recipient)
    assert explained.exit_code == 0, explained.output
    assert "is no longer there" in explained.stderr
    assert recipient in explained.stdout


def test_a_copy_edited_inside_the_folder_is_a_finding(run: tuple[Path, str]) -> None:
    out, _ = run
    (copy,) = (out / "inputs").glob("*-data.csv")
    # The copy and the original edited alike: nothing may call the copy intact.
    for edited in (copy, out.parent / "data.csv"):
        with edited.open("a", encoding="utf-8") as handle:
            handle.write("\n")
    code, report = audit_json(out)
    assert not any("intact" in f["message"] for f in report["findings"])
    assert code == 1
    edited = [f for f in by_severity(report, "error") if f["check"] == "inputs"]
    assert len(edited) == 1
    assert f"copy inputs/{copy.name} of the data file data.csv was edited" in edited[0]["message"]
    status = {c["name"]: c["status"] for c in report["checks"]}
    assert status["claims"] == "skipped"
    # The ledger recorded the copy's bytes too.
    assert any(f"inputs/{copy.name}" in f["file"] for f in by_severity(report, "error"))
    refused = invoke("explain", str(out), "x")
    assert refused.exit_code == 2
    assert "was edited" in refused.stderr


def test_copies_that_disagree_with_the_ledger_are_said(run: tuple[Path, str]) -> None:
    out, _ = run
    # The data copy replaced and result.json made to agree with it: only the ledger knows.
    (copy,) = (out / "inputs").glob("*-data.csv")
    data = copy.read_bytes() + b"\n"
    digest = hashlib.sha256(data).hexdigest()
    copy.unlink()
    (out / "inputs" / f"{digest[:16]}-data.csv").write_bytes(data)
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    recorded = doc["inputs"][2]["sha256"]
    doc["inputs"][2].update(sha256=digest, copy=f"inputs/{digest[:16]}-data.csv")
    (out / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    code, report = audit_json(out)
    assert code == 1
    (said,) = [f for f in by_severity(report, "error") if f["check"] == "inputs"]
    assert "does not match ledger run" in said["message"]
    assert f"in the ledger {recorded}" in said["message"]


def test_a_file_changed_during_the_run_is_not_copied(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes(b"credit_code\n")
    folder = tmp_path / "run"
    folder.mkdir()
    stale = InputFile("data", source, "data.csv", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(InputError) as caught:
        copy_inputs(folder, [stale])
    assert "it changed during the run" in str(caught.value)
    assert list((folder / "inputs").iterdir()) == []


def test_copies_of_one_batch_are_hard_links_to_the_first(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_bytes(b"credit_code\n" * 1000)
    digest = sha(source)
    made: dict[str, Path] = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (copy,) = copy_inputs(tmp_path / name, [InputFile("data", source, "d", digest)], made=made)
        assert copy == f"inputs/{digest[:16]}-data.csv"
    first, second = (tmp_path / n / "inputs" / f"{digest[:16]}-data.csv" for n in ("a", "b"))
    assert first.stat().st_ino == second.stat().st_ino
    assert first.stat().st_ino != source.stat().st_ino


def test_a_name_windows_refuses_is_copied_under_a_name_it_takes(tmp_path: Path) -> None:
    source = tmp_path / 'firms: "q1"?.csv'
    source.write_bytes(b"credit_code\n")
    digest = sha(source)
    (copy,) = copy_inputs(tmp_path, [InputFile("data", source, source.name, digest)])
    assert copy == f"inputs/{digest[:16]}-firms_ _q1__.csv"
    assert (tmp_path / copy).read_bytes() == b"credit_code\n"
