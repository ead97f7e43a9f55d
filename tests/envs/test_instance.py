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
