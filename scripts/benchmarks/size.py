"""Time, peak memory and cost of the solvers on one large generated instance per size.

Each run is a fresh process (its peak RSS is its own; the model load is included) on a generated
instance of the broad distribution, with a wall-clock limit per run.

    python scripts/bench.py size [--sizes 500,1000,2000,5000,10000] [--limit 900] [--variant CVRP] \
        [--methods decode,reconstruct,pyvrp] [--time-limit 60] [--max-starts 100,200,all]

Methods: ``default`` is ``nco solve`` without a time limit (above 200 customers one round of
neighbourhoods solved by the network, :mod:`nco.solvers.neural.reconstruct`, from one image decoded whole up to
1000 customers); ``decode`` decodes the whole
instance (greedy multi-start, 8-fold augmentation), once per ``--max-starts`` cap of the
multi-start rollouts per image; ``reconstruct``, ``polish`` and ``sampling`` are the neural
solver's anytime searches and ``pyvrp``, ``ortools`` the classical solvers, each with
``--time-limit`` seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import time

from benchmarks.common import child


def measure(size: int, variant: str, method: str, time_limit: float) -> dict:
    import nco
    from nco.envs.generator import generate
    from nco.solvers.neural.decode import solve_instance
    from nco.solution import Solution

    instance = generate(1, size, [variant], seed=size, distribution="broad").instance(0, f"{variant}-n{size}")
    began = time.perf_counter()
    if method.startswith("decode"):
        cap = method.partition(":")[2]
        routes = solve_instance(nco.load_model(), instance, max_starts=None if cap == "all" else int(cap))
        solution = Solution.judged(instance, routes, "neural", time.perf_counter() - began)
    elif method == "default":
        solution = nco.solve(instance)
    elif method in ("pyvrp", "ortools"):
        solution = nco.solve(instance, method, time_limit=time_limit)
    else:
        solution = nco.solve(instance, "neural", time_limit=time_limit, search=method)
    return {"seconds": time.perf_counter() - began, "cost": solution.cost, "feasible": solution.feasible,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="500,1000,2000,5000,10000")
    parser.add_argument("--limit", type=float, default=900, help="seconds per size before it is stopped")
    parser.add_argument("--variant", default="CVRP")
    parser.add_argument("--methods", default="decode", help="comma-separated (see the module docstring)")
    parser.add_argument("--time-limit", type=float, default=60, help="seconds of the anytime and classical methods")
    parser.add_argument("--max-starts", default="all", help="caps of decode, comma-separated (all: no cap)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process measuring one run
    parser.add_argument("--method", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    if args.one:
        print(json.dumps(measure(args.one, args.variant, args.method, args.time_limit)))
        return
    methods = [f"decode:{cap}" if method == "decode" else method for method in args.methods.split(",")
               for cap in (args.max_starts.split(",") if method == "decode" else [None])]
    print(f"| n | method | {args.variant}: seconds | peak RSS (GB) | cost | feasible |\n|---|---|---|---|---|---|")
    for size, method in [(int(s), m) for s in args.sizes.split(",") for m in methods]:
        name = method if not method.startswith("decode") else f"decode, {method.partition(':')[2]} starts"
        if not method.startswith("decode") and method != "default":
            name += f" {args.time_limit:g} s"
        began = time.perf_counter()
        try:
            measured = child("size", "--one", str(size), "--variant", args.variant, "--method", method,
                             "--time-limit", str(args.time_limit), timeout=args.limit)
        except subprocess.TimeoutExpired:
            print(f"| {size} | {name} | over {args.limit:.0f} | - | - | - |", flush=True)
            continue
        if measured.returncode:
            print(f"| {size} | {name} | failed after {time.perf_counter() - began:.0f} s: "
                  f"{measured.stderr.strip().splitlines()[-1]} | | | | |", flush=True)
            continue
        result = json.loads(measured.stdout.strip().splitlines()[-1])
        print(f"| {size} | {name} | {result['seconds']:.1f} | {result['peak_gb']:.2f} | {result['cost']:.1f} | "
              f"{result['feasible']} |", flush=True)
