"""Performance benchmark: synthetic cities of 1,500, 10,000 and 100,000 firms, every rule.

Usage::

    .venv/bin/python benchmarks/bench.py                  # everything (what `make bench` runs)
    .venv/bin/python benchmarks/bench.py --render-only    # tables and plot from the results
    .venv/bin/python benchmarks/bench.py --sizes 1500 --repeats 1 --no-items --no-profile \\
        --results /tmp/bench.json --no-doc                # a quick look, docs untouched

For every size and fairness rule, ``allocate run`` (:func:`allocator.pipeline.run.run_scenario`)
runs in a fresh process: the seconds of each phase (load, claims, build, solve, write) come from
its ``on_phase`` callback, the end-to-end seconds are the process's wall-clock from start to
exit (interpreter and imports included), the peak memory is that process's peak RSS, and status,
gap and solver details come from its ``result.json``. Beside it, once per size, in processes of
their own: the LP relaxation of the same priority model solved by HiGHS
(:func:`allocator.solve.highs.lp_relaxation`), and the same model written plainly with PuLP and
solved by CBC (:func:`baselines.pulp_priority`). Then the growth with the number of award items
(subsets of the 2026 model's award clauses, and the 2025 model, at one size), and a cProfile of
the largest runs, one profiler per phase. Last, the ``allocate`` command itself as a user runs
it, in fresh processes: ``--help`` and the shipped sample end to end (``bench_command.py``).

The scenarios have the shape of ``scenarios/liuzhou-2026-q1.yaml``: the 2026 draft model, a
fund of 5,000万元 for 1,500 firms scaled with the number of firms (5,000 × N / 1,500) so that
the fund binds alike at every size, two workers, seed 0. Populations come from
:func:`allocator.inputs.generate.generate_population` and are cached in ``benchmarks/cache/``
(git-ignored), keyed by size, seed and the generator's source.

Writes ``benchmarks/results/latest.json`` and regenerates, from that file alone, the tables of
``docs/performance.md`` between its ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
markers and the plot ``docs/img/bench-scaling.svg``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import bench_command
import bench_targets

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "cache"
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOC = ROOT / "docs" / "performance.md"
PLOT = ROOT / "docs" / "img" / "bench-scaling.svg"
GROWTH_PLOT = ROOT / "docs" / "img" / "bench-growth.svg"
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
MODEL_2025 = ROOT / "models" / "liuzhou-2025-q1.yaml"
#: The generator's modules: a change to either regenerates the cached populations.
GENERATORS = tuple(
    ROOT / "src" / "allocator" / "inputs" / name
    for name in ("generate.py", "generate_applications.py")
)

SIZES = (1_500, 10_000, 100_000, 1_000_000)
#: What ``--only`` may name: the sections ``make bench`` runs, in this order.
ONLY = ("runs", "compare", "items", "profile", "command", "targets")
RULES = ("priority", "proportional", "equal_awards", "equal_losses", "talmud")
PHASES = ("load", "claims", "build", "solve", "write")
BASE_FIRMS = 1_500
BASE_BUDGET_WAN = 5_000  # scenarios/liuzhou-2026-q1.yaml
SEED = 1
ITEM_CLAUSES = (1, 2, 4, 8, 16)  # award clauses kept in the subsets of the 2026 model
ITEM_RULES = ("priority", "proportional")
PROFILE_RULES = ("priority", "proportional")
PROFILE_TOP = 6

# Targets: (firms, end-to-end seconds); the other targets are fixed by their wording.
E2E_TARGET_S = {1_500: 3.0, 10_000: 10.0, 100_000: 60.0}
PEAK_TARGET_GIB = 4.0
RULE_RATIO_TARGET = 2.0
PULP_RATIO_TARGET = 3.0
LOAD_TARGET = (100_000, 10.0)  # firms, seconds of the load phase

GIB = 1024**3
VERSIONS_SHOWN = (
    "allocate",
    "ortools",
    "HiGHS",
    "highspy",
    "PuLP",
    "CBC",
    "numpy",
    "pandas",
    "openpyxl",
)
MARKER = "bench"


# --------------------------------------------------------------------------------------------
# Inputs: populations, models, scenarios


def budget_for(firms: int) -> int:
    """The fund for ``firms`` firms: 5,000万元 per 1,500 firms, so that it binds alike."""
    return round(BASE_BUDGET_WAN * firms / BASE_FIRMS)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:10]


def population(firms: int, seed: int = SEED) -> Path:
    """The cached CSV of a synthetic population, generated when missing or stale."""
    from allocator import __version__
    from allocator.inputs.export import write_population
    from allocator.inputs.generate import generate_population

    key = _digest(*(p.read_bytes() for p in GENERATORS), __version__.encode())
    path = CACHE / "data" / f"firms-{firms}-seed{seed}-{key}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_population(generate_population(firms, seed), path, "csv")
        _say(f"generated {firms:,} firms in {time.perf_counter() - started:.1f} s: {path.name}")
    return path


def award_items(model: dict[str, Any]) -> int:
    """Award items of a policy model as loaded from YAML."""
    return sum(len(c.get("items") or []) for c in model["clauses"] if c.get("kind") == "award")


def subset_model(keep: int) -> tuple[Path, int]:
    """The 2026 model with its first ``keep`` award clauses only (every other clause kept).

    Returns the model file (cached) and its number of award items.
    """
    import yaml

    from allocator.policy.load import load_model

    source = MODEL_2026.read_bytes()
    model = yaml.safe_load(source)
    seen = 0
    clauses = []
    for clause in model["clauses"]:
        if clause.get("kind") == "award":
            seen += 1
            if seen > keep:
                continue
        clauses.append(clause)
    model["clauses"] = clauses
    path = CACHE / "models" / f"2026-first-{keep}-{_digest(source)}.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            yaml.safe_dump(model, allow_unicode=True, sort_keys=False, width=1000),
            encoding="utf-8",
        )
        load_model(path)  # a subset must still be a valid model
    return path, award_items(model)


def write_scenario(
    name: str,
    model: Path,
    data: Path,
    budget: int,
    rule: str,
    settings: argparse.Namespace,
) -> Path:
    """A scenario shaped like scenarios/liuzhou-2026-q1.yaml, in the cache."""
    path = CACHE / "scenarios" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    solver = [
        f"  time_limit_s: {settings.time_limit:g}",
        f"  workers: {settings.workers}",
        "  seed: 0",
    ]
    if settings.engine:
        solver.append(f"  solver: {settings.engine}")
    lines = [
        f"name: {name}",
        f"model: {os.path.relpath(model, path.parent)}",
        f"data: {os.path.relpath(data, path.parent)}",
        f"budget_wan: {budget}",
        # The 2025 model states a fund of 5,000万元; a larger city needs a larger fund.
        "allow_budget_above_document_cap: true",
        "fairness:",
        f"  rule: {rule}",
        "solver:",
        *solver,
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Child processes: one run, the LP relaxation, PuLP/CBC, a profile


def _peak_rss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    return int(resource.getrusage(who).ru_maxrss) * 1024  # Linux reports KiB


def _result_fields(out: Path) -> dict[str, Any]:
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    solver = doc.get("solver") or {}
    return {
        "status": doc["status"],
        "gap": doc.get("gap"),
        "objective": doc.get("objective"),
        "best_bound": doc.get("best_bound"),
        "solve_phases": (doc.get("timings") or {}).get("solve_phases", []),
        "method": {k: v for k, v in sorted(solver.items()) if isinstance(v, str | bool | int)},
        "counts": doc.get("counts") or {},
        "message": doc.get("message", ""),
    }


def child_run(scenario: Path, out: Path) -> dict[str, Any]:
    """Run one scenario; phases from the ``on_phase`` callback, the rest from result.json."""
    started = time.perf_counter()
    from allocator.core.errors import AllocatorError
    from allocator.pipeline.run import run_scenario

    imported = time.perf_counter() - started
    phases: dict[str, float] = {}
    peaks: dict[str, int] = {"import": _peak_rss_bytes()}

    def on_phase(name: str, seconds: float) -> None:
        phases[name] = seconds
        peaks[name] = _peak_rss_bytes()  # the peak so far: which phase raised it

    error = ""
    try:
        run_scenario(scenario, out_dir=out, command="benchmarks/bench.py", on_phase=on_phase)
    except AllocatorError as exc:  # infeasible or no solution: result.json says which
        error = str(exc).splitlines()[0]
    record = {"import_s": imported, "phases": phases, "error": error, "peak_after": peaks}
    record.update(_result_fields(out))
    record["peak_rss_bytes"] = _peak_rss_bytes()
    return record


def _problem(scenario: Path) -> Any:
    """The allocation problem of a scenario, built as :func:`run_scenario` builds it."""
    from allocator.inputs.data import load_enterprises
    from allocator.inputs.scenario import load_scenario
    from allocator.model.build import build
    from allocator.policy.bind import check_against_model
    from allocator.policy.claims import evaluate
    from allocator.policy.load import load_model

    loaded = load_scenario(scenario)
    model = load_model(loaded.model_path)
    budget = check_against_model(loaded, model)
    data = load_enterprises(*loaded.data_paths)
    claims = evaluate(model, data, loaded.spec.overrides)
    return build(claims, loaded.spec, model, budget=budget, enterprises=data.frame).problem


def child_lp(scenario: Path, time_limit: float, workers: int) -> dict[str, Any]:
    """HiGHS's LP relaxation of the scenario's priority model: its bound and seconds."""
    from allocator.model.problem import SolverSettings
    from allocator.solve.highs import lp_relaxation

    problem = _problem(scenario)
    settings = SolverSettings(time_limit_s=time_limit, workers=workers, seed=0)
    bound, seconds = lp_relaxation(problem, settings)
    return {
        "bound": bound if math.isfinite(bound) else None,
        "answered": math.isfinite(bound),
        "seconds": seconds,
        "variables": problem.size,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def child_pulp(scenario: Path, time_limit: float) -> dict[str, Any]:
    """The priority model written plainly with PuLP and solved by CBC."""
    from baselines import pulp_priority

    problem = _problem(scenario)
    timings: dict[str, float] = {}
    objective, seconds, status = pulp_priority(problem, time_limit, timings=timings, tie_break=True)
    return {
        "objective": objective if math.isfinite(objective) else None,
        "status": str(status),
        "seconds": seconds,
        "pulp_model_s": timings.get("build"),
        "cbc_s": timings.get("solve"),
        "priority_s": timings.get("priority"),
        "tie_break_s": timings.get("tie_break"),
        "variables": problem.size,
        # CBC runs as a child process of PuLP: the larger of the two peaks.
        "peak_rss_bytes": max(_peak_rss_bytes(), _peak_rss_bytes(resource.RUSAGE_CHILDREN)),
    }


def child_profile(scenario: Path, out: Path, prof: Path) -> dict[str, Any]:
    """One run under cProfile, one profiler per phase; the top functions of each phase."""
    import cProfile
    import pstats

    from allocator.pipeline.run import run_scenario

    profiles: dict[str, cProfile.Profile] = {}
    current = [cProfile.Profile()]
    phases: dict[str, float] = {}

    def on_phase(name: str, seconds: float) -> None:
        current[0].disable()
        profiles[name] = current[0]
        phases[name] = seconds
        current[0] = cProfile.Profile()
        current[0].enable()

    current[0].enable()
    try:
        run_scenario(scenario, out_dir=out, command="benchmarks/bench.py", on_phase=on_phase)
    finally:
        current[0].disable()
    prof.parent.mkdir(parents=True, exist_ok=True)
    merged: pstats.Stats | None = None
    top: dict[str, list[dict[str, Any]]] = {}
    for name, profile in profiles.items():
        stats = pstats.Stats(profile)
        merged = stats if merged is None else merged.add(profile)
        top[name] = _top_functions(stats, phases[name])
    if merged is not None:
        merged.dump_stats(str(prof))
    shown = prof.relative_to(ROOT) if prof.is_relative_to(ROOT) else prof
    return {"phases": phases, "top": top, "prof": str(shown)}


def _function_name(key: tuple[str, int, str]) -> str:
    """``package/module.py:function`` (or the built-in's name) for a pstats key."""
    filename, line, func = key
    if filename == "~":
        func = re.sub(r" at 0x[0-9a-f]+", "", func)  # no memory addresses in the doc
        return func.strip("<>").replace("built-in method ", "")
    path = filename.replace("\\", "/")
    for anchor in ("/site-packages/", "/src/", "/lib/python3."):
        if anchor in path:
            path = path.split(anchor, 1)[1]
            if anchor == "/lib/python3.":
                path = "stdlib/" + path.split("/", 1)[1]
            break
    if func.startswith("<"):  # comprehensions and lambdas: the line tells them apart
        return f"{path}:{line}:{func}"
    return f"{path}:{func}"


_SKIP = re.compile(r"bench\.py:|run\.py:(run_scenario|done|wrapper)$|^exec$|cProfile|pstats")


def _top_functions(stats: Any, phase_s: float) -> list[dict[str, Any]]:
    """The functions of one phase's profile with the most cumulative time.

    Rows are allocate's own functions (and library calls made from nowhere in allocate); what
    a listed function calls outside allocate is folded into its row, and ``largest call``
    names its direct call with the most time. An allocate function that holds nine tenths of
    its nearest listed caller's time takes that caller's row (listed ``via`` the caller), so
    that a chain of wrappers takes one row.
    """
    callers_of = {key: set(value[4]) for key, value in stats.stats.items()}
    rows = []
    for key, (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        name = _function_name(key)
        if _SKIP.search(name) or "{method 'disable'" in name or name.endswith(":<module>"):
            continue
        rows.append((cumulative, own, calls, name, key))
    rows.sort(key=lambda r: (-r[0], r[3]))
    kept: list[dict[str, Any]] = []
    keys: list[Any] = []
    assigned: dict[Any, int] = {}

    def nearest(key: Any) -> int | None:
        seen, frontier = {key}, [key]
        while frontier:
            above = []
            for k in frontier:
                for caller in callers_of.get(k, ()):
                    if caller in assigned:
                        return assigned[caller]
                    if caller not in seen:
                        seen.add(caller)
                        above.append(caller)
            frontier = above
        return None

    for cumulative, own, calls, name, key in rows:
        host = nearest(key)
        ours = name.startswith("allocator/")
        if host is not None and (not ours or cumulative >= 0.9 * kept[host]["cumulative_s"]):
            assigned[key] = host
            if ours:
                kept[host].update(function=name, own_s=own, calls=calls)
                keys[host] = key
            continue
        if len(kept) < PROFILE_TOP:
            assigned[key] = len(kept)
            keys.append(key)
            kept.append(
                {"function": name, "via": name, "cumulative_s": cumulative, "own_s": own}
                | {"calls": calls}
            )
        elif host is not None:
            assigned[key] = host
    for row, key in zip(kept, keys, strict=True):
        row["share"] = row["cumulative_s"] / phase_s if phase_s else None
        calls_made = [
            (edge[3], _function_name(callee))
            for callee, value in stats.stats.items()
            for caller, edge in value[4].items()
            if caller == key
        ]
        largest = max(calls_made, default=(0.0, ""))
        row["largest_call"], row["largest_call_s"] = largest[1], largest[0]
    return kept


def _child_main(argv: Sequence[str]) -> None:
    mode, *rest = argv
    if mode == "run":
        record = child_run(Path(rest[0]), Path(rest[1]))
    elif mode == "lp":
        record = child_lp(Path(rest[0]), float(rest[1]), int(rest[2]))
    elif mode == "pulp":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        record = child_pulp(Path(rest[0]), float(rest[1]))
    elif mode == "profile":
        record = child_profile(Path(rest[0]), Path(rest[1]), Path(rest[2]))
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    print(json.dumps(record, default=str))


# --------------------------------------------------------------------------------------------
# The parent: spawning, repeating, summarising


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def spawn(args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run this script in ``child`` mode in a fresh process (and process group).

    Returns the child's JSON record with ``wall_s`` (start to exit) added; on a timeout the
    whole group (CBC included) is killed and the record says ``timeout``.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "child", *args]
    started = time.perf_counter()
    load = os.getloadavg()[0]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"timeout": True, "wall_s": time.perf_counter() - started, "load_1min": load}
    wall = time.perf_counter() - started
    lines = stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        return {"failed": f"exit {proc.returncode}: {tail}", "wall_s": wall, "load_1min": load}
    record: dict[str, Any] = json.loads(lines[-1])
    record["wall_s"] = wall
    record["load_1min"] = load
    return record


def _median(values: Iterable[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def summarise_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats; status and gap of every repeat (all must agree to count)."""
    ok = [r for r in runs if "phases" in r]
    phases = {p: _median(r["phases"].get(p) for r in ok) for p in PHASES}
    statuses = sorted({r.get("status", "failed") for r in runs})
    gaps = [r.get("gap") for r in ok]
    first = ok[0] if ok else {}
    return {
        "repeats": len(runs),
        "phases": phases,
        "phases_total_s": _median(sum(r["phases"].values()) for r in ok),
        "e2e_s": _median(r["wall_s"] for r in ok),
        "e2e_all_s": [r["wall_s"] for r in ok],
        "import_s": _median(r.get("import_s") for r in ok),
        "peak_rss_bytes": max((r["peak_rss_bytes"] for r in ok), default=None),
        "peak_phase": _peak_phase(max(ok, key=lambda r: r["peak_rss_bytes"])) if ok else None,
        "status": statuses[0] if len(statuses) == 1 else "/".join(statuses),
        "gap": max((g for g in gaps if g is not None), default=None) if ok else None,
        "objective": first.get("objective"),
        "best_bound": first.get("best_bound"),
        "solve_phases": first.get("solve_phases", []),
        "method": first.get("method", {}),
        "counts": first.get("counts", {}),
        "errors": sorted({r.get("error") or r.get("failed") or "" for r in runs} - {""}),
    }


def _peak_phase(run: dict[str, Any]) -> str | None:
    """The phase during which the run's peak memory was reached (the first to reach it)."""
    peaks: dict[str, int] = run.get("peak_after") or {}
    top = max(peaks.values(), default=0)
    return next((phase for phase, peak in peaks.items() if peak == top), None)


def run_cell(
    name: str, scenario: Path, repeats: int, timeout: float, keep_outputs: bool = False
) -> dict[str, Any]:
    """``repeats`` fresh-process runs of one scenario, summarised."""
    runs = []
    for k in range(repeats):
        out = CACHE / "out" / name
        record = spawn(["run", str(scenario), str(out)], timeout)
        runs.append(record)
        if not keep_outputs:
            shutil.rmtree(out, ignore_errors=True)
        status = record.get("status", "timeout" if record.get("timeout") else "failed")
        _say(f"  {name} [{k + 1}/{repeats}]: {record['wall_s']:.2f} s, {status}")
    summary = summarise_runs(runs)
    summary["runs"] = runs
    return summary


def machine() -> dict[str, Any]:
    """CPU, cores, memory, Python and library versions, the commit measured."""
    import importlib.metadata

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for dist in ("allocate", "ortools", "highspy", "PuLP", "numpy", "pandas", "openpyxl"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        from allocator.solve.highs import engine_name

        versions["HiGHS"] = engine_name().replace("HiGHS ", "")
    except Exception:  # the version is information, not a requirement
        pass
    versions["CBC"] = _cbc_version()
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": ram,
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": commit + ("+changes" if dirty else ""),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.strip()


def _cbc_version() -> str:
    try:
        import pulp

        path = pulp.PULP_CBC_CMD().path
        done = subprocess.run(
            [path, "-quit"], capture_output=True, text=True, timeout=30, check=False
        )
    except Exception:  # no PuLP or no CBC: the comparison says so where it runs
        return "unknown"
    found = re.search(r"Version:\s*(\S+)", done.stdout)
    return found.group(1) if found else "unknown"


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement the options ask for, as the results document."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "generated": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "invoked": _command(args.argv),
        "machine": machine(),
        "settings": {
            "sizes": args.sizes,
            "rules": args.rules,
            "repeats": args.repeats,
            "large_repeats": args.large_repeats,
            "large_from": args.large_from,
            "time_limit_s": args.time_limit,
            "workers": args.workers,
            "engine": args.engine or "scenario default (cpsat)",
            "lp_time_limit_s": args.lp_time_limit,
            "pulp_time_limit_s": args.pulp_time_limit,
            "seed": SEED,
            "budget": "5000 × firms / 1500 万元",
        },
        "load_before": os.getloadavg()[0],
        "sizes": {},
    }
    for firms in args.sizes if {"runs", "compare"} & args.only else ():
        data = population(firms)
        repeats = args.large_repeats if firms >= args.large_from else args.repeats
        entry: dict[str, Any] = {"budget_wan": budget_for(firms), "rules": {}}
        for rule in args.rules if "runs" in args.only else ():
            name = f"bench-{firms}-{rule}"
            scenario = write_scenario(name, MODEL_2026, data, budget_for(firms), rule, args)
            entry["rules"][rule] = run_cell(name, scenario, repeats, _timeout(args.time_limit))
        if "compare" in args.only:
            scenario = write_scenario(
                f"bench-{firms}-priority", MODEL_2026, data, budget_for(firms), "priority", args
            )
            entry["lp"] = spawn(
                ["lp", str(scenario), f"{args.lp_time_limit:g}", str(args.workers)],
                _timeout(args.lp_time_limit),
            )
            _say(f"  {firms:,} HiGHS LP: {_brief(entry['lp'], 'bound')}")
            entry["pulp"] = spawn(
                ["pulp", str(scenario), f"{args.pulp_time_limit:g}"],
                _timeout(args.pulp_time_limit),
            )
            _say(f"  {firms:,} PuLP/CBC: {_brief(entry['pulp'], 'status')}")
            highs = argparse.Namespace(**{**vars(args), "engine": "highs"})
            scenario = write_scenario(
                f"bench-{firms}-priority-highs", MODEL_2026, data, budget_for(firms), "priority",
                highs,
            )  # fmt: skip
            entry["highs"] = run_cell(
                f"bench-{firms}-priority-highs", scenario, 1, _timeout(args.time_limit)
            )
        results["sizes"][str(firms)] = entry
    if "items" in args.only:
        results["items"] = bench_items(args)
    if "profile" in args.only:
        results["profile"] = bench_profile(args)
    if "command" in args.only and args.command_repeats:
        _say(f"the allocate command, {args.command_repeats} fresh processes each")
        results["command"] = bench_command.measure(args.command_repeats)
    if "targets" in args.only:
        results["targets"] = bench_national(args)
    results["load_after"] = os.getloadavg()[0]
    results["bench_s"] = time.perf_counter() - started
    return results


def bench_national(args: argparse.Namespace) -> dict[str, Any]:
    """The national-scale targets (benchmarks/bench_targets.py), on ``--src`` if given."""
    started = time.perf_counter()
    src = args.src
    out: dict[str, Any] = {
        "measured": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "code": f"src of {src}" if src else f"commit {_git('rev-parse', '--short', 'HEAD')}",
        "sizes": {},
    }
    _say(f"targets: the allocate command, {args.command_repeats} fresh processes each")
    out["command"] = bench_command.measure(args.command_repeats, src)
    for firms in (f for f in args.sizes if f in (bench_targets.CITY, bench_targets.NATION)):
        data = population(firms)
        runs = {}
        for rule in args.rules:
            name = f"bench-{firms}-{rule}"
            scenario = write_scenario(name, MODEL_2026, data, budget_for(firms), rule, args)
            runs[rule] = bench_targets.through_command(
                scenario, src, _timeout(args.time_limit), _say
            )
        out["sizes"][str(firms)] = runs
    out["crossing"] = {}
    for engine in ("cpsat", "highs"):
        record = bench_targets.crossing(
            bench_targets.CROSSING_FIRMS,
            engine,
            args.crossing_time_limit,
            args.workers,
            src,
            _timeout(args.crossing_time_limit) + 120,
        )
        out["crossing"][engine] = record
        seconds = record.get("solve_s", record["seconds"])
        status = record.get("status", "killed")
        _say(f"  crossing, {engine}: {status} {seconds:.1f} s")
    out["loads"] = bench_targets.loads_of(out)
    out["bench_s"] = time.perf_counter() - started
    sizes = ", ".join(f"{int(f):,} firms" for f in out["sizes"])
    what = "the command" + (f", {sizes}" if sizes else "") + ", the crossing family"
    out["parts"] = [
        {k: out[k] for k in ("code", "measured", "loads")} | {"what": what},
    ]
    return out


def _national(results: dict[str, Any]) -> dict[str, Any] | None:
    """The targets document with PuLP + CBC ÷ allocate taken from the comparison."""
    doc = results.get("targets")
    if doc is None:
        return None
    ratios = {}
    for row in _comparison_rows(results):
        if row["pulp_ratio"] is not None:
            ratios[str(row["firms"])] = {
                "ratio": row["pulp_ratio"],
                "pulp_s": row["pulp_s"],
                "solve_s": row["solve_s"],
                "pulp_status": row["pulp_status"],
            }
    return {**doc, "pulp_ratio": ratios}


def _national_before() -> dict[str, Any] | None:
    if not bench_targets.BEFORE.exists():
        return None
    before: dict[str, Any] = json.loads(bench_targets.BEFORE.read_text(encoding="utf-8"))
    return before


def render_national(results: dict[str, Any]) -> str:
    return bench_targets.render(_national(results), _national_before())


def _command(argv: Sequence[str]) -> str:
    """How the benchmark was started: ``make bench`` when make ran it without options."""
    if os.environ.get("MAKELEVEL") and not argv:
        return "make bench"
    return " ".join([".venv/bin/python benchmarks/bench.py", *argv])


def _timeout(limit: float) -> float:
    """A backstop for a child: its own limit is the solver's, plus loading and writing."""
    return 2 * limit + 300


def _brief(record: dict[str, Any], key: str) -> str:
    if record.get("timeout"):
        return f"killed after {record['wall_s']:.0f} s"
    if record.get("failed"):
        return f"failed ({record['failed']})"
    return f"{record.get(key)}, {record.get('seconds', float('nan')):.2f} s"


def bench_items(args: argparse.Namespace) -> dict[str, Any]:
    """Cost against the number of award items at one size: subsets of the 2026 model's award
    clauses, the whole 2026 model and the 2025 model."""
    import yaml

    firms = args.items_firms
    data = population(firms)
    models: list[tuple[str, Path, int]] = []
    for keep in ITEM_CLAUSES:
        path, items = subset_model(keep)
        models.append((f"2026, first {keep} award clause{'s' if keep > 1 else ''}", path, items))
    for label, path in (("2026, whole model", MODEL_2026), ("2025, whole model", MODEL_2025)):
        models.append((label, path, award_items(yaml.safe_load(path.read_bytes()))))
    rows = []
    for label, path, items in models:
        row: dict[str, Any] = {"model": label, "award_items": items, "rules": {}}
        for rule in ITEM_RULES:
            name = f"items-{firms}-{path.stem}-{rule}"
            scenario = write_scenario(name, path, data, budget_for(firms), rule, args)
            row["rules"][rule] = run_cell(
                name, scenario, args.items_repeats, _timeout(args.time_limit)
            )
        rows.append(row)
    return {"firms": firms, "repeats": args.items_repeats, "rows": rows}


def bench_profile(args: argparse.Namespace) -> dict[str, Any]:
    """A cProfile of the largest size's runs, summarised per phase."""
    firms = max(args.sizes)
    data = population(firms)
    out: dict[str, Any] = {"firms": firms, "rules": {}}
    for rule in PROFILE_RULES:
        name = f"profile-{firms}-{rule}"
        scenario = write_scenario(name, MODEL_2026, data, budget_for(firms), rule, args)
        prof = CACHE / "profiles" / f"{firms}-{rule}.prof"
        record = spawn(
            ["profile", str(scenario), str(CACHE / "out" / name), str(prof)],
            _timeout(args.time_limit) * 2,
        )
        shutil.rmtree(CACHE / "out" / name, ignore_errors=True)
        out["rules"][rule] = record
        _say(f"  profile {firms:,} {rule}: {record['wall_s']:.1f} s")
    return out


# --------------------------------------------------------------------------------------------
# Rendering: the doc's tables and the plot, from the results alone


def _s(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _gib(value: float | None) -> str:
    return "—" if value is None else f"{value / GIB:.2f}"


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _sizes(results: dict[str, Any]) -> list[int]:
    return sorted(int(firms) for firms in results["sizes"])


def _cells(results: dict[str, Any]) -> list[tuple[int, str, dict[str, Any]]]:
    """(firms, rule, summary) in order of size, then of :data:`RULES`."""
    out = []
    for firms in _sizes(results):
        rules = results["sizes"][str(firms)]["rules"]
        out += [(firms, rule, rules[rule]) for rule in RULES if rule in rules]
    return out


def _priority(results: dict[str, Any], firms: int) -> dict[str, Any] | None:
    entry = results["sizes"].get(str(firms), {})
    cell: dict[str, Any] | None = entry.get("rules", {}).get("priority")
    return cell


def _invoked(results: dict[str, Any]) -> str:
    """How the benchmark was started (older results kept it under ``command``)."""
    invoked = results.get("invoked", results.get("command"))
    return invoked if isinstance(invoked, str) else "benchmarks/bench.py"


def render_machine(results: dict[str, Any]) -> str:
    m = results["machine"]
    v = m["versions"]
    s = results["settings"]
    libs = ", ".join(f"{k} {v[k]}" for k in VERSIONS_SHOWN if k in v)
    minutes = results.get("bench_s", 0.0) / 60
    parts = results.get("parts") or []
    made_of = [
        f"  * {p['generated']}: `{p['invoked']}`, {float(p['bench_s'] or 0) / 60:.1f} minutes, "
        + (
            f"load average (1 min) {p['load_before']:.2f} before and {p['load_after']:.2f} after."
            if p.get("load_before") is not None and p.get("load_after") is not None
            else "load average at the start of each run in the results."
        )
        for p in parts
    ]
    if made_of:
        made_of.insert(0, f"* **Made of {len(parts)} runs** ({minutes:.1f} minutes in all):")
    return "\n".join(
        [
            f"* **Machine:** {m['cpu']}, {m['cores']} cores, "
            f"{_gib(m['ram_bytes'])} GiB RAM, {m['os']}.",
            f"* **Software:** Python {v['python']}; {libs}.",
            f"* **Measured:** {results['generated']} at commit {m['commit'] or 'unknown'}, "
            f"by `{_invoked(results)}`, which took {minutes:.1f} minutes; load average "
            f"(1 min) {results['load_before']:.2f} before and {results['load_after']:.2f} "
            "after.",
            f"* **Runs:** {s['repeats']} per size and rule below {s['large_from']:,} firms, "
            f"{s['large_repeats']} from {s['large_from']:,} (medians); solver time limit "
            f"{s['time_limit_s']:g} s, {s['workers']} workers, engine {s['engine']}; fund "
            f"{s['budget']}; population seed {s['seed']}.",
            *made_of,
        ]
    )


def render_table(results: dict[str, Any]) -> str:
    rows = []
    for firms, rule, cell in _cells(results):
        p = cell["phases"]
        prio = _priority(results, firms)
        ratio = None
        if prio and prio.get("e2e_s") and cell.get("e2e_s"):
            ratio = cell["e2e_s"] / prio["e2e_s"]
        rows.append(
            [
                f"{firms:,}",
                rule,
                _n(cell["counts"].get("variables")),
                *(_s(p.get(phase)) for phase in PHASES),
                _s(cell["phases_total_s"]),
                f"**{_s(cell['e2e_s'])}**",
                _gib(cell["peak_rss_bytes"])
                + (f" ({cell['peak_phase']})" if cell.get("peak_phase") else ""),
                cell["status"],
                _s(cell["gap"], 4) if cell["gap"] is not None else "—",
                _ratio(ratio),
            ]
        )
    header = [
        "firms",
        "rule",
        "variables",
        *(f"{phase} s" for phase in PHASES),
        "phases s",
        "end to end s",
        "peak GiB (phase)",
        "status",
        "gap",
        "÷ priority",
    ]
    return _table(header, rows, "ll" + "r" * 9 + "lrr")


def _comparison_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for firms in _sizes(results):
        entry = results["sizes"][str(firms)]
        prio = _priority(results, firms)
        if prio is None or "lp" not in entry:
            continue
        lp, pulp = entry["lp"], entry["pulp"]
        solve = prio["phases"].get("solve")
        objective = prio.get("objective")
        row: dict[str, Any] = {"firms": firms, "solve_s": solve, "objective": objective}
        row["e2e_s"] = prio.get("e2e_s")
        row["lp_bound"] = lp.get("bound")
        row["lp_s"] = None if lp.get("timeout") else lp.get("seconds")
        row["lp_answered"] = bool(lp.get("answered"))
        row["lp_note"] = _lp_note(lp, results["settings"]["lp_time_limit_s"])
        if row["lp_bound"] and objective is not None:
            row["lp_gap"] = (row["lp_bound"] - objective) / max(1.0, abs(row["lp_bound"]))
        else:
            row["lp_gap"] = None
        row["pulp_s"] = pulp.get("wall_s") if pulp.get("timeout") else pulp.get("seconds")
        row["pulp_status"] = (
            "killed" if pulp.get("timeout") else pulp.get("status") or pulp.get("failed")
        )
        row["pulp_objective"] = pulp.get("objective")
        row["pulp_model_s"] = pulp.get("pulp_model_s")
        row["pulp_ratio"] = row["pulp_s"] / solve if row["pulp_s"] and solve else None
        highs = entry.get("highs") or {}
        row["highs_solve_s"] = (highs.get("phases") or {}).get("solve")
        row["highs_status"] = highs.get("status")
        out.append(row)
    return out


def _lp_note(lp: dict[str, Any], limit: float) -> str:
    if lp.get("timeout"):
        return f"no answer: killed after {lp['wall_s']:.0f} s"
    if lp.get("failed"):
        return "failed"
    if not lp.get("answered"):
        return f"no answer in {limit:g} s"
    return ""


def render_compare(results: dict[str, Any]) -> str:
    rows = []
    for r in _comparison_rows(results):
        lp_bound = _n(r["lp_bound"]) if r["lp_answered"] else r["lp_note"]
        rows.append(
            [
                f"{r['firms']:,}",
                _s(r["solve_s"]),
                _n(r["objective"]),
                lp_bound,
                _s(r["lp_gap"] * 100, 4) + " %" if r["lp_gap"] is not None else "—",
                _s(r["lp_s"]),
                _s(r["pulp_s"]),
                _s(r["pulp_model_s"]),
                str(r["pulp_status"]),
                "same" if r["pulp_objective"] == r["objective"] else _n(r["pulp_objective"]),
                f"**{_ratio(r['pulp_ratio'])}**",
                _s(r["highs_solve_s"]),
                str(r["highs_status"] or "not measured"),
            ]
        )
    header = [
        "firms",
        "allocate priority solve s",
        "objective Σ weight·x",
        "HiGHS LP bound",
        "bound − objective",
        "HiGHS LP s",
        "PuLP + CBC s",
        "of which PuLP model s",
        "CBC status",
        "CBC objective",
        "PuLP+CBC ÷ allocate",
        "HiGHS MIP (`--solver highs`) solve s",
        "HiGHS status",
    ]
    return _table(header, rows, "l" + "r" * 7 + "lrrrl")


def _targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for every target of the issue; None when not measured."""
    out: list[tuple[str, str, bool | None]] = []
    cells = _cells(results)
    for firms, limit in E2E_TARGET_S.items():
        mine = [(rule, c) for f, rule, c in cells if f == firms and c.get("e2e_s") is not None]
        if not mine:
            out.append((f"{firms:,} firms end to end ≤ {limit:g} s", "not measured", None))
            continue
        worst_rule, worst = max(mine, key=lambda rc: rc[1]["e2e_s"])
        slow = [f"{rule} {c['e2e_s']:.1f} s" for rule, c in mine if c["e2e_s"] > limit]
        text = f"slowest {worst_rule} {worst['e2e_s']:.2f} s"
        if slow:
            text += "; over: " + ", ".join(slow)
        out.append((f"{firms:,} firms end to end ≤ {limit:g} s", text, not slow))
    firms, limit = LOAD_TARGET
    loads = [c["phases"]["load"] for f, _r, c in cells if f == firms and c["phases"].get("load")]
    out.append(
        (
            f"{firms:,} firms loaded ≤ {limit:g} s",
            f"slowest {max(loads):.2f} s" if loads else "not measured",
            max(loads) <= limit if loads else None,
        )
    )
    big = max(E2E_TARGET_S)
    largest = [c for f, _r, c in cells if f == big and c.get("peak_rss_bytes")]
    if largest:
        peak = max(c["peak_rss_bytes"] for c in largest)
        out.append(
            (
                f"{big:,} firms peak memory ≤ {PEAK_TARGET_GIB:g} GiB",
                f"largest {peak / GIB:.2f} GiB",
                peak <= PEAK_TARGET_GIB * GIB,
            )
        )
    unproven = [
        f"{f:,} {rule}: {c['status']}"
        + (f" gap {c['gap']:.4f}" if c["gap"] is not None and c["gap"] > 0 else "")
        for f, rule, c in cells
        if c["status"] != "OPTIMAL" or (c["gap"] or 0) > 0
    ]
    out.append(
        (
            "every run proven optimal",
            "all OPTIMAL, gap 0" if not unproven else "not proven: " + "; ".join(unproven),
            not unproven,
        )
    )
    over = []
    worst_ratio = 0.0
    for firms, rule, c in cells:
        prio = _priority(results, firms)
        if rule == "priority" or not prio or not prio.get("e2e_s") or not c.get("e2e_s"):
            continue
        ratio = c["e2e_s"] / prio["e2e_s"]
        worst_ratio = max(worst_ratio, ratio)
        if ratio > RULE_RATIO_TARGET:
            over.append(f"{firms:,} {rule} {ratio:.2f}×")
    out.append(
        (
            f"each rule within {RULE_RATIO_TARGET:g}× of priority (end to end, same size)",
            f"largest {worst_ratio:.2f}×" + ("; over: " + ", ".join(over) if over else ""),
            not over,
        )
    )
    compare = [r for r in _comparison_rows(results) if r["firms"] == big]
    if compare and compare[0]["pulp_ratio"] is not None:
        r = compare[0]
        text = (
            f"PuLP+CBC {r['pulp_s']:.1f} s ({r['pulp_status']}) ÷ allocate priority solve "
            f"{r['solve_s']:.1f} s = {r['pulp_ratio']:.2f}×"
        )
        out.append(
            (
                f"{big:,} firms: ≥ {PULP_RATIO_TARGET:g}× faster than PuLP/CBC",
                text,
                r["pulp_ratio"] >= PULP_RATIO_TARGET,
            )
        )
    else:
        out.append((f"{big:,} firms: ≥ {PULP_RATIO_TARGET:g}× faster than PuLP/CBC", "—", None))
    methods = {
        f"{rule}: filling {c['method'].get('filling', '?')}"
        for _f, rule, c in cells
        if rule != "priority"
    }
    one_model = [m for m in methods if "filling ?" in m]
    out.append(
        (
            "level rules by exact bisection, not one max-min model",
            "; ".join(sorted(methods)) if methods else "not measured",
            not one_model if methods else None,
        )
    )
    return out


def render_targets(results: dict[str, Any]) -> str:
    rows = []
    for target, measured, met in _targets(results):
        mark = {True: "met", False: "**missed**", None: "not measured"}[met]
        rows.append([target, measured, mark])
    return _table(["target", "measured", ""], rows, "lll")


def _growth(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    sizes = _sizes(results)
    for rule in RULES:
        cells = [
            (f, results["sizes"][str(f)]["rules"].get(rule))
            for f in sizes
            if rule in results["sizes"][str(f)]["rules"]
        ]
        row = [rule]
        for (f0, c0), (f1, c1) in itertools.pairwise(cells):
            row.append(_exponent(c0, c1, f0, f1, "e2e_s"))
            row.append(_exponent(c0, c1, f0, f1, "solve"))
        if len(row) > 1:
            rows.append(row)
    return rows


def _exponent(c0: Any, c1: Any, f0: int, f1: int, what: str) -> str:
    """Slope of log(seconds) against log(firms) between two sizes."""
    if not c0 or not c1:
        return "—"
    if what == "solve":
        a, b = c0["phases"].get("solve"), c1["phases"].get("solve")
    else:
        a, b = c0.get(what), c1.get(what)
    if not a or not b or a <= 0 or b <= 0:
        return "—"
    return f"{math.log(b / a) / math.log(f1 / f0):.2f}"


def render_scaling(results: dict[str, Any]) -> str:
    parts = []
    sizes = _sizes(results)
    if len(sizes) > 1:
        header = ["rule"]
        for f0, f1 in itertools.pairwise(sizes):
            header += [f"end to end {f0:,}→{f1:,}", f"solve {f0:,}→{f1:,}"]
        parts.append(
            "Growth exponents, the slope of log seconds against log firms (1 = linear):\n\n"
            + _table(header, _growth(results))
        )
    items = results.get("items")
    if items:
        rows = []
        for row in items["rows"]:
            for rule, cell in row["rules"].items():
                p = cell["phases"]
                rows.append(
                    [
                        row["model"],
                        str(row["award_items"]),
                        rule,
                        _n(cell["counts"].get("eligible_claims")),
                        _n(cell["counts"].get("variables")),
                        _s(p.get("claims")),
                        _s(p.get("build")),
                        _s(p.get("solve")),
                        _s(p.get("write")),
                        _s(cell["e2e_s"]),
                        cell["status"],
                    ]
                )
        header = [
            "model",
            "award items",
            "rule",
            "eligible claims",
            "variables",
            "claims s",
            "build s",
            "solve s",
            "write s",
            "end to end s",
            "status",
        ]
        repeats = items["repeats"]
        parts.append(
            f"Cost against the number of award items, {items['firms']:,} firms, fund "
            f"{budget_for(items['firms']):,}万元, {repeats} run{'s' if repeats > 1 else ''} "
            "each (medians):\n\n" + _table(header, rows, "lrlrrrrrrrl")
        )
    parts.append(
        f"![Seconds against firms and against award items]({PLOT.relative_to(DOC.parent)})"
    )
    return "\n\n".join(parts)


def render_profile(results: dict[str, Any]) -> str:
    profile = results.get("profile")
    if not profile:
        return "_Not measured in this run (`--no-profile`)._"
    parts = []
    for rule, record in profile["rules"].items():
        if "top" not in record:
            parts.append(f"**{profile['firms']:,} firms, {rule}:** profile failed.")
            continue
        rows = []
        for phase in PHASES:
            seconds = record["phases"].get(phase)
            for k, f in enumerate(record["top"].get(phase, [])):
                via = f" (via `{f['via']}`)" if f.get("via", f["function"]) != f["function"] else ""
                call = f.get("largest_call")
                inside = f"`{call}` {_s(f['largest_call_s'])}" if call else ""
                rows.append(
                    [
                        f"{phase} ({_s(seconds)} s)" if k == 0 else "",
                        f"`{f['function']}`{via}",
                        _s(f["cumulative_s"]),
                        _s(f["own_s"]),
                        _n(f["calls"]),
                        inside,
                    ]
                )
        parts.append(
            f"**{profile['firms']:,} firms, {rule}** (under cProfile, which slows Python code; "
            f"raw profile `{record['prof']}`, git-ignored):\n\n"
            + _table(
                ["phase", "function", "cumulative s", "own s", "calls", "largest call, s"],
                rows,
                "llrrrl",
            )
        )
    return "\n\n".join(parts)


def render_plot(results: dict[str, Any], path: Path) -> None:
    """Seconds against firms (every rule) and against award items, log-log, as SVG."""
    import matplotlib as mpl

    mpl.use("Agg")
    from matplotlib.figure import Figure

    rc: dict[Any, Any] = {"svg.hashsalt": "allocate-bench", "svg.fonttype": "none"}
    rc["font.size"] = 9.0
    with mpl.rc_context(rc):
        items = results.get("items")
        fig = Figure(figsize=(10.0, 4.2) if items else (5.5, 4.2))
        axes = fig.subplots(1, 2 if items else 1, squeeze=False)[0]
        ax = axes[0]
        sizes = _sizes(results)
        for rule in RULES:
            pts = [
                (f, results["sizes"][str(f)]["rules"][rule]["e2e_s"])
                for f in sizes
                if rule in results["sizes"][str(f)]["rules"]
            ]
            pts = [(f, s) for f, s in pts if s]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=rule, color=_colour(rule))
        tx = [f for f in E2E_TARGET_S if f in sizes]
        ax.plot(tx, [E2E_TARGET_S[f] for f in tx], "k_", markersize=18, label="target")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [f"{f:,}" for f in sizes])
        ax.tick_params(axis="x", which="minor", labelbottom=False)
        _plain_log_ticks(ax.yaxis)
        ax.set_xlabel("firms")
        ax.set_ylabel("seconds, end to end (median)")
        ax.set_title("Cost against firms, 2026 model")
        ax.grid(True, which="both", color="#e5e5e5", linewidth=0.6)
        ax.legend(frameon=False)
        if items:
            ax = axes[1]
            rows = [r for r in items["rows"] if r["model"].startswith("2026")]
            rows.sort(key=lambda r: r["award_items"])
            for rule in ITEM_RULES:
                xs = [r["award_items"] for r in rows if rule in r["rules"]]
                for what, style in (("end to end", "-"), ("solve", "--"), ("claims", ":")):
                    ys = [_item_seconds(r["rules"][rule], what) for r in rows if rule in r["rules"]]
                    if any(ys):
                        label = f"{rule}: {what}"
                        ax.plot(xs, ys, style, marker="o", label=label, color=_colour(rule))
            ax.set_xscale("log")
            ax.set_yscale("log")
            _plain_log_ticks(ax.xaxis)
            _plain_log_ticks(ax.yaxis)
            ax.set_xlabel("award items in the model")
            ax.set_ylabel("seconds (median)")
            ax.set_title(f"Cost against award items, {items['firms']:,} firms")
            ax.grid(True, which="both", color="#e5e5e5", linewidth=0.6)
            ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="svg", metadata={"Date": None})


def _plain_log_ticks(axis: Any) -> None:
    """Label a log axis 0.01, 2, 60 rather than 10⁻², 2×10⁰, 6×10¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    axis.set_minor_locator(LogLocator(base=10.0, subs="auto"))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _colour(rule: str) -> str:
    """One colour per rule in both panels (matplotlib's default cycle, in rule order)."""
    return f"C{RULES.index(rule)}"


def _item_seconds(cell: dict[str, Any], what: str) -> float | None:
    if what == "end to end":
        value: float | None = cell.get("e2e_s")
        return value
    phase: float | None = cell["phases"].get(what)
    return phase


SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "machine": render_machine,
    "table": render_table,
    "compare": render_compare,
    "targets": render_targets,
    "scaling": render_scaling,
    "profile": render_profile,
    "command": lambda results: bench_command.render(results.get("command"), _command_before()),
    "national": render_national,
}


def _command_before() -> dict[str, Any] | None:
    """The command's figures before its imports were made lazy (benchmarks/bench_command.py)."""
    if not bench_command.BEFORE.exists():
        return None
    before: dict[str, Any] = json.loads(bench_command.BEFORE.read_text(encoding="utf-8"))
    return before


def render_doc(results: dict[str, Any], doc: Path = DOC) -> None:
    """Replace every ``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->`` block of the doc."""
    text = doc.read_text(encoding="utf-8")
    for name, render in SECTIONS.items():
        pattern = re.compile(
            rf"(<!-- {MARKER}:{name} -->\n).*?(<!-- /{MARKER}:{name} -->)", re.DOTALL
        )
        found = pattern.search(text)
        if found is None:
            raise SystemExit(f"{doc}: no <!-- {MARKER}:{name} --> block")
        text = text[: found.end(1)] + render(results) + "\n" + text[found.start(2) :]
    doc.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Command line


def _ints(text: str) -> list[int]:
    return [int(t.replace("_", "").replace(",", "")) for t in text.split() if t]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1500 10000 100000 1000000", help="firms, space-separated"
    )
    parser.add_argument(
        "--only",
        default=" ".join(ONLY),
        help=f"sections to measure, space-separated, of: {' '.join(ONLY)}; the results of the "
        "others are kept from --results",
    )
    parser.add_argument("--src", type=Path, help="targets: run another checkout's src instead")
    parser.add_argument("--crossing-time-limit", type=float, default=60.0)
    parser.add_argument("--rules", default=" ".join(RULES), help="rules, space-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size and rule")
    parser.add_argument("--large-repeats", type=int, default=1, help="runs from --large-from")
    parser.add_argument("--large-from", type=int, default=50_000, help="firms counted large")
    parser.add_argument("--time-limit", type=float, default=300.0, help="solver limit, s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=("cpsat", "highs"), help="override the engine")
    parser.add_argument("--lp-time-limit", type=float, default=120.0)
    parser.add_argument("--pulp-time-limit", type=float, default=600.0)
    parser.add_argument("--items-firms", type=int, default=10_000)
    parser.add_argument("--items-repeats", type=int, default=1)
    parser.add_argument("--no-compare", dest="compare", action="store_false")
    parser.add_argument("--no-items", dest="items", action="store_false")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument(
        "--command-repeats", type=int, default=5, help="runs of the allocate command (0: none)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-doc", dest="doc", action="store_false", help="leave docs alone")
    parser.add_argument("--render-only", action="store_true", help="render from --results")
    args = parser.parse_args(argv)
    args.sizes = _ints(args.sizes)
    args.rules = args.rules.split()
    args.only = set(args.only.split())
    if args.only - set(ONLY):
        parser.error(f"unknown sections: {', '.join(sorted(args.only - set(ONLY)))}")
    # The older switches, kept: each takes its section out.
    for flag, section in (("compare", "compare"), ("items", "items"), ("profile", "profile")):
        if not getattr(args, flag):
            args.only.discard(section)
    unknown = set(args.rules) - set(RULES)
    if unknown:
        parser.error(f"unknown rules: {', '.join(sorted(unknown))}")
    args.argv = list(argv)
    return args


def _parts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs that made a results document: when, by what, how long, how busy."""
    if results.get("parts"):
        parts: list[dict[str, Any]] = results["parts"]
        return parts
    keys = ("generated", "bench_s", "load_before", "load_after")
    return [{"invoked": _invoked(results), **{k: results.get(k) for k in keys}}]


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` results with what ``new`` measured put in: per size, per rule, per section.

    The total time becomes the sum of the runs that made the document; the load averages
    stay with each measurement.
    """
    out = dict(old)
    out["parts"] = [*_parts(old), *_parts(new)]
    for key, value in new.items():
        if key == "sizes":
            sizes = dict(old.get("sizes") or {})
            for firms, entry in value.items():
                merged = dict(sizes.get(firms) or {})
                rules = {**(merged.get("rules") or {}), **entry.get("rules", {})}
                merged.update({k: v for k, v in entry.items() if k != "rules"})
                merged["rules"] = rules
                sizes[firms] = merged
            out["sizes"] = sizes
        elif key == "targets" and isinstance(old.get("targets"), dict):
            targets = dict(old["targets"])
            for part, item in value.items():
                if part == "sizes":
                    targets["sizes"] = {**(targets.get("sizes") or {}), **item}
                elif part == "parts":
                    targets["parts"] = [*(targets.get("parts") or []), *item]
                else:
                    targets[part] = item
            out["targets"] = targets
        elif key == "bench_s":
            out["bench_s"] = float(old.get("bench_s") or 0.0) + float(value)
        elif key == "settings":
            out.setdefault("settings_of_parts", []).append(value)
        else:
            out[key] = value
    return out


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["child"]:
        _child_main(argv[1:])
        return
    args = parse_args(argv)
    if args.render_only:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        results = bench(args)
        if args.only != set(ONLY) and args.results.exists():
            results = merge(json.loads(args.results.read_text(encoding="utf-8")), results)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        args.results.write_text(text, encoding="utf-8")
        results = json.loads(text)  # render what the file holds, as --render-only does
        _say(f"wrote {args.results} ({results['bench_s'] / 60:.1f} minutes)")
    if args.doc:
        render_doc(results)
        render_plot(results, PLOT)
        bench_targets.render_growth(results, GROWTH_PLOT)
        _say(f"wrote {DOC.relative_to(ROOT)}, {PLOT.relative_to(ROOT)} and {GROWTH_PLOT.name}")
    else:
        print(render_targets(results))
        print(render_national(results))


if __name__ == "__main__":
    main(sys.argv[1:])
