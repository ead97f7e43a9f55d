"""Memory: what is available to a new allocation, and glibc's malloc tuned for the tensors of a
decoding loop.

Every decoding step allocates and frees tensors of a few MB (at n = 100, batch 32: the glimpse's
10 MB of attention weights, the local view's hidden layer). glibc serves such blocks from
``mmap`` or gives the top of its heap back to the system after they are freed, so the next step
touches fresh pages and some runs slow down by half (measured: docs/constants.md). Serving
blocks up to 32 MiB from the heap and keeping up to 512 MiB of freed heap for reuse removes the
faults; the price is that a process keeps that much freed memory instead of returning it.
"""

from __future__ import annotations

import ctypes

MMAP_THRESHOLD = 32 * 2**20
"""Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit systems)."""

TRIM_THRESHOLD = 512 * 2**20
"""Freed memory at the top of the heap is kept for reuse up to this size."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def keep_freed_memory() -> bool:
    """Sets glibc's thresholds (above); ``False`` where the C library is not glibc (nothing
    changes there)."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # setting either threshold stops glibc from adapting both: set both
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's ``MemAvailable``), or ``None`` where
    the system does not say."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def shortfall(needed: float, what: str) -> str | None:
    """Why ``needed`` bytes for ``what`` would not fit in the available memory (one clause), or
    ``None`` when they fit or the system does not say."""
    available = available_memory()
    if available is None or needed <= available:
        return None
    return f"{what} need about {needed / 2**30:.1f} GB and {available / 2**30:.1f} GB are available"
