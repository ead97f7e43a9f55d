"""nco: a neural multi-attribute vehicle-routing solver, with OR-Tools and PyVRP beside it.

    import nco

    instance = nco.read(nco.DATA / "X-n101-k25.vrp", rounding="round")
    for solver in ("neural", "pyvrp", "ortools"):
        solution = nco.solve(instance, solver=solver, time_limit=None if solver == "neural" else 1)
        print(solver, solution.cost, solution.feasible)

The names below load lazily, so ``nco --help`` stays fast. Importing ``nco`` changes nothing
in the process; the ``nco`` command tunes glibc's malloc for the decoding loop
(:func:`nco.memory.keep_freed_memory`, which a long-running program may call too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

DATA = Path(__file__).resolve().parent / "data"
"""The bundled instances (CVRPLIB X-n101-k25, Solomon C101, Cordeau p01, one ORTEC file)."""

if TYPE_CHECKING:
    from nco.envs.instance import Instance
    from nco.envs.route import Route
    from nco.api import read, read_many, solve, solve_many
    from nco.solvers import NeuralParams
    from nco.solvers.neural import load_model
    from nco.solution import Solution

_EXPORTS = {
    "Instance": "nco.envs.instance",
    "Route": "nco.envs.route",
    "Solution": "nco.solution",
    "read": "nco.api",
    "read_many": "nco.api",
    "solve": "nco.api",
    "solve_many": "nco.api",
    "load_model": "nco.solvers.neural",
    "NeuralParams": "nco.solvers",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nco' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
