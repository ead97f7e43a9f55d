"""Float instance data as integers for the classical solvers, with an explicit factor.

Travel, service and time-window starts are rounded up and deadlines and limits down, so every
solution that is feasible in integers is feasible on the float data; arc costs are rounded to the
nearest integer. The factor is a power of ten chosen so the largest finite value is about 1e5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nco.envs.instance import Instance

BIG = 10**12  # stands for "no limit"


@dataclass
class IntegerInstance:
    """The vectors and limits in integers; the ``(N, N)`` matrices are built on request (at n =
    10000 each is 800 MB, and a solver needs only some of them)."""

    instance: Instance
    factor: float
    service: np.ndarray  # (N,)
    early: np.ndarray  # (N,)
    late: np.ndarray  # (N,), BIG when open-ended
    distance_limit: int  # BIG when off
    linehaul: np.ndarray  # (N,) demands (already integral, or scaled up with capacity)
    backhaul: np.ndarray
    capacity: int
    demand_factor: int  # demands and capacities are scaled by it to be whole

    @classmethod
    def from_instance(cls, instance: Instance) -> IntegerInstance:
        windows = instance.time_windows
        magnitudes = [instance.distances.max(), instance.durations.max(), instance.service_time.max()]
        magnitudes += list(windows[np.isfinite(windows)]) + [instance.distance_limit, *instance.fleet.max_duration]
        largest = max(abs(m) for m in magnitudes if np.isfinite(m)) or 1.0
        factor = 10.0 ** (5 - math.ceil(math.log10(largest)))

        def up(x):
            scaled = np.asarray(x, dtype=np.float64) * factor
            return _ceil(scaled, out=scaled).astype(np.int64)

        # fractional demands: scale demands and capacity alike
        demand_factor = whole_factor(np.stack([instance.demand_linehaul, instance.demand_backhaul]))
        return cls(
            instance=instance,
            factor=factor,
            service=up(instance.service_time),
            early=up(windows[:, 0]),
            late=_down(windows[:, 1], factor),
            distance_limit=int(_down(instance.distance_limit, factor)),
            linehaul=np.round(instance.demand_linehaul * demand_factor).astype(np.int64),
            backhaul=np.round(instance.demand_backhaul * demand_factor).astype(np.int64),
            capacity=int(math.floor(instance.capacity * demand_factor + 1e-9)),
            demand_factor=demand_factor,
        )

    def scaled_capacity(self, capacity: float) -> int:
        """A vehicle type's capacity in the demands' integers, rounded down."""
        return int(math.floor(capacity * self.demand_factor + 1e-9))

    def vehicle_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(T,)`` fixed and ``(T,)`` unit distance costs of the vehicle types in integers: the
        unit costs scaled to whole numbers, the fixed costs by that factor times the distances'
        own, so that fixed plus unit times the integer distance keeps the objective's ratios."""
        types = self.instance.fleet
        unit_factor = whole_factor(types.unit_distance_cost)
        return (np.round(types.fixed_cost * self.factor * unit_factor).astype(np.int64),
                np.round(types.unit_distance_cost * unit_factor).astype(np.int64))

    def scaled_limit(self, limit: float) -> int:
        """A limit in time or distance in integers, rounded down (``BIG`` for ``inf``)."""
        return int(_down(limit, self.factor))

    def cost(self) -> np.ndarray:
        """``(N, N)`` distances rounded to the nearest integer (the objective)."""
        return self._scaled(self.instance.distances, np.rint)

    def distance(self) -> np.ndarray:
        """``(N, N)`` distances rounded up (the route-length limit)."""
        return self._scaled(self.instance.distances, _ceil)

    def duration(self) -> np.ndarray:
        """``(N, N)`` travel times rounded up."""
        return self._scaled(self.instance.durations, _ceil)

    def _scaled(self, matrix: np.ndarray, rounding) -> np.ndarray:
        """A new int64 matrix, built in place (one float64 and one int64 ``(N, N)`` array at the
        peak); arcs into a depot are free on open routes."""
        scaled = np.multiply(matrix, self.factor, dtype=np.float64)
        rounding(scaled, out=scaled)
        result = scaled.astype(np.int64)
        del scaled
        if self.instance.open_route:
            result[:, : self.instance.num_depots] = 0
        return result


def whole_factor(values: np.ndarray, largest: int = 10**6) -> int:
    """The least power of ten, up to ``largest``, that makes ``values`` whole (to numpy's
    ``allclose``: a relative 1e-5)."""
    factor = 1
    while not np.allclose(values * factor, np.round(values * factor)) and factor < largest:
        factor *= 10
    return factor


def _down(x, factor: float) -> np.ndarray:
    """Scales and rounds down, ``BIG`` for an infinite value."""
    x = np.asarray(x)
    return np.where(np.isfinite(x), np.floor(np.where(np.isfinite(x), x, 0) * factor + 1e-9), BIG).astype(np.int64)


def _ceil(scaled: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Rounds up, forgiving float noise just above an integer."""
    np.subtract(scaled, 1e-9, out=out)
    return np.ceil(out, out=out)
