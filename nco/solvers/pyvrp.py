"""PyVRP (iterated local search) on any of the 48 variants, from its own start or warm-started
with given routes (the neural solver's polish).

PyVRP's load rule for clients with deliveries and pickups is the mixed-backhaul rule; strict
backhauls forbid the arcs from a backhaul to a linehaul client; open routes make the arcs into the
depots free (distance and time) and lift the return deadline, as PyVRP's FAQ describes; every
depot has its own vehicle type that starts and ends there, with as many vehicles as customers.
A fleet's vehicle types (:mod:`nco.envs.fleet`) become PyVRP's, one per depot where a type may
start at any of several; the customers a type may not serve are out of reach of its profile (the
arcs to and from them longer than any route).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyvrp
from pyvrp.constants import MAX_VALUE
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxRuntime

from nco.envs.instance import Instance
from nco.envs.route import Route, route_list, routes_of
from nco.envs.variants import BACKHAUL_STRICT
from nco.solvers.base import NotSolved
from nco.solvers.integer import BIG, IntegerInstance


def solve(instance: Instance, time_limit: float, seed: int = 1,
          initial_routes: list[list[int]] | None = None) -> list[list[int]] | None:
    """The best feasible routes PyVRP finds within ``time_limit`` seconds (building the data, the
    neighbourhoods and the first local optimum included), or None. With ``initial_routes``
    (routes in the instance's numbering, feasible or not) the search starts from an exhaustive
    local search of them, else from one of a random solution (as ``pyvrp.solve`` does)."""
    deadline = time.perf_counter() + time_limit
    k = instance.num_depots
    data, our_type = problem_data(instance)
    pyvrp_type = {(kind, depot): index for index, (kind, depot) in enumerate(our_type)}
    start = None
    if initial_routes is not None:  # PyVRP numbers clients from 0; a route no vehicle may drive is left out
        start = [pyvrp.Route(data, [v - k for v in route.visits], pyvrp_type[route.vehicle_type, route.depot])
                 for route in routes_of(initial_routes, k, instance.vehicles) if (route.vehicle_type, route.depot) in pyvrp_type]
    result = _iterated_local_search(data, lambda: deadline - time.perf_counter(), seed, start)
    if not result.is_feasible():
        return None
    routes = []
    for route in result.routes():
        visits = [k + int(activity.idx) for activity in route if activity.is_client()]
        routes.append(Route(int(route.start_depot()), tuple(visits), our_type[route.vehicle_type()][0]))
    return route_list(routes, k, instance.vehicles)


def _iterated_local_search(data: pyvrp.ProblemData, seconds_left: Callable[[], float], seed: int,
                          initial_routes: list[pyvrp.Route] | None = None) -> pyvrp.Solution:
    """``pyvrp.solve`` with its default parameters, but with one neighbourhood structure for the
    first local optimum and the search (it takes seconds at n = 10000) and a budget that counts
    them: the search runs for ``seconds_left()`` seconds as measured once they are built."""
    params = pyvrp.SolveParams()
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    search = LocalSearch(data, rng, compute_neighbours(data, params.neighbourhood), PerturbationManager(params.perturbation))
    for operator in params.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalties = pyvrp.PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    start = pyvrp.Solution(data, initial_routes) if initial_routes else pyvrp.Solution.make_random(data, rng)
    initial = search(start, penalties.max_cost_evaluator(), exhaustive=True)
    ils = pyvrp.IteratedLocalSearch(data, penalties, search, initial, params.ils)
    return ils.run(MaxRuntime(max(0.0, seconds_left())), collect_stats=False).best


def problem_data(instance: Instance) -> tuple[pyvrp.ProblemData, list[tuple[int, int]]]:
    """The PyVRP data of ``instance`` (integer data, see :mod:`nco.solvers.integer`), built
    from whole matrices: one int64 copy of each per profile, handed to PyVRP (which keeps its
    own), and for each PyVRP vehicle type the instance's vehicle type and depot it stands for.

    Raises
    ------
    NotSolved
        For a limited vehicle type that may start at any of several depots (a PyVRP vehicle type
        starts at one).
    """
    data = IntegerInstance.from_instance(instance)
    k, n = instance.num_depots, instance.num_customers
    types = instance.fleet
    # a fleet's costs (fixed and per unit of distance) dwarf PyVRP's largest penalty per unit of
    # excess load unless loads come in small units: scaled up, its search finds feasible fleets
    load_scale = 1 if instance.vehicle_types is None else \
        10 ** max(0, 5 - math.ceil(math.log10(max(1, data.scaled_capacity(types.capacity.max())))))
    locations = [pyvrp.Location(float(x), float(y)) for x, y in instance.coords]
    depots = [pyvrp.Depot(d, tw_early=int(data.early[d]), tw_late=min(int(data.late[d]), BIG)) for d in range(k)]
    clients = [
        pyvrp.Client(j, delivery=[load_scale * int(data.linehaul[j])], pickup=[load_scale * int(data.backhaul[j])],
                     service_duration=int(data.service[j]),
                     tw_early=int(data.early[j]), tw_late=min(int(data.late[j]), BIG))
        for j in range(k, instance.num_locations)
    ]
    fixed_cost, unit_cost = data.vehicle_costs()
    allowed = types.allows(instance.num_locations)
    profiles = [] if types.allowed is None else sorted({tuple(row) for row in allowed})
    try:
        our_type = types.start_depots(k)
    except ValueError as error:
        raise NotSolved(str(error)) from None
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=int(min(types.num_available[kind], n)),
            capacity=[load_scale * data.scaled_capacity(types.capacity[kind])],
            start_depot=d, end_depot=d, tw_early=int(data.early[d]),
            tw_late=BIG if instance.open_route else int(min(data.late[d], BIG)),
            shift_duration=min(data.scaled_limit(types.max_duration[kind]), BIG),
            max_distance=int(min(data.distance_limit, BIG)),
            fixed_cost=int(fixed_cost[kind]),
            unit_distance_cost=int(unit_cost[kind]),
            profile=profiles.index(tuple(allowed[kind])) if profiles else 0,
        )
        for kind, d in our_type
    ]
    # the rounded-up distances keep limits safe; a forbidden arc costs PyVRP's missing-edge value
    distance, duration = data.distance(), data.duration()
    if instance.backhaul == BACKHAUL_STRICT:
        is_backhaul = instance.demand_backhaul > 0
        forbidden = np.zeros((instance.num_locations,) * 2, dtype=bool)
        forbidden[np.ix_(is_backhaul, ~is_backhaul)] = True
        forbidden[:, :k] = False  # returning to a depot is always allowed
        distance[forbidden] = duration[forbidden] = MAX_VALUE
    np.fill_diagonal(distance, 0)
    np.fill_diagonal(duration, 0)
    distances, durations = [distance], [duration]
    if profiles:  # a copy per profile, the customers it may not serve out of reach
        distances, durations = [], []
        # longer than any route of allowed arcs, yet far from PyVRP's missing-edge value: that
        # one times the penalties of its first search overflows, and the search cycles
        out_of_reach = [10 * instance.num_locations * int(matrix[matrix < MAX_VALUE].max(initial=1))
                        for matrix in (distance, duration)]
        for profile in profiles:
            barred = ~np.array(profile)
            barred[:k] = False
            for matrices, matrix, far in zip((distances, durations), (distance, duration), out_of_reach):
                matrices.append(matrix.copy())
                matrices[-1][barred, :] = matrices[-1][:, barred] = far
                np.fill_diagonal(matrices[-1], 0)
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, distances, durations), our_type
