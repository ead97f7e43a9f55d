import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nco.envs.check import check_solution, round_matrix
from nco.envs.instance import Instance
from nco.envs.variants import BACKHAUL_MIXED, BACKHAUL_STRICT
from nco.io import read_instance, read_solution


def line_instance(**changes) -> Instance:
    """Depot at 0 and four customers at x = 1, 2, 3, 4 (demand 1 each, capacity 2)."""
    fields = dict(
        coords=[[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]],
        demand_linehaul=[0, 1, 1, 1, 1],
        capacity=2,
    )
    return Instance(**{**fields, **changes})


def test_feasible_solution_and_cost():
    result = check_solution(line_instance(), [[1, 2], [3, 4]])
    assert result.feasible and result.violations == []
    assert result.cost == pytest.approx(4 + 8)


def test_open_routes_do_not_pay_the_return_arc():
    result = check_solution(line_instance(open_route=True), [[1, 2], [3, 4]])
    assert result.feasible and result.cost == pytest.approx(2 + 4)


BROKEN = [
    ("missing customer", line_instance(), [[1, 2], [3]], "not served: \\[4\\]"),
    ("repeated customer", line_instance(), [[1, 2], [2, 3], [4]], "more than once: \\[2\\]"),
    ("repeated within a route", line_instance(capacity=9), [[1, 2, 1], [3, 4]], "more than once: \\[1\\]"),
    ("unknown location", line_instance(), [[1, 2], [3, 4, 9]], "\\[9\\] are not customers"),
    ("depot inside a route", line_instance(), [[1, 0], [2, 3], [4]], "not customers"),
    ("empty route", line_instance(), [[1, 2], [3, 4], []], "is empty"),
    ("capacity", line_instance(), [[1, 2, 3], [4]], "exceeds the capacity"),
    (
        "distance limit",
        line_instance(distance_limit=8.5, capacity=4),
        [[4, 1, 3], [2]],
        "route 1: length 12 exceeds the distance limit 8.5",
    ),
    (
        "late arrival",
        line_instance(time_windows=[[0, 100], [0, 100], [0, 2.5], [0, 100], [0, 100]]),
        [[3, 2], [1, 4]],
        "route 1: arrives at 2 at 4, after its window closes at 2.5",
    ),
    (
        "depot closes",
        line_instance(
            time_windows=[[0, 9], [0, 100], [0, 100], [0, 100], [0, 100]], service_time=[0, 1, 1, 1, 1]
        ),
        [[1, 2], [3, 4]],
        "route 2: returns to depot 0 at 10, after it closes at 9",
    ),
    (
        "backhaul precedence",
        line_instance(demand_linehaul=[0, 1, 0, 1, 1], demand_backhaul=[0, 0, 1, 0, 0], backhaul=BACKHAUL_STRICT),
        [[2, 1], [3, 4]],
        "linehaul customer follows a backhaul",
    ),
    (
        "multi-depot route without its depot",
        line_instance(num_depots=2, demand_linehaul=[0, 0, 1, 1, 1]),
        [[0, 2, 3], [4]],
        "must start with its depot",
    ),
]


@pytest.mark.parametrize("name, instance, routes, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_broken_rule_is_caught_alone(name, instance, routes, message):
    result = check_solution(instance, routes)
    assert not result.feasible
    assert len(result.violations) == 1, result.violations
    assert re.search(message, result.violations[0]), result.violations


def test_service_and_waiting_times_count():
    # arrival at customer 1 at t = 1 waits until 5, serves 2 -> departs at 7, arrives at 2 at t = 8
    windows = [[0, 100], [5, 6], [0, 7.5], [0, 100], [0, 100]]
    instance = line_instance(time_windows=windows, service_time=[0, 2, 0, 0, 0])
    assert "after its window closes at 7.5" in check_solution(instance, [[1, 2], [3, 4]]).violations[0]


def naive_two_counter_feasible(instance: Instance, route: list[int]) -> bool:
    """The insufficient rule: delivered load and collected load each within capacity."""
    return (
        instance.demand_linehaul[route].sum() <= instance.capacity
        and instance.demand_backhaul[route].sum() <= instance.capacity
    )


def test_mixed_backhaul_rule_rejects_what_two_counters_accept():
    # Q = 10: deliver 6 to customer 1, collect 8 at customer 2. Visiting 2 first carries
    # 6 (still on board) + 8 = 14 > 10; visiting 1 first is feasible (peak 8).
    instance = Instance(
        coords=[[0, 0], [1, 0], [0, 1]], demand_linehaul=[0, 6, 0], demand_backhaul=[0, 0, 8],
        capacity=10, backhaul=BACKHAUL_MIXED,
    )
    assert naive_two_counter_feasible(instance, [2, 1])
    bad = check_solution(instance, [[2, 1]])
    assert not bad.feasible and "load 14 on board exceeds the capacity 10" in bad.violations[0]
    assert check_solution(instance, [[1, 2]]).feasible


def test_asymmetric_matrix_is_read_in_travel_direction():
    matrix = np.array([[0, 1, 5], [5, 0, 1], [1, 5, 0]], dtype=float)
    instance = Instance(
        coords=np.zeros((3, 2)), demand_linehaul=[0, 1, 1], capacity=2, distance_matrix=matrix
    )
    assert check_solution(instance, [[1, 2]]).cost == pytest.approx(3)
    assert check_solution(instance, [[2, 1]]).cost == pytest.approx(15)


@pytest.mark.parametrize("rounding, expected", [("none", 1.26), ("round", 1.0), ("dimacs", 1.2), ("exact", 1.26)])
def test_roundings(rounding, expected):
    assert round_matrix(np.array([1.26]), rounding)[0] == pytest.approx(expected)


def test_unknown_rounding():
    with pytest.raises(ValueError, match="unknown rounding 'up': use one of none, round"):
        round_matrix(np.ones(1), "up")


@pytest.mark.parametrize("name, rounding", [("X-n101-k25", "round"), ("p01", "none")])
def test_best_known_solutions_are_feasible_at_their_cost(fixtures, name, rounding):
    instance = read_instance(fixtures / f"{name}.vrp")
    routes, cost = read_solution(fixtures / f"{name}.sol")
    result = check_solution(instance, routes, rounding)
    assert result.feasible, result.violations
    assert result.cost == pytest.approx(cost, rel=1e-6)


@given(routes=st.lists(st.lists(st.integers(0, 7), max_size=6), max_size=5), depots=st.integers(1, 2))
@settings(max_examples=300, deadline=None)
def test_visit_counts_agree_with_a_brute_force_count(routes, depots):
    """Missing and repeated customers, restated by counting every visit of every route."""
    instance = Instance(coords=np.arange(16).reshape(8, 2), demand_linehaul=[0] * depots + [1] * (8 - depots),
                        capacity=100, num_depots=depots)
    if depots > 1:  # every route starts with a valid depot, so that only visits can be wrong
        routes = [[route_index % depots, *route] for route_index, route in enumerate(routes)]
    stops = [x for route in routes for x in (route[1:] if depots > 1 else route)]
    result = check_solution(instance, routes)
    customers = range(depots, 8)
    missing = [c for c in customers if stops.count(c) == 0]
    repeated = [c for c in customers if stops.count(c) > 1]
    not_customers = any(x < depots for x in stops)
    empty = any(len(route) == (1 if depots > 1 else 0) for route in routes)
    assert result.feasible == (not missing and not repeated and not not_customers and not empty)
    assert (f"customers not served: {missing}" in result.violations) == bool(missing)
    assert (f"customers served more than once: {repeated}" in result.violations) == bool(repeated)


def fits_on_board(instance: Instance, stops: list[int], capacity: float) -> bool:
    """At every point of a route, the goods not yet delivered plus the goods picked up fit."""
    return all(
        sum(instance.demand_linehaul[s] for s in stops[cut:]) + sum(instance.demand_backhaul[s] for s in stops[:cut])
        <= capacity * (1 + 1e-9)
        for cut in range(len(stops) + 1)
    )


def brute_force_feasible(instance: Instance, routes: list[list[int]]) -> tuple[bool, float]:
    """Every rule of variants.md restated one at a time in plain Python (no simulation shared
    with the judge): a route starts at a depot (with several) and visits customers only; every
    customer once; at every point of a route the goods not yet delivered plus the goods picked
    up fit; strict backhauls come after every linehaul; a length limit; time windows with waiting,
    service, and the depot's closing time unless routes are open."""
    k, n = instance.num_depots, instance.num_locations
    distance = instance.distances
    travel = distance if instance.duration_matrix is None else instance.duration_matrix
    windows, service = instance.time_windows, instance.service_time
    slack_time = 1e-5 * max(1.0, float(np.abs(windows[np.isfinite(windows)]).max(initial=1.0)))
    feasible, cost, visits = True, 0.0, []
    for route in routes:
        depot, stops = (route[0], route[1:]) if k > 1 else (0, route)
        if not stops or not 0 <= depot < k or any(not k <= s < n for s in stops):
            return False, float("nan")
        visits += stops
        legs = [depot, *stops] + ([] if instance.open_route else [depot])
        length = sum(distance[a][b] for a, b in zip(legs, legs[1:]))
        cost += length
        feasible &= length <= instance.distance_limit + 1e-5 * max(1.0, float(distance.max()))
        feasible &= fits_on_board(instance, stops, instance.capacity)
        if instance.backhaul == BACKHAUL_STRICT:
            for i in range(len(stops)):
                for j in range(i + 1, len(stops)):
                    feasible &= not (instance.demand_backhaul[stops[i]] > 0 and instance.demand_backhaul[stops[j]] == 0)
        now, here = windows[depot][0], depot
        for stop in stops:
            now += travel[here][stop]
            feasible &= now <= windows[stop][1] + slack_time
            now = max(now, windows[stop][0]) + service[stop]
            here = stop
        if not instance.open_route:
            feasible &= now + travel[here][depot] <= windows[depot][1] + slack_time
    feasible &= sorted(visits) == list(range(k, n))
    return bool(feasible), cost


@st.composite
def solutions(draw):
    """A generated instance of any of the 48 variants with 2-7 customers (broad distribution:
    tight and loose windows, limits and capacities), and routes that visit a random selection of
    customers (some repeated or left out) in random order, split at random, from random depots."""
    from nco.envs.generator import generate
    from nco.envs.variants import ALL48

    variant = draw(st.sampled_from(ALL48))
    size = draw(st.integers(2, 7))
    instance = generate(1, size, [variant], seed=draw(st.integers(0, 10**6)), distribution="broad").instance(0)
    k = instance.num_depots
    customers = list(range(k, k + size))
    if draw(st.booleans()):
        visits = draw(st.permutations(customers))
    else:
        visits = draw(st.lists(st.sampled_from(customers), min_size=1, max_size=size + 2))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(visits) - 1)), max_size=len(visits) - 1)))
    routes = [list(visits[a:b]) for a, b in zip([0, *cuts], [*cuts, len(visits)])]
    if k > 1:
        routes = [[draw(st.integers(0, k - 1)), *route] for route in routes]
    return instance, routes


@given(case=solutions())
@settings(max_examples=400, deadline=None)
def test_the_judge_agrees_with_a_brute_force_restatement_of_every_rule(case):
    instance, routes = case
    feasible, cost = brute_force_feasible(instance, routes)
    result = check_solution(instance, routes)
    assert result.feasible == feasible, (instance.variant.name, routes, result.violations)
    assert result.cost == pytest.approx(cost, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(horizon=st.floats(1, 1e7), share=st.floats(0.01, 1), late_by=st.floats(1e-4, 1e3))
def test_a_late_arrival_is_refused_whatever_the_horizon(horizon, share, late_by):
    """The slack of a window is relative to that window, not to the longest one of the instance:
    one customer's window closes at ``share * horizon`` in a day of ``horizon``."""
    close = share * horizon
    late = max(late_by, 2e-5 * max(close, 1e-4))  # more than the window's slack
    # customer 2 (window [0, close]) is on time alone; through customer 1 it is ``late`` late
    instance = Instance(
        coords=np.array([[0.0, 0.0], [close + late / 2, 0.0], [close, 0.0]]),
        demand_linehaul=np.array([0.0, 1.0, 1.0]), demand_backhaul=np.zeros(3), capacity=2.0,
        time_windows=np.array([[0.0, 4 * horizon + 4e3], [0.0, np.inf], [0.0, close]]), service_time=np.zeros(3),
    )
    result = check_solution(instance, [[1, 2]])
    assert not result.feasible and "arrives at 2" in result.violations[0]
    assert check_solution(instance, [[2, 1]]).feasible


def test_the_long_horizon_of_the_depot_does_not_excuse_a_late_customer():
    # the depot is open for 1e6: the old slack (1e-5 of the longest window) allowed 10 units late
    instance = Instance(
        coords=np.array([[0.0, 0.0], [12.07, 0.0], [0.0, 0.0]]), demand_linehaul=np.array([0.0, 1.0, 1.0]),
        demand_backhaul=np.zeros(3), capacity=2.0, time_windows=np.array([[0.0, 1e6], [0.0, 1e6], [0.0, 20.0]]),
        service_time=np.zeros(3),
    )
    result = check_solution(instance, [[1, 2]])
    assert not result.feasible and "arrives at 2 at 24.14, after its window closes at 20" in result.violations[0]


def brute_force_fleet(instance: Instance, routes: list[list[int]]) -> tuple[bool, float]:
    """The fleet's rules restated on top of :func:`brute_force_feasible`: route ``i`` is driven by
    vehicle ``i`` (the types' vehicles in order, an unlimited type's as many as customers), an
    empty route is an unused vehicle; a route holds what its type holds, serves only customers its
    type may serve, starts at its type's depot, and lasts no longer than its type's limit from the
    best of the departures worth trying (when the depot opens, or when a later one just meets a
    window); it costs its type's fixed cost plus its unit cost times its length."""
    types, k = instance.vehicle_types, instance.num_depots
    slots = [t for t in range(types.num_types) for _ in range(int(min(types.num_available[t], instance.num_customers)))]
    used = [(slots[i] if i < len(slots) else None, route) for i, route in enumerate(routes) if route]
    feasible, _ = brute_force_feasible(instance.replace(vehicle_types=None), [route for _, route in used])
    feasible &= len(routes) <= len(slots)
    windows, service, travel = instance.time_windows, instance.service_time, instance.durations
    cost = 0.0
    for kind, route in used:
        if kind is None:
            continue
        depot, stops = (route[0], route[1:]) if k > 1 else (0, route)
        if not stops or not 0 <= depot < k or any(not k <= s < instance.num_locations for s in stops):
            return False, float("nan")
        legs = [depot, *stops] + ([] if instance.open_route else [depot])
        cost += types.fixed_cost[kind] + types.unit_distance_cost[kind] * sum(
            instance.distances[a][b] for a, b in zip(legs, legs[1:]))
        feasible &= fits_on_board(instance, stops, types.capacity[kind])
        feasible &= all(types.allows(instance.num_locations)[kind][s] for s in stops)
        feasible &= types.depot[kind] in (-1, depot)

        def run(start):  # (end, late anywhere) leaving at ``start``
            now, late = start, False
            for here, there in zip(legs, legs[1:]):
                now += travel[here][there]
                if there != depot or instance.open_route or there in stops:
                    late |= now > windows[there][1] + 1e-9 * max(1.0, abs(windows[there][1]))
                now = max(now, windows[there][0]) + (service[there] if there in stops else 0.0)
            return now, late

        no_wait, candidates = windows[depot][0], {windows[depot][0]}
        for here, there in zip(legs, legs[1:]):
            no_wait += travel[here][there]
            candidates |= {windows[there][0] - no_wait, windows[there][1] - no_wait}
            no_wait += service[there] if there in stops else 0.0
        starts = [s for s in candidates if np.isfinite(s) and s >= windows[depot][0] and not run(s)[1]]
        duration = min((run(s)[0] - s for s in starts), default=run(windows[depot][0])[0] - windows[depot][0])
        feasible &= duration <= types.max_duration[kind] * (1 + 1e-5) + 1e-9
    return bool(feasible), cost


@st.composite
def fleet_solutions(draw):
    """A case of :func:`solutions` given a fleet of 1-3 types (the last one of the instance's
    capacity and allowed everywhere, so every customer fits one) and its routes spread over the
    vehicles, or more routes than vehicles."""
    from hypothesis import assume

    from nco.envs.fleet import VehicleTypes

    instance, routes = draw(solutions())
    size, k = instance.num_customers, instance.num_depots
    num_types = draw(st.integers(1, 3))
    share = [draw(st.floats(0.3, 1.0)) for _ in range(num_types - 1)] + [1.0]
    allowed = np.array([[draw(st.integers(0, 4)) > 0 for _ in range(instance.num_locations)] for _ in range(num_types - 1)]
                       + [[True] * instance.num_locations]).reshape(num_types, -1)
    durations = [draw(st.one_of(st.just(np.inf), st.floats(0.5, 4.0))) for _ in range(num_types)]
    try:
        instance = instance.replace(capacity=None, vehicle_types=VehicleTypes(
            capacity=[instance.capacity * s for s in share],
            num_available=[draw(st.sampled_from([1, 2, np.inf])) for _ in range(num_types)],
            fixed_cost=[draw(st.floats(0, 3)) for _ in range(num_types)],
            unit_distance_cost=[draw(st.floats(0.1, 3)) for _ in range(num_types)],
            max_duration=durations, depot=[draw(st.sampled_from([-1, -1, *range(k)])) for _ in range(num_types)],
            allowed=allowed))
    except ValueError:  # a customer that no type may serve alone within its duration limit
        assume(False)
    vehicles = len(instance.vehicles)
    if len(routes) <= vehicles and draw(st.booleans()):
        aligned = [[] for _ in range(vehicles)]
        for route, slot in zip(routes, draw(st.permutations(range(vehicles)))):
            aligned[slot] = route
        routes = aligned
    return instance, routes


@given(case=fleet_solutions())
@settings(max_examples=400, deadline=None)
def test_the_judge_agrees_with_a_brute_force_restatement_of_the_fleet_rules(case):
    instance, routes = case
    feasible, cost = brute_force_fleet(instance, routes)
    result = check_solution(instance, routes)
    assert result.feasible == feasible, (instance.variant.name, routes, result.violations)
    if feasible:
        assert result.cost == pytest.approx(cost, rel=1e-9)


def fleet_line(**types) -> Instance:
    """:func:`line_instance` with a small type (capacity 2, fixed cost 10) and a large one
    (capacity 4, 2 per unit of distance, one vehicle)."""
    from nco.envs.fleet import VehicleTypes

    fields = dict(capacity=[2, 4], num_available=[np.inf, 1], fixed_cost=[10, 0], unit_distance_cost=[1, 2])
    return line_instance(capacity=None, vehicle_types=VehicleTypes(**{**fields, **types}))


def test_a_fleet_route_costs_its_fixed_cost_and_its_unit_cost_times_its_length():
    instance = fleet_line()  # vehicles 0-3 small, vehicle 4 large
    result = check_solution(instance, [[1, 2], [], [], [], [3, 4]])
    assert result.feasible, result.violations
    assert result.cost == pytest.approx(10 + 4 + 2 * 8)


@pytest.mark.parametrize("types, routes, message", [
    ({}, [[1, 2, 3], [], [], [], [4]], "route 1 (vehicle type 0): load 3 on board exceeds the capacity 2"),
    ({}, [[1, 2], [3, 4], [], [], [], []], "6 routes for 5 vehicles: routes are aligned to the fleet's vehicles, one route (or an empty one) per vehicle"),
    (dict(allowed=[[True, True, True, False, True], [True] * 5]), [[1, 2], [3, 4]],
     "route 2 (vehicle type 0): serves [3], which its vehicle type may not serve"),
    (dict(max_duration=[4.5, np.inf]), [[1, 2], [], [], [], [3, 4]], None),
    (dict(max_duration=[np.inf, 7.9]), [[1, 2], [], [], [], [3, 4]],
     "route 5 (vehicle type 1): lasts 8, longer than its vehicle type's limit 7.9"),
])
def test_each_fleet_rule_is_caught_alone(types, routes, message):
    result = check_solution(fleet_line(**types), routes)
    assert result.violations == ([] if message is None else [message])


def test_a_route_leaves_as_late_as_it_can_to_wait_less():
    # the customer at x = 1 opens at 10: leaving at 0 the route takes 11 with 9 of waiting,
    # leaving at 9 it takes 2, within a limit of 3
    from nco.envs.fleet import VehicleTypes

    windows = [[0, 100], [10, 20]]
    instance = Instance(coords=[[0, 0], [1, 0]], demand_linehaul=[0, 1], time_windows=windows,
                        vehicle_types=VehicleTypes([1], max_duration=[3]))
    assert check_solution(instance, [[1]]).feasible
    # a window that forces waiting whatever the departure: the waiting counts
    two = Instance(coords=[[0, 0], [1, 0], [2, 0]], demand_linehaul=[0, 1, 1],
                   time_windows=[[0, 100], [0, 1], [30, 40]], vehicle_types=VehicleTypes([2], max_duration=[20]))
    result = check_solution(two, [[1, 2]])  # must reach 1 by 1, then waits at 2 from at least 2 to 30
    assert result.violations == ["route 1 (vehicle type 0): lasts 32, longer than its vehicle type's limit 20"]
