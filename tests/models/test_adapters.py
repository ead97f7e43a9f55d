import pytest
import torch

from nco.envs.generator import generate
from nco.models.adapters import EXTENDED_WEIGHTS, MODES, extend, merge, prepare_finetuning
from nco.models.decoding import Decoding
from nco.models.features import ALL16_ATTRIBUTES, check_attributes
from nco.models.policy import Policy

NEW = ["mixed_backhaul", "multi_depot"]


@pytest.fixture
def old_policy():
    torch.manual_seed(0)
    return Policy(dim=32, num_heads=4, num_layers=2, hidden=64, attributes=ALL16_ATTRIBUTES).eval()


def decode(policy, problem):
    with torch.inference_mode():
        greedy = policy(problem)
        sampled = policy(problem, Decoding(strategy="sampling"), generator=torch.Generator().manual_seed(3))
    return greedy, sampled


@pytest.mark.parametrize("mode", MODES)
def test_the_extended_model_computes_exactly_what_the_old_one_did(old_policy, mode):
    extended = prepare_finetuning(extend(old_policy, NEW), old_policy.config, mode).eval()
    assert extended.attributes == check_attributes([*ALL16_ATTRIBUTES, *NEW])
    for variants in ("all16", "all48"):  # the new columns are zero: even new variants decode alike
        problem = generate(16, 9, variants, seed=1)
        for before, after in zip(decode(old_policy, problem), decode(extended, problem)):
            torch.testing.assert_close(after.log_likelihood, before.log_likelihood, rtol=0, atol=1e-6)
            assert torch.equal(after.actions, before.actions)


def test_old_weights_are_copied_and_new_columns_start_at_zero(old_policy):
    extended = extend(old_policy, NEW)
    old = old_policy.encoder.depot_embedding.weight  # x, y, early, late, open, limit, strict
    new = extended.encoder.depot_embedding.weight  # ... strict, mixed, multi-depot
    assert new.shape[1] == old.shape[1] + 2
    torch.testing.assert_close(new[:, :7], old, rtol=0, atol=0)
    assert not new[:, 7:].any()
    context = extended.decoder.context_projection.weight
    torch.testing.assert_close(context[:, :5], old_policy.decoder.context_projection.weight, rtol=0, atol=0)
    assert not context[:, 5:].any()
    assert extended.encoder.customer_embedding.weight.shape == old_policy.encoder.customer_embedding.weight.shape


def test_a_new_feature_is_neutral_on_the_variants_without_its_attribute(old_policy):
    extended = extend(old_policy, NEW)
    with torch.no_grad():
        extended.encoder.depot_embedding.weight[:, 7:] = 1.0  # mixed-backhaul and multi-depot columns
        extended.decoder.context_projection.weight[:, 5:] = 1.0
    old_variants = generate(8, 9, "all16", seed=2)
    new_variants = generate(8, 9, "VRPMB,MDCVRP", seed=2)
    torch.testing.assert_close(
        decode(extended, old_variants)[0].log_likelihood, decode(old_policy, old_variants)[0].log_likelihood,
        rtol=0, atol=1e-6,
    )
    assert not torch.allclose(decode(extended, new_variants)[0].log_likelihood,
                              decode(old_policy, new_variants)[0].log_likelihood)


def train_one_step(policy, problem):
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-2)
    rollouts = policy(problem, Decoding(strategy="sampling"), generator=torch.Generator().manual_seed(0))
    advantage = rollouts.cost - rollouts.cost.mean(1, keepdim=True)
    (advantage * rollouts.log_likelihood).mean().backward()
    optimizer.step()
    return trainable


def test_adapter_mode_trains_only_the_new_columns(old_policy):
    policy = prepare_finetuning(extend(old_policy, NEW), old_policy.config, "adapter")
    trainable = train_one_step(policy, generate(8, 9, "all48", seed=4))
    assert sum(p.numel() for p in trainable) == 32 * (2 + 2)  # two depot and two context columns
    merged = merge(policy)
    for name, weight in old_policy.state_dict().items():
        if name == "encoder.depot_embedding.weight":
            torch.testing.assert_close(merged.state_dict()[name][:, :7], weight, rtol=0, atol=0)
            assert merged.state_dict()[name][:, 7:].any()
        elif name == "decoder.context_projection.weight":
            torch.testing.assert_close(merged.state_dict()[name][:, :5], weight, rtol=0, atol=0)
        else:
            torch.testing.assert_close(merged.state_dict()[name], weight, rtol=0, atol=0)
    # merged, it is a plain policy with the extended attributes
    Policy(**merged.config).load_state_dict(merged.state_dict())
    assert all(p.requires_grad for p in merged.parameters())


def test_lora_mode_trains_low_rank_updates_and_keeps_the_old_weights(old_policy):
    policy = prepare_finetuning(extend(old_policy, NEW), old_policy.config, "lora", rank=2)
    updated = [m for n, m in policy.named_modules() if isinstance(m, torch.nn.Linear) and n not in EXTENDED_WEIGHTS]
    originals = [m.parametrizations.weight.original for m in updated]
    before = [p.detach().clone() for p in originals]
    trainable = train_one_step(policy, generate(8, 9, "all48", seed=4))
    assert sum(p.numel() for p in trainable) == 32 * 4 + sum(2 * (m.in_features + m.out_features) for m in updated)
    assert not any(p.requires_grad for p in originals)
    assert all(torch.equal(p, b) for p, b in zip(originals, before))
    merge(policy)
    assert all(not torch.equal(m.weight, b) for m, b in zip(updated, before))


def test_bad_modes_and_attributes(old_policy):
    with pytest.raises(ValueError, match="unknown fine-tuning mode 'all': use one of full, adapter, lora"):
        prepare_finetuning(extend(old_policy, NEW), old_policy.config, "all")
    with pytest.raises(ValueError, match="LoRA rank 0 is below 1"):
        prepare_finetuning(extend(old_policy, NEW), old_policy.config, "lora", rank=0)
    with pytest.raises(ValueError, match="unknown model attribute"):
        extend(old_policy, ["capacity_2"])
    with pytest.raises(ValueError, match="mixed_backhaul reads the backhaul demands: declare backhaul too"):
        check_attributes(["mixed_backhaul"])


@pytest.mark.parametrize("mode", MODES)
def test_making_a_model_matrix_aware_starts_where_it_was(old_policy, mode):
    from tests.conftest import asymmetric_pool

    extended = prepare_finetuning(extend(old_policy, neighbours=6), old_policy.config, mode).eval()
    assert extended.config["neighbours"] == 6 and len(extended.encoder.graph_layers) == 2
    for problem in (generate(8, 9, "all16", seed=1), generate(8, 9, "all16", seed=1, pool=asymmetric_pool())):
        for before, after in zip(decode(old_policy, problem), decode(extended, problem)):
            torch.testing.assert_close(after.log_likelihood, before.log_likelihood, rtol=0, atol=1e-6)
    trainable = {name for name, p in extended.named_parameters() if p.requires_grad}
    matrix = {name for name in trainable if "graph_layers" in name or "travel_weights" in name}
    assert matrix == {name for name, _ in extended.named_parameters()
                      if "graph_layers" in name or "travel_weights" in name}
    if mode == "adapter":
        assert trainable == matrix  # no new attribute: only the new layers train


def test_a_matrix_aware_model_keeps_its_neighbours(old_policy):
    aware = extend(old_policy, neighbours=6)
    with pytest.raises(ValueError, match="reads 6 matrix neighbours: give neighbours >= 1"):
        extend(aware, neighbours=0)
    assert extend(aware, NEW).config["neighbours"] == 6


@pytest.mark.parametrize("mode", MODES)
def test_adding_a_refinement_starts_where_the_model_was_and_trains_it(old_policy, mode):
    extended = prepare_finetuning(extend(old_policy, refinement=16), old_policy.config, mode).eval()
    assert extended.config["refinement"] == 16
    problem = generate(8, 9, "all16", seed=1)
    for before, after in zip(decode(old_policy, problem), decode(extended, problem)):
        torch.testing.assert_close(after.log_likelihood, before.log_likelihood, rtol=0, atol=1e-5)
    trainable = {name for name, p in extended.named_parameters() if p.requires_grad}
    refinement = {name for name, _ in extended.named_parameters() if name.startswith("decoder.refinement.")}
    assert refinement and refinement <= trainable
    if mode == "adapter":
        assert trainable == refinement
    with pytest.raises(ValueError, match="refinement of 16 hidden units: give refinement=16 to keep it"):
        extend(extended, refinement=8)
