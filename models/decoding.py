"""How rollouts are decoded: the ``Decoding`` options, the choice of each action, and the
:class:`Pace` that a time-limited caller gives the policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

STRATEGIES = ("greedy", "sampling")


@dataclass(frozen=True)
class Decoding:
    """Options of :meth:`nco.models.policy.Policy.forward`.

    Attributes
    ----------
    strategy
        ``greedy`` (the most likely action) or ``sampling``.
    multi_start
        One rollout forced to start at every customer (POMO); else ``num_samples`` rollouts.
    max_starts
        With ``multi_start``, at most this many starts: customers evenly spread over the
        instance's numbering (``None``: every customer). Decoding time grows with the number of
        starts times the number of nodes, so large instances cap it.
    augment
        Also decode the 8 dihedral images of the coordinates (8 times the rollouts).
    num_samples
        Rollouts per instance without ``multi_start``.
    temperature, top_k, top_p
        Sampling: logits divided by the temperature, only the ``top_k`` most likely actions, or
        the smallest set whose probability reaches ``top_p``.
    max_rollouts
        At most this many rollouts of one instance at once: augmented images are decoded a few
        at a time when all of them would exceed it (``None``: all at once).
    fill_routes
        A route returns to its depot only once no customer is feasible for it (:meth:`restrict`):
        fewer, fuller routes, for a fleet with few vehicles.
    """

    strategy: str = "greedy"
    multi_start: bool = True
    max_starts: int | None = None
    augment: bool = False
    num_samples: int = 1
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    max_rollouts: int | None = None
    fill_routes: bool = False

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown decoding strategy {self.strategy!r}: use one of {', '.join(STRATEGIES)}")
        if self.strategy == "greedy" and not self.multi_start and self.num_samples != 1:
            raise ValueError("greedy decoding without multi-start gives one rollout: set num_samples=1")
        if any(value is not None and value < 1 for value in (self.num_samples, self.max_rollouts, self.max_starts)):
            raise ValueError(f"num_samples={self.num_samples}, max_rollouts={self.max_rollouts}, "
                             f"max_starts={self.max_starts}: give 1 or more")

    def rollouts_per_image(self, num_customers: int) -> int:
        """Rollouts of one image of an instance with ``num_customers`` customers."""
        if not self.multi_start:
            return self.num_samples
        return min(num_customers, self.max_starts or num_customers)

    def restrict(self, mask: torch.Tensor, current: torch.Tensor, num_depot_slots: int) -> torch.Tensor:
        """The environment's action ``mask`` (B, S, N) as these options narrow it, the rollouts
        standing at ``current`` (B, S): with :attr:`fill_routes`, no depot for a rollout on a
        route that can still serve a customer."""
        if not self.fill_routes:
            return mask
        closing = (current >= num_depot_slots) & mask[..., num_depot_slots:].any(-1)
        return torch.cat([mask[..., :num_depot_slots] & ~closing[..., None], mask[..., num_depot_slots:]], dim=-1)

    def select(self, log_probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Chooses one action per rollout from log-probabilities (B, S, N)."""
        if self.strategy == "greedy":
            return log_probs.argmax(-1)
        logits = log_probs / self.temperature
        if self.top_k is not None:
            kth = logits.topk(min(self.top_k, logits.shape[-1]), dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p is not None:
            sorted_logits, order = logits.sort(-1, descending=True)
            cumulative = sorted_logits.softmax(-1).cumsum(-1)
            drop_sorted = cumulative - sorted_logits.softmax(-1) > self.top_p  # keep the first past top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
        # inverse-CDF sampling: one uniform per rollout (torch.multinomial draws one per action);
        # a point in (0, total] never lands on an action of probability 0
        cumulative = logits.softmax(-1).cumsum(-1)
        uniform = 1 - torch.rand(cumulative.shape[:-1] + (1,), generator=generator, device=cumulative.device)
        return (cumulative < uniform * cumulative[..., -1:]).sum(-1)


class Pace(Protocol):
    """What the policy asks of a time-limited caller while it decodes (the neural solver's
    :class:`nco.solvers.neural.pace.DeadlinePace`); the policy itself keeps no time."""

    def images(self, decoded: int, wanted: int) -> int:
        """Images to decode next, at most ``wanted``, ``decoded`` being done (0: none more)."""

    def begin_images(self) -> None:
        """The images just granted start decoding."""

    def starts_to_keep(self, steps: int, served: int, num_customers: int, starts: int) -> int | None:
        """After ``steps`` decoding steps, the slowest rollout having served ``served`` of
        ``num_customers`` customers: rollouts per image to go on with (``None``: all ``starts``;
        fewer: evenly spread ones; 0: give the images up and return no rollouts)."""
