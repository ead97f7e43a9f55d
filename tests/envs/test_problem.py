import numpy as np
import pytest
import torch

from nco.envs.generator import generate
from nco.envs.problem import Problem


def mixed_depots() -> list:
    """Three instances of 6 customers, one of them with one depot, two with several."""
    return [generate(1, 6, [variant], seed=seed).instance(0).replace(name=f"i{seed}")
            for seed, variant in enumerate(["VRPTW", "MDOVRPB", "MDVRPMBL"])]


def test_instances_of_several_depot_counts_share_padded_depot_slots():
    instances = mixed_depots()
    problem = Problem.from_instances(instances)
    slots = max(i.num_depots for i in instances)
    assert problem.num_depot_slots == slots and problem.num_locations == slots + 6
    assert problem.depot_valid.tolist() == [[d < i.num_depots for d in range(slots)] for i in instances]
    # a padding slot is a copy of depot 0
    first = instances[0]
    assert torch.equal(problem.locs[0, 1], problem.locs[0, 0])
    assert np.allclose(problem.locs[0, slots:].numpy(), first.coords[first.num_depots:], atol=1e-6)


def test_a_batch_gives_back_its_instances():
    instances = mixed_depots()
    again = Problem.from_instances(instances, dtype=torch.float64).instances()
    for before, after in zip(instances, again):
        assert after.num_depots == before.num_depots and after.variant == before.variant
        for name in ("coords", "demand_linehaul", "demand_backhaul", "time_windows", "service_time"):
            assert np.allclose(getattr(after, name), getattr(before, name)), name
        assert after.capacity == pytest.approx(before.capacity)
        assert after.distance_limit == pytest.approx(before.distance_limit)


def test_sizes_must_agree_and_slots_must_hold_every_depot():
    small, large = generate(1, 5, ["CVRP"], seed=1).instance(0), generate(1, 6, ["CVRP"], seed=1).instance(0)
    with pytest.raises(ValueError, match="different numbers of customers \\[5, 6\\]: batch only instances of one size"):
        Problem.from_instances([small, large])
    with pytest.raises(ValueError, match="num_depot_slots=1 is below an instance's number of depots"):
        Problem.from_instances(mixed_depots(), num_depot_slots=1)
    with pytest.raises(ValueError, match="no instances given"):
        Problem.from_instances([])


def test_a_sub_batch_and_a_saved_batch_are_the_same_data(tmp_path):
    problem = Problem.from_instances(mixed_depots())
    part = problem[torch.tensor([False, True, True])]
    assert part.batch_size == 2 and torch.equal(part.locs, problem.locs[1:])
    problem.save(tmp_path / "batch.npz")
    loaded = Problem.load(tmp_path / "batch.npz")
    assert loaded.num_depot_slots == problem.num_depot_slots
    for name in ("locs", "demand_linehaul", "time_windows", "num_depots", "backhaul"):
        assert torch.equal(getattr(loaded, name), getattr(problem, name)), name
    assert torch.allclose(loaded.distance, problem.distance, atol=1e-6)  # Euclidean: computed again
    assert loaded.variants() == problem.variants()


def fleet_batch() -> list:
    """The instances of :func:`mixed_depots` with random vehicle types (start slots per depot and type)."""
    from tests.conftest import with_random_fleet

    rng = np.random.default_rng(4)
    return [with_random_fleet(instance, rng) for instance in mixed_depots()]


def test_vehicle_types_become_start_slots_and_come_back(tmp_path):
    instances = fleet_batch()
    problem = Problem.from_instances(instances, dtype=torch.float64)
    slots = [len(i.vehicle_types.start_depots(i.num_depots)) for i in instances]
    assert problem.num_depot_slots == max(slots)
    assert problem.depot_valid.sum(1).tolist() == slots
    for b, instance in enumerate(instances):
        fleet = problem.vehicles
        for slot, (kind, depot) in enumerate(instance.vehicle_types.start_depots(instance.num_depots)):
            assert (fleet.vehicle_type[b, slot], fleet.depot[b, slot]) == (kind, depot)
            assert torch.equal(problem.locs[b, slot], torch.as_tensor(instance.coords[depot]))  # a copy of its depot
            assert fleet.capacity[b, slot] == instance.vehicle_types.capacity[kind]
    problem.save(tmp_path / "fleet.npz")
    for batch in (problem, Problem.load(tmp_path / "fleet.npz")):
        for before, after in zip(instances, batch.instances()):
            assert np.allclose(after.coords, before.coords) and after.num_depots == before.num_depots
            old, new = before.vehicle_types, after.vehicle_types
            for name in ("capacity", "num_available", "fixed_cost", "unit_distance_cost", "max_duration"):
                assert np.allclose(getattr(new, name), getattr(old, name)), name
            assert np.array_equal(new.allows(after.num_locations)[:, after.num_depots:],
                                  old.allows(before.num_locations)[:, before.num_depots:])
            assert np.array_equal(after.vehicles, before.vehicles)
