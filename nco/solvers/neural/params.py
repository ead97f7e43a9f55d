"""The neural solver's parameters, checked once for the API and the CLI alike."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

SEARCHES = ("polish", "sampling", "reconstruct")
"""How the neural solver can spend a time limit (:class:`NeuralParams`' ``search``)."""
NETWORK_SHARE = 0.3
"""Share of a time limit in which the network decodes before a polish or re-construction
(chosen by measurement: docs/constants.md)."""


@dataclass(frozen=True)
class NeuralParams:
    """How the neural solver decodes and searches.

    Attributes
    ----------
    checkpoint
        The model (default: the shipped one for the instance,
        :func:`nco.checkpoints.shipped_checkpoint`: a matrix-aware model for explicit matrices).
    augment
        Decode the 8 dihedral images of the coordinates.
    samples
        Extra multi-start sampling passes (without a time limit).
    search
        How a time limit is spent (one of :data:`SEARCHES`; ``None``: the polish, or the
        re-construction where PyVRP's matrices or set-up would not fit): ``sampling`` decodes the
        images that fit and keeps sampling while another image fits; ``polish`` decodes greedily
        in the first ``network_share`` of the time and hands the rest to PyVRP's local search
        started from its best solution; ``reconstruct`` decodes alike, then re-solves groups of
        neighbouring routes with the network (:mod:`nco.solvers.neural.reconstruct`).
    network_share
        Share of a time limit in which the network decodes before the polish or re-construction.
    device
        ``auto`` (a CUDA GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``.
    """

    checkpoint: str | None = None
    augment: bool = True
    samples: int = 0
    search: str | None = None
    network_share: float = NETWORK_SHARE
    device: str = "auto"

    def __post_init__(self):
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", str(self.checkpoint))
        if self.search is not None and self.search not in SEARCHES:
            raise ValueError(f"unknown search {self.search!r}: use one of {', '.join(SEARCHES)}")
        if not (isinstance(self.samples, int) and self.samples >= 0):
            raise ValueError(f"samples={self.samples}: give a whole number of sampling passes, 0 or more")
        if not 0 < self.network_share < 1:
            raise ValueError(f"network_share={self.network_share}: give a share of the time limit between 0 and 1")
        resolve_device(self.device)

    @classmethod
    def from_options(cls, **options) -> NeuralParams:
        """The parameters named in ``options``; an unknown name is a one-line error."""
        known = [field.name for field in fields(cls)]
        unknown = [name for name in options if name not in known]
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} of the neural solver: use some of {', '.join(known)}")
        return cls(**options)

    def check_time_limit(self, time_limit: float | None) -> None:
        """Refuses a search without a time limit to run until."""
        if self.search is not None and time_limit is None:
            raise ValueError(f"the {self.search} search runs until a time limit: give one (--time-limit SECONDS)")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` (a CUDA GPU when there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises
    ------
    ValueError
        For a device name torch does not know, or a CUDA device on a machine without one.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this machine has no CUDA GPU that torch can use: use cpu or auto")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}: the solver runs on cpu or cuda: use auto, cpu, cuda or cuda:N")
    return resolved
