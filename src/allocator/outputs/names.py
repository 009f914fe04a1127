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
    "OUTPUT_FILES",
    "REPORT",
    "RESULT",
    "WORKBOOK",
]
