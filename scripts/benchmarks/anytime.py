"""The anytime ablation: every method at equal wall time per instance, gap to the best run.

    python scripts/bench.py anytime --customers 50 --time-limits 0.1,0.3,1 --out docs/results/anytime/n50 \
        [--variants all48] [--instances 1] [--distribution variants_md] [--checkpoint CKPT] \
        [--methods "neural search,neural + polish"]

Methods, each given the same limit per instance (one thread, one run at a time):

- ``neural search``: the network alone (greedy multi-start with augmentation, then sampling passes
  while another fits: ``nco.solve(..., search="sampling")``);
- ``neural + polish``: the network's routes, then PyVRP's local search and iterated local search
  for the rest of the limit (``nco.solve``'s default with a limit);
- ``neural + reconstruct``: the network's routes, then the network re-solving groups of
  neighbouring routes for the rest of the limit (``search="reconstruct"``, :mod:`nco.solvers.neural.reconstruct`);
- ``nearest + polish``: the same polish started from the nearest-neighbour construction;
- ``pyvrp``: PyVRP from its own start; ``ortools``: OR-Tools' guided local search.

The gap of a run is its cost over the best cost any run found for that instance. Variants are
reported in four groups, which overlap: neither time windows nor backhauls nor several depots;
time windows; backhauls (B or MB); multi-depot. Rows go to ``OUT/runs.csv`` as they finish and a
rerun reuses the rows it finds (same instance, method and limit), so a killed run continues.
Writes ``OUT/summary.md`` and ``OUT/pareto.png`` (one panel per group, one line per method).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

import nco
from benchmarks.common import OptionError
from nco.solvers.neural.params import NETWORK_SHARE
from nco.compare import best_costs, read_results
from nco.solvers.pyvrp import solve as pyvrp_solve
from nco.envs.env import actions_to_routes
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.problem import Problem
from nco.envs.units import rescale
from nco.envs.variants import BACKHAUL_NONE, Variant, resolve_variants
from nco.evaluate import nearest_neighbour_rollout
from nco.solution import Solution
from nco.solvers.vehicles import assign_vehicles

METHODS = ("neural search", "neural + polish", "neural + reconstruct", "nearest + polish", "pyvrp", "ortools")
SEARCH_OF = {"neural search": "sampling", "neural + polish": "polish", "neural + reconstruct": "reconstruct"}
GROUPS = {
    "no TW, no backhaul, one depot": lambda v: not v.time_windows and v.backhaul == BACKHAUL_NONE and not v.multi_depot,
    "time windows": lambda v: v.time_windows,
    "backhauls (B, MB)": lambda v: v.backhaul != BACKHAUL_NONE,
    "multi-depot": lambda v: v.multi_depot,
}
FIELDS = ["instance", "variant", "method", "limit", "cost", "feasible", "seconds", "network_seconds"]


def nearest_then_polish(instance: Instance, time_limit: float, seed: int) -> Solution:
    """The nearest-neighbour construction (with a fleet, its routes' vehicles chosen again as the
    network's are: :func:`nco.solvers.vehicles.assign_vehicles`), polished by PyVRP for the rest of
    ``time_limit``."""
    began = time.perf_counter()
    problem = Problem.from_instances([rescale(instance)])
    routes = actions_to_routes(nearest_neighbour_rollout(problem)[0, 0], problem, 0)
    if instance.vehicle_types is not None:
        routes = assign_vehicles(instance, routes) or routes
    polished = pyvrp_solve(instance, began + time_limit - time.perf_counter(), seed, initial_routes=routes)
    return Solution.judged(instance, polished or routes, "nearest + polish", time.perf_counter() - began)


def run(instance: Instance, method: str, limit: float, checkpoint: str | None, seed: int) -> Solution:
    if method == "nearest + polish":
        return nearest_then_polish(instance, limit, seed)
    if method in ("pyvrp", "ortools"):
        return nco.solve(instance, method, time_limit=limit, seed=seed)
    return nco.solve(instance, "neural", time_limit=limit, checkpoint=checkpoint, seed=seed, search=SEARCH_OF[method])


def with_gaps(rows: list[dict]) -> list[dict]:
    """The rows with ``gap`` (% over the best feasible cost of any run on the instance; None for an
    infeasible run) and ``groups`` (those its variant is in)."""
    best = best_costs(rows)
    return [{**row, "gap": 100 * (float(row["cost"]) / best[row["instance"]] - 1) if row["feasible"] == "True" else None,
             "groups": {g for g, member in GROUPS.items() if member(Variant.from_name(row["variant"]))}}
            for row in rows]


def summarise(rows: list[dict], limits: list[float]) -> str:
    lines = []
    for group in GROUPS:
        chosen = [r for r in rows if group in r["groups"]]
        if not chosen:
            continue
        instances = len({r["instance"] for r in chosen})
        lines += [f"### {group} ({instances} instances)", "",
                  "| method | " + " | ".join(f"{limit:g} s" for limit in limits) + " |",
                  "|---|" + "---|" * len(limits)]
        for method in METHODS:
            cells = []
            for limit in limits:
                runs = [r for r in chosen if r["method"] == method and float(r["limit"]) == limit]
                gaps = [r["gap"] for r in runs if r["gap"] is not None]
                unsolved = len(runs) - len(gaps)
                cell = f"{np.mean(gaps):.2f}%" if gaps else "-"
                cells.append(cell + (f" ({unsolved} unsolved)" if unsolved else ""))
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"Time (seconds per instance): the network's budget with the polish is {NETWORK_SHARE:.0%} of "
              "the limit; the full greedy + augmentation pass, timed alone (mean), and each method's total "
              "(mean / longest):", "",
              "| limit | network budget | full greedy + aug pass | " + " | ".join(METHODS) + " |",
              "|---|---|---|" + "---|" * len(METHODS)]
    for limit in limits:
        chosen = [r for r in rows if float(r["limit"]) == limit]
        if chosen:
            full_pass = np.mean([float(r["network_seconds"]) for r in chosen])
            totals = [[float(r["seconds"]) for r in chosen if r["method"] == m] for m in METHODS]
            lines.append(f"| {limit:g} s | {NETWORK_SHARE * limit:.3g} s | {full_pass:.3f} | "
                         + " | ".join(f"{np.mean(t):.3f} / {max(t):.3f}" if t else "-" for t in totals) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], limits: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(GROUPS), figsize=(4.2 * len(GROUPS), 4), sharey=True)
    for axis, group in zip(axes, GROUPS):
        chosen = [r for r in rows if group in r["groups"]]
        for method in METHODS:
            points = []
            for limit in limits:
                runs = [r for r in chosen if r["method"] == method and float(r["limit"]) == limit
                        and r["gap"] is not None]
                if runs:
                    points.append((np.mean([float(r["seconds"]) for r in runs]), np.mean([r["gap"] for r in runs])))
            if points:
                axis.plot(*zip(*points), marker="o", label=method)
        axis.set_xscale("log")
        axis.set_title(group, fontsize=10)
        axis.set_xlabel("mean time per instance (s)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("mean gap to the best run (%)")
    axes[-1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", "--num-nodes", dest="num_nodes", metavar="N", type=int, default=50,
                        help="customers per instance")
    parser.add_argument("--time-limits", default="0.1,0.3,1")
    parser.add_argument("--variants", default="all48")
    parser.add_argument("--instances", type=int, default=1, help="per variant")
    parser.add_argument("--distribution", default="variants_md")
    parser.add_argument("--checkpoint")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", default=",".join(METHODS), help="a comma-separated subset of the methods")


def run(args: argparse.Namespace) -> None:
    limits = [float(limit) for limit in args.time_limits.split(",")]
    methods = args.methods.split(",")
    if unknown := set(methods) - set(METHODS):
        raise OptionError(f"unknown methods {sorted(unknown)}: use some of {', '.join(METHODS)}")
    torch.set_num_threads(1)  # every method on one core
    instances = []
    for variant in resolve_variants(args.variants):
        problem = generate(args.instances, args.num_nodes, [variant], seed=args.seed + variant.index,
                           distribution=args.distribution)
        instances += [problem.instance(i, f"{variant.name}-n{args.num_nodes}-{i}") for i in range(args.instances)]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "runs.csv"
    rows = [row for row in read_results(path) if None not in row.values()]  # not a row cut by a kill
    done = {(r["instance"], r["method"], float(r["limit"])) for r in rows}
    todo = [(i, m, t) for i in instances for t in limits for m in methods if (i.name, m, t) not in done]
    print(f"{len(todo)} runs to do, {len(rows)} reused from {path}")
    network_seconds = {}
    with open(path.with_suffix(".tmp"), "w", newline="") as handle:  # the rows kept, without a cut one
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    path.with_suffix(".tmp").replace(path)
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        for number, (instance, method, limit) in enumerate(todo):
            if instance.name not in network_seconds:  # the greedy + augmentation pass, timed alone
                network_seconds[instance.name] = nco.solve(instance, "neural", checkpoint=args.checkpoint).seconds
            solution = run(instance, method, limit, args.checkpoint, args.seed)
            row = {"instance": instance.name, "variant": instance.variant.name, "method": method, "limit": limit,
                   "cost": f"{solution.cost:.6f}" if solution.routes else "", "feasible": solution.feasible,
                   "seconds": f"{solution.seconds:.4f}", "network_seconds": f"{network_seconds[instance.name]:.4f}"}
            writer.writerow(row)
            handle.flush()
            rows.append({k: str(v) for k, v in row.items()})
            if number % 20 == 0:
                print(f"{number + 1}/{len(todo)} runs", flush=True)
    rows = with_gaps(rows)
    (args.out / "summary.md").write_text(summarise(rows, limits))
    plot(rows, limits, args.out / "pareto.png")
    print((args.out / "summary.md").read_text())
