"""The ``allocate`` command timed as a user runs it: a fresh process for every run.

``bench.py`` times :func:`run_scenario` phase by phase; a user waits for the whole command:
the interpreter, the imports, the phases and the exit. This times, each ``repeats`` times in
a fresh process, ``allocate --help`` and the shipped 1,500-firm sample
(``allocate scenarios/liuzhou-2026-q1.yaml``) end to end, and reads the sample's own phases
from the ``result.json`` of its last run, so the table shows what lies outside them.

Usage::

    .venv/bin/python benchmarks/bench_command.py                   # print the figures
    .venv/bin/python benchmarks/bench_command.py --src OLD/src \\
        --out benchmarks/results/command-before.json               # an earlier tree's figures

``--src`` puts another checkout's ``src`` first on ``PYTHONPATH``, so that the same
environment runs an earlier version of the code: that is how the *before* column of
docs/performance.md was measured (``git archive 16ff464 src | tar -x -C OLD``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALLOCATE = Path(sys.executable).parent / "allocate"
SAMPLE = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
BEFORE = ROOT / "benchmarks" / "results" / "command-before.json"
PHASES = ("load", "claims", "build", "solve", "write")

# Targets of the command as a user runs it (seconds, median of the repeats).
HELP_TARGET_S = 0.3
SAMPLE_TARGET_S = 1.5


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def time_command(args: Sequence[str], repeats: int, env: dict[str, str], cwd: Path) -> list[float]:
    """Wall-clock seconds of ``allocate ARGS``, once per repeat, each in a fresh process."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [str(ALLOCATE), *args], cwd=cwd, env=env, capture_output=True, check=False
        )
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise SystemExit(f"allocate {' '.join(args)}: exit {done.returncode}: {tail}")
    return seconds


def measure(repeats: int = 5, src: Path | None = None) -> dict[str, Any]:
    """``allocate --help`` and the 1,500-firm sample, ``repeats`` fresh processes each.

    Parameters
    ----------
    repeats:
        Runs of each command; the figures are their median.
    src:
        Another checkout's ``src`` to run instead of this one (put first on PYTHONPATH).

    Returns
    -------
    dict
        ``help`` and ``sample`` (every run's seconds and their median; the sample's phases
        from its last ``result.json``), the code measured and the load before and after.
    """
    with tempfile.TemporaryDirectory(prefix="bench-command-") as tmp:
        env = {**os.environ, "ALLOCATE_LEDGER": str(Path(tmp) / "ledger.sqlite")}
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), env.get("PYTHONPATH", "")])
        load_before = os.getloadavg()[0]
        help_s = time_command(["--help"], repeats, env, ROOT)
        out = Path(tmp) / "out"
        sample_s = time_command([str(SAMPLE), "--out", str(out), "--quiet"], repeats, env, ROOT)
        timings = json.loads((out / "result.json").read_text(encoding="utf-8"))["timings"]
        load_after = os.getloadavg()[0]
    phases = {p: float(timings[p]) for p in PHASES if p in timings}
    return {
        "measured": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "code": f"src of {src}"
        if src is not None
        else f"commit {_git('rev-parse', '--short', 'HEAD')}",
        "repeats": repeats,
        "load_before": load_before,
        "load_after": load_after,
        "help": {"all_s": help_s, "median_s": statistics.median(help_s)},
        "sample": {
            "all_s": sample_s,
            "median_s": statistics.median(sample_s),
            "phases": phases,
            "phases_total_s": sum(phases.values()),
        },
    }


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else "**missed**"


def render(now: dict[str, Any] | None, before: dict[str, Any] | None) -> str:
    """The markdown table of docs/performance.md: before, now, target, and the conditions."""

    def get(doc: dict[str, Any] | None, *keys: str) -> float | None:
        value: Any = doc
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value)

    def outside(doc: dict[str, Any] | None) -> float | None:
        total = get(doc, "sample", "median_s")
        inside = get(doc, "sample", "phases_total_s")
        return None if total is None or inside is None else total - inside

    help_now = get(now, "help", "median_s")
    sample_now = get(now, "sample", "median_s")
    rows = [
        ["`allocate --help`", _s(get(before, "help", "median_s")), _s(help_now),
         f"≤ {HELP_TARGET_S:g} s", _verdict(help_now, HELP_TARGET_S)],
        ["1,500-firm sample through `allocate`, end to end", _s(get(before, "sample", "median_s")),
         _s(sample_now), f"≤ {SAMPLE_TARGET_S:g} s", _verdict(sample_now, SAMPLE_TARGET_S)],
        ["of which its phases (load … write, in the process)",
         _s(get(before, "sample", "phases_total_s")), _s(get(now, "sample", "phases_total_s")),
         "", ""],
        ["of which start-up, imports and exit (the rest)", _s(outside(before)), _s(outside(now)),
         "", ""],
    ]  # fmt: skip
    lines = [
        "| what | before | now | target |  |",
        "|---|--:|--:|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    for label, doc in (("Before", before), ("Now", now)):
        if doc is None:
            lines.append(f"* **{label}:** not measured.")
            continue
        lines.append(
            f"* **{label}:** {doc['code']}, {doc['measured']}; median of {doc['repeats']} "
            f"fresh processes each; load average (1 min) {doc['load_before']:.2f} before and "
            f"{doc['load_after']:.2f} after. --help: "
            + ", ".join(f"{s:.2f}" for s in doc["help"]["all_s"])
            + " s; sample: "
            + ", ".join(f"{s:.2f}" for s in doc["sample"]["all_s"])
            + " s."
        )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--src", type=Path, help="run another checkout's src instead")
    parser.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    figures = measure(args.repeats, args.src)
    text = json.dumps(figures, indent=1, sort_keys=True) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print(render(figures, None) if args.src is None else text, end="")


if __name__ == "__main__":
    main(sys.argv[1:])
