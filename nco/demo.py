"""The product's demonstration, run by ``make run``: the shipped neural solver, OR-Tools and PyVRP
on a small bundled set (generated instances of several variants and three real files), judged by
the independent check, with the summary table and the plots in ``outputs/demo``."""

from __future__ import annotations

from pathlib import Path

from nco.envs.generator import generate
from nco import DATA
from nco.compare import compare, write_report
from nco.io import read_instance

DEMO_VARIANTS = ["CVRP", "OVRP", "VRPB", "VRPL", "VRPTW", "OVRPBLTW"]
REAL_FILES = ["X-n101-k25.vrp", "C101.txt", "p01.vrp"]


def demo_instances(num_customers: int = 20, per_variant: int = 2, seed: int = 7) -> list:
    instances = []
    for variant in DEMO_VARIANTS:
        problem = generate(per_variant, num_customers, [variant], seed=seed)
        instances += [problem.instance(i, f"{variant}-n{num_customers}-{i}") for i in range(per_variant)]
    return instances + [read_instance(DATA / name) for name in REAL_FILES]


def run_demo(out: str | Path = "outputs/demo", time_limit: float = 1.0) -> None:
    instances = demo_instances()
    rows = compare(instances, ["neural", "ortools", "pyvrp"], [time_limit], out)
    paths = write_report(rows, instances, out)
    print(paths[0].read_text())
    print("plots: " + ", ".join(str(p) for p in paths[1:]))
    print(f"solutions: {out}/solutions/<solver>-<setting>/<instance>.sol; all rows: {out}/results.csv")
