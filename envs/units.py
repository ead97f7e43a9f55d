"""Model units: what instances in any units become before the network sees them.

Coordinates are shifted into the unit square and divided by their largest extent (the aspect
ratio is kept); travel (matrices, time windows, service times, the distance limit) is divided by
one travel factor: the extent itself for Euclidean data, and for an explicit matrix the factor
that gives it the mean of the unit-square Euclidean distances of its coordinates. Demands are
compared with the capacity as they are. Training on real matrices (:mod:`nco.envs.matrix_pool`) and
``nco solve`` (:func:`rescale`) use this one rule.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nco.envs.instance import Instance


def model_units(coords: np.ndarray, matrix: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Unit-square coordinates of ``coords`` (N, 2) and the travel factor to divide travel by
    (the extent for Euclidean data, or the matrix mean over the unit Euclidean mean)."""
    low = coords.min(0)
    extent = float((coords.max(0) - low).max()) or 1.0
    unit = (coords - low) / extent
    if matrix is None:
        return unit, extent
    euclidean = float(np.sqrt(((unit[:, None] - unit[None]) ** 2).sum(-1)).mean())
    travel = float(matrix.mean()) / euclidean if euclidean > 0 else float(matrix.mean())
    return unit, travel or 1.0


def rescale(instance: Instance) -> Instance:
    """The instance in model units (:func:`model_units`): coordinates in the
    unit square, travel, windows, service times, the length limit and the vehicles' duration
    limits and fixed costs scaled alike (so a solution's cost is its cost in the instance's units
    divided by the travel factor)."""
    unit, travel = model_units(instance.coords, instance.distance_matrix)
    types = instance.vehicle_types

    def scaled(matrix):
        return None if matrix is None else matrix / travel

    return instance.replace(
        coords=unit,
        distance_matrix=scaled(instance.distance_matrix),
        duration_matrix=scaled(instance.duration_matrix),
        time_windows=instance.time_windows / travel,
        service_time=instance.service_time / travel,
        distance_limit=instance.distance_limit / travel,
        vehicle_types=None if types is None else replace(types, max_duration=types.max_duration / travel,
                                                                fixed_cost=types.fixed_cost / travel),
    )
