"""Where the variants of a sweep or a sensitivity analysis run: one interface, three backends.

A batch is a function ``fn(shared, item)``, one ``shared`` object (the loaded model, data and
claims, the same for every variant) and a list of items (one per variant). :meth:`Backend.run`
calls ``fn`` once per item and hands each outcome to ``on_result`` in the calling process as it
arrives (the progress bar), then returns the outcomes in item order:

- :class:`SerialBackend`: in this process, one after the other (``--jobs 1``);
- :class:`PoolBackend`: a pool of spawned processes (the default); ``shared`` is sent once to
  each process, when it starts;
- :class:`RayBackend`: Ray tasks, on a local Ray instance (``--ray``) or an existing cluster
  (``--ray-address``); ``shared`` goes once into the object store (``ray.put``).

``fn`` must be a module-level function (it is sent by name). An exception raised by ``fn`` is
an outcome, :class:`Failure`, and the other items go on. Ctrl-C (or any exception raised by
``on_result``) stops every item: the processes of the pool are terminated, the Ray tasks
cancelled, and a Ray instance this module started is shut down.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from allocator.core.errors import InputError, InputProblem

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Failure:
    """An item whose function raised.

    Attributes
    ----------
    index:
        The item's position in the batch.
    error:
        ``ExceptionType: message``.
    detail:
        The traceback, for a bug report.
    """

    index: int
    error: str
    detail: str = ""


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What one item gave: ``value``, or ``failure`` when its function raised."""

    index: int
    value: R | None
    failure: Failure | None = None


ResultFn = Callable[[Outcome[Any]], None]


class Backend(Protocol):
    """Runs a batch; see the module's description."""

    @property
    def label(self) -> str:
        """How the backend is named to the user (``4 processes``, ``Ray at 127.0.0.1:6379``)."""
        ...

    def run(
        self,
        fn: Callable[[S, T], R],
        shared: S,
        items: Sequence[T],
        on_result: ResultFn | None = None,
    ) -> list[Outcome[R]]:
        """Call ``fn(shared, item)`` for every item; the outcomes in item order."""
        ...


def call(fn: Callable[[S, T], R], shared: S, index: int, item: T) -> Outcome[R]:
    """Run one item, turning an exception into a :class:`Failure` (Ctrl-C passes through)."""
    try:
        return Outcome(index, fn(shared, item))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        return Outcome(index, None, Failure(index, error, traceback.format_exc()))


def _ordered(outcomes: dict[int, Outcome[R]], count: int) -> list[Outcome[R]]:
    return [outcomes[i] for i in range(count)]


# --------------------------------------------------------------------------------------------
# In this process


class SerialBackend:
    """Every item in this process, in order."""

    label = "1 process"

    def run(
        self,
        fn: Callable[[S, T], R],
        shared: S,
        items: Sequence[T],
        on_result: ResultFn | None = None,
    ) -> list[Outcome[R]]:
        """Call ``fn(shared, item)`` for every item, in order."""
        out: dict[int, Outcome[R]] = {}
        for index, item in enumerate(items):
            outcome = call(fn, shared, index, item)
            out[index] = outcome
            if on_result is not None:
                on_result(outcome)
        return _ordered(out, len(items))


# --------------------------------------------------------------------------------------------
# A pool of processes

# Set in each pool process by _start_worker: the batch's function and shared object.
_WORKER: dict[str, Any] = {}


def _start_worker(fn: Callable[[Any, Any], Any], shared: Any) -> None:
    # Ctrl-C is the parent's to handle: it terminates the pool, so no worker dies half-way
    # through printing a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["fn"], _WORKER["shared"] = fn, shared


def _pool_call(job: tuple[int, Any]) -> Outcome[Any]:
    index, item = job
    return call(_WORKER["fn"], _WORKER["shared"], index, item)


class PoolBackend:
    """A pool of ``jobs`` spawned processes.

    The processes are spawned, not forked: a fork copies the parent's threads' locks (the
    progress display's, the solver's) in whatever state they are.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    @property
    def label(self) -> str:
        return f"{self.jobs} processes"

    def run(
        self,
        fn: Callable[[S, T], R],
        shared: S,
        items: Sequence[T],
        on_result: ResultFn | None = None,
    ) -> list[Outcome[R]]:
        """Call ``fn(shared, item)`` for every item in the pool's processes."""
        context = multiprocessing.get_context("spawn")
        jobs = max(1, min(self.jobs, len(items)))
        out: dict[int, Outcome[R]] = {}
        pool = context.Pool(jobs, initializer=_start_worker, initargs=(fn, shared))
        try:
            for outcome in pool.imap_unordered(_pool_call, enumerate(items), chunksize=1):
                out[outcome.index] = outcome
                if on_result is not None:
                    on_result(outcome)
        except BaseException:
            pool.terminate()  # Ctrl-C or a stop asked by on_result: no item goes on
            pool.join()
            raise
        pool.close()
        pool.join()
        return _ordered(out, len(items))


# --------------------------------------------------------------------------------------------
# Ray


class RayBackend:
    """Ray tasks on a local instance (``address`` None) or an existing cluster.

    Parameters
    ----------
    address:
        ``HOST:PORT`` of a running cluster's head (``ray start --head`` prints it), or None for
        a local instance started here, bound to 127.0.0.1, and shut down at the end.
    jobs:
        Tasks in flight at once; default every item (the cluster's CPUs decide).
    """

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        self.address = address
        self.jobs = jobs

    @property
    def label(self) -> str:
        return f"Ray at {self.address}" if self.address else "local Ray"

    def run(
        self,
        fn: Callable[[S, T], R],
        shared: S,
        items: Sequence[T],
        on_result: ResultFn | None = None,
    ) -> list[Outcome[R]]:
        """Call ``fn(shared, item)`` for every item as Ray tasks; ``shared`` is put once."""
        import ray

        started = not ray.is_initialized()
        if started:
            _init_ray(ray, self.address, self.jobs)
        try:
            return _run_on_ray(ray, fn, shared, items, on_result, self.jobs)
        finally:
            if started:
                ray.shutdown()


def _init_ray(ray: Any, address: str | None, jobs: int | None) -> None:
    """Join the cluster at ``address``, or start a local instance on 127.0.0.1."""
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            found = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                [InputProblem("--ray-address", f"a running Ray cluster at {address}", found[:300])]
            ) from None
    else:
        ray.init(
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            num_cpus=jobs,
            **quiet,
        )


def _run_on_ray(
    ray: Any,
    fn: Callable[[S, T], R],
    shared: S,
    items: Sequence[T],
    on_result: ResultFn | None,
    jobs: int | None,
) -> list[Outcome[R]]:
    task = ray.remote(num_cpus=1, max_retries=0)(call)
    shared_ref = ray.put(shared)  # once; every task reads the same object
    limit = jobs or len(items)
    waiting = list(enumerate(items))
    waiting.reverse()
    running: dict[Any, int] = {}
    out: dict[int, Outcome[R]] = {}
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                index, item = waiting.pop()
                running[task.remote(fn, shared_ref, index, item)] = index
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                index = running.pop(ref)
                try:
                    outcome: Outcome[R] = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    # The worker itself died (killed, out of memory): the item failed.
                    error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    outcome = Outcome(index, None, Failure(index, error, str(exc)))
                out[index] = outcome
                if on_result is not None:
                    on_result(outcome)
    except BaseException:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    return _ordered(out, len(items))


def make_backend(jobs: int | None, *, ray: bool = False, ray_address: str | None = None) -> Backend:
    """The backend the command line asks for.

    Parameters
    ----------
    jobs:
        Variants at once: processes of the pool (default: the number of cores; 1 runs them in
        this process), or Ray tasks in flight (default: as many as the cluster takes).
    ray:
        Run on a local Ray instance.
    ray_address:
        Run on the Ray cluster at this address (implies ``ray``).
    """
    if ray or ray_address:
        if importlib.util.find_spec("ray") is None:
            option = "--ray-address" if ray_address else "--ray"
            raise InputError(
                [
                    InputProblem(
                        option, "Ray installed: pip install 'allocate[ray]'", "no module ray"
                    )
                ]
            )
        return RayBackend(ray_address or None, jobs)
    count = jobs or os.cpu_count() or 1
    return SerialBackend() if count == 1 else PoolBackend(count)


__all__ = [
    "Backend",
    "Failure",
    "Outcome",
    "PoolBackend",
    "RayBackend",
    "ResultFn",
    "SerialBackend",
    "call",
    "make_backend",
]
