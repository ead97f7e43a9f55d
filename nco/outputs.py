"""Files the tools write: plain names that stay in their folder, each written whole.

Instance files come from other people, so no output path is ever taken from inside one (a NAME
field of ``../../x`` or ``/tmp/x``): outputs are named after the input file's own name, made a
plain file name. Every write goes to a temporary file beside its target and is renamed over it,
so a kill leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_name(text: str) -> str:
    """``text`` as a plain file name: characters other than letters, digits and ``._+-``
    become ``_``, leading dots go (no hidden files, no ``..``), and nothing left gives
    ``instance``."""
    name = _UNSAFE.sub("_", text).lstrip(".")
    return name[:200] or "instance"


def unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """:func:`safe_name` of each of ``names``, a repeated one suffixed ``-2``, ``-3``, ... in
    order; and one note per repeated name saying so."""
    unique, taken, notes = [], set(), []
    for name in map(safe_name, names):
        candidate, count = name, 1
        while candidate in taken:
            count += 1
            candidate = f"{name}-{count}"
        if count == 2:
            notes.append(f"several inputs are named {name}: their outputs are {name}, {name}-2, ... in the order given")
        taken.add(candidate)
        unique.append(candidate)
    return unique, notes


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Calls ``write(temporary)`` with a path in ``path``'s folder (made if missing) that ends
    in the same suffix (so writers that infer a format from it, or append one, behave), then
    renames that file to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(descriptor)
    try:
        write(Path(partial))
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """``text`` written to ``path`` whole (:func:`write_atomically`)."""
    return write_atomically(path, lambda partial: partial.write_text(text))
