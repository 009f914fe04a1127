"""The Ray backend on a local Ray instance (ray is the ``ray`` extra).

One test, so that one Ray instance runs at a time on a small machine whatever the number of
pytest workers: the same bytes as the process pool, a variant that raises, and Ctrl-C.

Ray's own servers listen on every interface and advertise the machine's address, whatever
``_node_ip_address`` says. So the test runs again in a network namespace of its own whose
only interface is loopback (``unshare --net``): every socket Ray opens can then reach nothing
but 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.inputs.export import write_population
from allocator.inputs.generate import generate_population
from allocator.inputs.sensitivity import Sensitivity
from allocator.pipeline.backends import Outcome, PoolBackend, RayBackend
from allocator.pipeline.sensitivity import Options
from allocator.pipeline.sensitivity_run import FILES, run_sensitivity

ray = pytest.importorskip("ray", reason="ray is the optional extra that make setup installs")

ROOT = Path(__file__).resolve().parent.parent
MODEL_2026 = ROOT / "models" / "liuzhou-2026-q1-draft.yaml"
OPTIONS = Options(
    Sensitivity(samples=2), only=("budget_wan", "7/interest/rate", "2.1/growth/award_table")
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# Set in the run inside the loopback-only namespace.
INSIDE = "ALLOCATE_TEST_LOOPBACK_NETNS"


@pytest.mark.slow
def test_ray_runs_in_a_namespace_that_reaches_loopback_alone() -> None:
    if os.environ.get(INSIDE):
        pytest.skip("this is the run inside the namespace")
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to make a loopback-only network namespace")
    inner = test_ray_gives_the_pools_bytes_keeps_the_others_when_one_fails_and_stops_on_ctrl_c
    test = f"{Path(__file__).resolve()}::{inner.__name__}"
    done = subprocess.run(
        [
            unshare,
            "--net",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider "$1"',
            sys.executable,
            test,
        ],
        env={**os.environ, INSIDE: "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


@pytest.mark.slow
def test_ray_gives_the_pools_bytes_keeps_the_others_when_one_fails_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    if not os.environ.get(INSIDE):
        pytest.skip("runs inside a loopback-only network namespace (the test above)")
    write_population(generate_population(120, 7), tmp_path / "firms.csv", "csv")
    doc = {
        "name": "small",
        "model": str(MODEL_2026),
        "data": "firms.csv",
        "budget_wan": 300,
        "fairness": {"rule": "proportional"},
    }
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")

    # The same analysis on the pool and on a local Ray instance that the backend starts (on
    # 127.0.0.1) and stops again.
    pool = run_sensitivity(
        scenario, options=OPTIONS, out_dir=tmp_path / "pool", backend=PoolBackend(2)
    )
    on_ray = run_sensitivity(
        scenario, options=OPTIONS, out_dir=tmp_path / "ray", backend=RayBackend(None, jobs=2)
    )
    assert on_ray.backend == "local Ray"
    assert not ray.is_initialized()
    for name in FILES:
        assert (pool.out_dir / name).read_bytes() == (on_ray.out_dir / name).read_bytes(), name

    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=2)
    try:
        # A task that raises is a failure of its item; the others are kept.
        def divide(shared: int, item: int) -> float:
            return shared / item

        outcomes = RayBackend().run(divide, 6, [1, 0, 3])
        assert [o.value for o in outcomes] == [6.0, None, 2.0]
        failure = outcomes[1].failure
        assert failure is not None
        assert failure.index == 1
        assert failure.error == "ZeroDivisionError: division by zero"

        # Ctrl-C (here raised where the progress display is called) cancels every task: the
        # processes running the slow ones end.
        pids = tmp_path / "pids"
        pids.mkdir()

        def slow(folder: str, item: int) -> int:
            if item == 0:
                return 0
            (Path(folder) / str(os.getpid())).write_text(str(item))
            time.sleep(600)
            return item

        def interrupt(outcome: Outcome[Any]) -> None:
            # Once a slow task has begun, as a user would press Ctrl-C mid-way.
            for _ in range(600):
                if any(pids.iterdir()):
                    break
                time.sleep(0.1)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            RayBackend().run(slow, str(pids), [0, 1, 2, 3], interrupt)
        started = [int(p.name) for p in pids.iterdir()]
        assert started
        for _ in range(600):
            if not any(_alive(pid) for pid in started):
                break
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in started)
    finally:
        ray.shutdown()
