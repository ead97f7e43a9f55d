import pytest
import torch

from nco.clock import Deadline, SteppingClock
from nco.envs.generator import generate
from nco.models.decoding import Decoding
from nco.models.policy import Policy
from nco.solvers.neural.pace import PACE_EVERY, DeadlinePace


@pytest.fixture
def policy():
    torch.manual_seed(0)
    return Policy(dim=32, num_heads=4, num_layers=2, hidden=64).eval()


def test_the_first_image_alone_then_as_many_as_fit_at_its_pace():
    clock = SteppingClock(step=1.0)
    pace = DeadlinePace(Deadline(at=10.0, clock=clock))
    assert pace.images(0, 8) == 1  # read at 1
    # two images took 1 -> 4 (1.5 each): 6 seconds left fit 4 more
    clock.time = 3.0
    assert pace.images(2, 8) == 4  # read at 4
    clock.time = 9.5
    assert pace.images(2, 8) == 0  # read at 10.5: past the deadline


def test_starts_are_checked_every_few_steps_and_cut_to_what_fits():
    clock = SteppingClock(step=1.0)
    pace = DeadlinePace(Deadline(at=100.0, clock=clock))
    pace.begin_images()  # read at 1
    assert all(pace.starts_to_keep(steps, 1, 50, 50) is None for steps in range(1, PACE_EVERY))
    # 0.25 s per step, 4 steps served 4 customers: 47 more steps take 12 s, 98 are left
    assert pace.starts_to_keep(PACE_EVERY, 4, 50, 50) == int(50 * 98 / (0.25 * 47))  # read at 2: all fit
    clock.time = 90.0  # 4 more steps took 89 s: 9 s left fit half a start
    assert pace.starts_to_keep(2 * PACE_EVERY, 8, 50, 50) == 1
    late = DeadlinePace(Deadline(at=0.0, clock=SteppingClock()), abandon_if_late=True)
    late.begin_images()
    assert late.starts_to_keep(PACE_EVERY, 4, 50, 50) == 0


def test_a_deadline_decodes_the_first_image_and_then_the_images_that_fit(policy):
    """Within a pass, rollouts whose pace misses the deadline are dropped (evenly spread starts kept)."""
    problem = generate(2, 10, "all48", seed=8)
    with torch.inference_mode():
        every = policy(problem, Decoding(augment=True))
        passed = policy(problem, Decoding(augment=True), pace=DeadlinePace(Deadline.after(0)))
        ample = policy(problem, Decoding(augment=True), pace=DeadlinePace(Deadline.after(600)))
    # past the deadline, the first image goes on with one rollout from its first pace check: the first start's
    assert passed.cost.shape == (2, 1) and torch.equal(passed.cost, every.cost[:, :1])
    assert torch.equal(passed.actions[:, 0], every.actions[:, 0, : passed.actions.shape[-1]])
    torch.testing.assert_close(ample.cost, every.cost, rtol=1e-5, atol=1e-5)


def test_a_pass_that_may_be_abandoned_gives_up_when_even_one_rollout_would_be_late(policy):
    problem = generate(2, 10, "all48", seed=8)
    with torch.inference_mode():
        late = policy(problem, Decoding(augment=True), pace=DeadlinePace(Deadline.after(0), abandon_if_late=True))
        ample = policy(problem, Decoding(augment=True), pace=DeadlinePace(Deadline.after(600), abandon_if_late=True))
    assert late.cost.shape == (2, 0) and late.actions.shape[:2] == (2, 0) and late.log_likelihood.shape == (2, 0)
    assert ample.cost.shape == (2, 8 * 10)
