import pytest
import torch

from nco.checkpoints import load_policy
from nco.envs.env import actions_to_routes
from nco.envs.generator import generate
from nco.envs.route import Route
from nco.envs.targets import RouteTargets
from nco.models.encoder import Encoder
from nco.models.layers import merge_heads, split_heads
from nco.models.decoding import Decoding
from nco.models.policy import Policy, Rollouts, dihedral_augment
from nco.evaluate import judge


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    return Policy(dim=32, num_heads=4, num_layers=2, hidden=64).eval()


@pytest.mark.parametrize(
    "options",
    [
        dict(strategy="greedy"),
        dict(strategy="greedy", augment=True),
        dict(strategy="greedy", multi_start=False),
        dict(strategy="sampling", multi_start=False, num_samples=5, temperature=2.0),
        dict(strategy="sampling", top_k=3),
        dict(strategy="sampling", top_p=0.5),
    ],
    ids=str,
)
def test_every_strategy_decodes_feasible_solutions_of_all48(policy, options):
    problem = generate(24, 9, "all48", seed=1)
    with torch.inference_mode():
        rollouts = policy(problem, Decoding(**options), generator=torch.Generator().manual_seed(0))
    expected = 9 if options.get("multi_start", True) else options.get("num_samples", 1)
    expected *= 8 if options.get("augment") else 1
    assert rollouts.actions.shape[:2] == (24, expected)
    assert torch.isfinite(rollouts.log_likelihood).all()
    for start in range(rollouts.actions.shape[1]):
        costs, feasible = judge(problem, rollouts.actions[:, start])
        assert feasible.all()
        torch.testing.assert_close(torch.tensor(costs, dtype=torch.float32), rollouts.cost[:, start], rtol=1e-5, atol=1e-5)


def test_multi_start_starts_at_every_customer(policy):
    problem = generate(3, 6, "CVRP", seed=0)
    with torch.inference_mode():
        actions = policy(problem).actions
    assert actions[:, :, 0].tolist() == [[1, 2, 3, 4, 5, 6]] * 3


def test_capped_multi_start_spreads_its_starts_and_keeps_their_rollouts(policy):
    problem = generate(3, 9, "all48", seed=1)
    with torch.inference_mode():
        every, capped = policy(problem), policy(problem, Decoding(max_starts=3, augment=True))
    slots = problem.num_depot_slots
    assert capped.actions.shape[1] == 3 * 8
    assert capped.actions[:, :3, 0].tolist() == [[slots, slots + 4, slots + 8]] * 3
    torch.testing.assert_close(capped.cost[:, :3], every.cost[:, [0, 4, 8]])  # the same rollouts, fewer of them
    assert judge(problem, capped.best()[1])[1].all()


def test_greedy_is_deterministic_and_best_picks_the_minimum(policy):
    problem = generate(4, 8, "all16", seed=2)
    with torch.inference_mode():
        first, second = policy(problem), policy(problem)
    torch.testing.assert_close(first.cost, second.cost)
    best_cost, best_actions = first.best()
    torch.testing.assert_close(best_cost, first.cost.min(1).values)


def test_images_decoded_a_few_at_a_time_equal_all_at_once(policy):
    problem = generate(5, 10, "all48", seed=6)
    with torch.inference_mode():
        together = policy(problem, Decoding(augment=True))
        for max_rollouts in (10, 35):  # one image per pass, or three
            parts = policy(problem, Decoding(augment=True, max_rollouts=max_rollouts))
            torch.testing.assert_close(parts.cost, together.cost, rtol=1e-5, atol=1e-5)
            assert torch.equal(parts.best()[1][:, :5], together.best()[1][:, :5])


class FixedPace:
    """A pace that grants ``images`` images per pass and, from step ``at``, ``keep`` starts."""

    def __init__(self, images: int, keep: int | None, at: int = 2):
        self.granted, self.keep, self.at, self.calls = images, keep, at, []

    def images(self, decoded: int, wanted: int) -> int:
        self.calls.append((decoded, wanted))
        return min(wanted, self.granted) if decoded < 8 else 0

    def begin_images(self) -> None:
        pass

    def starts_to_keep(self, steps: int, served: int, num_customers: int, starts: int) -> int | None:
        return self.keep if steps == self.at else None


def test_the_policy_decodes_what_its_pace_grants_and_keeps_no_time_itself(policy):
    problem = generate(2, 10, "all48", seed=8)
    with torch.inference_mode():
        every = policy(problem, Decoding(augment=True))
        pace = FixedPace(images=3, keep=None)
        granted = policy(problem, Decoding(augment=True), pace=pace)
        trimmed = policy(problem, Decoding(augment=True), pace=FixedPace(images=8, keep=2))
        given_up = policy(problem, Decoding(augment=True), pace=FixedPace(images=8, keep=0))
    assert pace.calls == [(0, 8), (3, 5), (6, 2)]  # passes of 3, 3 and 2 images
    torch.testing.assert_close(granted.cost, every.cost, rtol=1e-5, atol=1e-5)
    # two evenly spread starts (the first and the last customer) of each of the 8 images
    kept = torch.tensor([image * 10 + start for image in range(8) for start in (0, 9)])
    torch.testing.assert_close(trimmed.cost, every.cost[:, kept], rtol=1e-5, atol=1e-5)
    assert given_up.cost.shape == (2, 0)


def test_progress_rises_over_the_passes_and_never_passes_one(policy, monkeypatch):
    monkeypatch.setattr("nco.models.policy.PROGRESS_EVERY", 1)
    problem = generate(3, 12, "all48", seed=7)
    shares = []
    with torch.inference_mode():
        policy(problem, Decoding(augment=True, max_rollouts=24), progress=shares.append)  # two images per pass
    assert shares == sorted(shares) and 0 <= shares[0] and shares[-1] <= 1
    assert any(0.25 <= share < 0.5 for share in shares) and shares[-1] > 0.75  # the second and the last pass


def test_concatenated_rollouts_pad_with_their_last_action():
    short = Rollouts(torch.tensor([[[0, 3, 0]]]), torch.zeros(1, 1), torch.ones(1, 1))
    long = Rollouts(torch.tensor([[[0, 1, 0, 2, 0]]]), torch.zeros(1, 1), torch.full((1, 1), 2.0))
    both = Rollouts.concatenate([short, long])
    assert both.actions.tolist() == [[[0, 3, 0, 0, 0], [0, 1, 0, 2, 0]]]
    assert both.best()[0].item() == 1.0


def test_augmentation_images_are_the_dihedral_group():
    locs = torch.rand(2, 5, 2)
    images = dihedral_augment(locs)
    assert images.shape == (2, 8, 5, 2)
    torch.testing.assert_close(images[:, 0], locs)
    distances = torch.cdist(images.flatten(0, 1), images.flatten(0, 1)).view(2, 8, 5, 5)
    torch.testing.assert_close(distances, distances[:, :1].expand_as(distances))


def test_padding_depots_do_not_change_the_encoding():
    encoder = Encoder(dim=32, num_heads=4, num_layers=2, hidden=64).eval()
    single = generate(2, 6, "CVRP", seed=0)
    from nco.envs.problem import Problem

    padded = Problem.from_instances(single.instances(), num_depot_slots=3)
    with torch.inference_mode():
        plain, wide = encoder(single), encoder(padded)
    torch.testing.assert_close(plain[:, 0], wide[:, 0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(plain[:, 1:], wide[:, 3:], rtol=1e-5, atol=1e-5)


def test_finished_instances_leave_the_batch_without_changing_any_rollout(policy):
    # mixed variants need different numbers of routes, so the instances finish at different steps
    problem = generate(6, 12, "all16", seed=4)
    with torch.inference_mode():
        together = policy(problem, Decoding(augment=True))
        for b in range(problem.batch_size):
            alone = policy(problem[b : b + 1], Decoding(augment=True))
            steps = alone.actions.shape[-1]
            torch.testing.assert_close(together.actions[b : b + 1, :, :steps], alone.actions)
            torch.testing.assert_close(together.log_likelihood[b : b + 1], alone.log_likelihood, rtol=1e-4, atol=1e-5)
            # after its own last step an instance's rollouts stay at their depots
            assert (together.actions[b, :, steps:] == alone.actions[0, :, -1:]).all()
    assert len({int((a[:, 1:] != a[:, :-1]).any(0).nonzero().max()) for a in together.actions}) > 1


@pytest.mark.parametrize("local_view", [0, 4], ids=["without local view", "with local view"])
@pytest.mark.parametrize("distributed", [False, True], ids=["reentrant", "non-reentrant (DDP)"])
def test_training_gradients_equal_those_of_a_decoder_that_keeps_its_activations(monkeypatch, distributed,
                                                                                local_view):
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: distributed)
    torch.manual_seed(0)
    policy = Policy(dim=32, num_heads=4, num_layers=2, hidden=64, local_view=local_view)
    if local_view:
        with torch.no_grad():  # a fresh view scores zero: give it weights whose gradients show
            for parameter in policy.decoder.local_view.parameters():
                parameter.normal_()
    problem = generate(8, 10, "all48", seed=3)

    def gradients():
        policy.zero_grad()
        rollouts = policy(problem, Decoding(strategy="sampling"), generator=torch.Generator().manual_seed(1))
        (rollouts.cost.detach() * rollouts.log_likelihood).mean().backward()
        return [p.grad.clone() for p in policy.parameters()]

    recomputed = gradients()
    monkeypatch.setattr(Policy, "_decode_recomputed", lambda self, cache, inputs: self.decoder(cache, *inputs))
    kept = gradients()
    for a, b in zip(recomputed, kept):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert all(a.abs().sum() > 0 for a in recomputed)


def test_a_frozen_model_decodes_with_gradients_enabled():
    policy = Policy(dim=32, num_heads=4, num_layers=2, hidden=64).requires_grad_(False)
    rollouts = policy(generate(2, 8, "all16", seed=1))
    assert rollouts.cost.shape == (2, 8)


def test_glimpse_equals_fused_attention():
    torch.manual_seed(0)
    decoder = Policy(dim=32, num_heads=4, num_layers=1, hidden=64).decoder
    embeddings = torch.randn(3, 7, 32)
    cache = decoder.precompute(embeddings, torch.ones(3, 7, dtype=torch.bool))
    query, mask = torch.randn(3, 5, 32), torch.rand(3, 5, 7) > 0.4
    mask[..., 0] = True
    keys, values, _ = decoder.keys_values(embeddings).chunk(3, dim=-1)
    expected = torch.nn.functional.scaled_dot_product_attention(*(split_heads(x, 4) for x in (query, keys, values)), attn_mask=mask[:, None])
    blocked = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
    torch.testing.assert_close(decoder.glimpse(cache, query, blocked), merge_heads(expected))


def test_teacher_forcing_gives_a_rollout_the_likelihood_its_decoding_gave_it(checkpoint):
    """Teacher-forced along the routes of the policy's own greedy rollouts (in their order), the
    policy gives them exactly the log-likelihood it gave them while decoding: the imitation loss
    trains the function that decodes."""
    policy, _ = load_policy(checkpoint)
    problem = generate(24, 12, "all48", seed=4, distribution="broad")
    with torch.no_grad():
        decoded = policy(problem, Decoding(multi_start=False, augment=False))
        routes = []
        for b in range(problem.batch_size):
            depots = int(problem.num_depots[b])
            parsed = [Route.from_list(route, depots)
                      for route in actions_to_routes(decoded.actions[b, 0], problem, b)]
            routes.append([[route.depot, *route.visits] for route in parsed])
        forced = policy.teacher_forced(problem, RouteTargets.from_routes(problem, routes, "fixed"))
    assert forced.on_label.all()
    assert torch.allclose(forced.log_likelihood, decoded.log_likelihood[:, 0], atol=1e-5)
    assert (decoded.log_likelihood[:, 0] < 0).all()  # the rollouts made real decisions
