"""Time the claims evaluation: every firm under every award item of a policy model.

Usage::

    .venv/bin/python benchmarks/bench_claims.py [MODEL.yaml] [--firms 100000] [--repeat 3]

The firms come from :func:`allocator.inputs.generate.generate_population` when that module is
available, else from a random frame with the schema's columns. Prints the best of the
repeats; the figure recorded in docs/policy-model.md comes from here.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.inputs.schema import DISTRICTS, FIELDS, INDUSTRIES, Kind
from allocator.policy.claims import evaluate
from allocator.policy.load import load_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"


def random_frame(n: int, seed: int) -> pd.DataFrame:
    """Firms with every schema field: a third of each numeric field blank, the rest random."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for f in FIELDS:
        if f.kind is Kind.BOOL:
            columns[f.name] = rng.random(n) < 0.5
        elif f.kind is Kind.DATE:
            days = rng.integers(0, 730, n)
            stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")
            columns[f.name] = pd.Series(stamps).astype("datetime64[ns]")
        elif f.kind in (Kind.INT, Kind.MONEY, Kind.QUANTITY, Kind.PERCENT):
            values = rng.lognormal(6.0, 1.5, n)
            values[rng.random(n) < 0.33] = np.nan
            columns[f.name] = values
        elif f.name == "district":
            columns[f.name] = rng.choice(np.array(list(DISTRICTS), dtype=object), n)
        elif f.name == "industry":
            columns[f.name] = rng.choice(np.array(list(INDUSTRIES), dtype=object), n)
        elif f.name == "chem_park":
            parks = np.array(["", "", "", "柳东化工园区", "鹿寨化工园区"], dtype=object)
            columns[f.name] = rng.choice(parks, n)
        elif f.name == "applied_clauses_2026q1":
            choices = np.array(["", "1.1;2.1", "3.9", "4.1;5.1;5.2", "6;8"], dtype=object)
            columns[f.name] = rng.choice(choices, n)
        elif f.kind is Kind.LIST:
            # the other documents' applications: blank, as a 2026 file would leave them
            columns[f.name] = np.full(n, "", dtype=object)
        else:
            columns[f.name] = np.array([f"{f.name}-{k}" for k in range(n)], dtype=object)
    return pd.DataFrame(columns)


def population(n: int, seed: int) -> tuple[pd.DataFrame, str]:
    try:
        generate = importlib.import_module("allocator.inputs.generate")
    except ImportError:
        return random_frame(n, seed), "random frame"
    return generate.generate_population(n, seed), "allocator.inputs.generate"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    model = load_model(args.model)
    started = time.perf_counter()
    frame, source = population(args.firms, args.seed)
    built = time.perf_counter() - started
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        claims = evaluate(model, frame)
        times.append(time.perf_counter() - started)
    items = len(claims.items)
    print(f"model: {args.model} ({items} award items)")
    print(f"firms: {len(frame):,} from {source} (built in {built:.1f} s)")
    eligible = int(claims.table["eligible"].sum())
    print(f"claims table: {len(claims.table):,} rows, {eligible:,} eligible")
    every = ", ".join(f"{t:.2f}" for t in times)
    print(f"evaluate: best {min(times):.2f} s of {args.repeat} (all: {every})")


if __name__ == "__main__":
    main()
