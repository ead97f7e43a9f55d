"""One-line messages from exceptions, which never raise themselves."""

from __future__ import annotations


def first_line(error: BaseException, limit: int = 300) -> str:
    """The first line of ``error``'s message (at most ``limit`` characters), or the name of its
    type where the message is empty (``MemoryError()``)."""
    lines = str(error).strip().splitlines()
    return lines[0][:limit] if lines else type(error).__name__
