"""The shipped checkpoints decode exactly as recorded before the decoding loop was refactored
(tests/models/data: six all48 instances, n = 12; the same actions, so costs to the bit, and
log-likelihoods within 1e-4: the last bits of the network's float sums differ between CPUs and
thread counts).
The recorded file is rewritten only by a change that means to change what the models compute."""

import json
from pathlib import Path

import pytest
import torch

from nco.envs.problem import Problem
from nco.models.decoding import Decoding
from nco.checkpoints import load_policy
from nco.solvers.neural.decode import solve_instance

DATA = Path(__file__).parent / "data"
RECORDED = json.loads((DATA / "recorded-rollouts.json").read_text())
SETTINGS = {
    "greedy": Decoding(),
    "greedy_aug": Decoding(augment=True),
    "sampling": Decoding(strategy="sampling", num_samples=4, multi_start=False, temperature=1.5, top_k=5),
    "sampling_ms_top_p": Decoding(strategy="sampling", top_p=0.8),
}


@pytest.mark.parametrize("name", ["all16-n20", "all48-n20"])
def test_shipped_checkpoints_decode_as_recorded(name):
    torch.set_num_threads(1)  # as recorded
    policy, _ = load_policy(Path("tests/data/checkpoints") / f"{name}.pt")
    problem = Problem.load(DATA / "recorded-problem.npz")
    for setting, decoding in SETTINGS.items():
        with torch.inference_mode():
            rollouts = policy(problem, decoding, generator=torch.Generator().manual_seed(7))
        recorded = RECORDED[f"{name}/{setting}"]
        assert [float(x).hex() for x in rollouts.cost.flatten()] == recorded["cost"], setting
        expected = torch.tensor([float.fromhex(x) for x in recorded["log_likelihood"]])
        torch.testing.assert_close(rollouts.log_likelihood.flatten(), expected, rtol=0, atol=1e-4, msg=setting)
    for index in range(3):
        for max_rollouts in (2048, 12):  # all eight images at once, or a few at a time
            routes = solve_instance(policy, problem.instance(index), augment=True, samples=1,
                                    max_rollouts=max_rollouts, generator=torch.Generator().manual_seed(3))
            assert routes == RECORDED[f"{name}/solve/{index}/{max_rollouts}"]
