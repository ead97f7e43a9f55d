import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance
from nco.envs.matrix_pool import MatrixPool

FIXTURES = Path(__file__).resolve().parents[1] / "nco" / "data"

# The property tests draw the same examples on every run, so that a run passes or fails on the
# code alone; HYPOTHESIS_PROFILE=explore draws new ones (a search for bugs, not a gate).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A small random-weight policy in the slim checkpoint format."""
    from nco.models.policy import Policy

    torch.manual_seed(0)
    model = dict(dim=32, num_heads=4, num_layers=1, hidden=64)
    path = tmp_path_factory.mktemp("checkpoint") / "tiny.pt"
    policy = Policy(**model)
    torch.save({"config": {"model": policy.config}, "state_dict": policy.state_dict()}, path)
    return path


def asymmetric_pool(num_sources: int = 4, size: int = 30, seed: int = 0) -> MatrixPool:
    """Road-like sources: Euclidean distance times a random factor per arc (asymmetric)."""
    rng = np.random.default_rng(seed)
    coords = [rng.uniform(0, 1000, (size, 2)) for _ in range(num_sources)]
    matrices = []
    for points in coords:
        euclidean = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
        matrices.append(np.round(euclidean * rng.uniform(1.0, 1.6, (size, size))))
    return MatrixPool([f"source-{i}" for i in range(num_sources)], coords, matrices)


def with_random_fleet(instance: Instance, rng: np.random.Generator) -> Instance:
    """``instance`` with 1-3 random vehicle types: capacities from its largest demand up, limited
    counts (each limited type at one depot) or unlimited, fixed and unit costs, duration limits
    around a single customer's round trip and allowed customers. The last type is the instance's
    own vehicle (unlimited, at any depot, every customer, no duration limit), so every customer
    stays servable."""
    k, n = instance.num_depots, instance.num_locations
    num_types = int(rng.integers(1, 4))
    largest_demand = max(instance.demand_linehaul.max(), instance.demand_backhaul.max())
    capacity = rng.uniform(largest_demand, instance.capacity, num_types)
    limited = rng.random(num_types) < 0.5
    round_trip = 2 * instance.distances[:k, k:].max() + instance.service_time.max()
    limit = rng.random(num_types) < 0.5
    capacity[-1], limited[-1], limit[-1] = instance.capacity, False, False
    types = VehicleTypes(
        capacity=capacity,
        num_available=np.where(limited, rng.integers(1, 4, num_types), np.inf),
        fixed_cost=rng.uniform(0, 2, num_types) * (rng.random() < 0.7),
        unit_distance_cost=rng.uniform(0.5, 2, num_types),
        max_duration=np.where(limit, rng.uniform(0.5, 3, num_types) * round_trip, np.inf),
        depot=np.where(limited, rng.integers(0, k, num_types), -1),
        allowed=np.vstack([rng.random((num_types - 1, n)) < 0.7, np.ones((1, n), bool)]),
    )
    return instance.replace(capacity=None, vehicle_types=types)
