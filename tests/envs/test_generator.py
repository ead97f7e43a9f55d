import math

import pytest
import torch

from nco.envs.generator import capacity_for, generate
from nco.envs.variants import ALL16, BACKHAUL_NONE


def test_same_seed_same_sample():
    first, second = generate(8, 20, "all48", seed=5), generate(8, 20, "all48", seed=5)
    for name, value in vars(first).items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(value, getattr(second, name))
    assert not torch.equal(first.locs, generate(8, 20, "all48", seed=6).locs)


@pytest.mark.parametrize("num_customers", [10, 50, 100])
def test_distribution_of_variants_md(num_customers):
    problem = generate(2000, num_customers, "all48", seed=0)
    n, q = num_customers, capacity_for(num_customers)
    assert q == 30 + n // 5
    assert (problem.capacity == q).all()
    slots = problem.num_depot_slots
    customers = slice(slots, None)
    lh, bh = problem.demand_linehaul[:, customers], problem.demand_backhaul[:, customers]
    demand = lh + bh
    assert ((demand >= 1) & (demand <= 9) & (demand == demand.round())).all()
    assert not ((lh > 0) & (bh > 0)).any()
    with_backhauls = problem.backhaul != BACKHAUL_NONE
    share = (bh[with_backhauls] > 0).float().mean().item()
    assert share == pytest.approx(0.2, abs=0.01)
    assert (bh[~with_backhauls] == 0).all()
    # each attribute is on about half the time (B and MB together)
    for flag in (problem.open_route, with_backhauls, torch.isfinite(problem.distance_limit),
                 problem.time_windows_on, problem.num_depots > 1):
        assert flag.float().mean().item() == pytest.approx(0.5, abs=0.05)
    assert set(problem.num_depots.tolist()) == {1, 3}
    assert ((problem.locs >= 0) & (problem.locs <= 1)).all()


def test_time_windows_and_limits_follow_the_published_formulas():
    problem = generate(500, 50, ["VRPLTW", "MDVRPLTW"], seed=1)
    slots = problem.num_depot_slots
    windows = problem.time_windows
    assert (windows[:, :slots] == torch.tensor([0.0, 4.6])).all()
    width = windows[:, slots:, 1] - windows[:, slots:, 0]
    service = problem.service_time[:, slots:]
    assert ((width >= 0.18 - 1e-6) & (width <= 0.2 + 1e-6)).all()
    assert ((service >= 0.15 - 1e-6) & (service <= 0.18 + 1e-6)).all()
    valid = problem.depot_valid
    to_customers = problem.distance[:, :slots, slots:].masked_fill(~valid[..., None], math.inf)
    nearest = to_customers.min(1).values
    start = windows[:, slots:, 0]
    assert (start >= nearest - 1e-5).all()
    assert (start + width + service + nearest <= 4.6 + 1e-5).all()
    lower = 2 * nearest.max(1).values
    upper = torch.clamp(lower, min=2.8)
    assert ((problem.distance_limit >= lower - 1e-6) & (problem.distance_limit <= upper + 1e-6)).all()


def test_variants_off_hold_neutral_values():
    problem = generate(64, 10, "CVRP", seed=0)
    assert torch.isinf(problem.distance_limit).all()
    assert (problem.time_windows[..., 0] == 0).all() and torch.isinf(problem.time_windows[..., 1]).all()
    assert (problem.service_time == 0).all() and (problem.demand_backhaul == 0).all()
    assert not problem.open_route.any() and problem.num_depot_slots == 1


def test_all16_is_sampled_uniformly():
    counts = torch.bincount(generate(16000, 5, "all16", seed=2).variant_index, minlength=48)
    for variant in ALL16:
        assert counts[variant.index].item() == pytest.approx(1000, rel=0.12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_instances=0, num_customers=5), "num_instances=0"),
    (dict(num_instances=2, num_customers=5, variants="VRPQ"), "unknown variant 'VRPQ'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)


@pytest.mark.parametrize("distribution", ["broad", "broad_long", "broad_asymmetric", "broad_road"])
def test_broad_presets_are_reproducible_and_every_random_rollout_is_feasible(distribution):
    from tests.envs.test_env import judge_rollouts, rollout_checking_masks

    first = generate(48, 14, "all48", seed=11, distribution=distribution)
    second = generate(48, 14, "all48", seed=11, distribution=distribution)
    for name, value in vars(first).items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(value, getattr(second, name))
    judge_rollouts(first, rollout_checking_masks(first, num_starts=2, seed=11))
    if distribution == "broad_road":  # the matrix-aware model's data: every batch on a road matrix
        assert all(generate(4, 10, "CVRP", seed=seed, distribution=distribution).explicit_matrix for seed in range(8))


def test_broad_asymmetric_matrix_is_road_like():
    problem = generate(64, 30, "CVRP", seed=2, distribution="broad_asymmetric")
    if not problem.explicit_matrix:  # one batch in two is Euclidean: draw again
        problem = generate(64, 30, "CVRP", seed=3, distribution="broad_asymmetric")
    assert problem.explicit_matrix
    distance = problem.distance
    assert not torch.allclose(distance, distance.transpose(1, 2))
    assert (distance.diagonal(dim1=1, dim2=2) == 0).all()
    euclidean = torch.cdist(problem.locs, problem.locs)
    torch.testing.assert_close(distance.mean((1, 2)), euclidean.mean((1, 2)))  # model units
    # closed under shortest paths: no trip is longer than a detour through a third place
    detour = (distance[:, :, :, None] + distance[:, None]).min(2).values
    assert (distance <= detour + 1e-5).all()
    # long trips run on faster roads: per unit of straight line, the shortest fifth of the
    # trips takes longer than the longest fifth
    off = ~torch.eye(31, dtype=torch.bool).expand_as(distance) & (euclidean > 0)
    ratio, length = (distance / euclidean.clamp(min=1e-9))[off], euclidean[off]
    short, long = length < length.quantile(0.2), length > length.quantile(0.8)
    assert ratio[short].median() > 1.3 * ratio[long].median()


def test_the_published_preset_draws_what_the_first_generator_drew():
    """Same seed, same instances as before the Distribution existed (sums recorded from it), so
    the seeds of earlier figures still name the same instances."""
    problem = generate(16, 10, "all48", seed=0)
    windows = torch.where(torch.isfinite(problem.time_windows), problem.time_windows, 0)
    limit = torch.where(torch.isfinite(problem.distance_limit), problem.distance_limit, 0)
    fields = (problem.locs, problem.demand_linehaul, problem.demand_backhaul, windows, problem.service_time, limit)
    assert [float(x.double().sum()).hex() for x in fields] == [
        "0x1.9e5f694c00000p+7", "0x1.4c80000000000p+9", "0x1.9400000000000p+6", "0x1.2d89d0b5c0000p+9",
        "0x1.0691acfc00000p+4", "0x1.41a696a000000p+4",
    ]
    assert problem.variant_index.tolist() == [46, 33, 21, 42, 29, 37, 7, 15, 26, 13, 20, 7, 15, 27, 22, 20]
