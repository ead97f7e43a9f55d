import math

import numpy as np
import pytest

from nco.envs.fleet import VehicleTypes
from nco.envs.generator import generate
from nco.solvers.integer import BIG, IntegerInstance, whole_factor


def test_the_largest_finite_value_is_scaled_to_about_one_hundred_thousand():
    instance = generate(1, 20, ["VRPLTW"], seed=1).instance(0)
    data = IntegerInstance.from_instance(instance)
    finite = instance.time_windows[np.isfinite(instance.time_windows)]
    largest = max(instance.distances.max(), finite.max(), instance.distance_limit)
    assert 1e4 < largest * data.factor <= 1e5
    assert math.log10(data.factor).is_integer()


def test_travel_and_starts_round_up_and_deadlines_and_limits_down():
    instance = generate(1, 20, ["VRPLTW"], seed=2).instance(0)
    data = IntegerInstance.from_instance(instance)
    factor = data.factor
    assert (data.duration() >= instance.durations * factor - 1e-6).all()
    assert (data.duration() < instance.durations * factor + 1).all()
    assert (data.distance() >= instance.distances * factor - 1e-6).all()
    assert (data.service >= instance.service_time * factor - 1e-6).all()
    assert (data.early >= instance.time_windows[:, 0] * factor - 1e-6).all()
    assert (data.late <= instance.time_windows[:, 1] * factor + 1e-6).all()
    assert data.distance_limit <= instance.distance_limit * factor
    assert data.scaled_limit(np.inf) == BIG
    assert np.abs(data.cost() - instance.distances * factor).max() <= 0.5 + 1e-6  # the objective: nearest


def test_open_routes_make_the_arcs_into_depots_free():
    instance = generate(1, 8, ["MDOVRP"], seed=3).instance(0)
    data = IntegerInstance.from_instance(instance)
    assert (data.cost()[:, : instance.num_depots] == 0).all()
    assert (data.cost()[:, instance.num_depots:] > 0).sum() > 0


@pytest.mark.parametrize("values, factor", [
    ([1, 2, 30], 1), ([0.5, 1.25], 100), ([0.1, 0.2], 10),
    ([math.pi], 10**4),  # whole to numpy's allclose (a relative 1e-5): 31416 for 31415.93
    ([1e-7], 10**6),  # no further than the largest factor
])
def test_the_least_power_of_ten_that_makes_values_whole(values, factor):
    assert whole_factor(np.array(values)) == factor


def test_fractional_demands_scale_every_capacity_alike():
    instance = generate(1, 5, ["CVRP"], seed=4).instance(0)
    demand = instance.demand_linehaul.copy()
    demand[instance.num_depots:] = [0.5, 1.25, 2, 1, 0.75]
    instance = instance.replace(demand_linehaul=demand, capacity=None,
                                vehicle_types=VehicleTypes(capacity=[2.5, 3.125]))
    data = IntegerInstance.from_instance(instance)
    assert data.demand_factor == 100
    assert data.linehaul[1:].tolist() == [50, 125, 200, 100, 75]
    assert data.capacity == 312 and data.scaled_capacity(2.5) == 250  # rounded down


def test_a_duration_limit_counts_among_the_magnitudes():
    instance = generate(1, 5, ["CVRP"], seed=5).instance(0)
    instance = instance.replace(capacity=None, vehicle_types=VehicleTypes([instance.capacity], max_duration=[1e6]))
    data = IntegerInstance.from_instance(instance)
    assert data.scaled_limit(1e6) == 10**5 < BIG  # not lost as "no limit"


def test_fleet_costs_keep_their_ratios_in_integers():
    instance = generate(1, 5, ["CVRP"], seed=6).instance(0)
    instance = instance.replace(capacity=None, vehicle_types=VehicleTypes(
        [instance.capacity] * 2, fixed_cost=[0.25, 3], unit_distance_cost=[1.5, 0.75]))
    data = IntegerInstance.from_instance(instance)
    fixed, unit = data.vehicle_costs()
    assert unit.tolist() == [150, 75]  # whole with a factor of 100
    assert fixed.tolist() == [round(0.25 * data.factor * 100), round(3 * data.factor * 100)]
    # one unit of distance costs the unit cost times the distances' factor, as the fixed cost does
    assert fixed[1] / (unit[1] * data.factor) == pytest.approx(3 / 0.75)
