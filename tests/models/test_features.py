import math
from dataclasses import replace

import torch

from nco.envs.env import reset, step
from nco.envs.generator import generate
from nco.envs.variants import BACKHAUL_MIXED
from nco.models.features import context_features, fleet_pressure, horizon, instance_context, node_features


def with_time_scaled(problem, factor: float):
    """The same instances with every time (windows, service, travel time) multiplied by ``factor``."""
    return replace(problem, time_windows=problem.time_windows * factor,
                   service_time=problem.service_time * factor, duration=problem.travel_time * factor)


def test_horizon_is_the_latest_depot_closing_time_or_one():
    problem = generate(64, 10, "all48", seed=0, distribution="broad")
    expected = [
        max((float(problem.time_windows[b, k, 1]) for k in range(int(problem.num_depots[b]))
             if math.isfinite(float(problem.time_windows[b, k, 1]))), default=1.0)
        for b in range(problem.batch_size)
    ]
    torch.testing.assert_close(horizon(problem), torch.tensor(expected))


def test_relative_time_features_are_shares_of_the_horizon():
    problem = generate(32, 12, "VRPTW", seed=1, distribution="broad")
    scale = horizon(problem)[:, None]
    depot, customer = node_features(problem, relative_time=True)
    absolute_depot, absolute_customer = node_features(problem)
    torch.testing.assert_close(customer[..., 4:7], absolute_customer[..., 4:7] / scale[..., None])
    assert ((customer[..., 4:6] >= 0) & (customer[..., 4:6] <= 1 + 1e-6)).all()
    torch.testing.assert_close(depot[..., 3], (1 / scale).expand(-1, depot.shape[1]))
    torch.testing.assert_close(depot[..., [0, 1, 4, 5, 6, 7, 8]], absolute_depot[..., [0, 1, 4, 5, 6, 7, 8]])
    # in the middle of a rollout the clock is a share of the horizon too
    state = reset(problem, 3)
    state = step(problem, state, torch.full((32, 3), 2))
    clock = context_features(state, instance_context(problem, relative_time=True), problem)[..., 2]
    torch.testing.assert_close(clock, state.time / scale)


def test_relative_features_do_not_change_when_every_time_is_scaled():
    """A file whose times are in other units (a slower speed, a longer day) looks the same apart
    from the inverse-horizon column."""
    problem = generate(16, 10, "VRPTW", seed=2, distribution="broad")
    slower = with_time_scaled(problem, 7.0)
    depot, customer = node_features(problem, relative_time=True)
    slower_depot, slower_customer = node_features(slower, relative_time=True)
    torch.testing.assert_close(customer, slower_customer)
    torch.testing.assert_close(depot[..., 3] / 7.0, slower_depot[..., 3])


def test_instances_without_windows_feed_neutral_time_features():
    problem = generate(8, 10, "CVRP", seed=3, distribution="broad")
    depot, customer = node_features(problem, relative_time=True)
    assert (customer[..., 4:7] == 0).all() and (depot[..., 2:4] == 0).all()


def test_context_features_restated_rollout_by_rollout():
    problem = generate(24, 8, "all48", seed=4, distribution="broad")
    state = reset(problem, 2)
    for action in (3, 5):  # two customers into the first route (the mask is not needed here)
        state = step(problem, state, torch.full((24, 2), action))
    features = context_features(state, instance_context(problem, relative_time=True), problem)
    scale = horizon(problem)
    for b in range(problem.batch_size):
        capacity, limit = float(problem.capacity[b]), float(problem.distance_limit[b])
        for s in range(2):
            linehaul, net, peak = (float(getattr(state, name)[b, s]) for name in
                                   ("route_linehaul", "route_net_pickup", "route_max_net_pickup"))
            expected = [(capacity - linehaul - peak) / capacity, (capacity - linehaul - max(peak, net)) / capacity,
                        float(state.time[b, s]) / float(scale[b]),
                        limit - float(state.route_length[b, s]) if math.isfinite(limit) else 0.0,
                        float(state.route_has_backhaul[b, s]), float(problem.backhaul[b] == BACKHAUL_MIXED),
                        float(problem.num_depots[b] > 1), 0.0]
            torch.testing.assert_close(features[b, s], torch.tensor(expected), rtol=1e-6, atol=1e-6)


def test_vehicle_type_features_are_neutral_for_the_instance_own_vehicle_and_rooms_follow_the_route():
    import numpy as np

    from nco.envs.fleet import VehicleTypes
    from nco.envs.problem import Problem

    plain = generate(2, 6, "VRPTW", seed=5).instances()
    own = [i.replace(capacity=None, vehicle_types=VehicleTypes(capacity=[i.capacity])) for i in plain]
    assert not node_features(Problem.from_instances(own))[0][..., 9:].any()
    # a small scarce vehicle (half the capacity, 2 available, fixed cost 3, 0.5 per distance, 4
    # time units) beside a large unlimited one (1 per distance)
    types = VehicleTypes(capacity=[plain[0].capacity / 2, plain[0].capacity], num_available=[2, np.inf],
                         fixed_cost=[3.0, 0.0], unit_distance_cost=[0.5, 1.0], max_duration=[4.0, np.inf])
    problem = Problem.from_instances([i.replace(capacity=None, vehicle_types=types) for i in plain])
    depot, _ = node_features(problem)
    torch.testing.assert_close(depot[0, :, 9:], torch.tensor([[0.5, 3.0, -0.5, 1 / 3, 4.0], [0, 0, 0, 0, 0]]))
    state = reset(problem, 2)
    state = step(problem, state, torch.tensor([[0, 1]]).expand(2, 2))  # the second rollout takes the large vehicle
    room = context_features(state, instance_context(problem), problem)[..., 0]
    torch.testing.assert_close(room[:, 0], torch.full((2,), 0.5))
    torch.testing.assert_close(room[:, 1], torch.ones(2))
    assert not fleet_pressure(problem, state).any()  # an unlimited type: no pressure
    # two small vehicles and one large one carry twice the capacity: the demand left over that
    limited = VehicleTypes(capacity=[plain[0].capacity / 2, plain[0].capacity], num_available=[2, 1])
    problem = Problem.from_instances([plain[0].replace(capacity=None, vehicle_types=limited)])
    state = reset(problem, 1)
    demand = float(problem.demand_linehaul.sum() + problem.demand_backhaul.sum())
    torch.testing.assert_close(fleet_pressure(problem, state), torch.tensor([[demand / (2 * plain[0].capacity)]]))
    state = step(problem, state, torch.tensor([[3]]))  # one customer served by a small vehicle
    served = float(max(problem.demand_linehaul[0, 3], problem.demand_backhaul[0, 3]))
    expected = (demand - served) / (1.5 * plain[0].capacity)
    torch.testing.assert_close(fleet_pressure(problem, state), torch.tensor([[expected]]))
