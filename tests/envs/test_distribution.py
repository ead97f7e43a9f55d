"""The instance distributions: presets by name, their ranges, and settings that cannot be drawn."""

import pytest
import torch

from nco.envs.distribution import BROAD, DISTRIBUTIONS, Distribution, get_distribution
from nco.envs.generator import generate


@pytest.mark.parametrize("distribution, longest_routes, longest_horizon", [("broad", 30, 30), ("broad_long", 60, 45)])
def test_broad_preset_spans_real_file_ranges(distribution, longest_routes, longest_horizon):
    problem = generate(4000, 60, "all48", seed=3, distribution=distribution)
    slots = problem.num_depot_slots
    customers = problem.demand_linehaul[:, slots:] + problem.demand_backhaul[:, slots:]
    assert customers.min() >= 1 and customers.max() == 100 and (customers == customers.round()).all()
    assert (problem.capacity >= customers.max(1).values).all()
    per_route = problem.capacity / customers.mean(1)
    assert per_route.min() < 4 and per_route.max() > longest_routes  # 3 to 40 (80) customers per route
    assert set(problem.num_depots.tolist()) == {1, 2, 3, 4, 5}
    windows = problem.time_windows_on
    horizon = problem.time_windows[windows, 0, 1]
    assert horizon.min() < 2.5 and horizon.max() > longest_horizon  # Solomon's R1 to C2 in model units
    width = (problem.time_windows[windows, slots:, 1] - problem.time_windows[windows, slots:, 0]) / horizon[:, None]
    assert width.min() < 0.02 and width.max() > 0.5
    assert ((problem.locs >= 0) & (problem.locs <= 1)).all()
    # some instances clustered: their customers' mean nearest-neighbour distance is small
    distance = torch.cdist(problem.locs[:, slots:], problem.locs[:, slots:]) + torch.eye(60) * 9
    nearest = distance.min(-1).values.mean(1)
    assert nearest.min() < 0.5 * nearest.max()


def test_unknown_distribution_is_one_line_error():
    with pytest.raises(ValueError, match="unknown distribution 'wide': use one of variants_md, broad"):
        generate(2, 5, distribution="wide")


def test_presets_are_found_by_name_and_a_distribution_passes_through():
    for name, preset in DISTRIBUTIONS.items():
        assert get_distribution(name) is preset
    custom = Distribution(**{**vars(BROAD), "customers_per_route": (3.0, 6.0)})
    assert get_distribution(custom) is custom


@pytest.mark.parametrize("change, message", [
    ({"customer_placements": ("spiral",)}, "customer_placements=\\('spiral',\\): choose one or more of"),
    ({"demand_kinds": ()}, "demand_kinds=\\(\\): choose one or more of"),
    ({"depot_counts": (1, 2)}, "depot_counts=\\(1, 2\\): a multi-depot instance has 2 or more depots"),
    ({"horizon": (5.0, 2.0)}, "horizon=\\(5.0, 2.0\\): give a range \\(low, high\\) with 0 <= low <= high"),
    ({"pair_noise": (-0.1, 0.2)}, "pair_noise=\\(-0.1, 0.2\\): give a range"),
])
def test_settings_that_cannot_be_drawn_are_one_line_errors(change, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        Distribution(**{**vars(BROAD), **change})
