"""Clause tests written as data: every case under tests/clauses/ becomes one test.

A case file ``tests/clauses/<model stem>/<anything>.yaml`` names a model of ``models/`` and
one award item, and lists cases: a firm (or several), optional parameter overrides, and the
expected row of the claims table (see :mod:`allocator.policy.cases` and docs/policy-model.md).
The fixture model ``tests/fixtures/mini-model.yaml`` has its cases under
``tests/fixtures/clauses/mini-model/``; they test the formula blocks themselves.

Besides the cases, :func:`test_every_award_item_has_cases` fails while any award item of a
model lacks a case file, an eligible case, an ineligible case, or a boundary case.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from allocator.core.errors import InputError
from allocator.policy.cases import Case, LoadedCases, find_model, load_cases, run_case
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIRS = (ROOT / "models", ROOT / "tests" / "fixtures")
CASE_DIRS = (ROOT / "tests" / "clauses", ROOT / "tests" / "fixtures" / "clauses")


@dataclass(frozen=True)
class _CaseFile:
    path: Path
    loaded: LoadedCases | None
    error: str

    @property
    def name(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _read_case_files() -> list[_CaseFile]:
    files = sorted(p for d in CASE_DIRS if d.is_dir() for p in d.glob("*/*.yaml"))
    out = []
    for path in files:
        try:
            out.append(_CaseFile(path, load_cases(path), ""))
        except InputError as exc:
            out.append(_CaseFile(path, None, str(exc)))
    return out


CASE_FILES = _read_case_files()


def _params() -> list[object]:
    params: list[object] = []
    for f in CASE_FILES:
        if f.loaded is None:
            params.append(pytest.param(f, None, id=f"{f.name}:unreadable"))
            continue
        spec = f.loaded.cases
        for case in spec.cases:
            params.append(pytest.param(f, case, id=f"{spec.model}:{spec.item}:{case.name}"))
    return params


@functools.cache
def _model(stem: str) -> PolicyModel:
    return load_model(find_model(stem, MODEL_DIRS))


@pytest.mark.parametrize(("case_file", "case"), _params())
def test_clause_case(case_file: _CaseFile, case: Case | None) -> None:
    if case_file.loaded is None or case is None:
        pytest.fail(case_file.error)
    spec = case_file.loaded.cases
    if case_file.path.parent.name != spec.model:
        pytest.fail(
            f"{case_file.name}: the folder says model {case_file.path.parent.name!r}, "
            f"the file says {spec.model!r}"
        )
    try:
        model = _model(spec.model)
        mismatches = run_case(model, spec.item, case, file=case_file.name)
    except InputError as exc:
        pytest.fail(f"{case_file.name}: case {case.name!r}: {exc}")
    assert not mismatches, f"{case_file.name}: case {case.name!r}:\n  " + "\n  ".join(mismatches)


def _models_to_cover() -> list[Path]:
    """Every model under models/, and each fixture model that has a case folder."""
    shipped = sorted((ROOT / "models").glob("*.yaml"))
    fixtures = sorted(
        p
        for p in (ROOT / "tests" / "fixtures").glob("*.yaml")
        if (ROOT / "tests" / "fixtures" / "clauses" / p.stem).is_dir()
    )
    return shipped + fixtures


def test_every_award_item_has_cases() -> None:
    by_item: dict[tuple[str, str], list[Case]] = defaultdict(list)
    gaps: list[str] = []
    for f in CASE_FILES:
        if f.loaded is None:
            gaps.append(f"{f.name}: unreadable")
            continue
        spec = f.loaded.cases
        names = [c.name for c in spec.cases]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            gaps.append(f"{f.name}: case names repeated: {', '.join(repeated)}")
        by_item[(spec.model, spec.item)].extend(spec.cases)
    covered: set[tuple[str, str]] = set()
    for path in _models_to_cover():
        try:
            model = _model(path.stem)
        except InputError as exc:
            gaps.append(f"{path.stem}: does not load: {exc}")
            continue
        for clause, item in model.items():
            key = (path.stem, f"{clause.id}/{item.id}")
            covered.add(key)
            cases = by_item.get(key, [])
            if not cases:
                gaps.append(f"{path.stem}: {key[1]}: no case file")
                continue
            lacking = [
                what
                for what, present in (
                    ("an eligible case", any("eligible" in c.shows for c in cases)),
                    ("an ineligible case", any("ineligible" in c.shows for c in cases)),
                    ("a case of kind boundary", any("boundary" in c.shows for c in cases)),
                )
                if not present
            ]
            if lacking:
                gaps.append(f"{path.stem}: {key[1]}: lacks {', '.join(lacking)}")
    stems = {p.stem for p in _models_to_cover()}
    for model_stem, item_key in sorted(set(by_item) - covered):
        if model_stem in stems:
            gaps.append(f"{model_stem}: cases for {item_key}, which is not an award item")
        else:
            gaps.append(f"{model_stem}: cases for a model that is not in models/")
    assert not gaps, f"{len(gaps)} gap(s) in the clause cases:\n  " + "\n  ".join(gaps)


# --- the runner's own checks --------------------------------------------------------------


def test_a_case_file_with_errors_names_them(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "model: mini-model\nitem: '2/booth'\ncases:\n"
        "  - name: no population\n    expect: {eligible: true}\n"
        "  - name: both\n    firm: {}\n    firms: []\n    expect: {claim_wan: 1}\n"
        "  - name: typo\n    firm: {}\n    expect: {eligble: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_cases(path)
    found = [(p.key, p.expected) for p in info.value.problems]
    assert found == [
        ("cases[0]", "give exactly one of 'firm' and 'firms'"),
        ("cases[1]", "give exactly one of 'firm' and 'firms'"),
        (
            "cases[2].expect.eligble",
            "one of the known keys (eligible, claim_wan, amount, applied, conditions, values)",
        ),
    ]


def test_run_case_reports_every_mismatch_and_the_conditions_not_met() -> None:
    model = _model("mini-model")
    case = Case.model_validate(
        {
            "name": "wrong on purpose",
            "firm": {"above_scale": True, "booth_fee_2026q1": 30},
            "expect": {"eligible": True, "claim_wan": 10, "values": {"formula.rw": 15}},
        }
    )
    assert run_case(model, "2/booth", case) == [
        "eligible: expected True, got False",
        "claim_wan: expected 10, got 0",
        "no column 'formula.rw'; did you mean 'formula.raw'?",
    ]


def test_run_case_refuses_unusable_input() -> None:
    model = _model("mini-model")
    typo = Case.model_validate(
        {"name": "typo", "firm": {"booth_fe_2026q1": 3}, "expect": {"eligible": False}}
    )
    with pytest.raises(InputError, match="did you mean 'booth_fee_2026q1'"):
        run_case(model, "2/booth", typo)
    ambiguous = Case.model_validate(
        {"name": "two firms", "firms": [{}, {}], "expect": {"eligible": False}}
    )
    with pytest.raises(InputError, match=r"a single recipient .*found: firm-1, firm-2"):
        run_case(model, "2/booth", ambiguous)
    unknown = Case.model_validate(
        {"name": "p", "firm": {}, "params": {"2/booth/rat": 1}, "expect": {"eligible": False}}
    )
    with pytest.raises(InputError, match="did you mean '2/booth/rate'"):
        run_case(model, "2/booth", unknown)
