"""Deadlines on a clock that can be replaced: what every time-limited search paces itself against.

The neural solver decodes as many images, starts and passes as fit before a :class:`Deadline`,
reading its clock (by default :func:`time.perf_counter`). A :class:`SteppingClock` in its place
advances by a fixed step at every reading, so a time-limited run does the same work on a busy
laptop and on an idle server: what the tests use, and a way to reproduce a run exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

Clock = Callable[[], float]
"""Seconds since an arbitrary origin, never decreasing."""


@dataclass(frozen=True)
class Deadline:
    """The moment ``at`` on ``clock``."""

    at: float
    clock: Clock = time.perf_counter

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.perf_counter) -> Deadline:
        """``seconds`` from now on ``clock``."""
        return cls(clock() + seconds, clock)

    def now(self) -> float:
        return self.clock()

    def left(self) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.at - self.clock()


def now(deadline: Deadline | None) -> float:
    """The time on ``deadline``'s clock, or on the wall clock without a deadline."""
    return time.perf_counter() if deadline is None else deadline.now()


@dataclass
class SteppingClock:
    """A clock that advances by ``step`` seconds at every reading (and never otherwise)."""

    step: float = 1e-3
    time: float = field(default=0.0)

    def __call__(self) -> float:
        self.time += self.step
        return self.time
