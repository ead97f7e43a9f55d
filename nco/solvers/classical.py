"""The classical solvers, PyVRP (:mod:`nco.solvers.pyvrp`) and OR-Tools (:mod:`nco.solvers.ortools`),
as :class:`nco.solvers.base.Solver` objects: until the deadline, or :data:`CLASSICAL_TIME_LIMIT`
seconds without one, unless the instance's travel matrices would not fit in memory."""

from __future__ import annotations

from dataclasses import dataclass

from nco import memory
from nco.clock import Deadline
from nco.envs.instance import Instance
from nco.solvers import ortools, pyvrp
from nco.solvers.base import NotSolved, Routes

CLASSICAL_SOLVERS = {"pyvrp": pyvrp.solve, "ortools": ortools.solve}
CLASSICAL_TIME_LIMIT = 1.0
"""Seconds per instance of a classical solver when no time limit is given."""

MATRIX_COPIES = {"ortools": 10, "pyvrp": 6}
"""``(N, N)`` arrays of 8 bytes that a solver's process holds at its peak (the instance's float
distances, the integer matrices built for the solver and the solver's own copies; measured:
docs/constants.md)."""


def memory_shortfall(name: str, instance: Instance) -> str | None:
    """Why solver ``name`` would run out of memory on ``instance`` (its travel matrices need more
    than is available), or ``None`` when they fit or the system does not say."""
    needed = MATRIX_COPIES[name] * 8 * instance.num_locations**2
    available = memory.available_memory()
    if available is None or needed <= available:
        return None
    return (f"{name} needs about {needed / 2**30:.1f} GB for the travel matrices of {instance.num_locations} "
            f"locations and {available / 2**30:.1f} GB are available")


@dataclass(frozen=True)
class ClassicalSolver:
    """One of :data:`CLASSICAL_SOLVERS` by name."""

    name: str

    def __call__(self, instance: Instance, deadline: Deadline | None, seed: int,
                 progress: bool = False) -> Routes | None:
        if shortfall := memory_shortfall(self.name, instance):  # nothing found, rather than killed for memory
            raise NotSolved(f"{shortfall}: use the neural solver, or a machine with more memory")
        seconds = CLASSICAL_TIME_LIMIT if deadline is None else deadline.left()
        return CLASSICAL_SOLVERS[self.name](instance, seconds, seed)
