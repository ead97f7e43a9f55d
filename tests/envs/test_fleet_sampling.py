import numpy as np
import pytest
import torch

from nco.envs.env import reset
from nco.envs.generator import generate


@pytest.mark.parametrize("variants, seed", [("all16", 0), ("all48", 1), ("all48", 2)])
def test_generated_fleets_keep_every_customer_servable_and_every_rule_of_the_judge(variants, seed):
    from tests.envs.test_env import judge_fleet_rollouts, rollout_checking_masks

    problem = generate(32, 15, variants, seed=seed, distribution="broad_fleet")
    reset(problem)  # raises for a customer no route can serve alone
    fleet = problem.vehicles
    kinds = fleet.vehicle_type
    assert (kinds >= 0).any(1).all() and torch.equal(problem.depot_valid, kinds >= 0)
    for b in range(problem.batch_size):
        real = kinds[b] >= 0
        # the largest type holds the instance's capacity and the slots of a limited type are one
        assert fleet.capacity[b][real].max() == problem.capacity[b]
        for kind in kinds[b][real].unique():
            slots = real & (kinds[b] == kind)
            if torch.isfinite(fleet.available[b][slots]).all():
                assert slots.sum() == 1
            else:
                assert slots.sum() == problem.num_depots[b]
    # judged on the batch's instances (valid instances, with their vehicle types)
    judge_fleet_rollouts(problem, rollout_checking_masks(problem, num_starts=2, seed=seed))


def test_about_half_of_the_instances_get_a_fleet_and_the_others_their_own_vehicle():
    problem = generate(400, 10, "all48", seed=3, distribution="broad_fleet")
    num_types = (problem.vehicles.vehicle_type.amax(1) + 1).numpy()
    assert 0.4 < (num_types > 1).mean() < 0.6 and set(num_types) <= {1, 2, 3, 4, 5}
    single = torch.as_tensor(num_types == 1)
    fleet = problem.vehicles
    real = fleet.vehicle_type >= 0
    assert torch.isinf(fleet.available[single][real[single]]).all()
    assert (fleet.unit_cost[single] == 1).all() and (fleet.fixed_cost[single] == 0).all()
    assert np.isinf(fleet.max_duration[single].numpy()).all()


def test_a_batch_without_fleets_is_drawn_as_before():
    from dataclasses import replace

    from nco.envs.distribution import BROAD

    plain = generate(16, 12, "all48", seed=5, distribution="broad")
    none_drawn = generate(16, 12, "all48", seed=5, distribution=replace(BROAD, fleet_share=1e-9))
    assert none_drawn.vehicles is None and torch.equal(none_drawn.locs, plain.locs)
