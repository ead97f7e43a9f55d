"""Time and peak memory of ``nco solve``'s default neural decoding on one instance per size.

Each size runs in a fresh process (its peak RSS is its own; the model load is included) on a
generated CVRP instance of the broad distribution, with a wall-clock limit per size.

    python scripts/bench_size.py [--sizes 500,1000,2000,5000,10000] [--limit 900] [--variant CVRP] \
        [--max-starts 100,200,all]

With ``--max-starts`` every size is also decoded with at most that many multi-start rollouts per
image (the cost of each cap against time, to choose the default).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(size: int, variant: str, max_starts: int | None) -> dict:
    import nco
    from nco.envs.generator import generate
    from nco.neural import solve_instance
    from nco.solution import Solution

    instance = generate(1, size, [variant], seed=size, distribution="broad").instance(0, f"{variant}-n{size}")
    began = time.perf_counter()
    routes = solve_instance(nco.load_model(), instance, max_starts=max_starts)
    solution = Solution.judged(instance, routes, "neural", time.perf_counter() - began)
    return {"seconds": time.perf_counter() - began, "cost": solution.cost, "feasible": solution.feasible,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000,10000")
    parser.add_argument("--limit", type=float, default=900, help="seconds per size before it is stopped")
    parser.add_argument("--variant", default="CVRP")
    parser.add_argument("--max-starts", default="all", help="caps to compare, comma-separated (all: no cap)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process measuring one size
    args = parser.parse_args()
    if args.one:
        cap = None if args.max_starts == "all" else int(args.max_starts)
        print(json.dumps(measure(args.one, args.variant, cap)))
        return
    print(f"| n | starts | {args.variant}: seconds | peak RSS (GB) | cost | feasible |\n|---|---|---|---|---|---|")
    for size, cap in [(int(s), c) for s in args.sizes.split(",") for c in args.max_starts.split(",")]:
        began = time.perf_counter()
        try:
            child = subprocess.run([sys.executable, __file__, "--one", str(size), "--variant", args.variant,
                                    "--max-starts", cap], capture_output=True, text=True, timeout=args.limit)
        except subprocess.TimeoutExpired:
            print(f"| {size} | {cap} | over {args.limit:.0f} | - | - | - |", flush=True)
            continue
        if child.returncode:
            print(f"| {size} | {cap} | failed after {time.perf_counter() - began:.0f} s: "
                  f"{child.stderr.strip().splitlines()[-1]} | | | | |", flush=True)
            continue
        result = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"| {size} | {cap} | {result['seconds']:.1f} | {result['peak_gb']:.2f} | {result['cost']:.1f} | {result['feasible']} |",
              flush=True)


if __name__ == "__main__":
    main()
