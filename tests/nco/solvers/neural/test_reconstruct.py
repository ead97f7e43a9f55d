import numpy as np
import pytest
import torch

from nco.clock import Deadline, SteppingClock

from nco.checkpoints import load_policy
from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.solvers.neural.reconstruct import (LONG_ROUTE_GROUP_SIZE, SUBPROBLEM_SIZE, group_size, reconstruct,
                                            route_groups, singleton_routes)

# one variant of every family: plain, open, backhauls (strict and mixed), limits, time windows, depots
VARIANTS = ["CVRP", "OVRPL", "VRPBTW", "VRPMBL", "OVRPMBTW", "MDVRPTW", "MDOVRPBL"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_route_per_customer_is_feasible_for_every_variant(variant):
    for seed in range(3):
        instance = generate(1, 40, [variant], seed=seed, distribution="broad").instance(0, variant)
        routes = singleton_routes(instance)
        assert len(routes) == instance.num_customers
        assert check_solution(instance, routes).feasible


def test_one_route_per_customer_leaves_from_a_depot_that_can_serve_it():
    import nco

    # depot 1 is nearer customer 2 but closes before a vehicle could return from it; depot 0 is open long enough
    instance = nco.Instance(coords=[[0, 0], [10, 0], [20, 0], [12, 0]], demand_linehaul=[0, 0, 1, 1], capacity=5,
                            num_depots=2, time_windows=[[0, 100], [0, 5], [0, 100], [0, 100]])
    assert singleton_routes(instance) == [[0, 2], [1, 3]]


@pytest.mark.parametrize("customers, capacity, expected", [
    (400, 40, SUBPROBLEM_SIZE),  # a vehicle holds 20 average demands: groups of 100 hold several routes
    (400, 200, 200),  # 100 average demands: twice that
    (1000, 1000, LONG_ROUTE_GROUP_SIZE),  # 500: at most the longest group
    (150, 200, 75),  # at most half the instance
])
def test_groups_hold_two_routes_of_long_route_instances(customers, capacity, expected):
    import nco

    demand = np.r_[0, np.tile([1.0, 3.0], customers // 2)]  # average demand 2
    instance = nco.Instance(coords=np.random.default_rng(0).uniform(size=(customers + 1, 2)), demand_linehaul=demand,
                            capacity=capacity)
    assert group_size(instance) == expected


@pytest.mark.parametrize("seed", range(5))
def test_groups_partition_the_routes_into_neighbourhoods_of_bounded_size(seed):
    instance = generate(1, 60, ["MDVRP"], seed=seed, distribution="broad").instance(0)
    routes = [[0, c, c + 1] for c in range(instance.num_depots, instance.num_locations - 1, 2)]
    groups = route_groups(instance, routes, np.random.default_rng(seed), size=10)
    assert sorted(i for group in groups for i in group) == list(range(len(routes)))
    assert all(1 <= sum(len(routes[i]) - 1 for i in group) <= 10 for group in groups)


@pytest.mark.parametrize("variant", VARIANTS)
def test_reconstruction_improves_a_poor_solution_and_stays_feasible(variant):
    policy = load_policy(None, "cpu")[0]  # the shipped model: a random one rarely beats one route per customer
    instance = generate(1, 30, [variant], seed=3, distribution="broad").instance(0, variant)
    before = check_solution(instance, singleton_routes(instance))
    generator = torch.Generator().manual_seed(0)
    # a stepping clock: the same rounds on a busy machine as on an idle one
    deadline = Deadline.after(1.0, SteppingClock(0.02))
    routes = reconstruct(policy, instance, None, deadline, generator, augment=False, size=10)
    after = check_solution(instance, routes)
    assert after.feasible, after.violations
    assert after.cost < before.cost


def test_the_decomposition_stops_at_the_deadline():
    # a deadline already past: no group is decoded, every customer keeps its own route
    policy = load_policy(None, "cpu")[0]
    instance = generate(1, 40, ["VRPTW"], seed=3, distribution="broad").instance(0, "VRPTW")
    routes = reconstruct(policy, instance, None, Deadline.after(0), torch.Generator().manual_seed(0), size=10)
    assert sorted(routes) == sorted(singleton_routes(instance))


def test_reconstruction_respects_a_real_matrix(checkpoint, fixtures):
    import nco

    policy = load_policy(checkpoint, "cpu")[0]
    instance = nco.read(fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt")
    start = nco.solve(instance, checkpoint=checkpoint, augment=False).route_lists()
    routes = reconstruct(policy, instance, start, Deadline.after(2.0), torch.Generator().manual_seed(0),
                         augment=False)
    after = check_solution(instance, routes)
    assert after.feasible, after.violations
    assert after.cost <= check_solution(instance, start).cost


@pytest.mark.parametrize("search, time_limit", [("reconstruct", 1.0), ("polish", 1.0), (None, None)])
def test_a_very_large_instance_is_decomposed_rather_than_decoded_whole(monkeypatch, search, time_limit):
    import nco

    calls = []
    monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 10)  # "large": above 10 customers
    monkeypatch.setattr("nco.solvers.neural.reconstruct.START_DECODED_UP_TO", 20)  # "very large": above 20
    monkeypatch.setattr("nco.solvers.neural.decode.solve_instance", lambda *args, **kwargs: calls.append(args))
    instance = generate(1, 25, ["VRPBTW"], seed=1, distribution="broad").instance(0, "VRPBTW")
    # the shipped model, pacing on a stepping clock: as much work on a busy machine as on an idle one
    solution = nco.solve(instance, time_limit=time_limit, search=search, clock=SteppingClock(1e-4))
    assert solution.feasible and not calls
    assert solution.cost < check_solution(instance, singleton_routes(instance)).cost


def test_a_large_instance_without_a_limit_is_re_constructed_from_one_image_decoded_whole(monkeypatch):
    import nco
    import nco.solvers.neural.decode

    monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 10)
    monkeypatch.setattr("nco.solvers.neural.reconstruct.WHOLE_DECODING_STARTS", 5)
    decode, calls, decoded = nco.solvers.neural.decode.solve_instance, [], []

    def recorded(policy, instance, augment, samples, **options):
        calls.append((augment, samples, options["max_starts"]))
        decoded.append(decode(policy, instance, augment, samples, **options))
        return decoded[-1]

    monkeypatch.setattr("nco.solvers.neural.decode.solve_instance", recorded)
    instance = generate(1, 25, ["MDVRPTW"], seed=2, distribution="broad").instance(0, "MDVRPTW")
    solution = nco.solve(instance)  # the shipped model
    assert calls == [(False, 0, 5)]  # one image, five starts, no sampling
    assert solution.feasible and solution.cost <= check_solution(instance, decoded[0]).cost


def test_groups_of_one_size_are_decoded_together(monkeypatch):
    import nco.solvers.neural.reconstruct

    batches = []
    decode = nco.solvers.neural.reconstruct.best_routes

    def recorded(policy, instances, decoding, generator=None, pace=None):
        batches.append([instance.num_customers for instance in instances])
        return decode(policy, instances, decoding, generator, pace)

    monkeypatch.setattr(nco.solvers.neural.reconstruct, "best_routes", recorded)
    policy = load_policy(None, "cpu")[0]
    instance = generate(1, 43, ["VRPTW"], seed=3, distribution="broad").instance(0, "VRPTW")
    routes = reconstruct(policy, instance, None, None, torch.Generator().manual_seed(0), augment=False, size=10)
    assert check_solution(instance, routes).feasible
    # from one route per customer every group but the last holds the round's target: one batch of those
    assert all(len(set(sizes)) == 1 for sizes in batches) and max(len(sizes) for sizes in batches) >= 4
    assert sum(sum(sizes) for sizes in batches) == instance.num_customers


def test_a_batch_of_groups_finds_what_each_group_finds_alone():
    from nco.models.decoding import Decoding
    from nco.solvers.neural.decode import best_routes

    policy = load_policy(None, "cpu")[0]
    instances = [generate(1, 12, [variant], seed=4, distribution="broad").instance(0) for variant in VARIANTS]
    together = best_routes(policy, instances, Decoding())
    for instance, routes in zip(instances, together):
        alone = best_routes(policy, [instance], Decoding())[0]
        assert check_solution(instance, routes).cost == pytest.approx(check_solution(instance, alone).cost, rel=1e-5)


@pytest.mark.parametrize("num_customers, size", [(40, 20), (300, 100)])
def test_groups_hold_up_to_half_the_instance_and_at_most_the_subproblem_size(monkeypatch, num_customers, size):
    import nco.solvers.neural.reconstruct

    sizes = []
    grouped = nco.solvers.neural.reconstruct.route_groups

    def recorded(instance, routes, rng, size):
        sizes.append(size)
        return grouped(instance, routes, rng, size)

    monkeypatch.setattr(nco.solvers.neural.reconstruct, "route_groups", recorded)
    instance = generate(1, num_customers, ["CVRP"], seed=1, distribution="broad").instance(0)
    # a deadline already past: the first round groups the routes and decodes nothing
    routes = reconstruct(load_policy(None, "cpu")[0], instance, None, Deadline.after(0), torch.Generator().manual_seed(0))
    assert sizes == [size] and len(routes) == num_customers


@pytest.mark.parametrize("variant", ["CVRP", "VRPTW", "MDOVRPBL"])
def test_a_fleet_re_constructed_keeps_its_counts_and_gets_cheaper(variant):
    from nco.envs.route import Route, route_list
    from tests.conftest import with_random_fleet

    policy = load_policy(None, "cpu")[0]
    plain = generate(1, 30, [variant], seed=3, distribution="broad").instance(0, variant)
    instance = with_random_fleet(plain, np.random.default_rng(7))
    own = instance.vehicle_types.num_types - 1  # the instance's own vehicle: every customer, unlimited
    singletons = [Route.from_list(route, instance.num_depots) for route in singleton_routes(instance)]
    start = route_list([Route(route.depot, route.visits, own) for route in singletons], instance.num_depots,
                       instance.vehicles)
    before = check_solution(instance, start)
    assert before.feasible, before.violations
    deadline = Deadline.after(1.0, SteppingClock(0.02))
    routes = reconstruct(policy, instance, start, deadline, torch.Generator().manual_seed(0), augment=False, size=10)
    after = check_solution(instance, routes)
    assert after.feasible, after.violations  # counts, allowed customers, durations: the judge's every rule
    assert after.cost < before.cost
    with pytest.raises(ValueError, match="starts from decoded routes"):
        reconstruct(policy, instance, None, deadline)
