"""The encoder: node features -> embeddings, then a stack of transformer layers.

Depot tokens carry the instance-level attributes (open route, route-length limit, depot time
window, backhaul mode); customer tokens carry demands, time window and service time. An attribute
that is off feeds its neutral value (0 for an infinite limit or deadline), so one network serves
every variant. Padded depot slots are never attended to.
"""

from __future__ import annotations

import torch
from torch import nn

from envs.problem import Problem
from envs.variants import BACKHAUL_MIXED, BACKHAUL_STRICT
from models.layers import EncoderLayer, RMSNorm

NUM_DEPOT_FEATURES = 8
NUM_CUSTOMER_FEATURES = 7


def finite_or_zero(x: torch.Tensor) -> torch.Tensor:
    """The neutral value of an unlimited deadline or length is fed as 0."""
    return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


def node_features(problem: Problem, locs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Depot features (B, K, 8) and customer features (B, n, 7); ``locs`` overrides coordinates
    (for augmented copies of the same instances)."""
    slots = problem.num_depot_slots
    locs = problem.locs if locs is None else locs
    capacity = problem.capacity[:, None]
    early, late = problem.time_windows[..., 0], finite_or_zero(problem.time_windows[..., 1])
    customer = torch.stack(
        [
            locs[:, slots:, 0],
            locs[:, slots:, 1],
            problem.demand_linehaul[:, slots:] / capacity,
            problem.demand_backhaul[:, slots:] / capacity,
            early[:, slots:],
            late[:, slots:],
            problem.service_time[:, slots:],
        ],
        dim=-1,
    )
    instance = torch.stack(
        [
            problem.open_route.to(locs.dtype),
            finite_or_zero(problem.distance_limit),
            (problem.backhaul == BACKHAUL_STRICT).to(locs.dtype),
            (problem.backhaul == BACKHAUL_MIXED).to(locs.dtype),
        ],
        dim=-1,
    )
    depot = torch.cat(
        [
            locs[:, :slots],
            early[:, :slots, None],
            late[:, :slots, None],
            instance[:, None, :].expand(-1, slots, -1),
        ],
        dim=-1,
    )
    return depot, customer


class Encoder(nn.Module):
    def __init__(self, dim: int = 128, num_heads: int = 8, num_layers: int = 6, hidden: int = 512):
        super().__init__()
        self.depot_embedding = nn.Linear(NUM_DEPOT_FEATURES, dim)
        self.customer_embedding = nn.Linear(NUM_CUSTOMER_FEATURES, dim)
        self.layers = nn.ModuleList(EncoderLayer(dim, num_heads, hidden) for _ in range(num_layers))
        self.norm = RMSNorm(dim)

    def forward(self, problem: Problem, locs: torch.Tensor | None = None) -> torch.Tensor:
        """(B, N, dim) node embeddings."""
        depot, customer = node_features(problem, locs)
        x = torch.cat([self.depot_embedding(depot), self.customer_embedding(customer)], dim=1)
        attend = node_is_real(problem)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        return self.norm(x)


def node_is_real(problem: Problem) -> torch.Tensor:
    """(B, N) bool: real depots and all customers (padding depot slots excluded)."""
    customers = torch.ones(problem.batch_size, problem.num_customers, dtype=torch.bool, device=problem.device)
    return torch.cat([problem.depot_valid, customers], dim=1)
