"""``Instance``: one problem in its original units, as plain numpy arrays.

Every reader produces it, every solver consumes it, and the judge (:mod:`nco.envs.check`)
checks solutions against it. Locations ``0..num_depots-1`` are the depots, the rest customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from nco.envs.fleet import VehicleTypes
from nco.envs.variants import BACKHAUL_MIXED, BACKHAUL_NONE, BACKHAUL_STRICT, Variant, has_time_windows

ROUNDINGS = ("none", "round", "dimacs", "exact")
"""PyVRP's rounding conventions of travel (:func:`nco.envs.check.round_matrix`)."""


def _array(value, dtype=np.float64) -> np.ndarray:
    return np.array(value, dtype=dtype, copy=True)


@dataclass(frozen=True)
class Instance:
    """One multi-attribute VRP instance (the attributes: the README's "The variants").

    Parameters
    ----------
    coords
        ``(N, 2)`` coordinates of the ``N`` locations, depots first.
    demand_linehaul
        ``(N,)`` delivery demand per location (0 at depots).
    capacity
        Vehicle capacity ``Q``; with ``vehicle_types``, the largest of theirs (the default there).
    num_depots
        Number of depots ``K``; locations ``0..K-1``.
    demand_backhaul
        ``(N,)`` pickup demand; a customer is linehaul or backhaul, never both. Default zeros.
    backhaul
        ``BACKHAUL_NONE``, ``BACKHAUL_STRICT`` (B) or ``BACKHAUL_MIXED`` (MB).
    open_route
        Routes end at their last customer.
    distance_limit
        Maximum travelled distance per route; ``inf`` when off.
    time_windows
        ``(N, 2)`` ``[early, late]`` per location; ``[0, inf]`` when off.
    service_time
        ``(N,)`` service duration per location; zeros when off.
    distance_matrix, duration_matrix
        Optional explicit ``(N, N)`` matrices, possibly asymmetric. Without them travel is
        Euclidean; a missing duration matrix equals the distance matrix.
    vehicle_types
        A mixed fleet (:class:`~nco.envs.fleet.VehicleTypes`); ``None``: one unlimited type of
        ``capacity`` at cost 1 per unit of distance. With it, route lists are aligned to vehicles.
    name
        Instance name, used in file names and tables.
    rounding
        How the file's convention rounds travel when costing a solution: ``none``, ``round``
        (CVRPLIB X), ``dimacs`` or ``exact`` (:func:`nco.envs.check.round_matrix`).

    Raises
    ------
    ValueError
        On inconsistent shapes, non-finite values, demand above capacity, or a customer that no
        route can serve (time window, distance limit, duration limit or the vehicles allowed
        there too tight); the message names the field.
    """

    coords: np.ndarray
    demand_linehaul: np.ndarray
    capacity: float | None = None
    num_depots: int = 1
    demand_backhaul: np.ndarray | None = None
    backhaul: int = BACKHAUL_NONE
    open_route: bool = False
    distance_limit: float = float("inf")
    time_windows: np.ndarray | None = None
    service_time: np.ndarray | None = None
    distance_matrix: np.ndarray | None = None
    duration_matrix: np.ndarray | None = None
    vehicle_types: VehicleTypes | None = None
    name: str = "instance"
    rounding: str = "none"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        set_ = object.__setattr__  # frozen dataclass: normalise the fields once, here
        coords = _array(self.coords)
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise ValueError(f"coords has shape {coords.shape}: expected (num_locations, 2)")
        num_locations = coords.shape[0]
        set_(self, "coords", coords)
        set_(self, "num_depots", int(self.num_depots))
        largest = None if self.vehicle_types is None else float(self.vehicle_types.capacity.max())
        if self.capacity is None and largest is None:
            raise ValueError("capacity is missing: give the vehicle capacity, or vehicle_types")
        if self.capacity is not None and largest is not None and float(self.capacity) != largest:
            raise ValueError(f"capacity is {self.capacity:g} but the largest vehicle type holds {largest:g}: "
                             "leave capacity out when giving vehicle_types")
        set_(self, "capacity", float(largest if self.capacity is None else self.capacity))
        set_(self, "distance_limit", float(self.distance_limit))
        set_(self, "open_route", bool(self.open_route))
        set_(self, "backhaul", int(self.backhaul))
        defaults = {
            "demand_linehaul": None,
            "demand_backhaul": np.zeros(num_locations),
            "time_windows": np.tile([0.0, np.inf], (num_locations, 1)),
            "service_time": np.zeros(num_locations),
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            set_(self, name, _array(default if value is None else value))
        for name in ("distance_matrix", "duration_matrix"):
            if getattr(self, name) is not None:
                set_(self, name, _array(getattr(self, name)))
        self._validate()

    # ------------------------------------------------------------------ properties
    @property
    def num_locations(self) -> int:
        return self.coords.shape[0]

    @property
    def num_customers(self) -> int:
        return self.num_locations - self.num_depots

    @property
    def fleet(self) -> VehicleTypes:
        """The vehicle types; where none are given, one unlimited type of :attr:`capacity`."""
        return self.vehicle_types if self.vehicle_types is not None else VehicleTypes(capacity=[self.capacity])

    @property
    def vehicles(self) -> np.ndarray | None:
        """``(V,)`` the type of each vehicle that a route list is aligned to
        (:meth:`~nco.envs.fleet.VehicleTypes.vehicle_types`); ``None`` without vehicle types."""
        return None if self.vehicle_types is None else self.vehicle_types.vehicle_types(self.num_customers)

    @property
    def variant(self) -> Variant:
        return Variant(
            multi_depot=self.num_depots > 1,
            open_route=self.open_route,
            backhaul=self.backhaul,
            distance_limit=bool(np.isfinite(self.distance_limit)),
            time_windows=bool(has_time_windows(self.time_windows, self.service_time)),
        )

    @property
    def type_name(self) -> str:
        """The problem's name: the variant's, prefixed ``HF`` (heterogeneous fleet, as PyVRP's
        files write it) with vehicle types."""
        return ("HF" if self.vehicle_types is not None else "") + self.variant.name

    @property
    def distances(self) -> np.ndarray:
        """``(N, N)`` travel distances: the explicit matrix, else Euclidean."""
        if self.distance_matrix is not None:
            return self.distance_matrix
        if "euclidean" not in self._cache:  # in place: two (N, N) arrays at the peak, not three
            x, y = self.coords[:, 0], self.coords[:, 1]
            squared = np.subtract.outer(x, x)
            squared *= squared
            dy = np.subtract.outer(y, y)
            dy *= dy
            squared += dy
            del dy
            self._cache["euclidean"] = np.sqrt(squared, out=squared)
        return self._cache["euclidean"]

    @property
    def durations(self) -> np.ndarray:
        """``(N, N)`` travel times: the explicit duration matrix, else the distances."""
        return self.duration_matrix if self.duration_matrix is not None else self.distances

    def arc_distances(self, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The distances from ``origins`` to ``targets`` (location indices, broadcast together),
        the same values as :attr:`distances` without building the ``(N, N)`` matrix of a
        Euclidean instance (7 GB at 30,000 locations)."""
        if self.distance_matrix is not None:
            return self.distance_matrix[origins, targets]
        if "euclidean" in self._cache:
            return self._cache["euclidean"][origins, targets]
        dx = self.coords[origins, 0] - self.coords[targets, 0]
        dy = self.coords[origins, 1] - self.coords[targets, 1]
        return np.sqrt(dx * dx + dy * dy)

    def arc_durations(self, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The travel times from ``origins`` to ``targets``, as :meth:`arc_distances`."""
        if self.duration_matrix is not None:
            return self.duration_matrix[origins, targets]
        return self.arc_distances(origins, targets)

    def replace(self, **changes) -> Instance:
        """A copy with some fields changed (validated again)."""
        return replace(self, _cache={}, **changes)

    def subset(self, customers: np.ndarray) -> Instance:
        """The instance restricted to its depots and ``customers`` (location indices): depots
        keep their indices, customer ``customers[j]`` becomes location ``num_depots + j``."""
        keep = np.concatenate([np.arange(self.num_depots), np.asarray(customers, dtype=int)])

        def rows(array):
            return None if array is None else array[keep]

        def submatrix(matrix):
            return None if matrix is None else matrix[np.ix_(keep, keep)]

        return self.replace(
            coords=rows(self.coords), demand_linehaul=rows(self.demand_linehaul),
            demand_backhaul=rows(self.demand_backhaul), time_windows=rows(self.time_windows),
            service_time=rows(self.service_time), distance_matrix=submatrix(self.distance_matrix),
            duration_matrix=submatrix(self.duration_matrix),
            vehicle_types=None if self.vehicle_types is None else self.vehicle_types.subset(keep),
        )

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        n = self.num_locations
        k = self.num_depots
        if self.rounding not in ROUNDINGS:
            raise ValueError(f"unknown rounding {self.rounding!r}: use one of {', '.join(ROUNDINGS)}")
        if not 1 <= k < n:
            raise ValueError(
                f"num_depots is {k} with {n} locations: need at least one depot and one customer"
            )
        shapes = {
            "demand_linehaul": (n,),
            "demand_backhaul": (n,),
            "time_windows": (n, 2),
            "service_time": (n,),
            "distance_matrix": (n, n),
            "duration_matrix": (n, n),
        }
        for name, shape in shapes.items():
            value = getattr(self, name)
            if value is not None and value.shape != shape:
                raise ValueError(
                    f"{name} has shape {value.shape} but the instance has {n} locations: "
                    f"expected {shape}"
                )
        finite_fields = ["coords", "demand_linehaul", "demand_backhaul", "service_time"]
        finite_fields += [f for f in ("distance_matrix", "duration_matrix") if getattr(self, f) is not None]
        for name in finite_fields:
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name} contains NaN or infinite values: give finite numbers")
        with np.errstate(over="ignore"):
            span = np.ptp(self.coords, axis=0)
            if not np.isfinite((span * span).sum()):
                raise ValueError(f"coords span {span.max():g}: distances between them overflow; rescale the coordinates")
        if np.isnan(self.time_windows).any() or np.isinf(self.time_windows[:, 0]).any():
            raise ValueError("time_windows contains NaN or an infinite start: give finite starts")
        if np.isnan(self.distance_limit) or self.distance_limit <= 0:
            raise ValueError(f"distance_limit is {self.distance_limit}: give a positive number or inf")
        if not np.isfinite(self.capacity) or self.capacity <= 0:
            raise ValueError(f"capacity is {self.capacity}: give a positive finite number")
        if self.backhaul not in (BACKHAUL_NONE, BACKHAUL_STRICT, BACKHAUL_MIXED):
            raise ValueError(f"backhaul is {self.backhaul}: use 0 (none), 1 (B) or 2 (MB)")
        for name in ("demand_linehaul", "demand_backhaul", "service_time"):
            if (getattr(self, name) < 0).any():
                raise ValueError(f"{name} has negative values: demands and service times must be >= 0")
        for name in ("distance_matrix", "duration_matrix"):
            matrix = getattr(self, name)
            if matrix is not None and (matrix < 0).any():
                raise ValueError(f"{name} has negative entries: travel must be >= 0")
        if (self.demand_linehaul[:k] != 0).any() or (self.demand_backhaul[:k] != 0).any():
            raise ValueError("a depot has a demand: depots (the first num_depots locations) need demand 0")
        if (self.time_windows[:, 0] > self.time_windows[:, 1]).any():
            bad = int(np.argmax(self.time_windows[:, 0] > self.time_windows[:, 1]))
            raise ValueError(f"time_windows[{bad}] opens after it closes: need early <= late")
        both = (self.demand_linehaul > 0) & (self.demand_backhaul > 0)
        if both.any():
            raise ValueError(
                f"customer {int(np.argmax(both))} has both a linehaul and a backhaul demand: "
                "a customer is one or the other, split it into two locations"
            )
        if self.backhaul == BACKHAUL_NONE and (self.demand_backhaul > 0).any():
            raise ValueError(
                "demand_backhaul is set but the variant has no backhauls: name B or MB in the variant"
            )
        for name in ("demand_linehaul", "demand_backhaul"):
            over = getattr(self, name) > self.capacity * (1 + 1e-9)
            if over.any():
                i = int(np.argmax(over))
                raise ValueError(
                    f"{name}[{i}] = {getattr(self, name)[i]:g} exceeds the capacity {self.capacity:g}: "
                    "raise the capacity or split the customer"
                )
        if self.vehicle_types is not None:
            self._validate_vehicle_types()
        unserved = ~self.servable_customers()
        if unserved.any():
            i = int(np.flatnonzero(unserved)[0]) + k
            raise ValueError(
                f"customer {i} cannot be served by any route, even alone "
                f"({int(unserved.sum())} such customers): widen its time window, the depot's "
                "time window, the distance limit or the duration limit of a vehicle type allowed there"
            )

    def _validate_vehicle_types(self) -> None:
        types, n, k = self.vehicle_types, self.num_locations, self.num_depots
        if types.allowed is not None and types.allowed.shape[1] != n:
            raise ValueError(f"vehicle_types.allowed has {types.allowed.shape[1]} columns but the instance has {n} "
                             "locations: give one per location")
        if (types.depot >= k).any():
            raise ValueError(f"vehicle_types.depot names depot {types.depot.max()} but the instance has {k} depots: "
                             f"give -1 (any depot) or 0..{k - 1}")
        never = ~types.allows(n)[:, k:].any(axis=0)
        if never.any():
            raise ValueError(f"customer {int(np.argmax(never)) + k} may be served by no vehicle type "
                             f"({int(never.sum())} such customers): allow a vehicle type to serve it")
        load = np.maximum(self.demand_linehaul, self.demand_backhaul)[k:]
        unfit = ~self._fitting_types().any(axis=0)
        if unfit.any():
            i = int(np.argmax(unfit))
            raise ValueError(f"customer {i + k} has demand {load[i]:g}, more than every vehicle type allowed to serve "
                             f"it holds ({int(unfit.sum())} such customers): allow a larger type there, or split the "
                             "customer")

    def _fitting_types(self) -> np.ndarray:
        """``(T, num_customers)``: whether each vehicle type may serve each customer and holds its
        demand."""
        types, k = self.vehicle_types, self.num_depots
        load = np.maximum(self.demand_linehaul, self.demand_backhaul)[k:]
        holds = load[None, :] <= types.capacity[:, None] * (1 + 1e-9)
        return types.allows(self.num_locations)[:, k:] & holds

    def servable_customers(self) -> np.ndarray:
        """``(num_customers,)``: whether a route serving only that customer is feasible."""
        return self.servable_from_depots().any(axis=0)

    def servable_from_depots(self) -> np.ndarray:
        """``(num_depots, num_customers)``: whether a route from that depot serving only that
        customer is feasible."""
        k = self.num_depots
        depots, customers = np.arange(k)[:, None], np.arange(k, self.num_locations)[None, :]
        out_dist = self.arc_distances(depots, customers)  # (K, n)
        back_dist = self.arc_distances(customers, depots)
        out_time = self.arc_durations(depots, customers)
        back_time = self.arc_durations(customers, depots)
        if self.open_route:
            back_dist = back_time = np.zeros_like(out_dist)
        early, late = self.time_windows[:, 0], self.time_windows[:, 1]
        arrival = early[:k, None] + out_time
        depart = np.maximum(arrival, early[None, k:]) + self.service_time[None, k:]
        slack = 1e-9 * (1 + np.abs(self.time_windows[np.isfinite(self.time_windows)]).max(initial=1))
        ok = arrival <= late[None, k:] + slack
        if not self.open_route:
            ok &= depart + back_time <= late[:k, None] + slack
        ok &= out_dist + back_dist <= self.distance_limit * (1 + 1e-9)
        if self.vehicle_types is not None:  # some type from that depot may serve it alone in time
            types = self.vehicle_types
            duration = out_time + self.service_time[None, k:] + back_time  # no waiting: it may leave late
            from_depot = (types.depot[:, None] == -1) | (types.depot[:, None] == np.arange(k)[None, :])  # (T, K)
            in_time = duration[None, :, :] <= types.max_duration[:, None, None] * (1 + 1e-9)  # (T, K, n)
            ok &= (from_depot[:, :, None] & self._fitting_types()[:, None, :] & in_time).any(axis=0)
        return ok
