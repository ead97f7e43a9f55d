"""Decode a large instance whole, or decompose it? And eight images per group, or one?

    python scripts/bench.py decomposition --data DIR [--out docs/results/large/decomposition.csv]

On the CVRPLIB X development files, with the shipped model, one run each (one thread):

- no time limit, 251 to 1000 customers: one round of neighbourhoods from one route per customer
  (``nco.solve``'s default above :data:`nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO`) against decoding the
  whole instance (up to 400 customers: beyond, one image of all starts takes minutes);
- ``search="reconstruct"`` at 20 s, up to 500 customers: the same two starts;
- at 30 s on X-n524 and X-n916: both starts, with and without 8-fold augmentation.

The whole decoding is forced by raising ``DECODE_WHOLE_UP_TO``. Prints and writes one row per
run (gap to the best known cost). The data are the development copies of the benchmark files,
which a clone of this repository does not have.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch

import nco
from benchmarks.common import data_folder
import nco.solvers.neural.reconstruct


def size(path: Path) -> int:
    return int(path.stem.split("-n")[1].split("-")[0]) - 1  # X-n<nodes>-k<vehicles>: one depot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="the folder of the benchmark sets (not in the repository)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/large/decomposition.csv"))


def run(args: argparse.Namespace) -> None:
    folder = data_folder(args.data, "cvrplib-x")
    torch.set_num_threads(1)
    with open(folder / "bks.csv", newline="") as handle:
        best_known = {row["name"]: float(row["bks"]) for row in csv.DictReader(handle)}
    files = sorted(folder.glob("*.vrp"), key=size)
    plan = [(f, None, start, True) for f in files if 250 < size(f) <= 1000
            for start in (("parts", "whole") if size(f) <= 400 else ("parts",))]
    plan += [(folder / f"{name}.vrp", 30, start, augment) for name in ("X-n524-k153", "X-n916-k207")
             for start in ("parts", "whole") for augment in (True, False)]
    plan += [(f, 20, start, True) for f in files if size(f) <= 500 for start in ("parts", "whole")]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fields = ["instance", "n", "time_limit", "start", "augment", "cost", "feasible", "seconds", "gap"]
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for path, limit, start, augment in plan:
            instance = nco.read(path, rounding="round")
            nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO = 10**9 if start == "whole" else 0
            solution = nco.solve(instance, time_limit=limit, search=None if limit is None else "reconstruct",
                                 augment=augment)
            row = {"instance": instance.name, "n": instance.num_customers, "time_limit": limit or "-", "start": start,
                   "augment": augment, "cost": solution.cost, "feasible": solution.feasible,
                   "seconds": f"{solution.seconds:.1f}", "gap": f"{100 * (solution.cost / best_known[instance.name] - 1):.2f}"}
            writer.writerow(row)
            handle.flush()
            print(row, flush=True)
