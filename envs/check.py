"""The independent solution check: plain numpy over route lists, sharing no code with the env.

It is the judge of every solver in the project, neural or classical: it re-walks every route on
the original instance, simulating the load on board, the clock and the distance, and lists every
rule that a solution breaks together with the solution's cost under the requested rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nco.envs.instance import ROUNDINGS, Instance
from nco.envs.route import Route
from nco.envs.variants import BACKHAUL_STRICT


def round_matrix(matrix: np.ndarray, rounding: str) -> np.ndarray:
    """Applies one of PyVRP's rounding conventions to travel values, a matrix or some of its arcs
    (file units kept)."""
    if rounding == "none":
        return matrix
    if rounding == "round":
        return np.round(matrix)
    if rounding == "dimacs":
        return np.floor(10 * matrix) / 10
    if rounding == "exact":
        return np.round(1000 * matrix) / 1000
    raise ValueError(f"unknown rounding {rounding!r}: use one of {', '.join(ROUNDINGS)}")


RELATIVE_SLACK = 1e-5
"""How far past a limit a value may be, relative to that limit: what the solvers' float32 and
rounded integer arithmetic may miss it by. Each window, capacity and length limit has its own,
so a long horizon elsewhere in an instance does not loosen a short window."""


def _slack(limit: float, relative: float = RELATIVE_SLACK) -> float:
    """The amount by which a value may exceed ``limit`` (``relative`` to it; a limit at zero has
    the slack of one at 1e-4)."""
    return relative * max(abs(limit), 1e-4)


def least_duration(early: np.ndarray, late: np.ndarray, service: np.ndarray, travel: np.ndarray, start: float) -> float:
    """The duration of a route that leaves its depot as late as it can without arriving anywhere
    later (PyVRP's route duration: travel, service and the least waiting).

    ``travel`` holds the route's arcs in order, ``early``, ``late`` and ``service`` the windows and
    service times of the places each arc arrives at (the depot last for a route that returns to it,
    with service 0), and ``start`` when the depot opens.
    """
    arrival_without_waiting = np.cumsum(travel) + np.concatenate([[0.0], np.cumsum(service[:-1])])
    latest = np.min(late - arrival_without_waiting)  # a later start arrives late somewhere
    useful = np.max(early - arrival_without_waiting)  # a later start no longer waits less
    clock = depart = max(start, min(latest, useful))
    for leg, opens, serve in zip(travel, early, service):
        clock = max(clock + leg, opens) + serve
    return float(clock - depart)


@dataclass
class CheckResult:
    """Outcome of :func:`check_solution`.

    Attributes
    ----------
    feasible
        No rule is broken.
    violations
        One human-readable line per broken rule.
    cost
        Total travelled distance (return arcs of open routes excluded) under the rounding; with
        vehicle types, the fixed cost of each vehicle used plus its cost per unit of distance
        times its route's length.
    """

    feasible: bool
    cost: float
    violations: list[str] = field(default_factory=list)


def check_solution(instance: Instance, routes: list[list[int]], rounding: str | None = None) -> CheckResult:
    """Checks ``routes`` against ``instance``.

    Parameters
    ----------
    routes
        Location indices per route. With several depots every route starts with its depot
        (an index below ``num_depots``); with one depot the depot is not written. With vehicle
        types the list is aligned to the vehicles (:mod:`nco.envs.fleet`): route ``i`` is driven
        by vehicle ``i``, and an empty route is a vehicle left unused.
    rounding
        ``none``, ``round``, ``dimacs`` or ``exact`` (applied to distances and travel times);
        default: the instance's own.
    """
    rounding = instance.rounding if rounding is None else rounding
    k = instance.num_depots
    types = instance.vehicle_types
    vehicle_type = instance.vehicles
    violations: list[str] = []
    total = 0.0
    seen = np.zeros(instance.num_locations, dtype=int)
    if types is not None and len(routes) > len(vehicle_type):
        violations.append(f"{len(routes)} routes for {len(vehicle_type)} vehicles: routes are aligned to the fleet's "
                          "vehicles, one route (or an empty one) per vehicle")

    for number, route in enumerate(routes, start=1):
        route = [int(x) for x in route]
        where, kind = f"route {number}", 0
        if types is not None:
            if not route:
                continue  # a vehicle left at its depot
            if number > len(vehicle_type):
                continue  # reported above
            kind = int(vehicle_type[number - 1])
            where += f" (vehicle type {kind})"
        if k > 1 and not (route and 0 <= route[0] < k):
            violations.append(f"{where}: must start with its depot (an index below {k})")
            depot, stops = None, route
        else:
            parsed = Route.from_list(route, k)
            depot, stops = parsed.depot, list(parsed.visits)
        if not stops:
            violations.append(f"{where}: is empty")
            continue
        valid = [x for x in stops if k <= x < instance.num_locations]
        np.add.at(seen, valid, 1)  # counts a customer repeated within the route (seen[valid] += 1 would not)
        if len(valid) < len(stops):
            bad = [x for x in stops if x not in valid]
            violations.append(f"{where}: {bad} are not customers (customers are {k}..{instance.num_locations - 1})")
        if depot is None or len(valid) < len(stops):
            continue

        cost, broken = check_route(instance, Route(depot, tuple(stops), kind), rounding)
        total += cost
        violations += [f"{where}: {line}" for line in broken]

    customers = seen[k:]
    missing = np.flatnonzero(customers == 0) + k
    repeated = np.flatnonzero(customers > 1) + k
    if missing.size:
        violations.append(f"customers not served: {missing.tolist()}")
    if repeated.size:
        violations.append(f"customers served more than once: {repeated.tolist()}")
    return CheckResult(feasible=not violations, cost=total, violations=violations)


def check_route(instance: Instance, route: Route, rounding: str) -> tuple[float, list[str]]:
    """The cost of one route (:class:`nco.envs.route.Route`, its customers all valid locations)
    and the rules it breaks, one line each, with its vehicle type's capacity, costs, depot,
    allowed customers and duration limit where ``instance`` has vehicle types; ``rounding`` as
    in :func:`check_solution`. The rules that span routes (every customer served once, the
    number of vehicles) are :func:`check_solution`'s."""
    depot, stops = route.depot, list(route.visits)
    windows = instance.time_windows
    types = instance.vehicle_types
    violations: list[str] = []
    # the route's arcs, the return arc last, rounded one by one (the whole matrix, let alone
    # a rounded copy, is 7 GB at 30,000 locations)
    origins, targets = np.array([depot, *stops]), np.array([*stops, depot])
    arcs = round_matrix(instance.arc_distances(origins, targets), rounding)
    durations = arcs if instance.duration_matrix is None else \
        round_matrix(instance.arc_durations(origins, targets), rounding)
    length = float(arcs[:-1].sum() if instance.open_route else arcs.sum())
    capacity = instance.capacity
    if types is None:
        cost = length
    else:
        kind = route.vehicle_type
        cost = float(types.fixed_cost[kind] + types.unit_distance_cost[kind] * length)
        capacity = float(types.capacity[kind])
        if types.depot[kind] not in (-1, depot):
            violations.append(f"starts at depot {depot}, but its vehicles are at depot {types.depot[kind]}")
        barred = [] if types.allowed is None else [x for x in stops if not types.allowed[kind, x]]
        if barred:
            violations.append(f"serves {barred}, which its vehicle type may not serve")
        if np.isfinite(types.max_duration[kind]):
            places = stops if instance.open_route else [*stops, depot]
            service = instance.service_time[places] if instance.open_route else \
                np.append(instance.service_time[stops], 0.0)
            legs = durations[: len(places)]
            duration = least_duration(windows[places, 0], windows[places, 1], service, legs, windows[depot, 0])
            limit = float(types.max_duration[kind])
            if duration > limit + _slack(limit):
                violations.append(f"lasts {duration:g}, longer than its vehicle type's limit {limit:g}")
    if length > instance.distance_limit + _slack(instance.distance_limit):
        violations.append(f"length {length:g} exceeds the distance limit {instance.distance_limit:g}")

    delivery = instance.demand_linehaul[stops]
    pickup = instance.demand_backhaul[stops]
    load = delivery.sum()  # everything to deliver is on board at the depot
    peak = load
    for customer, drop, collect in zip(stops, delivery, pickup):
        load = load - drop + collect
        peak = max(peak, load)
    if peak > capacity + _slack(capacity, 1e-9):  # loads add exactly
        violations.append(f"load {peak:g} on board exceeds the capacity {capacity:g}")
    if instance.backhaul == BACKHAUL_STRICT:
        kinds = pickup > 0
        if (kinds[:-1] & ~kinds[1:]).any():
            violations.append("a linehaul customer follows a backhaul customer")

    clock = windows[depot, 0]
    for customer, travel in zip(stops, durations):
        arrival = clock + travel
        if arrival > windows[customer, 1] + _slack(windows[customer, 1]):
            violations.append(
                f"arrives at {customer} at {arrival:g}, after its window closes at {windows[customer, 1]:g}"
            )
        clock = max(arrival, windows[customer, 0]) + instance.service_time[customer]
    if not instance.open_route:
        back = clock + durations[-1]
        if back > windows[depot, 1] + _slack(windows[depot, 1]):
            violations.append(f"returns to depot {depot} at {back:g}, after it closes at {windows[depot, 1]:g}")
    return cost, violations
