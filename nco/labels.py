"""Labelled datasets for imitation training: generated instances, each solved by a solver.

    nco label OUT --distribution broad variants_md --variants all48 --customers 20 200 \
        --instances 8192 --solver neural --time-per-customer 0.005 --workers 2

A dataset is a folder: ``recipe.json`` (what was asked, :class:`Recipe`) and one
``shard-NNNNN.npz`` per generated batch of ``shard_size`` instances of one size, holding the batch
(:meth:`nco.envs.problem.Problem.arrays`) and, per instance, its routes as a route list (actions
are derived when a batch is loaded, so a change of the action space keeps the data), their judged
cost, the solver's seconds and the judge's verdict. A shard is generated from the recipe's seed
and its own index alone and written whole (a temporary file, then a rename): a killed run, started
again on the same folder, continues where it stopped with no label lost or repeated.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from nco.api import solve_many
from nco.envs.distribution import get_distribution
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.problem import Problem, read_npz
from nco.envs.variants import resolve_variants
from nco.outputs import write_atomically, write_text

RECIPE = "recipe.json"
QUALITY = "quality.json"
LABEL_SOLVERS = ("neural", "network", "pyvrp")
"""Solvers that label: the network polished by PyVRP under the time limit (the anytime search's
default), the network alone (its best of greedy multi-start over the 8 dihedral images, and of
``samples`` multi-start sampling passes, without a time limit: labels of its own decoding, for
self-improvement), or PyVRP alone."""
LABEL_FIELDS = ("route_nodes", "route_sizes", "routes_per_instance", "cost", "seconds", "feasible")


@dataclass(frozen=True)
class Recipe:
    """What a labelled dataset holds and how it was made.

    Attributes
    ----------
    distribution
        Presets of :mod:`nco.envs.distribution`; each shard draws one (repeat a name to weight it).
    variants
        ``all16``, ``all48`` or a list of variant names, mixed within every shard.
    num_nodes
        (smallest, largest) customers; each shard draws its size uniformly.
    instances
        Instances in all, rounded up to whole shards (a later run may raise it to add shards).
    shard_size
        Instances per shard (one size, one generated batch).
    seed
        Seed of the shards: shard ``i`` is generated from ``(seed, i)`` alone.
    solver
        One of :data:`LABEL_SOLVERS`.
    time_per_customer
        The solver's time limit per customer, in seconds (``0.005``: 0.5 s at 100 customers); the
        ``network`` solver has none, and its quality report gives PyVRP this budget times the
        factor.
    checkpoint
        The network of the ``neural`` and ``network`` solvers (``None``: the shipped model).
    samples
        The ``network`` solver's multi-start sampling passes after its greedy one (each over every
        start of the 8 images): labels better than its greedy decoding that it can still reach.
    """

    distribution: tuple[str, ...] = ("broad", "variants_md")
    variants: str | tuple[str, ...] = "all48"
    num_nodes: tuple[int, int] = (20, 200)
    instances: int = 1024
    shard_size: int = 64
    seed: int = 1
    solver: str = "neural"
    time_per_customer: float = 0.005
    checkpoint: str | None = None
    samples: int = 0

    def __post_init__(self):
        for name in self.distribution:
            get_distribution(name)
        resolve_variants(self.variants if isinstance(self.variants, str) else list(self.variants))
        smallest, largest = self.num_nodes
        if not 1 <= smallest <= largest:
            raise ValueError(f"num_nodes={self.num_nodes}: give 1 <= smallest <= largest customers")
        if self.instances < 1 or self.shard_size < 1:
            raise ValueError(f"instances={self.instances}, shard_size={self.shard_size}: give 1 or more")
        if self.solver not in LABEL_SOLVERS:
            raise ValueError(f"unknown label solver {self.solver!r}: use one of {', '.join(LABEL_SOLVERS)}")
        if not 0 < self.time_per_customer < math.inf:
            raise ValueError(f"time_per_customer={self.time_per_customer}: give a positive number of seconds")
        if self.samples < 0 or (self.samples and self.solver != "network"):
            raise ValueError(f"samples={self.samples}: give 0, or a number of sampling passes with the network solver")

    @property
    def num_shards(self) -> int:
        return math.ceil(self.instances / self.shard_size)

    def shard_problem(self, index: int) -> Problem:
        """Shard ``index``'s instances."""
        digest = hashlib.sha256(f"{self.seed}-{index}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") % 2**62)
        smallest, largest = self.num_nodes
        num_nodes = int(torch.randint(smallest, largest + 1, (1,), generator=generator))
        distribution = self.distribution[int(torch.randint(len(self.distribution), (1,), generator=generator))]
        variants = self.variants if isinstance(self.variants, str) else list(self.variants)
        return generate(self.shard_size, num_nodes, variants, generator=generator, distribution=distribution)

    def budget(self, instance: Instance) -> float:
        """``time_per_customer`` seconds for each customer of ``instance``."""
        return self.time_per_customer * instance.num_customers

    def time_limit(self, instance: Instance) -> float | None:
        """The solver's seconds for ``instance`` (``None``: the network decodes once)."""
        return None if self.solver == "network" else self.budget(instance)

    def same_data(self, other: Recipe) -> bool:
        """Whether the shards of both recipes are the same (``instances`` aside)."""
        return asdict(self) | {"instances": 0} == asdict(other) | {"instances": 0}


@dataclass
class LabelledBatch:
    """One shard's feasibly labelled instances."""

    problem: Problem
    routes: list[list[list[int]]]  # per instance, a route list (each route starts with its depot)
    cost: torch.Tensor  # (B,) judged cost of the label
    source: str = field(default="")  # the shard file, for messages


def shard_path(folder: Path, index: int) -> Path:
    return folder / f"shard-{index:05d}.npz"


def read_recipe(folder: str | Path) -> Recipe:
    """The recipe of the dataset in ``folder``; ``ValueError`` when it holds none."""
    path = Path(folder) / RECIPE
    try:
        data = json.loads(path.read_text())
        return Recipe(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: not a labelled dataset's recipe ({' '.join(str(error).split())[:200]}): "
                         "make the folder with nco label") from None


def label(folder: str | Path, recipe: Recipe, workers: int = 1, backend: str = "local",
          ray_address: str | None = None, progress: bool = True) -> int:
    """Labels every shard of ``recipe`` that ``folder`` does not hold yet; returns how many
    instances it labelled now.

    Raises
    ------
    ValueError
        When ``folder`` holds a dataset of another recipe.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / RECIPE).is_file() and not read_recipe(folder).same_data(recipe):
        raise ValueError(f"{folder} holds labels of another recipe ({folder / RECIPE}): "
                         "use a new folder, or the same options (only --instances may grow)")
    write_text(folder / RECIPE, json.dumps(asdict(recipe), indent=1))
    pending = [index for index in range(recipe.num_shards) if not shard_path(folder, index).is_file()]
    block = max(1, 2 * workers)  # shards solved by one pool: a kill loses at most these
    total = len(pending) * recipe.shard_size
    solver = "pyvrp" if recipe.solver == "pyvrp" else "neural"
    options = {} if solver == "pyvrp" else {"checkpoint": recipe.checkpoint, "samples": recipe.samples}
    with tqdm(total=total, desc="labelling", unit="instance", disable=not progress) as bar:
        for start in range(0, len(pending), block):
            shards = {index: recipe.shard_problem(index) for index in pending[start : start + block]}
            instances = [instance for index, problem in shards.items()
                         for instance in problem.instances(prefix=f"shard{index}")]
            solved: dict[int, dict[int, object]] = {index: {} for index in shards}
            for solution in solve_many(instances, solver, recipe.time_limit, workers=workers,
                                       backend=backend, ray_address=ray_address, **options):
                index, position = (int(part) for part in solution.instance.name.removeprefix("shard").split("-"))
                solved[index][position] = solution
                bar.update()
                if len(solved[index]) == shards[index].batch_size:
                    _write_shard(shard_path(folder, index), shards[index], solved.pop(index))
    return total


def _write_shard(path: Path, problem: Problem, solutions: dict) -> None:
    ordered = [solutions[position] for position in range(problem.batch_size)]
    route_lists = [[[route.depot, *route.visits] for route in solution.routes] for solution in ordered]
    arrays = {
        "route_nodes": np.asarray([node for routes in route_lists for route in routes for node in route], np.int64),
        "route_sizes": np.asarray([len(route) for routes in route_lists for route in routes], np.int64),
        "routes_per_instance": np.asarray([len(routes) for routes in route_lists], np.int64),
        "cost": np.asarray([solution.cost for solution in ordered], np.float64),
        "seconds": np.asarray([solution.seconds for solution in ordered], np.float64),
        "feasible": np.asarray([solution.feasible for solution in ordered], bool),
    }
    write_atomically(path, lambda partial: np.savez_compressed(partial, **problem.arrays(), **arrays))


def read_shard(path: str | Path) -> tuple[Problem, dict[str, np.ndarray]]:
    """A shard's batch and its label arrays (:data:`LABEL_FIELDS`), checked for consistency.

    Raises
    ------
    ValueError
        Naming the file, for one that is not a shard written by :func:`label`.
    """
    arrays = read_npz(path)
    missing = [name for name in LABEL_FIELDS if name not in arrays]
    if missing:
        raise ValueError(f"{path}: no {missing[0]} in the shard: make it with nco label")
    labels = {name: arrays.pop(name) for name in LABEL_FIELDS}
    problem = Problem.from_arrays(arrays, path)
    sizes, counts = labels["route_sizes"], labels["routes_per_instance"]
    consistent = (
        all(labels[name].ndim == 1 for name in LABEL_FIELDS)
        and len(counts) == len(labels["cost"]) == len(labels["feasible"]) == problem.batch_size
        and (counts >= 0).all() and (sizes >= 1).all()
        and counts.sum() == len(sizes) and sizes.sum() == len(labels["route_nodes"])
    )
    if not consistent:
        raise ValueError(f"{path}: its route arrays do not add up to its {problem.batch_size} instances: "
                         "make it again with nco label")
    return problem, labels


def read_labels(folder: str | Path) -> list[LabelledBatch]:
    """The feasibly labelled instances of every shard in ``folder``, one batch per shard.

    Raises
    ------
    ValueError
        For a folder without shards, or a shard that is not one (:func:`read_shard`).
    """
    folder = Path(folder)
    paths = sorted(folder.glob("shard-*.npz"))
    if not paths:
        raise ValueError(f"{folder}: no labelled shards (shard-NNNNN.npz) there: make them with nco label")
    batches = []
    for path in paths:
        problem, labels = read_shard(path)
        nodes = np.split(labels["route_nodes"], np.cumsum(labels["route_sizes"])[:-1])
        per_instance = np.split(np.arange(len(labels["route_sizes"])), np.cumsum(labels["routes_per_instance"])[:-1])
        keep = np.flatnonzero(labels["feasible"])
        if not len(keep):
            continue
        routes = [[nodes[r].tolist() for r in per_instance[i]] for i in keep]
        batches.append(LabelledBatch(problem[torch.as_tensor(keep)], routes,
                                     torch.as_tensor(labels["cost"][keep]), str(path)))
    return batches


def label_report(folder: str | Path) -> dict:
    """Instances, share feasible, mean cost and the solver's total seconds of a dataset."""
    folder = Path(folder)
    feasible, seconds, count = 0, 0.0, 0
    for path in sorted(folder.glob("shard-*.npz")):
        _, labels = read_shard(path)
        count += len(labels["feasible"])
        feasible += int(labels["feasible"].sum())
        seconds += float(labels["seconds"].sum())
    return {"instances": count, "feasible": feasible, "solver_cpu_hours": seconds / 3600}


def quality(folder: str | Path, sample: int = 16, factor: float = 10.0, workers: int = 1) -> dict:
    """The labels' gap to PyVRP at ``factor`` times their budget, on ``sample`` instances
    spread evenly over the shards; written to ``quality.json`` in ``folder`` too."""
    folder = Path(folder)
    recipe = read_recipe(folder)
    paths = sorted(folder.glob("shard-*.npz"))
    if not paths:
        raise ValueError(f"{folder}: no labelled shards there: run nco label first")
    picks: list[tuple[Instance, float]] = []
    for k in range(sample):
        path = paths[k * len(paths) // sample]
        problem, labels = read_shard(path)
        position = (k * 7919) % problem.batch_size
        if labels["feasible"][position]:
            picks.append((problem.instance(position, f"{path.stem}-{position}"), float(labels["cost"][position])))
    if not picks:
        raise ValueError(f"{folder}: no feasible label in the sample: look at the shards' feasible flags")
    costs = {instance.name: cost for instance, cost in picks}
    gaps = []
    for solution in solve_many([instance for instance, _ in picks], "pyvrp",
                               lambda instance: factor * recipe.budget(instance), workers=workers):
        if solution.feasible:
            gaps.append(100 * (costs[solution.instance.name] / solution.cost - 1))
    report = {"sample": len(picks), "compared": len(gaps), "reference": f"pyvrp at {factor:g}x the label's budget",
              "mean_gap_percent": float(np.mean(gaps)) if gaps else None,
              "max_gap_percent": float(np.max(gaps)) if gaps else None}
    write_text(folder / QUALITY, json.dumps(report, indent=1))
    return report
