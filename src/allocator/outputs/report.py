"""``report.html``: one self-contained page that shows an auditor what a run did.

The page is rendered from the run's outputs alone (the content of ``result.json``, the awards
and the constraints tables), never from the solver, so it can be rebuilt from an output
folder (:func:`report_from_folder`) and says nothing the files do not. It speaks the
reader's language (Chinese by default, English under ``--lang en``: every text through the
catalogue, the codes of the files shown by their names), and is self-contained: CSS
inline, charts as inline SVG (:mod:`allocator.outputs.svgchart`), no script, font or image
fetched from anywhere. ``docs/report.md`` describes every section.

The same outputs give the same bytes: no time stamp, no timings, chart coordinates written
with fixed decimals and chart ids prefixed with the chart's name. Chart text stays text, so
the browser draws the Chinese glyphs with the CJK fonts listed in the page's font stack.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from allocator.core.i18n import _, language
from allocator.inputs.choices import district_name, label
from allocator.outputs.svgchart import bars, histogram
from allocator.outputs.wording import family_name, reason_text, row_name

TEMPLATE = "report.html.j2"

#: Fonts the page and its charts ask for, in order. DejaVu Sans comes first because the
#: charts are measured with it (it ships with matplotlib, so the layout is the same on every
#: machine); browsers take each glyph from the first font that has it, so the Chinese comes
#: from the first CJK font the reader's machine has.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "WenQuanYi Micro Hei",
    "SimHei",
)
FONT_STACK = ", ".join(f"'{f}'" for f in ("DejaVu Sans", *CJK_FONTS)) + ", sans-serif"

#: More constraint rows than this are summarised by family; constraints.csv has them all.
MAX_CONSTRAINT_ROWS = 300


# A unified social credit code: 18 digits and capitals. Reasons naming a firm's row
# (firm_cap[9145...]) are counted together.
_CREDIT_CODE = re.compile(r"\b[0-9A-Z]{18}\b")
_WAN = re.compile(r"\d+万元")


# --------------------------------------------------------------------------------------------
# Entry points


def render_report(doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame) -> str:
    """The HTML of ``report.html``.

    Parameters
    ----------
    doc:
        The content of ``result.json`` (``timings`` is ignored: the page shows none).
    awards:
        The rows of ``awards.csv``.
    constraints:
        The rows of ``constraints.csv``, ``binding`` as booleans.

    Returns
    -------
    str
        The page, ending with a newline.
    """
    totals = doc.get("totals") or {}
    per_clause = list(totals.get("per_clause", []))
    per_district = list(totals.get("per_district", []))
    claim = awards["claim_wan"].to_numpy(dtype=np.int64)
    award = awards["award_wan"].to_numpy(dtype=np.int64)
    positive = claim > 0
    ratios = award[positive] / claim[positive]
    counts = doc.get("counts") or {}
    budget = int(doc.get("budget_wan") or 0)
    awarded = int(doc["total_awarded_wan"]) if doc.get("total_awarded_wan") is not None else 0
    context = {
        "doc": doc,
        "html_lang": "en" if language() == "en" else "zh-CN",
        "status_name": label(str(doc.get("status"))),
        "rule_name": label(str(doc.get("rule"))),
        "document_status": _document_status(str((doc.get("policy") or {}).get("status"))),
        # Inside <style>, HTML escapes are not undone: the quotes must go in as they are.
        "font_stack": Markup(FONT_STACK),
        "summary": {
            "awarded": awarded,
            "claimed": int(doc.get("total_claim_wan") or 0),
            "budget": budget,
            "budget_used": awarded / budget if budget else None,
            "recipients": counts.get("recipients"),
            "funded_recipients": counts.get("funded_recipients"),
            "eligible_claims": counts.get("eligible_claims"),
            "funded_claims": counts.get("funded_claims"),
        },
        "per_clause": per_clause,
        "per_district": per_district,
        "ratio_counts": {
            "claims": int(positive.sum()),
            "full": int((ratios >= 1).sum()),
            "part": int(((ratios > 0) & (ratios < 1)).sum()),
            "none": int((ratios <= 0).sum()),
        },
        "reasons": reason_counts(awards),
        "families": _family_summary(constraints),
        "constraints": constraints.head(MAX_CONSTRAINT_ROWS).to_dict(orient="records"),
        "constraints_left_out": max(len(constraints) - MAX_CONSTRAINT_ROWS, 0),
        "row_levels": (doc.get("solver") or {}).get("row_levels") or {},
        "solver_facts": _solver_facts(doc.get("solver") or {}),
        "assumed": (doc.get("parameters") or {}).get("assumed", []),
        "overridden": (doc.get("parameters") or {}).get("overridden", []),
        "renderers": _renderer_versions(),
        "charts": _charts(per_clause, per_district, ratios),
    }
    html = _environment().get_template(TEMPLATE).render(**context)
    return html if html.endswith("\n") else html + "\n"


def report_bytes(doc: dict[str, Any], awards: pd.DataFrame, constraints: pd.DataFrame) -> bytes:
    """:func:`render_report` as UTF-8 bytes, as ``report.html`` holds them."""
    return render_report(doc, awards, constraints).encode("utf-8")


def report_from_folder(folder: str | Path) -> bytes:
    """Render the report of an output folder from its ``result.json`` and CSV files.

    Gives the bytes the run wrote, so a report can be rebuilt (or checked) from the files.
    """
    folder = Path(folder)
    doc = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    text = {"recipient_id": str, "clause_id": str, "item_key": str, "name": str}
    awards = pd.read_csv(folder / "awards.csv", dtype=text, keep_default_na=False)
    constraints = pd.read_csv(
        folder / "constraints.csv", dtype={"name": str, "clause_id": str}, keep_default_na=False
    )
    # pandas reads the column's true/false as booleans already; text covers an empty table.
    constraints["binding"] = constraints["binding"].astype(str).str.lower() == "true"
    return report_bytes(doc, awards, constraints)


def reason_counts(awards: pd.DataFrame) -> list[dict[str, Any]]:
    """Awards below their claim, counted by reason.

    Reasons that differ only in a firm's credit code or an amount in 万元 count as one
    (``firm_cap[<credit code>] binding``, ``... award of the same type (N万元) ...``); each
    is given in the reader's words (:func:`allocator.outputs.wording.reason_text`).

    Returns
    -------
    list of dict
        ``reason``, ``claims``, ``claim_wan``, ``award_wan``, ``shortfall_wan``; most claims
        first, then by reason.
    """
    claim = awards["claim_wan"].to_numpy(dtype=np.int64)
    award = awards["award_wan"].to_numpy(dtype=np.int64)
    below = award < claim
    if not below.any():
        return []
    reason = awards["reason"].fillna("").astype(str)[below]
    codes, uniques = pd.factorize(reason)
    words = np.array([reason_text(u) for u in uniques], dtype=object)
    kind = pd.Series(words[codes], index=reason.index, dtype=object)
    kind = kind.str.replace(_CREDIT_CODE, "<credit code>", regex=True)
    kind = kind.str.replace(_WAN, "N万元", regex=True)
    kind = kind.where(kind != "", _("(no reason given)"))
    frame = pd.DataFrame({"reason": kind.to_numpy(), "claim": claim[below], "award": award[below]})
    g = frame.groupby("reason", sort=True)
    out = pd.DataFrame(
        {"claims": g.size(), "claim_wan": g["claim"].sum(), "award_wan": g["award"].sum()}
    ).reset_index()
    out["shortfall_wan"] = out["claim_wan"] - out["award_wan"]
    out = out.sort_values(["claims", "reason"], ascending=[False, True], kind="stable")
    return [
        {str(k): (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()}
        for rec in out.to_dict(orient="records")
    ]


def _reason_kind(text: str) -> str:
    """A reason with its credit codes and amounts generalised; a blank one named."""
    kind = _WAN.sub("N万元", _CREDIT_CODE.sub("<credit code>", text))
    return kind or "(no reason given)"


# --------------------------------------------------------------------------------------------
# Tables


def _family_summary(constraints: pd.DataFrame) -> list[dict[str, Any]]:
    if constraints.empty:
        return []
    g = constraints.groupby("family", sort=False)
    frame = pd.DataFrame(
        {
            "clause_ids": g["clause_id"].agg(lambda s: ", ".join(dict.fromkeys(map(str, s)))),
            "rows": g.size(),
            "binding": g["binding"].sum(),
        }
    ).reset_index()
    return [
        {str(k): (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def _solver_facts(solver: dict[str, Any]) -> list[tuple[str, str]]:
    """The fairness rule's scalar reports (method, rounds ...), as text."""
    return [
        (str(k), _text(v))
        for k, v in sorted(solver.items())
        if isinstance(v, str | int | float | bool) or v is None
    ]


def _renderer_versions() -> dict[str, str]:
    out = {}
    for dist in ("Jinja2",):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed deps
            out[dist] = "unknown"
    return out


def _text(value: Any) -> str:
    """A parameter value as the page shows it: numbers plainly, lists and tables as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _wan(value: Any) -> str:
    """Whole 万元 with thousands separators; blank for nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{int(value):,}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100.0 * float(value):.1f}%"


def _ratio(award: Any, claim: Any) -> str:
    return _pct(float(award) / float(claim)) if claim else "—"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("allocator.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wan"] = _wan
    env.filters["pct"] = _pct
    env.filters["text"] = _text
    env.globals["ratio"] = _ratio
    env.globals["_"] = _
    env.globals["district"] = district_name
    env.globals["family"] = family_name
    env.globals["row"] = row_name
    env.globals["role"] = _role
    env.globals["basis"] = _basis
    return env


def _document_status(status: str) -> str:
    words = {"in_force": _("in force"), "draft": _("draft for comment")}
    return words.get(status, status)


def _role(role: str) -> str:
    words = {"scenario": _("scenario"), "model": _("policy model"), "data": _("data")}
    return words.get(role, role)


def _basis(basis: str) -> str:
    words = {"document": _("document"), "assumed": _("assumed")}
    return words.get(basis, basis)


# --------------------------------------------------------------------------------------------
# Charts


def _charts(
    per_clause: Sequence[dict[str, Any]],
    per_district: Sequence[dict[str, Any]],
    ratios: np.ndarray[Any, np.dtype[np.float64]],
) -> dict[str, Markup]:
    return {
        "clause": Markup(
            bars(
                "chart-clause",
                [str(r["clause_id"]) for r in per_clause],
                [int(r["claim_wan"]) for r in per_clause],
                [int(r["award_wan"]) for r in per_clause],
            )
        ),
        "district": Markup(
            bars(
                "chart-district",
                [district_name(str(r["district"])) for r in per_district],
                [int(r["claim_wan"]) for r in per_district],
                [int(r["award_wan"]) for r in per_district],
            )
        ),
        "ratio": Markup(histogram("chart-ratio", ratios)),
    }


__all__ = [
    "CJK_FONTS",
    "FONT_STACK",
    "MAX_CONSTRAINT_ROWS",
    "reason_counts",
    "render_report",
    "report_bytes",
    "report_from_folder",
]
