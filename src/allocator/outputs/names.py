"""The names and columns of a run folder's files, as docs/outputs.md states them.

Kept apart from the modules that write them (which import the model builder) so that
:mod:`allocator.analysis.audit`, which must not depend on the builder, reads the same contract.
"""

from __future__ import annotations

AWARDS = "awards.csv"
CONSTRAINTS = "constraints.csv"
RESULT = "result.json"
WORKBOOK = "awards.xlsx"
REPORT = "report.html"
OUTPUT_FILES = (AWARDS, CONSTRAINTS, RESULT, WORKBOOK, REPORT)
# The folder of the run's own copies of its scenario, model and data (docs/outputs.md).
INPUTS_DIR = "inputs"
# Everything a run folder may hold at its top level.
OUTPUT_ENTRIES = (*OUTPUT_FILES, INPUTS_DIR)
# Hex digits of the sha256 that start a copy's name: enough that two versions of one file
# never share a name, short enough to read.
COPY_DIGITS = 16


def copy_name(sha256: str, file_name: str) -> str:
    """Where a run folder keeps its copy of an input: ``inputs/<sha256 prefix>-<file name>``.

    Named by content, so that the same bytes always get the same name (no time, no absolute
    path) and two different versions of one file never overwrite each other. A character
    Windows refuses in a file name becomes ``_``, so that the folder can be copied there.
    """
    safe = "".join("_" if c in _NOT_ON_WINDOWS or ord(c) < 32 else c for c in file_name)
    return f"{INPUTS_DIR}/{sha256[:COPY_DIGITS]}-{safe}"


_NOT_ON_WINDOWS = frozenset('\\/:*?"<>|')


# While a run replaces a folder NAME, its siblings ``.NAME.partial-XXXXXXXX`` (the new run being
# written) and ``.NAME.old-XXXXXXXXXXXX`` (the earlier run, moved aside) exist for a moment.
PARTIAL_MARK = ".partial-"
OLD_MARK = ".old-"
PARTIAL_RANDOM = 8  # characters tempfile.mkdtemp adds
OLD_RANDOM = 12  # hex digits of the old folder's random suffix
# The most bytes a sibling's name adds to the folder's name.
SIBLING_EXTRA_BYTES = 1 + max(len(PARTIAL_MARK) + PARTIAL_RANDOM, len(OLD_MARK) + OLD_RANDOM)


def partial_prefix(name: str) -> str:
    """The start of the name of the folder a run of ``name`` is being written into."""
    return f".{name}{PARTIAL_MARK}"


def old_prefix(name: str) -> str:
    """The start of the name an earlier run of ``name`` is moved aside to while replaced."""
    return f".{name}{OLD_MARK}"


AWARD_COLUMNS = (
    "recipient_id",
    "recipient_name",
    "recipient_kind",
    "district",
    "industry",
    "clause_id",
    "item_key",
    "claim_wan",
    "award_wan",
    "reason",
)
CONSTRAINT_COLUMNS = (
    "name",
    "family",
    "clause_id",
    "sense",
    "lhs",
    "rhs",
    "slack",
    "binding",
    "members",
)

__all__ = [
    "AWARDS",
    "AWARD_COLUMNS",
    "CONSTRAINTS",
    "CONSTRAINT_COLUMNS",
    "COPY_DIGITS",
    "INPUTS_DIR",
    "OLD_MARK",
    "OLD_RANDOM",
    "OUTPUT_ENTRIES",
    "OUTPUT_FILES",
    "PARTIAL_MARK",
    "PARTIAL_RANDOM",
    "REPORT",
    "RESULT",
    "SIBLING_EXTRA_BYTES",
    "WORKBOOK",
    "copy_name",
    "old_prefix",
    "partial_prefix",
]
