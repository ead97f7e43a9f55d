"""The shipped model's default against PyVRP on CVRP instances with short or long routes.

    python scripts/bench.py route-length [--sizes 80,150] [--instances 8] [--time-limit 5]

Generated CVRP instances of the ``broad`` preset with the capacity set for 3-6 and for 15-30
customers per route (``Distribution.customers_per_route``), seed 77; per size and route length,
the mean gap of ``nco.solve``'s default (greedy multi-start, 8-fold augmentation) to PyVRP with
the time limit, and the mean numbers of routes. The CVRPLIB X development files have 2-5
customers per route; X files with 10-25 exist, so the development set alone overstates quality.
"""

from __future__ import annotations

import argparse

import nco
from nco.envs.distribution import BROAD, Distribution
from nco.envs.generator import generate

ROUTE_LENGTHS = ((3.0, 6.0), (15.0, 30.0))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="80,150")
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=5.0)


def run(args: argparse.Namespace) -> None:
    print("| n | customers per route | instances | gap to PyVRP | routes (neural / PyVRP) |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for low, high in ROUTE_LENGTHS:
            distribution = Distribution(**{**vars(BROAD), "customers_per_route": (low, high)})
            problem = generate(args.instances, size, "CVRP", seed=77, distribution=distribution)
            gaps, routes = [], [0, 0]
            for index in range(args.instances):
                instance = problem.instance(index, f"cvrp-{index}")
                neural = nco.solve(instance)
                classical = nco.solve(instance, solver="pyvrp", time_limit=args.time_limit)
                gaps.append(100 * (neural.cost / classical.cost - 1))
                routes[0] += len(neural.routes)
                routes[1] += len(classical.routes)
            print(f"| {size} | {low:.0f}-{high:.0f} | {args.instances} | {sum(gaps) / len(gaps):.2f}% | "
                  f"{routes[0] / args.instances:.1f} / {routes[1] / args.instances:.1f} |", flush=True)
