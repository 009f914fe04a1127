"""Scenario files: validation on their own and against the model, every error with its key."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from allocator.core import i18n
from allocator.core.errors import InputError
from allocator.inputs.choices import Rule, label
from allocator.inputs.scenario import (
    LoadedScenario,
    json_schema,
    load_scenario,
    time_limit_override,
)
from allocator.inputs.yamlfile import parse_yaml, read_yaml
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


@pytest.mark.parametrize(
    ("written", "wan"),
    [("5,000", 5000), ("5，000", 5000), ("1,250,000", 1250000), (" 12,500 ", 12500)],
)
def test_a_budget_grouped_by_thousands_is_read_as_the_data_reads_it(
    tmp_path: Path, written: str, wan: int
) -> None:
    loaded = load_scenario(write(tmp_path, {"budget_wan": written, "firm_cap_wan": written}))
    assert (loaded.spec.budget_wan, loaded.spec.firm_cap_wan) == (wan, wan)


@pytest.mark.parametrize("written", ["5,00", "05,000", "5,000.5", "5000", "1e3"])
def test_other_text_is_no_amount(tmp_path: Path, written: str) -> None:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, {"budget_wan": written}))
    assert "budget_wan" in problems(caught)


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
    # The shipped models state no group (the texts stack every clause): give （一） one.
    first = model_2025.clauses[0]
    grouped = first.model_copy(
        update={"items": [first.items[0].model_copy(update={"exclusive_group": "growth_award"})]}
    )
    model = model_2025.model_copy(update={"clauses": [grouped, *model_2025.clauses[1:]]})
    with pytest.raises(InputError) as exc:
        check(
            tmp_path,
            model,
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


@pytest.mark.change_detector
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
    loaded: LoadedScenario = load_scenario(path)
    assert loaded.model_path.resolve() == model
    assert check_against_model(loaded, load_model(model)) == budget


# --------------------------------------------------------------------------------------------
# The strict YAML reader (allocator.inputs.yamlfile), shared with the policy model


def read_text(tmp_path: Path, text: str) -> object:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return read_yaml(path)


@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_a_whole_number_reads_as_written(n: int) -> None:
    assert parse_yaml(f"x: {n}\n".encode(), "t.yaml") == {"x": n}


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_reads_as_written(x: float) -> None:
    # repr is the shortest text that reads back as the same float, e.g. 1e-09 or 2.5e+16.
    assert parse_yaml(f"x: {x!r}\n".encode(), "t.yaml") == {"x": x}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),  # YAML 1.1 would read True
        ("on", "on"),
        ("off", "off"),
        ("true", True),
        ("1e-9", 1e-9),  # YAML 1.1 would read the text '1e-9'
        ("0", 0),
        ("-0.5", -0.5),
        ("2026-01-01", "2026-01-01"),  # YAML 1.1 would read a date
        (".inf", math.inf),
        ("~", None),
    ],
)
def test_plain_scalars_read_as_yaml_1_2(text: str, value: object) -> None:
    assert parse_yaml(f"x: {text}\n".encode(), "t.yaml") == {"x": value}


@pytest.mark.parametrize("text", ["020", "0x14", "0o17", "0b101", "1:20", "2_0", "1_000.5"])
def test_yaml_1_1_number_forms_are_refused_with_the_line(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_yaml(f"a: 1\nx: {text}\n".encode(), "t.yaml")
    assert f"found {text!r} at line 2" in str(info.value)


def test_a_key_written_twice_is_refused_in_any_mapping() -> None:
    with pytest.raises(InputError) as info:
        parse_yaml(b"a:\n  - {b: 1, c: 2, b: 3}\n", "t.yaml")
    assert "found 'b' at line 2 and again at line 2" in str(info.value)


def test_the_model_reads_the_on_key_as_on() -> None:
    # The formula field `on` of a steps formula: YAML 1.1 made it the key True.
    assert parse_yaml(b"formula: {type: steps, on: x}\n", "t.yaml") == {
        "formula": {"type": "steps", "on": "x"}
    }


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "s.yaml")
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert "expected a regular file (found a named pipe (FIFO))" in str(info.value)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"5,000.0"', "write 5000.0, not '5,000.0'"),
        ('"5000"', "write 5000, not '5000'"),
        ("five", "expected a whole number"),
    ],
)
def test_a_budget_written_as_text_says_how_to_write_it(
    tmp_path: Path, written: str, message: str
) -> None:
    path = write(tmp_path, f"name: t\nmodel: m.yaml\ndata: d.csv\nbudget_wan: {written}\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert message in problems(info)["budget_wan"]


def test_the_command_line_time_limit_is_finite() -> None:
    assert time_limit_override(None) is None
    assert time_limit_override(5.0) == 5.0
    for bad in (math.nan, math.inf, 0.0, -1.0, 86401.0):
        with pytest.raises(InputError, match="key 'time-limit'"):
            time_limit_override(bad)


# --- in Chinese, the language a clerk gets by default ---------------------------------------


@pytest.fixture
def chinese() -> Iterator[None]:
    i18n.set_language("zh")
    yield
    i18n.set_language(None)


def test_an_unknown_key_in_chinese(tmp_path: Path, chinese: None) -> None:
    path = write(tmp_path, {"budjet_wan": 10})
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    message = problems(exc)["budjet_wan"]
    assert message.startswith(f"{path}，键 'budjet_wan'：应为已知的键之一（name，notes，model")
    assert message.endswith("（实际为 未知的键）")


def test_a_duplicate_key_in_chinese(tmp_path: Path, chinese: None) -> None:
    text = f"name: t\nmodel: {MODEL_2025}\ndata: data.csv\nbudget_wan: 5000\nbudget_wan: 4000\n"
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, text))
    assert str(exc.value).endswith(
        "：应为同一映射中每个键只写一次（YAML 只会保留最后一个）"
        "（实际为 'budget_wan' 见于第 4 行，又见于第 5 行）"
    )


def test_a_budget_with_separators_in_chinese(tmp_path: Path, chinese: None) -> None:
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, {"budget_wan": "5,000.0"}))
    assert "应为不加引号、不带千位分隔符的数：请写 5000.0，而不是 '5,000.0'" in str(exc.value)


def test_a_budget_above_the_cap_in_chinese(
    tmp_path: Path, model_2025: PolicyModel, chinese: None
) -> None:
    # 2025 （十八）: 5,000万元.
    with pytest.raises(InputError) as exc:
        check(tmp_path, model_2025, budget_wan=6000)
    assert problems(exc)["budget_wan"].endswith(
        "键 'budget_wan'：应为不超过文件所定资金上限 5000 万元（第 18 条），"
        "除非 allow_budget_above_document_cap 为 true（实际为 6000）"
    )


def test_a_bad_override_in_chinese(tmp_path: Path, model_2025: PolicyModel, chinese: None) -> None:
    with pytest.raises(InputError) as exc:
        check(tmp_path, model_2025, overrides={"11/booth/rat": 0.4, "11/booth/cap": [1, 2]})
    got = problems(exc)
    assert (
        "应为政策模型参数的地址 <条款>/<奖补项>/<参数>；是否指 '11/booth/rate'？"
        in (got["overrides[11/booth/rat]"])
    )
    assert got["overrides[11/booth/cap]"].endswith(
        "应为数值，与政策模型中的值相同（实际为 数值列表：[1, 2]）"
    )


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (Rule.PRIORITY, "优先序", "priority"),
        (Rule.PROPORTIONAL, "按比例", "proportional"),
        (Rule.EQUAL_AWARDS, "等额", "equal awards"),
        (Rule.EQUAL_LOSSES, "等损", "equal losses"),
        (Rule.TALMUD, "塔木德规则", "Talmud rule"),
        ("OPTIMAL", "最优", "optimal"),
        ("FEASIBLE", "可行（未证最优）", "feasible (optimality not proven)"),
        ("INFEASIBLE", "不可行", "infeasible"),
        ("UNKNOWN", "未求得解", "no solution found"),
        ("something else", "something else", "something else"),
    ],
)
def test_rules_and_statuses_have_a_word_in_each_language(value: str, zh: str, en: str) -> None:
    try:
        i18n.set_language("zh")
        assert label(value) == zh
        i18n.set_language("en")
        assert label(value) == en
    finally:
        i18n.set_language(None)


def test_every_status_of_a_solve_has_a_label() -> None:
    # The labels are keyed by value because inputs may not import model; this keeps them in step.
    from allocator.model.problem import Status

    i18n.set_language("zh")
    try:
        assert all(label(s.value) != s.value for s in Status)
        assert all(label(r) != r.value for r in Rule)
    finally:
        i18n.set_language(None)
