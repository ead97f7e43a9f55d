"""OR-Tools' routing library (guided local search) on any of the 48 variants.

Capacity follows the exact mixed-backhaul rule with two dimensions: ``delivered`` counts the
linehaul demand served, and ``load`` (start value free) changes by pickup minus delivery at every
customer and must stay in ``[0, Q]``; its start value must cover everything delivered on the route.
Strict backhauls remove the arcs from backhaul to linehaul customers. Open routes make the arcs
into depots free and lift the return deadline. Every depot has as many vehicles as customers,
each returning to its own depot. A fleet's vehicle types (:mod:`nco.envs.fleet`) give each vehicle
its capacity, fixed cost, cost per unit of distance, duration limit (the span of its time) and
depot, and each customer the vehicles allowed there; an unlimited type has, at each of its
depots, as many vehicles as customers, or, in a fleet without windows, limits or backhauls, twice
as many as its capacity needs for the whole demand, plus one. With a limited fleet a customer may
be left out at a price above any solution's cost (a first solution exists even when the
heuristics cannot place everyone), and a solution that still leaves one out counts as none.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance
from nco.envs.route import Route, route_list
from nco.envs.variants import BACKHAUL_NONE, BACKHAUL_STRICT
from nco.solvers.base import NotSolved
from nco.solvers.integer import BIG, IntegerInstance


def solve(instance: Instance, time_limit: float, seed: int = 1) -> list[list[int]] | None:
    """OR-Tools' routing solver (guided local search) for ``time_limit`` seconds; ``None`` when it
    finds nothing feasible. ``seed`` is accepted for the common signature and unused: the routing
    search has no random choice to seed."""
    data = IntegerInstance.from_instance(instance)
    k, n, size = instance.num_depots, instance.num_customers, instance.num_locations
    types = instance.fleet
    type_of, depot_of = _vehicles(instance, types)
    vehicles = len(type_of)
    manager = pywrapcp.RoutingIndexManager(size, vehicles, depot_of, depot_of)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    cost = data.cost()
    fixed_costs, unit_costs = data.vehicle_costs()
    evaluators = {unit: routing.RegisterTransitMatrix((cost * unit).tolist()) for unit in set(unit_costs.tolist())}
    capacities = [data.scaled_capacity(types.capacity[kind]) for kind in type_of]
    for v, kind in enumerate(type_of):
        routing.SetArcCostEvaluatorOfVehicle(evaluators[int(unit_costs[kind])], v)
        routing.SetFixedCostOfVehicle(int(fixed_costs[kind]), v)
    if types.allowed is not None:  # SetAllowedVehiclesForIndex's Python binding refuses lists: the vehicle variable
        for j in range(k, size):
            allowed = [v for v, kind in enumerate(type_of) if types.allowed[kind, j]]
            routing.VehicleVar(manager.NodeToIndex(j)).SetValues([-1, *allowed])

    delivered_index = routing.RegisterUnaryTransitVector(data.linehaul.tolist())
    routing.AddDimensionWithVehicleCapacity(delivered_index, 0, capacities, True, "delivered")
    if instance.backhaul != BACKHAUL_NONE:
        change = (data.backhaul - data.linehaul).tolist()
        routing.AddDimensionWithVehicleCapacity(routing.RegisterUnaryTransitVector(change), 0, capacities, False, "load")
        load, delivered = routing.GetDimensionOrDie("load"), routing.GetDimensionOrDie("delivered")
        for v in range(vehicles):
            solver.Add(load.CumulVar(routing.Start(v)) >= delivered.CumulVar(routing.End(v)))
    if instance.backhaul == BACKHAUL_STRICT:
        backhauls = [j for j in range(k, size) if instance.demand_backhaul[j] > 0]
        linehauls = [manager.NodeToIndex(j) for j in range(k, size) if instance.demand_backhaul[j] == 0]
        for j in backhauls:
            for target in linehauls:
                routing.NextVar(manager.NodeToIndex(j)).RemoveValue(target)

    if instance.variant.distance_limit:
        distance = routing.RegisterTransitMatrix(data.distance().tolist())
        routing.AddDimension(distance, 0, data.distance_limit, True, "distance")

    max_duration = [data.scaled_limit(limit) for limit in types.max_duration]
    if instance.variant.time_windows or min(max_duration) < BIG:
        duration = data.duration()
        horizon = int(max(data.late[data.late < BIG].max(initial=0), data.early.max(), *[d for d in max_duration if d < BIG])
                      + duration.max() + data.service.max())
        travel = (duration + data.service[:, None]).tolist()
        routing.AddDimension(routing.RegisterTransitMatrix(travel), horizon, 2 * horizon, False, "time")
        time = routing.GetDimensionOrDie("time")
        for j in range(k, size):
            time.CumulVar(manager.NodeToIndex(j)).SetRange(int(data.early[j]), int(min(data.late[j], 2 * horizon)))
        for v in range(vehicles):
            d = depot_of[v]
            time.CumulVar(routing.Start(v)).SetRange(int(data.early[d]), int(min(data.late[d], 2 * horizon)))
            end_late = 2 * horizon if instance.open_route else int(min(data.late[d], 2 * horizon))
            time.CumulVar(routing.End(v)).SetRange(int(data.early[d]), end_late)
            if max_duration[type_of[v]] < BIG:
                time.SetSpanUpperBoundForVehicle(max_duration[type_of[v]], v)

    if instance.vehicle_types is not None and np.isfinite(types.num_available).any():
        # a limited fleet can leave the first-solution heuristics nowhere to put a customer: let the
        # search start with customers left out, at a price above any solution's cost, and insert them
        price = int(min(BIG, 10 * size * (int(cost.max()) * int(unit_costs.max()) + 1) + int(fixed_costs.max()) * size))
        for j in range(k, size):
            routing.AddDisjunction([manager.NodeToIndex(j)], price)
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    strategies = routing_enums_pb2.FirstSolutionStrategy
    # path-cheapest-arc ignores the load side constraint and the vehicles allowed at a customer,
    # and can find no first solution at all
    has_side_constraint = instance.backhaul != BACKHAUL_NONE or types.allowed is not None
    parameters.first_solution_strategy = (
        strategies.LOCAL_CHEAPEST_INSERTION if has_side_constraint else strategies.PATH_CHEAPEST_ARC
    )
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(time_limit * 1000))
    solution = routing.SolveWithParameters(parameters)
    if solution is None or any(solution.Value(routing.NextVar(manager.NodeToIndex(j))) == manager.NodeToIndex(j)
                               for j in range(k, size)):  # nothing, or customers still left out
        return None
    routes = []
    for v in range(vehicles):
        index, route = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(Route(depot_of[v], tuple(route), type_of[v]))
    return route_list(routes, k, instance.vehicles)


def _vehicles(instance: Instance, types: VehicleTypes) -> tuple[list[int], list[int]]:
    """The type and depot of each of OR-Tools' vehicles (see the module docstring).

    Raises
    ------
    NotSolved
        For a limited vehicle type that may start at any of several depots.
    """
    variant = instance.variant
    # an unlimited type of a fleet without windows, limits or backhauls: in an optimal solution no
    # two routes fit in one vehicle (merged, they would cost no more), so at most one is half full
    bounded = instance.vehicle_types is not None and variant.backhaul == BACKHAUL_NONE and not (
        variant.time_windows or variant.distance_limit or np.isfinite(types.max_duration).any())
    try:
        pairs = types.start_depots(instance.num_depots)
    except ValueError as error:
        raise NotSolved(str(error)) from None
    type_of, depot_of = [], []
    for kind, depot in pairs:
        count = types.num_available[kind]
        if not np.isfinite(count) and bounded:
            count = 2 * math.ceil(instance.demand_linehaul.sum() / types.capacity[kind]) + 1
        count = int(min(count, instance.num_customers))
        type_of += [kind] * count
        depot_of += [depot] * count
    return type_of, depot_of
