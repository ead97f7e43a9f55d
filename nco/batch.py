"""``nco solve`` over files: reading them, :func:`nco.api.solve_many`, best-known costs, the table."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nco.api import solve_many
from nco.checkpoints import shipped_checkpoint
from nco.envs.check import check_solution
from nco.envs.instance import ROUNDINGS, Instance
from nco.io import InstanceFileError, read_instances, read_solution
from nco.messages import first_line
from nco.models.features import attributes_of
from nco.outputs import safe_name, unique_names, write_atomically
from nco.solvers.neural import NeuralParams, load_model


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
    notes: tuple[str, ...] = ()  # e.g. a best-known cost that its routes do not cost

    @property
    def gap(self) -> float | None:
        return None if self.bks is None or not self.feasible else 100 * (self.cost / self.bks - 1)


def best_known(path: Path, instance: Instance) -> tuple[float | None, str | None]:
    """The best-known cost of an instance file and a note about it, if any.

    From ``<stem>.sol`` beside the file: the judged cost of its routes, used only when the judge
    finds them feasible (a ``Cost`` line is a claim: one that differs gets a note, naming the
    rounding under which it holds if one does); else from a ``bks.csv`` row of the instance's
    NAME in the same folder."""
    solution = path.with_suffix(".sol")
    if solution.is_file():
        try:
            routes, written = read_solution(solution)
            result = check_solution(instance, routes)
        except (InstanceFileError, ValueError, IndexError) as error:
            return None, f"{instance.name}: {solution.name} is not a solution of it ({first_line(error)}): no gap"
        if not result.feasible:
            return None, (f"{instance.name}: the routes in {solution.name} are not feasible ({result.violations[0]}): "
                          "no gap")
        return result.cost, None if written is None else cost_note(instance, routes, written, result.cost, solution)
    table = path.parent / "bks.csv"
    if table.is_file():
        with open(table, newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("name") == instance.name and row.get("bks"):
                    return float(row["bks"]), None
    return None, None


def cost_note(instance: Instance, routes: list[list[int]], written: float, judged: float, source: Path) -> str | None:
    """None when the ``Cost`` line ``written`` in ``source`` is the ``judged`` cost of its routes
    (to the cent); otherwise a line naming the rounding under which it is, if any."""
    def matches(rounding: str) -> bool:
        return abs(check_solution(instance, routes, rounding).cost - written) <= 0.01

    if abs(judged - written) <= 0.01:
        return None
    others = [r for r in ROUNDINGS if r != instance.rounding and matches(r)]
    if others:
        return (f"{instance.name}: the Cost {written:g} in {source.name} is its routes' cost with rounding "
                f"{others[0]}, this run uses {instance.rounding} ({judged:g}): pass --rounding {others[0]} for "
                "the file's convention")
    return (f"{instance.name}: {source.name} says Cost {written:g}, its routes cost {judged:g}: "
            "the gap uses the routes' cost")


SUMMARY_FIELDS = ("instance", "variant", "customers", "cost", "feasible", "best_known", "gap_percent", "seconds",
                  "error")


def write_summary(results: list[SolveResult], path: Path) -> Path:
    """``results`` as a CSV with one row per instance (:data:`SUMMARY_FIELDS`); empty cells where
    a value is unknown."""
    def write(partial: Path) -> None:
        with open(partial, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(SUMMARY_FIELDS)
            for r in results:
                solved = r.variant != "-"
                writer.writerow([r.name, r.variant if solved else "", r.num_customers if solved else "",
                                 f"{r.cost:.6f}" if solved else "", r.feasible, "" if r.bks is None else repr(r.bks),
                                 "" if r.gap is None else f"{r.gap:.4f}", f"{r.seconds:.3f}", r.error or ""])

    return write_atomically(path, write)


def named_by_file(read: list[tuple[Path, Instance, bool]]) -> tuple[list[Instance], list[str]]:
    """The instances of ``read`` (each with its file, and whether it is alone in it) renamed after
    their files: the file's stem (an ``.npz`` dataset's instances: ``<stem>-<i>``) as a plain file
    name, never a NAME from inside the file, repeated names kept apart
    (:func:`nco.outputs.unique_names`); and a note per repeated name."""
    names, notes = unique_names([path.stem if alone else instance.name for path, instance, alone in read])
    return [instance.replace(name=name) for name, (_, instance, _) in zip(names, read)], notes


@dataclass(frozen=True)
class SolveOptions:
    """What ``nco solve`` does with files beside the neural solver's parameters: the time limit
    and seed of every solve, the files' rounding, and where solutions (and plots) go."""

    neural: NeuralParams = field(default_factory=NeuralParams)
    time_limit: float | None = None
    seed: int = 1
    rounding: str = "none"
    out: str | None = None
    plot: bool = False


def solve_files(paths: list[Path], options: SolveOptions, workers: int = 1, backend: str = "local",
                ray_address: str | None = None) -> list[SolveResult]:
    """Solves every instance of every file with :func:`nco.api.solve_many` (a progress bar over
    the instances; ``workers`` processes share them, or Ray tasks with ``backend="ray"``). A file
    that cannot be read, a checkpoint that does not load or an infeasible solution gives a result
    carrying the error."""
    results: list[SolveResult] = []
    read: list[tuple[Path, Instance, bool]] = []  # each instance, its file, alone in it or not
    for path in paths:
        try:
            found = [instance.replace(rounding=options.rounding) for instance in read_instances(path)]
        except ValueError as error:
            results.append(SolveResult(name=safe_name(path.stem), error=str(error)))
            continue
        read += [(path, instance, len(found) == 1) for instance in found]
    instances, collisions = named_by_file(read)
    origin = {instance.name: entry for instance, entry in zip(instances, read)}
    if not instances:
        return results
    try:  # every model that will solve a file: a checkpoint that does not load fails here, once
        model_reads = {instance.name: set(load_model(options.neural.checkpoint or shipped_checkpoint(instance),
                                                     options.neural.device).attributes) for instance in instances}
    except ValueError as error:
        return results + [SolveResult(name=instances[0].name, error=str(error))]
    solutions = solve_many(instances, "neural", options.time_limit, workers, progress=True, backend=backend,
                           ray_address=ray_address, seed=options.seed, params=options.neural)
    for solution in solutions:
        instance = solution.instance
        path, as_read, alone = origin[instance.name]
        bks, note = best_known(path, as_read) if alone else (None, None)
        notes = tuple(note for note in [note] if note) + tuple(collisions)
        attributes = attributes_of(instance.variant) | ({"fleet"} if instance.vehicle_types is not None else set())
        result = SolveResult(instance.name, instance.type_name, instance.num_customers, solution.cost,
                             solution.feasible, solution.seconds, bks, notes=notes,
                             unread=tuple(sorted(attributes - model_reads[instance.name])))
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
