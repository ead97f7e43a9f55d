"""The neural solver on one instance: ``Instance -> routes``.

Instances come in any units and are decoded in model units (:func:`nco.envs.units.rescale`); the
routes found are re-costed on the original data by the independent check
(:class:`nco.solution.Solution`).
"""

from __future__ import annotations

import time
from itertools import chain, repeat

import torch

from nco.envs.env import actions_to_routes
from nco.envs.instance import Instance
from nco.envs.problem import Problem
from nco.envs.units import rescale
from nco.models.decoding import Decoding
from nco.models.policy import Policy


@torch.inference_mode()
def solve_instance(
    policy: Policy,
    instance: Instance,
    augment: bool = True,
    samples: int = 0,
    max_rollouts: int = 2048,
    generator: torch.Generator | None = None,
    deadline: float | None = None,
    max_starts: int | None = None,
) -> list[list[int]]:
    """The best routes that multi-start greedy decoding (plus ``samples`` multi-start sampling
    passes) finds; with ``augment`` over the 8 dihedral images.

    With a ``deadline`` (a :func:`time.perf_counter` value), sampling passes follow the greedy one
    for as long as another pass, as long as the longest so far, ends before it (``samples`` is
    then ignored). At most ``max_rollouts`` rollouts run at once: larger instances decode a few
    images at a time, so memory stays bounded; ``max_starts`` caps the multi-start rollouts per
    image (:class:`nco.models.decoding.Decoding`).
    """
    problem = Problem.from_instances([rescale(instance)], device=policy.device)
    best_cost, best_actions = float("inf"), None
    strategies = ["greedy"] + ["sampling"] * samples if deadline is None else chain(["greedy"], repeat("sampling"))
    longest = 0.0
    for strategy in strategies:
        began = time.perf_counter()
        if best_actions is not None and deadline is not None and began + longest > deadline:
            break
        decoding = Decoding(strategy, augment=augment, max_rollouts=max_rollouts, max_starts=max_starts)
        cost, actions = policy(problem, decoding, generator).best()
        if float(cost[0]) < best_cost:
            best_cost, best_actions = float(cost[0]), actions[0]
        longest = max(longest, time.perf_counter() - began)
    return actions_to_routes(best_actions, instance.num_depots, problem.num_depot_slots)
