"""Loading a policy model: YAML safety, structural errors with key paths, expression checks,
parameters and their overrides, and the exported JSON Schema."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.core import i18n
from allocator.core.errors import InputError
from allocator.policy.compile import compile_model
from allocator.policy.load import load_model, model_sha256
from allocator.policy.model import PolicyModel, json_schema_text, param_shape
from allocator.policy.params import resolve_params

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini-model.yaml"
RAW: dict[str, Any] = yaml.safe_load(MINI.read_text(encoding="utf-8"))


def variant(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """The mini model with ``change`` applied, written to a file."""
    data = copy.deepcopy(RAW)
    change(data)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def item(data: dict[str, Any], clause: int, index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = data["clauses"][clause]["items"][index]
    return found


def problems_of(path: Path) -> list[tuple[str | None, str, str]]:
    with pytest.raises(InputError) as info:
        load_model(path)
    for p in info.value.problems:
        assert p.file == str(path)
    return [(p.key, p.expected, p.found) for p in info.value.problems]


@pytest.fixture(scope="module")
def mini() -> PolicyModel:
    return load_model(MINI)


# --- a good model -------------------------------------------------------------------------


def test_mini_model_loads(mini: PolicyModel) -> None:
    assert [c.id for c in mini.clauses] == [str(k) for k in range(1, 12)]
    assert [f"{c.id}/{i.id}" for c, i in mini.items()] == [
        "1/oneoff", "2/booth", "3/growth", "4/scale", "5/vehicles",
        "6/parts", "7/project", "8/district", "9/park",
    ]  # fmt: skip
    assert mini.item("3/growth")[1].formula.type == "steps"
    compiled = compile_model(mini)
    assert compiled.items["3/growth"].fields == {"output_2025q1", "output_2026q1"}
    assert list(compiled.derived) == ["growth_2026q1", "big_and_growing"]


def test_model_sha256_is_of_the_file_bytes() -> None:
    assert model_sha256(MINI) == hashlib.sha256(MINI.read_bytes()).hexdigest()


def test_a_bare_on_key_is_read_as_on(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted `on:` key as the boolean true
    text = MINI.read_text(encoding="utf-8").replace('"on": output_2026q1', "on: output_2026q1")
    assert "\n          on: output_2026q1" in text
    path = tmp_path / "bare-on.yaml"
    path.write_text(text, encoding="utf-8")
    formula = load_model(path).item("3/growth")[1].formula
    assert getattr(formula, "on") == "output_2026q1"  # noqa: B009 - 'on' reads as a keyword


# --- YAML ---------------------------------------------------------------------------------


def _never_composed(*args: object, **kwargs: object) -> object:
    raise AssertionError("the YAML was composed before its aliases were refused")


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, 10):
        prev, name = chr(ord("a") + k - 1), chr(ord("a") + k)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Refused from the parser's events: nothing is composed, so nothing can expand.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(yaml, "safe_load", _never_composed)
        mp.setattr(yaml, "compose", _never_composed)
        with pytest.raises(InputError) as info:
            load_model(path)
    assert "without anchors (&name) or aliases (*name)" in str(info.value)
    assert "an anchor 'a' first at line 1" in str(info.value)


def test_even_a_harmless_anchor_is_refused(tmp_path: Path) -> None:
    text = MINI.read_text(encoding="utf-8")
    text = text.replace("  fund_cap:\n", "  fund_cap: &cap\n", 1)
    path = tmp_path / "anchor.yaml"
    path.write_text(text, encoding="utf-8")
    [(_, expected, found)] = problems_of(path)
    assert "anchors" in expected
    assert found.startswith("an anchor 'cap'")


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("title: [unclosed\nissuer: x\n", encoding="utf-8")
    [(_, expected, found)] = problems_of(path)
    assert expected == "valid YAML"
    assert "line 2" in found


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    [(_, expected, found)] = problems_of(path)
    assert "a mapping" in expected
    assert found == "list"


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "absent.yaml")[0][1] == "an existing file"
    path = tmp_path / "gbk.yaml"
    path.write_bytes("title: 柳州".encode("gbk"))
    assert problems_of(path)[0][1] == "UTF-8 text"


# --- structure ----------------------------------------------------------------------------


def test_every_structural_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["params"]["rate"]["basis"] = "documented"
        item(data, 1)["formula"]["extra"] = 1
        del data["issuer"]
        data["clauses"][2]["id"] = 3  # an unquoted id is a number to YAML

    found = problems_of(variant(tmp_path, change))
    keys = [k for k, _, _ in found]
    assert keys == [
        "issuer",
        "clauses[1].items[0].formula.extra",
        "clauses[1].items[0].params.rate.basis",
        "clauses[2].id",
    ]
    by_key = {k: (e, f) for k, e, f in found}
    assert by_key["issuer"] == ("this key (required)", "nothing")
    assert by_key["clauses[1].items[0].params.rate.basis"] == (
        "'document' or 'assumed' [clause 2, item booth]",
        "'documented'",
    )
    # The keys a rate formula knows, from the class the formula's type names.
    assert by_key["clauses[1].items[0].formula.extra"] == (
        "one of the known keys (type, base, rate, cap) [clause 2, item booth]",
        "an unknown key",
    )
    assert "quote it" in by_key["clauses[2].id"][0]


def test_a_formula_field_inside_the_union_has_a_plain_key_path(tmp_path: Path) -> None:
    found = problems_of(variant(tmp_path, lambda d: item(d, 1)["formula"].update(rate=0.5)))
    assert found[0][0] == "clauses[1].items[0].formula.rate"
    assert found[0][2] == "0.5"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (5, "scalar"),
        (0.5, "scalar"),
        ([1, 2], "list"),
        ([[1, 2], [3, 4]], "table"),
        (True, None),  # a flag is not a number, however a file spells it
        ([[1, 2], [3]], None),
        ([], None),
        ("5", None),
        (float("nan"), None),
    ],
)
def test_param_shapes(value: object, ok: str | None) -> None:
    assert param_shape(value) == ok


def test_a_parameter_of_no_shape_is_refused(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 2)["params"]["award_by_output"]["value"] = [[1, 2], [3]]

    found = problems_of(variant(tmp_path, change))
    assert found == [
        (
            "clauses[2].items[0].params.award_by_output.value",
            "a number, a list of numbers (band edges) or a table (a list of rows of numbers, "
            "all rows the same length) [clause 3, item growth]",
            "[[1, 2], [3]]",
        )
    ]


def test_ids_may_not_hold_slashes(tmp_path: Path) -> None:
    found = problems_of(variant(tmp_path, lambda d: item(d, 1).update(id="booth/fee")))
    assert found[0][0] == "clauses[1].items[0].id"


def test_condition_ids_are_unique(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["conditions"][1]["id"] = "above_scale"

    [(key, expected, _)] = problems_of(variant(tmp_path, change))
    assert key == "clauses[1].items[0]"
    assert "repeats condition id(s): above_scale" in expected


# --- expressions and names ----------------------------------------------------------------


def test_an_injected_expression_is_refused_with_clause_item_condition_and_column(
    tmp_path: Path,
) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["conditions"][1]["expr"] = "booth_fee_2026q1 > 0 or open('/etc/passwd')"
        item(data, 1)["formula"]["base"] = "booth_fee_2026q1.__class__"

    found = problems_of(variant(tmp_path, change))
    assert found == [
        (
            "clauses[1].items[0].conditions[1].expr",
            "a call to one of min, max, abs, where, pct_change, known [clause 2, item booth, "
            "condition paid]",
            "'open' at column 25 of \"booth_fee_2026q1 > 0 or open('/etc/passwd')\"",
        ),
        (
            "clauses[1].items[0].formula.base",
            "an expression of the policy language [clause 2, item booth, formula base]",
            "attribute access (.) at column 1 of 'booth_fee_2026q1.__class__'",
        ),
    ]


def test_an_unknown_name_gets_a_close_match(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 0)["conditions"][1]["expr"] = "output_2026q1 >= min_outptu"

    [(key, expected, found)] = problems_of(variant(tmp_path, change))
    assert key == "clauses[0].items[0].conditions[1].expr"
    assert "did you mean 'min_output'?" in expected
    assert "[clause 1, item oneoff, condition output]" in expected
    assert found.startswith("'min_outptu' at column 18")


def test_a_cycle_of_derived_names_is_reported_once(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["derived"]["growth_2026q1"]["expr"] = "big_and_growing * 1"

    found = problems_of(variant(tmp_path, change))
    assert len(found) == 1
    key, expected, _ = found[0]
    assert key == "derived.growth_2026q1.expr"
    assert "growth_2026q1 -> big_and_growing -> growth_2026q1" in expected


def test_a_derived_name_may_not_shadow_a_field(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["derived"]["output_2026q1"] = {"expr": "1", "description": "x"}

    [(key, expected, _)] = problems_of(variant(tmp_path, change))
    assert key == "derived.output_2026q1"
    assert "not already a field or function name" in expected


def test_a_list_parameter_is_not_a_number(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 3)["conditions"][0]["expr"] = "output_2026q1 > scale_from"

    [(_, expected, _)] = problems_of(variant(tmp_path, change))
    assert "'scale_from' is a list parameter" in expected


def test_formula_tables_must_fit(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 2)["formula"]["table"] = "min_growth"
        item(data, 3)["params"]["growth_from"]["value"] = [5, 20, 10, 30]

    found = problems_of(variant(tmp_path, change))
    assert found == [
        (
            "clauses[2].items[0].formula.table",
            "a table parameter [clause 3, item growth]",
            "'min_growth', a scalar",
        ),
        (
            "clauses[3].items[0].formula.growth_bands",
            "band edges in increasing order [clause 4, item scale]",
            "[5, 20, 10, 30]",
        ),
        (
            "clauses[3].items[0].formula.table",
            "a table of 2 rows (scale bands) × 4 columns (growth bands) [clause 4, item scale]",
            "2 × 3",
        ),
    ]


def test_steps_need_increasing_thresholds(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 2)["params"]["award_by_output"]["value"] = [[500, 2], [500, 5]]

    [(key, expected, _)] = problems_of(variant(tmp_path, change))
    assert key == "clauses[2].items[0].formula.table"
    assert expected.startswith("thresholds in increasing order")


def test_aggregations_must_fit_their_fields(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 7)["aggregate"]["output_2026q1"] = "any"
        item(data, 7)["aggregate"]["outptu_2024q1"] = "sum"
        item(data, 7)["aggregate"]["district"] = "count"

    found = problems_of(variant(tmp_path, change))
    keys = [k for k, _, _ in found]
    assert keys[:3] == [
        "clauses[7].items[0].aggregate.output_2026q1",
        "clauses[7].items[0].aggregate.outptu_2024q1",
        "clauses[7].items[0].aggregate.district",
    ]
    assert "did you mean 'output_2024q1'?" in found[1][2]


def test_a_district_item_reads_only_what_it_aggregates(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 7)["conditions"][1]["expr"] = "investment_2026q1 > 0"

    [(key, expected, _)] = problems_of(variant(tmp_path, change))
    assert key == "clauses[7].items[0].conditions[1].expr"
    assert "add 'investment_2026q1' to 'aggregate'" in expected


def test_unknown_provincial_type(tmp_path: Path) -> None:
    found = problems_of(variant(tmp_path, lambda d: item(d, 1).update(provincial_type="markt")))
    assert found == [
        (
            "clauses[1].items[0].provincial_type",
            "one of growth, holiday, investment, market, industry [clause 2, item booth]",
            "'markt'; did you mean 'market'?",
        )
    ]


def test_a_parameter_may_not_take_a_field_name(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["params"]["above_scale"] = {"value": 1, "basis": "assumed", "rationale": "x"}

    [(key, _, _)] = problems_of(variant(tmp_path, change))
    assert key == "clauses[1].items[0].params.above_scale"


# --- parameters and overrides -------------------------------------------------------------


def test_resolve_params_without_overrides(mini: PolicyModel) -> None:
    params = resolve_params(mini, {})
    assert params.values["2/booth/rate"] == 0.5
    assert params.basis["2/booth/rate"] == "document"
    assert params.basis["3/growth/award_by_output"] == "assumed"
    assert params.for_item("2", "booth") == {"rate": 0.5, "cap": 10}
    assert params.overridden() == {}


def test_overrides_replace_values_and_are_marked(mini: PolicyModel) -> None:
    params = resolve_params(
        mini, {"2/booth/cap": 12, "3/growth/award_by_output": [[0, 1], [100, 2]]}
    )
    assert params.values["2/booth/cap"] == 12
    assert params.basis["2/booth/cap"] == "override"
    assert params.overridden() == {
        "2/booth/cap": 12,
        "3/growth/award_by_output": [[0, 1], [100, 2]],
    }


def test_bad_overrides_are_refused_by_address(mini: PolicyModel) -> None:
    with pytest.raises(InputError) as info:
        resolve_params(
            mini,
            {
                "2/booth/capp": 12,
                "2/booth/rate": [0.5],
                "3/growth/award_by_output": 5,
                "4/scale/scale_from": [[1, 2]],
                "1/oneoff/one_off": True,
            },
            file="scenario.yaml",
        )
    found = [(p.key, p.expected, p.found) for p in info.value.problems]
    table = "a table (a list of rows of numbers, all rows the same length)"
    assert found == [
        (
            "2/booth/capp",
            "the address <clause>/<item>/<param> of a model parameter; "
            "did you mean '2/booth/cap'?",
            "'2/booth/capp'",
        ),
        ("2/booth/rate", "a number, as the model's value", "a list of numbers: [0.5]"),
        ("3/growth/award_by_output", f"{table}, as the model's value", "a number: 5"),
        ("4/scale/scale_from", "a list of numbers, as the model's value", f"{table}: [[1, 2]]"),
        ("1/oneoff/one_off", "a number, as the model's value", "True, which is none of those"),
    ]  # fmt: skip
    assert all(p.file == "scenario.yaml" for p in info.value.problems)


def test_an_override_that_breaks_a_table_is_refused(mini: PolicyModel) -> None:
    with pytest.raises(InputError) as info:
        resolve_params(mini, {"4/scale/growth_from": [5, 10, 20, 30]})
    [problem] = info.value.problems
    assert problem.key == "4/scale/award"
    assert "a table of 2 rows (scale bands) × 4 columns" in problem.expected


# --- JSON Schema --------------------------------------------------------------------------


@pytest.mark.change_detector
def test_committed_json_schema_is_current() -> None:
    committed = (ROOT / "docs" / "policy-model.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(), (
        "docs/policy-model.schema.json is stale; regenerate it with\n"
        "  .venv/bin/python -c 'from allocator.policy.model import json_schema_text as s; "
        'open("docs/policy-model.schema.json", "w", encoding="utf-8").write(s())\''
    )


def test_json_schema_is_stable() -> None:
    assert json_schema_text() == json_schema_text()
    assert '"title": "PolicyModel"' in json_schema_text()


def chain(n: int) -> dict[str, Any]:
    """Derived names d0 .. d(n-1), each reading the next."""
    return {
        f"d{k}": {"expr": f"d{k + 1} + 1" if k < n - 1 else "1", "description": "chain"}
        for k in range(n)
    }


def test_derived_names_may_read_each_other_50_deep(tmp_path: Path) -> None:
    load_model(variant(tmp_path, lambda d: d["derived"].update(chain(50))))


def test_a_chain_of_1500_derived_names_is_one_problem(tmp_path: Path) -> None:
    # Each level is a nested call when the name is computed: 1,500 would exhaust the stack.
    found = problems_of(variant(tmp_path, lambda d: d["derived"].update(chain(1500))))
    assert [(k, e) for k, e, _ in found] == [
        (
            "derived.d50.expr",
            "derived names that read each other at most 50 deep (d0 -> d1 -> d2 -> ... -> d50)",
        )
    ]


@pytest.fixture
def chinese() -> Iterator[None]:
    i18n.set_language("zh")
    yield
    i18n.set_language(None)


def test_structural_problems_in_chinese(tmp_path: Path, chinese: None) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["params"]["rate"]["basis"] = "documented"
        item(data, 1)["formula"]["extra"] = 1
        del data["issuer"]
        data["clauses"][2]["id"] = 3

    by_key = {k: (e, f) for k, e, f in problems_of(variant(tmp_path, change))}
    assert by_key["issuer"] == ("此键（必填）", "空")
    assert by_key["clauses[1].items[0].params.rate.basis"] == (
        "'document' 或 'assumed' [条款 2，奖补项 booth]",
        "'documented'",
    )
    assert by_key["clauses[1].items[0].formula.extra"] == (
        "已知的键之一（type，base，rate，cap） [条款 2，奖补项 booth]",
        "未知的键",
    )
    assert by_key["clauses[2].id"][0] == (
        "文本；请加引号，如 '5.1'（YAML 会把 3.10 读作数 3.1） [条款 3]"
    )


def test_an_expression_refusal_in_chinese(tmp_path: Path, chinese: None) -> None:
    def change(data: dict[str, Any]) -> None:
        item(data, 1)["formula"]["base"] = "booth_fee_2026q1.__class__"

    assert problems_of(variant(tmp_path, change)) == [
        (
            "clauses[1].items[0].formula.base",
            "政策表达式语言中的表达式 [条款 2，奖补项 booth，公式 base]",
            "属性访问（.），位于 'booth_fee_2026q1.__class__' 的第 1 个字符",
        )
    ]
