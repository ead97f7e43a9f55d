"""The environment: pure tensor functions ``reset``, ``step``, ``action_mask`` and ``cost``.

A state holds ``S`` parallel rollouts of each of ``B`` instances (shape ``(B, S, ...)``); the
static data stays in the ``Problem`` (shape ``(B, ...)``) and is read with gathers, so multi-start
rollouts never copy it. An action is a location index: a customer to visit next, or a depot ``k``,
which ends the current route (closed routes return to the depot they started from) and starts
the next route at ``k``. One code path serves every variant:

- capacity follows the mixed-backhaul rule ``Ltot + max(P - D) <= Q`` of variants.md, which reduces
  to ``max(D, P) <= Q`` under strict precedence and to ``D <= Q`` without backhauls;
- strict backhauls (B) add one rule: no linehaul customer after a backhaul customer on a route;
- open routes drop the return arc from the cost and from the length and time checks;
- a route may only start at (or, at the very first step, switch to) a depot from which some
  unvisited customer can still be served, so no rollout is ever stuck.

With vehicle types (``problem.vehicles``, :mod:`nco.envs.slot_fleet`) the depot slots are start
slots, one per (depot, vehicle type): a route's capacity, allowed customers, duration limit and
costs are its slot's, and a slot's vehicles are counted. The duration of a route is PyVRP's: it
leaves its depot as late as it can without arriving late anywhere, so it is its end minus its start
at the depot's opening, less the smaller of its waiting and how much later it could have left
(``route_wait``, ``route_slack``). A rollout that would be stuck for want of vehicles may start one
more than a slot has: the solution is then infeasible, as the judge reports, never silently so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable

import torch

from nco.envs.problem import Problem
from nco.envs.route import Route, route_list
from nco.envs.variants import BACKHAUL_STRICT


@dataclass
class State:
    """Dynamic state of ``S`` rollouts per instance; every tensor is ``(B, S)`` unless noted."""

    current: torch.Tensor  # long: location of the vehicle
    route_depot: torch.Tensor  # long: depot slot the current route started from
    visited: torch.Tensor  # (B, S, N) bool: customers served (depots are never marked)
    num_served: torch.Tensor  # long: customers served, the count of ``visited``
    time: torch.Tensor  # departure time from ``current``
    route_length: torch.Tensor  # distance travelled on the current route
    route_linehaul: torch.Tensor  # Ltot: linehaul demand of the route so far
    route_net_pickup: torch.Tensor  # P - D at the current point of the route
    route_max_net_pickup: torch.Tensor  # max of P - D over the route's points (starts at 0)
    route_has_backhaul: torch.Tensor  # bool: a backhaul customer was served on the route
    route_wait: torch.Tensor  # waiting on the route so far (kept with vehicle types only)
    route_slack: torch.Tensor  # how much later the route could have left its depot without arriving
    # late so far, its waiting before each place counted (inf at the depot; vehicle types only)
    vehicles_used: torch.Tensor  # (B, S, M) long: routes started at each slot (vehicle types only)
    distance_from_current: torch.Tensor  # (B, S, N): distance from ``current`` to every location
    duration_from_current: torch.Tensor  # (B, S, N): travel time from ``current`` (the same tensor
    # as ``distance_from_current`` without a duration matrix)
    depot_serves: torch.Tensor  # (B, K, N) bool, static: customer feasible alone from depot k
    distance_to_depot: torch.Tensor  # (B, K, N), static: distance from each node to depot k
    duration_to_depot: torch.Tensor  # (B, K, N), static: travel time from each node to depot k
    num_steps: int = 0

    @property
    def all_visited(self) -> torch.Tensor:
        """(B, S) bool: every customer has been served."""
        return self.num_served == self.visited.shape[-1] - self.depot_serves.shape[1]

    @property
    def done(self) -> torch.Tensor:
        """(B, S) bool: every customer served and the last route closed."""
        return self.all_visited & (self.current < self.depot_serves.shape[1])


def gather_rows(matrix: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``matrix[b, index[b, s], :]`` for a (B, M, N) matrix and a (B, S) index -> (B, S, N).

    Whole rows of the flattened matrix: on CPU much faster than a ``gather`` with the index
    expanded over the last axis (measured: docs/constants.md)."""
    batch, rows = matrix.shape[:2]
    flat = index if batch == 1 else index + torch.arange(batch, device=index.device)[:, None] * rows
    return matrix.flatten(0, 1).index_select(0, flat.flatten()).view(*index.shape, matrix.shape[-1])


def gather_arcs(matrix: torch.Tensor, origin: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``matrix[b, origin[b, s], target[b, s]]`` for a (B, N, N) matrix -> (B, S)."""
    return matrix.flatten(1).gather(1, origin * matrix.shape[-1] + target)


def _gather_nodes(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, s]]`` for (B, N) values and a (B, S) index -> (B, S)."""
    return values.gather(1, index)


def _customer_feasible(problem: Problem, state: State) -> torch.Tensor:
    """(B, S, N) bool: location j can be appended to each rollout's route as a customer."""
    slots = problem.num_depot_slots
    closed = ~problem.open_route[:, None, None]
    distance_out, time_out = state.distance_from_current, state.duration_from_current
    distance_back = gather_rows(state.distance_to_depot, state.route_depot)
    # without a duration matrix (travel time = distance) one gather serves both
    same_matrix = problem.duration is None
    time_back = distance_back if same_matrix else gather_rows(state.duration_to_depot, state.route_depot)

    length = state.route_length[..., None] + distance_out + torch.where(closed, distance_back, 0.0)
    length_ok = length <= problem.distance_limit[:, None, None]

    early = problem.time_windows[:, None, :, 0]
    late = problem.time_windows[:, None, :, 1]
    arrival = state.time[..., None] + time_out
    departure = torch.maximum(arrival, early) + problem.service_time[:, None, :]
    depot_late = _gather_nodes(problem.time_windows[..., 1], state.route_depot)[..., None]
    return_ok = ~closed | (departure + time_back <= depot_late)
    time_ok = (arrival <= late) & return_ok

    # the capacity rule with the per-rollout terms summed first: room = Q - Ltot
    linehaul = problem.demand_linehaul[:, None, :]
    backhaul = problem.demand_backhaul[:, None, :]
    fleet = problem.vehicles
    capacity = problem.capacity[:, None] if fleet is None else _gather_nodes(fleet.capacity, state.route_depot)
    room = capacity - state.route_linehaul
    is_backhaul = backhaul > 0
    linehaul_ok = linehaul <= (room - state.route_max_net_pickup)[..., None]
    peak_ok = torch.maximum(state.route_max_net_pickup, state.route_net_pickup) <= room
    backhaul_ok = peak_ok[..., None] & (backhaul <= (room - state.route_net_pickup)[..., None])
    capacity_ok = torch.where(is_backhaul, backhaul_ok, linehaul_ok)

    strict = (problem.backhaul == BACKHAUL_STRICT)[:, None, None]
    precedence_ok = ~strict | is_backhaul | ~state.route_has_backhaul[..., None]

    feasible = ~state.visited & length_ok & time_ok & capacity_ok & precedence_ok
    if fleet is not None:
        feasible &= gather_rows(fleet.allowed, state.route_depot)
        # the route's least duration if the location were its last (module docstring)
        wait_before = state.route_wait[..., None]
        wait = wait_before + (early - arrival).clamp(min=0)
        slack = torch.minimum(state.route_slack[..., None], late - arrival + wait_before)
        end = torch.where(closed, departure + time_back, departure)
        slack = torch.where(closed, torch.minimum(slack, depot_late - end + wait), slack)
        start = _gather_nodes(problem.time_windows[..., 0], state.route_depot)[..., None]
        duration = end - start - torch.minimum(slack, wait)
        feasible &= duration <= _gather_nodes(fleet.max_duration, state.route_depot)[..., None]
    feasible[..., :slots] = False
    return feasible


def _initial_state(
    problem: Problem, depots: torch.Tensor, static: dict[str, torch.Tensor | None]
) -> State:
    """Rollouts standing at ``depots`` (B, S) with empty routes and nothing visited; ``static``
    holds the per-instance tables (``depot_serves``, ``distance_to_depot``, ``duration_to_depot``)."""
    batch, starts = depots.shape
    zeros = torch.zeros(batch, starts, dtype=problem.locs.dtype, device=problem.device)
    return State(
        current=depots,
        route_depot=depots,
        visited=torch.zeros(batch, starts, problem.num_locations, dtype=torch.bool, device=problem.device),
        num_served=torch.zeros_like(depots),
        time=_gather_nodes(problem.time_windows[..., 0], depots),
        route_length=zeros,
        route_linehaul=zeros,
        route_net_pickup=zeros,
        route_max_net_pickup=zeros,
        route_has_backhaul=torch.zeros_like(depots, dtype=torch.bool),
        route_wait=zeros,
        route_slack=torch.full_like(zeros, float("inf")),
        vehicles_used=torch.zeros(batch, starts, problem.num_depot_slots, dtype=torch.long, device=problem.device),
        **_rows_from(problem, depots),
        **static,
    )


def _rows_from(problem: Problem, current: torch.Tensor) -> dict[str, torch.Tensor]:
    """The state's ``distance_from_current`` and ``duration_from_current`` at ``current`` (B, S):
    gathered once per step, for the action mask and the policy alike."""
    distance = gather_rows(problem.distance, current)
    duration = distance if problem.duration is None else gather_rows(problem.duration, current)
    return {"distance_from_current": distance, "duration_from_current": duration}


def first_slot(problem: Problem) -> torch.Tensor:
    """(B,) long: the slot every rollout stands at after :func:`reset`, each instance's first
    real one (depot 0 without vehicle types)."""
    if problem.vehicles is None:
        return torch.zeros(problem.batch_size, dtype=torch.long, device=problem.device)
    return problem.depot_valid.int().argmax(1)


def reset(problem: Problem, num_starts: int = 1) -> State:
    """``num_starts`` rollouts per instance, each standing at its :func:`first_slot` (depot 0
    without vehicle types) with nothing served.

    Raises
    ------
    ValueError
        When a customer cannot be served by any route, even alone.
    """
    slots = problem.num_depot_slots
    all_depots = torch.arange(slots, device=problem.device).expand(problem.batch_size, slots)
    distance_to_depot = problem.distance[..., :slots].transpose(1, 2).contiguous()
    duration_to_depot = (
        distance_to_depot if problem.duration is None
        else problem.duration[..., :slots].transpose(1, 2).contiguous()
    )
    static = {"depot_serves": None, "distance_to_depot": distance_to_depot,
              "duration_to_depot": duration_to_depot}
    probe = _initial_state(problem, all_depots, static)
    static["depot_serves"] = _customer_feasible(problem, probe) & problem.depot_valid[..., None]
    unserved = ~static["depot_serves"].any(1)[:, slots:]
    if unserved.any():
        b, j = (int(x) for x in unserved.nonzero()[0])
        raise ValueError(
            f"instance {b}: customer {j + slots} cannot be served by any route, even alone: "
            "widen its time window, the depot's time window or the distance limit"
        )
    return _initial_state(problem, first_slot(problem)[:, None].expand(-1, num_starts), static)


def action_mask(problem: Problem, state: State) -> torch.Tensor:
    """(B, S, N) bool: the feasible actions; every rollout has at least one."""
    slots = problem.num_depot_slots
    mask = _customer_feasible(problem, state)
    all_visited = state.all_visited[..., None]
    if slots == 1:  # reset checked that the one depot serves every customer
        useful = ~all_visited
    else:  # a depot is useful while it serves an unvisited customer
        useful = torch.bmm((~state.visited).float(), state.depot_serves.float().transpose(1, 2)) > 0
    depot = torch.arange(slots, device=problem.device)
    at_depot = (state.current < slots)[..., None]
    is_current = depot == state.current[..., None]
    # with customers left: end the route and start the next at a useful depot, or at the very
    # first step choose where the first route starts; with none: the last route goes home, then stays
    start_ok = useful & (~at_depot | ~is_current if state.num_steps == 0 else ~at_depot)
    if problem.vehicles is not None:  # a slot with no vehicle left only where nothing else is feasible
        left = state.vehicles_used < problem.vehicles.available[:, None, :]
        stuck = ~(mask.any(-1, keepdim=True) | (start_ok & left).any(-1, keepdim=True))
        start_ok &= left | stuck
    finish = torch.where(at_depot, is_current, depot == state.route_depot[..., None])
    mask[..., :slots] = torch.where(all_visited, finish, start_ok)
    return mask


def step(problem: Problem, state: State, action: torch.Tensor) -> State:
    """The state after each rollout takes ``action`` (B, S); the action must be feasible."""
    slots = problem.num_depot_slots
    to_depot = action < slots
    distance = state.distance_from_current.gather(2, action[..., None])[..., 0]
    travel = distance if problem.duration is None else state.duration_from_current.gather(2, action[..., None])[..., 0]
    early = _gather_nodes(problem.time_windows[..., 0], action)
    linehaul = _gather_nodes(problem.demand_linehaul, action)
    backhaul = _gather_nodes(problem.demand_backhaul, action)
    service = _gather_nodes(problem.service_time, action)

    net_pickup = state.route_net_pickup + backhaul - linehaul
    zero = torch.zeros_like(distance)
    visited = state.visited.scatter(2, action[..., None], ~to_depot[..., None])
    fleet_state = {}
    if problem.vehicles is not None:
        arrival = state.time + travel
        late = _gather_nodes(problem.time_windows[..., 1], action)
        starts_route = (state.current < slots) & ~to_depot
        fleet_state = dict(
            route_wait=torch.where(to_depot, zero, state.route_wait + (early - arrival).clamp(min=0)),
            route_slack=torch.where(to_depot, float("inf"),
                                    torch.minimum(state.route_slack, late - arrival + state.route_wait)),
            vehicles_used=state.vehicles_used.scatter_add(2, state.route_depot[..., None],
                                                          starts_route[..., None].long()),
        )
    return replace(
        state,
        **fleet_state,
        current=action,
        route_depot=torch.where(to_depot, action, state.route_depot),
        visited=visited,
        num_served=state.num_served + ~to_depot,
        time=torch.where(to_depot, early, torch.maximum(state.time + travel, early) + service),
        route_length=torch.where(to_depot, zero, state.route_length + distance),
        route_linehaul=torch.where(to_depot, zero, state.route_linehaul + linehaul),
        route_net_pickup=torch.where(to_depot, zero, net_pickup),
        route_max_net_pickup=torch.where(
            to_depot, zero, torch.maximum(state.route_max_net_pickup, net_pickup)
        ),
        route_has_backhaul=~to_depot & (state.route_has_backhaul | (backhaul > 0)),
        **_rows_from(problem, action),
        num_steps=state.num_steps + 1,
    )


def cost(problem: Problem, actions: torch.Tensor) -> torch.Tensor:
    """(B, S) total distance of the action sequences ``actions`` (B, S, T) from ``reset``; with
    vehicle types, each route's distance times its slot's cost per unit of distance, plus its
    slot's fixed cost, plus :func:`fleet_penalty` for each route beyond a slot's vehicles (so that
    every solution within the fleet costs less than every solution beyond it).

    An arc into a depot is the return arc to the route's own depot (free on open routes); a
    sequence that has not closed its last route is charged its return arc too.
    """
    slots = problem.num_depot_slots
    batch, starts, _ = actions.shape
    start = first_slot(problem)[:, None, None].expand(batch, starts, 1)
    path = torch.cat([start, actions, start], dim=2)  # where reset stands
    is_depot = path < slots
    position = torch.arange(path.shape[2], device=path.device).expand_as(path)
    last_depot_position = torch.where(is_depot, position, 0).cummax(2).values
    route_depot = path.gather(2, last_depot_position)
    origin, target = path[..., :-1], path[..., 1:]
    # the arc into a depot goes to the route's own depot: the last depot before the origin
    target = torch.where(is_depot[..., 1:], route_depot[..., :-1], target)
    arcs = gather_arcs(problem.distance, origin.flatten(1), target.flatten(1)).view_as(origin)
    closing = is_depot[..., 1:] & problem.open_route[:, None, None]
    arcs = torch.where(closing, 0.0, arcs)
    if problem.vehicles is None:
        return arcs.sum(-1)
    slot = route_depot[..., :-1].flatten(1)
    unit_cost = problem.vehicles.unit_cost.gather(1, slot).view_as(arcs)
    started = is_depot[..., :-1] & ~is_depot[..., 1:]  # a route's first customer follows its slot
    fixed_cost = torch.where(started, problem.vehicles.fixed_cost.gather(1, slot).view_as(arcs), 0.0)
    routes = torch.zeros(batch, starts, slots, device=actions.device).scatter_add_(
        2, route_depot[..., :-1], started.to(arcs.dtype))
    beyond = (routes - problem.vehicles.available[:, None, :]).clamp(min=0).sum(-1)
    return (arcs * unit_cost + fixed_cost).sum(-1) + beyond * fleet_penalty(problem)[:, None]


def fleet_penalty(problem: Problem) -> torch.Tensor:
    """(B,) what :func:`cost` adds per route beyond a slot's vehicles: more than any solution of
    the instance costs (every arc at most the longest at the dearest unit cost, every customer on
    a route of its own at the dearest fixed cost)."""
    fleet, locations = problem.vehicles, problem.num_locations
    valid = problem.depot_valid
    dearest = torch.where(valid, fleet.unit_cost, 0.0).amax(1)
    fixed = torch.where(valid, fleet.fixed_cost, 0.0).amax(1)
    return 2 * locations * (problem.distance.amax((1, 2)) * dearest + fixed)


def keep_instances(state: State, keep: torch.Tensor) -> State:
    """The state of the instances selected by ``keep`` (a (B,) bool mask or index) only; the
    problem is sliced alike with ``problem[keep]``."""
    return State(**{
        f.name: value[keep] if isinstance(value := getattr(state, f.name), torch.Tensor) else value
        for f in fields(state)
    })


def keep_rollouts(state: State, keep: torch.Tensor) -> State:
    """The state of the rollouts selected by ``keep`` (an (S',) index) of every instance only."""
    per_instance = ("depot_serves", "distance_to_depot", "duration_to_depot")  # no rollout axis
    return replace(state, **{
        f.name: getattr(state, f.name)[:, keep] for f in fields(state)
        if f.name not in per_instance and isinstance(getattr(state, f.name), torch.Tensor)
    })


def max_num_steps(problem: Problem) -> int:
    """An upper bound on the steps of any rollout (one choice of start depot, then at most two
    steps per customer)."""
    return 2 * problem.num_customers + 1


def rollout(
    problem: Problem,
    choose: Callable[[Problem, State, torch.Tensor], torch.Tensor],
    num_starts: int = 1,
    starts: torch.Tensor | None = None,
    on_drop: Callable[[torch.Tensor], None] | None = None,
    trim: Callable[[State], torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """Actions (B, S, T) of rollouts that take ``choose(problem, state, mask)`` (a feasible action
    per rollout, given the (B', S, N) action mask) until every rollout is done: the one decoding
    loop of the project (the policy, the nearest-neighbour construction, random rollouts).

    Parameters
    ----------
    starts
        (B, S) forced first actions (multi-start): at the first step, a rollout whose start is
        feasible sees a mask that allows only its start (elsewhere the chooser chooses).
    on_drop
        Instances whose rollouts are all done leave the batch: ``choose`` then sees the others
        only (problem and state sliced alike), and ``on_drop(running)`` is told which instances of
        the previous batch remain (a (B',) bool), for what the caller keeps per instance.
    trim
        After each step, ``trim(state)`` may give the (S',) index of the rollouts to go on with,
        the same for every instance (how a deadline cuts a pass short): the others are dropped
        with their actions so far; ``None`` keeps them all, an empty index gives them all up
        (the actions returned then hold no rollout).
    """
    state = reset(problem, num_starts)
    active, active_problem = torch.arange(problem.batch_size, device=problem.device), problem
    last_action = torch.zeros(problem.batch_size, num_starts, dtype=torch.long, device=problem.device)
    actions = []
    while len(active):
        if state.num_steps > max_num_steps(problem):
            raise RuntimeError("rollout exceeded its step bound: the action mask is inconsistent")
        mask = action_mask(active_problem, state)
        if starts is not None and state.num_steps == 0:
            only_start = torch.zeros_like(mask).scatter_(-1, starts[..., None], True)
            forced = (mask & only_start).any(-1, keepdim=True)
            mask = torch.where(forced, only_start, mask)
        action = choose(active_problem, state, mask)
        state = step(active_problem, state, action)
        last_action = last_action.index_copy(0, active, action)  # done rollouts stay at their depot
        actions.append(last_action)
        running = ~state.done.all(1)
        if not running.all():
            active, active_problem, state = active[running], active_problem[running], keep_instances(state, running)
            if on_drop is not None:
                on_drop(running)
        kept = None if trim is None or not len(active) else trim(state)
        if kept is not None:
            state, last_action = keep_rollouts(state, kept), last_action[:, kept]
            actions = [taken[:, kept] for taken in actions]
            if not len(kept):
                break
    return torch.stack(actions, dim=2)


def random_rollout(
    problem: Problem, num_starts: int = 1, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Actions (B, S, T) of rollouts that pick uniformly among feasible actions until done."""

    def choose(_, __, mask: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(mask.shape, generator=generator, device=mask.device)
        return torch.where(mask, noise, -1.0).argmax(-1)

    return rollout(problem, choose, num_starts)


def actions_to_routes(actions: torch.Tensor, problem: Problem, index: int) -> list[list[int]]:
    """The route list of one action sequence (T,) of instance ``index`` of ``problem``, in the
    instance's location numbering (:meth:`nco.envs.problem.Problem.instance`).

    Customer slots are shifted back to the instance's numbering (depots ``0..num_depots-1``,
    then customers); with several depots each route starts with its depot, as in formats.md. With
    vehicle types the list is aligned to the instance's vehicles (:func:`nco.envs.route.route_list`).
    """
    num_depots, slots = int(problem.num_depots[index]), problem.num_depot_slots
    fleet = problem.vehicles
    slot_depot = range(slots) if fleet is None else fleet.depot[index].tolist()
    slot_type = [0] * slots if fleet is None else fleet.vehicle_type[index].tolist()
    shift = slots - num_depots
    routes: list[Route] = []
    slot, route = int(first_slot(problem)[index]), []
    for action in actions.tolist() + [0]:  # a final depot closes the last route
        if action < slots:
            if route:
                routes.append(Route(slot_depot[slot], tuple(route), slot_type[slot]))
            slot, route = action, []
        else:
            route.append(action - shift)
    if fleet is None:
        return route_list(routes, num_depots, None)
    vehicle_types = fleet.instance_fleet(index, num_depots)[0]
    return route_list(routes, num_depots, vehicle_types.vehicle_types(problem.num_customers))
