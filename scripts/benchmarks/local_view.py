"""Time per decoding step with and without the decoder's local view, side by side.

The same random weights (6 layers, d = 128, 8 heads) with and without a local view
(``nco.models.local_view``), all-start greedy decoding of mixed all16 batches, the two alternated
within each round so that the machine's noise hits both; prints each round's ratio and the median.

    python scripts/bench.py local-view [--sizes 100] [--batch 32] [--view 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nco.envs.generator import generate
from nco.models.adapters import extend
from nco.models.policy import Policy


def ms_per_step(policy: Policy, problem) -> float:
    began = time.perf_counter()
    with torch.inference_mode():
        rollouts = policy(problem)
    return 1000 * (time.perf_counter() - began) / rollouts.actions.shape[-1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="100", help="customers, comma-separated")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--view", type=int, default=16, help="nodes in the local view")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plain = Policy(dim=128, num_heads=8, num_layers=6, hidden=512).eval()
    viewing = extend(plain, local_view=args.view).eval()
    print(f"all-start greedy, batch {args.batch}, local view of {args.view} nodes, {args.threads} threads")
    print("| n | round | without (ms/step) | with (ms/step) | ratio |")
    print("|---|---|---|---|---|")
    for size in map(int, args.sizes.split(",")):
        ratios = []
        for round_ in range(args.rounds + 1):  # round 0 warms up
            problem = generate(args.batch, size, "all16", seed=round_)
            without, with_view = ms_per_step(plain, problem), ms_per_step(viewing, problem)
            if round_:
                ratios.append(with_view / without)
                print(f"| {size} | {round_} | {without:.1f} | {with_view:.1f} | {with_view / without:.2f}x |", flush=True)
        print(f"| {size} | median | | | {statistics.median(ratios):.2f}x |", flush=True)
