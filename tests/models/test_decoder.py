import math

import pytest
import torch
import torch.nn.functional as F

from nco.models.decoder import Decoder, Refinement


def reference_log_probs(decoder: Decoder, embeddings, current, route_depot, features, mask):
    """The decoder written the long way: the query from the graph mean and the two nodes'
    embeddings, multi-head attention over the feasible nodes, the glimpse's output projection,
    the refinement's feed-forward layer where the decoder has one, a single-head pointer with tanh
    clipping (no precomputed or folded tensors)."""
    batch, starts = current.shape
    dim, heads = embeddings.shape[-1], decoder.num_heads
    rows = torch.arange(batch)[:, None]
    query = (decoder.graph_projection(embeddings.mean(1, keepdim=True))
             + decoder.node_projection(torch.cat([embeddings[rows, current], embeddings[rows, route_depot]], -1))
             + decoder.context_projection(features[..., decoder.context_columns]))
    keys, values, pointer_keys = decoder.keys_values(embeddings).chunk(3, -1)

    def heads_of(x):  # (B, L, D) -> (B, H, L, D / H)
        return x.view(batch, -1, heads, dim // heads).transpose(1, 2)

    blocked = torch.where(mask, 0.0, float("-inf"))
    attention = heads_of(query) @ heads_of(keys).transpose(-1, -2) / math.sqrt(dim // heads) + blocked[:, None]
    glimpse = (attention.softmax(-1) @ heads_of(values)).transpose(1, 2).reshape(batch, starts, dim)
    glimpse = decoder.glimpse_out(glimpse)
    if decoder.refinement is not None:
        glimpse = glimpse + decoder.refinement.layers(glimpse + query)
    scores = glimpse @ pointer_keys.transpose(1, 2) / math.sqrt(dim)
    return F.log_softmax(decoder.tanh_clip * torch.tanh(scores) + blocked, -1)


def case(seed: int = 0, batch: int = 2, starts: int = 3, nodes: int = 6, dim: int = 16, refinement: int = 0):
    torch.manual_seed(seed)
    decoder = Decoder(dim=dim, num_heads=4, refinement=refinement)
    embeddings = torch.randn(batch, nodes, dim)
    current = torch.randint(0, nodes, (batch, starts))
    route_depot = torch.zeros(batch, starts, dtype=torch.long)
    features = torch.randn(batch, starts, 8)
    mask = torch.rand(batch, starts, nodes) < 0.6
    mask[..., 0] = True  # every rollout has a feasible action
    return decoder, embeddings, current, route_depot, features, mask


@pytest.mark.parametrize("refinement", [0, 8], ids=["plain", "refined"])
def test_the_precomputed_decoder_is_the_long_way_written_short(refinement):
    decoder, embeddings, current, route_depot, features, mask = case(refinement=refinement)
    if refinement:  # a trained refinement: its output layer is no longer zero
        torch.nn.init.normal_(decoder.refinement.layers[-1].weight)
    cache = decoder.precompute(embeddings, torch.ones(embeddings.shape[:2], dtype=torch.bool))
    fast = decoder(cache, current, route_depot, features, mask)
    slow = reference_log_probs(decoder, embeddings, current, route_depot, features, mask)
    assert torch.equal(torch.isinf(fast), ~mask)  # infeasible actions have probability 0
    assert torch.allclose(fast[mask], slow[mask], atol=1e-5)
    assert torch.allclose(fast.exp().sum(-1), torch.ones(current.shape), atol=1e-5)


def test_padding_nodes_do_not_count_in_the_graph_mean():
    decoder, embeddings, *_ = case(seed=1)
    is_real = torch.ones(embeddings.shape[:2], dtype=torch.bool)
    is_real[:, 1] = False
    changed = embeddings.clone()
    changed[:, 1] += 100.0
    graph = decoder.precompute(embeddings, is_real).graph
    assert torch.allclose(decoder.precompute(changed, is_real).graph, graph, atol=1e-4)


def test_a_cache_keeps_the_instances_asked_for():
    decoder, embeddings, *_ = case(seed=2, batch=3)
    cache = decoder.precompute(embeddings, torch.ones(embeddings.shape[:2], dtype=torch.bool))
    kept = cache.keep(torch.tensor([True, False, True]))
    assert torch.equal(kept.glimpse_keys, cache.glimpse_keys[[0, 2]])
    assert torch.equal(kept.pointer_keys, cache.pointer_keys[[0, 2]])


def test_a_fresh_refinement_changes_nothing_and_learns():
    plain, embeddings, current, route_depot, features, mask = case(seed=3)
    refined = Decoder(dim=16, num_heads=4, refinement=8)
    refined.load_state_dict(plain.state_dict(), strict=False)
    is_real = torch.ones(embeddings.shape[:2], dtype=torch.bool)
    before = plain(plain.precompute(embeddings, is_real), current, route_depot, features, mask)
    after = refined(refined.precompute(embeddings, is_real), current, route_depot, features, mask)
    torch.testing.assert_close(after[mask], before[mask], rtol=0, atol=1e-5)
    after[mask].sum().backward()
    assert refined.refinement.layers[-1].weight.grad.abs().sum() > 0


def test_a_refinement_without_hidden_units_is_refused():
    with pytest.raises(ValueError, match="refinement of 0 hidden units: give at least 1"):
        Refinement(16, 0)
