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


def test_rescale_keeps_aspect_ratio_and_costs():
    instance = generate(1, 12, "VRPLTW", seed=0).instance(0)
    stretched = instance.replace(
        coords=instance.coords * [300, 100] + 50,
        time_windows=instance.time_windows * 300, service_time=instance.service_time * 300,
        distance_limit=np.inf,
    )
    scaled = rescale(stretched)
    assert scaled.coords.min() == pytest.approx(0) and scaled.coords.max() == pytest.approx(1)
    extent = np.ptp(stretched.coords, axis=0).max()
    np.testing.assert_allclose(scaled.distances * extent, stretched.distances, rtol=1e-9)
    np.testing.assert_allclose(scaled.time_windows * extent, stretched.time_windows, rtol=1e-9)


def test_rescale_of_explicit_matrices_uses_one_travel_factor():
    instance = generate(1, 8, "VRPTW", seed=1).instance(0)
    matrix = instance.distances * 3600
    explicit = instance.replace(distance_matrix=matrix, time_windows=instance.time_windows * 3600,
                                service_time=instance.service_time * 3600)
    scaled = rescale(explicit)
    factor = matrix[0, 1] / scaled.distance_matrix[0, 1]
    np.testing.assert_allclose(scaled.distance_matrix * factor, matrix, rtol=1e-9)
    np.testing.assert_allclose(scaled.time_windows * factor, explicit.time_windows, rtol=1e-9)


def test_a_fleets_duration_limit_is_scaled_with_travel(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    routes, _ = read_solution(fixtures / "fleet-sd7.sol")
    unit = rescale(instance)
    assert unit.vehicle_types.max_duration.tolist() == pytest.approx([70 / 30, 70 / 30])  # extent 30
    assert check_solution(unit, routes).feasible
