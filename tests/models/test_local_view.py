import pytest
import torch

from nco.envs.generator import generate
from nco.models.adapters import MODES, extend, prepare_finetuning
from nco.models.decoding import Decoding
from nco.models.features import ALL16_ATTRIBUTES
from nco.models.local_view import LocalView, _piecewise, neighbour_order
from nco.models.policy import Policy


@pytest.fixture
def old_policy():
    torch.manual_seed(0)
    return Policy(dim=32, num_heads=4, num_layers=2, hidden=64, attributes=ALL16_ATTRIBUTES).eval()


def trained_view(size: int) -> LocalView:
    """A local view with non-zero weights everywhere (a fresh one scores zero)."""
    torch.manual_seed(1)
    view = LocalView(size)
    with torch.no_grad():
        for parameter in view.parameters():
            parameter.normal_()
    return view


def view_scores(view: LocalView, distance: torch.Tensor, mask: torch.Tensor, num_depot_slots: int) -> torch.Tensor:
    """The view's scores for the rows ``distance`` (B, S, N), as the decoder computes them."""
    return view(distance, neighbour_order(distance), mask, num_depot_slots, *view.tables())


def brute_force_scores(view: LocalView, distance: torch.Tensor, mask: torch.Tensor,
                       num_depot_slots: int) -> torch.Tensor:
    """The rule restated rollout by rollout: the scoring network on the ``size`` nearest feasible
    nodes (distances relative to the farthest of them), ``outside`` on every other node."""
    expected = torch.full_like(distance, float(view.outside))
    for rollout in range(distance.shape[0]):
        feasible = mask[rollout].nonzero()[:, 0]
        nearest = feasible[distance[rollout, feasible].argsort()[: view.size]]
        relative = distance[rollout, nearest] / distance[rollout, nearest].max()
        features = torch.stack([relative, (nearest < num_depot_slots).float()], dim=-1)
        expected[rollout, nearest] = view.score(features)[:, 0]
    return expected


def test_a_fresh_local_view_scores_zero():
    distance = torch.rand(2, 3, 12)
    assert not view_scores(LocalView(4), distance, torch.ones(2, 3, 12, dtype=torch.bool), 1).any()


@pytest.mark.parametrize("num_depot_slots", [1, 3])
def test_the_view_scores_the_nearest_feasible_nodes_with_its_network(num_depot_slots):
    view = trained_view(5)
    distance, mask = torch.rand(40, 1, 20), torch.rand(40, 1, 20) < 0.4
    mask[:, :, -1] = True  # at least one feasible node; some rollouts have fewer than five
    with torch.no_grad():
        scores = view_scores(view, distance, mask, num_depot_slots)[:, 0]
        expected = brute_force_scores(view, distance[:, 0], mask[:, 0], num_depot_slots)
    torch.testing.assert_close(scores[mask[:, 0]], expected[mask[:, 0]], rtol=0, atol=1e-5)


def test_the_piecewise_linear_network_is_the_network_with_its_gradients():
    view = trained_view(4)
    with torch.no_grad():
        view.score[0].weight[3] = 0.0  # a hidden unit that never switches: no kink
    relative = torch.linspace(0, 1, 2001)
    for is_depot in (0, 1):
        kinks, pieces = view.tables()
        features = torch.stack([relative, torch.full_like(relative, is_depot)], dim=-1)
        network = view.score(features)[:, 0]
        piecewise = _piecewise(relative, kinks[is_depot], pieces[is_depot])
        torch.testing.assert_close(piecewise, network, rtol=0, atol=1e-5)
        weights = torch.rand_like(relative)
        network_gradients = torch.autograd.grad((weights * network).sum(), list(view.score.parameters()))
        piecewise_gradients = torch.autograd.grad((weights * piecewise).sum(), list(view.score.parameters()),
                                                  allow_unused=True)
        for expected, got in zip(network_gradients, piecewise_gradients):
            torch.testing.assert_close(torch.zeros_like(expected) if got is None else got, expected, rtol=1e-4,
                                       atol=1e-4)


def test_only_the_nearest_feasible_nodes_get_their_own_score():
    view = trained_view(3)
    distance = torch.tensor([[[0.0, 5.0, 1.0, 2.0, 3.0, 4.0, 0.5]]])
    mask = torch.tensor([[[True, True, True, True, True, True, False]]])  # node 6 is nearest but infeasible
    scores = view_scores(view, distance, mask, 1)[0, 0]
    outside = view.outside.item()
    assert scores[1] == outside and scores[5] == outside  # feasible, beyond the 3 nearest (0, 2, 3)
    assert all(scores[i] != outside for i in (0, 2, 3))
    depot, customer = scores[0], scores[2]  # the depot at distance 0, a customer at 1 / 2 of the scale
    assert depot != customer


def test_what_the_local_view_sees_does_not_depend_on_the_scale_or_the_size():
    view = trained_view(4)
    distance = torch.rand(2, 5, 30)
    mask = torch.rand(2, 5, 30) < 0.7
    scores = view_scores(view, distance, mask, 2)
    torch.testing.assert_close(view_scores(view, 1000.0 * distance, mask, 2), scores)
    # far infeasible nodes added around it change nothing on the first 30 nodes
    wider = torch.cat([distance, 10 + torch.rand(2, 5, 500)], dim=-1)
    wider_mask = torch.cat([mask, torch.zeros(2, 5, 500, dtype=torch.bool)], dim=-1)
    torch.testing.assert_close(view_scores(view, wider, wider_mask, 2)[..., :30], scores)


def test_fewer_feasible_nodes_than_the_view_is_wide():
    view = trained_view(16)
    distance = torch.rand(1, 2, 10)
    mask = torch.zeros(1, 2, 10, dtype=torch.bool)
    mask[0, 0, 3] = mask[0, 0, 7] = True  # two feasible nodes; the second rollout has none
    scores = view_scores(view, distance, mask, 1)
    assert torch.isfinite(scores).all()
    assert scores[0, 0, 3] != view.outside and scores[0, 0, 7] != view.outside


def test_a_local_view_of_no_nodes_is_refused():
    with pytest.raises(ValueError, match="give a size of at least 1"):
        LocalView(0)


@pytest.mark.parametrize("mode", MODES)
def test_adding_a_local_view_starts_where_the_model_was_and_trains_it(old_policy, mode):
    from tests.conftest import asymmetric_pool

    extended = prepare_finetuning(extend(old_policy, local_view=4), old_policy.config, mode).eval()
    assert extended.config["local_view"] == 4
    for problem in (generate(8, 9, "all16", seed=1), generate(8, 9, "all16", seed=1, pool=asymmetric_pool())):
        with torch.inference_mode():
            for decoding in (Decoding(), Decoding(strategy="sampling")):
                before = old_policy(problem, decoding, generator=torch.Generator().manual_seed(3))
                after = extended(problem, decoding, generator=torch.Generator().manual_seed(3))
                torch.testing.assert_close(after.log_likelihood, before.log_likelihood, rtol=0, atol=1e-6)
    trainable = {name for name, p in extended.named_parameters() if p.requires_grad}
    view = {name for name, _ in extended.named_parameters() if name.startswith("decoder.local_view.")}
    assert view <= trainable
    if mode == "adapter":
        assert trainable == view  # nothing else is new: only the local view trains

    extended.train()
    rollouts = extended(generate(4, 9, "all16", seed=2), Decoding(strategy="sampling"),
                        generator=torch.Generator().manual_seed(4))
    (rollouts.log_likelihood * rollouts.cost).mean().backward()
    assert extended.decoder.local_view.outside.grad != 0
    assert extended.decoder.local_view.score[-1].weight.grad.abs().sum() > 0


def test_a_model_with_a_local_view_keeps_it(old_policy):
    viewing = extend(old_policy, local_view=4)
    with pytest.raises(ValueError, match="local view of 4 nodes: give local_view >= 1"):
        extend(viewing, local_view=0)
    assert extend(viewing, neighbours=6).config["local_view"] == 4
