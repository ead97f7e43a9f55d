"""``Route``: one vehicle's route, and the one place that knows how route lists are written.

In a route list (solution files, every solver's output, the judge's input) a route is the list of
its customers' location indices; with several depots it starts with its depot's index
(``0..num_depots-1``), with one depot the depot is not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Route:
    """A route from ``depot`` through ``visits`` (location indices), back to ``depot`` unless the
    instance has open routes."""

    depot: int
    visits: tuple[int, ...]

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
