"""``SlotFleet``: the vehicle type behind each start slot of a batch, as tensors.

With vehicle types, a route starts by choosing a (depot, vehicle type) pair: the batch's
``num_depot_slots`` start slots are those pairs (:meth:`nco.envs.fleet.VehicleTypes.start_depots`),
each a copy of its depot's location, so the environment reads a route's depot, capacity, costs,
duration limit, allowed customers and vehicle count from the slot it started at. An instance
without vehicle types has one slot per depot, an unlimited vehicle of its capacity at cost 1 per
unit of distance. Spare slots of a padded batch have no vehicle (``available`` 0).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import numpy as np
import torch

from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance


@dataclass
class SlotFleet:
    """Per start slot, ``(B, M)`` for ``B`` instances and ``M`` slots (``allowed``: ``(B, M, N)``)."""

    vehicle_type: torch.Tensor  # long: the type's index in the instance's VehicleTypes (-1: spare slot)
    depot: torch.Tensor  # long: the depot (instance numbering) the slot copies
    capacity: torch.Tensor
    fixed_cost: torch.Tensor  # cost of each route started here
    unit_cost: torch.Tensor  # cost per unit of distance
    max_duration: torch.Tensor  # inf: no limit
    available: torch.Tensor  # vehicles that may start here (inf: unlimited, 0: a spare slot)
    allowed: torch.Tensor  # (B, M, N) bool: the locations a route from the slot may serve

    def map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> SlotFleet:
        return SlotFleet(**{f.name: function(getattr(self, f.name)) for f in fields(self)})

    def check_shapes(self, batch: int, slots: int, locations: int) -> None:
        """Raises ``ValueError`` naming the first field whose shape is not ``(batch, slots)`` (or
        ``(batch, slots, locations)``)."""
        for f in fields(self):
            expected = (batch, slots, locations) if f.name == "allowed" else (batch, slots)
            if tuple(getattr(self, f.name).shape) != expected:
                raise ValueError(f"vehicles.{f.name} has shape {tuple(getattr(self, f.name).shape)}, expected "
                                 f"{expected}: give one value per instance and start slot")

    @staticmethod
    def slots_of(instance: Instance) -> list[tuple[int, int]]:
        """``(vehicle type, depot)`` of each start slot of ``instance``: one per depot without
        vehicle types."""
        if instance.vehicle_types is None:
            return [(0, depot) for depot in range(instance.num_depots)]
        return instance.vehicle_types.start_depots(instance.num_depots)

    @classmethod
    def from_instances(cls, instances: list[Instance], start_slots: list[list[tuple[int, int]]], num_slots: int,
                       num_locations: int, dtype: torch.dtype, device: str | torch.device) -> SlotFleet:
        """The slots of ``instances`` (their :meth:`slots_of`, ``start_slots``; every one with at
        most ``num_slots`` slots), laid out as :class:`nco.envs.problem.Problem` lays out
        locations: the slots, spare slots, then the customers."""
        columns: dict[str, list] = {f.name: [] for f in fields(cls)}
        for instance, slots in zip(instances, start_slots):
            fleet = instance.fleet
            kinds = np.array([kind for kind, _ in slots] + [-1] * (num_slots - len(slots)))
            real = kinds >= 0
            kind = np.where(real, kinds, 0)
            columns["vehicle_type"].append(kinds)
            columns["depot"].append(np.array([depot for _, depot in slots] + [0] * (num_slots - len(slots))))
            columns["capacity"].append(fleet.capacity[kind])
            columns["fixed_cost"].append(fleet.fixed_cost[kind])
            columns["unit_cost"].append(fleet.unit_distance_cost[kind])
            columns["max_duration"].append(fleet.max_duration[kind])
            columns["available"].append(np.where(real, fleet.num_available[kind], 0.0))
            allows = fleet.allows(instance.num_locations)[kind][:, instance.num_depots:]  # customers only
            allowed = np.zeros((num_slots, num_locations), dtype=bool)
            allowed[:, num_slots:] = allows & real[:, None]
            columns["allowed"].append(allowed)
        integer = ("vehicle_type", "depot")
        return cls(**{
            name: torch.as_tensor(np.asarray(values), device=device,
                                  dtype=torch.long if name in integer else torch.bool if name == "allowed" else dtype)
            for name, values in columns.items()
        })

    def instance_fleet(self, index: int, num_depots: int) -> tuple[VehicleTypes, np.ndarray]:
        """The vehicle types of instance ``index`` (with ``num_depots`` depots) and the slot that
        holds each of its depots' locations, for :meth:`nco.envs.problem.Problem.instance`."""
        kinds, depots = self.vehicle_type[index].cpu().numpy(), self.depot[index].cpu().numpy()
        depot_slots = np.array([np.flatnonzero((kinds >= 0) & (depots == depot))[0] for depot in range(num_depots)])
        slots_of_type = [np.flatnonzero(kinds == kind) for kind in range(kinds.max() + 1)]
        first = np.array([slots[0] for slots in slots_of_type])

        def per_type(tensor: torch.Tensor) -> np.ndarray:
            return tensor[index].detach().cpu().double().numpy()[first]

        allowed = self.allowed[index].cpu().numpy()[first][:, len(kinds):]
        return VehicleTypes(
            capacity=per_type(self.capacity),
            num_available=per_type(self.available),
            fixed_cost=per_type(self.fixed_cost),
            unit_distance_cost=per_type(self.unit_cost),
            max_duration=per_type(self.max_duration),
            depot=[-1 if len(slots) == num_depots else depots[slots[0]] for slots in slots_of_type],
            allowed=None if allowed.all() else np.concatenate([np.ones((len(first), num_depots), bool), allowed], 1),
        ), depot_slots
