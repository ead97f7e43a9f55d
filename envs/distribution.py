"""``Distribution``: every constant of the synthetic instance distribution, and its presets.

Travel is in model units (customers and depots in the unit square, speed 1), the units that
``nco solve`` rescales instance files to. Ranges ``(low, high)`` are sampled per instance,
uniformly, or log-uniformly where the field says so; ``choices`` tuples are drawn uniformly.

Presets (:data:`DISTRIBUTIONS`):

- ``variants_md``: the distribution of the published multi-task VRP papers (RouteFinder, MVMoE:
  uniform unit square, demands 1..9, capacity ``30 + n // 5``, depot closing at 4.6, service
  0.15-0.18, windows 0.18-0.2 wide, three depots for MD), kept so results stay comparable;
- ``broad``: what real files look like. Customer and depot placement and demand kinds as in the
  CVRPLIB X generator (Uchoa et al. 2017), capacities from 3 to 40 customers per route, horizons
  and window widths spanning Solomon's six series (short and long horizons, tight to nearly
  unconstrained windows, partly unconstrained customers, windows clustered with the customers),
  2-5 depots, length limits from tight to loose, and optional road-like asymmetric matrices;
  ``broad_long`` widens it to longer routes and horizons, ``broad_asymmetric`` and ``broad_road``
  put half or all of its batches on road-like matrices, and ``broad_fleet`` gives half of its
  instances mixed fleets (:mod:`nco.envs.fleet_sampling`).
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_PLACEMENTS = ("uniform", "clustered", "mixed")
"""Uchoa et al.'s R, C and RC: uniform, around 3-8 seeds, or half of each."""

DEPOT_PLACEMENTS = ("uniform", "central", "eccentric")
"""Uchoa et al.'s depot rules: random, the centre of the square, or its corner (0, 0)."""

DEMAND_KINDS = {
    "1-9": (1, 9), "unit": (1, 1), "1-10": (1, 10), "5-10": (5, 10), "1-100": (1, 100), "50-100": (50, 100),
    "quadrant": (1, 50), "many_small": (1, 10),
}
"""Each kind with the range of its integer demands: ``a-b`` uniform in a..b; ``unit``: all 1;
``quadrant``: 1..50 in two opposite quadrants of the square and 51..100 in the others;
``many_small``: most 1..10, the rest 50..100 (Uchoa et al. 2017, plus the published 1..9)."""

LARGE_DEMANDS = {"quadrant": (51, 100), "many_small": (50, 100)}
"""The range of the other customers of the two kinds whose demands have two ranges."""


@dataclass(frozen=True)
class Distribution:
    """The synthetic distribution. See the module docstring for the units.

    Attributes
    ----------
    customer_placements, depot_placements
        Choices of :data:`CUSTOMER_PLACEMENTS` and :data:`DEPOT_PLACEMENTS`.
    cluster_seeds
        Number of cluster centres of a clustered placement, an integer range.
    cluster_spread
        Mean distance of a clustered customer from its centre, in units of the square's side
        (X's attraction ``exp(-d / 40)`` on a 1000 grid is 0.04).
    demand_kinds
        Choices of :data:`DEMAND_KINDS`.
    many_small_share
        Range of the share of small demands of ``many_small``.
    customers_per_route
        Log-uniform range of the capacity target: capacity = this many average demands (at least
        the largest demand). ``None``: the published rule ``capacity_base + n // capacity_step``.
    capacity_base, capacity_step
        The published capacity rule.
    backhaul_share
        Range of the share of backhaul customers of an instance with backhauls.
    depot_counts
        Choices of the number of depots of a multi-depot instance.
    horizon
        Log-uniform range of the time the depot closes (raised per instance to what the longest
        single-customer round trip needs).
    service_time
        Range of the service time. With ``service_relative`` it is a share of the horizon.
    service_relative
        Whether ``service_time`` is a share of the horizon rather than travel units.
    service_spread
        Each customer's service time is the instance's times ``1 +- service_spread``.
    window_width
        Range of a window's width (travel units, or a log-uniform share of the horizon with
        ``window_relative``).
    window_relative
        Whether ``window_width`` is a log-uniform share of the horizon.
    window_spread
        Each customer's width is the instance's times a factor in ``1 +- window_spread``.
    unconstrained_shares
        Choices of the share of customers whose window is the whole horizon (Solomon's R102-104
        leave 25-75% of the customers free).
    clustered_windows
        Probability that the windows of a clustered instance gather around one time per cluster.
    limit_slack
        Route-length limit: the longest single-customer round trip times ``1 + slack``, slack
        log-uniform in this range; ``None``: the published rule, uniform between the longest
        round trip and ``max(that, limit_floor)``.
    limit_floor
        The floor of the published rule (2.8).
    asymmetric_share
        Probability that a batch gets a road-like asymmetric matrix instead of Euclidean travel:
        the straight-line distance to the power ``travel_exponent``, times log-normal noise per
        location, per pair and per direction (standard deviations drawn from ``node_noise``,
        ``pair_noise`` and ``direction_noise``), closed under shortest paths and scaled to the
        Euclidean mean.
    fleet_share
        Probability that an instance gets vehicle types (:mod:`nco.envs.fleet_sampling`); 0: none.
    vehicle_types
        Range of the number of vehicle types of an instance with a fleet.
    vehicle_share
        Log-uniform range of a type's capacity as a share of the largest type's (the instance's
        capacity).
    fixed_cost
        Log-uniform range of the largest type's fixed cost in model units (0 in 30% of the fleets).
    limited_share
        Probability that a fleet's types are limited in number (only without time windows and
        length limits, which can call for more routes than the demand does).
    fleet_slack
        Range of a limited fleet's total capacity over the total demand.
    restricted_share
        Probability that each type of a fleet may not enter a zone (a disc around a customer).
    duration_share
        Probability that an unlimited fleet's vehicles have a duration limit.
    duration_slack
        The limit: the longest single-customer route times ``1 + slack``, slack log-uniform in this range.
    """

    customer_placements: tuple[str, ...] = ("uniform",)
    depot_placements: tuple[str, ...] = ("uniform",)
    cluster_seeds: tuple[int, int] = (3, 8)
    cluster_spread: float = 0.04
    demand_kinds: tuple[str, ...] = ("1-9",)
    many_small_share: tuple[float, float] = (0.7, 0.95)
    customers_per_route: tuple[float, float] | None = None
    capacity_base: int = 30
    capacity_step: int = 5
    backhaul_share: tuple[float, float] = (0.2, 0.2)
    depot_counts: tuple[int, ...] = (3,)
    horizon: tuple[float, float] = (4.6, 4.6)
    service_time: tuple[float, float] = (0.15, 0.18)
    service_relative: bool = False
    service_spread: float = 0.0
    window_width: tuple[float, float] = (0.18, 0.2)
    window_relative: bool = False
    window_spread: float = 0.0
    unconstrained_shares: tuple[float, ...] = (0.0,)
    clustered_windows: float = 0.0
    limit_slack: tuple[float, float] | None = None
    limit_floor: float = 2.8
    asymmetric_share: float = 0.0
    travel_exponent: tuple[float, float] = (1.0, 1.0)
    node_noise: tuple[float, float] = (0.0, 0.0)
    pair_noise: tuple[float, float] = (0.0, 0.0)
    direction_noise: tuple[float, float] = (0.0, 0.0)
    fleet_share: float = 0.0
    vehicle_types: tuple[int, int] = (2, 5)
    vehicle_share: tuple[float, float] = (0.25, 1.0)
    fixed_cost: tuple[float, float] = (0.05, 2.0)
    limited_share: float = 0.5
    fleet_slack: tuple[float, float] = (1.2, 2.0)
    restricted_share: float = 0.5
    duration_share: float = 0.3
    duration_slack: tuple[float, float] = (0.5, 4.0)

    def __post_init__(self):
        for name, allowed in (("customer_placements", CUSTOMER_PLACEMENTS), ("depot_placements", DEPOT_PLACEMENTS),
                              ("demand_kinds", DEMAND_KINDS)):
            unknown = [value for value in getattr(self, name) if value not in allowed]
            if unknown or not getattr(self, name):
                raise ValueError(f"{name}={getattr(self, name)}: choose one or more of {', '.join(allowed)}")
        if not 1 <= self.vehicle_types[0] <= self.vehicle_types[1]:
            raise ValueError(f"vehicle_types={self.vehicle_types}: give a range (low, high) with 1 <= low <= high")
        if not self.depot_counts or min(self.depot_counts) < 2:
            raise ValueError(f"depot_counts={self.depot_counts}: a multi-depot instance has 2 or more depots")
        for name in ("cluster_seeds", "many_small_share", "customers_per_route", "backhaul_share", "horizon",
                     "service_time", "window_width", "limit_slack", "travel_exponent", "node_noise", "pair_noise",
                     "direction_noise", "vehicle_share", "fixed_cost", "fleet_slack", "duration_slack"):
            value = getattr(self, name)
            if value is not None and not 0 <= value[0] <= value[1]:
                raise ValueError(f"{name}={value}: give a range (low, high) with 0 <= low <= high")


VARIANTS_MD = Distribution()
"""The published distribution (the project's default until the broad one was added)."""

BROAD = Distribution(
    customer_placements=CUSTOMER_PLACEMENTS,
    depot_placements=DEPOT_PLACEMENTS,
    demand_kinds=tuple(DEMAND_KINDS),
    customers_per_route=(3.0, 40.0),
    backhaul_share=(0.1, 0.5),
    depot_counts=(2, 3, 4, 5),
    horizon=(2.0, 35.0),
    service_time=(0.005, 0.08),
    service_relative=True,
    service_spread=0.1,
    window_width=(0.02, 0.5),
    window_relative=True,
    window_spread=0.5,
    unconstrained_shares=(0.0, 0.0, 0.25, 0.5, 0.75),
    clustered_windows=0.5,
    limit_slack=(0.05, 3.0),
    asymmetric_share=0.0,
    travel_exponent=(0.65, 1.0),
    node_noise=(0.05, 0.25),
    pair_noise=(0.2, 0.5),
    direction_noise=(0.0, 0.05),
)
"""Real-file-like instances on Euclidean travel (see the module docstring)."""

BROAD_LONG = Distribution(**{**vars(BROAD), "customers_per_route": (3.0, 80.0), "horizon": (2.0, 60.0)})
"""``broad`` with routes of up to 80 customers and horizons up to 60: Solomon's C2 files (horizon
35.7, capacity for 38.7 customers per route in model units) fall inside its ranges rather than at
their edge, for the campaign's next stage (docs/results/training-log.md)."""

BROAD_ASYMMETRIC = Distribution(**{**vars(BROAD), "asymmetric_share": 0.5})
"""``broad`` with half of the batches on road-like asymmetric matrices (for matrix-aware models)."""

BROAD_ROAD = Distribution(**{**vars(BROAD), "asymmetric_share": 1.0})
"""``broad`` with every batch on road-like asymmetric matrices (the model for files with a matrix)."""

BROAD_FLEET = Distribution(**{**vars(BROAD), "fleet_share": 0.5})
"""``broad`` with mixed fleets on half of the instances (the fleet attribute's training data)."""

DISTRIBUTIONS = {"variants_md": VARIANTS_MD, "broad": BROAD, "broad_long": BROAD_LONG,
                 "broad_asymmetric": BROAD_ASYMMETRIC, "broad_road": BROAD_ROAD, "broad_fleet": BROAD_FLEET}


def get_distribution(name: str | Distribution) -> Distribution:
    """The preset called ``name`` (or ``name`` itself when it is a ``Distribution``)."""
    if isinstance(name, Distribution):
        return name
    if name not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {name!r}: use one of {', '.join(DISTRIBUTIONS)}")
    return DISTRIBUTIONS[name]
