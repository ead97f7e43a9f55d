"""Sampling mixed fleets onto a generated batch (``Distribution.fleet_share > 0``).

An instance drawn with a fleet gets 2-5 vehicle types in the ranges of Pessoa et al.'s
heterogeneous-fleet files: capacities from a fraction of the largest up to it, costs per unit of
distance and fixed costs that grow with the capacity (less than proportionally), limited counts
with some spare capacity (where capacity alone sets the number of routes) or unlimited ones,
vehicles restricted from a zone of customers (a disc, as site-dependent and profiled VRPs restrict
vehicles by area), and duration limits (for unlimited fleets). Every
customer stays servable alone: the largest type holds every demand and serves every customer
that no type holding it and free to start at every depot may serve, and a duration limit is
longer than every single-customer route. Each limited type belongs to one depot; the batch's
start slots are (depot, type) pairs (:mod:`nco.envs.slot_fleet`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from nco.envs.env import gather_rows
from nco.envs.problem import Problem
from nco.envs.slot_fleet import SlotFleet

if TYPE_CHECKING:
    from nco.envs.distribution import Distribution
    from nco.envs.generator import Sampler


def sample_fleets(problem: Problem, dist: Distribution, sample: Sampler) -> Problem:
    """``problem`` (generated, without vehicle types) with fleets on a ``dist.fleet_share`` of its
    instances; the others get their one unlimited vehicle as a type. Unchanged when no instance
    draws a fleet."""
    batch, depots, n = problem.batch_size, problem.num_depot_slots, problem.num_customers
    has_fleet = sample.uniform(batch) < dist.fleet_share
    if not has_fleet.any():
        return problem
    low, high = dist.vehicle_types
    num_types = torch.where(has_fleet, low + sample.index(torch.tensor(high - low + 1), batch), 1)
    types = int(num_types.max())
    real_type = torch.arange(types)[None, :] < num_types[:, None]  # (B, T)
    customers = problem.locs[:, depots:]

    # capacities: sorted fractions of the instance's capacity, the last real type the whole
    share = sample.between(dist.vehicle_share, batch, types, log=True).sort(-1).values
    share = torch.where(torch.arange(types)[None, :] >= num_types[:, None] - 1, 1.0, share)
    capacity = problem.capacity[:, None] * share
    unit_cost = share ** sample.between((0.0, 0.7), batch, 1)  # economies of scale
    fixed = sample.between(dist.fixed_cost, batch, 1, log=True) * (sample.uniform(batch, 1) < 0.7)
    fixed_cost = torch.where(has_fleet[:, None], fixed * share ** sample.between((0.5, 1.5), batch, 1), 0.0)

    # counts: limited fleets hold the demand with some spare, split among the types; only where
    # capacity alone sets the number of routes (no windows, length or duration limits)
    load = torch.maximum(problem.demand_linehaul, problem.demand_backhaul)[:, depots:]
    capacity_only = ~problem.time_windows_on & torch.isinf(problem.distance_limit)
    limited = has_fleet & capacity_only & (sample.uniform(batch) < dist.limited_share)
    split = sample.between((0.2, 1.0), batch, types) * real_type
    split = split / split.sum(1, keepdim=True)
    spare = sample.between(dist.fleet_slack, batch, 1)
    count = torch.ceil(split * load.sum(1, keepdim=True) * spare / capacity).clamp(min=1)
    largest = (num_types - 1)[:, None] == torch.arange(types)[None, :]  # (B, T)
    # a limited type stays at one depot; with several depots the largest type is unlimited, so
    # every customer keeps a depot from which it can be served alone
    limited = limited[:, None] & ~(largest & (problem.num_depots > 1)[:, None])
    available = torch.where(limited, count, math.inf)
    home = sample.index(problem.num_depots[:, None].expand(batch, types), batch, types)
    type_depot = torch.where(limited, home, -1)

    # zones a type may not enter (a disc around a customer), then whatever no fitting type that
    # may start at every depot may serve goes to the largest type
    centre = gather_rows(customers, sample.index(torch.tensor(n), batch, types))  # (B, T, 2)
    radius = sample.between((0.1, 0.4), batch, types, 1)
    restricted = (has_fleet & (sample.uniform(batch) < dist.restricted_share))[:, None, None]
    allowed = ~(restricted & (torch.cdist(centre, customers) < radius))  # (B, T, n)
    fits = load[:, None, :] <= capacity[..., None]
    anywhere = real_type & ((type_depot < 0) | (problem.num_depots == 1)[:, None])
    allowed |= largest[..., None] & ~(allowed & fits & anywhere[..., None]).any(1, keepdim=True)

    # one duration limit for every type, longer than any single-customer route
    round_trip = (problem.distance[:, :depots, depots:] + problem.distance[:, depots:, :depots].transpose(1, 2))
    round_trip = round_trip.masked_fill(~problem.depot_valid[..., None], math.inf).amin(1)
    alone = (round_trip + problem.service_time[:, depots:]).amax(1)
    limit_on = has_fleet & ~limited.any(1) & (sample.uniform(batch) < dist.duration_share)
    limit = torch.where(limit_on, alone * (1 + sample.between(dist.duration_slack, batch, log=True)), math.inf)
    per_type = dict(capacity=capacity, fixed_cost=fixed_cost, unit_cost=unit_cost,
                    max_duration=limit[:, None].expand(batch, types), available=available)
    return _with_slots(problem, num_types, type_depot, per_type, allowed)


def _with_slots(problem: Problem, num_types: torch.Tensor, type_depot: torch.Tensor,
                per_type: dict[str, torch.Tensor], allowed: torch.Tensor) -> Problem:
    """``problem`` with start slots ``depot * T + type`` for vehicle types given by their depot
    ``type_depot`` (B, T; -1 for any), the ``per_type`` (B, T) values of
    :class:`~nco.envs.slot_fleet.SlotFleet` and ``allowed`` (B, T, n) customers: a slot is real
    where its depot is, its type is and the type may start there."""
    batch, depots, n = problem.batch_size, problem.num_depot_slots, problem.num_customers
    count = type_depot.shape[1]
    slot_depot = torch.arange(depots).repeat_interleave(count).expand(batch, -1)  # (B, M)
    slot_type = torch.arange(count).repeat(depots).expand(batch, -1)
    depot_of_type = type_depot.gather(1, slot_type)
    real = ((slot_depot < problem.num_depots[:, None]) & (slot_type < num_types[:, None])
            & ((depot_of_type < 0) | (depot_of_type == slot_depot)))
    slots = depots * count
    keep = torch.cat([slot_depot, torch.arange(depots, depots + n).expand(batch, -1)], dim=1)

    slot_values = {name: values.gather(1, slot_type) for name, values in per_type.items()}
    slot_values["available"] = torch.where(real, slot_values["available"], 0.0)

    def located(values: torch.Tensor) -> torch.Tensor:  # (B, K + n) -> (B, M + n)
        return values.gather(1, keep)

    allowed = torch.cat([torch.zeros(batch, slots, slots, dtype=torch.bool),
                         gather_rows(allowed, slot_type)], dim=2) & real[..., None]
    distance = gather_rows(problem.distance, keep).gather(2, keep[:, None].expand(-1, slots + n, -1))
    return Problem(
        locs=gather_rows(problem.locs, keep),
        distance=distance,
        duration=None,
        demand_linehaul=located(problem.demand_linehaul),
        demand_backhaul=located(problem.demand_backhaul),
        capacity=problem.capacity,
        time_windows=gather_rows(problem.time_windows, keep),
        service_time=located(problem.service_time),
        distance_limit=problem.distance_limit,
        open_route=problem.open_route,
        backhaul=problem.backhaul,
        num_depots=problem.num_depots,
        num_depot_slots=slots,
        explicit_matrix=problem.explicit_matrix,
        vehicles=SlotFleet(vehicle_type=torch.where(real, slot_type, -1), depot=slot_depot, allowed=allowed,
                           **slot_values),
    )
