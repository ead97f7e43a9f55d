"""Instance and solution files (``docs/formats.md``), parsed and written with ``vrplib``.

Readers turn a VRPLIB file (PyVRP's dialect, ``TYPE`` naming the variant), a Solomon ``.txt`` file,
a file of Cordeau's text format or a project ``.npz`` dataset into :class:`~nco.envs.instance.Instance` objects; writers do the reverse.
Every problem with a file raises :class:`InstanceFileError`, a ``ValueError`` whose one-line
message names the file, the problem and the fix.
"""

from __future__ import annotations

import glob
import math
import re
from pathlib import Path

import numpy as np
import vrplib

from nco.envs.fleet import VehicleTypes
from nco.envs.instance import Instance
from nco.envs.matrix_pool import MatrixPool
from nco.envs.problem import Problem
from nco.envs.variants import BACKHAUL_NONE, BACKHAUL_STRICT, Variant
from nco.memory import shortfall
from nco.outputs import write_text

INSTANCE_SUFFIXES = (".vrp", ".txt", ".npz", ".vrptw", ".vrpbtw")
"""Suffixes of instance files in a folder (``.vrptw`` and ``.vrpbtw``: LKH-3's VRPLIB files)."""

UNMODELLED = {
    "release_time": "release times",
    "pickup_and_delivery": "pickup-and-delivery pairs",
    "prize": "prizes (optional customers)",
    "vehicles_reload_depot": "reloading",
    "vehicles_max_reloads": "reloading",
    "mutually_exclusive_group": "groups of customers",
}
"""Fields of PyVRP's VRPLIB dialect that carry rules no variant here has: a file with one is
refused rather than solved without the rule."""

CORDEAU_TYPES = {0: "VRP", 1: "PVRP (periodic)", 2: "MDVRP", 3: "SDVRP (site-dependent)", 4: "VRPTW",
                 5: "PVRPTW (periodic)", 6: "MDVRPTW", 7: "SDVRPTW (site-dependent)", 8: "MDPVRP (periodic)"}
"""The problem types of Cordeau's text format; 0, 2, 4 and 6 are read, the others refused."""


class InstanceFileError(ValueError):
    """A file that cannot be read as an instance or solution; its message is one line (the
    parsers' own messages can span several)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def _first_line(path: Path) -> str:
    """The first non-blank line ("" for an empty file): Solomon files start with a bare name
    line, VRPLIB files with ``KEY: value`` lines, solution files with ``Route #1: ...``."""
    with open(path, errors="replace") as handle:
        return next((line.strip() for line in handle if line.strip()), "")


def read_instances(path: str | Path) -> list[Instance]:
    """All instances in ``path``: one for a ``.vrp``/``.txt`` file, many for an ``.npz`` dataset."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            problem = Problem.load(path)
        except ValueError as error:
            raise InstanceFileError(str(error)) from None
        try:
            return problem.instances(prefix=path.stem)
        except ValueError as error:
            raise InstanceFileError(f"{path}: {error}") from None
    return [read_instance(path)]


def read_instance(path: str | Path) -> Instance:
    """Reads one VRPLIB, Solomon or Cordeau file.

    Raises
    ------
    InstanceFileError
        When the file is missing, malformed, its ``TYPE`` disagrees with its sections, or the
        data is infeasible (e.g. a demand above the capacity).
    """
    path = Path(path)
    if not path.is_file():
        raise InstanceFileError(f"{path}: no such file: check the path")
    first = _first_line(path)
    if not first:
        raise InstanceFileError(f"{path}: the file is empty: give a VRPLIB (.vrp), Solomon or Cordeau (.txt) instance")
    if first.lower().startswith("route"):
        raise InstanceFileError(f"{path}: a solution file (Route lines), not an instance: pass the instance it solves")
    if _is_cordeau(first):
        try:
            return _read_cordeau(path.read_text(errors="replace"), name=path.stem)
        except ValueError as error:
            raise InstanceFileError(f"{path}: {error}") from None
    try:
        if ":" in first:
            _check_header(path.read_text(errors="replace"))
    except ValueError as error:
        raise InstanceFileError(f"{path}: {error}") from None
    try:
        if ":" not in first:  # Solomon
            data = vrplib.read_instance(path, instance_format="solomon")
            data.setdefault("type", "VRPTW")
        else:
            data = vrplib.read_instance(path, compute_edge_weights=False)
    except Exception as error:  # vrplib raises many kinds on malformed text
        raise InstanceFileError(
            f"{path}: not a readable VRPLIB or Solomon file ({type(error).__name__}: {error}): "
            "see docs/formats.md in the nco repository"
        ) from None
    try:
        if np.ndim(data.get("backhaul")) == 2 and len(data["backhaul"]) == 1:  # one line: LKH-3's node list
            _split_backhaul_list(data, path.read_text(errors="replace"))
        return _instance_from_vrplib(data, name=path.stem)
    except ValueError as error:
        if "inhomogeneous" in str(error):  # numpy, on a section whose lines differ in length
            raise InstanceFileError(f"{path}: a line of a section has more or fewer values than the others "
                                    "(a truncated line?): fix that line") from None
        raise InstanceFileError(f"{path}: {error}") from None


def _check_header(text: str) -> None:
    """Refuses, before ``vrplib`` builds anything, a VRPLIB header whose DIMENSION is not a whole
    number, an EDGE_WEIGHT_SECTION that the EDGE_WEIGHT_TYPE does not use (it would be built as
    a full matrix for nothing), and an explicit matrix that would not fit in memory."""
    header = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        key = key.strip().upper()
        if key.endswith("_SECTION") or key == "EOF":
            break
        if colon:
            header[key] = value.strip()
    has_matrix = re.search(r"^\s*EDGE_WEIGHT_SECTION", text, re.MULTILINE | re.IGNORECASE) is not None
    dimension = None
    if "DIMENSION" in header:
        try:
            dimension = float(header["DIMENSION"])
        except ValueError:
            dimension = math.nan
        if not (math.isfinite(dimension) and dimension >= 1 and dimension.is_integer()):
            raise ValueError(f"DIMENSION is {header['DIMENSION']}: give the number of locations, a whole number")
    edge_type = header.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper()
    if has_matrix and edge_type != "EXPLICIT":
        raise ValueError(f"EDGE_WEIGHT_SECTION is given but EDGE_WEIGHT_TYPE {edge_type} does not use it: remove "
                         "the section, or set EDGE_WEIGHT_TYPE: EXPLICIT")
    if has_matrix and dimension is not None:
        # a product of floats, not a power: a DIMENSION near 1e154 gives inf bytes, not an OverflowError
        if reason := shortfall(3 * 8 * dimension * dimension, f"the travel matrices of DIMENSION {header['DIMENSION']}"):
            raise ValueError(f"{reason}: give a smaller instance, or a machine with more memory")


def expand_paths(paths: list[str]) -> list[Path]:
    """Files named directly, every instance file in a named folder, and glob matches."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if is_instance_file(p))
        elif any(ch in item for ch in "*?["):
            files += sorted(p for p in map(Path, glob.glob(item)) if is_instance_file(p))  # absolute patterns too
        else:
            files.append(path)
    return files


def is_instance_file(path: Path) -> bool:
    """A file whose suffix is an instance file's, or a file without a suffix in Cordeau's format
    (his sets are distributed as ``p01``, ``pr01``, ...)."""
    if not path.is_file():
        return False
    return path.suffix in INSTANCE_SUFFIXES or (not path.suffix and _is_cordeau(_first_line(path)))


def _is_cordeau(first: str) -> bool:
    """Cordeau's files start with ``type m n t`` (four integers; five for type 8)."""
    tokens = first.split()
    return len(tokens) in (4, 5) and all(token.isdigit() for token in tokens)


def _read_cordeau(text: str, name: str) -> Instance:
    """An instance of Cordeau's text format (the MDVRP sets p01-p23 and pr01-pr10, and the VRP and
    VRPTW types): a ``type m n t`` line, ``t`` lines ``D Q`` (route duration limit, 0 for none;
    capacity), then a line ``i x y d q f a list [e l]`` per location, the depot first (VRP, VRPTW)
    or the ``t`` depots last (MDVRP, MDVRPTW). The fleet size ``m`` is not a limit here (as
    ``VEHICLES``). ``D`` bounds a route's duration: without windows it is the length limit (no
    service times) or travel plus service time (the CMT rule: windows ``[0, D]``). With windows
    a route may leave its depot later than it opens to wait less, which no variant here models:
    such a file is refused unless ``D`` spans every depot's window, where it binds nothing."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    kind, _, num_customers, num_rows = (int(token) for token in lines[0][:4])
    if kind not in (0, 2, 4, 6):
        raise ValueError(f"Cordeau type {kind} ({CORDEAU_TYPES.get(kind, 'unknown')}) has rules that none of this "
                         "solver's variants has: types 0 (VRP), 2 (MDVRP), 4 (VRPTW) and 6 (MDVRPTW) are read")
    multi_depot, has_windows = kind in (2, 6), kind in (4, 6)
    num_depots = num_rows if multi_depot else 1
    expected = 1 + num_rows + num_customers + (num_rows if multi_depot else 1)
    if num_rows < 1 or len(lines) != expected:
        raise ValueError(f"the first line announces {num_customers} customers and {num_rows} 'D Q' lines, so "
                         f"{expected} lines, but the file has {len(lines)}: fix the first line or the missing lines")

    def numbers(row: int) -> list[float]:
        try:
            return [float(token) for token in lines[row]]
        except ValueError:
            raise ValueError(f"line {row + 1} has entries that are not numbers: fix that line") from None

    def location(row: int) -> list[float]:  # i x y d q f a, a visit combinations, then e l with windows
        values = numbers(row)
        combinations = int(values[6]) if len(values) > 6 and values[6].is_integer() and values[6] >= 0 else -1
        count = 7 + combinations + 2 * has_windows
        if combinations < 0 or len(values) != count:
            layout = "i x y d q f a list" + (" e l" if has_windows else "")
            needs = f"with a = {combinations} needs {count}" if combinations >= 0 else "needs a count a >= 0"
            raise ValueError(f"line {row + 1} has {len(values)} values, but '{layout}' {needs}: fix that line")
        return values

    limits = np.array([(numbers(row) + [np.nan, np.nan])[:2] for row in range(1, 1 + num_rows)])  # D, Q
    if not np.isfinite(limits).all():
        raise ValueError(f"a 'D Q' line (lines 2-{1 + num_rows}) lacks a number: give each route limit and capacity")
    rows = [location(row) for row in range(1 + num_rows, len(lines))]
    if multi_depot:  # depots first, as everywhere in this project
        rows = rows[num_customers:] + rows[:num_customers]
    table = np.array([row[1:5] + (row[-2:] if has_windows else []) for row in rows])  # x y d q [e l]
    if len(set(limits[:, 1])) > 1:
        raise ValueError(f"the vehicle capacities Q differ ({sorted(set(limits[:, 1]))}): this solver has one "
                         "capacity for every vehicle; give the same Q on every 'D Q' line")
    if len(set(limits[:, 0])) > 1 and not (multi_depot and has_windows):
        raise ValueError(f"the route limits D differ ({sorted(set(limits[:, 0]))}): only a file with several depots "
                         "and time windows can have one per depot; give the same D on every 'D Q' line")
    duration = limits[:num_depots, 0]  # per depot
    service = table[:, 2].copy()
    service[:num_depots] = 0.0
    windows, distance_limit = None, np.inf
    if has_windows:
        windows = table[:, 4:6]
        span = windows[:num_depots, 1] - windows[:num_depots, 0]
        binding = np.flatnonzero((duration > 0) & (duration < span))
        if len(binding):
            depot = binding[0]
            raise ValueError(f"D = {duration[depot]:g} limits each route's duration, from a departure that may come "
                             f"later than its depot opens (its window spans {span[depot]:g}): a route-duration limit "
                             "is a rule that none of this solver's variants has: solve the file with a solver that "
                             "models it (PyVRP models most)")
    elif duration[0] > 0:
        if (service > 0).any():  # travel plus service within D
            windows = np.tile([0.0, duration[0]], (len(table), 1))
        else:
            distance_limit = float(duration[0])
    return Instance(
        coords=table[:, :2],
        demand_linehaul=np.concatenate([np.zeros(num_depots), table[num_depots:, 3]]),
        capacity=float(limits[0, 1]),
        num_depots=num_depots,
        distance_limit=distance_limit,
        time_windows=windows,
        service_time=None if windows is None else service,
        name=name,
    )


def read_matrix_pool(folder: str | Path) -> MatrixPool:
    """Every VRPLIB file in ``folder`` with an explicit matrix, as a pool of real travel matrices
    (the ``.vrp``/``.txt`` files, by name).

    Raises
    ------
    InstanceFileError
        When the folder has no such file, or a file is unreadable or has no explicit matrix.
    """
    folder = Path(folder)
    paths = sorted(p for p in folder.glob("*") if p.suffix in (".vrp", ".txt")) if folder.is_dir() else []
    if not paths:
        raise InstanceFileError(f"{folder}: no .vrp/.txt instance files there: give a folder of VRPLIB files "
                                "with EDGE_WEIGHT_SECTION matrices (e.g. the ORTEC instances of the EURO meets NeurIPS 2022 competition)")
    instances = [read_instance(path) for path in paths]
    for path, instance in zip(paths, instances):
        if instance.distance_matrix is None:
            raise InstanceFileError(f"{path}: no explicit matrix: a matrix pool takes only files with an "
                                    f"EDGE_WEIGHT_SECTION; move this file out of {folder}")
    return MatrixPool([i.name for i in instances], [i.coords for i in instances],
                      [i.distance_matrix for i in instances])


def _instance_from_vrplib(data: dict, name: str) -> Instance:
    for key in data.keys() & UNMODELLED.keys():
        field = key.upper() + ("_SECTION" if np.ndim(data[key]) else "")
        raise ValueError(f"{field} ({UNMODELLED[key]}) is a rule that none of this solver's variants has: "
                         "remove it, or solve the file with a solver that models it (PyVRP models most)")
    for key, value in data.items():
        if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
            try:
                data[key] = value.astype(float)
            except ValueError:
                raise ValueError(
                    f"the {key.upper()} data has entries that are not numbers: fix that section"
                ) from None
    depots = np.asarray(data.get("depot", [0]), dtype=float).ravel()
    if not np.all(np.isfinite(depots)) or not np.all(depots == np.round(depots)):
        raise ValueError("DEPOT_SECTION lists something other than location numbers: fix that section")
    depots = depots.astype(int)
    num_depots = len(depots)
    if not np.array_equal(depots, np.arange(num_depots)):
        raise ValueError(
            f"DEPOT_SECTION lists {sorted((depots + 1).tolist())}: depots must be the first "
            f"locations 1..{num_depots}; renumber the file"
        )
    edge_type = str(data.get("edge_weight_type", "EUC_2D")).upper()
    matrix = None
    if edge_type == "EXPLICIT":
        if "edge_weight" not in data:
            raise ValueError("EDGE_WEIGHT_TYPE is EXPLICIT but EDGE_WEIGHT_SECTION is missing: add the matrix")
        matrix = np.asarray(data["edge_weight"], dtype=float)
    elif edge_type not in ("EUC_2D", "FLOAT_2D", "EXACT_2D", "FLOOR_2D"):
        # solved on Euclidean travel, costed as --round says; a floored distance is never longer,
        # so a solution stays feasible under FLOOR_2D (a ceiled one would not: CEIL_2D is refused)
        raise ValueError(f"EDGE_WEIGHT_TYPE {edge_type} is not supported: use EUC_2D or EXPLICIT")
    if "node_coord" in data:
        coords = np.asarray(data["node_coord"], dtype=float)
    elif matrix is not None:
        coords = np.zeros((matrix.shape[0], 2))  # no picture, but travel is fully given
    else:
        raise ValueError("NODE_COORD_SECTION is missing: add coordinates or an explicit EDGE_WEIGHT_SECTION")
    num_locations = coords.shape[0]
    if "dimension" in data and int(data["dimension"]) != num_locations:
        raise ValueError(
            f"DIMENSION is {data['dimension']} but the sections have {num_locations} locations: fix DIMENSION"
        )
    type_name = str(data.get("type", "")).strip()
    if type_name.upper() == "DCVRP":  # LKH-3's name for a CVRP with CVRPLIB's DISTANCE limit
        type_name = "CVRP"
    describes_fleet = type_name.upper().startswith(FLEET_TYPE_PREFIXES)
    if describes_fleet:
        type_name = type_name[2:]
    vehicle_types = _read_vehicle_types(data, num_locations, num_depots, describes_fleet)
    capacity = None
    if vehicle_types is None:
        if "capacity" not in data:
            raise ValueError("CAPACITY is missing: add 'CAPACITY: <vehicle capacity>'")
        try:
            capacity = float(data["capacity"])
        except (TypeError, ValueError):
            raise ValueError(f"CAPACITY is {data['capacity']!r}, not one number: give one, or a CAPACITY_SECTION "
                             "with one line per vehicle") from None
    if "demand" in data and "linehaul" in data:
        raise ValueError("both DEMAND_SECTION and LINEHAUL_SECTION are given: keep one")
    demand = data.get("demand", data.get("linehaul"))
    if demand is None:
        raise ValueError("DEMAND_SECTION is missing: add the demand of every location")

    declared = Variant.from_name(type_name) if type_name else None
    backhaul_demand = data.get("backhaul")
    has_backhaul_data = backhaul_demand is not None and np.any(np.asarray(backhaul_demand) > 0)
    service = data.get("service_time")
    if service is not None:
        service = np.broadcast_to(np.asarray(service, dtype=float), (num_locations,)).copy()
        if np.isscalar(data.get("service_time")) or np.ndim(data.get("service_time")) == 0:
            service[:num_depots] = 0.0  # a uniform SERVICE_TIME applies to customers only
    if "distance" in data:  # CVRPLIB's route limit: the sections then say the variant
        _read_route_limit(data, declared, service is not None and bool((service[num_depots:] > 0).any()), num_locations)
        declared = None
    has_windows = "time_window" in data
    present = Variant(
        multi_depot=num_depots > 1,
        backhaul=BACKHAUL_STRICT if has_backhaul_data else BACKHAUL_NONE,
        distance_limit="vehicles_max_distance" in data,
        time_windows=has_windows,
    )
    if declared is None:  # no TYPE: the sections say it all (backhauls read as strict B)
        declared = present
    checks = (
        ("multi_depot", "MD", f"DEPOT_SECTION ({num_depots} depots)"),
        ("distance_limit", "L", "VEHICLES_MAX_DISTANCE"),
        ("time_windows", "TW", "TIME_WINDOW_SECTION"),
    )
    for attribute, letters, section in checks:
        if getattr(declared, attribute) and not getattr(present, attribute):
            raise ValueError(f"TYPE {data['type']} names {letters} but {section} is missing: add it or fix TYPE")
        if getattr(present, attribute) and not getattr(declared, attribute):
            raise ValueError(f"{section} is given but TYPE {data['type']} does not name {letters}: fix TYPE")
    if declared.backhaul != BACKHAUL_NONE and backhaul_demand is None:
        raise ValueError(f"TYPE {data['type']} names backhauls but BACKHAUL_SECTION is missing: add it or fix TYPE")
    if has_backhaul_data and declared.backhaul == BACKHAUL_NONE:
        raise ValueError(f"BACKHAUL_SECTION is given but TYPE {data['type']} names no B or MB: fix TYPE")
    if service is not None and (service > 0).any() and not declared.time_windows:
        raise ValueError(f"service times are given but TYPE {data['type']} does not name TW: fix TYPE or drop them")

    windows = np.asarray(data["time_window"], dtype=float) if has_windows else None
    return Instance(
        coords=coords,
        demand_linehaul=np.asarray(demand, dtype=float),
        demand_backhaul=None if backhaul_demand is None else np.asarray(backhaul_demand, dtype=float),
        capacity=capacity,
        num_depots=num_depots,
        backhaul=declared.backhaul,
        open_route=declared.open_route,
        distance_limit=float(data.get("vehicles_max_distance", np.inf)),
        time_windows=windows,
        service_time=service,
        distance_matrix=matrix,
        vehicle_types=vehicle_types,
        name=str(data.get("name", name)),
    )


FLEET_TYPE_PREFIXES = ("HF", "SD")
"""``TYPE`` prefixes of files whose ``VEHICLES`` lists the fleet (PyVRP's ``HFVRP``, heterogeneous
fleet, and ``SDVRPTW``, site-dependent); the rest of the name is the variant (``VRP``: CVRP)."""

VEHICLE_SECTIONS = {
    "capacity": "CAPACITY_SECTION",
    "vehicles_fixed_cost": "VEHICLES_FIXED_COST_SECTION",
    "vehicles_unit_distance_cost": "VEHICLES_UNIT_DISTANCE_COST_SECTION",
    "vehicles_max_duration": "VEHICLES_MAX_DURATION",
    "vehicles_depot": "VEHICLES_DEPOT_SECTION",
    "vehicles_allowed_clients": "VEHICLES_ALLOWED_CLIENTS_SECTION",
}
"""PyVRP's per-vehicle fields (one value for every vehicle, or a section with one row each)."""


def _read_vehicle_types(data: dict, num_locations: int, num_depots: int, describes_fleet: bool) -> VehicleTypes | None:
    """The fleet of a file that describes its vehicles (a per-vehicle field, or a fleet ``TYPE``),
    else None (``VEHICLES`` is then informational, as in CVRPLIB and ORTEC files). Identical
    vehicles are one type; the vehicles of a type must be listed together."""
    per_vehicle = any(key in data for key in VEHICLE_SECTIONS if key != "capacity") or _is_section(data.get("capacity"))
    if not (per_vehicle or describes_fleet):
        return None
    if "capacity" not in data:
        raise ValueError("CAPACITY is missing: add 'CAPACITY: <capacity>' or a CAPACITY_SECTION with one line per vehicle")
    count = _whole(data.get("vehicles", num_locations - num_depots), "VEHICLES")  # PyVRP's default: one per customer
    if count < 1:
        raise ValueError(f"VEHICLES is {count}: give the number of vehicles, a whole number >= 1")

    # vehicles without a section are all alike: one row stands for them all (VEHICLES may be huge)
    rows = count if any(_is_section(data.get(key)) for key in VEHICLE_SECTIONS) else 1

    def column(key: str, default) -> list:  # one value per row
        value = data.get(key, default)
        if not _is_section(value):
            return [np.ravel(value) if key == "vehicles_allowed_clients" else float(value)] * rows
        if len(value) != count:
            raise ValueError(f"{VEHICLE_SECTIONS[key]} has {len(value)} lines but VEHICLES is {count}: give one line per vehicle")
        return [np.ravel(row) if key == "vehicles_allowed_clients" else float(np.ravel(row)[0]) for row in value]

    depot = [-1] * rows  # any depot
    if "vehicles_depot" in data:
        depot = [_whole(number, "VEHICLES_DEPOT_SECTION") - 1 for number in column("vehicles_depot", 1)]
        if not all(0 <= d < num_depots for d in depot):
            raise ValueError(f"VEHICLES_DEPOT_SECTION names a location that is not a depot: give depot numbers 1..{num_depots}")
    customers = set(range(num_depots, num_locations))
    allowed = [tuple(sorted(customers))] * rows
    if "vehicles_allowed_clients" in data:
        allowed = [tuple(sorted({_whole(number, "VEHICLES_ALLOWED_CLIENTS_SECTION") - 1 for number in row}))
                   for row in column("vehicles_allowed_clients", None)]
        if not all(customers.issuperset(row) for row in allowed):
            raise ValueError(f"VEHICLES_ALLOWED_CLIENTS_SECTION lists a location that is not a customer: give "
                             f"customer numbers {num_depots + 1}..{num_locations}")
    vehicles = list(zip(column("capacity", None), column("vehicles_fixed_cost", 0.0),
                        column("vehicles_unit_distance_cost", 1.0), column("vehicles_max_duration", np.inf), depot, allowed))
    starts = [0] + [v for v in range(1, rows) if vehicles[v] != vehicles[v - 1]]
    kinds = [vehicles[start] for start in starts]
    if len(set(kinds)) < len(kinds):
        again = next(i for i, kind in enumerate(kinds) if kinds.index(kind) < i)
        raise ValueError(f"vehicle {starts[again] + 1} has the type of vehicle {starts[kinds.index(kinds[again])] + 1} "
                         "but other types are listed between them: list the vehicles of each type together")
    capacity, fixed_cost, unit_cost, max_duration, depot, allowed = zip(*kinds)
    mask = np.zeros((len(kinds), num_locations), dtype=bool)
    for row, clients in enumerate(allowed):
        mask[row, list(clients)] = True
    return VehicleTypes(capacity=capacity, num_available=np.diff(starts + [rows]) * (count // rows), fixed_cost=fixed_cost,
                        unit_distance_cost=unit_cost, max_duration=max_duration, depot=depot,
                        allowed=mask if "vehicles_allowed_clients" in data else None)


def _is_section(value) -> bool:
    """A field read from a section, one entry per vehicle (not one value for every vehicle)."""
    return isinstance(value, (list, np.ndarray)) and np.ndim(value[:1]) > 0


def _whole(value, field: str) -> int:
    """``value`` as a whole number, else a one-line error naming ``field``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer():
        raise ValueError(f"{field} has {value!r}, not a whole number: fix it")
    return int(number)


def _split_backhaul_list(data: dict, text: str) -> None:
    """LKH-3's VRPB files: ``BACKHAUL_SECTION`` lists the backhaul customers (a line of location
    numbers ended by -1) and ``DEMAND_SECTION`` holds every customer's demand. Writes the project's
    per-location linehaul and backhaul demands into ``data``."""
    tokens = text.split("BACKHAUL_SECTION", 1)[1].split()
    try:
        numbers = [int(token) for token in tokens[: tokens.index("-1") + 1]]
    except ValueError:  # no -1, or something else before it
        numbers = []
    demand = np.asarray(data.get("demand", []), dtype=float)
    if not numbers or not all(2 <= i <= len(demand) for i in numbers[:-1]):
        raise ValueError(f"BACKHAUL_SECTION is one line but not a list of customer numbers 2..{len(demand)} "
                         "ended by -1 (LKH-3's form): give one 'location demand' line per location, or that list")
    backhaul = np.zeros_like(demand)
    chosen = np.array(numbers[:-1], dtype=int) - 1
    backhaul[chosen], demand[chosen] = demand[chosen], 0.0
    data["demand"], data["backhaul"] = demand, backhaul


def _read_route_limit(data: dict, declared: Variant | None, has_service: bool, num_locations: int) -> None:
    """CVRPLIB's ``DISTANCE`` (the CMT, Golden and Li sets, ``TYPE: CVRP``): a limit on each
    route's length, or, with service times (``has_service``), on its travel plus service time
    (the CMT rule), which is a time window ``[0, DISTANCE]`` at every location. Writes it into
    ``data`` as the project's fields."""
    if declared not in (None, Variant()):
        raise ValueError(f"DISTANCE is CVRPLIB's route limit of TYPE: CVRP files; TYPE is {data['type']}: "
                         "write the limit as VEHICLES_MAX_DISTANCE")
    if "vehicles_max_distance" in data or "time_window" in data:
        raise ValueError("DISTANCE is given beside VEHICLES_MAX_DISTANCE or TIME_WINDOW_SECTION: keep one limit")
    limit = float(data.pop("distance"))
    if has_service:
        data["time_window"] = np.tile([0.0, limit], (num_locations, 1))
    else:
        data["vehicles_max_distance"] = limit


def write_instance(path: str | Path, instance: Instance) -> None:
    """Writes ``instance`` as a VRPLIB file that this project and PyVRP read back unchanged.

    Raises
    ------
    ValueError
        When the instance has a duration matrix different from its distances (VRPLIB has a
        single matrix for both).
    """
    if instance.duration_matrix is not None and not np.array_equal(
        instance.duration_matrix, instance.distances
    ):
        raise ValueError(
            f"{instance.name}: VRPLIB has one matrix for distance and travel time; this instance has two "
            "different ones: save it as .npz instead"
        )
    variant = instance.variant
    explicit = instance.distance_matrix is not None
    types = instance.vehicle_types
    data: dict = {
        "NAME": instance.name,
        "TYPE": instance.type_name,
        "DIMENSION": instance.num_locations,
        "EDGE_WEIGHT_TYPE": "EXPLICIT" if explicit else "EUC_2D",
    }
    if types is None:
        data["CAPACITY"] = _number(instance.capacity)
    else:
        data.update(_vehicle_sections(instance))
    if explicit:
        data["EDGE_WEIGHT_FORMAT"] = "FULL_MATRIX"
    if variant.distance_limit:
        data["VEHICLES_MAX_DISTANCE"] = _number(instance.distance_limit)
    data["NODE_COORD_SECTION"] = instance.coords
    if explicit:
        data["EDGE_WEIGHT_SECTION"] = instance.distance_matrix
    data["DEMAND_SECTION"] = _integral(instance.demand_linehaul)
    if variant.backhaul != BACKHAUL_NONE:
        data["BACKHAUL_SECTION"] = _integral(instance.demand_backhaul)
    if variant.time_windows:
        data["TIME_WINDOW_SECTION"] = instance.time_windows
        data["SERVICE_TIME_SECTION"] = instance.service_time
    data["DEPOT_SECTION"] = np.r_[np.arange(1, instance.num_depots + 1), -1]
    # specifications before sections, or readers stop at the first specification after a section
    vrplib.write_instance(path, dict(sorted(data.items(), key=lambda item: item[0].endswith("_SECTION"))))


def _vehicle_sections(instance: Instance) -> dict:
    """PyVRP's per-vehicle fields of a fleet, one line per vehicle (an unlimited type as one
    vehicle per customer)."""
    types = instance.vehicle_types
    of = types.vehicle_types(instance.num_customers)
    sections: dict = {"VEHICLES": len(of), "CAPACITY_SECTION": _integral(types.capacity[of])}
    if types.fixed_cost.any():
        sections["VEHICLES_FIXED_COST_SECTION"] = _integral(types.fixed_cost[of])
    if (types.unit_distance_cost != 1).any():
        sections["VEHICLES_UNIT_DISTANCE_COST_SECTION"] = _integral(types.unit_distance_cost[of])
    if np.isfinite(types.max_duration).any():
        sections["VEHICLES_MAX_DURATION_SECTION"] = types.max_duration[of]
    if (types.depot >= 0).any():
        if (types.depot < 0).any():
            raise ValueError(f"{instance.name}: some vehicle types start at any depot and others at one: VRPLIB names "
                             "one depot per vehicle; give every type its depot, or save it as .npz (nco generate "
                             "without --vrplib)")
        sections["VEHICLES_DEPOT_SECTION"] = types.depot[of] + 1
    if types.allowed is not None:
        customers = np.arange(instance.num_depots, instance.num_locations)
        sections["VEHICLES_ALLOWED_CLIENTS_SECTION"] = [
            (customers[types.allowed[kind, instance.num_depots:]] + 1).tolist() for kind in of]
    return sections


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _integral(values: np.ndarray) -> np.ndarray:
    return values.astype(int) if np.all(np.mod(values, 1) == 0) else values


def write_solution(path: str | Path, routes: list[list[int]], cost: float, **extra) -> None:
    """Writes routes (0-based location indices; an empty one is a vehicle left unused, which
    ``vrplib``'s writer refuses) and ``Cost:`` plus extra lines such as ``Time`` and ``Solver``,
    whole (:mod:`nco.outputs`)."""
    lines = [" ".join([f"Route #{number}:", *map(str, route)]) for number, route in enumerate(routes, start=1)]
    lines += [f"{key}: {value}" for key, value in {"Cost": round(cost, 6), **extra}.items()]
    write_text(path, "\n".join(lines) + "\n")


def read_solution(path: str | Path) -> tuple[list[list[int]], float | None]:
    """Routes and cost of a ``.sol`` file (``Cost`` with or without a colon)."""
    try:
        solution = vrplib.read_solution(path)
    except Exception as error:
        raise InstanceFileError(f"{path}: not a readable .sol file ({error}): see docs/formats.md in the nco repository") from None
    cost = solution.get("cost")
    if not solution.get("routes"):
        raise InstanceFileError(f"{path}: no 'Route #k: ...' lines: give a solution file (docs/formats.md in the nco repository)")
    try:
        return [list(map(int, route)) for route in solution["routes"]], None if cost is None else float(cost)
    except (TypeError, ValueError):
        raise InstanceFileError(
            f"{path}: the 'Cost' line or a route holds a value that is not a number ({cost!r}): fix or remove that line"
        ) from None
