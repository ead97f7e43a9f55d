"""Evaluation of a policy on generated instances, judged by the independent check."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nco.envs.check import check_solution
from nco.envs.env import State, actions_to_routes, rollout
from nco.envs.generator import generate
from nco.envs.problem import Problem
from nco.envs.variants import resolve_variants
from nco.models.decoding import Decoding
from nco.models.policy import Policy
from nco.solvers import SOLVERS


@dataclass
class VariantResult:
    variant: str
    instances: int
    cost: float
    seconds: float
    feasible_share: float
    gap: float | None = None  # mean % gap to the reference, when one is given
    costs: np.ndarray | None = None


def nearest_neighbour_rollout(problem: Problem) -> torch.Tensor:
    """Actions (B, 1, T) of the nearest-neighbour construction: the nearest feasible customer,
    else back to the depot (the nearest useful one for the next route)."""
    slots = problem.num_depot_slots

    def choose(active: Problem, state: State, mask: torch.Tensor) -> torch.Tensor:
        distance = state.distance_from_current
        customers_open = mask[..., slots:].any(-1, keepdim=True)
        choice = distance.masked_fill(~mask, float("inf"))
        choice[..., :slots] = choice[..., :slots].masked_fill(customers_open, float("inf"))
        return choice.argmin(-1)

    return rollout(problem, choose)


def judge(problem: Problem, actions: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Costs and feasibility (B,) of one action sequence per instance, per the independent check."""
    costs, feasible = [], []
    for index in range(problem.batch_size):
        instance = problem.instance(index)
        routes = actions_to_routes(actions[index], problem, index)
        result = check_solution(instance, routes)
        costs.append(result.cost)
        feasible.append(result.feasible)
    return np.array(costs), np.array(feasible)


def read_reference(path: str | Path) -> dict[str, torch.Tensor]:
    """Reference costs per variant, indexed by instance number, from a CSV with columns
    ``variant,index,cost``, or from the ``results.csv`` of ``nco compare`` on generated instances
    (named ``<variant>-n<size>-<index>``), taking each instance's best feasible baseline cost."""
    classical = set(SOLVERS) - {"neural"}  # neural rows may carry any --neural-name

    rows: dict[str, dict[int, float]] = {}
    try:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                if "index" in row:
                    rows.setdefault(row["variant"], {})[int(row["index"])] = float(row["cost"])
                elif row["solver"] in classical and row["feasible"] == "True":
                    index = int(row["instance"].rsplit("-", 1)[1])
                    best = rows.setdefault(row["variant"], {}).get(index, float("inf"))
                    rows[row["variant"]][index] = min(best, float(row["cost"]))
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise ValueError(
            f"{path}: not a reference CSV (columns variant,index,cost, or the results.csv of nco compare) "
            f"({type(error).__name__}: {error})"
        ) from None
    return {v: torch.tensor([c[i] for i in sorted(c)]) for v, c in rows.items()}


@torch.inference_mode()
def evaluate(
    policy: Policy | None,
    variants,
    num_customers: int,
    num_instances: int,
    seed: int = 12345,
    augment: bool = False,
    batch_size: int = 64,
    reference: dict[str, torch.Tensor] | None = None,
    distribution: str = "variants_md",
) -> list[VariantResult]:
    """Per-variant results on ``num_instances`` fresh instances of each variant of
    ``distribution`` (a preset of :mod:`nco.envs.distribution`).

    ``policy=None`` evaluates the nearest-neighbour construction instead.
    """
    results = []
    for variant in resolve_variants(variants):
        problem = generate(num_instances, num_customers, [variant], seed=seed + variant.index,
                           distribution=distribution)
        best_actions, seconds = [], 0.0
        for start in range(0, num_instances, batch_size):
            chunk = problem[slice(start, start + batch_size)]
            began = time.perf_counter()
            if policy is None:
                actions = nearest_neighbour_rollout(chunk)[:, 0]
            else:
                actions = policy(chunk, Decoding(augment=augment)).best()[1]
            seconds += time.perf_counter() - began
            best_actions.append(actions)
        width = max(a.shape[-1] for a in best_actions)
        padded = [torch.nn.functional.pad(a, (0, width - a.shape[-1]), value=0) for a in best_actions]
        costs, feasible = judge(problem, torch.cat(padded))
        gap = None
        if reference is not None and variant.name in reference:
            gap = float(np.mean(costs / reference[variant.name][:num_instances].numpy() - 1) * 100)
        results.append(VariantResult(variant.name, num_instances, float(costs.mean()), seconds,
                                     float(feasible.mean()), gap, costs))
    return results


def format_table(results: list[VariantResult], baseline: list[VariantResult] | None = None) -> str:
    header = "| variant | instances | mean cost | gap to reference | instances/s | feasible |"
    rule = "|---|---|---|---|---|---|"
    if baseline is not None:
        header += " nearest neighbour | improvement |"
        rule += "---|---|"
    lines = [header, rule]
    for index, r in enumerate(results):
        gap = "-" if r.gap is None else f"{r.gap:.2f}%"
        line = (f"| {r.variant} | {r.instances} | {r.cost:.4f} | {gap} | {r.instances / r.seconds:.1f} "
                f"| {100 * r.feasible_share:.0f}% |")
        if baseline is not None:
            b = baseline[index]
            line += f" {b.cost:.4f} | {100 * (1 - r.cost / b.cost):.1f}% |"
        lines.append(line)
    return "\n".join(lines)
