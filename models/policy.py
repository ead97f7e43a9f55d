"""The attention policy: encode once, then decode every rollout step by step in the env.

Decoding strategies: ``greedy`` and ``sampling`` (temperature, optional top-k / top-p), each
optionally multi-start (POMO: one rollout forced to start at every customer) and with 8-fold
dihedral augmentation of the coordinates. Rollouts of one instance share its static data in the
environment and its keys in the decoder; augmented copies only differ in their embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from nco.envs.env import State, cost, gather_rows, rollout
from nco.envs.problem import Problem
from nco.envs.targets import RouteTargets
from nco.models.decoder import Decoder, DecoderCache
from nco.models.decoding import Decoding, Pace
from nco.models.encoder import Encoder, node_is_real
from nco.models.features import ATTRIBUTES, check_attributes, context_features, instance_context
from nco.models.local_view import neighbour_order


@dataclass
class Rollouts:
    """Decoded solutions: ``R`` rollouts per instance."""

    actions: torch.Tensor  # (B, R, T)
    log_likelihood: torch.Tensor  # (B, R), sum over the steps that were chosen by the policy
    cost: torch.Tensor  # (B, R)

    def best(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Cost (B,) and actions (B, T) of each instance's best rollout (the first of equals)."""
        best = self.cost.argmin(1)
        index = best[:, None, None].expand(-1, 1, self.actions.shape[-1])
        return self.cost.gather(1, best[:, None])[:, 0], self.actions.gather(1, index)[:, 0]

    @staticmethod
    def concatenate(parts: list[Rollouts]) -> Rollouts:
        """The rollouts of several passes over the same instances, side by side; shorter action
        sequences are padded with their last action (a depot: no further travel)."""
        if len(parts) == 1:
            return parts[0]
        length = max(part.actions.shape[-1] for part in parts)
        actions = [torch.cat([p.actions, p.actions[..., -1:].expand(-1, -1, length - p.actions.shape[-1])], dim=-1)
                   for p in parts]
        return Rollouts(torch.cat(actions, dim=1), torch.cat([p.log_likelihood for p in parts], dim=1),
                        torch.cat([p.cost for p in parts], dim=1))


@dataclass
class TeacherForced:
    """The labelled routes of ``B`` instances as the policy sees them
    (:meth:`Policy.teacher_forced`)."""

    actions: torch.Tensor  # (B, T) the rollout's actions
    log_likelihood: torch.Tensor  # (B,), summed over the decisions (steps with more than one feasible action)
    decisions: torch.Tensor  # (B,) float: how many
    on_label: torch.Tensor  # (B,) bool: the environment followed the label to its end

    def loss(self) -> torch.Tensor:
        """The mean negative log-likelihood per decision of the instances that stayed on their label."""
        per_instance = -self.log_likelihood / self.decisions.clamp(min=1)
        kept = self.on_label.float()
        return (per_instance * kept).sum() / kept.sum().clamp(min=1)


PROGRESS_EVERY = 16
"""Decoding steps between two progress reports of :meth:`Policy.forward`."""


def dihedral_augment(locs: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) coordinates in the unit square -> (B, 8, N, 2), its eight symmetric images."""
    x, y = locs[..., 0], locs[..., 1]
    images = [(x, y), (y, x), (1 - x, y), (x, 1 - y), (1 - x, 1 - y), (y, 1 - x), (1 - y, x), (1 - y, 1 - x)]
    return torch.stack([torch.stack(image, dim=-1) for image in images], dim=1)


def _log_prob_of(log_probs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """``log_probs[b, s, action[b, s]]`` (B, S): an ``index_select``, whose backward keeps only the
    index (a ``gather`` keeps all of ``log_probs`` alive until the backward pass)."""
    offsets = torch.arange(action.numel(), device=action.device).view_as(action) * log_probs.shape[-1]
    return log_probs.flatten().index_select(0, (offsets + action).flatten()).view_as(action)


class Policy(nn.Module):
    """Transformer encoder and pointer decoder over the unified environment.

    ``attributes`` are the ones whose features the model reads (``None``: all of
    :data:`nco.models.features.ATTRIBUTES`); it still decodes any variant, reading a neutral view of
    the attributes it does not know. ``neighbours > 0`` makes it matrix-aware: message passing
    over the ``neighbours`` nearest successors and predecessors of every node in the travel
    matrices, and the travel from the current node in the decoder (:mod:`nco.models.edges`).
    ``relative_time`` feeds times relative to each instance's horizon (:mod:`nco.models.features`).
    ``local_view > 0`` adds the decoder's size-invariant view of that many nearest feasible nodes
    (:mod:`nco.models.local_view`). ``refinement > 0`` adds a feed-forward layer of that many hidden
    units after the decoder's glimpse (:class:`nco.models.decoder.Refinement`). ``config`` holds the
    constructor arguments.
    """

    def __init__(self, dim: int = 128, num_heads: int = 8, num_layers: int = 6, hidden: int = 512,
                 tanh_clip: float = 10.0, attributes: list[str] | tuple[str, ...] | None = None,
                 neighbours: int = 0, relative_time: bool = False, local_view: int = 0,
                 refinement: int = 0):
        super().__init__()
        self.attributes = check_attributes(ATTRIBUTES if attributes is None else attributes)
        self.relative_time = relative_time
        self.config = dict(dim=dim, num_heads=num_heads, num_layers=num_layers, hidden=hidden,
                           tanh_clip=tanh_clip, attributes=list(self.attributes), neighbours=neighbours,
                           relative_time=relative_time, local_view=local_view, refinement=refinement)
        self.encoder = Encoder(dim, num_heads, num_layers, hidden, self.attributes, neighbours, relative_time)
        self.decoder = Decoder(dim, num_heads, tanh_clip, self.attributes, travel_bias=neighbours > 0,
                               local_view=local_view, refinement=refinement)

    @property
    def device(self) -> torch.device:
        """Where the weights are (and where problems to decode must be)."""
        return next(self.parameters()).device

    def forward(self, problem: Problem, decoding: Decoding = Decoding(),
                generator: torch.Generator | None = None,
                progress: Callable[[float], None] | None = None, pace: Pace | None = None) -> Rollouts:
        """Decodes ``problem`` as ``decoding`` says (:class:`nco.models.decoding.Decoding`).

        Rollouts per instance: ``num_customers`` (at most ``max_starts``) with ``multi_start``
        (else ``num_samples``), times 8 with ``augment``, in image order; a ``pace`` decides how
        many images and starts are decoded (:class:`nco.models.decoding.Pace`), and none when
        it gave the first images up. ``progress`` is told every few steps what share of the
        images is decoded (the customers that the slowest rollout has served, per pass of images).
        """
        starts = decoding.rollouts_per_image(problem.num_customers)
        images = dihedral_augment(problem.locs) if decoding.augment else problem.locs[:, None]
        per_pass = images.shape[1]
        if decoding.max_rollouts is not None:
            per_pass = max(1, min(per_pass, decoding.max_rollouts // starts))
        parts, done = [], 0
        while done < images.shape[1]:
            count = min(per_pass, images.shape[1] - done)
            if pace is not None:
                count = pace.images(done, count)
                if count < 1:
                    break
                pace.begin_images()
            report = None if progress is None else \
                lambda share, done=done, count=count: progress((done + share * count) / images.shape[1])
            part = self._decode(problem, images[:, done : done + count], starts, decoding, generator, report, pace)
            if not part.cost.shape[1]:  # given up: the pace leaves no time for these images
                parts = parts or [part]
                break
            parts.append(part)
            done += count
        return Rollouts.concatenate(parts)

    def _decode(self, problem: Problem, images: torch.Tensor, starts: int, decoding: Decoding,
                generator: torch.Generator | None, progress: Callable[[float], None] | None,
                pace: Pace | None) -> Rollouts:
        """Rollouts of the ``copies`` images (B, copies, N, 2) of the coordinates, ``starts`` each."""
        batch, copies = problem.batch_size, images.shape[1]
        # encoder and decoder see batch * copies instances with ``starts`` rollouts each
        encoded_problem = problem if copies == 1 else problem.map(lambda t: t.repeat_interleave(copies, 0))
        cache = self.decoder.precompute(self.encoder(encoded_problem, images.flatten(0, 1)),
                                        node_is_real(encoded_problem))
        del encoded_problem
        # the local view's neighbours of every node, by distance (the same for every image), and
        # the per-instance terms of the context features
        order = None if self.decoder.local_view is None else neighbour_order(problem.distance)
        context = instance_context(problem, self.relative_time)

        # the environment sees batch instances with copies * starts rollouts each
        first = None
        if decoding.multi_start:  # every customer, or evenly spread ones
            spread = torch.linspace(0, problem.num_customers - 1, starts, device=problem.device).round().long()
            first = (problem.num_depot_slots + spread).repeat(copies).expand(batch, -1)
        active = torch.arange(batch, device=problem.device)
        log_likelihood = torch.zeros(batch, copies * starts, device=problem.device)

        def choose(active_problem: Problem, state: State, mask: torch.Tensor) -> torch.Tensor:
            nonlocal log_likelihood
            mask = decoding.restrict(mask, state.current, problem.num_depot_slots)
            log_probs = self._log_probs(active_problem, state, mask, cache, order, context, len(active), copies, starts)
            action = decoding.select(log_probs.detach(), generator)
            # a forced start has probability 1 (its mask allows nothing else): it adds nothing
            log_likelihood = log_likelihood.index_add(0, active, _log_prob_of(log_probs, action))
            if progress is not None and state.num_steps % PROGRESS_EVERY == 0:
                progress(float(state.num_served.min()) / problem.num_customers)
            return action

        def on_drop(running: torch.Tensor) -> None:
            nonlocal active, cache, order, context
            active, cache, context = active[running], cache.keep(running.repeat_interleave(copies)), context[running]
            order = None if order is None else order[running]

        def trim(state: State) -> torch.Tensor | None:  # fewer starts (or none) where the pace says so
            nonlocal starts, log_likelihood
            keep = None if pace is None else \
                pace.starts_to_keep(state.num_steps, int(state.num_served.min()), problem.num_customers, starts)
            if keep is None or keep >= starts:
                return None
            if keep < 1:
                starts, log_likelihood = 0, log_likelihood[:, :0]
                return torch.zeros(0, dtype=torch.long, device=problem.device)
            chosen = torch.linspace(0, starts - 1, keep, device=problem.device).round().long()  # evenly spread
            kept = (torch.arange(copies, device=problem.device)[:, None] * starts + chosen).flatten()
            starts, log_likelihood = keep, log_likelihood[:, kept]
            return kept

        actions = rollout(problem, choose, copies * starts, starts=first, on_drop=on_drop, trim=trim)
        return Rollouts(actions, log_likelihood, cost(problem, actions))

    def teacher_forced(self, problem: Problem, targets: RouteTargets,
                       images: torch.Tensor | None = None) -> TeacherForced:
        """Decodes one rollout per instance along its labelled routes (``targets``), and returns
        the log-likelihood the policy gives them.

        Where several actions keep a rollout on its label (another route next, a route run
        backwards: :mod:`nco.envs.targets`), a step's likelihood is the probability of all of
        them together, and the rollout goes on with the one the policy finds most likely. A
        rollout whose label the environment refuses (a float32 rounding at a window's edge) goes
        on with the policy's choice, and is reported off its label. ``images`` (B, 1, N, 2):
        the coordinates the encoder sees (e.g. a dihedral image; default the problem's own).
        """
        batch = problem.batch_size
        images = problem.locs[:, None] if images is None else images
        cache = self.decoder.precompute(self.encoder(problem, images.flatten(0, 1)), node_is_real(problem))
        order = None if self.decoder.local_view is None else neighbour_order(problem.distance)
        context = instance_context(problem, self.relative_time)
        active = torch.arange(batch, device=problem.device)
        labels = targets.start(1)
        log_likelihood = torch.zeros(batch, device=problem.device)
        decisions = torch.zeros(batch, device=problem.device)
        on_label = torch.ones(batch, dtype=torch.bool, device=problem.device)

        def choose(active_problem: Problem, state: State, mask: torch.Tensor) -> torch.Tensor:
            nonlocal labels, log_likelihood, decisions, on_label
            log_probs = self._log_probs(active_problem, state, mask, cache, order, context, len(active), 1, 1)
            wanted = labels.targets(active_problem, state) & mask
            choice = mask.sum(-1) > 1
            lost = ~wanted.any(-1)
            wanted = torch.where(lost[..., None], mask, wanted)
            step_likelihood = log_probs.masked_fill(~wanted, float("-inf")).logsumexp(-1)
            log_likelihood = log_likelihood.index_add(0, active, torch.where(choice, step_likelihood, 0.0)[:, 0])
            decisions = decisions.index_add(0, active, choice[:, 0].float())
            on_label = on_label.index_put((active,), on_label[active] & ~(lost & choice)[:, 0])
            action = log_probs.detach().masked_fill(~wanted, float("-inf")).argmax(-1)
            labels = labels.after(state, action, active_problem.num_depot_slots)
            return action

        def on_drop(running: torch.Tensor) -> None:
            nonlocal active, cache, order, context, labels
            active, cache, context, labels = active[running], cache.keep(running), context[running], labels.keep(running)
            order = None if order is None else order[running]

        actions = rollout(problem, choose, 1, on_drop=on_drop)[:, 0]
        return TeacherForced(actions, log_likelihood, decisions, on_label)

    def _log_probs(self, problem: Problem, state: State, mask: torch.Tensor, cache: DecoderCache,
                   order: torch.Tensor | None, context: torch.Tensor, batch: int, copies: int,
                   starts: int) -> torch.Tensor:
        """(B, copies * S, N) log-probabilities, computed on the (B * copies, S) view; ``order``
        (B, N, N): :func:`nco.models.local_view.neighbour_order` of the problem (``local_view``),
        ``context`` (B, 5): its :func:`nco.models.features.instance_context`."""

        def view(x):  # (B, copies * S, ...) -> (B * copies, S, ...): a free reshape
            return x.reshape(batch * copies, starts, *x.shape[2:])

        travel = distance = order_rows = None
        if self.decoder.travel_weights is not None:
            travel = view(torch.stack([state.distance_from_current, state.duration_from_current], dim=-1))
        if order is not None:
            distance, order_rows = view(state.distance_from_current), view(gather_rows(order, state.current))
        inputs = (view(state.current), view(state.route_depot), view(context_features(state, context, problem)),
                  view(mask), travel, distance, order_rows, problem.num_depot_slots)
        if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in vars(cache).values()):
            log_probs = self._decode_recomputed(cache, inputs)
        else:
            log_probs = self.decoder(cache, *inputs)
        return log_probs.reshape(batch, copies * starts, -1)

    def _decode_recomputed(self, cache: DecoderCache, inputs: tuple) -> torch.Tensor:
        """``self.decoder(cache, *inputs)`` without keeping the step's activations (the glimpse's
        attention weights above all) for the backward pass, which recomputes them: the memory of a
        training rollout then barely grows with its length (``scripts/bench.py model``)."""
        names, tensors = zip(*vars(cache).items())

        def decode(*args):
            return self.decoder(DecoderCache(**dict(zip(names, args))), *args[len(tensors) :])

        # the reentrant form keeps less (peak 1.01 vs 1.12 GB at n = 50, 1.42 vs 1.87 GB at n = 100),
        # but DDP cannot reduce a parameter that several reentrant backward passes use
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        return checkpoint(decode, *tensors, *inputs, use_reentrant=not distributed, preserve_rng_state=False)
