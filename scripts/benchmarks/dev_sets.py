"""Mean gap to the best known (or reference) cost of checkpoints on the benchmark development sets.

    python scripts/bench.py dev-sets --checkpoint tests/data/checkpoints/all16-n20.pt --checkpoint NEW.pt \
        --data DIR [--sets solomon,x250,cordeau,ortec,vrpb,x500,x1000,x,hfvrp,sdvrptw] [--out docs/results/training/dev.csv] \
        [--time-limit 60 [--search reconstruct]] [--solver pyvrp|ortools|nearest]
    python scripts/bench.py dev-sets --tables RUN1.csv RUN2.csv   # the table again, from earlier runs

Every file is solved by ``nco.solve`` (without a time limit its default: multi-start greedy +
8-fold augmentation, and above 200 customers one image decoded whole, then one round of
neighbourhoods; with one, the anytime
search that ``--search`` names, a classical ``--solver``, or ``--solver nearest``: the
nearest-neighbour routes polished by PyVRP for the time limit, the network's start replaced),
judged in the set's rounding convention; the reference is the ``bks`` column of the
set's ``bks.csv`` (for ORTEC, which has none, the PyVRP 60 s cost ``pyvrp_60s``; for the fleets of
``hfvrp`` and ``sdvrptw``, whose ``Cost`` lines use other scalings, the judged cost of each file's
``.sol``). Gaps are over the feasible solutions. The benchmark files are not in the repository:
``--data DIR`` holds one folder per set (``SETS`` below: ``solomon/*.txt``, ``cvrplib-x/*.vrp``,
``mdvrp/*.vrp``, ``ortec/*.txt``, ``vrpb/*.vrp``, each with a ``bks.csv`` of ``name`` and the
reference column; ``hfvrp/`` and ``sdvrptw/`` with a ``.sol`` beside each ``.vrp``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import nco
from tqdm import tqdm

from benchmarks.anytime import nearest_then_polish
from benchmarks.common import OptionError, data_folder
from nco.envs.check import check_solution
from nco.io import read_solution
from nco.solvers import SOLVERS

# set: (folder, file pattern, rounding, reference column, sizes n it keeps)
EVERY_SIZE = range(1, 10**9)
SETS = {
    "solomon": ("solomon", "*.txt", "none", "bks", EVERY_SIZE),
    "x250": ("cvrplib-x", "*.vrp", "round", "bks", range(1, 251)),
    "x500": ("cvrplib-x", "*.vrp", "round", "bks", range(251, 501)),
    "x1000": ("cvrplib-x", "*.vrp", "round", "bks", range(501, 1001)),
    "x": ("cvrplib-x", "*.vrp", "round", "bks", EVERY_SIZE),
    "cordeau": ("mdvrp", "*.vrp", "none", "bks", EVERY_SIZE),
    "ortec": ("ortec", "*.txt", "none", "pyvrp_60s", EVERY_SIZE),
    "vrpb": ("vrpb", "*.vrp", "round", "bks", EVERY_SIZE),
    "hfvrp": ("hfvrp", "*.vrp", "none", "sol", EVERY_SIZE),
    "sdvrptw": ("sdvrptw", "*.vrp", "none", "sol", EVERY_SIZE),
}


def references(folder: Path, column: str) -> dict[str, float]:
    if column == "sol":  # the judged cost of the best-known routes
        return {path.stem: check_solution(nco.read(path), read_solution(path.with_suffix(".sol"))[0]).cost
                for path in sorted(folder.glob("*.vrp"))}
    with open(folder / "bks.csv", newline="") as handle:
        return {row["name"]: float(row[column]) for row in csv.DictReader(handle) if row.get(column)}


def evaluate(checkpoint: str | None, data: Path, name: str, solver: str, time_limit: float | None,
             search: str | None) -> list[dict]:
    folder, pattern, rounding, column, sizes = SETS[name]
    reference = references(data / folder, column)
    instances = [nco.read(path, rounding=rounding) for path in sorted((data / folder).glob(pattern))]
    instances = [i for i in instances if i.num_customers in sizes]
    options = dict(checkpoint=checkpoint, search=search) if solver == "neural" else {}
    label = Path(checkpoint).name if checkpoint else solver if solver != "neural" else "shipped"
    if time_limit is not None:
        label += f" {search or ''} {time_limit:g} s".replace("  ", " ")
    if solver == "nearest":
        solutions = [nearest_then_polish(instance, time_limit, seed=0) for instance in tqdm(instances, desc="solving")]
    else:
        solutions = nco.solve_many(instances, solver, time_limit, progress=True, **options)
    rows = []
    for solution in solutions:
        instance = solution.instance
        rows.append({"set": name, "instance": instance.name, "n": instance.num_customers,
                     "checkpoint": label, "cost": solution.cost, "feasible": solution.feasible,
                     "routes": len(solution.routes), "reference": reference[instance.name],
                     "gap": 100 * (solution.cost / reference[instance.name] - 1), "seconds": solution.seconds})
    return rows


def print_table(rows: list[dict]) -> None:
    """One line per checkpoint and set (and per Solomon series and HFVRP fleet kind)."""
    print("| checkpoint | set | instances | feasible | mean gap (feasible) | worst gap | mean time (s) |")
    print("|---|---|---|---|---|---|---|")
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["checkpoint"], row["set"]), []).append(row)
        if row["set"] == "solomon":  # and per series: C1, C2, R1, R2, RC1, RC2
            series = row["instance"].rstrip("0123456789") + row["instance"].lstrip("CR")[0]
            groups.setdefault((row["checkpoint"], f"solomon {series}"), []).append(row)
        if row["set"] == "hfvrp":  # and per fleet kind: HVRP, HD, FSMF, FSMD, FSMFD
            groups.setdefault((row["checkpoint"], f"hfvrp {row['instance'].split('-')[-1]}"), []).append(row)
    for (checkpoint, name), group in groups.items():
        gaps = [float(r["gap"]) for r in group if r["feasible"] in (True, "True")] or [np.nan]
        print(f"| {checkpoint} | {name} | {len(group)} | {sum(r['feasible'] in (True, 'True') for r in group)} "
              f"| {np.mean(gaps):.2f}% | {np.max(gaps):.2f}% | {np.mean([float(r['seconds']) for r in group]):.2f} |")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", action="append", help="repeat for several (default: the shipped one)")
    parser.add_argument("--data", help="the folder of the benchmark sets (not in the repository)")
    parser.add_argument("--sets", default="solomon,x250,cordeau,ortec")
    parser.add_argument("--out", help="CSV of every instance's result")
    parser.add_argument("--solver", default="neural", choices=(*SOLVERS, "nearest"),
                        help="nearest: the nearest-neighbour routes polished by PyVRP for --time-limit")
    parser.add_argument("--time-limit", type=float, help="seconds per instance (default: one neural decoding)")
    parser.add_argument("--search", help="the neural solver's use of the time limit (nco.solvers.neural.SEARCHES)")
    parser.add_argument("--tables", nargs="+", metavar="CSV", help="print the table of earlier runs' --out files instead")


def run(args: argparse.Namespace) -> None:
    if args.tables:
        rows = []
        for path in args.tables:
            with open(path, newline="") as handle:
                rows += list(csv.DictReader(handle))
        print_table(rows)
        return
    if args.solver == "nearest" and args.time_limit is None:
        raise OptionError("--solver nearest polishes the nearest-neighbour routes for --time-limit seconds: give one")
    names = args.sets.split(",")
    if unknown := [name for name in names if name not in SETS]:
        raise OptionError(f"unknown sets {unknown}: use some of {','.join(SETS)}")
    data = data_folder(args.data)
    rows = [row for checkpoint in (args.checkpoint or [None]) for name in names
            for row in evaluate(checkpoint, data, name, args.solver, args.time_limit, args.search)]
    print_table(rows)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
