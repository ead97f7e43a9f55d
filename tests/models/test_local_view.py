import pytest
import torch

from nco.envs.generator import generate
from nco.models.adapters import MODES, extend, prepare_finetuning
from nco.models.decoding import Decoding
from nco.models.features import ALL16_ATTRIBUTES
from nco.models.local_view import LocalView
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


def test_a_fresh_local_view_scores_zero():
    distance = torch.rand(2, 3, 12)
    assert not LocalView(4)(distance, torch.ones(2, 3, 12, dtype=torch.bool), 1).any()


def test_only_the_nearest_feasible_nodes_get_their_own_score():
    view = trained_view(3)
    distance = torch.tensor([[[0.0, 5.0, 1.0, 2.0, 3.0, 4.0, 0.5]]])
    mask = torch.tensor([[[True, True, True, True, True, True, False]]])  # node 6 is nearest but infeasible
    scores = view(distance, mask, 1)[0, 0]
    outside = view.outside.item()
    assert scores[1] == outside and scores[5] == outside  # feasible, beyond the 3 nearest (0, 2, 3)
    assert all(scores[i] != outside for i in (0, 2, 3))
    depot, customer = scores[0], scores[2]  # the depot at distance 0, a customer at 1 / 2 of the scale
    assert depot != customer


def test_what_the_local_view_sees_does_not_depend_on_the_scale_or_the_size():
    view = trained_view(4)
    distance = torch.rand(2, 5, 30)
    mask = torch.rand(2, 5, 30) < 0.7
    scores = view(distance, mask, 2)
    torch.testing.assert_close(view(1000.0 * distance, mask, 2), scores)
    # far infeasible nodes added around it change nothing on the first 30 nodes
    wider = torch.cat([distance, 10 + torch.rand(2, 5, 500)], dim=-1)
    wider_mask = torch.cat([mask, torch.zeros(2, 5, 500, dtype=torch.bool)], dim=-1)
    torch.testing.assert_close(view(wider, wider_mask, 2)[..., :30], scores)


def test_fewer_feasible_nodes_than_the_view_is_wide():
    view = trained_view(16)
    distance = torch.rand(1, 2, 10)
    mask = torch.zeros(1, 2, 10, dtype=torch.bool)
    mask[0, 0, 3] = mask[0, 0, 7] = True  # two feasible nodes; the second rollout has none
    scores = view(distance, mask, 1)
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
