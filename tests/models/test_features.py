import math
from dataclasses import replace

import torch

from nco.envs.env import reset, step
from nco.envs.generator import generate
from nco.models.features import context_features, horizon, node_features


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
    clock = context_features(problem, state, relative_time=True)[..., 2]
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
