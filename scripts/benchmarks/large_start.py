"""Where the re-construction of a large instance starts: one route per customer, or one decoded image.

    python scripts/bench.py large-start [--out docs/results/large/start-ablation.csv]

Generated instances of all 48 variants, one thread, the shipped models, ``nco.solve`` without a
time limit: 16 instances of each preset (``broad``, ``variants_md``) at n = 250, 8 of each at n =
500 and 4 ``broad`` ones at n = 1000. Three settings per instance:

- ``singletons``: one round of neighbourhoods from one route per customer (the default before
  2026-12-05, and still above :data:`nco.solvers.neural.reconstruct.START_DECODED_UP_TO` customers);
- ``image``: one image decoded whole with :data:`nco.solvers.neural.reconstruct.WHOLE_DECODING_STARTS` starts,
  alone;
- ``image + round``: one round of neighbourhoods from that image's routes (the default).

Prints the mean gap to the best of the three per size and preset, and the mean time, and writes
one row per run.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from pathlib import Path

import torch

import nco
import nco.solvers.neural.reconstruct
from nco.checkpoints import shipped_checkpoint
from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.solvers.neural.decode import solve_instance

SETS = [("broad", 250, 16, 11), ("variants_md", 250, 16, 11), ("broad", 500, 8, 21), ("variants_md", 500, 8, 21),
        ("broad", 1000, 4, 31)]
"""(preset, customers, instances, seed) of each generated set."""
SETTINGS = ("singletons", "image", "image + round")


def run(setting: str, instance) -> tuple[float, bool, float]:
    """Cost, feasibility and seconds of one setting on one instance."""
    began = time.perf_counter()
    if setting == "image":
        model = nco.load_model(shipped_checkpoint(instance), "cpu")
        routes = solve_instance(model, instance, False, 0, generator=torch.Generator().manual_seed(0),
                                max_starts=nco.solvers.neural.reconstruct.WHOLE_DECODING_STARTS)
        result = check_solution(instance, routes)
        return result.cost, result.feasible, time.perf_counter() - began
    default = nco.solvers.neural.reconstruct.START_DECODED_UP_TO
    nco.solvers.neural.reconstruct.START_DECODED_UP_TO = 0 if setting == "singletons" else default
    try:
        solution = nco.solve(instance)
    finally:
        nco.solvers.neural.reconstruct.START_DECODED_UP_TO = default
    return solution.cost, solution.feasible, time.perf_counter() - began


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("docs/results/large/start-ablation.csv"))


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    costs: dict[tuple, dict[str, float]] = defaultdict(dict)
    seconds: dict[tuple, list[float]] = defaultdict(list)
    fields = ["preset", "n", "instance", "variant", "setting", "cost", "feasible", "seconds"]
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for preset, size, count, seed in SETS:
            problem = generate(count, size, "all48", seed=seed, distribution=preset)
            for index in range(count):
                instance = problem.instance(index, f"{preset}-n{size}-{index}")
                for setting in SETTINGS:
                    cost, feasible, took = run(setting, instance)
                    costs[(preset, size, instance.name)][setting] = cost
                    seconds[(preset, size, setting)].append(took)
                    writer.writerow({"preset": preset, "n": size, "instance": instance.name,
                                     "variant": instance.variant.name, "setting": setting, "cost": f"{cost:.6f}",
                                     "feasible": feasible, "seconds": f"{took:.2f}"})
                    handle.flush()
    print("| preset | n | instances | " + " | ".join(f"{s}: gap, s" for s in SETTINGS) + " |")
    print("|---|---|---|" + "---|" * len(SETTINGS))
    for preset, size, count, _ in SETS:
        gaps = defaultdict(list)
        for (p, n, _), by_setting in costs.items():
            if (p, n) == (preset, size):
                best = min(by_setting.values())
                for setting, cost in by_setting.items():
                    gaps[setting].append(100 * (cost / best - 1))
        cells = [f"{sum(gaps[s]) / len(gaps[s]):.2f}%, {sum(seconds[(preset, size, s)]) / count:.2f}" for s in SETTINGS]
        print(f"| {preset} | {size} | {count} | " + " | ".join(cells) + " |")
