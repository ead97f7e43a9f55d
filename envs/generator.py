"""Sampling a ``Problem`` from a :class:`nco.envs.distribution.Distribution`, one function per attribute.

Every instance draws its own variant from the requested set: each attribute is switched on
with probability 0.5 (for a set that is a full product of attributes, e.g. ``all16``, this is
exactly independent coin flips; other sets are sampled uniformly, except that with both B and MB
present "no backhaul" keeps its weight of one half). Data for the attributes that are off is
never used: they hold their neutral values.

Locations are sampled in the unit square (Euclidean travel, or a road-like asymmetric matrix), or
drawn from a pool of real travel matrices (:class:`nco.envs.matrix_pool.MatrixPool`); time windows and
route-length limits are derived from the travel out to each customer and back from it, so a route
serving one customer alone is always feasible, on asymmetric matrices as well.
"""

from __future__ import annotations

import math

import torch

from nco.envs.distribution import (
    CUSTOMER_PLACEMENTS, DEMAND_KINDS, DEPOT_PLACEMENTS, LARGE_DEMANDS, Distribution, get_distribution,
)
from nco.envs.env import gather_rows
from nco.envs.fleet_sampling import sample_fleets
from nco.envs.matrix_pool import MatrixPool
from nco.envs.problem import Problem, euclidean
from nco.envs.variants import BACKHAUL_MIXED, BACKHAUL_NONE, BACKHAUL_STRICT, Variant, resolve_variants


class Sampler:
    """Draws from one ``torch.Generator``: uniform values, log-uniform ranges and choices. A range
    of one value or a choice of one option draws nothing, so the ``variants_md`` preset draws
    exactly the numbers the published generator draws (same seed, same instances)."""

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator)

    def between(self, bounds: tuple[float, float], *shape: int, log: bool = False) -> torch.Tensor:
        """Uniform (or log-uniform) in ``[low, high]``."""
        low, high = bounds
        if low == high:
            return torch.full(shape, float(low))
        if log:
            return low * (high / low) ** self.uniform(*shape)
        return low + (high - low) * self.uniform(*shape)

    def normal(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator)

    def choice(self, options, *shape: int) -> torch.Tensor:
        """Uniform choices among ``options`` (numbers)."""
        if len(options) == 1:
            return torch.full(shape, float(options[0]))
        index = torch.randint(len(options), shape, generator=self.generator)
        return torch.tensor(options, dtype=torch.float)[index]

    def index(self, count: torch.Tensor, *shape: int) -> torch.Tensor:
        """Integers in ``0..count-1``; ``count`` broadcasts against ``shape``."""
        return torch.minimum((self.uniform(*shape) * count).long(), count.long() - 1)


def capacity_for(num_customers: int, distribution: Distribution | str = "variants_md") -> int:
    """The published capacity rule ``capacity_base + n // capacity_step`` (``30 + n // 5``)."""
    distribution = get_distribution(distribution)
    return distribution.capacity_base + num_customers // distribution.capacity_step


def _variant_weights(variants: list[Variant]) -> torch.Tensor:
    modes = {v.backhaul for v in variants}
    both_backhauls = {BACKHAUL_STRICT, BACKHAUL_MIXED} <= modes and BACKHAUL_NONE in modes
    return torch.tensor(
        [2.0 if both_backhauls and v.backhaul == BACKHAUL_NONE else 1.0 for v in variants]
    )


def _depot_locations(dist: Distribution, sample: Sampler, batch: int, slots: int) -> torch.Tensor:
    """(B, slots, 2): the first depot by a placement rule, the others uniform."""
    locs = sample.uniform(batch, slots, 2)
    rule = sample.choice([DEPOT_PLACEMENTS.index(p) for p in dist.depot_placements], batch)[:, None]
    first = torch.where(rule == DEPOT_PLACEMENTS.index("central"), 0.5, locs[:, 0])
    first = torch.where(rule == DEPOT_PLACEMENTS.index("eccentric"), 0.0, first)
    return torch.cat([first[:, None], locs[:, 1:]], dim=1)


def _customer_locations(dist: Distribution, sample: Sampler, batch: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, n, 2) locations and (B, n) cluster of each customer (-1: placed uniformly).

    A clustered customer lies at a Gamma(2)-distributed distance (mean ``cluster_spread``) in a
    uniform direction from one of 3-8 uniform centres, the vectorised form of X's attraction
    ``exp(-d / 40)``; ``mixed`` places half of the customers so."""
    uniform_locs = sample.uniform(batch, n, 2)
    if dist.customer_placements == ("uniform",):
        return uniform_locs, torch.full((batch, n), -1)
    low, high = dist.cluster_seeds
    centres = sample.uniform(batch, high, 2)
    num_centres = low + sample.index(torch.tensor(high - low + 1), batch)
    cluster = sample.index(num_centres[:, None], batch, n)
    radius = -dist.cluster_spread / 2 * (torch.log(1 - sample.uniform(batch, n)) + torch.log(1 - sample.uniform(batch, n)))
    angle = 2 * math.pi * sample.uniform(batch, n)
    offset = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=-1)
    clustered_locs = (gather_rows(centres, cluster) + offset).clamp(0, 1)
    rule = sample.choice([CUSTOMER_PLACEMENTS.index(p) for p in dist.customer_placements], batch)[:, None]
    half = sample.uniform(batch, n) < 0.5
    is_clustered = (rule == CUSTOMER_PLACEMENTS.index("clustered")) | ((rule == CUSTOMER_PLACEMENTS.index("mixed")) & half)
    locs = torch.where(is_clustered[..., None], clustered_locs, uniform_locs)
    return locs, torch.where(is_clustered, cluster, -1)


def _road_matrix(dist: Distribution, sample: Sampler, locs: torch.Tensor) -> torch.Tensor:
    """(B, N, N) road-like travel times: the straight-line distance to a power below one (long
    trips run on faster roads), log-normal noise per location (remote places), per pair and per
    direction, closed under shortest paths (so the triangle inequality holds) and scaled to the
    Euclidean mean (model units). A log-log fit to the twelve ORTEC files' travel times gives a
    power of 0.54-0.71, residuals of standard deviation 0.22-0.31 (0.08-0.12 of it per location)
    and a small asymmetry (90% of the pairs within 2-6%); the same fit to this generator's
    ``broad_asymmetric`` matrices at n = 200 gives 0.41-0.74, 0.15-0.28 (0.06-0.17) and 0-6%."""
    euclidean = (locs[:, :, None] - locs[:, None]).norm(dim=-1)  # exact zeros on the diagonal
    batch, size = locs.shape[:2]

    def noise(spread: tuple[float, float], *shape: int) -> torch.Tensor:
        """Normal noise whose standard deviation is drawn per instance from ``spread``."""
        return sample.between(spread, batch, *[1] * len(shape)) * sample.normal(batch, *shape)

    node = noise(dist.node_noise, size)
    pair = noise(dist.pair_noise, size, size)
    log_noise = node[:, :, None] + node[:, None] + (pair + pair.transpose(1, 2)) / 2**0.5
    log_noise = log_noise + noise(dist.direction_noise, size, size)
    travel = euclidean ** sample.between(dist.travel_exponent, batch, 1, 1) * log_noise.exp()
    for via in range(size):  # Floyd-Warshall: no trip is longer than a detour through another place
        travel = torch.minimum(travel, travel[:, :, via, None] + travel[:, None, via])
    scale = euclidean.mean((1, 2)) / travel.mean((1, 2)).clamp(min=1e-9)
    return travel * scale[:, None, None]


def _demands(dist: Distribution, sample: Sampler, customer_locs: torch.Tensor) -> torch.Tensor:
    """(B, n) integer demands of one kind of :data:`DEMAND_KINDS` per instance."""
    batch, n = customer_locs.shape[:2]
    if len(dist.demand_kinds) == 1 and dist.demand_kinds[0] not in LARGE_DEMANDS:  # integers of one range
        low, high = DEMAND_KINDS[dist.demand_kinds[0]]
        return torch.randint(low, high + 1, (batch, n), generator=sample.generator).float()
    names = list(DEMAND_KINDS)
    kind = sample.choice([names.index(k) for k in dist.demand_kinds], batch)[:, None].long()
    ranges = torch.tensor(list(DEMAND_KINDS.values()), dtype=torch.float)
    low, high = ranges[kind, 0].expand(-1, n), ranges[kind, 1].expand(-1, n)
    upper_half = customer_locs > 0.5
    odd_quadrant = (kind == names.index("quadrant")) & (upper_half[..., 0] ^ upper_half[..., 1])
    rare = sample.uniform(batch, n) > sample.between(dist.many_small_share, batch, 1)
    rare_large = (kind == names.index("many_small")) & rare
    for large, (large_low, large_high) in ((odd_quadrant, LARGE_DEMANDS["quadrant"]),
                                           (rare_large, LARGE_DEMANDS["many_small"])):
        low, high = torch.where(large, float(large_low), low), torch.where(large, float(large_high), high)
    return torch.minimum(low + torch.floor(sample.uniform(batch, n) * (high - low + 1)), high)


def _capacity(dist: Distribution, sample: Sampler, demand: torch.Tensor) -> torch.Tensor:
    """(B,) capacity: the published rule, or a log-uniform number of average demands per route
    (at least the largest demand)."""
    batch, n = demand.shape
    if dist.customers_per_route is None:
        return torch.full((batch,), float(capacity_for(n, dist)))
    per_route = sample.between(dist.customers_per_route, batch, log=True)
    return torch.maximum(torch.ceil(per_route * demand.mean(1)), demand.max(1).values)


def _time_windows(
    dist: Distribution, sample: Sampler, out: torch.Tensor, back: torch.Tensor, cluster: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Customer windows (B, n, 2), service times (B, n) and depot closing times (B,).

    ``out`` and ``back`` (B, n) are the travel from and to the depot with the shortest round trip
    of each customer; every window can be reached from it and left in time to return."""
    batch, n = out.shape
    horizon = sample.between(dist.horizon, batch, 1, log=True)
    if dist.service_relative:
        service = horizon * sample.between(dist.service_time, batch, 1, log=True)
        service = service * (1 + dist.service_spread * (2 * sample.uniform(batch, n) - 1))
    else:
        service = sample.between(dist.service_time, batch, n)
    if dist.window_relative:
        width = horizon * sample.between(dist.window_width, batch, 1, log=True)
        width = width * (1 + dist.window_spread * (2 * sample.uniform(batch, n) - 1))
    else:
        width = sample.between(dist.window_width, batch, n)
    # the depot closes at the horizon, later only where a round trip needs it
    close = torch.maximum((out + back + service + width).max(1).values, horizon[:, 0])
    latest_start = close[:, None] - service - width - back
    position = sample.uniform(batch, n)
    if dist.clustered_windows > 0:  # the windows of one cluster's customers gather around one time
        cluster_time = sample.uniform(batch, dist.cluster_seeds[1] + 1)
        near_cluster_time = cluster_time.gather(1, cluster.clamp(min=0)) + 0.1 * (sample.uniform(batch, n) - 0.5)
        by_cluster = (sample.uniform(batch, 1) < dist.clustered_windows) & (cluster >= 0)
        position = torch.where(by_cluster, near_cluster_time.clamp(0, 1), position)
    start = out + (latest_start - out) * position
    windows = torch.stack([start, start + width], dim=-1)
    if max(dist.unconstrained_shares) > 0:  # customers without a window of their own: the whole day
        free = sample.uniform(batch, n) < sample.choice(dist.unconstrained_shares, batch, 1)
        whole = torch.stack([torch.zeros_like(start), close[:, None] - service - back], dim=-1)
        windows = torch.where(free[..., None], whole, windows)
    return windows, service, close


def _distance_limit(dist: Distribution, sample: Sampler, round_trip: torch.Tensor) -> torch.Tensor:
    """(B,) route-length limit, never below the longest single-customer round trip."""
    farthest = round_trip.max(1).values
    if dist.limit_slack is None:
        return farthest + (torch.clamp(farthest, min=dist.limit_floor) - farthest) * sample.uniform(len(farthest))
    return farthest * (1 + sample.between(dist.limit_slack, len(farthest), log=True))


def generate(
    num_instances: int,
    num_customers: int,
    variants="all16",
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    pool: MatrixPool | None = None,
    distribution: Distribution | str = "variants_md",
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
        Real travel matrices to draw the locations from (default: sampled in the unit square).
    distribution
        A :class:`nco.envs.distribution.Distribution` or a preset name (``variants_md``, ``broad``,
        ``broad_asymmetric``).
    """
    if num_instances < 1 or num_customers < 1:
        raise ValueError(
            f"num_instances={num_instances}, num_customers={num_customers}: both must be >= 1"
        )
    dist = get_distribution(distribution)
    choices = resolve_variants(variants)
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(torch.seed() if seed is None else seed)
    sample = Sampler(generator)

    batch, n = num_instances, num_customers
    picks = torch.multinomial(_variant_weights(choices), batch, replacement=True, generator=generator)
    chosen = [choices[int(i)] for i in picks]
    multi_depot = torch.tensor([v.multi_depot for v in chosen])
    open_route = torch.tensor([v.open_route for v in chosen])
    backhaul = torch.tensor([v.backhaul for v in chosen], dtype=torch.long)
    limit_on = torch.tensor([v.distance_limit for v in chosen])
    windows_on = torch.tensor([v.time_windows for v in chosen])

    num_depots = torch.where(multi_depot, sample.choice(dist.depot_counts, batch).long(), 1)
    slots = int(num_depots.max())
    depot_valid = torch.arange(slots)[None, :] < num_depots[:, None]
    cluster = torch.full((batch, n), -1)
    if pool is None:
        depot_locs = _depot_locations(dist, sample, batch, slots)
        depot_locs = torch.where(depot_valid[..., None], depot_locs, depot_locs[:, :1])
        customer_locs, cluster = _customer_locations(dist, sample, batch, n)
        locs = torch.cat([depot_locs, customer_locs], dim=1)
        explicit = dist.asymmetric_share > 0 and bool(sample.uniform(1) < dist.asymmetric_share)
        distance = _road_matrix(dist, sample, locs) if explicit else euclidean(locs)
    else:
        explicit = True
        locs, distance, _, _ = pool.sample(batch, slots + n, generator)
    if explicit:  # spare depot slots repeat depot 0, in the coordinates and in the matrix
        keep = torch.arange(slots + n).repeat(batch, 1)
        keep[:, :slots] = torch.where(depot_valid, keep[:, :slots], 0)
        locs = gather_rows(locs, keep)
        distance = gather_rows(distance, keep).gather(2, keep[:, None].expand_as(distance))

    linehaul = _demands(dist, sample, locs[:, slots:])
    pickup = _demands(dist, sample, locs[:, slots:])
    share = sample.between(dist.backhaul_share, batch, 1)
    is_backhaul = (sample.uniform(batch, n) < share) & (backhaul != BACKHAUL_NONE)[:, None]
    capacity = _capacity(dist, sample, torch.where(is_backhaul, pickup, linehaul))
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

    customer_windows, service, close = _time_windows(dist, sample, out, back, cluster)
    depot_windows = torch.stack([torch.zeros(batch), close], dim=-1)[:, None].expand(batch, slots, 2)
    windows = torch.cat([depot_windows, customer_windows], dim=1)
    neutral_windows = torch.tensor([0.0, math.inf]).expand_as(windows)
    time_windows = torch.where(windows_on[:, None, None], windows, neutral_windows)
    service_time = torch.cat([torch.zeros(batch, slots), service], dim=1)
    service_time = torch.where(windows_on[:, None], service_time, 0.0)
    distance_limit = torch.where(limit_on, _distance_limit(dist, sample, round_trip), math.inf)

    problem = Problem(
        locs=locs,
        distance=distance,
        duration=None,
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
        explicit_matrix=explicit,
    )
    if dist.fleet_share > 0:
        problem = sample_fleets(problem, dist, sample)
    return problem.to(device)
