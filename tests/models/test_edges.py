from dataclasses import replace

import torch

from nco.envs.generator import generate
from nco.models.edges import neighbour_graph
from nco.models.policy import Policy
from tests.conftest import asymmetric_pool


def test_every_node_hears_from_its_nearest_successors_and_predecessors():
    problem = generate(3, 12, "all48", seed=1, pool=asymmetric_pool())
    size, k = problem.num_locations, 4
    edge_index, edge_attr = neighbour_graph(problem, k)
    assert edge_index.shape == (2, 3 * size * 2 * k) and edge_attr.shape == (3 * size * 2 * k, 6)
    source, target = edge_index
    assert not (source == target).any()
    b, i = 1, problem.num_depot_slots + 2  # a customer of the second instance
    node = b * size + i
    mine = target == node
    heard = source[mine] - b * size
    successors, predecessors = heard[:k], heard[k:]
    distance = problem.distance[b]
    real = torch.cat([problem.depot_valid[b], torch.ones(problem.num_customers, dtype=torch.bool)])
    row = distance[i].masked_fill(~real, torch.inf).clone()
    row[i] = torch.inf
    assert set(successors.tolist()) == set(row.topk(k, largest=False).indices.tolist())
    column = distance[:, i].masked_fill(~real, torch.inf).clone()
    column[i] = torch.inf
    assert set(predecessors.tolist()) == set(column.topk(k, largest=False).indices.tolist())
    # attributes: d(i, j), d(j, i), then travel times, then the kind of neighbour
    j = int(successors[0])
    attr = edge_attr[mine][0]
    assert attr[:2].tolist() == [distance[i, j].item(), distance[j, i].item()]
    assert attr[4:].tolist() == [1.0, 0.0] and edge_attr[mine][k, 4:].tolist() == [0.0, 1.0]
    # padding depot slots never send
    padding = ~problem.depot_valid
    for b_pad, slot in padding.nonzero().tolist():
        assert not (source == b_pad * size + slot).any()


def test_the_matrix_aware_encoder_reads_each_direction_of_an_arc():
    torch.manual_seed(0)
    policy = Policy(dim=32, num_heads=4, num_layers=2, hidden=64, neighbours=16).eval()
    problem = generate(2, 10, "CVRP", seed=1, pool=asymmetric_pool())  # k >= n: every arc is an edge
    before = policy.encoder(problem)
    distance = problem.distance.clone()
    distance[0, 3, 7] += 0.2  # d(3, 7) changes, d(7, 3) does not
    changed = policy.encoder(replace(problem, distance=distance, duration=problem.travel_time))
    assert not torch.allclose(before[0], changed[0], atol=1e-4)
    torch.testing.assert_close(before[1], changed[1])  # the other instance is untouched
    # the coordinates-only model cannot see it
    coordinates_only = Policy(dim=32, num_heads=4, num_layers=2, hidden=64).eval()
    torch.testing.assert_close(coordinates_only.encoder(problem),
                               coordinates_only.encoder(replace(problem, distance=distance)))


def test_the_matrix_aware_decoder_sees_the_travel_from_the_current_node():
    torch.manual_seed(0)
    policy = Policy(dim=32, num_heads=4, num_layers=1, hidden=64, neighbours=4).eval()
    with torch.no_grad():
        policy.decoder.travel_weights.copy_(torch.tensor([-5.0, 0.0]))
    problem = generate(4, 10, "CVRP", seed=2, pool=asymmetric_pool())
    transposed = problem.distance.transpose(1, 2).contiguous()
    with torch.inference_mode():
        first = policy(problem).log_likelihood
        second = policy(replace(problem, distance=transposed, duration=transposed)).log_likelihood
    assert not torch.allclose(first, second)
