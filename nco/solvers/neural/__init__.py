"""The neural solver: the trained policy's decoding (:mod:`~nco.solvers.neural.decode`), its
re-construction of neighbourhoods (:mod:`~nco.solvers.neural.reconstruct`), its pace under a
deadline (:mod:`~nco.solvers.neural.pace`) and its use of a time limit
(:mod:`~nco.solvers.neural.solver`), with its parameters (:mod:`~nco.solvers.neural.params`)."""

from nco.solvers.neural.model import load_model
from nco.solvers.neural.params import SEARCHES, NeuralParams, resolve_device
from nco.solvers.neural.solver import NeuralSolver

__all__ = ["SEARCHES", "NeuralParams", "NeuralSolver", "load_model", "resolve_device"]
