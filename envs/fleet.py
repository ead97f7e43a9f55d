"""``VehicleTypes``: a mixed fleet, one row per vehicle type, as plain numpy arrays.

A vehicle type has a capacity, a number available (``inf``: unlimited), a fixed cost per vehicle
used, a cost per unit of distance, a maximum route duration (``inf``: none), a depot where its
routes start and end (``-1``: any depot) and the customers it may serve. An instance without
vehicle types has one unlimited type of its capacity at cost 1 per unit of distance.

Route lists of an instance with vehicle types are aligned to its vehicles (as PyVRP's solution
files are): entry ``i`` is the route of vehicle ``i``, empty when the vehicle stays at its depot,
and the vehicles are numbered type by type (:meth:`VehicleTypes.vehicle_types`), an unlimited type
counting as one vehicle per customer (no solution uses more).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class VehicleTypes:
    """The vehicle types of an instance with ``N`` locations.

    Parameters
    ----------
    capacity
        ``(T,)`` capacity of each type.
    num_available
        ``(T,)`` vehicles of each type; ``inf`` for an unlimited number. Default unlimited.
    fixed_cost
        ``(T,)`` cost of each vehicle used. Default zeros.
    unit_distance_cost
        ``(T,)`` cost per unit of distance travelled. Default ones.
    max_duration
        ``(T,)`` maximum duration of a route, from leaving the depot to coming back (to its last
        service with open routes), waiting included; a route leaves as late as it can without
        arriving late anywhere (PyVRP's definition). ``inf`` when off, the default.
    depot
        ``(T,)`` the depot where each type's routes start and end; ``-1`` (the default) for any.
    allowed
        ``(T, N)`` whether each type may serve each location (depot entries are ignored);
        default: every customer.

    Raises
    ------
    ValueError
        On shapes that disagree, or values out of range; the message names the field.
    """

    capacity: np.ndarray
    num_available: np.ndarray | None = None
    fixed_cost: np.ndarray | None = None
    unit_distance_cost: np.ndarray | None = None
    max_duration: np.ndarray | None = None
    depot: np.ndarray | None = None
    allowed: np.ndarray | None = None

    def __post_init__(self):
        capacity = np.array(self.capacity, dtype=float, ndmin=1)
        if capacity.ndim != 1 or len(capacity) == 0:
            raise ValueError(f"capacity has shape {capacity.shape}: give one capacity per vehicle type")
        num_types = len(capacity)
        defaults = {"num_available": np.inf, "fixed_cost": 0.0, "unit_distance_cost": 1.0,
                    "max_duration": np.inf, "depot": -1}
        object.__setattr__(self, "capacity", capacity)
        for name, default in defaults.items():
            value = getattr(self, name)
            value = np.array(np.full(num_types, default) if value is None else value,
                             dtype=int if name == "depot" else float, ndmin=1)
            if value.shape != (num_types,):
                raise ValueError(f"{name} has shape {value.shape}: give one value per vehicle type ({num_types})")
            object.__setattr__(self, name, value)
        if self.allowed is not None:
            allowed = np.array(self.allowed, dtype=bool, ndmin=2)
            if allowed.ndim != 2 or allowed.shape[0] != num_types:
                raise ValueError(f"allowed has shape {allowed.shape}: give (num_types, num_locations) = "
                                 f"({num_types}, N) booleans")
            object.__setattr__(self, "allowed", allowed)
        self._validate()

    def _validate(self) -> None:
        if not (np.isfinite(self.capacity).all() and (self.capacity > 0).all()):
            raise ValueError(f"capacity is {self.capacity.tolist()}: give positive finite numbers")
        count = self.num_available
        whole = np.isinf(count) | (np.mod(np.where(np.isfinite(count), count, 0), 1) == 0)
        if np.isnan(count).any() or (count < 1).any() or not whole.all():
            raise ValueError(f"num_available is {count.tolist()}: give whole numbers >= 1, or inf for unlimited")
        for name in ("fixed_cost", "unit_distance_cost"):
            value = getattr(self, name)
            if not (np.isfinite(value).all() and (value >= 0).all()):
                raise ValueError(f"{name} is {value.tolist()}: give finite numbers >= 0")
        if np.isnan(self.max_duration).any() or (self.max_duration <= 0).any():
            raise ValueError(f"max_duration is {self.max_duration.tolist()}: give positive numbers, or inf for none")
        if (self.depot < -1).any():
            raise ValueError(f"depot is {self.depot.tolist()}: give a depot's index, or -1 for any depot")

    @property
    def num_types(self) -> int:
        return len(self.capacity)

    def allows(self, num_locations: int) -> np.ndarray:
        """``(T, num_locations)``: whether each type may serve each location (all where
        :attr:`allowed` is not given)."""
        if self.allowed is None:
            return np.ones((self.num_types, num_locations), dtype=bool)
        return self.allowed

    def vehicle_types(self, num_customers: int) -> np.ndarray:
        """``(V,)``: the type of each vehicle, type by type; an unlimited type (or one with more
        vehicles than customers) has ``num_customers`` vehicles."""
        counts = np.minimum(self.num_available, num_customers).astype(int)
        return np.repeat(np.arange(self.num_types), counts)

    def start_depots(self, num_depots: int) -> list[tuple[int, int]]:
        """``(type, depot)`` pairs: each type at its depot, or at every depot where it may start at
        any (as many vehicles at each, for an unlimited type).

        Raises
        ------
        ValueError
            For a limited type that may start at any of several depots: its vehicles cannot be
            split between them in advance.
        """
        pairs = []
        for kind in range(self.num_types):
            depots = range(num_depots) if self.depot[kind] < 0 else [int(self.depot[kind])]
            if len(depots) > 1 and np.isfinite(self.num_available[kind]):
                raise ValueError(f"vehicle type {kind} has {self.num_available[kind]:g} vehicles that may start at any "
                                 f"of {num_depots} depots: the classical solvers bind a vehicle to one depot; give the "
                                 "type its depot")
            pairs += [(kind, depot) for depot in depots]
        return pairs

    def subset(self, keep: np.ndarray) -> VehicleTypes:
        """The same types over the locations ``keep`` (an index array), for
        :meth:`nco.envs.instance.Instance.subset`."""
        allowed = None if self.allowed is None else self.allowed[:, keep]
        return VehicleTypes(self.capacity, self.num_available, self.fixed_cost, self.unit_distance_cost,
                            self.max_duration, self.depot, allowed)
