"""Ctrl-C (SIGINT) around the steps that must not be cut in half.

Python turns Ctrl-C into :class:`KeyboardInterrupt` between two bytecodes of the main thread,
wherever that is. Most of a run can stop anywhere: nothing is written until the output folder
is renamed into place. A few steps cannot: renaming the folders (an old folder moved aside but
the new one not yet in), removing a temporary folder, starting the solver's thread. Inside
:func:`held` a Ctrl-C is noted instead, and raised as :class:`KeyboardInterrupt` when the
block ends, so the block finishes (or undoes itself, seeing :attr:`Hold.interrupted`) first.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class Hold:
    """What happened while Ctrl-C was held: ``interrupted`` once one arrived."""

    interrupted: bool = False


@contextmanager
def held() -> Iterator[Hold]:
    """Hold Ctrl-C until the block ends, then act on it as the handler before would.

    Yields a :class:`Hold` whose ``interrupted`` turns true when Ctrl-C arrives, for a block
    that would rather undo its work than finish it. Signal handlers belong to the main thread:
    elsewhere (where no Ctrl-C is raised anyway) the block simply runs.
    """
    hold = Hold()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        # ``None``: a handler installed outside Python, which cannot be put back.
        yield hold
        return

    def note(signum: int, frame: FrameType | None) -> None:
        hold.interrupted = True

    signal.signal(signal.SIGINT, note)
    try:
        yield hold
    finally:
        signal.signal(signal.SIGINT, previous)
    if hold.interrupted:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's own handler raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt


__all__ = ["Hold", "held"]
