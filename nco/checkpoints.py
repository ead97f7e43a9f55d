"""Loading policies from checkpoints, and exporting the small file that the CLI ships with.

Two formats load: a Lightning ``.ckpt`` written by ``nco train`` and the slim ``.pt`` written by
:func:`export_policy` (model config, half-precision weights, the training config and metrics).
Checkpoints are untrusted files: they load with ``weights_only=True`` (no pickled code runs).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch

from nco.envs.instance import Instance
from nco.models.adapters import merge, prepare_finetuning
from nco.models.features import ATTRIBUTES
from nco.models.policy import Policy

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CHECKPOINT = PACKAGE_DIR / "checkpoints" / "all48-broad.pt"
"""The shipped model: all 48 variants, the broad distribution (docs/results/training-log.md)."""
MATRIX_CHECKPOINT = PACKAGE_DIR / "checkpoints" / "all48-road.pt"
"""The shipped model for instances with an explicit travel matrix: the default one extended with
matrix layers and fine-tuned on road-like matrices (docs/results/training-log.md)."""


def shipped_checkpoint(instance: Instance) -> Path:
    """The shipped model for ``instance``: :data:`MATRIX_CHECKPOINT` when it has an explicit
    travel matrix, else :data:`DEFAULT_CHECKPOINT`."""
    explicit = instance.distance_matrix is not None or instance.duration_matrix is not None
    return MATRIX_CHECKPOINT if explicit else DEFAULT_CHECKPOINT


def load_policy(path: str | Path | None = None, device: str | torch.device = "cpu") -> tuple[Policy, dict]:
    """The policy in ``path`` (the shipped checkpoint when ``None``) and its training config.

    Raises
    ------
    ValueError
        When the file is missing, unreadable, or its weights do not fit its model config.
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint: pass a .ckpt from `nco train` or a shipped .pt")
    content = read_checkpoint(path)
    try:
        config, state = _config_and_weights(content)
        adapters = any(".parametrizations." in key for key in state)
        with torch.device("meta"):  # the config's model without memory: a config is untrusted too
            skeleton = _policy(config, adapters)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as error:
        raise ValueError(f"{path}: not a policy checkpoint ({_one_line(f'{type(error).__name__}: {error}')}): "
                         "pass a .ckpt from `nco train` or a .pt from `nco export`") from None
    if mismatch := _first_mismatch(skeleton.state_dict(), state):  # before the model is built for real
        raise ValueError(
            f"{path}: the weights do not fit the model config {_one_line(str(config['model']), 200)} "
            f"({_one_line(mismatch)}): use the config the checkpoint was trained with"
        )
    policy = _policy(config, adapters)
    policy.load_state_dict({key: value.float() for key, value in state.items()})
    return merge(policy).eval().to(device), config


def read_checkpoint(path: Path):
    """The content of a checkpoint file, loaded with ``weights_only=True``: tensors and plain
    data only, a checkpoint never runs code.

    Raises
    ------
    ValueError
        For a file that is not a checkpoint, or one holding other Python objects.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "GLOBAL" not in str(error):  # not a refused Python object: plain garbage
            raise ValueError(f"{path}: not a readable checkpoint (UnpicklingError): pass a .ckpt from "
                             "`nco train` or a .pt from `nco export`") from None
        raise ValueError(
            f"{path}: holds Python objects other than tensors and plain data, which could run code: "
            "refusing to load it; pass a .ckpt from `nco train` or a .pt from `nco export`"
        ) from None
    except Exception as error:
        raise ValueError(
            f"{path}: not a readable checkpoint ({type(error).__name__}): pass a .ckpt from `nco train` "
            "or a .pt from `nco export`"
        ) from None


def _config_and_weights(content) -> tuple[dict, dict[str, torch.Tensor]]:
    """The training config and the policy's weights of a loaded checkpoint; any part missing or
    of the wrong type raises (a checkpoint is untrusted data)."""
    if isinstance(content, dict) and "hyper_parameters" in content:  # Lightning checkpoint
        config = content["hyper_parameters"]["config"]
        state = {k.removeprefix("policy."): v for k, v in content["state_dict"].items() if k.startswith("policy.")}
    elif isinstance(content, dict) and {"config", "state_dict"} <= content.keys():
        config, state = content["config"], content["state_dict"]
    else:
        raise ValueError("neither a Lightning checkpoint nor an exported model")
    if not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise TypeError("its state_dict holds values that are not tensors")
    return config, state


ATTRIBUTES_BEFORE_FLEETS = tuple(attribute for attribute in ATTRIBUTES if attribute != "fleet")
"""What a checkpoint whose model config leaves ``attributes`` out (or null) reads: every attribute
there was before vehicle types (``fleet``) came; since then training writes the list out."""


def _policy(config: dict, adapters: bool) -> Policy:
    """The untrained policy that ``config`` describes, with its fine-tuning ``adapters`` apart
    (weights saved during fine-tuning hold them so)."""
    model = config["model"]
    policy = Policy(**{**model, "attributes": model.get("attributes") or ATTRIBUTES_BEFORE_FLEETS})
    if adapters:
        finetune = config["finetune"]
        prepare_finetuning(policy, finetune["base_model"], finetune["mode"], finetune["rank"])
    return policy


def _first_mismatch(expected: dict[str, torch.Tensor], given: dict[str, torch.Tensor]) -> str | None:
    """The first difference between two state dicts' names and shapes, or ``None``."""
    for key in sorted(expected.keys() | given.keys()):
        if key not in given:
            return f"missing {key}"
        if key not in expected:
            return f"unexpected {key}"
        if tuple(expected[key].shape) != tuple(given[key].shape):
            return f"{key} is {tuple(given[key].shape)}, the config makes it {tuple(expected[key].shape)}"
    return None


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut after ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def export_policy(checkpoint: str | Path, out: str | Path, metrics: dict | None = None) -> Path:
    """Writes the slim checkpoint ``out`` (half-precision weights) from a Lightning checkpoint,
    with ``<out>.json`` beside it holding the training config and ``metrics``."""
    policy, config = load_policy(checkpoint)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() for k, v in policy.state_dict().items()}
    torch.save({"config": config, "state_dict": state}, out)
    out.with_suffix(".json").write_text(json.dumps({"config": config, "metrics": metrics or {}}, indent=2))
    return out
