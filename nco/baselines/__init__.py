"""Classical baselines on the project's instances: OR-Tools (guided local search) and PyVRP (HGS).

Both take an :class:`~nco.envs.instance.Instance` and a time limit and return routes in the project's
format (or ``None`` when nothing feasible was found); the independent check re-costs them on the
float data.
"""

from __future__ import annotations

from typing import Callable

from nco.envs.instance import Instance
from nco.baselines.integer import IntegerInstance

Routes = list[list[int]]
SOLVERS = ("ortools", "pyvrp")


def get_solver(name: str) -> Callable[[Instance, float, int], Routes | None]:
    """The solve function of a baseline: ``solve(instance, time_limit, seed)``."""
    if name == "ortools":
        from nco.baselines.ortools import solve
    elif name == "pyvrp":
        from nco.baselines.pyvrp import solve
    else:
        raise ValueError(f"unknown solver {name!r}: use one of {', '.join(SOLVERS)}")
    return solve


__all__ = ["IntegerInstance", "Routes", "SOLVERS", "get_solver"]
