"""Checkpoints: which shipped model a file gets, and files that are not a policy refused in one line."""

import pytest
import torch
from omegaconf import OmegaConf

import nco
from nco.checkpoints import load_policy
from nco.train import PolicyModule, compose_config


def test_a_file_with_a_matrix_gets_the_shipped_matrix_aware_model(monkeypatch):
    from nco.solvers.neural import solver
    from nco.checkpoints import DEFAULT_CHECKPOINT, MATRIX_CHECKPOINT, shipped_checkpoint

    matrix_file = nco.read(nco.DATA / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt")
    assert shipped_checkpoint(matrix_file) == MATRIX_CHECKPOINT
    assert shipped_checkpoint(nco.read(nco.DATA / "C101.txt")) == DEFAULT_CHECKPOINT
    load_model, loaded = solver.load_model, []
    monkeypatch.setattr(solver, "load_model", lambda checkpoint, device: loaded.append(checkpoint) or
                        load_model(checkpoint, device))
    assert nco.solve(matrix_file, augment=False).feasible
    assert loaded == [MATRIX_CHECKPOINT]
    assert load_model(MATRIX_CHECKPOINT, "cpu").config["neighbours"] > 0  # it reads the matrix


@pytest.mark.parametrize("content, message", [
    (b"not a checkpoint", "not a readable checkpoint"),
    ({"something": 1}, "not a policy checkpoint"),
    ({"config": {}, "state_dict": {}}, "not a policy checkpoint \\(KeyError: 'model'\\)"),
    ({"config": [1], "state_dict": {}}, "not a policy checkpoint \\(TypeError"),
    ({"hyper_parameters": {}, "state_dict": {}}, "not a policy checkpoint \\(KeyError: 'config'\\)"),
    ({"config": {"model": {"dim": 8, "bogus": 1}}, "state_dict": {}}, "unexpected keyword argument 'bogus'"),
    ({"config": {"model": {"dim": -3}}, "state_dict": {}}, "not a policy checkpoint \\(RuntimeError"),
    ({"config": {"model": {"dim": 8, "num_heads": 2, "num_layers": 1, "hidden": 8}}, "state_dict": {"a": 1}},
     "not a policy checkpoint \\(TypeError: its state_dict holds values that are not tensors"),
    ({"config": {"model": {"dim": 8, "num_heads": 2, "num_layers": 1, "hidden": 8}}, "state_dict": {}},
     "the weights do not fit the model config .* \\(missing decoder\\..*\\): use the config"),
    # a config of hundreds of GB beside a few weights: refused before any module is built
    ({"config": {"model": {"dim": 4096, "num_heads": 8, "num_layers": 64, "hidden": 65536}},
      "state_dict": {"decoder.project_context.weight": torch.zeros(2, 2)}}, "the weights do not fit the model config"),
])
def test_bad_checkpoints_give_one_line(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError, match=message) as error:
        load_policy(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_checkpoint_that_does_not_fit_its_config(tmp_path):
    config = OmegaConf.to_container(compose_config(["experiment=smoke"]), resolve=True)
    module = PolicyModule(config)
    wrong = {**config, "model": {**config["model"], "dim": 64}}
    torch.save({"config": wrong, "state_dict": module.policy.state_dict()}, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="weights do not fit the model config"):
        load_policy(tmp_path / "wrong.pt")


def test_a_checkpoint_that_leaves_its_attributes_out_reads_those_before_fleets(tmp_path):
    from nco.checkpoints import ATTRIBUTES_BEFORE_FLEETS
    from nco.models.policy import Policy

    model = dict(dim=32, num_heads=4, num_layers=1, hidden=64)
    path = tmp_path / "old.pt"
    torch.save({"config": {"model": {**model, "attributes": None}},
                "state_dict": Policy(**model, attributes=ATTRIBUTES_BEFORE_FLEETS).state_dict()}, path)
    policy, _ = load_policy(path)
    assert policy.attributes == ATTRIBUTES_BEFORE_FLEETS and "fleet" not in policy.attributes
