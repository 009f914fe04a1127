"""The workbench's folder: uploaded data, scenarios, run and sweep folders.

Everything the browser hands over lands here under a name the server chooses: an upload is
stored as ``uploads/<sha256>.<ext>`` (the client's file name is kept only as a label), a
scenario as ``scenarios/<name>.yaml`` with a name the scenario schema accepts. Runs are solved
in ``.work/<job>/`` and moved to ``runs/<job>/`` or ``sweeps/<job>/`` in one rename once they
are complete, so a cancelled or crashed run leaves nothing a page could show.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml

from allocator.core.i18n import N_, _
from allocator.web import library

#: Kinds of data file a clerk may upload, by extension.
UPLOAD_TYPES = (".xlsx", ".csv")
_SHA = re.compile(r"[0-9a-f]{64}")
_JOB = re.compile(r"[0-9a-f]{16}")


class UploadRefusedError(ValueError):
    """An upload that is not a data file the loader could read; the message is a catalogue id,
    shown in the reader's language by the page."""


@dataclass(frozen=True)
class Upload:
    """A stored upload: its content hash, its path and the name the clerk's file had."""

    sha256: str
    path: Path
    name: str


class Workspace:
    """The folders of one workbench.

    Parameters
    ----------
    root:
        The workspace folder; created when missing.
    models:
        The folder of policy model files offered on the new-allocation page.
    """

    def __init__(self, root: Path, models: Path) -> None:
        self.root = root.resolve()
        self.models_dir = models.resolve()
        self.uploads = self.root / "uploads"
        self.scenarios = self.root / "scenarios"
        self.runs = self.root / "runs"
        self.sweeps = self.root / "sweeps"
        self.work = self.root / ".work"
        for folder in (self.uploads, self.scenarios, self.runs, self.sweeps, self.work):
            folder.mkdir(parents=True, exist_ok=True)

    def clear_work(self) -> None:
        """Remove what runs of an earlier server left unfinished (it crashed mid-run)."""
        for entry in self.work.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    # -- uploads ------------------------------------------------------------------------------

    def store_upload(self, data: bytes, filename: str) -> Upload:
        """Keep an uploaded data file under its content hash.

        Raises
        ------
        UploadRefusedError
            The extension is not .xlsx or .csv, or the bytes are not what it says.
        """
        ext = Path(filename).suffix.lower()
        if ext not in UPLOAD_TYPES:
            raise UploadRefusedError(N_("Only .xlsx or .csv files are accepted."))
        if not data:
            raise UploadRefusedError(N_("The uploaded file is empty."))
        if ext == ".xlsx" and not _is_xlsx(data):
            raise UploadRefusedError(N_("The file is not an Excel workbook (.xlsx)."))
        if ext == ".csv" and data.startswith(b"PK\x03\x04"):
            # A workbook renamed .csv; other encodings are the loader's to judge, by row.
            raise UploadRefusedError(N_("The file is a workbook, not a CSV: upload it as .xlsx."))
        digest = library.sha256_bytes(data)
        path = self.uploads / f"{digest}{ext}"
        if not path.exists():
            library.write_atomic(path, data)
        label = self.uploads / f"{digest}.name"
        library.write_atomic(label, Path(filename).name[:200].encode("utf-8"))
        return Upload(digest, path, Path(filename).name[:200])

    def upload(self, digest: str) -> Upload | None:
        """The stored upload with this hash, or None."""
        if not _SHA.fullmatch(digest):
            return None
        for ext in UPLOAD_TYPES:
            path = self.uploads / f"{digest}{ext}"
            if path.is_file():
                label = self.uploads / f"{digest}.name"
                name = label.read_text(encoding="utf-8") if label.is_file() else path.name
                return Upload(digest, path, name)
        return None

    # -- models and scenarios -----------------------------------------------------------------

    def models(self) -> list[Path]:
        """The policy model files offered, by name."""
        if not self.models_dir.is_dir():
            return []
        return sorted(p for p in self.models_dir.glob("*.yaml") if p.is_file())

    def model(self, name: str) -> Path | None:
        """The model file of this name among :meth:`models`, or None."""
        return next((p for p in self.models() if p.name == name), None)

    def scenario(self, name: str) -> Path | None:
        """The saved scenario of this name, or None."""
        if not re.fullmatch(library.scenario_name_pattern(), name):
            return None
        path = self.scenarios / f"{name}.yaml"
        return path if path.is_file() else None

    def scenario_list(self) -> list[Path]:
        """Saved scenarios, newest first."""
        found = [p for p in self.scenarios.glob("*.yaml") if not p.name.startswith(".")]
        return sorted(found, key=lambda p: (-p.stat().st_mtime, p.name))

    def save_scenario(self, doc: dict[str, Any], model: Path, upload: Upload) -> Path:
        """Write a scenario that names ``model`` and ``upload``, after checking it as a run would.

        The paths in the file are relative to the scenarios folder, so that ``allocate run``
        reads the same file from any directory.

        Raises
        ------
        InputError
            The scenario, or its overrides against the model, is not acceptable, or another
            scenario was saved under the same name (its runs name that file, so it is never
            replaced); nothing is written.
        """
        doc = dict(doc)
        # A model kept beside the workspace is named relative to it, one elsewhere in full.
        inside = model.is_relative_to(self.root.parent)
        doc["model"] = os.path.relpath(model, self.scenarios) if inside else str(model)
        doc["data"] = os.path.relpath(upload.path, self.scenarios)
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")
        # Checked under a hidden name beside its final place, so relative paths resolve the same.
        trial = self.scenarios / f".check-{os.getpid()}-{library.sha256_bytes(text)[:12]}.yaml"
        library.write_atomic(trial, text)
        try:
            library.check_scenario(trial)
        finally:
            trial.unlink(missing_ok=True)
        path = self.scenarios / f"{doc['name']}.yaml"
        if path.exists() and path.read_bytes() != text:
            raise library.InputError(
                [
                    library.InputProblem(
                        "form",
                        _("a name no other saved scenario has"),
                        repr(doc["name"]),
                        key="name",
                    )
                ]
            )
        library.write_atomic(path, text)
        return path

    # -- run folders ----------------------------------------------------------------------------

    def work_dir(self, job_id: str) -> Path:
        """Where job ``job_id`` writes until it is complete."""
        if not _JOB.fullmatch(job_id):
            raise ValueError(job_id)
        return self.work / job_id

    def sweep_dir(self, job_id: str) -> Path | None:
        """The finished sweep folder of job ``job_id``, or None."""
        if not _JOB.fullmatch(job_id):
            return None
        path = self.sweeps / job_id
        return path if path.is_dir() else None


def _is_xlsx(data: bytes) -> bool:
    """An Office Open XML workbook: a zip holding ``xl/workbook.xml``."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(BytesIO(data)) as book:
            return "xl/workbook.xml" in book.namelist()
    except zipfile.BadZipFile:
        return False


__all__ = ["UPLOAD_TYPES", "Upload", "UploadRefusedError", "Workspace"]
