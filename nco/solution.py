"""``Solution``: what every solver returns, built by the independent judge."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from nco.envs.check import check_solution
from nco.envs.instance import Instance
from nco.envs.route import Route, route_list, routes_of
from nco.io import write_solution
from nco.outputs import write_atomically


@dataclass(frozen=True)
class Solution:
    """A solution of ``instance``, judged by :func:`nco.envs.check.check_solution`.

    Attributes
    ----------
    instance
        The instance it solves, in its own units.
    routes
        The routes; empty when the solver found nothing feasible.
    cost
        Travelled distance under the instance's rounding (with vehicle types, the fixed costs of
        the vehicles used plus each one's cost per unit of distance times its route's length;
        ``nan`` when there are no routes).
    feasible
        Every customer served once and no rule broken.
    violations
        One line per broken rule (empty when feasible).
    seconds
        Wall time the solver took.
    solver
        Which solver found it (``neural``, ``pyvrp`` or ``ortools``).
    """

    instance: Instance
    routes: tuple[Route, ...]
    cost: float
    feasible: bool
    violations: tuple[str, ...]
    seconds: float
    solver: str

    @classmethod
    def judged(cls, instance: Instance, routes: list[list[int]] | None, solver: str, seconds: float,
               reason: str = "no feasible solution found within the time limit") -> Solution:
        """Judges a route list (``None``: the solver found nothing feasible, for ``reason``)."""
        if routes is None:
            return cls(instance, (), math.nan, False, (reason,), seconds, solver)
        check = check_solution(instance, routes)
        parsed = tuple(routes_of(routes, instance.num_depots, instance.vehicles))
        return cls(instance, parsed, check.cost, check.feasible, tuple(check.violations), seconds, solver)

    def route_lists(self) -> list[list[int]]:
        """The routes as a route list (:mod:`nco.envs.route`), as ``.sol`` files write them."""
        if not self.routes:  # nothing found: no vehicle to list
            return []
        return route_list(self.routes, self.instance.num_depots, self.instance.vehicles)

    def to_sol(self, path: str | Path) -> Path:
        """Writes the solution as a VRPLIB ``.sol`` file (routes, ``Cost``, ``Time``, ``Solver``)."""
        path = Path(path)
        write_solution(path, self.route_lists(), self.cost, Time=round(self.seconds, 4), Solver=self.solver)
        return path

    def plot(self, path: str | Path | None = None, best_known: float | None = None) -> Figure:
        """The routes drawn over the locations, with the gap to ``best_known`` in the title when
        given; saved to ``path`` (e.g. ``.png``) when given."""
        from nco.plots import route_figure  # here: matplotlib loads only for a solution that is drawn

        instance = self.instance
        gap = f", gap {100 * (self.cost / best_known - 1):.2f}%" if best_known and self.feasible else ""
        fleet = "" if instance.vehicle_types is None else f", {instance.vehicle_types.num_types} vehicle types"
        title = (f"{instance.name} ({instance.variant.name}{fleet}, n = {instance.num_customers}), {self.solver}: "
                 f"cost {self.cost:.2f}{gap}{'' if self.feasible else ' (infeasible)'}")
        figure = route_figure(instance, self.route_lists(), title)
        if path is not None:
            write_atomically(path, lambda partial: figure.savefig(partial, dpi=110))
        return figure
