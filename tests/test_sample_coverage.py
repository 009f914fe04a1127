"""Every award item of every shipped model has recipients in the shipped sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.inputs.data import EnterpriseData, load_enterprises
from allocator.policy.claims import evaluate
from allocator.policy.load import load_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.yaml"))
MINIMUM = 5


@pytest.fixture(scope="module")
def sample() -> EnterpriseData:
    return load_enterprises(ROOT / "scenarios" / "data" / "liuzhou-sample.csv")


def test_there_are_models() -> None:
    assert len(MODELS) >= 2


@pytest.mark.parametrize("model_path", MODELS, ids=lambda p: p.stem)
def test_every_award_item_has_eligible_recipients(model_path: Path, sample: EnterpriseData) -> None:
    model = load_model(model_path)
    table = evaluate(model, sample).table
    eligible = table[table["eligible"]].groupby("item_key", observed=True).size()
    paid = table[table["claim_wan"] > 0].groupby("item_key", observed=True).size()
    short = {
        key: (int(eligible.get(key, 0)), int(paid.get(key, 0)))
        for key in (f"{c.id}/{i.id}" for c, i in model.items())
        if eligible.get(key, 0) < MINIMUM or paid.get(key, 0) < MINIMUM
    }
    assert not short, f"items with fewer than {MINIMUM} (eligible, paid) recipients: {short}"
