"""The Python API: read instances, solve them with any solver, get judged ``Solution`` objects.

    import nco

    instance = nco.read("X-n101-k25.vrp", rounding="round")
    solution = nco.solve(instance, solver="pyvrp", time_limit=1)
    print(solution.cost, solution.feasible, len(solution.routes))

Every solver goes through :func:`solve`, and every batch through :func:`solve_many`, the path that
``nco solve`` and ``nco compare`` take too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from tqdm import tqdm

from nco.clock import Clock, Deadline
from nco.cluster import check_backend, execute
from nco.envs.instance import Instance
from nco.io import expand_paths, read_instance, read_instances
from nco.solution import Solution
from nco.solvers import NotSolved, make_solver
from nco.solvers.neural import NeuralParams


def read(path: str | Path, rounding: str = "none") -> Instance:
    """Reads one instance file (VRPLIB ``.vrp`` in PyVRP's dialect, or Solomon ``.txt``).

    Parameters
    ----------
    rounding
        The file's cost convention, used by the judge: ``none``, ``round`` (CVRPLIB X),
        ``dimacs`` or ``exact``.

    Raises
    ------
    ValueError
        For a missing or malformed file, or infeasible data; the message names the fix.
    """
    if Path(path).suffix == ".npz":
        raise ValueError(f"{path}: an .npz dataset holds many instances: read it with nco.read_many")
    return read_instance(path).replace(rounding=rounding)


def read_many(paths: str | Path | Iterable[str | Path], rounding: str = "none") -> list[Instance]:
    """Every instance in ``paths``: files, folders (their ``.vrp``, ``.txt`` and ``.npz`` files)
    and glob patterns; an ``.npz`` dataset gives all of its instances."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return [instance.replace(rounding=rounding)
            for path in expand_paths([str(p) for p in items]) for instance in read_instances(path)]


def solve(
    instance: Instance | str | Path,
    solver: str = "neural",
    time_limit: float | None = None,
    seed: int = 1,
    params: NeuralParams | None = None,
    progress: bool = False,
    clock: Clock = time.perf_counter,
    **options,
) -> Solution:
    """Solves one instance (or instance file) with one solver.

    Parameters
    ----------
    solver
        ``neural`` (the trained policy: multi-start greedy decoding), ``pyvrp`` (hybrid genetic
        search) or ``ortools`` (guided local search): :data:`nco.solvers.SOLVERS`.
    time_limit
        Seconds for the whole solve. Classical solvers search until it (default
        :data:`nco.solvers.classical.CLASSICAL_TIME_LIMIT`); the neural solver without one decodes
        once, with one it searches (:mod:`nco.solvers.neural.solver`).
    seed
        Seed of every random choice: the neural solver's sampling and re-construction, PyVRP's
        search. OR-Tools' guided local search makes none (its routing parameters hold no seed),
        so its runs differ only by where the time limit falls.
    params, options
        The neural solver's parameters: a :class:`nco.NeuralParams`, or its fields as keywords
        (``checkpoint``, ``augment``, ``samples``, ``search``, ``network_share``, ``device``).
    progress
        Show a bar over the neural solver's decoding passes (and its re-construction) once they
        take more than a few seconds (large instances).
    clock
        What the time limit and the solution's seconds are measured on: a
        :class:`nco.clock.SteppingClock` makes a time-limited neural run independent of the
        machine's speed (PyVRP's polish and the classical solvers still run for real seconds).

    Returns
    -------
    Solution
        Judged by the independent check, in the instance's units and rounding.
    """
    if not isinstance(instance, Instance):
        instance = read(instance)
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit={time_limit}: give a positive number of seconds")
    chosen = make_solver(solver, params, **options)
    began = clock()
    deadline = None if time_limit is None else Deadline(began + time_limit, clock)
    try:
        routes = chosen(instance, deadline, seed, progress)
    except NotSolved as reason:
        return Solution.judged(instance, None, solver, clock() - began, str(reason))
    return Solution.judged(instance, routes, solver, clock() - began)


def _solve_one(instance: Instance, own: dict, shared: dict) -> Solution:
    """:func:`solve` with the options ``own`` to this instance and those ``shared`` by the batch."""
    return solve(instance, **shared, **own)


def solve_many(
    instances: Iterable[Instance | str | Path],
    solver: str = "neural",
    time_limit: float | Callable[[Instance], float] | None = None,
    workers: int = 1,
    progress: bool = False,
    backend: str = "local",
    ray_address: str | None = None,
    **options,
) -> Iterator[Solution]:
    """Solves every instance with :func:`solve` (same ``options``), yielding each ``Solution``
    as it finishes: in order with one local worker, else in finishing order (each solution names
    its instance).

    Parameters
    ----------
    time_limit
        As :func:`solve`'s, or a function giving each instance its own (e.g. by its size).
    workers
        Local processes sharing the instances (one thread each).
    progress
        Show a progress bar over the instances (and, with one worker, inside a long one).
    backend
        ``local`` (this machine, ``workers`` processes) or ``ray`` (one Ray task per instance,
        on the cluster at ``ray_address``, default a local Ray instance: :mod:`nco.cluster`).
        A Ray task that fails twice gives an infeasible solution without routes.
    """
    check_backend(backend)
    if workers < 1:
        raise ValueError(f"workers={workers}: give 1 or more processes")
    items = [item if isinstance(item, Instance) else read(item) for item in instances]
    in_process = backend == "local" and workers == 1
    shared = dict(options, solver=solver, progress=progress and in_process)  # a bar inside a long one
    calls = [(item, {"time_limit": time_limit(item) if callable(time_limit) else time_limit}) for item in items]
    with tqdm(total=len(items), desc="solving", unit="instance", disable=not progress, leave=False) as bar:
        for index, result in execute(_solve_one, calls, shared, backend, workers, ray_address):
            yield result if isinstance(result, Solution) else Solution.judged(items[index], None, solver, 0.0)
            bar.update()
