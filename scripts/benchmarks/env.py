"""Environment throughput: random feasible actions on mixed-variant batches, CPU.

Prints instances/s and instance-steps/s (medians over repeats) for batches of 512 at n = 50 and
n = 100, with the published multi-task implementation's figures on the same kind of machine beside.

    python scripts/bench.py env [--repeats 9] [--threads 2] [--variants all16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from nco.envs.env import random_rollout
from nco.envs.generator import generate

ANCHOR = {50: 3030, 100: 1302}  # instances/s, rl4co-based multi-task env, batch 512, 2 threads


def measure(num_customers: int, batch: int, variants: str, repeats: int) -> tuple[float, float, int]:
    times, steps = [], 0
    for repeat in range(repeats):
        problem = generate(batch, num_customers, variants, seed=repeat)
        generator = torch.Generator().manual_seed(repeat)
        start = time.perf_counter()
        actions = random_rollout(problem, 1, generator)
        times.append(time.perf_counter() - start)
        steps = actions.shape[-1]
    seconds = statistics.median(times)
    return batch / seconds, batch * steps / seconds, steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--variants", default="all16")


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    print(f"environment only, random feasible actions, {args.variants} mixed, batch {args.batch}, "
          f"{args.threads} threads, median of {args.repeats}")
    print("| n | steps | instances/s | instance-steps/s | anchor instances/s | ratio |")
    print("|---|---|---|---|---|---|")
    for n in (50, 100):
        measure(n, args.batch, args.variants, 1)  # warm-up
        per_second, step_rate, steps = measure(n, args.batch, args.variants, args.repeats)
        print(f"| {n} | {steps} | {per_second:.0f} | {step_rate:.0f} | {ANCHOR[n]} | {per_second / ANCHOR[n]:.2f}x |")
