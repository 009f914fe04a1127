"""A comparison for people: metric values as text, the tables of totals and of winners and
losers, and the self-contained HTML page (:func:`render_html`)."""

from __future__ import annotations

import math

import pandas as pd

from allocator.analysis.charts import charts
from allocator.analysis.compare import (
    METRICS,
    Change,
    Comparison,
    metric_name,
    plain_value,
    run_labels,
)
from allocator.analysis.labels import rule_name, status_name
from allocator.core.i18n import _, language, ngettext
from allocator.inputs.choices import district_name

_PERCENT = {"coverage", "gap"}
_RATIO = {"mean_ratio", "median_ratio", "min_ratio", "gini_awards", "gini_ratios"}


def display_value(key: str, value: object) -> str:
    """A metric as a person reads it: 万元 with separators, shares in per cent, ratios to 4
    decimals, objectives in full; '–' where the figure does not exist."""
    value = plain_value(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key == "rule" and isinstance(value, str):
        return rule_name(value)
    if key == "status" and isinstance(value, str):
        return status_name(value)
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if key in _PERCENT:
            return f"{value:.2%}"
        if key in _RATIO:
            return f"{value:.4f}"
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.6g}"
    return str(value)


def clause_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The per-clause table as text, in 万元: header and rows (clause, title, claim, then the
    award of each run under its label).

    The claim column is shown once when every run has the same claim; otherwise each cell is
    ``award / claim``.
    """
    return _total_rows(
        comparison, comparison.per_clause, ["clause_id", "title"], [_("clause"), _("title")]
    )


def district_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The per-district table as text, as :func:`clause_rows`."""
    return _total_rows(comparison, comparison.per_district, ["district"], [_("district")])


def _total_rows(
    comparison: Comparison, table: pd.DataFrame, keys: list[str], names: list[str]
) -> tuple[list[str], list[list[str]]]:
    labels = comparison.labels
    shown = run_labels(comparison)
    claims = table[[f"claim_wan[{lb}]" for lb in labels]]
    one_claim = bool((claims.nunique(axis=1, dropna=False) <= 1).all())
    header = list(names)
    header += [_("claim")] if one_claim else []
    header += [
        lb if one_claim else _("{run} (award / claim)").format(run=lb)
        for lb in (shown[lb] for lb in labels)
    ]
    rows = []
    for _index, row in table.iterrows():
        cells = [
            (district_name(str(row[k])) if k == "district" else str(row[k])) or "–" for k in keys
        ]
        if one_claim:
            cells.append(display_value("claim_wan", row[f"claim_wan[{labels[0]}]"]))
        for lb in labels:
            award = display_value("award_wan", row[f"award_wan[{lb}]"])
            claim = display_value("claim_wan", row[f"claim_wan[{lb}]"])
            cells.append(award if one_claim else f"{award} / {claim}")
        rows.append(cells)
    return header, rows


def change_rows(change: Change, which: str) -> tuple[list[str], list[list[str]]]:
    """Winners (``which="winners"``) or losers of one change as text rows."""
    frame = change.winners if which == "winners" else change.losers
    header = [
        _("recipient id"),
        _("name"),
        _("before (万元)"),
        _("after (万元)"),
        _("change (万元)"),
    ]
    rows = [
        [
            str(r.recipient_id),
            str(r.recipient_name),
            f"{r.award_before_wan:,}",
            f"{r.award_after_wan:,}",
            f"{r.change_wan:+,}",
        ]
        for r in frame.itertuples(index=False)
    ]
    return header, rows


_HTML = """<!DOCTYPE html>
<html lang="{{ html_lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ text.title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
       "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
       "SimHei", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; vertical-align: top; }
th { text-align: left; background: #f4f4f4; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
.note { color: #555; }
</style>
</head>
{%- macro table(spec) %}
{%- set header, rows, skip = spec %}
<table>
<tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{%- for row in rows %}
<tr>{% for c in row %}<td{% if loop.index > skip %} class="n"{% endif %}>{{ c }}</td>
{%- endfor %}</tr>
{%- endfor %}
</table>
{%- endmacro %}
<body>
<h1>{{ text.heading }}</h1>
{{ table(run_table) }}
{%- for note in notes %}
<p class="note">{{ note }}</p>
{%- endfor %}
<h2>{{ text.metrics }}</h2>
{{ table(metrics) }}
<h2>{{ text.by_clause }}</h2>
<figure>{{ charts.clauses | safe }}</figure>
{{ table(clauses) }}
<h2>{{ text.by_district }}</h2>
<figure>{{ charts.districts | safe }}</figure>
{{ table(districts) }}
<h2>{{ text.distribution }}</h2>
<figure>{{ charts.lorenz | safe }}</figure>
<figure>{{ charts.ratios | safe }}</figure>
{%- for c in changes %}
<h2>{{ c.heading }}</h2>
<p>{{ c.summary }}</p>
<h3>{{ text.rises }}</h3>
{{ table(c.winners) }}
<h3>{{ text.falls }}</h3>
{{ table(c.losers) }}
{%- endfor %}
</body>
</html>
"""


def render_html(comparison: Comparison) -> str:
    """A self-contained page: metrics, totals, winners and losers, and the charts inline.

    Nothing is fetched from elsewhere (no scripts, fonts or images), and the page carries no
    date, so the same runs give the same bytes.
    """
    import jinja2

    labels = comparison.labels
    shown = run_labels(comparison)
    # StrictUndefined: a name the template uses but is not given fails here, not as blank text.
    env = jinja2.Environment(
        autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    run_table = (
        [_("run"), _("folder"), _("policy")],
        [[shown[r.label], str(r.path), r.policy_title] for r in comparison.runs],
        3,
    )
    metrics = (
        [_("metric"), *(shown[lb] for lb in labels)],
        [
            [metric_name(key), *(display_value(key, comparison.metric(key, lb)) for lb in labels)]
            for key in METRICS
        ],
        1,
    )
    text = {
        "title": _("Comparison: {runs}").format(runs=" | ".join(shown[lb] for lb in labels)),
        "heading": ngettext_runs(len(labels)),
        "metrics": _("Metrics"),
        "by_clause": _("Awards by clause (万元)"),
        "by_district": _("Awards by district (万元)"),
        "distribution": _("Distribution"),
        "rises": _("Largest rises"),
        "falls": _("Largest falls"),
    }
    changes = [
        {
            "heading": _("From {before} to {after}").format(
                before=shown.get(c.before, c.before), after=shown.get(c.after, c.after)
            ),
            "summary": _("{up} recipients receive more, {down} less.").format(
                up=c.recipients_up, down=c.recipients_down
            ),
            "winners": (*change_rows(c, "winners"), 2),
            "losers": (*change_rows(c, "losers"), 2),
        }
        for c in comparison.changes
    ]
    page: str = env.from_string(_HTML).render(
        html_lang="en" if language() == "en" else "zh-CN",
        text=text,
        run_table=run_table,
        notes=comparison.notes,
        metrics=metrics,
        charts=charts(comparison),
        clauses=(*clause_rows(comparison), 2),
        districts=(*district_rows(comparison), 1),
        changes=changes,
    )
    return page


def ngettext_runs(n: int) -> str:
    """The page's heading: how many runs it compares."""
    return ngettext("Comparison of {n} run", "Comparison of {n} runs", n).format(n=n)


__all__ = [
    "change_rows",
    "clause_rows",
    "display_value",
    "district_rows",
    "render_html",
]
