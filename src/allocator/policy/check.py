"""A policy model held against its source text: ``allocate policy --check MODEL.yaml``.

Three checks, each over the whole model:

1. **Quotes.** Every quote (each clause's ``quote``, each parameter's and each global rule's
   ``quote``) is found verbatim in the source text the model's ``source`` names, after the
   normalisations of :data:`NORMALISATIONS`, applied to quote and text alike and each listed
   in the report with the places in the text where it changed something.
2. **Numbers.** Every number of a ``basis: document`` parameter (a scalar, each band edge,
   each table cell) and of a ``basis: document`` fund cap is stated by its own quote, read
   with the readings of :data:`READINGS` (``15 万辆`` states 150000, ``50%`` states 0.5,
   ``2024 年 4 月`` states 20240401 ...).
3. **Assumptions.** Every ``basis: assumed`` parameter and rule has a rationale, and every
   item paired with a provincial award type (``provincial_type``) says why in
   ``provincial_rationale``: neither document says which provincial awards are "of the same
   type", so each pairing is an assumption.

:func:`check_model` returns a :class:`CheckReport`; :func:`check_file` loads the model first.
Nothing here changes a model or a run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.policy.load import load_model
from allocator.policy.model import Basis, PolicyModel, address

# Each normalisation: name, what it does and why (looked up when shown, in the reader's
# language). Applied in this order.
NORMALISATIONS: tuple[tuple[str, Callable[[], str]], ...] = (
    (
        "page_break_repeat",
        lambda: _(
            "a Chinese character that ends a page and is printed again at the start of the "
            "next (a blank line between) is read once, as in 2025 （四） 乘用车\\n\\n车产量 -> "
            "乘用车产量"
        ),
    ),
    (
        "whitespace",
        lambda: _(
            "every whitespace character (space, ideographic space U+3000, tab, line break) is "
            "removed: Chinese prose has no word spaces, the 2025 text sets Latin digits apart "
            "with spaces (2025 年) and its line breaks are layout"
        ),
    ),
)

# Each reading of a quote's numbers: name and what it accepts.
READINGS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("plain", lambda: _("a number as printed: 2000 in 2000万元, 8 in 8%")),
    ("percent", lambda: _("a number before % as a fraction: 50% states 0.5")),
    ("wan", lambda: _("a number before 万 (not 万元) times 10,000: 15 万辆 states 150000")),
    ("grade", lambda: _("a Chinese numeral before 级: 二级 states 2")),
    ("date", lambda: _("YYYY 年 M 月 [D 日] as YYYYMMDD, first day when no day is given")),
    ("quarter", lambda: _("YYYY 年一季度 as its first or last day: 20250101 or 20250331")),
)

_PAGE_BREAK = re.compile(r"([\u4e00-\u9fff])[ \t\u3000]*\n[ \t\u3000]*\n\s*\1")
_SPACE = re.compile(r"\s+")
_INLINE_SPACE = re.compile(r"(?<=\S)[ \t\u3000]+(?=\S)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_GRADE = re.compile(r"([一二三四五六七八九])级")
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_QUARTER = re.compile(r"(\d{4})\s*年\s*([一二三四])季度")
_QUARTER_DAYS = {1: ("0101", "0331"), 2: ("0401", "0630"), 3: ("0701", "0930"), 4: ("1001", "1231")}


@dataclass(frozen=True)
class QuoteCheck:
    """One quote and whether the source text holds it."""

    where: str
    quote: str
    found: bool


@dataclass(frozen=True)
class NumberCheck:
    """One number of a ``basis: document`` value and the reading of its quote that states it."""

    where: str
    value: float
    quote: str
    reading: str  # empty when no reading of the quote gives the number


@dataclass(frozen=True)
class AssumptionCheck:
    """One assumed value (or provincial pairing) and its rationale."""

    where: str
    rationale: str

    @property
    def ok(self) -> bool:
        return bool(self.rationale.strip())


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_model` found.

    Attributes
    ----------
    model_file, source_file:
        The model and the source text it was held against.
    applied:
        Per normalisation name, the places in the source text where it changed something
        (``line N: text``); a normalisation that changed nothing has an empty list.
    quotes, numbers, assumptions:
        Every check made, in model order.
    """

    model_file: str
    source_file: str
    applied: dict[str, list[str]]
    quotes: list[QuoteCheck] = field(default_factory=list)
    numbers: list[NumberCheck] = field(default_factory=list)
    assumptions: list[AssumptionCheck] = field(default_factory=list)

    @property
    def problems(self) -> list[InputProblem]:
        """Every failed check, as a problem located by the model's key path."""
        out = [
            InputProblem(
                self.model_file,
                _("the quote verbatim in {source}").format(source=self.source_file),
                q.quote,
                key=q.where,
            )
            for q in self.quotes
            if not q.found
        ]
        out += [
            InputProblem(
                self.model_file,
                _("the number {value} stated by its quote (basis: document)").format(
                    value=_shown(n.value)
                ),
                n.quote,
                key=n.where,
            )
            for n in self.numbers
            if not n.reading
        ]
        out += [
            InputProblem(
                self.model_file, _("a rationale for the assumption"), _("none"), key=a.where
            )
            for a in self.assumptions
            if not a.ok
        ]
        return out

    def summary(self) -> dict[str, tuple[int, int]]:
        """Per check, (passed, total)."""
        return {
            "quotes": (sum(q.found for q in self.quotes), len(self.quotes)),
            "numbers": (sum(bool(n.reading) for n in self.numbers), len(self.numbers)),
            "assumptions": (sum(a.ok for a in self.assumptions), len(self.assumptions)),
        }

    def lines(self) -> list[str]:
        """The report as text, one line a fact."""
        s = self.summary()
        out = [
            _("model: {file}").format(file=self.model_file),
            _("source text: {file}").format(file=self.source_file),
            _("quotes verbatim: {passed}/{total}").format(
                passed=s["quotes"][0], total=s["quotes"][1]
            ),
            _("document numbers stated by their quote: {passed}/{total}").format(
                passed=s["numbers"][0], total=s["numbers"][1]
            ),
            _("assumed values with a rationale: {passed}/{total}").format(
                passed=s["assumptions"][0], total=s["assumptions"][1]
            ),
            _("normalisations (quote and text alike):"),
        ]
        for name, text in NORMALISATIONS:
            places = self.applied.get(name, [])
            out.append(f"  - {name}: {text()}")
            out.extend(f"      {p}" for p in places or [_("changed nothing in this text")])
        for p in self.problems:
            out.append(_("FAILED {problem}").format(problem=p))
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        s = self.summary()
        return {
            "model": self.model_file,
            "source": self.source_file,
            "summary": {k: {"passed": a, "total": b} for k, (a, b) in s.items()},
            "normalisations": [
                {"name": name, "what": text(), "places": self.applied.get(name, [])}
                for name, text in NORMALISATIONS
            ],
            "readings": [{"name": name, "what": text()} for name, text in READINGS],
            "numbers": [
                {"where": n.where, "value": n.value, "reading": n.reading} for n in self.numbers
            ],
            "problems": [str(p) for p in self.problems],
        }


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


# --- normalising ----------------------------------------------------------------------------


def normalise(text: str, applied: dict[str, list[str]] | None = None) -> str:
    """``text`` after every normalisation of :data:`NORMALISATIONS`, in order.

    When ``applied`` is given, each place a normalisation changed is appended to it under the
    normalisation's name, as ``line N: <the text before>``.
    """

    def note(name: str, match: re.Match[str]) -> None:
        if applied is not None:
            line = text.count("\n", 0, match.start()) + 1
            shown = match.group(0).replace("\n", "\\n")
            applied.setdefault(name, []).append(
                _("line {line}: {text}").format(line=line, text=shown)
            )

    def once(match: re.Match[str]) -> str:
        note("page_break_repeat", match)
        return match.group(1)

    out = _PAGE_BREAK.sub(once, text)
    if applied is not None:
        inline = len(_INLINE_SPACE.findall(out))
        breaks = out.count("\n")
        applied.setdefault("whitespace", []).append(
            _("{inline} run(s) of spaces inside a line, {breaks} line break(s)").format(
                inline=inline, breaks=breaks
            )
        )
    return _SPACE.sub("", out)


# --- numbers ----------------------------------------------------------------------------------


def readings(quote: str) -> Iterator[tuple[float, str]]:
    """Every number ``quote`` states, with the reading (:data:`READINGS`) that gives it."""
    for m in _NUMBER.finditer(quote):
        t = float(m.group(0))
        yield t, f"plain: {m.group(0)}"
        rest = quote[m.end() :].lstrip()
        if rest.startswith("%"):
            yield t / 100, f"percent: {m.group(0)}%"
        if rest.startswith("万") and not rest.startswith("万元"):
            yield t * 10_000, f"wan: {m.group(0)} 万"
    for m in _GRADE.finditer(quote):
        yield float(_CN_DIGITS[m.group(1)]), f"grade: {m.group(0)}"
    for m in _DATE.finditer(quote):
        day = int(m.group(3) or 1)
        yield float(int(m.group(1)) * 10_000 + int(m.group(2)) * 100 + day), f"date: {m.group(0)}"
    for m in _QUARTER.finditer(quote):
        first, last = _QUARTER_DAYS[_CN_DIGITS[m.group(2)]]
        for edge in (first, last):
            yield float(m.group(1) + edge), f"quarter: {m.group(0)}"


def stated_by(value: float, quote: str) -> str:
    """The reading of ``quote`` that states ``value``; empty when none does."""
    for number, how in readings(quote):
        if math.isclose(number, value, rel_tol=1e-9, abs_tol=1e-12):
            return how
    return ""


def _numbers(value: object) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


# --- the check --------------------------------------------------------------------------------


def find_source(model: PolicyModel, model_path: Path) -> Path:
    """The source text the model names, relative to the repository root.

    The root is the nearest folder above the model file that holds the path (for a model in
    ``models/``, the repository itself), so the check runs from any working directory.

    Raises
    ------
    InputError
        When no folder above the model file holds it.
    """
    relative = Path(model.source)
    if relative.is_absolute():
        if relative.is_file():
            return relative
    else:
        for folder in model_path.resolve().parents:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
    raise InputError(
        [
            InputProblem(
                str(model_path),
                _("the path of the source text, relative to the repository root"),
                _("{source}, which no folder above the model holds").format(
                    source=repr(model.source)
                ),
                key="source",
            )
        ]
    )


def _quotes(model: PolicyModel) -> Iterator[tuple[str, str]]:
    for name in ("fund_cap", "rounding", "stacking", "provincial"):
        rule = getattr(model.rules, name)
        if rule.quote:
            yield f"rules.{name}.quote", rule.quote
    for k, clause in enumerate(model.clauses):
        yield f"clauses[{k}] ({clause.label}).quote", clause.quote
        for item in clause.items:
            for pname, param in item.params.items():
                if param.quote:
                    yield f"{address(clause.id, item.id, pname)}.quote", param.quote


def check_model(model: PolicyModel, model_path: Path, *, shown_path: str = "") -> CheckReport:
    """Hold ``model`` against its source text; see the module docstring.

    Parameters
    ----------
    model:
        The loaded model.
    model_path:
        Its file, from which the source text's path is resolved.
    shown_path:
        How to name the model file in the report; ``model_path`` when empty.
    """
    source = find_source(model, model_path)
    applied: dict[str, list[str]] = {name: [] for name, _text in NORMALISATIONS}
    text = normalise(source.read_text(encoding="utf-8"), applied)
    report = CheckReport(
        model_file=shown_path or str(model_path), source_file=model.source, applied=applied
    )
    for where, quote in _quotes(model):
        report.quotes.append(QuoteCheck(where, quote, normalise(quote) in text))

    cap = model.rules.fund_cap
    if cap.basis is Basis.DOCUMENT and cap.value_wan is not None and cap.quote:
        value = float(cap.value_wan)
        report.numbers.append(
            NumberCheck("rules.fund_cap.value_wan", value, cap.quote, stated_by(value, cap.quote))
        )
    for name in ("fund_cap", "rounding", "stacking", "provincial"):
        rule = getattr(model.rules, name)
        if rule.basis is Basis.ASSUMED:
            report.assumptions.append(AssumptionCheck(f"rules.{name}", rule.rationale or ""))
    for clause, item in model.items():
        for pname, param in item.params.items():
            where = address(clause.id, item.id, pname)
            if param.basis is Basis.ASSUMED:
                report.assumptions.append(AssumptionCheck(where, param.rationale or ""))
                continue
            quote = param.quote or ""
            for value in _numbers(param.value):
                report.numbers.append(NumberCheck(where, value, quote, stated_by(value, quote)))
        if item.provincial_type is not None:
            report.assumptions.append(
                AssumptionCheck(
                    f"{address(clause.id, item.id)}.provincial_type ({item.provincial_type})",
                    item.provincial_rationale or "",
                )
            )
    return report


def check_file(path: str | Path) -> CheckReport:
    """Load the model at ``path`` and hold it against its source text.

    Raises
    ------
    InputError
        For a model that does not load or whose source text cannot be found (the checks
        themselves never raise: their failures are in the report).
    """
    model_path = Path(path)
    return check_model(load_model(model_path), model_path, shown_path=str(path))


__all__ = [
    "NORMALISATIONS",
    "READINGS",
    "AssumptionCheck",
    "CheckReport",
    "NumberCheck",
    "QuoteCheck",
    "check_file",
    "check_model",
    "find_source",
    "normalise",
    "readings",
    "stated_by",
]
