"""Scenario files: validation on their own and against the model, every error with its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.core.errors import InputError
from allocator.inputs.scenario import LoadedScenario, json_schema, load_scenario
from allocator.policy.bind import Budget, check_against_model
from allocator.policy.load import load_model
from allocator.policy.model import PolicyModel

ROOT = Path(__file__).resolve().parent.parent
MODEL_2025 = ROOT / "models" / "liuzhou-2025-q1.yaml"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"


@pytest.fixture(scope="module")
def model_2025() -> PolicyModel:
    return load_model(MODEL_2025)


@pytest.fixture(scope="module")
def model_2026() -> PolicyModel:
    return load_model(MODEL_2026)


def write(tmp_path: Path, content: dict[str, Any] | str, name: str = "s.yaml") -> Path:
    (tmp_path / "data.csv").write_text("credit_code\n", encoding="utf-8")
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        body = {"name": "t", "model": str(MODEL_2025), "data": "data.csv", **content}
        path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[InputError]) -> dict[str, str]:
    """key -> message, for every problem of an InputError."""
    return {str(p.key): str(p) for p in exc.value.problems}


def test_a_minimal_scenario_and_its_defaults(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, {}))
    spec = loaded.spec
    assert (spec.budget_wan, spec.fairness.rule.value, spec.solver.time_limit_s) == (
        None,
        "priority",
        30.0,
    )
    # Relative paths resolve against the scenario's folder; one path is a list of one.
    assert loaded.data_paths == (tmp_path / "data.csv",)
    assert loaded.model_path == MODEL_2025
    assert len(loaded.sha256) == 64
    assert loaded.out_dir() == Path("out") / "t"
    assert loaded.out_dir(Path("elsewhere")) == Path("elsewhere")


def test_output_dir_in_the_file_is_relative_to_the_file(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, {"output_dir": "results"}))
    assert loaded.out_dir() == tmp_path / "results"


def test_unknown_keys_are_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, {"budjet_wan": 10, "solver": {"time_limit": 5}})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    got = problems(exc)
    assert set(got) == {"budjet_wan", "solver.time_limit"}
    assert str(path) in got["budjet_wan"]
    assert "budget_wan" in got["budjet_wan"]  # the known keys are listed
    assert "time_limit_s, workers, seed" in got["solver.time_limit"]


def test_negative_budget_and_other_ranges(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "budget_wan": -5,
            "firm_cap_wan": 1.5,
            "weights": {"clauses": {"1": 0}},
            "sub_budgets": [{"name": "a", "clauses": ["1"], "budget_wan": -1}],
        },
    )
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    got = problems(exc)
    assert "expected a number at least 0 (found -5)" in got["budget_wan"]
    assert "expected a whole number (found 1.5)" in got["firm_cap_wan"]
    assert "expected a number more than 0" in got["weights.clauses[1]"]
    assert "sub_budgets[0].budget_wan" in got


def test_unsafe_name_and_missing_files(tmp_path: Path) -> None:
    path = write(tmp_path, {"name": "../x", "data": ["data.csv", "nope.csv"]})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert "safe file name" in problems(exc)["name"]
    # The name is checked before the files: fix it and the missing file is reported.
    path = write(tmp_path, {"data": ["data.csv", "nope.csv"], "model": "no-model.yaml"})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    got = problems(exc)
    assert set(got) == {"model", "data[1]"}
    assert "expected an existing data file" in got["data[1]"]


def test_unknown_districts_and_industries_list_the_valid_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "district_caps": {"柳南区": 100, "火星区": 10},
            "district_floors": {"柳北区": 5},
            "weights": {"industries": {"steel": 2, "textiles": 1}, "districts": {"柳东区": 1}},
        },
    )
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    got = problems(exc)
    assert set(got) == {
        "district_caps[火星区]",
        "weights.industries[textiles]",
        "weights.districts[柳东区]",
    }
    assert "柳东新区" in got["weights.districts[柳东区]"]  # the valid districts are listed
    assert "auto_vehicle" in got["weights.industries[textiles]"]


def test_floor_above_cap(tmp_path: Path) -> None:
    path = write(tmp_path, {"district_caps": {"柳南区": 10}, "district_floors": {"柳南区": 20}})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert "no higher than district_caps[柳南区] = 10" in problems(exc)["district_floors[柳南区]"]


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nmodel: [unclosed\n")
    with pytest.raises(InputError, match="line 3"):
        load_scenario(path)
    with pytest.raises(InputError, match="a mapping of keys at the top level"):
        load_scenario(write(tmp_path, "- a list\n"))


def check(tmp_path: Path, policy: PolicyModel, **content: Any) -> Budget:
    return check_against_model(load_scenario(write(tmp_path, content)), policy)


def test_budget_defaults_to_the_document_cap(tmp_path: Path, model_2025: PolicyModel) -> None:
    # 2025 （十八）: 5,000万元.
    assert check(tmp_path, model_2025) == Budget(5000, "document", "18", 5000)
    assert check(tmp_path, model_2025, budget_wan=4000) == Budget(4000, "scenario", "18", 5000)


def test_budget_above_the_document_cap(tmp_path: Path, model_2025: PolicyModel) -> None:
    with pytest.raises(InputError) as exc:
        check(tmp_path, model_2025, budget_wan=6000)
    message = problems(exc)["budget_wan"]
    assert "at most the document's fund cap of 5000万元 (clause 18)" in message
    budget = check(tmp_path, model_2025, budget_wan=6000, allow_budget_above_document_cap=True)
    assert budget.value_wan == 6000


def test_budget_required_when_the_model_states_no_cap(
    tmp_path: Path, model_2026: PolicyModel
) -> None:
    # 2026 十一（一） names no amount.
    with pytest.raises(InputError) as exc:
        check(tmp_path, model_2026, model=str(MODEL_2026))
    assert "the model states no fund cap (clause 11.1" in problems(exc)["budget_wan"]
    budget = check(tmp_path, model_2026, model=str(MODEL_2026), budget_wan=5000)
    assert budget == Budget(5000, "scenario", "scenario", None)


def test_unknown_clause_ids_and_item_keys(tmp_path: Path, model_2025: PolicyModel) -> None:
    with pytest.raises(InputError) as exc:
        check(
            tmp_path,
            model_2025,
            weights={"clauses": {"1": 2, "99": 1, "8/investment": 1.5}},
            sub_budgets=[{"name": "s", "clauses": ["1", "18", "1/nope"], "budget_wan": 100}],
            exclusive_groups=[{"name": "e", "items": ["11/booth", "11"]}],
        )
    got = problems(exc)
    # Clause 18 is a rule, not an award clause; "11" is a clause, not an item key.
    assert set(got) == {
        "weights.clauses[99]",
        "sub_budgets[0].clauses[1]",
        "sub_budgets[0].clauses[2]",
        "exclusive_groups[0].items[1]",
    }
    assert (
        "award clause id (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)" in got["weights.clauses[99]"]
    )
    assert "1/growth, 2/recovery" in got["exclusive_groups[0].items[1]"]


def test_extra_group_may_not_reuse_a_model_group_name(
    tmp_path: Path, model_2025: PolicyModel
) -> None:
    with pytest.raises(InputError) as exc:
        check(
            tmp_path,
            model_2025,
            exclusive_groups=[{"name": "growth_award", "items": ["11/booth", "12/oem"]}],
        )
    assert "exclusive_groups[0].name" in problems(exc)


def test_overrides_are_checked_against_the_model(tmp_path: Path, model_2025: PolicyModel) -> None:
    budget = check(tmp_path, model_2025, overrides={"11/booth/rate": 0.4})
    assert budget.value_wan == 5000
    with pytest.raises(InputError) as exc:
        check(
            tmp_path,
            model_2025,
            overrides={"11/booth/rat": 0.4, "11/booth/cap": [1, 2]},
        )
    got = problems(exc)
    assert set(got) == {"overrides[11/booth/rat]", "overrides[11/booth/cap]"}
    assert str(tmp_path / "s.yaml") in got["overrides[11/booth/rat]"]


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, {"budget_wan": -1, "fairness": {"rule": "lottery"}, "zzz": 1})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert len(exc.value.problems) == 3
    assert str(exc.value).startswith("3 problems:")


def test_json_schema_is_current() -> None:
    shipped = (ROOT / "docs" / "scenario.schema.json").read_text(encoding="utf-8")
    assert shipped == json_schema(), (
        "docs/scenario.schema.json is stale: python -m allocator.inputs.scenario > "
        "docs/scenario.schema.json"
    )


def test_every_field_has_a_description() -> None:
    import allocator.inputs.scenario as sc

    for cls in (sc.Scenario, sc.SubBudget, sc.ExclusiveGroup, sc.Weights, sc.Contribution):
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name}"
    for cls in (sc.Fairness, sc.Solver):
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name}"


@pytest.mark.parametrize(
    ("name", "model", "budget"),
    [
        ("liuzhou-2025-q1.yaml", MODEL_2025, Budget(5000, "document", "18", 5000)),
        ("liuzhou-2026-q1.yaml", MODEL_2026, Budget(5000, "scenario", "scenario", None)),
    ],
)
def test_shipped_scenarios(name: str, model: Path, budget: Budget) -> None:
    path = ROOT / "scenarios" / name
    if not (ROOT / "scenarios" / "data" / "liuzhou-sample.csv").exists():
        pytest.skip("the sample data is generated separately")
    loaded: LoadedScenario = load_scenario(path)
    assert loaded.model_path.resolve() == model
    assert check_against_model(loaded, load_model(model)) == budget
