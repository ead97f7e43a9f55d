"""Solving instance files with a trained policy: ``Instance -> Routes``, and the ``nco solve`` batch.

Instances come in any units. Coordinates are shifted and divided by one factor (their largest
extent, so the aspect ratio is kept) into the unit square the model was trained on; travel
(matrices, time windows, service times, the distance limit) is divided by one travel factor: the
same factor for Euclidean instances, and for explicit matrices the factor that gives the matrix
the mean of the unit-square Euclidean distances. Demands are compared with the capacity as they
are. The routes found are re-costed on the original data by the independent check.
"""

from __future__ import annotations

import csv
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from envs.check import check_solution
from envs.env import actions_to_routes
from envs.instance import Instance
from envs.matrix_pool import model_units
from envs.problem import Problem
from models.features import attributes_of
from models.policy import Policy, dihedral_augment
from nco.io import INSTANCE_SUFFIXES, InstanceFileError, read_instances, read_solution, write_solution


def rescale(instance: Instance) -> Instance:
    """The instance in model units (:func:`envs.matrix_pool.model_units`): coordinates in the
    unit square, travel, windows, service times and the length limit scaled alike."""
    unit, travel = model_units(instance.coords, instance.distance_matrix)

    def scaled(matrix):
        return None if matrix is None else matrix / travel

    return instance.replace(
        coords=unit,
        distance_matrix=scaled(instance.distance_matrix),
        duration_matrix=scaled(instance.duration_matrix),
        time_windows=instance.time_windows / travel,
        service_time=instance.service_time / travel,
        distance_limit=instance.distance_limit / travel,
    )


@torch.inference_mode()
def solve_instance(
    policy: Policy,
    instance: Instance,
    augment: bool = True,
    samples: int = 0,
    max_rollouts: int = 2048,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """The best routes that multi-start greedy decoding (plus ``samples`` multi-start sampling
    passes) finds; with ``augment`` over the 8 dihedral images.

    At most ``max_rollouts`` rollouts run at once: larger instances decode image by image, so
    memory stays bounded.
    """
    problem = Problem.from_instances([rescale(instance)])
    images = [problem.locs]
    if augment and 8 * problem.num_customers > max_rollouts:
        images = list(dihedral_augment(problem.locs).unbind(1))
    together = augment and len(images) == 1
    best_cost, best_actions = float("inf"), None
    for strategy in ["greedy"] + ["sampling"] * samples:
        for locs in images:
            image = Problem(**{**vars(problem), "locs": locs})
            rollouts = policy(image, strategy=strategy, multi_start=True, augment=together, generator=generator)
            cost, actions = rollouts.best()
            if float(cost[0]) < best_cost:
                best_cost, best_actions = float(cost[0]), actions[0]
    return actions_to_routes(best_actions, instance.num_depots, problem.num_depot_slots)


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

    @property
    def gap(self) -> float | None:
        return None if self.bks is None or not self.feasible else 100 * (self.cost / self.bks - 1)


def best_known(path: Path, name: str) -> float | None:
    """The best-known cost next to an instance file: ``<stem>.sol`` or a ``bks.csv`` row."""
    solution = path.with_suffix(".sol")
    if solution.is_file():
        try:
            cost = read_solution(solution)[1]
            if cost is not None:
                return cost
        except InstanceFileError:
            pass
    table = path.parent / "bks.csv"
    if table.is_file():
        with open(table, newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("name") == name and row.get("bks"):
                    return float(row["bks"])
    return None


def expand_paths(paths: list[str]) -> list[Path]:
    """Files named directly, every instance file in a named folder, and glob matches."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in INSTANCE_SUFFIXES and p.is_file())
        elif any(ch in item for ch in "*?["):
            files += sorted(p for p in Path().glob(item) if p.suffix in INSTANCE_SUFFIXES)
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


_POLICY: dict = {}


def _policy(checkpoint: str | None) -> Policy:
    from nco.checkpoints import load_policy

    if checkpoint not in _POLICY:
        _POLICY[checkpoint] = load_policy(checkpoint)[0]
    return _POLICY[checkpoint]


def solve_file(path: Path, options: SolveOptions) -> list[SolveResult]:
    """Solves every instance in one file; a bad file gives one result carrying the error."""
    try:
        instances = read_instances(path)
    except ValueError as error:
        return [SolveResult(name=path.stem, error=str(error))]
    try:
        policy = _policy(options.checkpoint)
    except ValueError as error:
        return [SolveResult(name=path.stem, error=str(error))]
    results = []
    for instance in instances:
        began = time.perf_counter()
        generator = torch.Generator().manual_seed(options.seed)
        routes = solve_instance(policy, instance, options.augment, options.samples, generator=generator)
        seconds = time.perf_counter() - began
        check = check_solution(instance, routes, options.rounding)
        bks = best_known(path, instance.name) if len(instances) == 1 else None
        unread = tuple(sorted(attributes_of(instance.variant) - set(policy.attributes)))
        result = SolveResult(instance.name, instance.variant.name, instance.num_customers, check.cost,
                             check.feasible, seconds, bks, unread=unread)
        if not check.feasible:
            result.error = f"{path}: {instance.name}: solution infeasible: {check.violations[0]}"
        if options.out:
            out = Path(options.out)
            out.mkdir(parents=True, exist_ok=True)
            solver = f"nco {Path(options.checkpoint).name if options.checkpoint else 'shipped'}"
            write_solution(out / f"{instance.name}.sol", routes, check.cost, Time=round(seconds, 3), Solver=solver)
            if options.plot:
                from nco.plots import plot_routes

                title = f"{instance.name} ({instance.variant.name}, n = {instance.num_customers}): cost {check.cost:.2f}"
                plot_routes(instance, routes, title, out / f"{instance.name}.png")
        results.append(result)
    return results


def _solve_file_in_worker(args) -> list[SolveResult]:
    torch.set_num_threads(1)
    return solve_file(*args)


def solve_files(paths: list[Path], options: SolveOptions, workers: int = 1) -> list[SolveResult]:
    """Solves every file, with a progress bar; ``workers`` processes share the files."""
    results: list[SolveResult] = []
    with tqdm(total=len(paths), desc="solving", unit="file", leave=False) as bar:
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                for file_results in pool.map(_solve_file_in_worker, [(p, options) for p in paths]):
                    results += file_results
                    bar.update()
        else:
            for path in paths:
                results += solve_file(path, options)
                bar.update()
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
