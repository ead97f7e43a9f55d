"""The neural solver on one instance: ``Instance -> routes``.

Instances come in any units. Coordinates are shifted and divided by one factor (their largest
extent, so the aspect ratio is kept) into the unit square the model was trained on; travel
(matrices, time windows, service times, the distance limit) is divided by one travel factor: the
same factor for Euclidean instances, and for explicit matrices the factor that gives the matrix
the mean of the unit-square Euclidean distances. Demands are compared with the capacity as they
are. The routes found are re-costed on the original data by the independent check
(:class:`nco.solution.Solution`).
"""

from __future__ import annotations

import torch

from envs.env import actions_to_routes
from envs.instance import Instance
from envs.matrix_pool import model_units
from envs.problem import Problem
from models.decoding import Decoding
from models.policy import Policy


def rescale(instance: Instance) -> Instance:
    """The instance in model units (:func:`envs.matrix_pool.model_units`): coordinates in the
    unit square, travel, windows, service times and the length limit scaled alike."""
    unit, travel = model_units(instance.coords, instance.distance_matrix)

    def scaled(matrix):
        return None if matrix is None else matrix / travel

    return instance.replace(
        coords=unit,
        distance_matrix=scaled(instance.distance_matrix),
        duration_matrix=scaled(instance.duration_matrix),
        time_windows=instance.time_windows / travel,
        service_time=instance.service_time / travel,
        distance_limit=instance.distance_limit / travel,
    )


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
