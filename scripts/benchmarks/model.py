"""Model throughput on CPU, side by side with the published multi-task solver (the anchor).

Random weights, 6 layers, d = 128, 8 heads (the anchor's size), mixed all16 batches. Each row is
measured in a fresh process (so its peak RSS is its own); times are medians over repeats.

    python scripts/bench.py model [--repeats 5] [--threads 2] [--rows greedy50,train50,train50x2] [--local-view 16]

Without ``--anchor-python`` the anchor column holds its figures from an earlier day. With it, each of
``--rounds`` rounds runs the anchor's own benchmark (``bench.py`` of the RouteFinder anchor package,
built by its ``setup.sh``) right after this project's row, so the two are measured side by side:

    python scripts/bench.py model --rows greedy50,greedy100 --rounds 3 --local-view 16 \
        --anchor-python /tmp/routefinder-anchor-venv/bin/python --anchor-bench ANCHOR_DIR/bench.py
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import time

import torch

from benchmarks.common import OptionError, child

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


def measure(name: str, repeats: int, threads: int, local_view: int) -> dict:
    from nco.envs.generator import generate
    from nco.models.decoding import Decoding
    from nco.models.policy import Policy
    from nco.train import TRAINING_DECODING

    torch.set_num_threads(threads)
    kind, n, batch, augment, _, _, parts = ROWS[name]
    torch.manual_seed(0)
    policy = Policy(dim=128, num_heads=8, num_layers=6, hidden=512, local_view=local_view)
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


def run_anchor(name: str, args) -> dict:
    """The anchor's median seconds per batch, decoding steps and peak RSS for row ``name``."""
    kind, n, batch, augment, _, _, _ = ROWS[name]
    command = [args.anchor_python, args.anchor_bench, "--mode", "infer" if kind == "greedy" else "train",
               "--n", str(n), "--batch", str(batch), "--aug", "8" if augment else "1", "--reps", str(args.repeats),
               "--out", "/dev/null"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
    steps = statistics.median(result["steps_per_batch"])
    return {"seconds": result["wall_median"], "steps": steps, "peak_rss_gb": result["peak_rss_mb"] / 1024}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--local-view", type=int, default=0, help="the decoder's local view (the shipped model: 16)")
    parser.add_argument("--anchor-python", help="the anchor's venv python: measure it side by side")
    parser.add_argument("--anchor-bench", help="the anchor's bench.py")
    parser.add_argument("--rounds", type=int, default=1, help="with --anchor-python: rounds of (this row, anchor row)")
    parser.add_argument("--child", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    if bool(args.anchor_python) != bool(args.anchor_bench):
        raise OptionError("--anchor-python and --anchor-bench go together: give the anchor's venv python and its bench.py")
    if args.child:
        print(json.dumps(measure(args.child, args.repeats, args.threads, args.local_view)))
        return
    if args.anchor_python:
        side_by_side(args)
        return
    print(f"random weights, 6 layers, d = 128, 8 heads, local view {args.local_view}, all16 mixed, "
          f"{args.threads} threads, median of {args.repeats}")
    print("| measurement | n | batch | this project | anchor | speed-up |")
    print("|---|---|---|---|---|---|")
    for name in args.rows.split(","):
        kind, n, batch, augment, anchor, anchor_value, parts = ROWS[name]
        result = run_row(name, args)
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


def run_row(name: str, args) -> dict:
    measured = child("model", "--child", name, "--repeats", str(args.repeats), "--threads", str(args.threads),
                     "--local-view", str(args.local_view))
    measured.check_returncode()
    return json.loads(measured.stdout.strip().splitlines()[-1])  # after the stamp line


def side_by_side(args) -> None:
    """Each round: this project's row, then the anchor's, each in a fresh process; the speed-up is
    the anchor's time per decoding step over ours (the two decode different numbers of steps)."""
    print(f"side by side, random weights, local view {args.local_view}, {args.threads} threads, "
          f"median of {args.repeats} per run, {args.rounds} rounds")
    print("| row | round | this project: s/batch, ms/step, GB | anchor: s/batch, ms/step, GB | speed-up per step |")
    print("|---|---|---|---|---|")
    for name in args.rows.split(","):
        for round_index in range(1, args.rounds + 1):
            ours, anchor = run_row(name, args), run_anchor(name, args)
            anchor_ms = 1000 * anchor["seconds"] / anchor["steps"]
            print(f"| {name} | {round_index} | {ours['seconds']:.3f}, {ours['ms_per_step']:.1f}, "
                  f"{ours['peak_rss_gb']:.2f} | {anchor['seconds']:.3f}, {anchor_ms:.1f}, {anchor['peak_rss_gb']:.2f} | "
                  f"{anchor_ms / ours['ms_per_step']:.2f}x |", flush=True)
