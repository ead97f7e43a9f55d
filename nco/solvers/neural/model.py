"""Trained policies loaded once per process and device, a few at a time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from nco.checkpoints import load_policy
from nco.models.policy import Policy
from nco.solvers.neural.params import resolve_device

MODELS_KEPT = 4
"""Loaded policies a process keeps (the least recently used goes first)."""


def load_model(checkpoint: str | Path | None = None, device: str | torch.device = "auto") -> Policy:
    """The policy in ``checkpoint`` (default: the shipped model) on ``device``
    (:func:`nco.solvers.neural.params.resolve_device`), loaded once per process.

    Decode batches with it directly: ``model(nco.envs.problem.Problem.from_instances(...))``.
    """
    return _load(None if checkpoint is None else str(checkpoint), str(resolve_device(device)))


@lru_cache(maxsize=MODELS_KEPT)
def _load(checkpoint: str | None, device: str) -> Policy:
    return load_policy(checkpoint, device)[0]
