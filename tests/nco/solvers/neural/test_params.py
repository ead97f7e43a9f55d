import pytest
import torch

from nco.solvers.neural import NeuralParams
from nco.solvers.neural.params import NETWORK_SHARE, resolve_device


def test_defaults_decode_augmented_once_with_the_measured_share():
    params = NeuralParams()
    assert params.augment and params.samples == 0 and params.search is None
    assert params.network_share == NETWORK_SHARE and params.checkpoint is None


@pytest.mark.parametrize("options, message", [
    ({"search": "tabu"}, "unknown search 'tabu': use one of polish, sampling, reconstruct"),
    ({"samples": -1}, "samples=-1: give a whole number of sampling passes, 0 or more"),
    ({"samples": 1.5}, "samples=1.5: give a whole number"),
    ({"network_share": 1.0}, "network_share=1.0: give a share of the time limit between 0 and 1"),
    ({"network_share": 0}, "network_share=0: give a share"),
    ({"device": "tpu"}, "tpu"),
    ({"temperature": 2}, "unknown option 'temperature' of the neural solver: use some of checkpoint, augment"),
])
def test_bad_parameters_are_one_line_errors(options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        NeuralParams.from_options(**options)
    assert "\n" not in str(error.value)


def test_a_search_needs_a_time_limit_and_decoding_once_does_not():
    NeuralParams().check_time_limit(None)
    NeuralParams(search="sampling").check_time_limit(1.0)
    with pytest.raises(ValueError, match=r"the polish search runs until a time limit: give one \(--time-limit"):
        NeuralParams(search="polish").check_time_limit(None)


def test_a_checkpoint_path_is_kept_as_text_so_params_compare_and_hash():
    from pathlib import Path

    assert NeuralParams(checkpoint=Path("a.pt")) == NeuralParams(checkpoint="a.pt")
    assert len({NeuralParams(checkpoint=Path("a.pt")), NeuralParams(checkpoint="a.pt")}) == 1


def test_auto_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert str(resolve_device("auto")) == "cpu"
    with pytest.raises(ValueError):
        resolve_device("cuda")


def test_device_names_are_checked():
    from nco.solvers.neural import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu0'"):
        resolve_device("tpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU that torch can use: use cpu or auto"):
            resolve_device("cuda")
