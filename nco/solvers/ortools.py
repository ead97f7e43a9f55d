"""OR-Tools' routing library (guided local search) on any of the 48 variants.

Capacity follows the exact mixed-backhaul rule with two dimensions: ``delivered`` counts the
linehaul demand served, and ``load`` (start value free) changes by pickup minus delivery at every
customer and must stay in ``[0, Q]``; its start value must cover everything delivered on the route.
Strict backhauls remove the arcs from backhaul to linehaul customers. Open routes make the arcs
into depots free and lift the return deadline. Every depot has as many vehicles as customers,
each returning to its own depot.
"""

from __future__ import annotations

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from nco.envs.instance import Instance
from nco.envs.route import Route
from nco.envs.variants import BACKHAUL_NONE, BACKHAUL_STRICT
from nco.solvers.integer import BIG, IntegerInstance


def solve(instance: Instance, time_limit: float, seed: int = 1) -> list[list[int]] | None:
    """OR-Tools' routing solver (guided local search) for ``time_limit`` seconds; ``None`` when it
    finds nothing feasible. ``seed`` is accepted for the common signature and unused: the routing
    search has no random choice to seed."""
    data = IntegerInstance.from_instance(instance)
    k, n, size = instance.num_depots, instance.num_customers, instance.num_locations
    vehicles = k * n
    depot_of = [v // n for v in range(vehicles)]
    manager = pywrapcp.RoutingIndexManager(size, vehicles, depot_of, depot_of)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    cost = routing.RegisterTransitMatrix(data.cost().tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost)

    delivered_index = routing.RegisterUnaryTransitVector(data.linehaul.tolist())
    routing.AddDimension(delivered_index, 0, data.capacity, True, "delivered")
    if instance.backhaul != BACKHAUL_NONE:
        change = (data.backhaul - data.linehaul).tolist()
        routing.AddDimension(routing.RegisterUnaryTransitVector(change), 0, data.capacity, False, "load")
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

    if instance.variant.time_windows:
        duration = data.duration()
        horizon = int(max(data.late[data.late < BIG].max(initial=0), data.early.max()) + duration.max() + data.service.max())
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

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    strategies = routing_enums_pb2.FirstSolutionStrategy
    # path-cheapest-arc ignores the load side constraint and can find no first solution at all
    has_side_constraint = instance.backhaul != BACKHAUL_NONE
    parameters.first_solution_strategy = (
        strategies.LOCAL_CHEAPEST_INSERTION if has_side_constraint else strategies.PATH_CHEAPEST_ARC
    )
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    parameters.time_limit.FromMilliseconds(int(time_limit * 1000))
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return None
    routes = []
    for v in range(vehicles):
        index, route = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(Route(depot_of[v], tuple(route)).to_list(k))
    return routes
