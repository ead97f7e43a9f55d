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
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Iterable, Iterator

import torch
from tqdm import tqdm

from nco.baselines import memory_shortfall
from nco.clock import Clock, Deadline
from nco.envs.check import check_solution
from nco.envs.instance import Instance
from nco.models.policy import Policy
from nco.solution import Solution

SOLVERS = ("neural", "pyvrp", "ortools")
CLASSICAL_TIME_LIMIT = 1.0
"""Seconds per instance of a classical solver when no ``time_limit`` is given."""
SEARCHES = ("polish", "sampling", "reconstruct")
"""How the neural solver can spend a time limit (:func:`solve`'s ``search``)."""
DEFAULT_SEARCH = "polish"
NETWORK_SHARE = 0.3
"""Share of a time limit in which the neural solver decodes before a polish or re-construction.

Chosen by measurement (2026-12-04; the polish against PyVRP from its own start, generated
instances, two seeds each, mean gap to the best run): 0.3 was better than 0.5 at n = 100, 200 and
500 at 1 s (0.22 / 0.32 / 0.72% against 0.32 / 0.64 / 1.39%) and at n = 200, 3 s, and equal at
n = 50 and 100, 0.3 s; at n = 50, 0.1 s the first image takes the same time whatever the share.
On a second set of instances (other seeds) at 1 s: 0.28 against 0.41% at n = 100, 0.61 against
0.72% at n = 200 (PyVRP from its own start: 0.36 and 0.71%)."""

POLISH_SETUP_SECONDS_PER_PAIR = 2.2e-7
"""The polish's set-up time (PyVRP's data and neighbourhoods) per pair of locations, on this
project's 2-core CPU: 10.7 + 11.0 s at 10,001 locations, before its first local search (2.8 s).
The default search polishes only where that set-up fits in :data:`POLISH_SETUP_SHARE` of the
polish's time; elsewhere it re-constructs (CVRPLIB's Ghent1, 10,000 customers, at 30 s: the
polish 5.39% above the best known in 35.7 s, the re-construction 9.04% in 29.8 s)."""
POLISH_SETUP_SHARE = 0.8
"""Share of the polish's time that PyVRP's expected set-up may take (above)."""

_MODELS: dict[tuple[str, str], Policy] = {}


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
    from nco.io import read_instance

    if Path(path).suffix == ".npz":
        raise ValueError(f"{path}: an .npz dataset holds many instances: read it with nco.read_many")
    return read_instance(path).replace(rounding=rounding)


def read_many(paths: str | Path | Iterable[str | Path], rounding: str = "none") -> list[Instance]:
    """Every instance in ``paths``: files, folders (their ``.vrp``, ``.txt`` and ``.npz`` files)
    and glob patterns; an ``.npz`` dataset gives all of its instances."""
    from nco.io import read_instances
    from nco.batch import expand_paths

    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return [instance.replace(rounding=rounding)
            for path in expand_paths([str(p) for p in items]) for instance in read_instances(path)]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` (a CUDA GPU when there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises
    ------
    ValueError
        For a device name torch does not know, or a CUDA device on a machine without one.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this machine has no CUDA GPU that torch can use: use cpu or auto")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}: the solver runs on cpu or cuda: use auto, cpu, cuda or cuda:N")
    return resolved


def load_model(checkpoint: str | Path | None = None, device: str | torch.device = "auto") -> Policy:
    """The policy in ``checkpoint`` (default: the shipped model) on ``device`` (see
    :func:`resolve_device`), loaded once per process.

    Decode batches with it directly: ``model(nco.envs.problem.Problem.from_instances(...))``.
    """
    from nco.checkpoints import load_policy

    device = resolve_device(device)
    key = (str(checkpoint), str(device))
    if key not in _MODELS:
        _MODELS[key] = load_policy(checkpoint, device)[0]
    return _MODELS[key]


def solve(
    instance: Instance | str | Path,
    solver: str = "neural",
    time_limit: float | None = None,
    checkpoint: str | Path | None = None,
    seed: int = 1,
    augment: bool = True,
    samples: int = 0,
    device: str | torch.device = "auto",
    search: str | None = None,
    progress: bool = False,
    clock: Clock = time.perf_counter,
) -> Solution:
    """Solves one instance (or instance file) with one solver.

    Parameters
    ----------
    solver
        ``neural`` (the trained policy: multi-start greedy decoding), ``pyvrp`` (hybrid genetic
        search) or ``ortools`` (guided local search).
    time_limit
        Seconds for the whole solve. Classical solvers search until it (default
        :data:`CLASSICAL_TIME_LIMIT`). The neural solver without a limit decodes once (greedy,
        plus ``samples`` sampling passes; an instance of more than
        :data:`nco.reconstruct.DECODE_WHOLE_UP_TO` customers without ``samples`` is decoded
        whole once, in one image with fewer starts (up to
        :data:`nco.reconstruct.START_DECODED_UP_TO` customers; above, from one route per
        customer), and the network then solves neighbourhoods of its routes again, in batches,
        once); with one it searches as ``search`` says.
    checkpoint
        The neural solver's model (default: the shipped one for the instance,
        :func:`nco.checkpoints.shipped_checkpoint`: a matrix-aware model for explicit matrices).
    seed
        Seed of every random choice (sampling, the classical solvers' search).
    augment, samples
        Neural decoding: the 8 dihedral images of the coordinates, and extra multi-start sampling
        passes. Above :data:`nco.reconstruct.DECODE_WHOLE_UP_TO` customers the images are those
        of each re-solved neighbourhood; the start decoded whole is one image.
    device
        Where the neural solver runs: ``auto`` (a CUDA GPU when there is one), ``cpu`` or ``cuda``.
    search
        How the neural solver spends a ``time_limit`` (one of :data:`SEARCHES`; default
        :data:`DEFAULT_SEARCH`, or ``reconstruct`` where PyVRP's travel matrices would not fit in
        the available memory, :func:`nco.baselines.memory_shortfall`, or its set-up in the time,
        :data:`POLISH_SETUP_SECONDS_PER_PAIR`): ``sampling`` decodes the augmented images that
        fit and keeps sampling while another image fits; ``polish`` decodes greedily in the first
        :data:`NETWORK_SHARE` of the time and hands the rest to PyVRP's local search started from
        its best solution; ``reconstruct`` decodes alike, then re-solves groups of neighbouring
        routes with the network (:mod:`nco.reconstruct`). With ``polish`` or ``reconstruct``, an
        instance of more than :data:`nco.reconstruct.DECODE_WHOLE_UP_TO` customers is not decoded
        whole: the network solves it in neighbourhoods from one route per customer (and, before
        a polish, re-solves them until the network's share is spent).
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
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: use one of {', '.join(SOLVERS)}")
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit={time_limit}: give a positive number of seconds")
    if search is not None and search not in SEARCHES:
        raise ValueError(f"unknown search {search!r}: use one of {', '.join(SEARCHES)}")
    began = clock()
    if solver == "neural":
        from nco.neural import solve_instance
        from nco.reconstruct import DECODE_WHOLE_UP_TO, START_DECODED_UP_TO, WHOLE_DECODING_STARTS, reconstruct

        if search is not None and time_limit is None:
            raise ValueError(f"the {search} search runs until a time limit: give a time_limit too")
        from nco.checkpoints import shipped_checkpoint

        model = load_model(checkpoint if checkpoint is not None else shipped_checkpoint(instance), device)
        generator = torch.Generator(model.device).manual_seed(seed)
        max_starts = None if instance.num_customers <= DECODE_WHOLE_UP_TO else WHOLE_DECODING_STARTS
        if time_limit is None:
            if instance.num_customers > DECODE_WHOLE_UP_TO and not samples:  # one round of neighbourhoods
                start = None if instance.num_customers > START_DECODED_UP_TO else solve_instance(
                    model, instance, False, 0, generator=generator, max_starts=max_starts, progress=progress)
                routes = reconstruct(model, instance, start, None, generator, augment, progress=progress)
            else:
                routes = solve_instance(model, instance, augment, samples, generator=generator, max_starts=max_starts,
                                        progress=progress)
            return Solution.judged(instance, routes, solver, clock() - began)
        deadline = Deadline(began + time_limit, clock)
        if search is None:  # the polish, unless PyVRP's matrices or its set-up would not fit
            setup = POLISH_SETUP_SECONDS_PER_PAIR * instance.num_locations**2
            fits = setup <= POLISH_SETUP_SHARE * (1 - NETWORK_SHARE) * time_limit
            search = DEFAULT_SEARCH if fits and not memory_shortfall("pyvrp", instance) else "reconstruct"
        elif search == "polish" and (shortfall := memory_shortfall("pyvrp", instance)):
            raise ValueError(f"the polish runs PyVRP: {shortfall}: use the reconstruct search (--search reconstruct), "
                             "or a machine with more memory")
        network_deadline = Deadline(began + NETWORK_SHARE * time_limit, clock)  # the network's share before a search
        if search == "sampling":
            routes = solve_instance(model, instance, augment, None, generator=generator, deadline=deadline,
                                    max_starts=max_starts, progress=progress)
        elif instance.num_customers > DECODE_WHOLE_UP_TO:  # decomposed into neighbourhoods, not decoded whole
            routes = reconstruct(model, instance, None, deadline if search == "reconstruct" else network_deadline,
                                 generator, augment, progress=progress)
        else:  # greedy decoding of the images that fit in the network's share, then the search
            routes = solve_instance(model, instance, augment, 0, generator=generator, progress=progress,
                                    deadline=network_deadline)
            if search == "reconstruct":
                routes = reconstruct(model, instance, routes, deadline, generator, augment, progress=progress)
        if search == "polish" and deadline.left() > 0:
            from nco.baselines.pyvrp import solve as pyvrp_solve

            polished = pyvrp_solve(instance, deadline.left(), seed, initial_routes=routes)
            if polished is not None:
                routes = min(routes, polished, key=lambda candidate: _rank(instance, candidate))
    else:
        from nco.baselines import get_solver

        if shortfall := memory_shortfall(solver, instance):  # nothing found, rather than killed for memory
            return Solution.judged(instance, None, solver, clock() - began,
                                   f"{shortfall}: use the neural solver, or a machine with more memory")
        routes = get_solver(solver)(instance, CLASSICAL_TIME_LIMIT if time_limit is None else time_limit, seed)
    return Solution.judged(instance, routes, solver, clock() - began)


def _rank(instance: Instance, routes: list[list[int]]) -> tuple[bool, float]:
    """Feasible before infeasible, then cheaper first, as the judge sees them."""
    result = check_solution(instance, routes)
    return not result.feasible, result.cost


def _solve_in_worker(instance: Instance, own: dict, shared: dict) -> Solution:
    """:func:`solve` in a worker process (one thread), with the options ``own`` to this instance
    and those ``shared`` by the batch."""
    torch.set_num_threads(1)
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
    from nco.cluster import check_backend

    check_backend(backend)
    if workers < 1:
        raise ValueError(f"workers={workers}: give 1 or more processes")
    items = [item if isinstance(item, Instance) else read(item) for item in instances]
    shared = dict(options, solver=solver)
    calls = [(item, {"time_limit": time_limit(item) if callable(time_limit) else time_limit}) for item in items]
    with tqdm(total=len(items), desc="solving", unit="instance", disable=not progress, leave=False) as bar:
        if backend == "ray":
            from nco import cluster

            for index, result in cluster.run(_solve_in_worker, calls, shared, ray_address):
                yield result if isinstance(result, Solution) else Solution.judged(items[index], None, solver, 0.0)
                bar.update()
        elif workers == 1:
            for item, own in calls:
                yield solve(item, progress=progress, **shared, **own)
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for future in as_completed([pool.submit(_solve_in_worker, *call, shared) for call in calls]):
                    yield future.result()
                    bar.update()
