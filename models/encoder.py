"""The encoder: node features -> embeddings, then a stack of transformer layers.

Depot tokens carry the instance-level attributes (open route, route-length limit, depot time
window, backhaul mode, multi-depot); customer tokens carry demands, time window and service time
(:mod:`nco.models.features`). An attribute that is off feeds its neutral value, so one network serves
every variant. Padded depot slots are never attended to. With ``neighbours > 0`` every transformer
layer is preceded by message passing over the travel matrices (:mod:`nco.models.edges`).
"""

from __future__ import annotations

import torch
from torch import nn

from nco.envs.problem import Problem
from nco.models.edges import MatrixMessagePassing, neighbour_graph
from nco.models.features import ATTRIBUTES, CUSTOMER_FEATURES, DEPOT_FEATURES, feature_columns, node_features
from nco.models.layers import EncoderLayer, RMSNorm


class Encoder(nn.Module):
    def __init__(self, dim: int = 128, num_heads: int = 8, num_layers: int = 6, hidden: int = 512,
                 attributes: tuple[str, ...] = ATTRIBUTES, neighbours: int = 0, relative_time: bool = False):
        super().__init__()
        self.neighbours = neighbours
        self.relative_time = relative_time
        depot_columns = feature_columns(DEPOT_FEATURES, attributes)
        customer_columns = feature_columns(CUSTOMER_FEATURES, attributes)
        self.register_buffer("depot_columns", torch.tensor(depot_columns), persistent=False)
        self.register_buffer("customer_columns", torch.tensor(customer_columns), persistent=False)
        self.depot_embedding = nn.Linear(len(depot_columns), dim)
        self.customer_embedding = nn.Linear(len(customer_columns), dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, num_heads, hidden) for _ in range(num_layers))
        self.graph_layers = nn.ModuleList(
            MatrixMessagePassing(dim, num_heads) for _ in range(num_layers if neighbours > 0 else 0)
        )
        self.norm = RMSNorm(dim)

    def forward(self, problem: Problem, locs: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, dim) node embeddings."""
        depot, customer = node_features(problem, locs, self.relative_time)
        x = torch.cat(
            [self.depot_embedding(depot[..., self.depot_columns]),
             self.customer_embedding(customer[..., self.customer_columns])],
            dim=1,
        )
        attend = node_is_real(problem)[:, None, None, :]
        if self.neighbours > 0:
            edge_index, edge_attr = neighbour_graph(problem, self.neighbours)
            for graph_layer, layer in zip(self.graph_layers, self.layers):
                x = layer(graph_layer(x, edge_index, edge_attr), attend)
        else:
            for layer in self.layers:
                x = layer(x, attend)
        return self.norm(x)


def node_is_real(problem: Problem) -> torch.Tensor:
    """(B, N) bool: real depots and all customers (padding depot slots excluded)."""
    customers = torch.ones(problem.batch_size, problem.num_customers, dtype=torch.bool, device=problem.device)
    return torch.cat([problem.depot_valid, customers], dim=1)
