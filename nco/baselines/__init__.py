"""Classical baselines on the project's instances: OR-Tools (guided local search) and PyVRP (HGS).

Both take an :class:`~nco.envs.instance.Instance` and a time limit and return routes in the project's
format (or ``None`` when nothing feasible was found); the independent check re-costs them on the
float data.
"""

from __future__ import annotations

from typing import Callable

from nco import memory
from nco.envs.instance import Instance
from nco.baselines.integer import IntegerInstance

Routes = list[list[int]]
SOLVERS = ("ortools", "pyvrp")

MATRIX_COPIES = {"ortools": 10, "pyvrp": 6}
"""``(N, N)`` arrays of 8 bytes that a solver's process holds at its peak (the instance's float
distances, the integer matrices built for the solver and the solver's own copies), measured as
peak RSS over one such array: OR-Tools 9.8 at 6000 locations, PyVRP 5.5 at 10,000."""


def memory_shortfall(name: str, instance: Instance) -> str | None:
    """Why solver ``name`` would run out of memory on ``instance`` (its travel matrices need more
    than is available), or ``None`` when they fit or the system does not say."""
    needed = MATRIX_COPIES[name] * 8 * instance.num_locations**2
    available = memory.available_memory()
    if available is None or needed <= available:
        return None
    return (f"{name} needs about {needed / 2**30:.1f} GB for the travel matrices of {instance.num_locations} "
            f"locations and {available / 2**30:.1f} GB are available")


def get_solver(name: str) -> Callable[[Instance, float, int], Routes | None]:
    """The solve function of a baseline: ``solve(instance, time_limit, seed)``."""
    if name == "ortools":
        from nco.baselines.ortools import solve
    elif name == "pyvrp":
        from nco.baselines.pyvrp import solve
    else:
        raise ValueError(f"unknown solver {name!r}: use one of {', '.join(SOLVERS)}")
    return solve


__all__ = ["IntegerInstance", "Routes", "SOLVERS", "get_solver", "memory_shortfall"]
