"""The product's demonstration, run by ``make run``."""

from __future__ import annotations

import time

import torch

from envs.check import check_solution
from envs.env import actions_to_routes, random_rollout
from envs.generator import generate
from envs.variants import ALL16


def run_demo(num_instances: int = 256, num_customers: int = 20, seed: int = 1) -> None:
    """Random-policy rollouts on a mixed all16 batch, judged by the independent check."""
    problem = generate(num_instances, num_customers, "all16", seed=seed)
    start = time.perf_counter()
    actions = random_rollout(problem, 1, torch.Generator().manual_seed(seed))
    seconds = time.perf_counter() - start
    per_variant: dict[str, list[float]] = {}
    infeasible = 0
    for index, variant in enumerate(problem.variants()):
        instance = problem.instance(index)
        routes = actions_to_routes(actions[index, 0], instance.num_depots, problem.num_depot_slots)
        result = check_solution(instance, routes)
        infeasible += not result.feasible
        per_variant.setdefault(variant.name, []).append(result.cost)
    print(f"random feasible policy on {num_instances} mixed instances, n = {num_customers} "
          f"({seconds:.2f} s, {infeasible} infeasible per the independent check)")
    print(f"{'variant':<10} {'instances':>9} {'mean cost':>10}")
    for variant in ALL16:
        costs = per_variant.get(variant.name, [])
        if costs:
            print(f"{variant.name:<10} {len(costs):>9} {sum(costs) / len(costs):>10.3f}")
