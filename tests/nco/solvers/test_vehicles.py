from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nco.envs.check import check_route, check_solution
from nco.envs.fleet import VehicleTypes
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.route import Route, route_list
from nco.solvers.vehicles import assign_vehicles, fleet_variants
from tests.conftest import with_random_fleet


def _line(types: VehicleTypes) -> Instance:
    """Four customers on a line, demands 1, 1, 2, 2, and ``types``."""
    coords = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], dtype=float)
    return Instance(coords, np.array([0, 1, 1, 2, 2], dtype=float), vehicle_types=types)


def _routes_with(instance: Instance, routes: list[tuple[int, ...]], kinds: tuple[int, ...]) -> list[list[int]]:
    """``routes`` driven by vehicles of types ``kinds``, each from its type's depot (its own where
    the type may start anywhere), aligned to the vehicles."""
    types = instance.vehicle_types
    own = [Route.from_list(list(route), instance.num_depots) for route in routes]
    placed = [Route(route.depot if types.depot[kind] < 0 else int(types.depot[kind]), route.visits, kind)
              for route, kind in zip(own, kinds)]
    return route_list(placed, instance.num_depots, instance.vehicles)


def test_each_route_gets_the_cheapest_vehicle_that_fits_it():
    small_and_cheap = VehicleTypes(capacity=[2, 4], fixed_cost=[1, 10], unit_distance_cost=[1, 2])
    instance = _line(small_and_cheap)
    routes = _routes_with(instance, [(1, 2), (3, 4)], (1, 1))  # both in the large, dear vehicle
    assigned = assign_vehicles(instance, routes)
    # (1, 2) carries 2: the small vehicle; (3, 4) carries 4: only the large one
    assert assigned == _routes_with(instance, [(1, 2), (3, 4)], (0, 1))
    assert check_solution(instance, assigned).cost == pytest.approx(1 + 4 + 10 + 2 * 8)


def test_the_counts_hold_and_too_few_vehicles_give_none():
    one_small = VehicleTypes(capacity=[2, 4], num_available=[1, 5], unit_distance_cost=[1, 3])
    instance = _line(one_small)
    # both singletons fit the small vehicle, but there is one: the nearer pays the dearer rate
    assigned = assign_vehicles(instance, _routes_with(instance, [(1,), (2,)], (1, 1)))
    assert check_solution(instance, assigned).cost == pytest.approx(3 * 2 + 1 * 4)
    two_large = VehicleTypes(capacity=[4], num_available=[2])
    instance = _line(two_large)
    three_routes = [[1, 2], [3], [4]]  # more routes than vehicles: the judge refuses them, no assignment helps
    assert not check_solution(instance, three_routes).feasible
    assert assign_vehicles(instance, three_routes) is None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), num_customers=st.integers(2, 6))
def test_the_assignment_is_the_cheapest_of_all_by_brute_force(seed, num_customers):
    rng = np.random.default_rng(seed)
    plain = generate(1, num_customers, "all16" if seed % 2 else "all48", seed=seed).instances()[0]
    instance = with_random_fleet(plain, rng)
    types, k = instance.vehicle_types, instance.num_depots
    depot = int(rng.integers(0, k))
    # routes of one or two customers in random order, driven by the instance's own vehicle (the
    # last type: every customer, no duration limit), split where a pair does not fit it
    customers = rng.permutation(np.arange(k, instance.num_locations))
    own = types.num_types - 1
    routes: list[tuple[int, ...]] = []
    for start in range(0, len(customers), 2):
        pair = tuple(customers[start:start + 2].tolist())
        fits = not check_route(instance, Route(depot, pair, own), instance.rounding)[1]
        routes += [pair] if fits else [(customer,) for customer in pair]
    routes = [((depot,) if k > 1 else ()) + route for route in routes]
    start = _routes_with(instance, routes, (own,) * len(routes))
    assert check_solution(instance, start).feasible
    best = min((check_solution(instance, candidate).cost for kinds in product(range(types.num_types), repeat=len(routes))
                if check_solution(instance, candidate := _routes_with(instance, routes, kinds)).feasible),
               default=None)
    assigned = assign_vehicles(instance, start)
    assert best is not None and assigned is not None  # the start itself is feasible
    result = check_solution(instance, assigned)
    assert result.feasible
    assert result.cost == pytest.approx(best, rel=1e-6)


def test_the_variants_are_the_instance_and_each_unlimited_type_that_serves_everyone():
    types = VehicleTypes(capacity=[1, 2, 4], num_available=[4, 4, 2], fixed_cost=[0, 1, 2])
    instance = _line(types)
    variants = fleet_variants(instance)
    # type 0 holds 1 (below the demands of 2: not alone); type 1 has as many vehicles as customers
    # (unlimited); type 2 is limited
    assert variants[0] is instance
    assert len(variants) == 2
    alone = variants[1].vehicle_types
    assert alone.capacity.tolist() == [2] and alone.fixed_cost.tolist() == [1] and np.isinf(alone.num_available).all()
    assert len(fleet_variants(_line(VehicleTypes(capacity=[4], fixed_cost=[3])))) == 1  # one type: itself
    plain = Instance(instance.coords, instance.demand_linehaul, capacity=4)
    assert fleet_variants(plain) == [plain]
