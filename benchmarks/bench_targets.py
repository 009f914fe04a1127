"""The national-scale targets, measured as a user meets them, and the growth chart.

``bench.py --only targets`` (part of ``make bench``) measures, each in a fresh process timed
from outside (interpreter, imports, phases and exit; peak memory from ``wait4``):

* ``allocate --help`` and the 1,500-firm sample through the command (``bench_command.py``);
* 100,000 and 1,000,000 firms through ``allocate SCENARIO --out DIR --quiet``, every rule;
* the crossing family (``random_problem`` of ``baselines.py``) at 100,000 firms: 400,000
  claims (the generator makes ``n_vars // 4`` firms), the priority rule, two workers, 60 s,
  under the default engine and under HiGHS;

and takes PuLP + CBC ÷ allocate from the comparison section (PuLP's seconds over allocate's
priority solve phase, each size). ``--src OLD/src`` runs the same measurements on another
checkout's code (first on ``PYTHONPATH``): that is how the *before* column was measured,
stored in ``benchmarks/results/targets-before.json`` so that ``make bench`` need not
measure it again.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALLOCATE = Path(sys.executable).parent / "allocate"
BEFORE = ROOT / "benchmarks" / "results" / "targets-before.json"
GIB = 1024**3

HELP_S = 0.3
SAMPLE_S = 1.5
CITY, CITY_S = 100_000, 6.0
NATION, NATION_S, NATION_GIB = 1_000_000, 60.0, 8.0
CROSSING_FIRMS, CROSSING_S = 100_000, 60.0
PULP_RATIO = 5.0
CROSSING_SEED = 0


def source_env(src: Path | None, ledger: Path) -> dict[str, str]:
    """The environment of a measured process: its own ledger, and ``src`` first if given."""
    env = {**os.environ, "ALLOCATE_LEDGER": str(ledger)}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), env.get("PYTHONPATH", "")])
    return env


def timed(command: Sequence[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``command``; wall-clock seconds from outside, its peak RSS, its exit code.

    On a timeout the process group is killed and ``timeout`` is recorded.
    """
    started = time.perf_counter()
    load = os.getloadavg()[0]
    proc = subprocess.Popen(
        list(command),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, 9)
            os.wait4(proc.pid, 0)
            return {"timeout": True, "seconds": time.perf_counter() - started, "load_1min": load}
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else b""
    stderr = proc.stderr.read() if proc.stderr else b""
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "peak_rss_bytes": int(usage.ru_maxrss) * 1024,
        "exit": proc.returncode,
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr_tail": stderr.decode("utf-8", "replace").strip().splitlines()[-3:],
        "load_1min": load,
    }


def through_command(
    scenario: Path, src: Path | None, timeout: float, say: Any = print
) -> dict[str, Any]:
    """``allocate SCENARIO --out DIR --quiet`` in a fresh process; status from result.json."""
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        out = Path(tmp) / "out"
        env = source_env(src, Path(tmp) / "ledger.sqlite")
        run = timed([str(ALLOCATE), str(scenario), "--out", str(out), "--quiet"], env, timeout)
        run.pop("stdout", None)
        result = out / "result.json"
        if result.exists():
            doc = json.loads(result.read_text(encoding="utf-8"))
            run["status"] = doc.get("status")
            timings = doc.get("timings") or {}
            run["phases"] = {
                p: float(timings[p])
                for p in ("load", "claims", "build", "solve", "write")
                if p in timings
            }
        else:
            run["status"] = "timeout" if run.get("timeout") else "no result.json"
    say(f"  {scenario.name} through the command: {run['seconds']:.2f} s, {run['status']}")
    return run


def crossing(
    firms: int, engine: str, time_limit: float, workers: int, src: Path | None, timeout: float
) -> dict[str, Any]:
    """The crossing family at ``firms`` firms (``4 × firms`` claims) in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="bench-crossing-") as tmp:
        env = source_env(src, Path(tmp) / "ledger.sqlite")
        if src is not None:
            env["ALLOCATE_BENCH_SRC"] = str(src.resolve())
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "child-crossing",
            str(firms),
            engine,
            f"{time_limit:g}",
            str(workers),
        ]
        run = timed(command, env, timeout)
    lines = str(run.pop("stdout", "")).strip().splitlines()
    if lines and run.get("exit") == 0:
        run.update(json.loads(lines[-1]))
    return run


def child_crossing(firms: int, engine: str, time_limit: float, workers: int) -> dict[str, Any]:
    """Build ``random_problem(4 × firms)`` and allocate it under priority; what it proved."""
    other = os.environ.get("ALLOCATE_BENCH_SRC")
    if other:
        sys.path.insert(0, other)  # the earlier tree's allocator, before baselines' own
    import allocator
    from allocator.inputs.choices import Engine, Rule
    from allocator.model.problem import SolverSettings
    from allocator.solve.rules import allocate

    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from baselines import random_problem

    started = time.perf_counter()
    problem = random_problem(4 * firms, CROSSING_SEED)
    built = time.perf_counter() - started
    settings = SolverSettings(
        time_limit_s=time_limit, workers=workers, seed=0, solver=Engine(engine)
    )
    started = time.perf_counter()
    allocation = allocate(problem, Rule.PRIORITY, settings)
    solve_s = time.perf_counter() - started
    return {
        "claims": problem.size,
        "firms": firms,
        "status": str(allocation.status),
        "objective": allocation.objective,
        "best_bound": allocation.best_bound,
        "generate_s": built,
        "solve_s": solve_s,
        "phases": [[name, s] for name, s in allocation.phases],
        "method": allocation.details.get("method"),
        "searched": allocation.details.get("searched", {}),
        "code": str(Path(allocator.__file__).resolve().parents[1]),
        "peak_rss_child_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
    }


# --------------------------------------------------------------------------------------------
# The table


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _slowest(runs: dict[str, Any] | None) -> tuple[str, bool | None]:
    """The slowest rule's seconds (and every rule's status), and whether all finished OPTIMAL."""
    if not runs:
        return "not measured", None
    done = {rule: r for rule, r in runs.items() if not r.get("timeout")}
    if len(done) < len(runs):
        killed = ", ".join(rule for rule in runs if rule not in done)
        return f"killed: {killed}", False
    rule, worst = max(done.items(), key=lambda kv: kv[1]["seconds"])
    statuses = {r.get("status") for r in done.values()}
    text = f"{worst['seconds']:.2f} s ({rule})"
    if statuses != {"OPTIMAL"}:
        text += "; " + ", ".join(f"{k} {r.get('status')}" for k, r in done.items())
    return text, statuses == {"OPTIMAL"}


def rows(doc: dict[str, Any] | None) -> dict[str, tuple[str, bool | None]]:
    """Measured text and met (``None``: not measured) for each target, from one document."""
    doc = doc or {}
    out: dict[str, tuple[str, bool | None]] = {}
    command = doc.get("command") or {}
    help_s = (command.get("help") or {}).get("median_s")
    sample_s = (command.get("sample") or {}).get("median_s")
    out["help"] = (_s(help_s), None if help_s is None else help_s <= HELP_S)
    out["sample"] = (_s(sample_s), None if sample_s is None else sample_s <= SAMPLE_S)
    sizes = doc.get("sizes") or {}
    city = sizes.get(str(CITY))
    text, optimal = _slowest(city)
    seconds = [r["seconds"] for r in (city or {}).values() if not r.get("timeout")]
    out["city"] = (text, None if not city else bool(optimal) and max(seconds) <= CITY_S)
    nation = sizes.get(str(NATION))
    text, optimal = _slowest(nation)
    if nation:
        done = [r for r in nation.values() if not r.get("timeout")]
        peak = max((r.get("peak_rss_bytes") or 0 for r in done), default=0)
        text += f"; peak {peak / GIB:.2f} GiB"
        fast = len(done) == len(nation) and max(r["seconds"] for r in done) <= NATION_S
        out["nation"] = (text, bool(optimal) and fast and peak <= NATION_GIB * GIB)
    else:
        out["nation"] = (text, None)
    cross = (doc.get("crossing") or {}).get("cpsat")
    if cross:
        status = cross.get("status", "killed" if cross.get("timeout") else "failed")
        seconds = cross.get("solve_s", cross.get("seconds"))
        text = f"{status} in {seconds:.1f} s" + (
            f" ({cross['claims']:,} claims)" if "claims" in cross else ""
        )
        out["crossing"] = (text, status == "OPTIMAL" and seconds <= CROSSING_S)
    else:
        out["crossing"] = ("not measured", None)
    ratios = doc.get("pulp_ratio") or {}
    parts, met = [], []
    for firms in (CITY, NATION):
        r = ratios.get(str(firms))
        if r and r.get("ratio") is not None:
            parts.append(f"{firms:,}: {r['ratio']:.2f}× ({r['pulp_s']:.1f} / {r['solve_s']:.2f} s)")
            met.append(r["ratio"] >= PULP_RATIO)
        else:
            parts.append(f"{firms:,}: not measured")
    # Met when both sizes are measured and meet it; missed when one measured misses it.
    verdict = False if not all(met) else (True if len(met) == 2 else None)
    out["pulp"] = ("; ".join(parts), verdict)
    return out


TARGETS = (
    ("help", "`allocate --help`", f"≤ {HELP_S:g} s"),
    (
        "sample",
        "1,500-firm sample through the `allocate` command, end to end",
        f"≤ {SAMPLE_S:g} s",
    ),
    ("city", f"{CITY:,} firms through the command, every rule", f"≤ {CITY_S:g} s"),
    (
        "nation",
        f"{NATION:,} firms through the command, every rule",
        f"≤ {NATION_S:g} s, peak ≤ {NATION_GIB:g} GiB, OPTIMAL",
    ),
    (
        "crossing",
        f"crossing family at {CROSSING_FIRMS:,} firms",
        f"proven OPTIMAL ≤ {CROSSING_S:g} s",
    ),
    ("pulp", f"PuLP + CBC ÷ allocate at {CITY:,} and {NATION:,}", f"≥ {PULP_RATIO:g}×"),
)


def render(now: dict[str, Any] | None, before: dict[str, Any] | None) -> str:
    """The targets table (| what | target | before | now | met |) and how each was measured."""
    mine, theirs = rows(now), rows(before)
    mark = {True: "yes", False: "**no**", None: "not measured"}
    lines = ["| what | target | before | now | met |", "|---|---|---|---|---|"]
    for key, what, target in TARGETS:
        lines.append(
            f"| {what} | {target} | {theirs[key][0]} | {mine[key][0]} | {mark[mine[key][1]]} |"
        )
    lines.append("")
    for label, doc in (("Before", before), ("Now", now)):
        if not doc:
            lines.append(f"* **{label}:** not measured.")
            continue
        parts = doc.get("parts") or [doc]
        texts = []
        for part in parts:
            loads = part.get("loads") or []
            load_text = (
                f"load average (1 min) {min(loads):.2f}–{max(loads):.2f} at the starts of the runs"
                if loads
                else "load average not recorded"
            )
            what = f" ({part['what']})" if part.get("what") else ""
            texts.append(f"{part.get('code', '?')}, {part.get('measured', '?')}{what}; {load_text}")
        lines.append(f"* **{label}:** " + "; ".join(texts) + ". " + str(doc.get("note", "")))
    return "\n".join(lines)


def loads_of(doc: dict[str, Any]) -> list[float]:
    """Every load average recorded at the start of a run of the document."""
    out: list[float] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("load_1min", "load_before") and isinstance(item, int | float):
                    out.append(float(item))
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(doc)
    return out


# --------------------------------------------------------------------------------------------
# The growth chart

RULE_NAMES = {
    "priority": "优先序",
    "proportional": "按比例",
    "equal_awards": "等额",
    "equal_losses": "等损",
    "talmud": "塔木德",
}
COLOURS = {
    "priority": "#2f6db5",
    "proportional": "#e08a2c",
    "equal_awards": "#3a9a5b",
    "equal_losses": "#b04a8c",
    "talmud": "#7a6a3a",
}


def growth_series(results: dict[str, Any]) -> dict[str, list[tuple[int, float, float | None]]]:
    """(firms, seconds, peak bytes) per series: allocate under each rule (through the
    command where measured so, else the fresh-process run), HiGHS and PuLP + CBC."""
    series: dict[str, list[tuple[int, float, float | None]]] = {}
    sizes = sorted(int(f) for f in results.get("sizes") or {})
    command = ((results.get("targets") or {}).get("sizes")) or {}
    for firms in sorted(set(sizes) | {int(f) for f in command}):
        entry = (results.get("sizes") or {}).get(str(firms)) or {}
        through = command.get(str(firms)) or {}
        for rule in RULE_NAMES:
            run = through.get(rule)
            if run and not run.get("timeout"):
                point = (firms, run["seconds"], run.get("peak_rss_bytes"))
            elif rule in (entry.get("rules") or {}) and entry["rules"][rule].get("e2e_s"):
                cell = entry["rules"][rule]
                point = (firms, cell["e2e_s"], cell.get("peak_rss_bytes"))
            else:
                continue
            series.setdefault(f"allocate · {RULE_NAMES[rule]}", []).append(point)
        highs = entry.get("highs")
        if highs and highs.get("e2e_s"):
            series.setdefault("HiGHS（优先序）", []).append(
                (firms, highs["e2e_s"], highs.get("peak_rss_bytes"))
            )
        pulp = entry.get("pulp")
        if pulp and (pulp.get("seconds") or pulp.get("wall_s")):
            seconds = pulp.get("wall_s") if pulp.get("timeout") else pulp.get("seconds")
            series.setdefault("PuLP + CBC（优先序）", []).append(
                (firms, float(seconds), pulp.get("peak_rss_bytes"))
            )
    return series


def render_growth(results: dict[str, Any], path: Path) -> None:
    """Seconds and peak memory against firms, log-log, every series, as SVG."""
    import warnings

    import matplotlib as mpl

    mpl.use("Agg")
    from matplotlib.figure import Figure

    from allocator.analysis.charts import SVG_RC

    # The charts' own settings (the CJK font stack, text kept as text), its own id salt.
    rc: dict[Any, Any] = {**SVG_RC, "svg.hashsalt": "allocate-bench-growth"}
    series = growth_series(results)
    with warnings.catch_warnings(), mpl.rc_context(rc):
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        fig = Figure(figsize=(10.0, 4.4))
        time_ax, memory_ax = fig.subplots(1, 2)
        for name, points in series.items():
            rule = next((r for r, zh in RULE_NAMES.items() if name.endswith(zh)), "")
            colour = COLOURS.get(rule) if name.startswith("allocate") else None
            style = "-" if name.startswith("allocate") else "--"
            if "HiGHS" in name:
                colour = "#555555"
            if "PuLP" in name:
                colour = "#c03030"
            xs = [p[0] for p in points]
            time_ax.plot(xs, [p[1] for p in points], style, marker="o", label=name, color=colour)
            memory = [(p[0], p[2] / GIB) for p in points if p[2]]
            if memory:
                memory_ax.plot(*zip(*memory, strict=True), style, marker="o", color=colour)
        sizes = sorted({p[0] for points in series.values() for p in points})
        for ax, label, title in (
            (time_ax, "秒（端到端，新进程）", "耗时随企业数增长"),
            (memory_ax, "峰值内存（GiB）", "峰值内存随企业数增长"),
        ):
            ax.set_xscale("log")
            ax.set_yscale("log")
            if sizes:
                ax.set_xticks(sizes, [f"{f:,}" for f in sizes])
            ax.tick_params(axis="x", which="minor", labelbottom=False)
            ax.set_xlabel("企业数")
            ax.set_ylabel(label)
            ax.set_title(title)
            ax.grid(True, which="both", color="#e5e5e5", linewidth=0.6)
        time_ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="svg", metadata={"Date": None})


def main(argv: Sequence[str]) -> None:
    mode, *rest = argv
    if mode != "child-crossing":
        raise SystemExit(f"unknown mode {mode!r}")
    record = child_crossing(int(rest[0]), rest[1], float(rest[2]), int(rest[3]))
    print(json.dumps(record, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
