"""The cheapest vehicles for a set of routes: each route of a fleet instance driven by the vehicle
type that costs least for it, within the fleet's counts.

A constructive solver picks a route's vehicle before it knows the route's customers. Once the
routes are known, choosing their vehicles is a transportation problem (routes to vehicle types,
each type with its number of vehicles, each pair priced by the judge: fixed cost plus cost per unit
of distance, or barred where the type's capacity, allowed customers, duration limit or depot do not
fit the route), solved exactly here as a minimum-cost flow (OR-Tools).

The network decodes more than the instance itself for that reason (:func:`fleet_variants`): routes
sized for each unlimited vehicle type alone, re-assigned from the whole fleet, and with a fleet it
may run out of (:func:`limited_fleet`) routes filled before the next one starts
(:attr:`nco.models.decoding.Decoding.fill_routes`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
from ortools.graph.python import min_cost_flow

from nco.envs.check import check_route
from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance
from nco.envs.route import Route, route_list
from nco.solvers.base import Routes, judged_rank

COST_RESOLUTION = 1e9
"""The dearest feasible (route, type) pair costs this many integer units in the flow (OR-Tools
takes integer costs): the choice is exact up to one part in this."""


def _driven_by(types: VehicleTypes, route: Route, kind: int) -> Route:
    """``route`` driven by a vehicle of type ``kind``, from the type's depot where it has one."""
    return replace(route, depot=route.depot if types.depot[kind] < 0 else int(types.depot[kind]), vehicle_type=kind)


def route_costs(instance: Instance, routes: list[Route]) -> np.ndarray:
    """``(R, T)``: the judged cost of each route driven by each vehicle type (from the type's depot
    where it has one), ``inf`` where the type may not drive it."""
    types = instance.vehicle_types
    costs = np.full((len(routes), types.num_types), np.inf)
    for r, route in enumerate(routes):
        for kind in range(types.num_types):
            cost, broken = check_route(instance, _driven_by(types, route, kind), instance.rounding)
            if not broken:
                costs[r, kind] = cost
    return costs


def assign_vehicles(instance: Instance, routes: Routes) -> Routes | None:
    """``routes`` driven by the cheapest vehicles of ``instance``'s fleet that can drive them
    within its counts, as a route list aligned to its vehicles; ``None`` where no assignment keeps
    every route feasible and within the counts (a route no type may drive, or more routes than
    vehicles that fit them).

    ``routes`` is any route list of ``instance``'s locations: the vehicles it was aligned to are
    not read (the routes of a variant of :func:`fleet_variants`, aligned to its own fleet, will do).
    """
    types = instance.vehicle_types
    if types is None:
        raise ValueError("assign_vehicles needs an instance with vehicle types")
    k = instance.num_depots
    found = [Route.from_list(route, k) for route in routes if len(route)]
    if not found:
        return None
    costs = route_costs(instance, found)
    if not np.isfinite(costs).any(axis=1).all():
        return None
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    route_node = 2 + np.arange(len(found))
    type_node = 2 + len(found) + np.arange(types.num_types)
    scale = COST_RESOLUTION / max(float(costs[np.isfinite(costs)].max()), 1e-12)
    for r, node in enumerate(route_node):
        flow.add_arc_with_capacity_and_unit_cost(source, int(node), 1, 0)
        for kind in np.flatnonzero(np.isfinite(costs[r])):
            flow.add_arc_with_capacity_and_unit_cost(int(node), int(type_node[kind]), 1,
                                                      int(round(costs[r, kind] * scale)))
    for kind, node in enumerate(type_node):
        count = int(min(types.num_available[kind], len(found)))
        flow.add_arc_with_capacity_and_unit_cost(int(node), sink, count, 0)
    flow.set_node_supply(source, len(found))
    flow.set_node_supply(sink, -len(found))
    if flow.solve() != flow.OPTIMAL:
        return None
    chosen = list(found)
    for arc in range(flow.num_arcs()):
        tail, head = flow.tail(arc), flow.head(arc)
        if flow.flow(arc) and 2 <= tail < 2 + len(found):
            chosen[tail - 2] = _driven_by(types, found[tail - 2], int(head - type_node[0]))
    return route_list(chosen, k, instance.vehicles)


def best_with_vehicles(instance: Instance, candidates: list[Routes]) -> Routes:
    """The judge's best (feasible first, then cheapest) of ``candidates``, route lists of
    ``instance`` or of its :func:`fleet_variants`: the first as it is (aligned to ``instance``'s
    vehicles), and each with its vehicles chosen by :func:`assign_vehicles` where that keeps the
    fleet's counts. Without vehicle types, the first."""
    if instance.vehicle_types is None:
        return candidates[0]
    assigned = [routes for routes in map(partial(assign_vehicles, instance), candidates) if routes is not None]
    return min([candidates[0], *assigned], key=partial(judged_rank, instance))


def fleet_variants(instance: Instance) -> list[Instance]:
    """The instances a constructive solver decodes for ``instance``: itself, and where it has
    several vehicle types, each unlimited type (as many vehicles as customers) alone that can serve
    every customer (routes sized for one vehicle, whose vehicles :func:`assign_vehicles` then
    chooses from the whole fleet).

    A network that starts each route with a vehicle chosen before the route's customers trades
    fixed costs, costs per unit of distance and the number of routes poorly; the routes of one
    vehicle type, re-assigned exactly, bound that trade from every side.
    """
    types = instance.vehicle_types
    if types is None or types.num_types == 1:
        return [instance]
    variants = [instance]
    for kind in np.flatnonzero(types.num_available >= instance.num_customers):  # as many as customers: unlimited
        one = slice(kind, kind + 1)
        alone = VehicleTypes(types.capacity[one], None, types.fixed_cost[one], types.unit_distance_cost[one],
                             types.max_duration[one], types.depot[one],
                             None if types.allowed is None else types.allowed[one])
        try:  # a type that cannot serve some customer alone (its capacity, zone or duration)
            variants.append(instance.replace(capacity=None, vehicle_types=alone))
        except ValueError:
            continue
    return variants


def limited_fleet(instance: Instance) -> bool:
    """Whether ``instance`` has a vehicle type with fewer vehicles than customers: a fleet that
    a solution may run out of."""
    types = instance.vehicle_types
    return types is not None and bool((types.num_available < instance.num_customers).any())
