"""``Route``: one vehicle's route, and the one place that knows how route lists are written.

In a route list (solution files, every solver's output, the judge's input) a route is the list of
its customers' location indices; with several depots it starts with its depot's index
(``0..num_depots-1``), with one depot the depot is not written. With vehicle types the list is
aligned to the vehicles (:mod:`nco.envs.fleet`): entry ``i`` is vehicle ``i``'s route, empty for
a vehicle left unused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence


@dataclass(frozen=True)
class Route:
    """A route from ``depot`` through ``visits`` (location indices), back to ``depot`` unless the
    instance has open routes, driven by a vehicle of type ``vehicle_type`` (0 without a fleet)."""

    depot: int
    visits: tuple[int, ...]
    vehicle_type: int = 0

    @classmethod
    def from_list(cls, route: Sequence[int], num_depots: int) -> Route:
        """Reads one entry of a route list (see the module docstring)."""
        route = [int(x) for x in route]
        if num_depots > 1:
            return cls(route[0], tuple(route[1:])) if route else cls(-1, ())
        return cls(0, tuple(route))

    def to_list(self, num_depots: int) -> list[int]:
        """The entry of a route list for an instance with ``num_depots`` depots."""
        return ([self.depot] if num_depots > 1 else []) + list(self.visits)

    def path(self, open_route: bool) -> list[int]:
        """Every location the vehicle passes, depot to depot (or to its last customer)."""
        return [self.depot, *self.visits] + ([] if open_route else [self.depot])


def route_list(routes: Sequence[Route], num_depots: int, vehicle_types: Sequence[int] | None) -> list[list[int]]:
    """The route list of ``routes``. With a fleet (``vehicle_types``, the type of each vehicle:
    :attr:`nco.envs.instance.Instance.vehicles`) each route goes in the first unused vehicle of its
    type, unused vehicles stay empty, and the routes of a type with no vehicle left come after all
    vehicles (the judge refuses them)."""
    if vehicle_types is None:
        return [route.to_list(num_depots) for route in routes]
    aligned: list[list[int]] = [[] for _ in vehicle_types]
    free = {int(kind): [v for v, t in enumerate(vehicle_types) if t == kind] for kind in set(vehicle_types)}
    for route in routes:
        if free.get(route.vehicle_type):
            aligned[free[route.vehicle_type].pop(0)] = route.to_list(num_depots)
        else:
            aligned.append(route.to_list(num_depots))
    return aligned


def routes_of(routes: Sequence[Sequence[int]], num_depots: int, vehicle_types: Sequence[int] | None) -> list[Route]:
    """The routes of a route list (the reverse of :func:`route_list`). With a fleet only the used
    vehicles' routes, each with its vehicle's type (-1 for a route beyond the vehicles)."""
    if vehicle_types is None:
        return [Route.from_list(route, num_depots) for route in routes]
    return [replace(Route.from_list(route, num_depots), vehicle_type=int(vehicle_types[v]) if v < len(vehicle_types) else -1)
            for v, route in enumerate(routes) if len(route)]
