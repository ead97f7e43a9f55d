import itertools
from functools import lru_cache

import numpy as np
import pytest

from nco.envs.check import check_solution
from nco.envs.fleet import VehicleTypes
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.io import read_instance
from nco.solvers import NotSolved, make_solver
from nco.solvers.classical import CLASSICAL_SOLVERS
from tests.conftest import FIXTURES

FAMILIES = ["CVRP", "OVRP", "VRPB", "VRPMB", "VRPL", "VRPTW", "MDCVRP", "OVRPBLTW", "MDOVRPMBLTW"]


def asymmetric(instance: Instance, seed: int) -> Instance:
    """The instance with an explicit asymmetric matrix that only shortens travel."""
    rng = np.random.default_rng(seed)
    return instance.replace(distance_matrix=instance.distances * rng.uniform(0.6, 1.0, instance.distances.shape))


def brute_force_optimum(instance: Instance) -> float:
    """Optimal cost by enumeration: the best ordering and depot of every customer subset as one
    route (judged by the independent check), then the best partition of the customers (DP)."""
    k, customers = instance.num_depots, list(range(instance.num_depots, instance.num_locations))

    def route_cost(route) -> float:
        result = check_solution(instance, [route])
        broken = [v for v in result.violations if not v.startswith("customers not served")]
        return np.inf if broken else result.cost

    @lru_cache(maxsize=None)
    def best_route(subset: frozenset) -> float:
        return min(
            route_cost(([depot] if k > 1 else []) + list(order))
            for order in itertools.permutations(subset)
            for depot in range(k)
        )

    @lru_cache(maxsize=None)
    def best(remaining: frozenset) -> float:
        if not remaining:
            return 0.0
        first = min(remaining)  # the route serving the lowest customer, then the rest
        others = sorted(remaining - {first})
        return min(
            best_route(frozenset((first, *extra))) + best(remaining - {first, *extra})
            for size in range(len(others) + 1)
            for extra in itertools.combinations(others, size)
        )

    return best(frozenset(customers))


def family_instance(family: str, num_customers: int, seed: int) -> Instance:
    """An instance of a variant family; ``asymmetric`` has an explicit asymmetric matrix."""
    if family == "asymmetric":
        return asymmetric(generate(1, num_customers, "OVRPMBTW", seed=seed).instance(0), seed)
    return generate(1, num_customers, [family], seed=seed).instance(0)


@pytest.mark.parametrize("solver", ["ortools", "pyvrp"])
@pytest.mark.parametrize("family", FAMILIES + ["asymmetric"])
def test_baselines_are_feasible_on_every_family(solver, family):
    instance = family_instance(family, 12, seed=len(family))
    routes = CLASSICAL_SOLVERS[solver](instance, 0.3, 1)
    assert routes is not None
    result = check_solution(instance, routes)
    assert result.feasible, result.violations


@pytest.mark.parametrize("solver", ["ortools", "pyvrp"])
@pytest.mark.parametrize("family", FAMILIES + ["asymmetric"])
def test_baselines_match_the_brute_force_optimum_on_6_customers(solver, family):
    instance = family_instance(family, 6, seed=100 + len(family))
    optimum = brute_force_optimum(instance)
    routes = CLASSICAL_SOLVERS[solver](instance, 0.5, 1)
    result = check_solution(instance, routes)
    assert result.feasible, result.violations
    # integer scaling (factor 1e4 here) may cost a few units in the last digits
    assert result.cost == pytest.approx(optimum, rel=1e-3)


def test_mixed_backhauls_are_not_modelled_as_strict_precedence():
    # Q = 10; from the depot at the origin: backhaul 1 (pickup 4) right next to the depot,
    # linehaul 2 (demand 6) far away. Mixed: 1 then 2 carries 6 + 4 = 10 <= 10, feasible and
    # shortest; strict precedence would force 2 before 1 (a longer route).
    instance = Instance(
        coords=[[0, 0], [0.1, 0], [1, 0], [1, 0.2]], demand_linehaul=[0, 0, 6, 0],
        demand_backhaul=[0, 4, 0, 3], capacity=13, backhaul=2, open_route=True,
    )
    for solver in ("ortools", "pyvrp"):
        routes = CLASSICAL_SOLVERS[solver](instance, 0.3, 1)
        assert check_solution(instance, routes).cost == pytest.approx(brute_force_optimum(instance), rel=1e-3)


def test_unknown_solver_and_options_of_another_solver_are_one_line():
    with pytest.raises(ValueError, match="unknown solver 'lkh': use one of neural, pyvrp, ortools"):
        make_solver("lkh")
    with pytest.raises(ValueError, match="the pyvrp solver takes no options \\(augment\\)"):
        make_solver("pyvrp", augment=False)


def brute_force_fleet_optimum(instance: Instance) -> float:
    """Optimal cost of a fleet instance by enumeration: the best ordering and depot of every
    customer subset as one route of each vehicle type (judged by the independent check, the route
    in a vehicle of that type), then the best partition of the customers into routes whose types
    stay within their vehicles (DP over the customers left and the vehicles left)."""
    k, types = instance.num_depots, instance.vehicle_types
    vehicle_types = types.vehicle_types(instance.num_customers).tolist()

    @lru_cache(maxsize=None)
    def best_route(subset: frozenset, kind: int) -> float:
        best = np.inf
        for order in itertools.permutations(subset):
            for depot in range(k):
                routes = [[] for _ in vehicle_types]
                routes[vehicle_types.index(kind)] = ([depot] if k > 1 else []) + list(order)
                result = check_solution(instance, routes)
                if not [v for v in result.violations if not v.startswith("customers not served")]:
                    best = min(best, result.cost)
        return best

    @lru_cache(maxsize=None)
    def best(remaining: frozenset, left: tuple) -> float:
        if not remaining:
            return 0.0
        first = min(remaining)
        others = sorted(remaining - {first})
        return min((
            best_route(frozenset((first, *extra)), kind)
            + best(remaining - {first, *extra}, tuple(c - (t == kind) for t, c in enumerate(left)))
            for size in range(len(others) + 1)
            for extra in itertools.combinations(others, size)
            for kind in range(types.num_types) if left[kind] > 0
        ), default=np.inf)

    return best(frozenset(range(k, instance.num_locations)), tuple(vehicle_types.count(t) for t in range(types.num_types)))


def small_fleets() -> list[Instance]:
    """The site-dependent fixture with windows and a duration limit, and a generated CVRP of 6
    customers with a limited large type, an unlimited small one, fixed and unit costs."""
    cvrp = generate(1, 6, ["CVRP"], seed=7).instance(0)
    mixed = cvrp.replace(capacity=None, vehicle_types=VehicleTypes(
        capacity=[cvrp.capacity / 2, cvrp.capacity], num_available=[np.inf, 1], fixed_cost=[0.1, 0.5],
        unit_distance_cost=[1.0, 1.5]))
    return [read_instance(FIXTURES / "fleet-sd7.vrp"), mixed]


@pytest.mark.parametrize("solver", ["ortools", "pyvrp"])
@pytest.mark.parametrize("index", [0, 1])
def test_baselines_match_the_brute_force_optimum_of_small_fleets(solver, index):
    instance = small_fleets()[index]
    routes = CLASSICAL_SOLVERS[solver](instance, 0.5, 1)
    result = check_solution(instance, routes)
    assert result.feasible, result.violations
    assert result.cost == pytest.approx(brute_force_fleet_optimum(instance), rel=1e-3)


@pytest.mark.parametrize("solver", ["ortools", "pyvrp"])
def test_a_limited_type_that_may_start_at_any_of_several_depots_is_not_solved_silently(solver):
    instance = generate(1, 6, ["MDCVRP"], seed=3).instance(0)
    instance = instance.replace(capacity=None, vehicle_types=VehicleTypes([instance.capacity], num_available=[4]))
    with pytest.raises(NotSolved, match="vehicle type 0 has 4 vehicles that may start at any of 3 depots: the classical solvers bind"):
        CLASSICAL_SOLVERS[solver](instance, 0.3, 1)


def test_pyvrp_starts_from_a_fleet_solution_and_leaves_out_routes_no_vehicle_may_drive():
    from nco.solvers import pyvrp

    instance = small_fleets()[0]  # vehicles: van, van, truck
    beyond = [3]  # a fourth route for three vehicles
    routes = pyvrp.solve(instance, 0.3, 1, initial_routes=[[6, 1], [4, 5], [2, 7], beyond])
    result = check_solution(instance, routes)
    assert result.feasible and result.cost == pytest.approx(brute_force_fleet_optimum(instance), rel=1e-3)
