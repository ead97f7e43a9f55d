"""Decoding options and how they choose actions from log-probabilities."""

import pytest
import torch

from nco.models.decoding import Decoding


@pytest.mark.parametrize("options, message", [
    (dict(strategy="beam"), "unknown decoding strategy 'beam': use one of greedy, sampling"),
    (dict(multi_start=False, num_samples=3), "greedy decoding without multi-start gives one rollout"),
    (dict(max_rollouts=0), "max_rollouts=0"),
    (dict(max_starts=0), "max_starts=0"),
])
def test_bad_decoding_options_are_errors(options, message):
    with pytest.raises(ValueError, match=message):
        Decoding(**options)


def test_top_k_keeps_only_the_k_best():
    log_probs = torch.log_softmax(torch.tensor([[[0.0, 1.0, 2.0, 3.0]]]), -1)
    top_2 = Decoding(strategy="sampling", top_k=2)
    picks = {int(top_2.select(log_probs, torch.Generator().manual_seed(i))) for i in range(50)}
    assert picks <= {2, 3}


def test_sampling_follows_the_probabilities_and_never_picks_a_masked_action():
    logits = torch.tensor([-torch.inf, 0.0, 1.0, -torch.inf, 2.0, -torch.inf])
    log_probs = torch.log_softmax(logits, -1).expand(40000, 1, 6)
    picks = Decoding(strategy="sampling").select(log_probs, torch.Generator().manual_seed(0))
    share = torch.bincount(picks.flatten(), minlength=6) / picks.numel()
    assert share[[0, 3, 5]].sum() == 0
    torch.testing.assert_close(share, log_probs[0, 0].exp(), atol=0.01, rtol=0)


def test_rollouts_per_image_are_the_starts_or_the_samples():
    assert Decoding().rollouts_per_image(50) == 50
    assert Decoding(max_starts=8).rollouts_per_image(50) == 8
    assert Decoding(max_starts=80).rollouts_per_image(50) == 50
    assert Decoding(strategy="sampling", multi_start=False, num_samples=16).rollouts_per_image(50) == 16


def test_top_p_keeps_the_smallest_set_that_reaches_it_and_greedy_takes_the_most_likely():
    log_probs = torch.log(torch.tensor([[[0.05, 0.15, 0.3, 0.5]]]))
    top = Decoding(strategy="sampling", top_p=0.7)  # 0.5 alone falls short: 0.5 + 0.3 is the set
    picks = {int(top.select(log_probs, torch.Generator().manual_seed(i))) for i in range(100)}
    assert picks == {2, 3}
    assert int(Decoding().select(log_probs)) == 3


def test_filling_routes_closes_a_route_only_once_no_customer_fits():
    # two depot slots, three customers; rollouts: on a route with a customer left, on a route with
    # none left, at a depot
    mask = torch.tensor([[[True, True, False, True, False],
                          [True, False, False, False, False],
                          [False, True, True, False, True]]])
    current = torch.tensor([[3, 4, 0]])
    filled = Decoding(fill_routes=True).restrict(mask, current, num_depot_slots=2)
    assert filled.tolist() == [[[False, False, False, True, False],
                                [True, False, False, False, False],
                                [False, True, True, False, True]]]
    assert Decoding().restrict(mask, current, num_depot_slots=2) is mask
