"""The adapter experiment's report: validation gap against training instances, per method.

    python scripts/bench.py adapters --base tests/data/checkpoints/all16-n20.pt \
        --reference outputs/reference-all48-n20/results.csv \
        --run "adapter columns (full fine-tuning)=outputs/adapters/full" \
        --run "scratch=outputs/adapters/scratch" --out docs/results/training/adapters

Each run is a run directory of ``nco finetune`` or ``nco train`` validated with
``data.reference`` (its ``metrics.csv`` holds ``val/gap/<variant>``). The gaps are averaged over
four groups of variants: the old 16, mixed backhauls (MB), multi-depot (MD) and both (MD + MB).
The base model's zero-shot gap (it decodes every variant, reading the new attributes as off) is
measured here on the same validation instances. Writes ``<out>-curves.png`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from nco.envs.variants import ALL48, BACKHAUL_MIXED  # noqa: E402
from nco.checkpoints import load_policy  # noqa: E402
from nco.evaluate import evaluate, read_reference  # noqa: E402


def group_of(variant) -> str:
    mixed = variant.backhaul == BACKHAUL_MIXED
    if variant.multi_depot:
        return "MD + MB" if mixed else "MD"
    return "MB" if mixed else "old 16"


GROUPS = ("old 16", "MB", "MD", "MD + MB")
GROUP_OF = {v.name: group_of(v) for v in ALL48}


def group_means(gaps: dict[str, float]) -> dict[str, float]:
    return {g: float(np.mean([gap for name, gap in gaps.items() if GROUP_OF[name] == g])) for g in GROUPS}


def read_curve(run: Path) -> tuple[list[int], list[dict[str, float]], dict]:
    """Training instances at each validation and the group means of the gaps there."""
    config = OmegaConf.load(run / "config.yaml")
    batch = config.data.batch_size
    instances, means = [], []
    with open(run / "metrics.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            gaps = {k.removeprefix("val/gap/"): float(v) for k, v in row.items() if k.startswith("val/gap/") and v}
            if gaps:
                instances.append((int(row["step"]) + 1) * batch)
                means.append(group_means(gaps))
    return instances, means, config


def trainable_parameters(config) -> str:
    if config.get("finetune", {}).get("checkpoint") is None:
        return "all"
    return config.finetune.mode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="the model that was extended")
    parser.add_argument("--reference", required=True, help="reference costs of the validation instances")
    parser.add_argument("--run", action="append", required=True, help="LABEL=RUN_DIR")
    parser.add_argument("--out", required=True, help="output path without suffix")


def run(args: argparse.Namespace) -> None:

    reference = read_reference(args.reference)
    runs = {label: Path(path) for label, path in (item.split("=", 1) for item in args.run)}
    curves = {label: read_curve(path) for label, path in runs.items()}
    config = next(iter(curves.values()))[2]
    base, _ = load_policy(args.base)
    torch.set_num_threads(2)
    zero_shot = evaluate(base, "all48", config.data.num_nodes, config.data.val_instances_per_variant,
                         seed=config.data.val_seed, reference=reference)
    zero_shot_means = group_means({r.variant: r.gap for r in zero_shot})

    figure, axes = plt.subplots(1, len(GROUPS), figsize=(4.2 * len(GROUPS), 3.8), sharex=True)
    for axis, group in zip(axes, GROUPS):
        for label, (instances, means, run_config) in curves.items():
            values = [m[group] for m in means]
            if trainable_parameters(run_config) != "all":  # an extended model starts as the base model
                instances, values = [0, *instances], [zero_shot_means[group], *values]
            axis.plot(instances, values, marker=".", label=label)
        axis.axhline(zero_shot_means[group], color="0.4", ls="--", label="base model, zero-shot")
        axis.set_title(f"{group} variants")
        axis.set_xlabel("training instances")
        axis.set_ylabel("validation gap to PyVRP (%)")
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.yaxis.set_minor_formatter(ScalarFormatter())
        axis.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out.with_name(out.name + "-curves.png"), dpi=110)

    lines = [
        f"n = {config.data.num_nodes}, {config.data.val_instances_per_variant} validation instances per variant, "
        "multi-start greedy; mean gap (%) to the reference per group of variants.",
        "",
        "| method | trains | training instances | " + " | ".join(GROUPS) + " |",
        "|---|---|---|" + "---|" * len(GROUPS),
        "| base model, zero-shot | - | 0 | " + " | ".join(f"{zero_shot_means[g]:.2f}" for g in GROUPS) + " |",
    ]
    for label, (instances, means, run_config) in curves.items():
        lines.append(f"| {label} | {trainable_parameters(run_config)} | {instances[-1]:,} | "
                     + " | ".join(f"{means[-1][g]:.2f}" for g in GROUPS) + " |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
