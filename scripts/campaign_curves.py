"""Learning curves of the training campaign: mean validation cost against CPU minutes, one line
per stage, stages placed one after the other.

    python scripts/campaign_curves.py --stage "stage 1=nco/checkpoints/all48-broad-metrics.csv:141" \
        --out docs/campaign-curves.png

A stage is ``LABEL=METRICS_CSV`` (Lightning's metrics.csv of the run); where the run logged
``time/cpu_minutes`` that is the x axis, else ``:CPU_MINUTES`` (the process's CPU time, e.g. from
``ps -o cputime``) is spread over the validation points in proportion to their training step.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def stage_curve(spec: str, offset: float) -> tuple[str, list[float], list[float]]:
    label, rest = spec.split("=", 1)
    path, _, total = rest.partition(":")
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("val/cost_mean")]
    if rows and rows[0].get("time/cpu_minutes"):
        minutes = [float(r["time/cpu_minutes"]) for r in rows]
    else:
        if not total:
            raise SystemExit(f"{path} has no time/cpu_minutes column: give the stage's CPU minutes as {spec}:MINUTES")
        last_step = max(int(r["step"]) for r in rows)
        minutes = [float(total) * int(r["step"]) / last_step for r in rows]
    return label, [offset + m for m in minutes], [float(r["val/cost_mean"]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", required=True, help="LABEL=METRICS_CSV[:CPU_MINUTES]")
    parser.add_argument("--out", default="docs/campaign-curves.png")
    args = parser.parse_args()
    figure, axis = plt.subplots(figsize=(7, 4.5))
    offset = 0.0
    for spec in args.stage:
        label, minutes, costs = stage_curve(spec, offset)
        axis.plot(minutes, costs, marker="o", label=label)
        offset = minutes[-1]
    axis.set_xlabel("CPU minutes of training (cumulative over the stages)")
    axis.set_ylabel("mean validation cost (greedy multi-start)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
