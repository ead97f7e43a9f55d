"""PyVRP (iterated local search) on any of the 48 variants, from its own start or warm-started
with given routes (the neural solver's polish).

PyVRP's load rule for clients with deliveries and pickups is the mixed-backhaul rule; strict
backhauls forbid the arcs from a backhaul to a linehaul client; open routes make the arcs into the
depots free (distance and time) and lift the return deadline, as PyVRP's FAQ describes; every
depot has its own vehicle type that starts and ends there, with as many vehicles as customers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyvrp
from pyvrp.constants import MAX_VALUE
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxRuntime

from nco.envs.instance import Instance
from nco.envs.route import Route
from nco.envs.variants import BACKHAUL_STRICT
from nco.solvers.integer import BIG, IntegerInstance


def solve(instance: Instance, time_limit: float, seed: int = 1,
          initial_routes: list[list[int]] | None = None) -> list[list[int]] | None:
    """The best feasible routes PyVRP finds within ``time_limit`` seconds (building the data, the
    neighbourhoods and the first local optimum included), or None. With ``initial_routes``
    (routes in the instance's numbering, feasible or not) the search starts from an exhaustive
    local search of them, else from one of a random solution (as ``pyvrp.solve`` does)."""
    deadline = time.perf_counter() + time_limit
    k = instance.num_depots
    data = problem_data(instance)
    start = None
    if initial_routes is not None:  # PyVRP numbers clients from 0
        parsed = [Route.from_list(route, k) for route in initial_routes]
        start = [pyvrp.Route(data, [v - k for v in route.visits], route.depot) for route in parsed]
    result = _iterated_local_search(data, lambda: deadline - time.perf_counter(), seed, start)
    if not result.is_feasible():
        return None
    routes = []
    for route in result.routes():
        visits = [k + int(activity.idx) for activity in route if activity.is_client()]
        routes.append(Route(int(route.start_depot()), tuple(visits)).to_list(k))
    return routes


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


def problem_data(instance: Instance) -> pyvrp.ProblemData:
    """The PyVRP data of ``instance`` (integer data, see :mod:`nco.solvers.integer`), built
    from whole matrices: one int64 copy of each, handed to PyVRP (which keeps its own)."""
    data = IntegerInstance.from_instance(instance)
    k, n = instance.num_depots, instance.num_customers
    locations = [pyvrp.Location(float(x), float(y)) for x, y in instance.coords]
    depots = [pyvrp.Depot(d, tw_early=int(data.early[d]), tw_late=min(int(data.late[d]), BIG)) for d in range(k)]
    clients = [
        pyvrp.Client(j, delivery=[int(data.linehaul[j])], pickup=[int(data.backhaul[j])], service_duration=int(data.service[j]),
                     tw_early=int(data.early[j]), tw_late=min(int(data.late[j]), BIG))
        for j in range(k, instance.num_locations)
    ]
    vehicle_types = [
        pyvrp.VehicleType(num_available=n, capacity=[data.capacity], start_depot=d, end_depot=d, tw_early=int(data.early[d]),
                          tw_late=BIG if instance.open_route else int(min(data.late[d], BIG)),
                          max_distance=int(min(data.distance_limit, BIG)))
        for d in range(k)
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
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, [distance], [duration])
