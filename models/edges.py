"""The travel matrices as edges: message passing over a directed k-nearest-neighbour graph.

Coordinates cannot tell a model that a road is one-way or that leaving a node costs more than
reaching it. Every node receives messages from its ``k`` nearest successors (smallest ``d(i, j)``)
and its ``k`` nearest predecessors (smallest ``d(j, i)``); each edge carries the distance and the
travel time in both directions and which kind of neighbour it is. The messages go through a
``torch_geometric`` ``TransformerConv`` (edge features enter its keys and values). Euclidean
instances work the same way: their matrix is the Euclidean one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import TransformerConv

from nco.envs.env import gather_arcs
from nco.envs.problem import Problem
from nco.models.layers import RMSNorm

NUM_EDGE_FEATURES = 6  # d(i, j), d(j, i), t(i, j), t(j, i), successor, predecessor


def neighbour_graph(problem: Problem, neighbours: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``edge_index`` (2, E) over the ``B * N`` flattened nodes (messages flow from row 0 to
    row 1) and ``edge_attr`` (E, 6), for the ``k`` nearest successors and predecessors of every
    node (padding depot slots never send)."""
    batch, size = problem.batch_size, problem.num_locations
    k = min(neighbours, problem.num_customers)  # every instance has more real nodes than that
    is_real = torch.cat([problem.depot_valid, torch.ones(batch, problem.num_customers, dtype=torch.bool,
                                                         device=problem.device)], dim=1)
    excluded = torch.eye(size, dtype=torch.bool, device=problem.device) | ~is_real[:, None, :]
    successors = problem.distance.masked_fill(excluded, torch.inf).topk(k, dim=2, largest=False).indices
    predecessors = problem.distance.transpose(1, 2).masked_fill(excluded, torch.inf)
    predecessors = predecessors.topk(k, dim=2, largest=False).indices
    target = torch.arange(size, device=problem.device)[None, :, None].expand(batch, size, 2 * k)
    source = torch.cat([successors, predecessors], dim=2)  # (B, N, 2k): node i hears from these

    kind = torch.zeros(batch, size, 2 * k, 2, device=problem.device)
    kind[..., :k, 0], kind[..., k:, 1] = 1.0, 1.0
    edge_attr = torch.stack(
        [gather_arcs(problem.distance, target.flatten(1), source.flatten(1)),
         gather_arcs(problem.distance, source.flatten(1), target.flatten(1)),
         gather_arcs(problem.travel_time, target.flatten(1), source.flatten(1)),
         gather_arcs(problem.travel_time, source.flatten(1), target.flatten(1))],
        dim=-1,
    ).view(batch, size, 2 * k, 4)
    edge_attr = torch.cat([edge_attr, kind], dim=-1).flatten(0, 2)
    offset = (torch.arange(batch, device=problem.device) * size)[:, None, None]
    edge_index = torch.stack([(source + offset).flatten(), (target + offset).flatten()])
    return edge_index, edge_attr


class MatrixMessagePassing(nn.Module):
    """A residual, pre-norm ``TransformerConv`` over :func:`neighbour_graph`."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.norm = RMSNorm(dim)
        self.conv = TransformerConv(dim, dim // num_heads, heads=num_heads, edge_dim=NUM_EDGE_FEATURES)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """``x`` (B, N, dim) -> (B, N, dim)."""
        return x + self.conv(self.norm(x).flatten(0, 1), edge_index, edge_attr).view_as(x)

    def silence(self) -> None:
        """Zeroes what the layer adds to its input (values, edge values, skip and bias), so a
        model that gains it starts computing exactly what it computed before."""
        conv = self.conv
        for linear in (conv.lin_value, conv.lin_edge, conv.lin_skip):
            torch.nn.init.zeros_(linear.weight)
            if linear.bias is not None:
                torch.nn.init.zeros_(linear.bias)
