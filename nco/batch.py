"""``nco solve`` over files: reading them, :func:`nco.api.solve_many`, best-known costs, the table."""

from __future__ import annotations

import csv
import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nco.envs.instance import ROUNDINGS, Instance
from nco.models.features import attributes_of
from nco.io import InstanceFileError, is_instance_file, read_instances, read_solution


@dataclass
class SolveResult:
    name: str
    variant: str = "-"
    num_customers: int = 0
    cost: float = float("nan")
    feasible: bool = False
    seconds: float = 0.0
    bks: float | None = None
    error: str | None = None
    unread: tuple[str, ...] = ()  # attributes of the instance that the model does not read
    note: str | None = None  # e.g. a best-known cost computed with another rounding

    @property
    def gap(self) -> float | None:
        return None if self.bks is None or not self.feasible else 100 * (self.cost / self.bks - 1)


def best_known(path: Path, instance: Instance) -> tuple[float | None, str | None]:
    """The best-known cost next to an instance file (``<stem>.sol`` or a ``bks.csv`` row), and a
    note when the routes of that ``.sol`` cost something else under ``instance.rounding`` (the
    best-known cost then used another rounding convention, and a gap to it means little)."""
    solution = path.with_suffix(".sol")
    if solution.is_file():
        try:
            routes, cost = read_solution(solution)
        except InstanceFileError:
            routes, cost = [], None
        if cost is not None:
            return cost, rounding_note(instance, routes, cost, solution)
    table = path.parent / "bks.csv"
    if table.is_file():
        with open(table, newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("name") == instance.name and row.get("bks"):
                    return float(row["bks"]), None
    return None, None


def rounding_note(instance: Instance, routes: list[list[int]], cost: float, source: Path) -> str | None:
    """None when ``routes`` cost ``cost`` (to the cent) under ``instance.rounding``; otherwise a
    line naming the rounding under which they do, if any."""
    from nco.envs.check import check_solution

    def matches(rounding: str) -> bool:
        try:
            return abs(check_solution(instance, routes, rounding).cost - cost) <= 0.01
        except (ValueError, IndexError):  # routes that do not fit the instance
            return False

    if matches(instance.rounding):
        return None
    others = [r for r in ROUNDINGS if r != instance.rounding and matches(r)]
    if others:
        return (f"{instance.name}: the best-known cost {cost:g} in {source.name} was computed with rounding "
                f"{others[0]}, this run uses {instance.rounding}: pass --round {others[0]} for a comparable gap")
    return (f"{instance.name}: the routes in {source.name} do not cost the {cost:g} written there under any "
            "rounding: its gap may compare different things")


SUMMARY_FIELDS = ("instance", "variant", "customers", "cost", "feasible", "best_known", "gap_percent", "seconds",
                  "error")


def write_summary(results: list[SolveResult], path: Path) -> Path:
    """``results`` as a CSV with one row per instance (:data:`SUMMARY_FIELDS`); empty cells where
    a value is unknown."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_FIELDS)
        for r in results:
            solved = r.variant != "-"
            writer.writerow([r.name, r.variant if solved else "", r.num_customers if solved else "",
                             f"{r.cost:.6f}" if solved else "", r.feasible, "" if r.bks is None else repr(r.bks),
                             "" if r.gap is None else f"{r.gap:.4f}", f"{r.seconds:.3f}", r.error or ""])
    return path


def expand_paths(paths: list[str]) -> list[Path]:
    """Files named directly, every instance file in a named folder, and glob matches."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if is_instance_file(p))
        elif any(ch in item for ch in "*?["):
            files += sorted(p for p in map(Path, glob.glob(item)) if is_instance_file(p))  # absolute patterns too
        else:
            files.append(path)
    return files


@dataclass
class SolveOptions:
    checkpoint: str | None = None
    out: str | None = None
    rounding: str = "none"
    augment: bool = True
    samples: int = 0
    plot: bool = False
    seed: int = 1
    device: str = "auto"
    time_limit: float | None = None
    search: str | None = None


def solve_files(paths: list[Path], options: SolveOptions, workers: int = 1, backend: str = "local",
                ray_address: str | None = None) -> list[SolveResult]:
    """Solves every instance of every file with :func:`nco.api.solve_many` (a progress bar over
    the instances; ``workers`` processes share them, or Ray tasks with ``backend="ray"``). A file
    that cannot be read, a checkpoint that does not load or an infeasible solution gives a result
    carrying the error."""
    from nco.api import load_model, solve_many
    from nco.checkpoints import shipped_checkpoint

    results: list[SolveResult] = []
    instances: list[Instance] = []
    origin: dict[str, tuple[Path, bool]] = {}  # instance name -> its file, alone in it or not
    for path in paths:
        try:
            found = [instance.replace(rounding=options.rounding) for instance in read_instances(path)]
        except ValueError as error:
            results.append(SolveResult(name=path.stem, error=str(error)))
            continue
        origin.update({instance.name: (path, len(found) == 1) for instance in found})
        instances += found
    if not instances:
        return results
    try:  # every model that will solve a file: a checkpoint that does not load fails here, once
        read = {instance.name: set(load_model(options.checkpoint or shipped_checkpoint(instance), options.device).attributes)
                for instance in instances}
    except ValueError as error:
        return results + [SolveResult(name=instances[0].name, error=str(error))]
    solutions = solve_many(instances, "neural", options.time_limit, workers, progress=True, checkpoint=options.checkpoint,
                           seed=options.seed, augment=options.augment, samples=options.samples, device=options.device,
                           search=options.search, backend=backend, ray_address=ray_address)
    for solution in solutions:
        instance = solution.instance
        path, alone = origin[instance.name]
        bks, note = best_known(path, instance) if alone else (None, None)
        result = SolveResult(instance.name, instance.variant.name, instance.num_customers, solution.cost,
                             solution.feasible, solution.seconds, bks, note=note,
                             unread=tuple(sorted(attributes_of(instance.variant) - read[instance.name])))
        if not solution.feasible:
            result.error = f"{path}: {instance.name}: solution infeasible: {solution.violations[0]}"
        if options.out:
            solution.to_sol(Path(options.out) / f"{instance.name}.sol")
            if options.plot:
                solution.plot(Path(options.out) / f"{instance.name}.png", bks)
        results.append(result)
    return results


def format_results(results: list[SolveResult]) -> str:
    lines = ["| instance | variant | n | cost | BKS | gap | time (s) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error and not r.feasible and r.variant == "-":
            continue
        bks = "-" if r.bks is None else f"{r.bks:.2f}"
        gap = "-" if r.gap is None else f"{r.gap:.2f}%"
        lines.append(f"| {r.name} | {r.variant} | {r.num_customers} | {r.cost:.2f} | {bks} | {gap} | {r.seconds:.2f} |")
    gaps = [r.gap for r in results if r.gap is not None]
    solved = [r for r in results if r.feasible]
    if solved:
        mean_gap = f"{np.mean(gaps):.2f}%" if gaps else "-"
        lines.append(f"| mean ({len(solved)} solved) | | | | | {mean_gap} | {np.mean([r.seconds for r in solved]):.2f} |")
    return "\n".join(lines)
