"""``nco compare``: the neural solver and the classical baselines on the same instances.

Every solution is judged by the independent check. Output in one folder: ``results.csv`` (one row
per instance, solver and setting, appended as they finish), ``summary.md``, the plots, and every
solution as ``solutions/<solver>-<setting>/<instance>.sol``. Each row carries the key of what its
result depends on (the instance's data, solver, setting, seed, the checkpoint's bytes, the code and
the solver libraries): a rerun reuses the rows whose key is unchanged and recomputes the others.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nco
import nco.envs
import nco.models
from nco.api import solve
from nco.checkpoints import shipped_checkpoint
from nco.cluster import check_backend, execute
from nco.envs.instance import Instance
from nco.outputs import write_atomically, write_text
from nco.plots import plot_gap_bars, plot_pareto, plot_route_grid
from nco.solution import Solution
from nco.solvers import SOLVERS

log = logging.getLogger(__name__)
FIELDS = ["instance", "variant", "solver", "setting", "cost", "time", "feasible", "key"]
NEURAL_SETTINGS = {"greedy": False, "aug": True}  # multi-start greedy, without / with augmentation
# and, per time limit "<seconds>s", the neural solver's anytime search (decoding, then the polish)


@dataclass(frozen=True)
class Task:
    solver: str  # the name in the results: a baseline's, or the neural solver's ``neural_name``
    setting: str  # "greedy" / "aug" (neural decoding once) or "<seconds>s" (a time limit)
    neural: bool = False


def tasks_for(solvers: list[str], time_limits: list[float], neural_name: str = "neural") -> list[Task]:
    tasks = []
    for solver in solvers:
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}: use some of {', '.join(SOLVERS)}")
        neural = solver == "neural"
        if neural:
            tasks += [Task(neural_name, setting, neural=True) for setting in NEURAL_SETTINGS]
        tasks += [Task(neural_name if neural else solver, f"{limit:g}s", neural) for limit in time_limits]
    return tasks


def _run(instance: Instance, task: Task, options: dict) -> Solution:
    """One run through :func:`nco.api.solve`."""
    if task.setting in NEURAL_SETTINGS:
        return solve(instance, "neural", augment=NEURAL_SETTINGS[task.setting], **options)
    time_limit = float(task.setting.rstrip("s"))
    if task.neural:
        return solve(instance, "neural", time_limit=time_limit, **options)
    return solve(instance, task.solver, time_limit=time_limit, seed=options["seed"])


def _record(out: Path, task: Task, solution: Solution, keys: dict) -> dict:
    instance = solution.instance
    row = {"instance": instance.name, "variant": instance.type_name, "solver": task.solver,
           "setting": task.setting, "time": f"{solution.seconds:.4f}",
           "key": keys[instance.name, task.solver, task.setting]}
    if not solution.routes:  # nothing feasible within the limit
        return {**row, "cost": "", "feasible": "False"}
    solution.to_sol(out / "solutions" / f"{task.solver}-{task.setting}" / f"{instance.name}.sol")
    return {**row, "cost": f"{solution.cost:.6f}", "feasible": str(solution.feasible)}


@lru_cache(maxsize=None)
def code_digest() -> bytes:
    """The project's source files and the versions of the libraries that compute results."""
    digest = hashlib.sha256()
    for package in (nco, nco.envs, nco.models):
        for path in sorted(Path(package.__file__).parent.glob("**/*.py")):
            digest.update(path.read_bytes())
    for library in ("torch", "pyvrp", "ortools", "numpy"):
        digest.update(metadata.version(library).encode())
    return digest.digest()


def _feed(digest, value) -> None:
    """Feeds ``value`` to ``digest`` whole: an array by its bytes, a dataclass (the vehicle types)
    field by field, anything else by its repr (which elides long arrays)."""
    if isinstance(value, np.ndarray):
        digest.update(value.tobytes())
    elif is_dataclass(value):
        for field in fields(value):
            _feed(digest, getattr(value, field.name))
    else:
        digest.update(repr(value).encode())


@lru_cache(maxsize=None)
def file_digest(path: str) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()


def run_key(instance: Instance, task: Task, checkpoint: str | None, seed: int) -> str:
    """What the result of running ``task`` on ``instance`` depends on, as a short hex string."""
    digest = hashlib.sha256(code_digest())
    for field in fields(instance):
        if field.name not in ("name", "_cache"):
            _feed(digest, getattr(instance, field.name))
    digest.update(f"{task.solver}|{task.setting}|{task.neural}|{seed}".encode())
    if task.neural:
        digest.update(file_digest(str(checkpoint or shipped_checkpoint(instance))))
    return digest.hexdigest()[:16]


def read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _ends_a_line(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def compare(
    instances: list[Instance],
    solvers: list[str],
    time_limits: list[float],
    out: str | Path,
    checkpoint: str | None = None,
    workers: int | None = None,
    rounding: str = "none",
    seed: int = 1,
    neural_name: str = "neural",
    fresh: bool = False,
    backend: str = "local",
    ray_address: str | None = None,
) -> list[dict]:
    """Runs every (instance, solver, setting) whose result is not in ``out/results.csv`` under
    the same key (see the module docstring; ``fresh``: none is reused) through
    :func:`nco.api.solve`, judged with ``rounding``; returns all rows and says on stderr how many
    it reused.

    The neural solver's rows are named ``neural_name``, so runs of several checkpoints can share
    one folder. ``backend="ray"`` runs every run as a Ray task (:mod:`nco.cluster`); else the
    neural runs go one at a time in this process and the classical ones in ``workers`` processes."""
    check_backend(backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.csv"
    tasks = tasks_for(solvers, time_limits, neural_name)
    instances = [instance.replace(rounding=rounding) for instance in instances]
    keys = {(i.name, t.solver, t.setting): run_key(i, t, checkpoint, seed) for i in instances for t in tasks}
    # rows of this run with another key are stale: dropped and recomputed; other runs' rows stay
    rows = read_results(results_path)
    kept = [r for r in rows if keys.get((r["instance"], r["solver"], r["setting"]), r.get("key")) == r.get("key")
            and None not in r.values()]  # a row cut short by a kill has missing fields
    if fresh:
        kept = [r for r in kept if (r["instance"], r["solver"], r["setting"]) not in keys]
    reused = {(r["instance"], r["solver"], r["setting"]) for r in kept} & keys.keys()
    todo = [(i, t) for i in instances for t in tasks if (i.name, t.solver, t.setting) not in reused]
    if reused:
        log.info(f"reusing {len(reused)} of {len(keys)} runs from {results_path} (same instance, solver, setting, "
                 "seed, checkpoint and code); --fresh recomputes them")
    if len(kept) < len(rows) or not rows or not _ends_a_line(results_path):  # a run killed mid-row
        def rewrite(partial: Path) -> None:  # whole or not at all: a kill keeps the old rows
            with open(partial, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=FIELDS, restval="")
                writer.writeheader()
                writer.writerows({name: r.get(name, "") for name in FIELDS} for r in kept)

        write_atomically(results_path, rewrite)
    with open(results_path, "a", newline="") as handle, tqdm(total=len(todo), desc="comparing", unit="run") as bar:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)

        def write(row):
            writer.writerow(row)
            handle.flush()
            bar.update()

        options = dict(checkpoint=checkpoint, seed=seed)
        if backend == "ray":
            batches = [(todo, 1)]
        else:  # the neural runs one at a time on every thread, the classical ones in worker processes
            workers = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1))
            batches = [([(i, t) for i, t in todo if t.neural], 1), ([(i, t) for i, t in todo if not t.neural], workers)]
        failed = 0
        for calls, processes in batches:
            for index, result in execute(_run, calls, options, backend, processes, ray_address):
                if isinstance(result, Solution):
                    write(_record(out, calls[index][1], result, keys))
                else:  # a Ray task that failed twice: nothing is kept, so a rerun retries it
                    failed += 1
                    bar.update()
        if failed:
            log.warning(f"{failed} Ray task(s) failed twice and have no row: run the same command again to retry them")
    return read_results(results_path)


def best_costs(rows: list[dict]) -> dict[str, float]:
    """The best feasible cost of any row, per instance (rows as in ``results.csv``)."""
    best: dict[str, float] = {}
    for r in rows:
        if r["feasible"] == "True":
            best[r["instance"]] = min(best.get(r["instance"], np.inf), float(r["cost"]))
    return best


def summarise(rows: list[dict]) -> tuple[str, dict]:
    """``summary.md`` text and the per-(solver, setting) statistics behind the plots.

    The gap of a run is its cost over the best cost any run found for that instance.
    """
    best = best_costs(rows)
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["solver"], r["setting"]), []).append(r)
    # costs of different instances are on different scales: only gaps are averaged (costs per
    # instance are in results.csv)
    lines = ["| variant | solver | setting | instances | solved | mean gap to best | mean time (s) |",
             "|---|---|---|---|---|---|---|"]
    stats: dict = {}
    for (variant, solver, setting), group in sorted(groups.items()):
        solved = [r for r in group if r["feasible"] == "True"]
        gaps = [100 * (float(r["cost"]) / best[r["instance"]] - 1) for r in solved]
        seconds = [float(r["time"]) for r in group]
        stats[(variant, solver, setting)] = (np.mean(gaps) if gaps else np.nan, np.mean(seconds))
        mean_gap = f"{np.mean(gaps):.2f}%" if gaps else "-"
        lines.append(f"| {variant} | {solver} | {setting} | {len(group)} | {len(solved)} | {mean_gap} "
                     f"| {np.mean(seconds):.3f} |")
    overall = {}
    for (variant, solver, setting), (gap, seconds) in stats.items():
        overall.setdefault((solver, setting), []).append((gap, seconds))
    lines += ["", "| solver | setting | mean gap to best (all variants) | mean time (s) |", "|---|---|---|---|"]
    for (solver, setting), values in sorted(overall.items()):
        gaps = [gap for gap, _ in values if not np.isnan(gap)]  # variants it solved somewhere
        mean_gap = f"{np.mean(gaps):.2f}%" if gaps else "-"
        lines.append(f"| {solver} | {setting} | {mean_gap} | {np.mean([seconds for _, seconds in values]):.3f} |")
    return "\n".join(lines) + "\n", stats


def write_report(rows: list[dict], instances: list[Instance], out: str | Path) -> list[Path]:
    """Writes ``summary.md`` and the three plots; returns their paths."""
    out = Path(out)
    text, stats = summarise(rows)
    write_text(out / "summary.md", text)
    paths = [out / "summary.md", out / "pareto.png", out / "gap_by_variant.png", out / "routes.png"]
    plot_pareto(stats, paths[1])
    plot_gap_bars(stats, paths[2])
    plot_route_grid(rows, instances, out / "solutions", paths[3])
    return paths
