"""``Problem``: a batch of instances as tensors, the static input of the environment.

Locations are laid out as ``num_depot_slots`` depot slots followed by the customers. An instance
with fewer depots than slots fills the spare slots with copies of its first depot and marks them
invalid (``depot_valid``), so one batch mixes single- and multi-depot instances. Every attribute
is per instance; one that is off holds its neutral value (``inf`` limit, ``[0, inf]`` windows,
zero backhaul demand and service time). With vehicle types the depot slots are start slots, one per
(depot, vehicle type) pair, each a copy of its depot (:mod:`nco.envs.slot_fleet`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields

import numpy as np
import torch

from nco.envs.instance import Instance
from nco.envs.slot_fleet import SlotFleet
from nco.memory import shortfall
from nco.envs.variants import Variant, has_time_windows, variant_index


@dataclass
class Problem:
    """Batched static data; ``B`` instances of ``N = num_depot_slots + num_customers`` locations.

    Attributes
    ----------
    locs : (B, N, 2) coordinates (model units for generated data).
    distance : (B, N, N) travel distances.
    duration : (B, N, N) travel times, or ``None`` when they equal the distances
    (:attr:`travel_time` gives either).
    demand_linehaul, demand_backhaul : (B, N) raw demands, compared against ``capacity``.
    capacity : (B,) the largest vehicle's (what demands are scaled by).
    time_windows : (B, N, 2) ``[early, late]``.
    service_time : (B, N)
    distance_limit : (B,) route-length limit (``inf`` when off).
    open_route : (B,) bool.
    backhaul : (B,) long, ``BACKHAUL_NONE`` / ``BACKHAUL_STRICT`` / ``BACKHAUL_MIXED``.
    num_depots : (B,) long, depots per instance (without vehicle types: its valid depot slots).
    num_depot_slots : int, depot slots of the batch (the largest ``num_depots``, or with vehicle
    types the largest number of start slots).
    explicit_matrix : bool, the matrices were given rather than computed from ``locs``.
    vehicles : the vehicle type of each start slot (:class:`~nco.envs.slot_fleet.SlotFleet`), or
    ``None`` when no instance has vehicle types (each slot an unlimited vehicle of ``capacity``
    at cost 1 per unit of distance).
    """

    locs: torch.Tensor
    distance: torch.Tensor
    duration: torch.Tensor | None
    demand_linehaul: torch.Tensor
    demand_backhaul: torch.Tensor
    capacity: torch.Tensor
    time_windows: torch.Tensor
    service_time: torch.Tensor
    distance_limit: torch.Tensor
    open_route: torch.Tensor
    backhaul: torch.Tensor
    num_depots: torch.Tensor
    num_depot_slots: int
    explicit_matrix: bool = False
    vehicles: SlotFleet | None = None

    def __post_init__(self):
        batch, num_locations = self.locs.shape[:2]
        expected = {
            "locs": (batch, num_locations, 2),
            "distance": (batch, num_locations, num_locations),
            "duration": (batch, num_locations, num_locations),
            "demand_linehaul": (batch, num_locations),
            "demand_backhaul": (batch, num_locations),
            "capacity": (batch,),
            "time_windows": (batch, num_locations, 2),
            "service_time": (batch, num_locations),
            "distance_limit": (batch,),
            "open_route": (batch,),
            "backhaul": (batch,),
            "num_depots": (batch,),
        }
        for name, shape in expected.items():
            if getattr(self, name) is None:  # duration: the distances
                continue
            actual = tuple(getattr(self, name).shape)
            if actual != shape:
                raise ValueError(
                    f"{name} has shape {actual}, expected {shape} for {batch} instances of "
                    f"{num_locations} locations: give every field the same batch and location sizes"
                )
        if self.vehicles is not None:
            self.vehicles.check_shapes(batch, self.num_depot_slots, num_locations)
        if not 1 <= self.num_depot_slots < num_locations:
            raise ValueError(
                f"num_depot_slots is {self.num_depot_slots} with {num_locations} locations: "
                "need at least one depot slot and one customer"
            )
        for name in ("locs", "distance", "duration", "demand_linehaul", "demand_backhaul",
                     "capacity", "service_time"):
            if getattr(self, name) is not None and not torch.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name} contains NaN or infinite values: give finite numbers")
        if torch.isnan(self.time_windows).any() or torch.isnan(self.distance_limit).any():
            raise ValueError("time_windows or distance_limit contains NaN: use inf for 'no limit'")
        if (self.capacity <= 0).any():
            b = int((self.capacity <= 0).nonzero()[0])
            raise ValueError(f"instance {b}: the capacity is {float(self.capacity[b])}: give a positive number")
        over = (self.demand_linehaul > self.capacity[:, None]) | (
            self.demand_backhaul > self.capacity[:, None]
        )
        if over.any():
            b, i = (int(x) for x in over.nonzero()[0])
            raise ValueError(
                f"instance {b}: the demand of location {i} exceeds the capacity: raise the "
                "capacity or split the customer"
            )

    # ------------------------------------------------------------------ shape helpers
    @property
    def batch_size(self) -> int:
        return self.locs.shape[0]

    @property
    def num_locations(self) -> int:
        return self.locs.shape[1]

    @property
    def num_customers(self) -> int:
        return self.num_locations - self.num_depot_slots

    @property
    def travel_time(self) -> torch.Tensor:
        """(B, N, N) travel times: ``duration``, or the distances when it is ``None``."""
        return self.distance if self.duration is None else self.duration

    @property
    def device(self) -> torch.device:
        return self.locs.device

    @property
    def depot_valid(self) -> torch.Tensor:
        """(B, num_depot_slots) bool: which depot slots hold a real depot (a vehicle type there)."""
        if self.vehicles is not None:
            return self.vehicles.available > 0
        slots = torch.arange(self.num_depot_slots, device=self.device)
        return slots[None, :] < self.num_depots[:, None]

    @property
    def time_windows_on(self) -> torch.Tensor:
        """(B,) bool: the instance has a time window or service time."""
        return has_time_windows(self.time_windows, self.service_time)

    @property
    def variant_index(self) -> torch.Tensor:
        """(B,) long: index of each instance's variant in ``ALL48``."""
        return variant_index(
            (self.num_depots > 1).long(),
            self.open_route.long(),
            self.backhaul,
            torch.isfinite(self.distance_limit).long(),
            self.time_windows_on.long(),
        )

    def variants(self) -> list[Variant]:
        return [Variant.from_index(int(i)) for i in self.variant_index]

    def to(self, device) -> Problem:
        return self.map(lambda tensor: tensor.to(device))

    def map(self, function) -> Problem:
        """A problem with ``function`` applied to every tensor field."""
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            values[f.name] = (function(value) if isinstance(value, torch.Tensor)
                              else value.map(function) if isinstance(value, SlotFleet) else value)
        return Problem(**values)

    def __getitem__(self, index) -> Problem:
        """A sub-batch, e.g. ``problem[:8]`` or ``problem[mask]``."""
        index = torch.as_tensor(index, device=self.device) if not isinstance(index, slice) else index
        return self.map(lambda tensor: tensor[index])

    # ------------------------------------------------------------------ conversions
    @classmethod
    def from_instances(
        cls,
        instances: list[Instance],
        num_depot_slots: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Problem:
        """Stacks instances with the same number of customers into one batch."""
        if not instances:
            raise ValueError("no instances given: pass at least one Instance")
        sizes = {instance.num_customers for instance in instances}
        if len(sizes) > 1:
            raise ValueError(
                f"instances have different numbers of customers {sorted(sizes)}: batch only "
                "instances of one size together"
            )
        start_slots = [SlotFleet.slots_of(instance) for instance in instances]
        slots = max(len(pairs) for pairs in start_slots)
        slots = slots if num_depot_slots is None else num_depot_slots
        if slots < max(len(pairs) for pairs in start_slots):
            raise ValueError(f"num_depot_slots={slots} is below an instance's number of depots (start slots)")
        explicit = any(
            i.distance_matrix is not None or i.duration_matrix is not None for i in instances
        )

        def layout(instance: Instance, pairs: list[tuple[int, int]]) -> np.ndarray:
            """Location order of the padded batch: the depot of each start slot, padding copies of
            depot 0, customers."""
            pad = np.zeros(slots - len(pairs), dtype=int)
            customers = np.arange(instance.num_depots, instance.num_locations)
            return np.concatenate([[depot for _, depot in pairs], pad, customers])

        columns: dict[str, list] = {name: [] for name in (
            "locs", "distance", "duration", "demand_linehaul", "demand_backhaul",
            "time_windows", "service_time")}
        for instance, pairs in zip(instances, start_slots):
            order = layout(instance, pairs)
            padding = np.arange(len(order)) < slots
            padding &= np.arange(len(order)) >= len(pairs)
            columns["locs"].append(instance.coords[order])
            columns["distance"].append(instance.distances[np.ix_(order, order)])
            columns["duration"].append(instance.durations[np.ix_(order, order)])
            for name in ("demand_linehaul", "demand_backhaul", "service_time"):
                columns[name].append(np.where(padding, 0.0, getattr(instance, name)[order]))
            columns["time_windows"].append(instance.time_windows[order])

        def tensor(values, tensor_dtype=dtype):
            return torch.as_tensor(np.asarray(values), dtype=tensor_dtype, device=device)

        distance = tensor(columns["distance"])
        same_travel = all(i.duration_matrix is None for i in instances)
        return cls(
            locs=tensor(columns["locs"]),
            distance=distance,
            duration=None if same_travel else tensor(columns["duration"]),
            demand_linehaul=tensor(columns["demand_linehaul"]),
            demand_backhaul=tensor(columns["demand_backhaul"]),
            capacity=tensor([i.capacity for i in instances]),
            time_windows=tensor(columns["time_windows"]),
            service_time=tensor(columns["service_time"]),
            distance_limit=tensor([i.distance_limit for i in instances]),
            open_route=tensor([i.open_route for i in instances], torch.bool),
            backhaul=tensor([i.backhaul for i in instances], torch.long),
            num_depots=tensor([i.num_depots for i in instances], torch.long),
            num_depot_slots=slots,
            explicit_matrix=explicit,
            vehicles=SlotFleet.from_instances(instances, start_slots, slots, slots + instances[0].num_customers,
                                              dtype, device)
            if any(i.vehicle_types is not None for i in instances) else None,
        )

    def instance(self, index: int, name: str | None = None) -> Instance:
        """Instance ``index`` of the batch, without its padding depot slots (float64)."""
        k = int(self.num_depots[index])
        vehicle_types, depot_slots = None, np.arange(k)
        if self.vehicles is not None:
            vehicle_types, depot_slots = self.vehicles.instance_fleet(index, k)
        keep = np.r_[depot_slots, np.arange(self.num_depot_slots, self.num_locations)]

        def array(tensor):
            return tensor[index].detach().cpu().double().numpy()[keep]

        distance = duration = None
        if self.explicit_matrix:
            distance = array(self.distance)[:, keep]
            duration = None if self.duration is None else array(self.duration)[:, keep]
        return Instance(
            coords=array(self.locs),
            demand_linehaul=array(self.demand_linehaul),
            demand_backhaul=array(self.demand_backhaul),
            capacity=None if vehicle_types is not None else float(self.capacity[index]),
            num_depots=k,
            backhaul=int(self.backhaul[index]),
            open_route=bool(self.open_route[index]),
            distance_limit=float(self.distance_limit[index]),
            time_windows=array(self.time_windows),
            service_time=array(self.service_time),
            distance_matrix=distance,
            duration_matrix=duration,
            vehicle_types=vehicle_types,
            name=name or f"instance-{index}",
        )

    def instances(self, prefix: str = "instance") -> list[Instance]:
        """Every instance of the batch, named ``prefix-i``.

        Raises
        ------
        ValueError
            Naming the first instance that is not valid (:class:`nco.envs.instance.Instance`).
        """
        instances = []
        for index in range(self.batch_size):
            try:
                instances.append(self.instance(index, f"{prefix}-{index}"))
            except ValueError as error:
                raise ValueError(f"instance {index}: {error}") from None
        return instances

    def arrays(self) -> dict[str, np.ndarray]:
        """The batch as numpy arrays, as :meth:`save` writes them (matrices only when they were
        given: Euclidean ones are computed again from the coordinates)."""
        arrays = {
            f.name: getattr(self, f.name).cpu().numpy()
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        if not self.explicit_matrix:
            del arrays["distance"]
        if self.vehicles is not None:
            arrays.update({f"{VEHICLES_PREFIX}{f.name}": getattr(self.vehicles, f.name).cpu().numpy()
                           for f in fields(self.vehicles)})
        return {"num_depot_slots": np.asarray(self.num_depot_slots), **arrays}

    def save(self, path) -> None:
        """Writes the batch to an ``.npz`` file (:meth:`arrays`)."""
        np.savez_compressed(path, **self.arrays())

    @classmethod
    def load(cls, path, device: str | torch.device = "cpu") -> Problem:
        """Reads a batch written by :meth:`save`; any field of another type is converted to the
        field's type. Raises ``ValueError`` naming ``path`` for a file that is not such a batch,
        or one that would not fit in memory."""
        return cls.from_arrays(read_npz(path), path, device)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], source, device: str | torch.device = "cpu") -> Problem:
        """The batch of :meth:`arrays`; ``ValueError`` naming ``source`` (the file they came from)
        for arrays that are not such a batch, or whose distance matrices would not fit in memory
        (checked before any is built)."""
        try:
            arrays = {name: torch.as_tensor(value) for name, value in arrays.items()}
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"{source}: not a readable .npz dataset ({error}): write it with Problem.save") from None
        try:
            slots = arrays.pop("num_depot_slots")
            if slots.numel() != 1:
                raise ValueError(f"num_depot_slots holds {slots.numel()} values: give one integer")
            slots = float(slots)
            if not slots.is_integer():
                raise ValueError(f"num_depot_slots is {slots:g}: give one integer")
            slots = int(slots)
            vehicles = {name.removeprefix(VEHICLES_PREFIX): arrays.pop(name) for name in list(arrays)
                        if name.startswith(VEHICLES_PREFIX)}
            arrays = {name: _field_type(name, tensor) for name, tensor in arrays.items()}
            if vehicles:
                arrays["vehicles"] = SlotFleet(**{name: _field_type(name, tensor) for name, tensor in vehicles.items()})
            locs = arrays["locs"]
            if locs.ndim != 3 or locs.shape[-1] != 2:
                raise ValueError(f"locs has shape {tuple(locs.shape)}: give (instances, locations, 2) coordinates")
            batch, size = locs.shape[:2]
            # the distances (and the instances' own float64 copies) of every instance at once
            if reason := shortfall(3 * 8 * batch * size**2, f"the distance matrices of {batch} instances of "
                                   f"{size} locations"):
                raise ValueError(f"{reason}: split the dataset into smaller files")
            explicit = "distance" in arrays
            if not explicit:
                arrays["distance"] = euclidean(locs)
            arrays.setdefault("duration", None)
            problem = cls(**arrays, num_depot_slots=slots, explicit_matrix=explicit)
        except (KeyError, TypeError) as error:
            raise ValueError(f"{source}: missing or unknown field {error} in the .npz dataset: write it with Problem.save") from None
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{source}: {' '.join(str(error).split())}") from None
        if not problem.batch_size:
            raise ValueError(f"{source}: the dataset holds no instance: write one with Problem.save")
        return problem.to(device)


def euclidean(locs: torch.Tensor) -> torch.Tensor:
    """(B, N, N) Euclidean distances of the coordinates ``locs`` (B, N, 2), computed directly:
    ``torch.cdist``'s faster matrix-product form is off by up to 5e-4 in the unit square, a
    location's distance to itself included."""
    return torch.cdist(locs, locs, compute_mode="donot_use_mm_for_euclid_dist")


VEHICLES_PREFIX = "vehicles_"
"""The prefix of the :class:`~nco.envs.slot_fleet.SlotFleet` arrays in a saved batch."""


def read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickled objects), after checking that their
    uncompressed size fits in half the available memory.

    Raises
    ------
    ValueError
        Naming ``path``, for a file that is not such an archive or would not fit.
    """
    unreadable = (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile)
    try:
        data = np.load(path)
    except unreadable as error:
        raise ValueError(f"{path}: not a readable .npz dataset ({error}): write it with Problem.save") from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # a single .npy array
        raise ValueError(f"{path}: not a readable .npz dataset (one array, not an archive): write it with Problem.save")
    with data:
        expanded = sum(info.file_size for info in data.zip.infolist())
        if reason := shortfall(2 * expanded, f"the arrays of {path} ({expanded / 2**20:.0f} MB uncompressed)"):
            raise ValueError(f"{reason}: split the file into smaller ones")
        try:
            return {name: data[name] for name in data.files}
        except unreadable as error:
            raise ValueError(f"{path}: not a readable .npz dataset ({error}): write it with Problem.save") from None


def _field_type(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as the type of the field ``name`` of :class:`Problem`."""
    if name in ("open_route", "allowed"):
        return tensor.bool()
    if name in ("backhaul", "num_depots", "vehicle_type", "depot"):
        return tensor.long()
    return tensor.float()
