"""The pointer decoder: an 8-head glimpse, then a single-head pointer with tanh clipping.

Keys and values are computed once per instance (``Decoder.precompute``), already scaled and
transposed, and shared by every rollout of that instance: the rollouts are the queries of one
attention product. The glimpse is written out (matmul, additive mask, softmax, matmul) rather than
``scaled_dot_product_attention``: the written-out decoder decodes greedily faster on CPU
(measured: docs/constants.md), and in training no activation of it is kept: the policy recomputes
each decoding step in the backward pass (``nco.models.policy``). A matrix-aware decoder
(``travel_bias``) adds a learned multiple of the distance and the travel time from the current node
to each candidate's logit: it sees the true, possibly asymmetric, travel. A decoder with a local
view (``local_view``, :mod:`nco.models.local_view`) adds size-invariant scores of the nearest
feasible nodes. A decoder with a refinement (``refinement``, ReLD's light-decoder change: Huang et
al., ICLR 2025) adds a feed-forward layer to the glimpse's output before the pointer, reading the
glimpse and the query (ReLD's identity mapping of the context); its output layer starts at zero, so
a trained model extended with it starts where it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nco.envs.env import gather_rows
from nco.models.features import ATTRIBUTES, CONTEXT_FEATURES, feature_columns
from nco.models.layers import merge_heads, split_heads
from nco.models.local_view import LocalView


@dataclass
class DecoderCache:
    """Tensors computed once before the decoding loop, per instance but for the local view's."""

    current_queries: torch.Tensor  # (B, N, D) query part of each node as the current node
    depot_queries: torch.Tensor  # (B, N, D) query part of each node as the route's depot
    graph: torch.Tensor  # (B, 1, D) projected graph context
    glimpse_keys: torch.Tensor  # (B, H, D / H, N) transposed, scaled by 1 / sqrt(D / H)
    glimpse_values: torch.Tensor  # (B, H, N, D / H)
    pointer_keys: torch.Tensor  # (B, D, N) transposed, scaled by 1 / sqrt(D), with the glimpse's
    # output projection folded in (without a refinement, which reads the projected glimpse)
    view_kinks: torch.Tensor | None = None  # the local view's tables (LocalView.tables), shared by
    view_pieces: torch.Tensor | None = None  # every instance

    def keep(self, keep: torch.Tensor) -> DecoderCache:
        """The cache of the instances selected by ``keep`` (a (B,) bool mask or index)."""
        shared = ("view_kinks", "view_pieces")
        return DecoderCache(**{name: value if name in shared else value[keep] for name, value in vars(self).items()})


class Decoder(nn.Module):
    def __init__(self, dim: int = 128, num_heads: int = 8, tanh_clip: float = 10.0,
                 attributes: tuple[str, ...] = ATTRIBUTES, travel_bias: bool = False, local_view: int = 0,
                 refinement: int = 0):
        super().__init__()
        context_columns = feature_columns(CONTEXT_FEATURES, attributes)
        self.register_buffer("context_columns", torch.tensor(context_columns), persistent=False)
        self.num_heads = num_heads
        self.tanh_clip = tanh_clip
        self.keys_values = nn.Linear(dim, 3 * dim, bias=False)
        self.graph_projection = nn.Linear(dim, dim, bias=False)
        self.node_projection = nn.Linear(2 * dim, dim, bias=False)  # [current node, route's depot]
        self.context_projection = nn.Linear(len(context_columns), dim, bias=False)
        self.glimpse_out = nn.Linear(dim, dim, bias=False)
        self.travel_weights = nn.Parameter(torch.zeros(2)) if travel_bias else None
        self.local_view = LocalView(local_view) if local_view else None
        self.refinement = Refinement(dim, refinement) if refinement else None

    def precompute(self, embeddings: torch.Tensor, is_real: torch.Tensor) -> DecoderCache:
        """``is_real`` (B, N): nodes that count in the graph mean (padding excluded)."""
        weights = is_real.to(embeddings.dtype)[..., None]
        graph = (embeddings * weights).sum(1, keepdim=True) / weights.sum(1, keepdim=True)
        glimpse_keys, glimpse_values, pointer_keys = self.keys_values(embeddings).chunk(3, dim=-1)
        # the query is linear in the current node's and the route depot's embeddings: project
        # every node once here and only gather in the decoding loop
        current_weight, depot_weight = self.node_projection.weight.chunk(2, dim=1)
        dim, head_dim = embeddings.shape[-1], embeddings.shape[-1] // self.num_heads
        if self.refinement is None:
            # logits = (g W^T) K^T = g (K W)^T: the glimpse's output projection W moves from every
            # rollout and step to the keys, once per instance
            pointer_keys = pointer_keys @ self.glimpse_out.weight
        return DecoderCache(
            current_queries=embeddings @ current_weight.T,
            depot_queries=embeddings @ depot_weight.T,
            graph=self.graph_projection(graph),
            glimpse_keys=(split_heads(glimpse_keys, self.num_heads) / math.sqrt(head_dim)).transpose(2, 3).contiguous(),
            glimpse_values=split_heads(glimpse_values, self.num_heads).contiguous(),
            pointer_keys=(pointer_keys / math.sqrt(dim)).transpose(1, 2).contiguous(),
            **({} if self.local_view is None else dict(zip(("view_kinks", "view_pieces"), self.local_view.tables()))),
        )

    def forward(
        self,
        cache: DecoderCache,
        current: torch.Tensor,
        route_depot: torch.Tensor,
        features: torch.Tensor,
        mask: torch.Tensor,
        travel: torch.Tensor | None = None,
        distance: torch.Tensor | None = None,
        order: torch.Tensor | None = None,
        num_depot_slots: int = 1,
    ) -> torch.Tensor:
        """Log-probabilities (B, S, N) over the next action of each rollout.

        ``current``, ``route_depot`` (B, S) node indices, ``features`` (B, S, 8) every context
        feature (:func:`nco.models.features.context_features`), ``mask`` (B, S, N) feasible actions,
        ``travel`` (B, S, N, 2) distance and travel time from the current node (``travel_bias``),
        ``distance`` (B, S, N) from the current node, ``order`` (B, S, N) the nodes by that distance
        and ``num_depot_slots`` (``local_view``).
        """
        query = (
            cache.graph
            + gather_rows(cache.current_queries, current)
            + gather_rows(cache.depot_queries, route_depot)
            + self.context_projection(features[..., self.context_columns])
        )
        blocked = torch.where(mask, 0.0, float("-inf")).to(query.dtype)
        glimpse = self.glimpse(cache, query, blocked)
        if self.refinement is not None:
            glimpse = self.glimpse_out(glimpse)
            glimpse = glimpse + self.refinement(glimpse + query)
        scores = glimpse @ cache.pointer_keys
        if self.local_view is not None:
            scores = scores + self.local_view(distance, order, mask, num_depot_slots, cache.view_kinks, cache.view_pieces)
        logits = self.tanh_clip * torch.tanh(scores)
        if self.travel_weights is not None:
            logits = logits + travel @ self.travel_weights
        return torch.log_softmax(logits + blocked, dim=-1)

    def glimpse(self, cache: DecoderCache, query: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        """Multi-head attention (B, S, D) of the queries (B, S, D) over the nodes; ``blocked``
        (B, S, N) is 0 for a feasible node and -inf for the others."""
        scores = split_heads(query, self.num_heads) @ cache.glimpse_keys + blocked[:, None]
        return merge_heads(scores.softmax(-1) @ cache.glimpse_values)


class Refinement(nn.Module):
    """ReLD's feed-forward layer after the glimpse: ``Linear -> ReLU -> Linear`` of the projected
    glimpse plus the query, added to the glimpse. The last layer starts at zero (no change)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        if hidden < 1:
            raise ValueError(f"a refinement of {hidden} hidden units: give at least 1 (such as 512)")
        self.layers = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers(inputs)
