"""A size-invariant local view for the decoder (after ELG, Gao et al. 2024).

At every step a rollout looks at the ``k`` nearest feasible nodes of its current node, by the
travel matrix (so it sees the true, possibly asymmetric, distances), with the distances divided by
the largest of those ``k``: what it sees does not depend on the instance's size, density or units.
A small network turns each neighbour's (relative distance, is a depot) into a score, and every
feasible node outside the neighbourhood gets one learned score; the scores are added to the global
pointer's scores before its clipping. The output layer and the outside score start at zero, so a
model extended with a local view (:func:`nco.models.adapters.extend`) first decodes exactly as it
did. Nodes as far as the ``k``-th nearest feasible one (ties) are all in the view.

Two things keep it cheap at every step. The ``k``-th nearest feasible node is found by walking
the current node's neighbours in the order of :func:`neighbour_order`, sorted once per instance,
instead of a ``topk`` per rollout; and the scoring network, a ReLU network of one input for each
value of the depot flag, is evaluated as the piecewise-linear function it is: its kinks, and the
slope and offset between them, come from its weights, so scoring a node is one lookup and one
multiply-add instead of a hidden layer of 32 values (the same values within rounding, and the same
gradients).
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = 32
"""Width of the scoring network's hidden layer."""

KINK_RANGE = (-1.0, 2.0)
"""Kinks of the scoring network outside this range are moved to its ends: relative distances lie
in [0, 1], where the function is unchanged by it."""


def neighbour_order(distance: torch.Tensor) -> torch.Tensor:
    """(B, N, N) long: row ``i`` lists the nodes from the nearest to the farthest from node ``i``
    by the (B, N, N) ``distance``, computed once per instance for :class:`LocalView`."""
    return distance.argsort(-1)


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

    def tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The scoring network as the piecewise-linear function of the relative distance that it
        is, for customers (row 0) and depots (row 1): ``kinks`` (2, HIDDEN), sorted, and the slope
        and offset of each piece (2, HIDDEN + 1, 2); computed once per decoding, not per step."""
        hidden, output = self.score[0], self.score[-1]
        slope = hidden.weight[:, 0]
        is_depot = torch.arange(2, dtype=slope.dtype, device=slope.device)[:, None]
        offset = hidden.bias + is_depot * hidden.weight[:, 1]  # (2, HIDDEN)
        with torch.no_grad():  # where the hidden units switch on or off; the function is continuous there
            kinks = torch.where(slope == 0, KINK_RANGE[1], -offset / slope).clamp(*KINK_RANGE).sort(-1).values
            inside = (kinks[:, 1:] + kinks[:, :-1]) / 2
            points = torch.cat([kinks[:, :1] - 1, inside, kinks[:, -1:] + 1], dim=-1)  # one in each piece
            active = (points[..., None] * slope + offset[:, None] > 0).to(slope.dtype)  # (2, HIDDEN + 1, HIDDEN)
        # a piece: the output layer over the active units, w2 . (w1 r + b1) + b2 = slope r + offset
        weight = output.weight[0]
        slopes = active @ (weight * slope)
        offsets = (active * (weight * offset)[:, None]).sum(-1) + output.bias[0]
        return kinks.contiguous(), torch.stack([slopes, offsets], dim=-1)

    def forward(self, distance: torch.Tensor, order: torch.Tensor, mask: torch.Tensor, num_depot_slots: int,
                kinks: torch.Tensor, pieces: torch.Tensor) -> torch.Tensor:
        """``distance`` (B, S, N) from each rollout's current node, ``order`` (B, S, N) the nodes by
        that distance (the current node's row of :func:`neighbour_order`), ``mask`` (B, S, N) the
        feasible actions, the first ``num_depot_slots`` nodes being depots; ``kinks``, ``pieces``:
        :meth:`tables`. Scores of infeasible nodes are meaningless (the decoder blocks them)."""
        # the first ``size`` feasible nodes along the order, nearest first; a view of fewer nodes
        # (fewer are feasible) repeats its farthest one
        seen = mask.gather(-1, order).cumsum(-1)
        wanted = torch.minimum(torch.arange(1, min(self.size, order.shape[-1]) + 1, device=order.device),
                               seen[..., -1:])
        nearest = order.gather(-1, torch.searchsorted(seen, wanted))
        nearest_distance = distance.gather(-1, nearest)
        radius = nearest_distance[..., -1:].clamp_min(torch.finfo(distance.dtype).tiny)
        scores = _piecewise(nearest_distance / radius, kinks[0], pieces[0])
        scores = self.outside.expand_as(distance).scatter(-1, nearest, scores)
        # depots are scored as depots, wherever they are in the view (one beyond it is clamped:
        # its score is not used, but must stay finite)
        depot_distance = distance[..., :num_depot_slots]
        depot_relative = (depot_distance / radius).clamp_max(KINK_RANGE[1])
        depot_in_view = mask[..., :num_depot_slots] & (depot_distance <= radius)
        depot_scores = torch.where(depot_in_view, _piecewise(depot_relative, kinks[1], pieces[1]), self.outside)
        return torch.cat([depot_scores, scores[..., num_depot_slots:]], dim=-1)


def _piecewise(relative: torch.Tensor, kinks: torch.Tensor, pieces: torch.Tensor) -> torch.Tensor:
    """The function of :meth:`LocalView.tables` (one row) at ``relative`` (any shape)."""
    slopes_offsets = pieces.index_select(0, torch.bucketize(relative, kinks).flatten()).view(*relative.shape, 2)
    return relative * slopes_offsets[..., 0] + slopes_offsets[..., 1]
