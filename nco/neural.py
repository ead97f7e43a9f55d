"""The neural solver on one instance: ``Instance -> routes``.

Instances come in any units and are decoded in model units (:func:`nco.envs.units.rescale`); the
routes found are re-costed on the original data by the independent check
(:class:`nco.solution.Solution`).
"""

from __future__ import annotations

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
) -> list[list[int]]:
    """The best routes that multi-start greedy decoding (plus ``samples`` multi-start sampling
    passes) finds; with ``augment`` over the 8 dihedral images.

    At most ``max_rollouts`` rollouts run at once: larger instances decode a few images at a
    time, so memory stays bounded.
    """
    problem = Problem.from_instances([rescale(instance)])
    best_cost, best_actions = float("inf"), None
    for strategy in ["greedy"] + ["sampling"] * samples:
        decoding = Decoding(strategy, augment=augment, max_rollouts=max_rollouts)
        cost, actions = policy(problem, decoding, generator).best()
        if float(cost[0]) < best_cost:
            best_cost, best_actions = float(cost[0]), actions[0]
    return actions_to_routes(best_actions, instance.num_depots, problem.num_depot_slots)
