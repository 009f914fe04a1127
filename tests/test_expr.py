"""The expression language: what it accepts, what it refuses (and where), and its semantics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocator.core import i18n
from allocator.policy.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExprError,
    Symbol,
    Text,
    Type,
)
from allocator.policy.exprparse import names_in, parse

NAN = math.nan

SCOPE = {
    "x": Symbol(Type.NUM, "field"),
    "y": Symbol(Type.NUM, "field"),
    "flag": Symbol(Type.BOOL, "field"),
    "industry": Symbol(
        Type.TEXT, "field", choices=("chemical", "steel", "mould"), aliases={"钢铁": "steel"}
    ),
    "chem_park": Symbol(Type.TEXT, "field"),
    "rate": Symbol(Type.NUM, "parameter"),
    "bands": Symbol(None, "parameter", refusal="a number ('bands' is a list parameter)"),
}


def text(values: list[str]) -> Text:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return Text(codes.astype(np.intp), np.asarray(uniques, dtype=object))


ENV: dict[str, Any] = {
    "x": np.array([1.0, NAN, 0.29, -2.0]),
    "y": np.array([0.0, 2.0, 100.0, 4.0]),
    "flag": np.array([True, False, True, False]),
    "industry": text(["chemical", "", "steel", "mould"]),
    "chem_park": text(["园区A", "", "", "园区B"]),
    "rate": np.asarray(0.5),
}


def run(source: str, want: Type | None = None) -> list[Any]:
    return parse(source, SCOPE, want=want).evaluate(ENV, 4).tolist()


def same(got: list[Any], expected: list[Any]) -> bool:
    return all(
        (isinstance(g, float) and math.isnan(g) and isinstance(e, float) and math.isnan(e))
        or g == pytest.approx(e)
        for g, e in zip(got, expected, strict=True)
    )


# --- arithmetic and NaN -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x + y", [1.0, NAN, 100.29, 2.0]),
        ("x - y", [1.0, NAN, -99.71, -6.0]),
        ("x * y", [0.0, NAN, 29.0, -8.0]),
        ("-x", [-1.0, NAN, -0.29, 2.0]),
        ("x ** 2", [1.0, NAN, 0.0841, 4.0]),
        ("y ** -1", [NAN, 0.5, 0.01, 0.25]),  # 0 ** -1 is infinite, hence blank
        ("y ** 0.5", [0.0, math.sqrt(2.0), 10.0, 2.0]),
        ("x / y", [NAN, NAN, 0.0029, -0.5]),  # 1 / 0 is blank, not infinite
        ("0 / y", [NAN, 0.0, 0.0, 0.0]),
        ("rate * y", [0.0, 1.0, 50.0, 2.0]),
        ("flag * 3", [3.0, 0.0, 3.0, 0.0]),  # a yes/no field counts as 1 or 0
        ("min(x, y, 1.5)", [0.0, NAN, 0.29, -2.0]),  # a blank operand makes min blank
        ("max(x, y)", [1.0, NAN, 100.0, 4.0]),
        ("abs(x)", [1.0, NAN, 0.29, 2.0]),
        ("where(flag, x, y)", [1.0, 2.0, 0.29, 4.0]),
        ("where(x > 0, 1, 0)", [1.0, 0.0, 1.0, 0.0]),
        ("2 ** 4 + 1", [17.0, 17.0, 17.0, 17.0]),
    ],
)
def test_arithmetic_by_hand(source: str, expected: list[float]) -> None:
    got = run(source)
    assert same(got, expected), got


def test_pct_change_is_growth_in_percent_only_over_a_positive_base() -> None:
    env = {
        "x": np.array([129.0, 105.0, 50.0, 10.0, NAN]),
        "y": np.array([100.0, 100.0, 0.0, -5.0, 7.0]),
    }
    got = parse("pct_change(x, y)", SCOPE).evaluate(env, 5).tolist()
    # 129 over 100 is exactly 29 (no 28.999999999999996); a zero, negative or blank
    # base has no growth rate
    assert got[:2] == [29.0, 5.0]
    assert all(math.isnan(v) for v in got[2:])


def test_comparisons_with_a_blank_are_false_even_not_equal() -> None:
    assert run("x != 1") == [False, False, True, True]
    assert run("x == 1") == [True, False, False, False]
    assert run("x < 100") == [True, False, True, True]
    assert run("not (x < 100)") == [False, True, False, False]


def test_numbers_are_compared_rounded_to_nine_decimals() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point
    assert run("x * y >= 29") == [False, False, True, False]
    assert run("x * y == 29") == [False, False, True, False]


def test_chained_comparison() -> None:
    assert run("0 < x <= 1") == [True, False, True, False]
    assert run("-3 < x < y") == [False, False, True, True]


def test_and_or_not_are_element_wise() -> None:
    assert run("flag and x > 0") == [True, False, True, False]
    assert run("flag or y > 3") == [True, False, True, True]
    assert run("not flag") == [False, True, False, True]


def test_known() -> None:
    assert run("known(x)") == [True, False, True, True]
    assert run("known(x / y)") == [False, False, True, True]
    assert run("known(chem_park)") == [True, False, False, True]


def test_number_membership() -> None:
    assert run("x in (1, 0.29)") == [True, False, True, False]
    assert run("x not in (1, 0.29)") == [False, False, False, True]  # blank: false


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("industry == 'steel'", [False, False, True, False]),
        ("'steel' == industry", [False, False, True, False]),
        ("industry == '钢铁'", [False, False, True, False]),  # a Chinese label is read as its code
        ("industry != 'steel'", [True, False, False, True]),  # blank is unknown: false
        ("industry in ('steel', 'chemical')", [True, False, True, False]),
        ("industry not in ['steel']", [True, False, False, True]),
        ("industry == ''", [False, True, False, False]),
        ("industry != ''", [True, False, True, True]),
        ("chem_park == '园区B'", [False, False, False, True]),
        ("industry == 'mould' or flag", [True, False, True, True]),
    ],
)
def test_text_comparisons(source: str, expected: list[bool]) -> None:
    assert run(source) == expected


def test_text_literal_is_checked_against_the_choices() -> None:
    with pytest.raises(ExprError) as info:
        parse("industry == 'chemcal'", SCOPE)
    assert "did you mean 'chemical'" in str(info.value)
    assert info.value.column == 13


# --- conditions keep their two sides ------------------------------------------------------


def test_top_level_comparison_keeps_value_and_threshold() -> None:
    result, value, threshold = parse("x * y >= rate * 10", SCOPE).parts(ENV, 4)
    assert result.tolist() == [False, False, True, False]
    assert same(list(np.asarray(value)), [0.0, NAN, 29.0, -8.0])
    assert list(np.asarray(threshold)) == [5.0] * 4


def test_text_comparison_keeps_the_text_and_the_literals() -> None:
    result, value, threshold = parse("industry in ('steel', 'mould')", SCOPE).parts(ENV, 4)
    assert result.tolist() == [False, False, True, True]
    assert list(np.asarray(value)) == ["chemical", "", "steel", "mould"]
    assert threshold == "steel, mould"


def test_other_expressions_have_no_sides() -> None:
    assert parse("flag and x > 0", SCOPE).parts(ENV, 4)[1:] == (None, None)


def test_names_in() -> None:
    assert names_in("min(x, y) > rate and not flag") == {"x", "y", "rate", "flag"}
    assert names_in("x +") == set()


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason", "column"),
    [
        ("__import__('os').system('id')", "a call to one of", 1),
        ("().__class__", "found attribute access", 1),
        ("x.real", "found attribute access", 1),
        ("open('x')", "found 'open'", 1),
        ("eval('1')", "found 'eval'", 1),
        ("(lambda: 1)()", "found a call on a lambda", 2),
        ("9**9**9", "exponent", 4),
        ("x ** 5", "exponent", 6),
        ("x ** y", "exponent", 6),
        ("x[0]", "indexing", 1),
        ("[v for v in (1, 2)]", "comprehension", 1),
        ("f'{x}'", "f-string", 1),
        ("(z := 1)", "assignment expression", 2),
        ("min(*x)", "starred", 5),
        ("max(x, key=y)", "positional arguments only", 12),
        ("__builtins__", "dunder", 1),
        ("x if flag else y", "where(cond, a, b)", 1),
        ("x & y", "use 'and'", 1),
        ("x // y", "'//'", 1),
        ("~flag", "use 'not'", 1),
        ("x == None", "known(x)", 6),
        ("x is None", "'is'", 1),
        ("industry > 'a'", "== or != to compare text", 1),
        ("industry + 1", "a number in arithmetic", 1),
        ("'a' == 'b'", "a text field on one side", 8),
        ("x == 'a'", "number literals", 6),
        ("known(flag)", "blank yes/no field reads as False", 7),
        ("min(x)", "min(a, b, ...)", 1),
        ("where(x, 1, 2)", "true/false in where()", 7),
        ("not x", "true/false in 'not'", 5),
        ("bands * 2", "'bands' is a list parameter", 1),
        ("b'x' + x", "a number or True/False", 1),
        ("1e999 > x", "a finite number", 1),
        ("x +", "valid syntax", 1),
        ("  xx + 1", "did you mean 'x'", 3),
        ("industry", "not text", 1),
        ("x > 1 and industry", "true/false in 'and'", 11),
        ("{1: 2}", "a dict", 1),
        ("x in y", "a tuple or list of literals", 6),
        ("x in (y, 1)", "a literal", 7),
    ],
)
def test_refusals_say_why_and_where(source: str, reason: str, column: int) -> None:
    with pytest.raises(ExprError) as info:
        parse(source, SCOPE)
    assert reason in str(info.value)
    assert info.value.column == column


def test_unknown_name_gets_a_close_match() -> None:
    with pytest.raises(ExprError, match=r"did you mean 'rate'\?") as info:
        parse("x * rat", SCOPE)
    assert info.value.column == 5
    assert info.value.found == "'rat'"


def test_length_and_depth_limits() -> None:
    long = "+".join(["1"] * (MAX_LENGTH // 2 + 1))
    with pytest.raises(ExprError, match=f"at most {MAX_LENGTH} characters"):
        parse(long, SCOPE)
    deep = "-" * (MAX_DEPTH + 1) + "x"
    with pytest.raises(ExprError, match=f"at most {MAX_DEPTH} levels"):
        parse(deep, SCOPE)
    assert run("-" * (MAX_DEPTH - 2) + "x")  # deep, but not too deep


def test_condition_must_be_true_false_and_operand_a_number() -> None:
    with pytest.raises(ExprError, match="a condition that is true/false"):
        parse("x + 1", SCOPE, want=Type.BOOL)
    with pytest.raises(ExprError, match="a formula operand that is a number"):
        parse("x > 1", SCOPE, want=Type.NUM)
    assert parse("flag", SCOPE, want=Type.BOOL).type is Type.BOOL


def test_line_breaks_keep_columns() -> None:
    with pytest.raises(ExprError) as info:
        parse("x > 1 and\n  open('f')", SCOPE)
    assert info.value.column == 13


def test_column_counts_characters_not_bytes() -> None:
    with pytest.raises(ExprError) as info:
        parse("industry == '钢铁' and oops", SCOPE)
    assert info.value.column == 22  # 钢铁 are two characters (six bytes)


# --- properties ---------------------------------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(a=finite, b=finite)
def test_division_is_blank_exactly_where_the_divisor_is_zero(a: float, b: float) -> None:
    got = parse("x / y", SCOPE).evaluate({"x": np.array([a]), "y": np.array([b])}, 1)[0]
    if b == 0:
        assert math.isnan(got)
    else:
        assert got == a / b


@given(a=st.one_of(finite, st.just(NAN)), b=st.one_of(finite, st.just(NAN)))
def test_a_comparison_with_a_blank_side_is_false(a: float, b: float) -> None:
    env = {"x": np.array([a]), "y": np.array([b])}
    for op in ("<", "<=", ">", ">=", "==", "!="):
        got = bool(parse(f"x {op} y", SCOPE).evaluate(env, 1)[0])
        if math.isnan(a) or math.isnan(b):
            assert got is False


def test_refusals_in_chinese() -> None:
    try:
        i18n.set_language("zh")
        with pytest.raises(ExprError) as info:
            parse("x * rat", SCOPE)
        assert str(info.value) == (
            "已知的字段名、派生量名或参数名；是否指 'rate'？（第 5 个字符处，实际为 'rat'）"
        )
        with pytest.raises(ExprError) as info:
            parse("min(x)", SCOPE)
        assert info.value.reason == "min(a, b, ...)：两个或多个数中的最小者"
        assert info.value.found == "1 个参数"
    finally:
        i18n.set_language(None)
