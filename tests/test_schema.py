"""The schema's clause references agree with the fields the shipped models really read."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.inputs.schema import FIELDS, PROVINCIAL_TYPES
from allocator.policy.compile import compile_model
from allocator.policy.load import load_model

MODELS = {
    "2025": Path(__file__).parents[1] / "models" / "liuzhou-2025-q1.yaml",
    "2026": Path(__file__).parents[1] / "models" / "liuzhou-2026-q1-draft.yaml",
}
# Read by rules rather than by an item's expressions: checked separately below.
_RULE_FIELDS = {"applied_clauses", "applied_clauses_2025q1", "applied_clauses_2026q1"} | {
    f"prov_{kind}_{t}" for kind in ("applied", "award") for t in PROVINCIAL_TYPES
}


def _fields_used() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for year, path in MODELS.items():
        model = load_model(path)
        for key, item in compile_model(model).items.items():
            fields = set(item.fields)
            # Grouped items read their group key to form the recipients.
            if item.item.recipient == "district":
                fields.add("district")
            if item.item.recipient == "park":
                fields.add("chem_park")
            for name in fields:
                used.setdefault(name, set()).add(f"{year}:{key.split('/')[0]}")
    return used


def test_every_clause_reference_is_a_real_use() -> None:
    used = _fields_used()
    wrong = {
        f.name: (
            sorted(set(f.clauses) - used.get(f.name, set())),
            sorted(used.get(f.name, set()) - set(f.clauses)),
        )
        for f in FIELDS
        if f.name not in _RULE_FIELDS and set(f.clauses) != used.get(f.name, set())
    }
    assert wrong == {}, "field: (declared but unused, used but undeclared)"


@pytest.mark.parametrize("year", sorted(MODELS))
def test_provincial_fields_point_at_the_rule_that_reads_them(year: str) -> None:
    model = load_model(MODELS[year])
    rule_clause = model.rules.provincial.clause
    kind = "applied" if model.rules.provincial.mode == "exclude_if_applied" else "award"
    for t in PROVINCIAL_TYPES:
        field = next(f for f in FIELDS if f.name == f"prov_{kind}_{t}")
        assert f"{year}:{rule_clause}" in field.clauses
