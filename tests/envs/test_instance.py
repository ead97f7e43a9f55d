import numpy as np
import pytest
import torch

from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.problem import Problem

BASE = dict(coords=[[0, 0], [1, 0], [0, 1]], demand_linehaul=[0, 2, 3], capacity=5)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(demand_linehaul=[0, 2, 6]), r"demand_linehaul\[2\] = 6 exceeds the capacity 5: raise the capacity"),
        (dict(coords=[[0, 0], [np.nan, 0], [0, 1]]), "coords contains NaN or infinite values"),
        (dict(coords=[[0, 0], [1e300, 0], [0, 1]]), "coords span 1e\\+300: distances between them overflow"),
        (dict(coords=[[0, 0, 0], [1, 0, 0], [0, 1, 0]]), r"coords has shape \(3, 3\): expected \(num_locations, 2\)"),
        (dict(demand_linehaul=[0, 2]), r"demand_linehaul has shape \(2,\) but the instance has 3 locations"),
        (dict(demand_linehaul=[0, 2, 0], demand_backhaul=[0, 0, 1]), "demand_backhaul is set but the variant has no backhauls"),
        (dict(capacity=0), "capacity is 0.0: give a positive finite number"),
        (dict(time_windows=[[0, 10], [0, 10], [5, 1]]), r"time_windows\[2\] opens after it closes"),
        (dict(time_windows=[[0, 10], [0, 10], [0, 0.5]]), "customer 2 cannot be served by any route, even alone"),
        (dict(distance_limit=1.5), "customer 1 cannot be served .* distance limit"),
        (dict(distance_matrix=np.ones((2, 2))), r"distance_matrix has shape \(2, 2\)"),
        (dict(num_depots=3), "num_depots is 3 with 3 locations"),
    ],
)
def test_bad_instances_name_the_field_and_the_fix(changes, message):
    with pytest.raises(ValueError, match=message):
        Instance(**{**BASE, **changes})


def test_problem_rejects_mismatched_shapes_and_nan():
    problem = generate(4, 5, "CVRP", seed=0)
    with pytest.raises(ValueError, match=r"demand_linehaul has shape \(4, 5\), expected \(4, 6\)"):
        Problem(**{**vars(problem), "demand_linehaul": problem.demand_linehaul[:, :5]})
    locs = problem.locs.clone()
    locs[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="locs contains NaN"):
        Problem(**{**vars(problem), "locs": locs})
    demand = problem.demand_linehaul.clone()
    demand[2, 3] = 1000
    with pytest.raises(ValueError, match="instance 2: the demand of location 3 exceeds the capacity"):
        Problem(**{**vars(problem), "demand_linehaul": demand})


def test_instance_problem_round_trip():
    problem = generate(12, 7, "all48", seed=4)
    again = Problem.from_instances(problem.instances(), num_depot_slots=problem.num_depot_slots)
    for name in ("locs", "demand_linehaul", "demand_backhaul", "capacity", "time_windows",
                 "service_time", "distance_limit", "open_route", "backhaul", "num_depots"):
        torch.testing.assert_close(getattr(again, name), getattr(problem, name))
    torch.testing.assert_close(again.distance, problem.distance, rtol=1e-6, atol=1e-6)
    assert [v.name for v in again.variants()] == [v.name for v in problem.variants()]


def test_batches_need_one_size():
    small, large = generate(1, 5, "CVRP", seed=0).instances(), generate(1, 6, "CVRP", seed=0).instances()
    with pytest.raises(ValueError, match=r"different numbers of customers \[5, 6\]"):
        Problem.from_instances(small + large)


def test_a_subset_keeps_the_depots_and_renumbers_the_chosen_customers():
    from nco.envs.check import check_solution

    rng = np.random.default_rng(0)
    coords = rng.uniform(0, 100, (8, 2))
    matrix = np.round(np.sqrt(((coords[:, None] - coords[None]) ** 2).sum(-1)) * rng.uniform(1, 1.5, (8, 8)))
    instance = Instance(coords=coords, demand_linehaul=[0, 0, 1, 2, 3, 4, 5, 6], capacity=10, num_depots=2,
                        time_windows=np.c_[np.zeros(8), np.full(8, 1000.0)], service_time=np.arange(8.0),
                        distance_matrix=matrix, duration_matrix=matrix + 1, rounding="round")
    sub = instance.subset(np.array([6, 3]))
    assert sub.num_depots == 2 and sub.num_customers == 2 and sub.rounding == "round"
    np.testing.assert_array_equal(sub.demand_linehaul, [0, 0, 5, 2])
    np.testing.assert_array_equal(sub.service_time, [0, 1, 6, 3])
    np.testing.assert_array_equal(sub.distance_matrix, matrix[np.ix_([0, 1, 6, 3], [0, 1, 6, 3])])
    np.testing.assert_array_equal(sub.duration_matrix, matrix[np.ix_([0, 1, 6, 3], [0, 1, 6, 3])] + 1)
    # the same routes cost the same in both numberings
    whole = check_solution(instance.subset(np.arange(2, 8)), [[1, 6, 3]]).cost
    assert check_solution(sub, [[1, 2, 3]]).cost == whole


def test_arcs_are_the_matrix_entries_without_building_the_matrix():
    from nco.envs.check import check_solution

    rng = np.random.default_rng(1)
    coords = rng.uniform(0, 1000, (40, 2)).round()
    instance = Instance(coords=coords, demand_linehaul=np.r_[0, np.ones(39)], capacity=10, rounding="round")
    routes = [list(range(1, 11)), list(range(11, 21)), list(range(21, 31)), list(range(31, 40))]
    result = check_solution(instance, routes)
    # validating and judging a Euclidean instance never built its (N, N) matrix
    assert "euclidean" not in instance._cache
    origins, targets = rng.integers(0, 40, (2, 5, 7))
    arcs = instance.arc_distances(origins, targets)
    np.testing.assert_array_equal(arcs, instance.distances[origins, targets])  # bit for bit
    expected = sum(np.round(instance.distances[[0, *r], [*r, 0]]).sum() for r in routes)
    assert result.feasible and result.cost == expected
    with_matrix = instance.replace(distance_matrix=instance.distances * 2, duration_matrix=instance.distances * 3)
    np.testing.assert_array_equal(with_matrix.arc_distances(origins, targets), 2 * arcs)
    np.testing.assert_array_equal(with_matrix.arc_durations(origins, targets), 3 * arcs)
