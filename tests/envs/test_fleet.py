import numpy as np
import pytest

from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance


def fleet_instance(**types) -> Instance:
    """Depot at 0 and four customers at x = 1, 2, 3, 4 with demands 1, 2, 3, 4."""
    return Instance(coords=[[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], demand_linehaul=[0, 1, 2, 3, 4],
                    vehicle_types=VehicleTypes(**{"capacity": [4, 8], **types}))


def test_neutral_values_and_the_vehicles_of_each_type():
    types = VehicleTypes(capacity=[5, 10, 20], num_available=[2, np.inf, 9])
    assert types.fixed_cost.tolist() == [0, 0, 0]
    assert types.unit_distance_cost.tolist() == [1, 1, 1]
    assert types.max_duration.tolist() == [np.inf] * 3
    assert types.depot.tolist() == [-1, -1, -1]
    assert types.allows(4).all() and types.allows(4).shape == (3, 4)
    # an unlimited type, or one with more vehicles than customers, has one vehicle per customer
    assert types.vehicle_types(4).tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("fields, message", [
    (dict(capacity=[]), "capacity has shape \\(0,\\): give one capacity per vehicle type"),
    (dict(capacity=[0, 5]), "capacity is \\[0.0, 5.0\\]: give positive finite numbers"),
    (dict(capacity=[5], num_available=[1.5]), "num_available is \\[1.5\\]: give whole numbers >= 1, or inf"),
    (dict(capacity=[5], num_available=[0]), "num_available is \\[0.0\\]"),
    (dict(capacity=[5, 6], fixed_cost=[1]), "fixed_cost has shape \\(1,\\): give one value per vehicle type \\(2\\)"),
    (dict(capacity=[5], unit_distance_cost=[-1]), "unit_distance_cost is \\[-1.0\\]: give finite numbers >= 0"),
    (dict(capacity=[5], max_duration=[0]), "max_duration is \\[0.0\\]: give positive numbers, or inf for none"),
    (dict(capacity=[5], depot=[-2]), "depot is \\[-2\\]: give a depot's index, or -1 for any depot"),
    (dict(capacity=[5, 6], allowed=[[True, False]]), "allowed has shape \\(1, 2\\): give \\(num_types, num_locations\\)"),
])
def test_bad_vehicle_types_name_the_field_and_the_fix(fields, message):
    with pytest.raises(ValueError, match=message):
        VehicleTypes(**fields)


def test_the_instance_capacity_is_the_largest_type():
    assert fleet_instance().capacity == 8
    with pytest.raises(ValueError, match="capacity is 5 but the largest vehicle type holds 8: leave capacity out"):
        Instance(coords=[[0, 0], [1, 0]], demand_linehaul=[0, 1], capacity=5, vehicle_types=VehicleTypes([4, 8]))
    with pytest.raises(ValueError, match="capacity is missing: give the vehicle capacity, or vehicle_types"):
        Instance(coords=[[0, 0], [1, 0]], demand_linehaul=[0, 1])


@pytest.mark.parametrize("types, message", [
    (dict(capacity=[2, 8], allowed=[[True] * 5, [True, True, True, True, False]]),
     "customer 4 has demand 4, more than every vehicle type allowed to serve it holds \\(1 such customers\\)"),
    (dict(allowed=[[True] * 4 + [False]] * 2), "customer 4 may be served by no vehicle type"),
    (dict(allowed=[[True] * 4] * 2), "vehicle_types.allowed has 4 columns but the instance has 5 locations"),
    (dict(depot=[0, 1]), "vehicle_types.depot names depot 1 but the instance has 1 depots"),
    (dict(capacity=[2, 8], max_duration=[100, 7.9]), "customer 4 cannot be served by any route, even alone"),
])
def test_a_customer_that_no_vehicle_may_serve_is_refused(types, message):
    with pytest.raises(ValueError, match=message):
        fleet_instance(**types)


def test_the_duration_limit_of_a_type_that_may_serve_a_customer_alone_is_enough():
    assert fleet_instance(capacity=[2, 8], max_duration=[100, 8]).servable_customers().all()  # 4 out, 4 back


def test_a_subset_keeps_the_types_and_their_allowed_customers():
    allowed = np.array([[True, True, False, True, False], [True] * 5])
    part = fleet_instance(allowed=allowed).subset(np.array([2, 4]))
    assert part.vehicle_types.capacity.tolist() == [4, 8]
    assert part.vehicle_types.allowed.tolist() == [[True, False, False], [True, True, True]]
