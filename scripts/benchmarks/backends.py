"""Overhead per task of the Ray backend against local worker processes, side by side.

    python scripts/bench.py backends [--instances 64] [--solver pyvrp] [--time-limit 0.1] [--workers 2]

The same generated instances (n = 20, all 48 variants in turn) are solved with ``nco.solve_many``
by ``--workers`` local processes and by a local Ray instance with as many CPUs; each wall time
includes starting the workers (and Ray) and loading the model. Needs the cluster extra.
"""

from __future__ import annotations

import argparse
import time

import nco
from nco.envs.generator import generate
from nco.envs.variants import ALL48


def wall_time(instances, options: dict) -> tuple[float, float]:
    began = time.perf_counter()
    solutions = list(nco.solve_many(instances, **options))
    assert all(s.feasible for s in solutions)
    return time.perf_counter() - began, sum(s.cost for s in solutions)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instances", type=int, default=64)
    parser.add_argument("--solver", default="pyvrp")
    parser.add_argument("--time-limit", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)


def run(args: argparse.Namespace) -> None:
    import ray

    instances = [generate(1, 20, [ALL48[i % 48]], seed=i).instance(0, f"{ALL48[i % 48].name}-{i}")
                 for i in range(args.instances)]
    options = dict(solver=args.solver, time_limit=args.time_limit if args.solver != "neural" else None)
    local, local_cost = wall_time(instances, {**options, "workers": args.workers})
    began = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    start = time.perf_counter() - began
    remote, remote_cost = wall_time(instances, {**options, "backend": "ray"})
    warm, _ = wall_time(instances, {**options, "backend": "ray"})
    ray.shutdown()
    print(f"{args.instances} instances, {args.solver}, {args.workers} CPUs")
    print(f"| backend | wall (s) | per task (s) | total cost |\n|---|---|---|---|")
    print(f"| local, {args.workers} processes | {local:.1f} | {local / args.instances:.3f} | {local_cost:.2f} |")
    print(f"| ray (first batch; ray.init {start:.1f} s more) | {remote:.1f} | {remote / args.instances:.3f} | {remote_cost:.2f} |")
    print(f"| ray (second batch, warm workers) | {warm:.1f} | {warm / args.instances:.3f} | |")
    # each of the workers runs instances / workers tasks one after the other
    per_task = args.workers / args.instances * 1000
    print(f"overhead per task: {(remote - local) * per_task:.0f} ms first batch, {(warm - local) * per_task:.0f} ms warm")
