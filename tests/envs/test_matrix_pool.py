import numpy as np
import pytest
import torch

from nco.envs.check import check_solution
from nco.envs.env import actions_to_routes
from nco.envs.generator import generate
from nco.envs.matrix_pool import MatrixPool
from nco.envs.units import model_units
from tests.conftest import asymmetric_pool
from nco.evaluate import nearest_neighbour_rollout
from nco.io import InstanceFileError, read_matrix_pool, write_instance


def test_sampling_is_reproducible_and_slices_the_real_matrix():
    pool = asymmetric_pool()
    first = pool.sample(8, 12, torch.Generator().manual_seed(3))
    second = pool.sample(8, 12, torch.Generator().manual_seed(3))
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    locs, travel, sources, locations = first
    assert locs.shape == (8, 12, 2) and travel.shape == (8, 12, 12)
    assert float(locs.min()) >= 0 and float(locs.max()) <= 1 + 1e-6
    for b in range(8):
        chosen = locations[b].numpy()
        assert len(set(chosen.tolist())) == 12  # distinct locations
        coords, matrix = pool.coords[int(sources[b])], pool.matrices[int(sources[b])]
        sliced = matrix[np.ix_(chosen, chosen)]
        unit, factor = model_units(coords[chosen], sliced)
        np.testing.assert_allclose(locs[b].numpy(), unit, atol=1e-6)
        np.testing.assert_allclose(travel[b].numpy() * factor, sliced, rtol=1e-5)
    assert (travel != travel.transpose(1, 2)).float().mean() > 0.5  # the asymmetry is kept


def test_clustered_draws_are_the_nearest_locations_to_a_centre():
    pool = asymmetric_pool(num_sources=1, size=60)
    pool.clustered_share = 1.0
    _, _, _, locations = pool.sample(4, 10, torch.Generator().manual_seed(0))
    matrix = pool.matrices[0]
    for chosen in locations.numpy():
        # some chosen location (the centre) has the other nine among its ten nearest by travel
        assert any(set(np.argsort(matrix[c], kind="stable")[:10]) == set(chosen) for c in chosen)


def test_split_is_by_source_disjoint_and_seeded():
    pool = asymmetric_pool(num_sources=8)
    train, test = pool.split(0.25)
    assert len(test.names) == 2 and len(train.names) == 6
    assert not set(train.names) & set(test.names)
    assert pool.split(0.25)[1].names == test.names  # the same split every time
    with pytest.raises(ValueError, match="cannot be split"):
        MatrixPool(["one"], [np.zeros((3, 2))], [np.zeros((3, 3))]).split()


@pytest.mark.parametrize("variants", ["all48", "MDOVRPMBLTW", "VRPBLTW"])
def test_every_attribute_is_feasible_on_real_matrices(variants):
    problem = generate(24, 15, variants, seed=5, pool=asymmetric_pool())
    assert problem.explicit_matrix
    actions = nearest_neighbour_rollout(problem)[:, 0]  # reset raises if a customer is unservable
    for b in range(problem.batch_size):
        instance = problem.instance(b)
        routes = actions_to_routes(actions[b], problem, b)
        assert check_solution(instance, routes).feasible
    # spare depot slots of single-depot instances repeat depot 0 in the matrix
    single = problem.num_depots == 1
    if problem.num_depot_slots > 1 and single.any():
        b = int(single.nonzero()[0])
        assert torch.equal(problem.distance[b, 1], problem.distance[b, 0])
        assert torch.equal(problem.distance[b, :, 2], problem.distance[b, :, 0])


def test_too_many_locations_and_bad_folders(tmp_path):
    with pytest.raises(ValueError, match="smallest pool instance has 30"):
        asymmetric_pool().sample(1, 31, torch.Generator())
    with pytest.raises(InstanceFileError, match="no .vrp/.txt instance files"):
        read_matrix_pool(tmp_path)
    euclidean = generate(1, 5, "CVRP", seed=0).instance(0, "euclidean")
    write_instance(tmp_path / "euclidean.vrp", euclidean)
    with pytest.raises(InstanceFileError, match="euclidean.vrp: no explicit matrix"):
        read_matrix_pool(tmp_path)


def test_the_ortec_file_makes_a_pool(fixtures, tmp_path):
    (tmp_path / "ortec.txt").write_text((fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt").read_text())
    pool = read_matrix_pool(tmp_path)
    assert pool.names == ["ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12"] and pool.smallest == 207
    problem = generate(4, 50, "all16", seed=0, pool=pool)
    assert problem.distance.shape == (4, 51, 51)
