"""The text of a policy expression: read, bounded and located (:mod:`allocator.policy.expr`).

:class:`Source` parses the text with :func:`ast.parse` (``mode="eval"``) and nothing else,
refuses what is too long or too deep before anything walks it, and maps a node back to the
column a model author sees; :func:`describe` names a refused kind of node in the author's
words. :mod:`allocator.policy.exprparse` checks and compiles what this reads.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from allocator.core.i18n import _
from allocator.policy.expr import MAX_DEPTH, MAX_LENGTH, ExprError


@dataclass(frozen=True)
class Source:
    """The parsed text; ``lead`` is the number of characters stripped from its start."""

    tree: ast.Expression
    text: str
    lead: int

    @classmethod
    def read(cls, text: str) -> Source:
        if len(text) > MAX_LENGTH:
            raise ExprError(
                _("an expression of at most {length} characters").format(length=MAX_LENGTH),
                MAX_LENGTH + 1,
                _("{length} characters").format(length=len(text)),
            )
        # YAML folded strings carry line breaks; a space keeps every character's column.
        flat = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
        stripped = flat.strip()
        lead = len(flat) - len(flat.lstrip())
        if not stripped:
            raise ExprError(_("an expression"), 1, _("an empty string"))
        try:
            with warnings.catch_warnings():
                # The parser warns about e.g. invalid escapes; the checks below judge the text.
                warnings.simplefilter("ignore")
                tree = ast.parse(stripped, mode="eval")
        except SyntaxError as exc:
            raise ExprError(
                _("valid syntax ({detail})").format(detail=exc.msg), lead + (exc.offset or 1)
            ) from None
        except (RecursionError, MemoryError, ValueError):
            raise ExprError(
                _("an expression simple enough to read"), 1, _("too much nesting")
            ) from None
        source = cls(tree, stripped, lead)
        source.check_depth()
        return source

    def column(self, node: ast.AST) -> int:
        """1-based character column of a node in the text as written (ast counts bytes)."""
        offset = getattr(node, "col_offset", 0)
        return self.lead + len(self.text.encode()[:offset].decode(errors="ignore")) + 1

    def check_depth(self) -> None:
        stack: list[tuple[ast.AST, int]] = [(self.tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise ExprError(
                    _("nesting at most {depth} levels deep").format(depth=MAX_DEPTH),
                    self.column(node),
                    _("deeper"),
                )
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def describe(node: ast.AST) -> str:
    refused: dict[type[ast.AST], str] = {
        ast.Attribute: _("attribute access (.)"),
        ast.Subscript: _("indexing or slicing ([...])"),
        ast.Lambda: _("a lambda"),
        ast.ListComp: _("a comprehension"),
        ast.SetComp: _("a comprehension"),
        ast.DictComp: _("a comprehension"),
        ast.GeneratorExp: _("a generator expression"),
        ast.JoinedStr: _("an f-string"),
        ast.FormattedValue: _("an f-string"),
        ast.NamedExpr: _("an assignment expression (:=)"),
        ast.Starred: _("a starred expression (*)"),
        ast.IfExp: _("an if-else expression (use where(cond, a, b))"),
        ast.Dict: _("a dict"),
        ast.Set: _("a set"),
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
        ast.Slice: _("a slice"),
    }
    return refused.get(type(node)) or _("a {node} node").format(node=type(node).__name__)


CMP_NAMES: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


__all__ = ["CMP_NAMES", "Source", "describe"]
