"""What every solver is: a callable from an instance, a deadline and a seed to routes.

``solver(instance, deadline, seed, progress)`` returns routes in the instance's numbering (see
:mod:`nco.envs.route`), feasible or not, or ``None`` when it found nothing feasible; it raises
:class:`NotSolved` when it cannot run on the instance at all. ``deadline`` is ``None`` when no
time limit is given (each solver says what it does then). The independent check judges what it
returns (:func:`nco.solve`).
"""

from __future__ import annotations

from typing import Protocol

from nco.clock import Deadline
from nco.envs.check import check_solution
from nco.envs.instance import Instance

Routes = list[list[int]]


class NotSolved(Exception):
    """A solver that cannot run on an instance; the message says why and what to do instead."""


class Solver(Protocol):
    def __call__(self, instance: Instance, deadline: Deadline | None, seed: int,
                 progress: bool = False) -> Routes | None: ...


def judged_rank(instance: Instance, routes: Routes) -> tuple[bool, float]:
    """A sort key for candidate routes: feasible before infeasible, then cheaper first, as the
    judge sees them."""
    result = check_solution(instance, routes)
    return not result.feasible, result.cost
