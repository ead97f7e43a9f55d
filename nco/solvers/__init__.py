"""The solvers, as peers: the network (:mod:`nco.solvers.neural`), PyVRP and OR-Tools
(:mod:`nco.solvers.classical`), each a :class:`nco.solvers.base.Solver` made by
:func:`make_solver` from its name and its parameters."""

from __future__ import annotations

from nco.solvers.base import NotSolved, Routes, Solver
from nco.solvers.classical import CLASSICAL_SOLVERS, ClassicalSolver, memory_shortfall
from nco.solvers.neural import NeuralParams, NeuralSolver

SOLVERS = ("neural", *CLASSICAL_SOLVERS)


def make_solver(name: str, params: NeuralParams | None = None, **options) -> Solver:
    """The solver ``name`` with its parameters: for ``neural`` a :class:`NeuralParams`, or its
    fields as keyword ``options``; the classical solvers take none.

    Raises
    ------
    ValueError
        For an unknown solver, or options it does not take.
    """
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}: use one of {', '.join(SOLVERS)}")
    if name == "neural":
        return NeuralSolver(params if params is not None else NeuralParams.from_options(**options))
    if params is not None or options:
        given = ", ".join(options) or type(params).__name__
        raise ValueError(f"the {name} solver takes no options ({given}): they are the neural solver's")
    return ClassicalSolver(name)


__all__ = ["SOLVERS", "NeuralParams", "NotSolved", "Routes", "Solver", "make_solver", "memory_shortfall"]
