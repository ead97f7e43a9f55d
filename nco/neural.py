"""The neural solver on one instance: ``Instance -> routes``.

Instances come in any units and are decoded in model units (:func:`nco.envs.units.rescale`); the
routes found are re-costed on the original data by the independent check
(:class:`nco.solution.Solution`).
"""

from __future__ import annotations

import time
from itertools import chain, repeat

import torch
from tqdm import tqdm

from nco.envs.env import actions_to_routes
from nco.envs.instance import Instance
from nco.envs.problem import Problem
from nco.envs.units import rescale
from nco.models.decoding import Decoding
from nco.models.policy import Policy


PROGRESS_DELAY = 3.0
"""Seconds an instance decodes before its progress bar appears."""


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
    progress: bool = False,
) -> list[list[int]]:
    """The best routes that multi-start greedy decoding (plus ``samples`` multi-start sampling
    passes) finds; with ``augment`` over the 8 dihedral images.

    With a ``deadline`` (a :func:`time.perf_counter` value), sampling passes follow the greedy one
    for as long as another pass, as long as the longest so far, ends before it (``samples`` is
    then ignored). At most ``max_rollouts`` rollouts run at once: larger instances decode a few
    images at a time, so memory stays bounded; ``max_starts`` caps the multi-start rollouts per
    image (:class:`nco.models.decoding.Decoding`). With ``progress``, a bar over the decoding
    passes appears once the instance has taken more than :data:`PROGRESS_DELAY` seconds.
    """
    problem = Problem.from_instances([rescale(instance)], device=policy.device)
    best_cost, best_actions = float("inf"), None
    strategies = ["greedy"] + ["sampling"] * samples if deadline is None else chain(["greedy"], repeat("sampling"))
    longest = 0.0
    # passes are counted in fractions: without a deadline the bar knows how many there are
    bar_format = "{desc}: {n:.1f} passes [{elapsed}]" if deadline is not None else \
        "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} passes [{elapsed}<{remaining}]"
    bar = tqdm(total=1 + samples if deadline is None else None, desc=f"decoding n = {instance.num_customers}",
               delay=PROGRESS_DELAY, leave=False, disable=not progress, bar_format=bar_format)
    with bar:
        for passes, strategy in enumerate(strategies):
            began = time.perf_counter()
            if best_actions is not None and deadline is not None and began + longest > deadline:
                break
            decoding = Decoding(strategy, augment=augment, max_rollouts=max_rollouts, max_starts=max_starts)
            report = None if not progress else lambda share, passes=passes: bar.update(passes + share - bar.n)
            cost, actions = policy(problem, decoding, generator, report).best()
            if float(cost[0]) < best_cost:
                best_cost, best_actions = float(cost[0]), actions[0]
            longest = max(longest, time.perf_counter() - began)
            bar.update(passes + 1 - bar.n)
    return actions_to_routes(best_actions, instance.num_depots, problem.num_depot_slots)
