"""Model throughput on CPU, side by side with the published multi-task solver's figures.

Random weights, 6 layers, d = 128, 8 heads (the anchor's size), mixed all16 batches. Each row is
measured in a fresh process (so its peak RSS is its own); times are medians over repeats.

    python scripts/bench_model.py [--repeats 5] [--threads 2] [--rows greedy50,train50,train50x2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

ROWS = {
    # name: (kind, n, batch, augment, anchor text, anchor ms per decode step or s per train step,
    #        micro-batches: a training step's gradient accumulated over this many equal parts)
    "greedy50": ("greedy", 50, 64, False, "45 inst/s, 14.3 ms/step", 14.3, 1),
    "greedy100": ("greedy", 100, 32, False, "8.5 inst/s, 19.0 ms/step", 19.0, 1),
    "aug50": ("greedy", 50, 16, True, "5.8 inst/s, 27.9 ms/step", 27.9, 1),
    "train50": ("train", 50, 64, False, "2.71 s/step, 23.6 inst/s, 2.2 GB", 2.71, 1),
    "train100": ("train", 100, 32, False, "6.03 s/step, 5.3 inst/s, 4.3 GB", 6.03, 1),
    "train50x2": ("train", 50, 64, False, "2.71 s/step, 23.6 inst/s, 2.2 GB", 2.71, 2),
    "train100x2": ("train", 100, 32, False, "6.03 s/step, 5.3 inst/s, 4.3 GB", 6.03, 2),
}


def measure(name: str, repeats: int, threads: int) -> dict:
    from nco.envs.generator import generate
    from nco.models.decoding import Decoding
    from nco.models.policy import Policy
    from nco.train import TRAINING_DECODING

    torch.set_num_threads(threads)
    kind, n, batch, augment, _, _, parts = ROWS[name]
    torch.manual_seed(0)
    policy = Policy(dim=128, num_heads=8, num_layers=6, hidden=512)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4)
    times, steps = [], []
    for repeat in range(repeats + 1):  # the first run warms up
        problem = generate(batch, n, "all16", seed=repeat)
        began = time.perf_counter()
        if kind == "greedy":
            with torch.inference_mode():
                rollouts = policy(problem, Decoding(augment=augment))
        else:  # what Lightning does with trainer.accumulate_grad_batches=parts
            optimizer.zero_grad()
            size = batch // parts
            for part in range(parts):
                rollouts = policy(problem[slice(part * size, (part + 1) * size)], TRAINING_DECODING)
                advantage = rollouts.cost - rollouts.cost.mean(1, keepdim=True)
                ((advantage * rollouts.log_likelihood).mean() / parts).backward()
            optimizer.step()
        if repeat:
            times.append(time.perf_counter() - began)
            steps.append(rollouts.actions.shape[-1])
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "instances_per_s": batch / seconds,
        "ms_per_step": 1000 * seconds / statistics.median(steps),
        "steps": statistics.median(steps),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeats, args.threads)))
        return
    print(f"random weights, 6 layers, d = 128, 8 heads, all16 mixed, {args.threads} threads, "
          f"median of {args.repeats}")
    print("| measurement | n | batch | this project | anchor | speed-up |")
    print("|---|---|---|---|---|---|")
    for name in args.rows.split(","):
        kind, n, batch, augment, anchor, anchor_value, parts = ROWS[name]
        command = [sys.executable, __file__, "--child", name, "--repeats", str(args.repeats),
                   "--threads", str(args.threads)]
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        if kind == "greedy":
            label = "all-start greedy" + (" + 8-fold augmentation" if augment else "")
            ours = (f"{result['instances_per_s']:.1f} inst/s, {result['ms_per_step']:.1f} ms/step "
                    f"({result['steps']:.0f} steps)")
            ratio = anchor_value / result["ms_per_step"]
        else:
            label = "REINFORCE step (sampling all-start, backward, Adam)"
            label += f", {parts} micro-batches" if parts > 1 else ""
            ours = (f"{result['seconds']:.2f} s/step, {result['instances_per_s']:.1f} inst/s, "
                    f"{result['peak_rss_gb']:.2f} GB")
            ratio = anchor_value / result["seconds"]
        print(f"| {label} | {n} | {batch} | {ours} | {anchor} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
