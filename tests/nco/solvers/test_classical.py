import itertools
from functools import lru_cache

import numpy as np
import pytest

from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.solvers import make_solver
from nco.solvers.classical import CLASSICAL_SOLVERS

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
