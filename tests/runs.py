"""Shared test helpers: tiny policy models and claims tables, hand-made runs, audited folders.

- ``A``, ``B``, ``C``, :func:`tiny_model`, :func:`claims` and :func:`run_build`: a four-clause
  model shaped like the 2025 document's and claims tables written row by row, built into a
  ``Build`` (tests/test_build.py, tests/test_outputs.py).
- :func:`example`, :func:`allocation`, ``HAND``, ``HAND_FROZEN`` and :func:`make_run`: one
  small problem with its hand-worked solution, as a ``RunResult`` ready to write.
- :func:`invoke`, :func:`tiny_run`, :func:`read_awards`, :func:`write_awards`,
  :func:`audit_json` and :func:`findings`: a run folder of the booth-fee item alone, its
  awards.csv read and edited, and ``allocate audit --json`` on it (tests/test_audit.py and
  the audit tests after it).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from click.testing import CliRunner, Result

from allocator.cli import main
from allocator.inputs.choices import Rule
from allocator.inputs.scenario import LoadedScenario, Scenario
from allocator.model.build import Build, build
from allocator.model.problem import Allocation, Status
from allocator.outputs.result import InputFile, RunResult
from allocator.policy.model import PolicyModel

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
MINI_MODEL = ROOT / "tests" / "fixtures" / "mini-model.yaml"

A, B, C = "91450200MA5AAAAA1A", "91450200MA5BBBBB2B", "91450200MA5CCCCC3C"


def tiny_model(mode: str = "exclude_if_applied", cap: int | None = 100) -> PolicyModel:
    """Four award clauses and two rules, shaped like the 2025 document's.

    1/growth and 2/recovery share the no-duplicate group ``growth_award`` (provincial type
    growth); 5/booth and 5/launch are of provincial type market, 5/launch all-or-nothing;
    9/district pays districts. Clause 18 states the fund cap, clause 20 stacking and the
    provincial rule.
    """

    def item(
        id_: str,
        *,
        group: str | None = None,
        ptype: str | None = None,
        aon: bool = False,
        recipient: str = "enterprise",
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": id_,
            "title": f"the {id_} award",
            "recipient": recipient,
            "conditions": [{"id": "ok", "text": "规上", "expr": "above_scale"}],
            "formula": {"type": "fixed", "amount": "amount"},
            "params": {
                "amount": {"value": 10, "unit": "万元", "basis": "assumed", "rationale": "test"}
            },
            "exclusive_group": group,
            "provincial_type": ptype,
            "all_or_nothing": aon,
        }
        if recipient == "district":
            d["aggregate"] = {"above_scale": "any"}
        return d

    def rule(clause: str, **kw: Any) -> dict[str, Any]:
        return {"basis": "document", "quote": "原文", "clause": clause, **kw}

    def clause(id_: str, *items: dict[str, Any], kind: str = "award") -> dict[str, Any]:
        return {
            "id": id_,
            "label": f"（{id_}）",
            "kind": kind,
            "title": f"clause {id_}",
            "quote": "原文",
            "items": list(items),
        }

    return PolicyModel.model_validate(
        {
            "title": "Tiny policy",
            "document_number": None,
            "issuer": "柳州市人民政府",
            "issue_date": None,
            "status": "draft",
            "valid_from": "2026-01-01",
            "valid_until": "2026-03-31",
            "source": "nowhere",
            "rules": {
                "fund_cap": rule("18", value_wan=cap),
                "rounding": rule("18", rule="floor_wan"),
                "stacking": rule("20", default="stack"),
                "provincial": rule("20", mode=mode),
            },
            "clauses": [
                clause("1", item("growth", group="growth_award", ptype="growth")),
                clause("2", item("recovery", group="growth_award", ptype="growth")),
                clause(
                    "5", item("booth", ptype="market"), item("launch", ptype="market", aon=True)
                ),
                clause("9", item("district", recipient="district")),
                clause("18", kind="rule"),
                clause("20", kind="rule"),
            ],
        }
    )


FIRMS = {
    A: ("柳州甲钢铁有限公司", "柳南区", "steel", 0),
    B: ("柳州乙汽配有限公司", "柳北区", "auto_parts", 1),
    C: ("柳州丙机械有限公司", "柳南区", "machinery", 2),
}
ITEMS = {
    "1/growth": ("growth_award", "growth", False),
    "2/recovery": ("growth_award", "growth", False),
    "5/booth": ("", "market", False),
    "5/launch": ("", "market", True),
    "9/district": ("", "", False),
}


def claims(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """A claims table from ``(recipient, item key, claim, **extras)`` rows.

    A recipient is a firm's credit code or a district name. Extras: ``applied``,
    ``eligible``, ``provincial_applied``, ``provincial_award_wan``.
    """
    records = []
    for row in rows:
        rid, key, claim, *rest = row
        extra: dict[str, Any] = rest[0] if rest else {}
        clause_id, item_id = key.split("/")
        group, ptype, aon = ITEMS[key]
        if rid in FIRMS:
            name, district, industry, firm_row = FIRMS[rid]
            kind = "enterprise"
        else:
            name, district, industry, firm_row, kind = rid, rid, "", -1, "district"
        records.append(
            {
                "recipient_kind": kind,
                "recipient_id": rid,
                "recipient_name": name,
                "district": district,
                "industry": industry,
                "clause_id": clause_id,
                "item_id": item_id,
                "item_key": key,
                "eligible": extra.get("eligible", True),
                "applied": extra.get("applied", True),
                "amount": float(claim),
                "claim_wan": claim,
                "exclusive_group": group,
                "all_or_nothing": aon,
                "provincial_type": ptype,
                "provincial_applied": extra.get("provincial_applied", False),
                "provincial_award_wan": extra.get("provincial_award_wan", 0),
                "firm_row": firm_row,
            }
        )
    frame = pd.DataFrame.from_records(records)
    for col in ("claim_wan", "provincial_award_wan", "firm_row"):
        frame[col] = frame[col].astype(np.int64)
    return frame


@dataclass(frozen=True)
class Claims:
    """Stands in for allocator.policy.claims.Claims: only the table matters to the builder."""

    table: pd.DataFrame


def scenario(**kw: Any) -> Scenario:
    return Scenario.model_validate({"name": "t", "model": "m.yaml", "data": "d.csv", **kw})


def run_build(table: pd.DataFrame, model: PolicyModel | None = None, **kw: Any) -> Build:
    enterprises = kw.pop("enterprises", None)
    return build(Claims(table), scenario(**kw), model or tiny_model(), enterprises=enterprises)


# --------------------------------------------------------------------------------------------
# One small problem and its hand solution


def example() -> Build:
    """Budget 40, firm cap 25.

    Variables in order: v0 A 1/growth 30, v1 A 2/recovery 8 (one no-duplicate group with v0),
    v2 A 5/booth 6, v3 C 5/launch 8 (all-or-nothing), v4 柳南区 9/district 50. B's growth
    claim of 20 is no variable: B applied for the provincial growth award (clause 20).
    A's claims add up to 44 > 25, so firm_cap[A] holds v0, v1, v2.
    """
    table = claims(
        (A, "1/growth", 30),
        (B, "1/growth", 20, {"provincial_applied": True}),
        (A, "2/recovery", 8),
        (A, "5/booth", 6),
        (C, "5/launch", 8),
        ("柳南区", "9/district", 50),
    )
    return run_build(table, budget_wan=40, firm_cap_wan=25)


def allocation(
    award: list[int],
    frozen: list[str],
    rule: Rule = Rule.PRIORITY,
    levels: list[float] | None = None,
    status: Status = Status.OPTIMAL,
) -> Allocation:
    n = len(award)
    return Allocation(
        award=np.array(award, dtype=np.int64),
        status=status,
        rule=rule,
        objective=123.0,
        best_bound=123.0,
        levels=np.array(levels if levels is not None else [np.nan] * n, dtype=np.float64),
        frozen_by=frozen,
        phases=[("priority", 0.01)],
    )


# The hand solution: A gets 25 from growth (its cap), nothing for recovery (the group already
# pays growth) or booth (A is at its cap, and the budget is spent); C's launch is all or
# nothing and the 15 left go to the district, which exhausts the budget of 40.
HAND = [25, 0, 0, 0, 15]
HAND_FROZEN = [f"firm_cap[{A}]", f"no_duplicate[growth_award][{A}]", "", "all_or_nothing", ""]


def make_run(tmp_path: Path, alloc: Allocation | None = None, **kw: Any) -> RunResult:
    inputs = tmp_path / "inputs"
    inputs.mkdir(exist_ok=True)
    files = {}
    for name in ("scenario.yaml", "model.yaml", "data.csv"):
        (inputs / name).write_text(name, encoding="utf-8")
        files[name] = inputs / name
    spec = Scenario.model_validate(
        {"name": "t", "model": "model.yaml", "data": "data.csv", "budget_wan": 40}
    )
    loaded = LoadedScenario(
        spec, files["scenario.yaml"], files["model.yaml"], (files["data.csv"],), "0" * 64
    )
    b = example()

    def digest(name: str) -> str:
        return hashlib.sha256(files[name].read_bytes()).hexdigest()

    return RunResult(
        scenario=loaded,
        model=tiny_model(),
        build=b,
        allocation=alloc if alloc is not None else allocation(HAND, HAND_FROZEN),
        status=kw.pop("status", Status.OPTIMAL),
        message=kw.pop("message", ""),
        inputs=[
            InputFile("scenario", files["scenario.yaml"], "scenario.yaml", digest("scenario.yaml")),
            InputFile("model", files["model.yaml"], "model.yaml", digest("model.yaml")),
            InputFile("data", files["data.csv"], "data.csv", digest("data.csv")),
        ],
        command="allocate run scenario.yaml",
        timings={"load": 0.1, "solve": 0.2},
        versions={"allocate": "0.1.0"},
    )


# --------------------------------------------------------------------------------------------
# Run folders and their audit


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def read_awards(folder: Path) -> list[dict[str, str]]:
    with (folder / "awards.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_awards(folder: Path, rows: list[dict[str, str]]) -> None:
    with (folder / "awards.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def audit_json(folder: Path, ledger: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = invoke("audit", str(folder), "--ledger", ledger, "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["check"] == check and f["severity"] == "error"]


def tiny_run(
    tmp_path: Path,
    ledger: str,
    fees: list[str],
    budget: int,
    rule: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A run of the booth-fee item alone (50 % of the fee) for the first firms of the sample,
    ``extra`` added to the scenario."""
    model = yaml.safe_load(MINI_MODEL.read_text(encoding="utf-8"))
    booth = next(c for c in model["clauses"] if c["id"] == "2")
    booth["items"][0].pop("provincial_type", None)
    booth["items"][0]["params"]["cap"]["value"] = 1000  # no cap: the claim is half the fee
    model["clauses"] = [booth]
    model.pop("derived", None)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model, allow_unicode=True), "utf-8")
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        firms = [r for r in reader if r["above_scale"] == "是"][: len(fees)]
        columns = list(reader.fieldnames or [])
    for firm, fee in zip(firms, fees, strict=True):
        firm["booth_fee_2026q1"] = fee
        firm["applied_clauses"] = "2"
    with (tmp_path / "data.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(firms)
    scenario = tmp_path / "tiny.yaml"
    body = {
        "name": "tiny",
        "model": "model.yaml",
        "data": "data.csv",
        "budget_wan": budget,
        "fairness": {"rule": rule},
        **(extra or {}),
    }
    scenario.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", str(scenario), "--out", str(out), "--quiet", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    return out
