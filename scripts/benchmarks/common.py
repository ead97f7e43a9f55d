"""What every benchmark shares: the stamp of its tables, the benchmark data folder, child runs."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

import torch

ENTRY = Path(__file__).resolve().parents[1] / "bench.py"
"""The suite's one entry point (``python scripts/bench.py TOPIC``)."""


def stamp(topic: str) -> str:
    """One line naming what made a table: the topic, the commit, the machine and the day."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ENTRY.parent, capture_output=True,
                                text=True, check=True).stdout.strip()
        if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ENTRY.parent,
                          capture_output=True, text=True).stdout.strip():
            commit += " with local changes"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown commit (not a git checkout)"
    return (f"bench {topic}: commit {commit}; {processor()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"Python {platform.python_version()}; {date.today().isoformat()}")


def processor() -> str:
    """The CPU's model name (Linux), else what :func:`platform.processor` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class OptionError(Exception):
    """Options or data that do not fit: ``bench.py`` prints the message in one line."""


def data_folder(data: str | None, subfolder: str = "") -> Path:
    """``DATA/subfolder``, the benchmark files this benchmark reads (they are not in the repository).

    Raises
    ------
    OptionError
        When it is not given or not a folder, in one line that says what to pass.
    """
    folder = Path(data or "") / subfolder
    if data is None or not folder.is_dir():
        raise OptionError(f"no benchmark data at {folder if data else '(no --data)'}: the benchmark files are not in "
                         "the repository; pass --data DIR, the folder holding them (--help names the folders it reads)")
    return folder


def child(topic: str, *arguments: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """``python scripts/bench.py TOPIC ARGUMENTS`` in a fresh process (its peak memory is its own)."""
    return subprocess.run([sys.executable, str(ENTRY), topic, *arguments], capture_output=True, text=True,
                          timeout=timeout)
