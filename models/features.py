"""The model's input features, each owned by the attribute that gives it meaning.

A model declares the attributes it reads (``Policy(attributes=...)``) and its projections take
only the columns of those attributes (plus the ones every variant has). Extending a model to a new
attribute (:mod:`nco.models.adapters`) appends that attribute's columns with zero weights.

Every feature holds its neutral value 0 when its attribute is off: an unlimited route length or
an open deadline is fed as 0, as are the flags.

Times are fed in travel units (``relative_time=False``, the first checkpoints) or relative to
the instance's horizon, the time its depot closes (``relative_time=True``): windows, service
times and the clock divided by the horizon, and the depot's ``depot_late`` column then holds the
inverse horizon (how much of the day one unit of travel takes). A file whose horizon is ten times
the trained one then looks like a trained instance with short travel, not like nothing seen.
"""

from __future__ import annotations

import torch

from nco.envs.env import State
from nco.envs.problem import Problem
from nco.envs.variants import BACKHAUL_MIXED, BACKHAUL_NONE, BACKHAUL_STRICT, Variant

ATTRIBUTES = ("open_route", "backhaul", "mixed_backhaul", "distance_limit", "time_windows", "multi_depot", "fleet")
"""Every attribute a model can read, in the canonical order of its feature columns."""

ALL16_ATTRIBUTES = ("open_route", "backhaul", "distance_limit", "time_windows")
"""The attributes of the 16 single-depot variants without mixed backhauls."""

# (feature, owning attribute or None for features every variant has), in column order
DEPOT_FEATURES = (
    ("x", None), ("y", None), ("depot_early", "time_windows"), ("depot_late", "time_windows"),
    ("open_route", "open_route"), ("distance_limit", "distance_limit"), ("strict_backhaul", "backhaul"),
    ("mixed_backhaul", "mixed_backhaul"), ("multi_depot", "multi_depot"),
    # the vehicle type of a start slot (:mod:`nco.envs.slot_fleet`)
    ("vehicle_capacity", "fleet"), ("fixed_cost", "fleet"), ("unit_cost", "fleet"), ("scarcity", "fleet"),
    ("max_duration", "fleet"),
)
CUSTOMER_FEATURES = (
    ("x", None), ("y", None), ("linehaul", None), ("backhaul", "backhaul"),
    ("early", "time_windows"), ("late", "time_windows"), ("service_time", "time_windows"),
)
CONTEXT_FEATURES = (
    ("room_for_linehaul", None), ("room_for_backhaul", "backhaul"), ("time", "time_windows"),
    ("length_left", "distance_limit"), ("route_has_backhaul", "backhaul"),
    ("mixed_backhaul", "mixed_backhaul"), ("multi_depot", "multi_depot"), ("fleet_pressure", "fleet"),
)


def check_attributes(attributes) -> tuple[str, ...]:
    """``attributes`` in canonical order.

    Raises
    ------
    ValueError
        For an unknown attribute, or mixed backhauls without backhauls.
    """
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown model attribute(s) {unknown}: use some of {', '.join(ATTRIBUTES)}")
    if "mixed_backhaul" in attributes and "backhaul" not in attributes:
        raise ValueError("the attribute mixed_backhaul reads the backhaul demands: declare backhaul too")
    return tuple(a for a in ATTRIBUTES if a in attributes)


def attributes_of(variant: Variant) -> set[str]:
    """The attributes a variant switches on."""
    flags = {
        "open_route": variant.open_route,
        "backhaul": variant.backhaul != BACKHAUL_NONE,
        "mixed_backhaul": variant.backhaul == BACKHAUL_MIXED,
        "distance_limit": variant.distance_limit,
        "time_windows": variant.time_windows,
        "multi_depot": variant.multi_depot,
        "fleet": False,  # vehicle types are not a variant's: a batch has them or not
    }
    return {attribute for attribute, on in flags.items() if on}


def feature_columns(table, attributes) -> list[int]:
    """Positions in ``table`` of the features that a model with ``attributes`` reads."""
    return [i for i, (_, owner) in enumerate(table) if owner is None or owner in attributes]


def finite_or_zero(x: torch.Tensor) -> torch.Tensor:
    """The neutral value of an unlimited deadline or length is fed as 0."""
    return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


def _instance_flags(problem: Problem, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {
        "open_route": problem.open_route.to(dtype),
        "strict_backhaul": (problem.backhaul == BACKHAUL_STRICT).to(dtype),
        "mixed_backhaul": (problem.backhaul == BACKHAUL_MIXED).to(dtype),
        "multi_depot": (problem.num_depots > 1).to(dtype),
    }


def horizon(problem: Problem) -> torch.Tensor:
    """(B,) the time the last depot closes; 1 for an instance without a deadline."""
    late = problem.time_windows[:, : problem.num_depot_slots, 1]
    late = torch.where(problem.depot_valid & torch.isfinite(late), late, 0.0).amax(1)
    return torch.where(late > 0, late, 1.0)


def node_features(
    problem: Problem, locs: torch.Tensor | None = None, relative_time: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every depot feature (B, K, 14) and customer feature (B, n, 7) of ``DEPOT_FEATURES`` and
    ``CUSTOMER_FEATURES``; ``locs`` overrides the coordinates (augmented copies)."""
    slots = problem.num_depot_slots
    locs = problem.locs if locs is None else locs
    capacity = problem.capacity[:, None]
    early, late = problem.time_windows[..., 0], finite_or_zero(problem.time_windows[..., 1])
    service = problem.service_time
    scale = horizon(problem)[:, None] if relative_time else torch.ones_like(capacity)
    if relative_time:
        early, late, service = early / scale, late / scale, service / scale
        has_deadline = torch.isfinite(problem.time_windows[:, :slots, 1])
        late = torch.cat([torch.where(has_deadline, 1 / scale, 0.0), late[:, slots:]], dim=1)
    customer = torch.stack(
        [
            locs[:, slots:, 0],
            locs[:, slots:, 1],
            problem.demand_linehaul[:, slots:] / capacity,
            problem.demand_backhaul[:, slots:] / capacity,
            early[:, slots:],
            late[:, slots:],
            service[:, slots:],
        ],
        dim=-1,
    )
    flags = _instance_flags(problem, locs.dtype)
    instance = torch.stack(
        [flags["open_route"], finite_or_zero(problem.distance_limit), flags["strict_backhaul"],
         flags["mixed_backhaul"], flags["multi_depot"]],
        dim=-1,
    )
    depot = torch.cat(
        [locs[:, :slots], early[:, :slots, None], late[:, :slots, None], instance[:, None, :].expand(-1, slots, -1),
         vehicle_features(problem, scale)],
        dim=-1,
    )
    return depot, customer


def vehicle_features(problem: Problem, time_scale: torch.Tensor) -> torch.Tensor:
    """(B, K, 5) the ``fleet`` features of each start slot's vehicle type, all 0 for the one
    unlimited vehicle of an instance without types: capacity short of the largest, fixed cost and
    cost per distance relative to the dearest cost per distance (fixed costs are in model units of
    distance), scarcity ``1 / (1 + vehicles)`` (0 when unlimited) and duration limit over
    ``time_scale`` (B, 1)."""
    fleet = problem.vehicles
    if fleet is None:
        return problem.locs.new_zeros(problem.batch_size, problem.num_depot_slots, 5)
    dearest = torch.where(problem.depot_valid, fleet.unit_cost, 0.0).amax(1, keepdim=True).clamp(min=1e-9)
    return torch.stack([
        1 - fleet.capacity / problem.capacity[:, None],
        fleet.fixed_cost / dearest,
        fleet.unit_cost / dearest - 1,
        1 / (1 + fleet.available),
        finite_or_zero(fleet.max_duration) / time_scale,
    ], dim=-1)


def instance_context(problem: Problem, relative_time: bool = False) -> torch.Tensor:
    """(B, 5 + K) the per-instance terms of :func:`context_features`, computed once per decoding:
    capacity, time scale (the horizon with ``relative_time``, else 1), route-length limit, the
    mixed-backhaul and multi-depot flags, and the capacity of each start slot's vehicle."""
    flags = _instance_flags(problem, problem.locs.dtype)
    scale = horizon(problem) if relative_time else torch.ones_like(problem.capacity)
    slot_capacity = (problem.capacity[:, None].expand(-1, problem.num_depot_slots) if problem.vehicles is None
                     else problem.vehicles.capacity)
    return torch.cat([torch.stack([problem.capacity, scale, problem.distance_limit, flags["mixed_backhaul"],
                                   flags["multi_depot"]], dim=-1), slot_capacity], dim=-1)


def context_features(state: State, instance: torch.Tensor, problem: Problem) -> torch.Tensor:
    """Every feature (B, S, 8) of ``CONTEXT_FEATURES``: room left on the route for a linehaul and
    for a backhaul customer (the mixed-backhaul load rule), clock, length left, whether the route
    has served a backhaul, the instance's mixed-backhaul and multi-depot flags, and the fleet's
    pressure (:func:`fleet_pressure`); ``instance`` (B, 5 + K): :func:`instance_context` of the
    ``problem``. Rooms are what the route's vehicle holds beyond its load, relative to the largest
    vehicle."""
    capacity, scale, limit = instance[:, 0:1], instance[:, 1:2], instance[:, 2:3]
    room = instance[:, 5:].gather(1, state.route_depot) - state.route_linehaul
    peak = torch.maximum(state.route_max_net_pickup, state.route_net_pickup)
    per_rollout = torch.stack(
        [
            (room - state.route_max_net_pickup) / capacity,
            (room - peak) / capacity,
            state.time / scale,
            finite_or_zero(limit - state.route_length),
            state.route_has_backhaul.to(state.time.dtype),
        ],
        dim=-1,
    )
    return torch.cat([per_rollout, instance[:, None, 3:5].expand(*per_rollout.shape[:2], 2),
                      fleet_pressure(problem, state)[..., None]], dim=-1)


def fleet_pressure(problem: Problem, state: State) -> torch.Tensor:
    """(B, S) the demand still to serve over what the vehicles not yet used can carry (0 where a
    type is unlimited, and without vehicle types): near 1, routes must be filled."""
    if problem.vehicles is None:
        return torch.zeros_like(state.time)
    fleet = problem.vehicles
    left = (fleet.available[:, None, :] - state.vehicles_used).clamp(min=0)
    room = (left * fleet.capacity[:, None, :]).sum(-1)  # inf with an unlimited type
    demand = torch.maximum(problem.demand_linehaul, problem.demand_backhaul)[:, None, :]
    to_serve = (demand * ~state.visited).sum(-1)
    return torch.where(torch.isfinite(room), to_serve / room.clamp(min=1e-9), 0.0)
