"""A size-invariant local view for the decoder (after ELG, Gao et al. 2024).

At every step a rollout looks at the ``k`` nearest feasible nodes of its current node, by the
travel matrix (so it sees the true, possibly asymmetric, distances), with the distances divided by
the largest of those ``k``: what it sees does not depend on the instance's size, density or units.
A small network turns each neighbour's (relative distance, is a depot) into a score, and every
feasible node outside the neighbourhood gets one learned score; the scores are added to the global
pointer's scores before its clipping. The output layer and the outside score start at zero, so a
model extended with a local view (:func:`nco.models.adapters.extend`) first decodes exactly as it
did.
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = 32
"""Width of the scoring network's hidden layer."""


class LocalView(nn.Module):
    """Scores (B, S, N) of the ``size`` nearest feasible nodes of each rollout's current node."""

    def __init__(self, size: int):
        super().__init__()
        if size < 1:
            raise ValueError(f"a local view of {size} nodes sees nothing: give a size of at least 1, such as 16")
        self.size = size
        self.score = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))
        self.outside = nn.Parameter(torch.zeros(()))
        nn.init.zeros_(self.score[-1].weight)
        nn.init.zeros_(self.score[-1].bias)

    def forward(self, distance: torch.Tensor, mask: torch.Tensor, num_depot_slots: int) -> torch.Tensor:
        """``distance`` (B, S, N) from each rollout's current node, ``mask`` (B, S, N) its feasible
        actions, the first ``num_depot_slots`` nodes being depots. Scores of infeasible nodes are
        meaningless (the decoder blocks them)."""
        size = min(self.size, distance.shape[-1])
        nearest, index = torch.where(mask, distance, float("inf")).topk(size, dim=-1, largest=False)
        # fewer than ``size`` feasible nodes: the rest (infeasible nodes) is padding, seen at 0
        nearest = nearest.nan_to_num(posinf=0.0)
        relative = nearest / nearest.amax(-1, keepdim=True).clamp_min(torch.finfo(distance.dtype).tiny)
        features = torch.stack([relative, (index < num_depot_slots).to(distance.dtype)], dim=-1)
        return self.outside.expand_as(distance).scatter(-1, index, self.score(features).squeeze(-1))
