"""Shared test helpers: report.html read back as elements, and the totals it must show.

:func:`parse` gives every element's attributes by id and the table rows; :func:`dom_totals`
the ``data-value`` of the summary's figures; :func:`expected_totals` the same figures as
result.json states them. tests/test_report.py reads the written file with them,
tests/test_report_browser.py the DOM as Chromium built it.
"""

from __future__ import annotations

from html.parser import HTMLParser


class Elements(HTMLParser):
    """Every element's attributes by id, and the rows (``tr``) with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.rows: list[dict[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "id" in values:
            self.by_id[values["id"]] = values
        if tag == "tr":
            self.rows.append(values)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def dom_totals(html: str) -> dict[str, str]:
    """The ``data-value`` of the summary's figures."""
    ids = parse(html).by_id
    names = (
        "status",
        "rule",
        "budget",
        "total-claimed",
        "total-awarded",
        "recipients-funded",
        "recipients-eligible",
        "claims-funded",
        "claims-eligible",
    )
    return {name: ids[name]["data-value"] for name in names}


def expected_totals(doc: dict[str, object]) -> dict[str, str]:
    counts = doc["counts"]
    assert isinstance(counts, dict)
    return {
        "status": str(doc["status"]),
        "rule": str(doc["rule"]),
        "budget": str(doc["budget_wan"]),
        "total-claimed": str(doc["total_claim_wan"]),
        "total-awarded": str(doc["total_awarded_wan"]),
        "recipients-funded": str(counts["funded_recipients"]),
        "recipients-eligible": str(counts["recipients"]),
        "claims-funded": str(counts["funded_claims"]),
        "claims-eligible": str(counts["eligible_claims"]),
    }
