"""The attention policy: encode once, then decode every rollout step by step in the env.

Decoding strategies: ``greedy`` and ``sampling`` (temperature, optional top-k / top-p), each
optionally multi-start (POMO: one rollout forced to start at every customer) and with 8-fold
dihedral augmentation of the coordinates. Rollouts of one instance share its static data in the
environment and its keys in the decoder; augmented copies only differ in their embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from envs.env import State, action_mask, cost, gather_rows, keep_instances, max_num_steps, reset, step
from envs.problem import Problem
from models.decoder import Decoder, DecoderCache
from models.encoder import Encoder, node_is_real
from models.features import ATTRIBUTES, check_attributes, context_features

STRATEGIES = ("greedy", "sampling")


@dataclass
class Rollouts:
    """Decoded solutions: ``R`` rollouts per instance."""

    actions: torch.Tensor  # (B, R, T)
    log_likelihood: torch.Tensor  # (B, R), sum over the steps that were chosen by the policy
    cost: torch.Tensor  # (B, R)

    def best(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Cost (B,) and actions (B, T) of each instance's best rollout."""
        best = self.cost.argmin(1)
        index = best[:, None, None].expand(-1, 1, self.actions.shape[-1])
        return self.cost.gather(1, best[:, None])[:, 0], self.actions.gather(1, index)[:, 0]


def dihedral_augment(locs: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) coordinates in the unit square -> (B, 8, N, 2), its eight symmetric images."""
    x, y = locs[..., 0], locs[..., 1]
    images = [(x, y), (y, x), (1 - x, y), (x, 1 - y), (1 - x, 1 - y), (y, 1 - x), (1 - y, x), (1 - y, 1 - x)]
    return torch.stack([torch.stack(image, dim=-1) for image in images], dim=1)


def select(
    log_probs: torch.Tensor,
    strategy: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Chooses one action per rollout from log-probabilities (B, S, N)."""
    if strategy == "greedy":
        return log_probs.argmax(-1)
    logits = log_probs / temperature
    if top_k is not None:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        sorted_logits, order = logits.sort(-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) > top_p  # keep the first past top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    # inverse-CDF sampling: one uniform per rollout (torch.multinomial draws one per action);
    # a point in (0, total] never lands on an action of probability 0
    cumulative = logits.softmax(-1).cumsum(-1)
    uniform = 1 - torch.rand(cumulative.shape[:-1] + (1,), generator=generator, device=cumulative.device)
    return (cumulative < uniform * cumulative[..., -1:]).sum(-1)


def _log_prob_of(log_probs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """``log_probs[b, s, action[b, s]]`` (B, S): an ``index_select``, whose backward keeps only the
    index (a ``gather`` keeps all of ``log_probs`` alive until the backward pass)."""
    offsets = torch.arange(action.numel(), device=action.device).view_as(action) * log_probs.shape[-1]
    return log_probs.flatten().index_select(0, (offsets + action).flatten()).view_as(action)


class Policy(nn.Module):
    """Transformer encoder and pointer decoder over the unified environment.

    ``attributes`` are the ones whose features the model reads (``None``: all of
    :data:`models.features.ATTRIBUTES`); it still decodes any variant, reading a neutral view of
    the attributes it does not know. ``neighbours > 0`` makes it matrix-aware: message passing
    over the ``neighbours`` nearest successors and predecessors of every node in the travel
    matrices, and the travel from the current node in the decoder (:mod:`models.edges`).
    ``relative_time`` feeds times relative to each instance's horizon (:mod:`models.features`).
    ``config`` holds the constructor arguments.
    """

    def __init__(self, dim: int = 128, num_heads: int = 8, num_layers: int = 6, hidden: int = 512,
                 tanh_clip: float = 10.0, attributes: list[str] | tuple[str, ...] | None = None,
                 neighbours: int = 0, relative_time: bool = False):
        super().__init__()
        self.attributes = check_attributes(ATTRIBUTES if attributes is None else attributes)
        self.relative_time = relative_time
        self.config = dict(dim=dim, num_heads=num_heads, num_layers=num_layers, hidden=hidden,
                           tanh_clip=tanh_clip, attributes=list(self.attributes), neighbours=neighbours,
                           relative_time=relative_time)
        self.encoder = Encoder(dim, num_heads, num_layers, hidden, self.attributes, neighbours, relative_time)
        self.decoder = Decoder(dim, num_heads, tanh_clip, self.attributes, travel_bias=neighbours > 0)

    def forward(
        self,
        problem: Problem,
        strategy: str = "greedy",
        multi_start: bool = True,
        augment: bool = False,
        num_samples: int = 1,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Rollouts:
        """Decodes ``problem``.

        Rollouts per instance: ``num_customers`` with ``multi_start`` (else ``num_samples``),
        times 8 with ``augment``.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown decoding strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        if strategy == "greedy" and not multi_start and num_samples != 1:
            raise ValueError("greedy decoding without multi-start gives one rollout: set num_samples=1")
        batch, slots = problem.batch_size, problem.num_depot_slots
        copies = 8 if augment else 1
        starts = problem.num_customers if multi_start else num_samples

        # encoder and decoder see batch * copies instances with ``starts`` rollouts each
        locs = dihedral_augment(problem.locs).flatten(0, 1) if augment else problem.locs
        encoded_problem = problem.map(lambda t: t.repeat_interleave(copies, 0)) if augment else problem
        embeddings = self.encoder(encoded_problem, locs)
        cache = self.decoder.precompute(embeddings, node_is_real(encoded_problem))
        del encoded_problem

        # the environment sees batch instances with copies * starts rollouts each; an instance whose
        # rollouts are all done leaves the batch (``active``): later steps only cost what still runs
        rollouts = copies * starts
        state = reset(problem, rollouts)
        first = None
        if multi_start:
            first = (slots + torch.arange(starts, device=problem.device)).repeat(copies)
            first = first.expand(batch, -1)
        active, active_problem = torch.arange(batch, device=problem.device), problem
        last_action = torch.zeros(batch, rollouts, dtype=torch.long, device=problem.device)
        actions, log_likelihood = [], torch.zeros(batch, rollouts, device=problem.device)
        while len(active):
            if state.num_steps > max_num_steps(problem):
                raise RuntimeError("decoding exceeded its step bound: the action mask is inconsistent")
            log_probs = self._log_probs(active_problem, state, cache, len(active), copies, starts)
            action = select(log_probs.detach(), strategy, temperature, top_k, top_p, generator)
            chosen = torch.ones_like(action, dtype=torch.bool)
            if first is not None and state.num_steps == 0:
                # force each start where it is feasible (a multi-depot instance may not reach
                # every customer from depot 0); elsewhere the policy chooses
                chosen = torch.isinf(log_probs.gather(-1, first[..., None])[..., 0])
                action = torch.where(chosen, action, first)
            step_log_prob = torch.where(chosen, _log_prob_of(log_probs, action), 0.0)
            log_likelihood = log_likelihood.index_add(0, active, step_log_prob)
            state = step(active_problem, state, action)
            last_action = last_action.index_copy(0, active, action)  # done rollouts stay at their depot
            actions.append(last_action)
            running = ~state.done.all(1)
            if not running.all():
                active, active_problem, state = active[running], active_problem[running], keep_instances(state, running)
                cache = DecoderCache(*(t[running.repeat_interleave(copies)] for t in vars(cache).values()))
        actions = torch.stack(actions, dim=2)
        return Rollouts(actions, log_likelihood, cost(problem, actions))

    def _log_probs(self, problem, state: State, cache, batch: int, copies: int, starts: int) -> torch.Tensor:
        """(B, copies * S, N) log-probabilities, computed on the (B * copies, S) view."""
        mask = action_mask(problem, state)

        def view(x):  # (B, copies * S, ...) -> (B * copies, S, ...): a free reshape
            return x.reshape(batch * copies, starts, *x.shape[2:])

        travel = None
        if self.decoder.travel_weights is not None:
            distance = gather_rows(problem.distance, state.current)
            duration = distance if problem.duration is problem.distance else gather_rows(problem.duration, state.current)
            travel = view(torch.stack([distance, duration], dim=-1))
        inputs = (view(state.current), view(state.route_depot), view(context_features(problem, state, self.relative_time)), view(mask), travel)
        if torch.is_grad_enabled() and any(t.requires_grad for t in vars(cache).values()):
            log_probs = self._decode_recomputed(cache, inputs)
        else:
            log_probs = self.decoder(cache, *inputs)
        return log_probs.reshape(batch, copies * starts, -1)

    def _decode_recomputed(self, cache: DecoderCache, inputs: tuple) -> torch.Tensor:
        """``self.decoder(cache, *inputs)`` without keeping the step's activations (the glimpse's
        attention weights above all) for the backward pass, which recomputes them: the memory of a
        training rollout then barely grows with its length (``scripts/bench_model.py``)."""
        tensors = tuple(vars(cache).values())

        def decode(*args):
            return self.decoder(DecoderCache(*args[: len(tensors)]), *args[len(tensors) :])

        # the reentrant form keeps less (peak 1.01 vs 1.12 GB at n = 50, 1.42 vs 1.87 GB at n = 100),
        # but DDP cannot reduce a parameter that several reentrant backward passes use
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        return checkpoint(decode, *tensors, *inputs, use_reentrant=not distributed, preserve_rng_state=False)
