import numpy as np
import pytest

from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.envs.units import model_units, rescale
from nco.io import read_instance, read_solution


def test_coordinates_land_in_the_unit_square_with_their_aspect_kept():
    coords = np.array([[10.0, 20.0], [30.0, 25.0], [20.0, 20.0]])
    unit, travel = model_units(coords)
    assert travel == 20 and unit.min() == 0 and unit.max() == 1
    assert np.allclose(unit, [[0, 0], [1, 0.25], [0.5, 0]])


def test_a_matrix_gets_the_mean_of_the_unit_square_distances():
    coords = np.array([[0.0, 0.0], [2.0, 0.0]])
    matrix = np.array([[0.0, 6.0], [6.0, 0.0]])
    _, travel = model_units(coords, matrix)
    assert travel == pytest.approx(6.0)  # mean 3 in the matrix, 0.5 in the unit square


@pytest.mark.parametrize("variant", ["VRPLTW", "MDOVRPMBLTW"])
def test_rescaled_instances_keep_every_solution_feasible_and_its_cost_in_proportion(variant):
    instance = generate(1, 10, [variant], seed=3).instance(0)
    instance = instance.replace(coords=instance.coords * 250 + 40, time_windows=instance.time_windows * 250,
                                service_time=instance.service_time * 250, distance_limit=instance.distance_limit * 250)
    routes = [([0] if instance.num_depots > 1 else []) + [j] for j in range(instance.num_depots, instance.num_locations)]
    original, scaled = check_solution(instance, routes), check_solution(rescale(instance), routes)
    assert original.feasible and scaled.feasible
    _, travel = model_units(instance.coords)
    assert scaled.cost * travel == pytest.approx(original.cost)


def test_a_fleets_duration_limit_is_scaled_with_travel(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    routes, _ = read_solution(fixtures / "fleet-sd7.sol")
    unit = rescale(instance)
    assert unit.vehicle_types.max_duration.tolist() == pytest.approx([70 / 30, 70 / 30])  # extent 30
    assert check_solution(unit, routes).feasible
