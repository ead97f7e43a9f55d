"""Neural re-construction: improve a solution by re-solving groups of neighbouring routes.

Each round splits the routes into groups of neighbouring routes (nearest route centroids first) of
at most about :data:`SUBPROBLEM_SIZE` customers (more when routes are long, :func:`group_size`),
and the network solves every group's customers again as an instance of its own (the depots and
those customers, rescaled to the unit square: the size and density the network was trained on,
whatever the size of the whole instance). A group's new routes replace its old ones when the judge
finds them feasible and cheaper; routes of different groups never interact, so the whole solution
stays feasible and never gets worse. A group tried before is sampled rather than decoded greedily
again; a group of one customer is left as it is. Groups of the same number of customers are decoded
together, as one batch (at batch 1 a decoding step costs about as much for one group as for
several). The idea is LEHD's random re-construction and the decomposition of GLOP and UDC, on whole
routes. With vehicle types a group is re-solved with its own limited vehicles and every unlimited
type (:func:`_group_instance`), so the fleet's counts hold, and its variants are decoded as a whole
instance's are (:func:`nco.solvers.vehicles.fleet_variants`).

Started from one route per customer (:func:`singleton_routes`), the first round is a
decomposition of the whole instance into neighbourhoods that the network solves in batches: how
instances above :data:`START_DECODED_UP_TO` customers, and every large one under a time limit, are
solved without decoding them whole. Between :data:`DECODE_WHOLE_UP_TO` and that size, without a
time limit, the round starts from one image decoded whole instead.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from nco.clock import Deadline, now
from nco.envs.check import check_solution
from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance
from nco.envs.route import Route, route_list, routes_of
from nco.models.decoding import Decoding
from nco.models.policy import Policy
from nco.solvers.neural.decode import PROGRESS_DELAY, best_routes
from nco.solvers.neural.pace import DeadlinePace
from nco.solvers.vehicles import best_with_vehicles, fleet_variants

SUBPROBLEM_SIZE = 100
"""Customers of the largest group re-solved at once (the campaign trains on 20 to 100), unless
routes are long (:func:`group_size`)."""
LONG_ROUTE_GROUP_SIZE = 300
"""Customers of the largest group at most when routes are long (:func:`group_size`)."""
DECODE_WHOLE_UP_TO = 200
"""Largest instance (customers) that the neural solver decodes whole (every start, every image)
and answers with; a larger one is re-constructed in neighbourhoods (:func:`reconstruct`): without
a time limit from one decoded image up to :data:`START_DECODED_UP_TO` customers, else from
:func:`singleton_routes`."""
START_DECODED_UP_TO = 1000
"""Largest instance whose re-construction without a time limit starts from one image decoded
whole (:data:`WHOLE_DECODING_STARTS` starts) rather than from one route per customer: a
neighbourhood cut from one route per customer splits long routes at its borders, the decoded
image's routes are cut whole (chosen by ``scripts/bench.py large-start``: docs/constants.md)."""
WHOLE_DECODING_STARTS = 100
"""Multi-start rollouts per image when a larger instance is decoded whole all the same (extra
sampling passes, the ``sampling`` search; measured: docs/results/large.md)."""
GROUP_BATCH_ROLLOUTS = 4096
"""Rollouts of one batch of groups decoded together at most (groups times starts times images):
memory stays bounded whatever the instance's size."""


def singleton_routes(instance: Instance) -> list[list[int]]:
    """One route per customer, from the depot with the shortest round trip among those that can
    serve it alone: always feasible, and built without decoding."""
    k = instance.num_depots
    depot_index, customer_index = np.arange(k)[:, None], np.arange(k, instance.num_locations)[None, :]
    round_trip = instance.arc_distances(depot_index, customer_index) + \
        (0.0 if instance.open_route else instance.arc_distances(customer_index, depot_index))
    depots = np.where(instance.servable_from_depots(), round_trip, np.inf).argmin(axis=0)
    return [Route(int(depot), (customer,)).to_list(k) for customer, depot in enumerate(depots, start=k)]


def group_size(instance: Instance) -> int:
    """Customers of the largest group re-solved at once: :data:`SUBPROBLEM_SIZE`, or twice what
    one vehicle's capacity holds of the average demand when that is more (at most
    :data:`LONG_ROUTE_GROUP_SIZE`), and at most half the instance.

    A group too small for two of the instance's routes can only cut them, and a group of the
    whole instance only decodes it again (measured: docs/constants.md)."""
    k = instance.num_depots
    demand = float((instance.demand_linehaul[k:] + instance.demand_backhaul[k:]).mean())
    per_vehicle = instance.capacity / demand if demand > 0 else np.inf
    size = int(min(max(2 * per_vehicle, SUBPROBLEM_SIZE), LONG_ROUTE_GROUP_SIZE))
    return min(size, max(2, instance.num_customers // 2))


def route_groups(instance: Instance, routes: list[list[int]], rng: np.random.Generator,
                 size: int = SUBPROBLEM_SIZE) -> list[list[int]]:
    """A partition of the route indices into groups of neighbouring routes.

    Each group starts from a random route not yet grouped and adds the ungrouped routes nearest
    to it (by the distance between the centroids of their customers) while the group holds at
    most a target number of customers, drawn once per call between ``size // 2`` and ``size`` (a
    single longer route forms a group alone). One target for all groups: from one route per
    customer every group but the last holds exactly that many, and groups of one size are
    decoded together (:func:`reconstruct`).
    """
    k = instance.num_depots
    visits = [[x for x in route if x >= k] for route in routes]
    centroids = np.array([instance.coords[stops].mean(0) for stops in visits])
    counts = np.array([len(stops) for stops in visits])
    grouped = np.zeros(len(routes), dtype=bool)
    groups = []
    target = rng.integers(size // 2, size + 1)
    for seed in rng.permutation(len(routes)):
        if grouped[seed]:
            continue
        candidates = np.flatnonzero(~grouped & (np.arange(len(routes)) != seed))
        nearest = candidates[np.argsort(np.linalg.norm(centroids[candidates] - centroids[seed], axis=1), kind="stable")]
        taken = np.cumsum(counts[nearest]) + counts[seed] <= target
        group = [int(seed), *nearest[: int(np.argmin(taken)) if not taken.all() else len(nearest)].tolist()]
        grouped[group] = True
        groups.append(group)
    return groups


def _group_instance(instance: Instance, group: list[Route], customers: tuple[int, ...]) -> tuple[Instance, np.ndarray]:
    """The instance of a group's ``customers`` and the vehicle types it keeps (their indices in
    ``instance``'s fleet): with a fleet, the group's own limited vehicles (no spare one: groups are
    re-solved side by side) and every unlimited type."""
    sub = instance.subset(np.array(customers))
    types = sub.vehicle_types
    if types is None:
        return sub, np.zeros(1, dtype=int)
    unlimited = types.num_available >= instance.num_customers
    used = np.bincount([route.vehicle_type for route in group], minlength=types.num_types)
    kept = np.flatnonzero(unlimited | (used > 0))
    own = VehicleTypes(types.capacity[kept], np.where(unlimited, np.inf, used)[kept], types.fixed_cost[kept],
                       types.unit_distance_cost[kept], types.max_duration[kept], types.depot[kept],
                       None if types.allowed is None else types.allowed[kept])
    return sub.replace(capacity=None, vehicle_types=own), kept


def _improvement(sub: Instance, kept: np.ndarray, group: list[Route], customers: tuple[int, ...],
                 candidates: list[list[list[int]]]) -> list[Route] | None:
    """The best of ``candidates`` (route lists of ``sub``, the group's instance of
    :func:`_group_instance`, or of its :func:`~nco.solvers.vehicles.fleet_variants`) as routes of
    the whole instance when the judge finds it feasible and cheaper than the ``group``'s routes
    over the same ``customers``, else ``None``."""
    if not candidates:
        return None
    k = sub.num_depots
    local_index = dict(zip(customers, range(k, k + len(customers))))
    sub_type = {int(kind): position for position, kind in enumerate(kept)}
    old = route_list([Route(route.depot, tuple(local_index[x] for x in route.visits), sub_type[route.vehicle_type])
                      for route in group], k, sub.vehicles)
    best = best_with_vehicles(sub, candidates)
    old_result, new = check_solution(sub, old), check_solution(sub, best)
    if not new.feasible or new.cost >= old_result.cost - 1e-9 * abs(old_result.cost):
        return None
    return [Route(route.depot, tuple(customers[x - k] for x in route.visits), int(kept[route.vehicle_type]))
            for route in routes_of(best, k, sub.vehicles)]


@torch.inference_mode()
def reconstruct(policy: Policy, instance: Instance, routes: list[list[int]] | None, deadline: Deadline | None,
                generator: torch.Generator | None = None, augment: bool = True,
                size: int | None = None, progress: bool = False) -> list[list[int]]:
    """``routes`` improved by re-solving groups of neighbouring routes until ``deadline``
    (``None``: one round); see the module docstring.

    Parameters
    ----------
    routes
        A feasible solution of ``instance`` (a route list, as every solver returns), or ``None``
        to start from :func:`singleton_routes`: the first round then decomposes the instance
        (the groups it does not reach before the deadline keep one route per customer). With
        vehicle types a group keeps its own limited vehicles and every unlimited type, so the
        fleet's counts hold; a start beyond the counts is returned as it is, and there is no
        start of one route per customer (give the decoded routes).
    generator
        Source of the random groups and of the sampling.
    augment
        Decode the 8 dihedral images of every group in the one round without a deadline. Under
        a deadline every round, the decomposition included, decodes one image per group and so
        re-solves eight times as many groups (measured: docs/constants.md).
    size
        Customers of the largest group (:func:`route_groups`); ``None``: :func:`group_size`.
    progress
        Show a bar over the groups re-solved (and how many were improved) once the search has run
        :data:`nco.solvers.neural.decode.PROGRESS_DELAY` seconds.
    """
    seed = int(torch.randint(2**62, (1,), generator=generator, device=policy.device))
    rng = np.random.default_rng(seed)
    size = group_size(instance) if size is None else size
    tried: set[tuple[int, ...]] = set()
    first_round = True
    improvements = 0
    images = 8 if augment and deadline is None else 1
    k, vehicles = instance.num_depots, instance.vehicles
    if routes is None and vehicles is not None:
        raise ValueError("a fleet's re-construction starts from decoded routes: one route per customer may need more "
                         "vehicles than the fleet has")
    routes = singleton_routes(instance) if routes is None else [list(route) for route in routes]
    if vehicles is not None and not check_solution(instance, routes).feasible:
        return routes  # beyond the fleet (or broken): no group can be priced within its counts
    current = routes_of(routes, k, vehicles)
    width = len(fleet_variants(instance))  # instances decoded per group: the group's and its fleet variants
    pace = 0.0  # seconds the last batch took: a batch that would end past the deadline is not begun
    with tqdm(desc=f"re-constructing n = {instance.num_customers}", unit="group", delay=PROGRESS_DELAY, leave=False,
              disable=not progress, bar_format="{desc}: {n} groups [{elapsed}]{postfix}") as bar:
        while first_round or (deadline is not None and deadline.left() > pace):
            groups = route_groups(instance, [route.to_list(k) for route in current], rng, size)
            customers = [tuple(sorted(x for i in group for x in current[i].visits)) for group in groups]
            # groups of as many customers, all new or all tried before, are decoded as one batch
            batches: dict[tuple[int, bool], list[int]] = {}
            for number, group_customers in enumerate(customers):
                if len(group_customers) > 1:  # one customer: one route
                    batches.setdefault((len(group_customers), group_customers in tried), []).append(number)
            new: dict[int, list[Route]] = {}
            for (count, was_tried), members in batches.items():
                per_batch = max(1, GROUP_BATCH_ROLLOUTS // (count * images * width))
                for first in range(0, len(members), per_batch):
                    batch = members[first : first + per_batch]
                    if deadline is not None and deadline.left() <= pace:
                        continue
                    began = now(deadline)
                    tried.update(customers[number] for number in batch)
                    decoding = Decoding("sampling" if was_tried else "greedy", augment=images > 1)
                    subsets = [_group_instance(instance, [current[i] for i in groups[number]], customers[number])
                               for number in batch]
                    variants = [fleet_variants(sub) for sub, _ in subsets]
                    pace_of_batch = None if deadline is None else DeadlinePace(deadline, abandon_if_late=True)
                    found = best_routes(policy, [variant for each in variants for variant in each], decoding,
                                        generator, pace_of_batch)
                    ends = np.cumsum([len(each) for each in variants])
                    for (sub, kept), number, end, each in zip(subsets, batch, ends, variants):
                        candidates = [] if found is None else found[end - len(each):end]
                        better = _improvement(sub, kept, [current[i] for i in groups[number]], customers[number],
                                              candidates)
                        if better is not None:
                            new[number] = better
                    pace = now(deadline) - began
                    improvements += sum(number in new for number in batch)
                    bar.set_postfix_str(f", {improvements} improved", refresh=False)
                    bar.update(len(batch))
            current = [route for number, group in enumerate(groups)
                       for route in new.get(number, [current[i] for i in group])]
            first_round = False
    return route_list(current, k, vehicles)
