"""The synthetic distribution of ``shared/design/variants.md``, sampled as a ``Problem``.

Every instance draws its own variant from the requested set: each attribute is switched on
with probability 0.5 (for a set that is a full product of attributes, e.g. ``all16``, this is
exactly independent coin flips; other sets are sampled uniformly, except that with both B and MB
present "no backhaul" keeps its weight of one half). Data for the attributes that are off is
never drawn: they hold their neutral values.

Locations are uniform in the unit square (Euclidean travel), or drawn from a pool of real travel
matrices (:class:`envs.matrix_pool.MatrixPool`); time windows and route-length limits are derived
from the travel out to each customer and back from it, so they fit asymmetric matrices as well.
"""

from __future__ import annotations

import math

import torch

from envs.matrix_pool import MatrixPool
from envs.problem import Problem
from envs.variants import BACKHAUL_MIXED, BACKHAUL_NONE, BACKHAUL_STRICT, Variant, resolve_variants

DEPOT_CLOSE = 4.6
NUM_DEPOTS_MULTI = 3
BACKHAUL_PROBABILITY = 0.2


def capacity_for(num_customers: int) -> int:
    """Vehicle capacity of the synthetic distribution: ``30 + n // 5``."""
    return 30 + num_customers // 5


def _variant_weights(variants: list[Variant]) -> torch.Tensor:
    modes = {v.backhaul for v in variants}
    both_backhauls = {BACKHAUL_STRICT, BACKHAUL_MIXED} <= modes and BACKHAUL_NONE in modes
    return torch.tensor(
        [2.0 if both_backhauls and v.backhaul == BACKHAUL_NONE else 1.0 for v in variants]
    )


def generate(
    num_instances: int,
    num_customers: int,
    variants="all16",
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    pool: MatrixPool | None = None,
) -> Problem:
    """Samples ``num_instances`` instances of ``num_customers`` customers.

    Parameters
    ----------
    variants
        ``"all16"``, ``"all48"``, a variant name, or a list of names.
    seed
        Makes the sample reproducible; ignored when ``generator`` is given.
    generator
        A ``torch.Generator`` to draw from (for a stream of training batches).
    pool
        Real travel matrices to draw the locations from (default: uniform, Euclidean).
    """
    if num_instances < 1 or num_customers < 1:
        raise ValueError(
            f"num_instances={num_instances}, num_customers={num_customers}: both must be >= 1"
        )
    choices = resolve_variants(variants)
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(torch.seed() if seed is None else seed)

    def uniform(*shape):
        return torch.rand(*shape, generator=generator)

    def integers(low, high, *shape):
        return torch.randint(low, high + 1, shape, generator=generator).float()

    batch, n = num_instances, num_customers
    picks = torch.multinomial(_variant_weights(choices), batch, replacement=True, generator=generator)
    chosen = [choices[int(i)] for i in picks]
    multi_depot = torch.tensor([v.multi_depot for v in chosen])
    open_route = torch.tensor([v.open_route for v in chosen])
    backhaul = torch.tensor([v.backhaul for v in chosen], dtype=torch.long)
    limit_on = torch.tensor([v.distance_limit for v in chosen])
    windows_on = torch.tensor([v.time_windows for v in chosen])

    slots = NUM_DEPOTS_MULTI if bool(multi_depot.any()) else 1
    num_depots = torch.where(multi_depot, slots, 1)
    depot_valid = torch.arange(slots)[None, :] < num_depots[:, None]
    if pool is None:
        depot_locs = uniform(batch, slots, 2)
        depot_locs = torch.where(depot_valid[..., None], depot_locs, depot_locs[:, :1])
        customer_locs = uniform(batch, n, 2)
        locs = torch.cat([depot_locs, customer_locs], dim=1)
        distance = torch.cdist(locs, locs)
    else:  # spare depot slots repeat depot 0, in the coordinates and in the matrix
        locs, distance, _, _ = pool.sample(batch, slots + n, generator)
        keep = torch.arange(slots + n).repeat(batch, 1)
        keep[:, :slots] = torch.where(depot_valid, keep[:, :slots], 0)
        locs = locs.gather(1, keep[..., None].expand(-1, -1, 2))
        distance = distance.gather(1, keep[..., None].expand_as(distance)).gather(2, keep[:, None].expand_as(distance))

    # demands: integers 1..9; a customer is a backhaul customer with probability 0.2
    capacity = torch.full((batch,), float(capacity_for(n)))
    linehaul = integers(1, 9, batch, n)
    pickup = integers(1, 9, batch, n)
    is_backhaul = (uniform(batch, n) < BACKHAUL_PROBABILITY) & (backhaul != BACKHAUL_NONE)[:, None]
    no_demand = torch.zeros(batch, slots)
    demand_linehaul = torch.cat([no_demand, torch.where(is_backhaul, 0.0, linehaul)], dim=1)
    demand_backhaul = torch.cat([no_demand, torch.where(is_backhaul, pickup, 0.0)], dim=1)

    # out to a customer and back from the depot with the shortest round trip: a route serving
    # that customer alone from it is always feasible
    out = distance[:, :slots, slots:]
    back = distance[:, slots:, :slots].transpose(1, 2)
    round_trip = (out + back).masked_fill(~depot_valid[..., None], math.inf)
    best = round_trip.argmin(1, keepdim=True)  # (B, 1, n)
    out, back, round_trip = out.gather(1, best)[:, 0], back.gather(1, best)[:, 0], round_trip.gather(1, best)[:, 0]

    service = 0.15 + 0.03 * uniform(batch, n)
    width = 0.18 + 0.02 * uniform(batch, n)
    # the depot closes at 4.6 (later only where a real matrix has longer round trips)
    close = torch.clamp((round_trip + service + width).max(1).values, min=DEPOT_CLOSE)
    latest_start = close[:, None] - service - width - back
    start = out + (latest_start - out) * uniform(batch, n)
    customer_windows = torch.stack([start, start + width], dim=-1)
    depot_windows = torch.stack([torch.zeros(batch), close], dim=-1)[:, None].expand(batch, slots, 2)
    windows = torch.cat([depot_windows, customer_windows], dim=1)
    neutral_windows = torch.tensor([0.0, math.inf]).expand_as(windows)
    time_windows = torch.where(windows_on[:, None, None], windows, neutral_windows)
    service_time = torch.cat([torch.zeros(batch, slots), service], dim=1)
    service_time = torch.where(windows_on[:, None], service_time, 0.0)

    farthest = round_trip.max(1).values
    limit = farthest + (torch.clamp(farthest, min=2.8) - farthest) * uniform(batch)
    distance_limit = torch.where(limit_on, limit, math.inf)

    return Problem(
        locs=locs,
        distance=distance,
        duration=distance,
        demand_linehaul=demand_linehaul,
        demand_backhaul=demand_backhaul,
        capacity=capacity,
        time_windows=time_windows,
        service_time=service_time,
        distance_limit=distance_limit,
        open_route=open_route,
        backhaul=backhaul,
        num_depots=num_depots,
        num_depot_slots=slots,
        explicit_matrix=pool is not None,
    ).to(device)
