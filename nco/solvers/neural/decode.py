"""The neural solver on one instance: ``Instance -> routes``.

Instances come in any units and are decoded in model units (:func:`nco.envs.units.rescale`); the
routes found are re-costed on the original data by the independent check
(:class:`nco.solution.Solution`).
"""

from __future__ import annotations

from itertools import chain, count

import torch
from tqdm import tqdm

from nco.clock import Deadline, now
from nco.envs.env import actions_to_routes
from nco.envs.instance import Instance
from nco.envs.problem import Problem
from nco.envs.units import rescale
from nco.models.decoding import Decoding
from nco.models.policy import Policy
from nco.solvers.neural.pace import DeadlinePace
from nco.solvers.vehicles import best_with_vehicles, fleet_variants, limited_fleet


PROGRESS_DELAY = 3.0
"""Seconds an instance decodes before its progress bar appears."""

MIN_IMAGE_SHARE = 0.5
"""Under a deadline, a further pass begins when this share of an image's decoding time is left."""


@torch.inference_mode()
def best_routes(policy: Policy, instances: list[Instance], decoding: Decoding,
                generator: torch.Generator | None = None, pace: DeadlinePace | None = None
                ) -> list[list[list[int]]] | None:
    """The routes of each instance's best rollout in one ``decoding`` pass over ``instances`` (of
    one number of customers, decoded as one batch); ``None`` when the ``pace`` gave the pass up
    (:class:`nco.solvers.neural.pace.DeadlinePace`'s ``abandon_if_late``)."""
    problem = Problem.from_instances([rescale(instance) for instance in instances], device=policy.device)
    rollouts = policy(problem, decoding, generator, pace=pace)
    if not rollouts.cost.shape[1]:
        return None
    return [actions_to_routes(actions, problem, index) for index, actions in enumerate(rollouts.best()[1])]


@torch.inference_mode()
def solve_instance(
    policy: Policy,
    instance: Instance,
    augment: bool = True,
    samples: int | None = 0,
    max_rollouts: int = 2048,
    generator: torch.Generator | None = None,
    deadline: Deadline | None = None,
    max_starts: int | None = None,
    progress: bool = False,
) -> list[list[int]]:
    """The best routes that multi-start greedy decoding (plus ``samples`` multi-start sampling
    passes) finds; with ``augment`` over the 8 dihedral images.

    With several vehicle types each pass runs on every variant of
    :func:`nco.solvers.vehicles.fleet_variants` (the instance, and each unlimited type alone), and
    with a limited fleet (:func:`nco.solvers.vehicles.limited_fleet`) on the instance once more,
    filling routes first (:attr:`nco.models.decoding.Decoding.fill_routes`); the vehicles of each
    one's best routes are chosen again from the whole fleet
    (:func:`nco.solvers.vehicles.assign_vehicles`), and the judge picks the best.

    With a ``deadline``, each pass decodes the images that
    fit before it (the greedy pass of the instance itself at least one), and ``samples=None`` means
    sampling passes for as long as :data:`MIN_IMAGE_SHARE` of an image's time is left. At most
    ``max_rollouts`` rollouts run at once: larger instances decode a few images at a time, so memory
    stays bounded; ``max_starts`` caps the multi-start rollouts per image
    (:class:`nco.models.decoding.Decoding`). With ``progress``, a bar over the decoding passes
    appears once the instance has taken more than :data:`PROGRESS_DELAY` seconds.
    """
    if samples is None and deadline is None:
        raise ValueError("samples=None searches until a deadline: give one")
    variants = fleet_variants(instance)
    problems = [Problem.from_instances([rescale(variant)], device=policy.device) for variant in variants]
    # (problem, fill_routes): each variant, and the instance itself filling its routes where its fleet is limited
    decodes = [(which, False) for which in range(len(problems))] + [(0, True)] * limited_fleet(instance)
    best: list[tuple[float, torch.Tensor | None]] = [(float("inf"), None)] * len(decodes)
    greedy = [(which, "greedy") for which in range(len(decodes))]
    sampling = ((which, "sampling") for _ in (count() if samples is None else range(samples))
                for which in range(len(decodes)))
    per_image = 0.0  # seconds of the slowest image decoded so far
    # passes are counted in fractions: without a deadline the bar knows how many there are
    bar_format = "{desc}: {n:.1f} passes [{elapsed}]" if samples is None else \
        "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} passes [{elapsed}<{remaining}]"
    bar = tqdm(total=None if samples is None else (1 + samples) * len(decodes),
               desc=f"decoding n = {instance.num_customers}", delay=PROGRESS_DELAY, leave=False,
               disable=not progress, bar_format=bar_format)
    with bar:
        for passes, (which, strategy) in enumerate(chain(greedy, sampling)):
            began = now(deadline)
            started = best[0][1] is not None
            # a pass with half an image of time left still runs: under the deadline it goes on
            # with fewer starts, or is abandoned (:class:`nco.solvers.neural.pace.DeadlinePace`)
            if started and deadline is not None and began + MIN_IMAGE_SHARE * per_image > deadline.at:
                break
            problem, fill_routes = problems[decodes[which][0]], decodes[which][1]
            decoding = Decoding(strategy, augment=augment, max_rollouts=max_rollouts, max_starts=max_starts,
                                fill_routes=fill_routes)
            pace = None if deadline is None else DeadlinePace(deadline, abandon_if_late=started)
            report = None if not progress else lambda share, passes=passes: bar.update(passes + share - bar.n)
            rollouts = policy(problem, decoding, generator, report, pace)
            if not rollouts.cost.shape[1]:  # abandoned: it would have ended past the deadline
                break
            cost, actions = rollouts.best()
            if float(cost[0]) < best[which][0]:
                best[which] = (float(cost[0]), actions[0])
            images = rollouts.cost.shape[1] / decoding.rollouts_per_image(problem.num_customers)
            per_image = max(per_image, (now(deadline) - began) / images)
            bar.update(passes + 1 - bar.n)
    found = [actions_to_routes(actions, problems[which], 0) for (which, _), (_, actions) in zip(decodes, best)
             if actions is not None]
    return best_with_vehicles(instance, found)
