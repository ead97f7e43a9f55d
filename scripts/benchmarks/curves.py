"""Learning curves of training runs: mean validation cost against CPU minutes.

One line per stage and validation distribution (a run that validated on several logged
``val/cost_mean/<distribution>``; one that validated on one logged ``val/cost_mean`` only, and
``--first`` names its distribution), stages placed one after the other.

    python scripts/bench.py curves --stage "stage 1=docs/results/training/stage1-metrics.csv" \
        --stage "stage 2=nco/checkpoints/all48-broad-metrics.csv" --out docs/results/training/campaign-curves.png
    python scripts/bench.py curves --arms --start 15.800 --stage "REINFORCE=docs/results/training/cpu-accum-metrics.csv" \
        --stage "imitation=docs/results/training/imitation1-metrics.csv@47.4" --out docs/results/training/arms-curves.png

A stage is ``LABEL=METRICS_CSV`` (Lightning's metrics.csv of the run); where the run logged
``time/cpu_minutes`` that is the x axis, else ``:CPU_MINUTES`` (the process's CPU time, e.g. from
``ps -o cputime``) is spread over the validation points in proportion to their training step.
Stages follow one another; with ``--arms`` each starts at zero from the same model (``--start``:
its validation cost, drawn as a line), after ``@MINUTES`` of CPU spent before training (labels).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import OptionError  # noqa: E402


def stage_curves(spec: str, offset: float, first: str,
                 overall: bool = False) -> list[tuple[str, list[float], list[float]]]:
    label, rest = spec.split("=", 1)
    rest, _, before = rest.partition("@")
    offset += float(before or 0)
    path, _, total = rest.partition(":")
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("val/cost_mean")]
    if rows and rows[0].get("time/cpu_minutes"):
        minutes = [float(r["time/cpu_minutes"]) for r in rows]
    else:
        if not total:
            raise OptionError(f"{path} has no time/cpu_minutes column: give the stage's CPU minutes as {spec}:MINUTES")
        last_step = max(int(r["step"]) for r in rows)
        minutes = [float(total) * int(r["step"]) / last_step for r in rows]
    minutes = [offset + m for m in minutes]
    if overall:  # one curve of the mean over every validation distribution
        return [(label, minutes, [float(r["val/cost_mean"]) for r in rows])]
    columns = sorted(c for c in rows[0] if c.startswith("val/cost_mean/")) or ["val/cost_mean"]
    return [(f"{label}, {column.split('/')[-1] if column != 'val/cost_mean' else first}", minutes,
             [float(r[column]) for r in rows]) for column in columns]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", action="append", required=True, help="LABEL=METRICS_CSV[:CPU_MINUTES]")
    parser.add_argument("--out", default="docs/results/training/campaign-curves.png")
    parser.add_argument("--first", default="broad", help="the distribution of stages that logged one curve")
    parser.add_argument("--arms", action="store_true", help="every stage starts at zero from the same model")
    parser.add_argument("--start", type=float, help="with --arms: the starting model's mean validation cost")


def run(args: argparse.Namespace) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    offset, colours = 0.0, {}
    for spec in args.stage:
        for label, minutes, costs in stage_curves(spec, offset, args.first, overall=args.arms):
            distribution = label.rsplit(", ", 1)[-1]
            colour = colours.setdefault(distribution, f"C{len(colours)}")
            axis.plot(minutes, costs, marker="o", ms=3, color=colour if not args.arms else None, label=label)
        offset = 0.0 if args.arms else minutes[-1]
    if args.start is not None:
        axis.axhline(args.start, color="grey", linestyle="--", label="the starting model")
    axis.set_xlabel("CPU minutes (labels included)" if args.arms else
                    "CPU minutes of training (cumulative over the stages)")
    axis.set_ylabel("mean validation cost (greedy multi-start)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
