import torch

from nco.envs.generator import generate
from nco.envs.problem import Problem
from nco.models.encoder import Encoder, node_is_real


def padded_batch() -> Problem:
    """A one-depot and a three-depot instance of 6 customers: the first has two padding slots."""
    instances = [generate(1, 6, ["VRPTW"], seed=1).instance(0), generate(1, 6, ["MDVRPTW"], seed=2).instance(0)]
    assert [i.num_depots for i in instances] == [1, 3]
    return Problem.from_instances(instances)


def test_padding_depot_slots_are_not_real_nodes():
    assert node_is_real(padded_batch()).tolist() == [[True, False, False] + [True] * 6, [True] * 9]


def test_a_padding_slot_changes_no_real_nodes_embedding():
    torch.manual_seed(0)
    encoder, problem = Encoder(dim=32, num_heads=4, num_layers=2, hidden=64), padded_batch()
    moved = problem.locs.clone()
    moved[0, 1:3] += 5.0  # the first instance's padding slots only
    embeddings, again = encoder(problem), encoder(problem, locs=moved)
    assert embeddings.shape == (2, 9, 32)
    real = node_is_real(problem)[0]
    assert torch.allclose(embeddings[0, real], again[0, real], atol=1e-5)
    assert torch.equal(embeddings[1], again[1])
    # a real node does change the others: the test can see a leak
    moved[0, 3] += 5.0
    assert not torch.allclose(encoder(problem, locs=moved)[0, 0], embeddings[0, 0], atol=1e-3)
