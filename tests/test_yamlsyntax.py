"""A YAML syntax mistake is named for the kind of mistake it is, in the reader's language,
with its line and column, whichever of PyYAML's two parsers read the file."""

from __future__ import annotations

import pytest

from allocator.core.errors import InputError
from allocator.core.i18n import speaking
from allocator.inputs.yamlfile import parse_yaml
from allocator.inputs.yamlsyntax import yaml_problem

CASES = [
    # (file, English kind, Chinese kind, line, column)
    (
        "notes: a: b\n",
        "a value holding ': ' must be in quotes",
        "含有“: ”的取值须放在引号内",
        1,
        9,
    ),
    ("name: x\n\tbudget_wan: 5\n", "a tab character", "制表符", 2, 1),
    ('name: "x\nbudget_wan: 3\n', "a quoted text that is not closed", "引号内的文字没有闭合", 3, 1),
    ("a: [1, 2\nb: 3\n", "that is not closed", "没有闭合", 2, 2),
    ("a: @x\n", "cannot start a value", "不能作为取值开头", 1, 4),
]


@pytest.mark.parametrize(("text", "english", "chinese", "line", "column"), CASES)
def test_a_syntax_mistake_is_named_with_its_place(
    text: str, english: str, chinese: str, line: int, column: int
) -> None:
    for lang, kind, place in (
        ("en", english, f"at line {line}, column {column}"),
        ("zh", chinese, f"第 {line} 行第 {column} 列"),
    ):
        with speaking(lang), pytest.raises(InputError) as caught:
            parse_yaml(text.encode(), "情景.yaml")
        message = str(caught.value)
        assert kind in message, message
        assert place in message, message
        assert "情景.yaml" in message


@pytest.mark.parametrize(
    ("pure_python", "libyaml"),
    [
        ("mapping values are not allowed here", "mapping values are not allowed in this context"),
        (
            "found character '\\t' that cannot start any token",
            "found a tab character that violates indentation",
        ),
        ("expected ',' or ']', but got '<stream end>'", "did not find expected ',' or ']'"),
        (
            "expected the node content, but found '<block end>'",
            "did not find expected node content",
        ),
    ],
)
def test_both_parsers_words_name_the_same_kind(pure_python: str, libyaml: str) -> None:
    with speaking("zh"):
        assert yaml_problem(pure_python) == yaml_problem(libyaml)
        assert yaml_problem(pure_python) != pure_python


def test_an_unknown_problem_keeps_pyyaml_s_words() -> None:
    assert yaml_problem("found something new") == "something new"
