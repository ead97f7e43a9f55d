"""Extending a trained policy to attributes it has never seen (efficient adapter layers).

:func:`extend` keeps every trained weight and appends zero-initialised input columns for the new
attributes' features to the projections that read them (depot and customer embeddings, decoder
context); it can also make a coordinates-only model matrix-aware, adding message-passing layers
over the travel matrices whose outputs start at zero and a zero travel bias in the decoder, and
it can add the decoder's local view (:mod:`nco.models.local_view`), whose scores start at zero, and
the decoder's refinement (:class:`nco.models.decoder.Refinement`), whose output starts at zero.
Either way the extended model starts exactly where the old one was. :func:`prepare_finetuning` then
chooses what trains:

- ``full``: every weight;
- ``adapter``: only the new columns and new layers (every old weight frozen);
- ``lora``: those and a rank-``r`` update ``B A`` (``B`` zero-initialised) of every other linear
  weight, old weights frozen.

The frozen parts are ``torch.nn.utils.parametrize`` parametrizations of the old weights;
:func:`merge` folds them back into a plain :class:`Policy` (what the checkpoints hold).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from nco.models.features import CONTEXT_FEATURES, CUSTOMER_FEATURES, DEPOT_FEATURES, check_attributes, feature_columns
from nco.models.policy import Policy

MODES = ("full", "adapter", "lora")

# the weights that read the features, with the feature table of their input columns
EXTENDED_WEIGHTS = {
    "encoder.depot_embedding": DEPOT_FEATURES,
    "encoder.customer_embedding": CUSTOMER_FEATURES,
    "decoder.context_projection": CONTEXT_FEATURES,
}


class AdapterColumns(nn.Module):
    """Parametrization ``weight -> weight + new columns``: the old columns stay as they are and
    only the zero-initialised ``columns`` (at positions ``index``) train."""

    def __init__(self, out_features: int, index: list[int]):
        super().__init__()
        self.register_buffer("index", torch.tensor(index, dtype=torch.long))
        self.columns = nn.Parameter(torch.zeros(out_features, len(index)))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.index_add(1, self.index, self.columns)


class LowRankUpdate(nn.Module):
    """Parametrization ``weight -> weight + up @ down`` of rank ``rank`` (LoRA); ``up`` starts at
    zero so the update starts at zero."""

    def __init__(self, out_features: int, in_features: int, rank: int):
        super().__init__()
        self.down = nn.Parameter(torch.randn(rank, in_features) / math.sqrt(in_features))
        self.up = nn.Parameter(torch.zeros(out_features, rank))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.up @ self.down


def new_columns(module_name: str, old_attributes, new_attributes) -> list[int]:
    """Input columns of ``module_name`` in a model with ``new_attributes`` that a model with
    ``old_attributes`` does not have."""
    table = EXTENDED_WEIGHTS[module_name]
    old = {table[i][0] for i in feature_columns(table, old_attributes)}
    return [position for position, i in enumerate(feature_columns(table, new_attributes)) if table[i][0] not in old]


def extend(policy: Policy, attributes=(), neighbours: int | None = None, relative_time: bool | None = None,
           local_view: int | None = None, refinement: int | None = None) -> Policy:
    """A copy of ``policy`` that also reads ``attributes`` and, with ``neighbours``, the travel
    matrices (``neighbours`` nearest successors and predecessors per node), and with
    ``local_view``, a local view of that many nearest feasible nodes in the decoder, and with
    ``refinement``, a feed-forward layer of that many hidden units after the decoder's glimpse. The new input columns
    and the new layers' outputs are zero, so it computes exactly what ``policy`` computes, unless
    ``relative_time`` switches how times are fed (then the weights are a starting point to
    fine-tune from).

    Raises
    ------
    ValueError
        For an unknown attribute, ``neighbours=0`` (``local_view=0``) on a model that has them, or
        another ``refinement`` than the model's.
    """
    wanted = check_attributes(set(policy.attributes) | set(attributes))
    old_neighbours = policy.config["neighbours"]
    neighbours = old_neighbours if neighbours is None else neighbours
    if old_neighbours > 0 and neighbours < 1:
        raise ValueError(f"the model reads {old_neighbours} matrix neighbours: give neighbours >= 1 to keep them")
    old_view = policy.config["local_view"]
    local_view = old_view if local_view is None else local_view
    if old_view > 0 and local_view < 1:
        raise ValueError(f"the model has a local view of {old_view} nodes: give local_view >= 1 to keep it")
    old_refinement = policy.config["refinement"]
    refinement = old_refinement if refinement is None else refinement
    if old_refinement > 0 and refinement != old_refinement:
        raise ValueError(f"the model has a refinement of {old_refinement} hidden units: "
                         f"give refinement={old_refinement} to keep it")
    relative_time = policy.relative_time if relative_time is None else relative_time
    config = {**policy.config, "attributes": wanted, "neighbours": neighbours, "relative_time": relative_time,
              "local_view": local_view, "refinement": refinement}
    extended = Policy(**config).to(next(policy.parameters()).device)
    state = policy.state_dict()
    for name in EXTENDED_WEIGHTS:
        weight = state[f"{name}.weight"]
        added = new_columns(name, policy.attributes, wanted)
        kept = [i for i in range(weight.shape[1] + len(added)) if i not in added]
        widened = weight.new_zeros(weight.shape[0], weight.shape[1] + len(added))
        widened[:, kept] = weight
        state[f"{name}.weight"] = widened
    missing, _ = extended.load_state_dict(state, strict=False)
    assert all(name.startswith(new_layers(extended, policy.config)) for name in missing), missing
    if old_neighbours == 0:
        for layer in extended.encoder.graph_layers:
            layer.silence()
    return extended


def new_layers(policy: Policy, base: dict) -> tuple[str, ...]:
    """Name prefixes of the layers (and their parameters) that ``policy`` has and a model with the
    config ``base`` has not."""
    new = []
    if base["neighbours"] == 0 and policy.config["neighbours"] > 0:
        new += ["encoder.graph_layers.", "decoder.travel_weights"]
    if base.get("local_view", 0) == 0 and policy.config["local_view"] > 0:
        new.append("decoder.local_view.")
    if base.get("refinement", 0) == 0 and policy.config["refinement"] > 0:
        new.append("decoder.refinement.")
    return tuple(new)


def prepare_finetuning(policy: Policy, base: dict, mode: str, rank: int = 8) -> Policy:
    """Makes only what ``mode`` trains trainable in ``policy``, extended from a model with the
    config ``base``; see the module docstring. Returns ``policy``.

    Raises
    ------
    ValueError
        For an unknown mode or a rank below 1.
    """
    if mode not in MODES:
        raise ValueError(f"unknown fine-tuning mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "full":
        return policy
    if mode == "lora" and rank < 1:
        raise ValueError(f"LoRA rank {rank} is below 1: use a rank such as 8")
    new = new_layers(policy, base)
    for name, parameter in policy.named_parameters():  # new layers train whole, old weights are frozen
        parameter.requires_grad_(name.startswith(new))
    for name, module in policy.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if name in EXTENDED_WEIGHTS:
            added = new_columns(name, base["attributes"], policy.attributes)
            if added:
                parametrize.register_parametrization(module, "weight", AdapterColumns(module.out_features, added))
        elif mode == "lora" and not name.startswith(new):
            update = LowRankUpdate(module.out_features, module.in_features, rank)
            parametrize.register_parametrization(module, "weight", update)
    return policy


def merge(policy: Policy) -> Policy:
    """Folds every adapter and low-rank update into plain weights (in place); returns ``policy``
    with every weight trainable again."""
    for module in policy.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return policy.requires_grad_(True)
