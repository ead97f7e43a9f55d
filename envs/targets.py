"""The actions that reproduce a labelled route set: targets for teacher-forced decoding.

A route set has many equivalent action sequences: its routes in any order and, where a route
costs the same both ways (closed routes, symmetric travel, no time windows, no backhauls), either
direction. :class:`RouteTargets` says at every step which actions keep a rollout on the label:

- inside a route, its next customer (the previous one when the rollout runs it backwards);
- at the end of a route, a depot from which an unserved labelled route starts;
- at a depot, a customer that starts an unserved route from that depot (or ends one that may run
  backwards) and, at the very first step, the other depots that start one.

With ``order="fixed"`` the routes come in the label's order, each forwards: one target per step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from nco.envs.env import State, gather_rows
from nco.envs.problem import Problem
from nco.envs.variants import BACKHAUL_NONE

ORDERS = ("any", "fixed")
NO_NODE = -1


@dataclass(frozen=True)
class RouteTargets:
    """Per instance (B, N) tables of the labelled routes in the batch's location numbering, and
    per rollout (B, S) the direction in which each one runs its current route."""

    successor: torch.Tensor  # long: next customer on the label's route, NO_NODE at its end or at a depot
    predecessor: torch.Tensor  # long: previous customer, NO_NODE at its start or at a depot
    route_first: torch.Tensor  # bool: the customer starts its route
    route_last: torch.Tensor  # bool: the customer ends its route
    route_depot: torch.Tensor  # long: depot slot of the customer's route (a depot's own slot)
    route_rank: torch.Tensor  # long: position of the customer's route in the label
    reversible: torch.Tensor  # (B,) bool: a route costs the same and stays feasible backwards
    order: str = "any"
    forward: torch.Tensor | None = None  # (B, S) bool, set by :meth:`start`

    @classmethod
    def from_routes(cls, problem: Problem, routes: list[list[list[int]]], order: str = "any") -> RouteTargets:
        """The targets of one route list per instance of ``problem``; each route starts with its
        depot (the instance's numbering: depots ``0..k-1``, then customers).

        Raises
        ------
        ValueError
            When a route list does not serve every customer exactly once from a valid depot, or
            for a batch with vehicle types (not labelled yet).
        """
        if problem.vehicles is not None:
            raise ValueError("labels of instances with vehicle types are not read yet (a route's start slot is its "
                             "depot and vehicle type): label instances without vehicle types")
        if order not in ORDERS:
            raise ValueError(f"unknown label order {order!r}: use one of {', '.join(ORDERS)}")
        if len(routes) != problem.batch_size:
            raise ValueError(f"{len(routes)} route lists for {problem.batch_size} instances: give one per instance")
        batch, size, slots = problem.batch_size, problem.num_locations, problem.num_depot_slots
        successor = torch.full((batch, size), NO_NODE, dtype=torch.long)
        predecessor = successor.clone()
        route_depot = torch.arange(size).repeat(batch, 1)
        route_rank = torch.zeros(batch, size, dtype=torch.long)
        first = torch.zeros(batch, size, dtype=torch.bool)
        last = first.clone()
        for b, route_list in enumerate(routes):
            depots = int(problem.num_depots[b])
            shift = slots - depots
            served = []
            for rank, route in enumerate(route_list):
                if not route or not 0 <= route[0] < depots or len(route) < 2:
                    raise ValueError(f"instance {b}: route {rank} {route[:4]}... does not start at one of its "
                                     f"{depots} depots and visit a customer")
                visits = [node + shift for node in route[1:]]
                served += visits
                visit = torch.as_tensor(visits)
                successor[b, visit[:-1]], predecessor[b, visit[1:]] = visit[1:], visit[:-1]
                first[b, visit[0]], last[b, visit[-1]] = True, True
                route_depot[b, visit], route_rank[b, visit] = route[0], rank
            if sorted(served) != list(range(slots, size)):
                raise ValueError(f"instance {b}: its routes do not serve each of its {size - slots} customers "
                                 "exactly once")
        symmetric = (problem.distance == problem.distance.transpose(1, 2)).flatten(1).all(1)
        reversible = (symmetric & ~problem.open_route & ~problem.time_windows_on
                      & (problem.backhaul == BACKHAUL_NONE) & (problem.duration is None))
        device = problem.device
        return cls(successor.to(device), predecessor.to(device), first.to(device), last.to(device),
                   route_depot.to(device), route_rank.to(device), reversible.to(device) & (order == "any"), order)

    def keep(self, running: torch.Tensor) -> RouteTargets:
        """The targets of the instances that ``running`` (B,) keeps."""
        return RouteTargets(*(getattr(self, name)[running] for name in (
            "successor", "predecessor", "route_first", "route_last", "route_depot", "route_rank", "reversible")),
            self.order, None if self.forward is None else self.forward[running])

    def targets(self, problem: Problem, state: State) -> torch.Tensor:
        """(B, S, N) bool: the actions that keep each rollout on the label (not yet masked)."""
        slots = problem.num_depot_slots
        unserved = ~state.visited
        # customers that may start the next route: the first of an unserved route, or its last
        # where routes may run backwards; with the fixed order, only the next route's first
        starts = unserved & self.route_first[:, None]
        if self.order == "fixed":
            rank = torch.where(starts, self.route_rank[:, None], self.route_rank.shape[-1])
            starts = starts & (self.route_rank[:, None] == rank.min(-1, keepdim=True).values)
        else:
            starts = starts | (unserved & self.route_last[:, None] & self.reversible[:, None, None])
        # depots from which such a customer's route starts
        depot_one_hot = torch.nn.functional.one_hot(self.route_depot, slots).float()
        start_depots = torch.bmm(starts.float(), depot_one_hot) > 0  # (B, S, slots)
        at_depot = state.current < slots
        from_depot = starts & (self.route_depot[:, None] == state.current[..., None])
        from_depot[..., :slots] = start_depots
        # inside a route: the neighbour in the rollout's direction, or a depot at the route's end
        forward = self.forward if self.forward is not None else torch.ones_like(at_depot)
        following = torch.where(forward, gather_rows(self.successor[..., None], state.current)[..., 0],
                                gather_rows(self.predecessor[..., None], state.current)[..., 0])
        inside = torch.zeros_like(state.visited)
        inside.scatter_(-1, following.clamp(min=0)[..., None], True)
        at_route_end = torch.zeros_like(state.visited)
        at_route_end[..., :slots] = start_depots
        inside = torch.where((following == NO_NODE)[..., None], at_route_end, inside)
        return torch.where(at_depot[..., None], from_depot, inside)

    def start(self, num_starts: int) -> RouteTargets:
        """The targets before the first step of ``num_starts`` rollouts per instance."""
        return replace(self, forward=torch.ones(self.successor.shape[0], num_starts, dtype=torch.bool,
                                                device=self.successor.device))

    def after(self, state: State, action: torch.Tensor, slots: int) -> RouteTargets:
        """The directions after ``action`` (B, S) from ``state``: a route entered from a depot at
        its last customer runs backwards."""
        entered = (state.current < slots) & (action >= slots)
        first = self.route_first.gather(1, action)
        return replace(self, forward=torch.where(entered, first, self.forward))
