import math

import numpy as np

from nco.envs.route import Route
from nco.io import read_instance, read_solution
from nco.solution import Solution


def test_a_judged_solution_keeps_its_routes_and_the_judges_verdict(fixtures):
    instance = read_instance(fixtures / "X-n101-k25.vrp")
    routes, cost = read_solution(fixtures / "X-n101-k25.sol")
    solution = Solution.judged(instance.replace(rounding="round"), routes, "file", 0.5)
    assert solution.feasible and not solution.violations and solution.cost == cost
    assert solution.route_lists() == routes
    assert all(route.vehicle_type == 0 for route in solution.routes)


def test_nothing_found_is_infeasible_with_its_reason(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    solution = Solution.judged(instance, None, "pyvrp", 1.0, reason="the fleet is too small")
    assert not solution.feasible and math.isnan(solution.cost)
    assert solution.violations == ("the fleet is too small",) and solution.route_lists() == []


def test_a_fleet_solution_keeps_each_used_vehicle_with_its_type_and_aligns_again(fixtures, tmp_path):
    instance = read_instance(fixtures / "fleet-sd7.vrp")  # vehicles: van, van, truck
    solution = Solution.judged(instance, [[], [6, 1], [2, 7, 3]], "test", 0.1)
    assert solution.routes == (Route(0, (6, 1), 0), Route(0, (2, 7, 3), 1))
    assert solution.route_lists() == [[6, 1], [], [2, 7, 3]]  # the first free van, then the truck
    assert not solution.feasible  # 4 and 5 are not served
    path = solution.to_sol(tmp_path / "fleet.sol")
    assert read_solution(path)[0] == [[6, 1], [], [2, 7, 3]]


def test_routes_beyond_the_fleet_are_kept_after_its_vehicles_and_refused(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    routes = [[6], [1], [2, 7, 3], [4, 5]]
    solution = Solution.judged(instance, routes, "test", 0.1)
    assert solution.route_lists() == routes
    assert "4 routes for 3 vehicles" in solution.violations[0]


def test_a_fleet_is_drawn_in_its_types_colours(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    routes, _ = read_solution(fixtures / "fleet-sd7.sol")
    figure = Solution.judged(instance, routes, "file", 0.0).plot()
    axis = figure.axes[0]
    labels = [line.get_label() for line in axis.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["vehicle type 0 (capacity 10)", "vehicle type 1 (capacity 15)"]
    assert "2 vehicle types" in axis.get_title()
    colours = [tuple(np.round(line.get_color(), 3)) for line in axis.get_lines()]
    assert colours[0] == colours[1] != colours[2]  # two vans, one truck
