from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.variants import ALL48
from nco.io import (INSTANCE_SUFFIXES, InstanceFileError, is_instance_file, read_instance, read_instances, read_solution,
                    write_instance, write_solution)


def assert_same_instance(a: Instance, b: Instance):
    assert a.variant == b.variant and a.num_depots == b.num_depots
    for name in ("coords", "demand_linehaul", "demand_backhaul", "time_windows", "service_time", "distances"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12)
    assert a.capacity == b.capacity and a.distance_limit == pytest.approx(b.distance_limit, rel=1e-12)


@pytest.mark.parametrize("variant", ALL48, ids=lambda v: v.name)
def test_vrplib_round_trip_for_every_variant(tmp_path, variant):
    instance = generate(1, 8, [variant.name], seed=variant.index).instance(0, name=variant.name)
    path = tmp_path / f"{variant.name}.vrp"
    write_instance(path, instance)
    assert f"TYPE: {variant.name}" in path.read_text()
    assert_same_instance(read_instance(path), instance)


def test_explicit_asymmetric_matrix_round_trip(tmp_path):
    base = generate(1, 6, "VRPB", seed=0).instance(0)
    matrix = base.distances * np.random.default_rng(0).uniform(0.8, 1.0, base.distances.shape)
    instance = base.replace(distance_matrix=matrix)
    write_instance(tmp_path / "asym.vrp", instance)
    again = read_instance(tmp_path / "asym.vrp")
    np.testing.assert_allclose(again.distance_matrix, matrix, rtol=1e-12)


def test_npz_dataset_round_trip(tmp_path):
    problem = generate(5, 9, "all48", seed=1)
    problem.save(tmp_path / "data.npz")
    instances = read_instances(tmp_path / "data.npz")
    assert len(instances) == 5
    for a, b in zip(instances, problem.instances()):
        assert_same_instance(a, b)


def dataset_fields(tmp_path: Path, variants: str = "all48") -> dict[str, np.ndarray]:
    """The arrays of a saved dataset of two generated instances."""
    generate(2, 5, variants, seed=0).save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("change, message", [
    (lambda a: {"capacity": np.array(["a", "b"])}, "not a readable .npz dataset"),
    (lambda a: {"capacity": -a["capacity"]}, "instance 0: the capacity is -.*: give a positive number"),
    (lambda a: {"num_depot_slots": np.array([1, 2])}, "num_depot_slots holds 2 values: give one integer"),
    (lambda a: {"num_depot_slots": np.array(np.inf)}, "num_depot_slots is inf: give one integer"),
    (lambda a: {"backhaul": np.r_[a["backhaul"][:1], 7]}, "instance 1: backhaul is 7: use 0 \\(none\\), 1 \\(B\\) or 2 \\(MB\\)"),
    (lambda a: {"locs": a["locs"][:, :3]}, "demand_linehaul has shape .* give every field the same batch"),
    (lambda a: {name: value[:0] if value.ndim else value for name, value in a.items()}, "the dataset holds no instance"),
    (lambda a: {"locs": np.array([None], dtype=object)}, "not a readable .npz dataset"),
])
def test_malformed_datasets_give_one_line(tmp_path, change, message):
    arrays = dataset_fields(tmp_path)
    np.savez(tmp_path / "bad.npz", **{**arrays, **change(arrays)})
    with pytest.raises(InstanceFileError, match=message) as error:
        read_instances(tmp_path / "bad.npz")
    assert str(error.value).startswith(str(tmp_path / "bad.npz")) and "\n" not in str(error.value)


def test_dataset_fields_of_other_types_are_converted(tmp_path):
    arrays = dataset_fields(tmp_path, "CVRP")
    np.savez(tmp_path / "ints.npz", **{**arrays, "locs": (100 * arrays["locs"]).astype(np.int64),
                                       "open_route": arrays["open_route"].astype(np.int64)})
    instances = read_instances(tmp_path / "ints.npz")
    assert len(instances) == 2 and instances[0].coords.dtype == np.float64


def test_solomon_and_real_files(fixtures):
    c101 = read_instance(fixtures / "C101.txt")
    assert c101.variant.name == "VRPTW" and c101.num_customers == 100 and c101.capacity == 200
    p01 = read_instance(fixtures / "p01.vrp")
    assert p01.variant.name == "MDCVRP" and p01.num_depots == 4 and p01.num_customers == 50
    x = read_instance(fixtures / "X-n101-k25.vrp")
    assert x.variant.name == "CVRP" and x.num_customers == 100


def test_cordeau_files_read_as_their_vrplib_conversion(fixtures):
    assert_same_instance(read_instance(fixtures / "p01-cordeau.txt"), read_instance(fixtures / "p01.vrp"))


def test_a_folder_holds_cordeau_files_without_a_suffix(tmp_path, fixtures):
    from nco.io import expand_paths

    (tmp_path / "p01").write_text((fixtures / "p01-cordeau.txt").read_text())
    (tmp_path / "README").write_text("Cordeau's instances\n")
    (tmp_path / "p01.res").write_text("576.87\n")
    (tmp_path / "X.vrp").write_text((fixtures / "X-n101-k25.vrp").read_text())
    (tmp_path / "lkh.vrptw").write_text((fixtures / "X-n101-k25.vrp").read_text())
    assert [p.name for p in expand_paths([str(tmp_path)])] == ["X.vrp", "lkh.vrptw", "p01"]
    assert [p.name for p in expand_paths([str(tmp_path / "*.vrp*")])] == ["X.vrp", "lkh.vrptw"]  # an absolute pattern
    assert not is_instance_file(tmp_path / "missing")


# Cordeau's format: "type m n t", t lines "D Q", then "i x y d q f a list [e l]" per location
CORDEAU_VRP = "0 4 3 1\n{D} 10\n0 0 0 0 0 0 0\n1 3 4 {d} 2 1 1 1\n2 6 8 {d} 2 1 1 1\n3 -3 4 {d} 2 1 1 1\n"
CORDEAU_MDVRPTW = ("6 2 2 2\n{D0} 10\n{D1} 10\n1 3 4 1 2 1 1 1 0 50\n2 6 8 1 2 1 1 1 0 50\n"
                   "3 0 0 0 0 0 0 0 100\n4 9 9 0 0 0 0 5 100\n")


@pytest.mark.parametrize("duration, service, variant, limit, late", [
    (0, 0, "CVRP", np.inf, np.inf), (30, 0, "VRPL", 30, np.inf), (30, 2, "VRPTW", np.inf, 30)])
def test_cordeau_route_limits(tmp_path, duration, service, variant, limit, late):
    path = tmp_path / "vrp"
    path.write_text(CORDEAU_VRP.format(D=duration, d=service))
    instance = read_instance(path)
    assert instance.variant.name == variant and instance.num_customers == 3 and instance.capacity == 10
    assert instance.distance_limit == limit and instance.time_windows[:, 1].max() == late


@pytest.mark.parametrize("durations", [(0, 0), (100, 95), (0, 200)])
def test_cordeau_multi_depot_windows_with_route_limits_that_bind_nothing(tmp_path, durations):
    path = tmp_path / "pr"
    path.write_text(CORDEAU_MDVRPTW.format(D0=durations[0], D1=durations[1]))
    instance = read_instance(path)
    assert instance.variant.name == "MDVRPTW" and instance.num_depots == 2
    np.testing.assert_array_equal(instance.coords[:2], [[0, 0], [9, 9]])  # the depots come first
    np.testing.assert_array_equal(instance.time_windows, [[0, 100], [5, 100], [0, 50], [0, 50]])
    assert list(instance.service_time) == [0, 0, 1, 1] and list(instance.demand_linehaul) == [0, 0, 2, 2]


BAD_CORDEAU_FILES = [
    ("1 4 3 1\n0 10\n0 0 0 0 0 0 0\n1 3 4 0 2 1 1 1\n", "Cordeau type 1 \\(PVRP \\(periodic\\)\\) has rules"),
    ("2 4 1 2\n0 10\n0 20\n1 3 4 0 2 1 1 1\n2 0 0 0 0 0 0\n3 1 1 0 0 0 0\n", "the vehicle capacities Q differ"),
    ("2 4 1 2\n5 10\n9 10\n1 3 4 0 2 1 1 1\n2 0 0 0 0 0 0\n3 1 1 0 0 0 0\n", "the route limits D differ"),
    (CORDEAU_VRP.format(D=0, d=0) + "4 1 1 0 2 1 1 1\n", "so 6 lines, but the file has 7"),
    (CORDEAU_VRP.format(D=0, d=0).replace("6 8", "six 8"), "line 5 has entries that are not numbers"),
    (CORDEAU_VRP.format(D=0, d=0).replace("1 3 4 0 2 1 1 1", "1 3 4"), "line 4 has 3 values, but 'i x y d q f a list' needs a count a >= 0"),
    (CORDEAU_MDVRPTW.format(D0=0, D1=0).replace("1 1 1 0 50\n2", "1 1 1\n2"), "line 4 has 8 values, but 'i x y d q f a list e l' with a = 1 needs 10"),
    ("0 4 1 1\n10\n0 0 0 0 0 0 0\n1 3 4 0 2 1 1 1\n", "a 'D Q' line \\(lines 2-2\\) lacks a number"),
    (CORDEAU_VRP.format(D=0, d=0).replace("1 3 4 0 2", "1 3 4 0 12"), "exceeds the capacity"),
    (CORDEAU_MDVRPTW.format(D0=0, D1=94), "D = 94 limits each route's duration, .* window spans 95\\): a route-duration"),
]
"""Cordeau files with a problem, and a pattern of the one-line error each gets."""


CVRPLIB_LIMIT = ("NAME: cmt\nTYPE: CVRP\nDIMENSION: 5\nEDGE_WEIGHT_TYPE: EUC_2D\nCAPACITY: 10\nDISTANCE: 30\n{service}"
                 "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n4 -3 4\n5 0 -6\n"
                 "DEMAND_SECTION\n1 0\n2 2\n3 2\n4 2\n5 2\nDEPOT_SECTION\n1\n-1\nEOF\n")


def route_length(instance: Instance, route: list[int]) -> float:
    path = [0, *route, 0]
    return sum(instance.distances[a, b] for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("variant_name", ["CVRP", "DCVRP"])  # LKH-3 writes DCVRP
def test_cvrplib_route_limit_without_service_times_is_a_length_limit(tmp_path, variant_name):
    path = tmp_path / "golden.vrp"
    path.write_text(CVRPLIB_LIMIT.format(service="").replace("TYPE: CVRP", f"TYPE: {variant_name}"))
    instance = read_instance(path)
    assert instance.variant.name == "VRPL" and instance.distance_limit == 30


@pytest.mark.parametrize("edge_type", ["FLOAT_2D", "EXACT_2D", "FLOOR_2D"])
def test_euclidean_edge_weight_types_read_as_euc_2d(tmp_path, edge_type):
    (tmp_path / "euc.vrp").write_text(CVRPLIB_LIMIT.format(service=""))
    (tmp_path / "other.vrp").write_text(CVRPLIB_LIMIT.format(service="").replace("EUC_2D", edge_type))
    assert_same_instance(read_instance(tmp_path / "other.vrp"), read_instance(tmp_path / "euc.vrp"))


@pytest.mark.parametrize("routes", [[[1, 2], [3, 4]], [[1, 2, 3]], [[3, 1, 2]], [[1], [2], [3], [4]], [[2, 1, 4]]])
def test_cvrplib_route_limit_with_service_times_bounds_travel_plus_service(tmp_path, routes):
    """The CMT rule (a route's travel plus its customers' service times within DISTANCE), restated
    by brute force, agrees with the judge on the windows the file is read as."""
    path = tmp_path / "cmt.vrp"
    path.write_text(CVRPLIB_LIMIT.format(service="SERVICE_TIME: 4\n"))
    instance = read_instance(path)
    assert instance.variant.name == "VRPTW" and list(instance.service_time) == [0, 4, 4, 4, 4]
    routes = routes + [[c] for c in range(1, 5) if not any(c in route for route in routes)]
    within = all(route_length(instance, route) + 4 * len(route) <= 30 for route in routes)
    assert check_solution(instance, routes).feasible == within


def test_solution_round_trip(tmp_path):
    write_solution(tmp_path / "a.sol", [[1, 2], [3]], 12.5, Time=0.1, Solver="test")
    routes, cost = read_solution(tmp_path / "a.sol")
    assert routes == [[1, 2], [3]] and cost == 12.5


HEADER = "NAME: bad\nTYPE: {type}\nDIMENSION: 3\nCAPACITY: 10\nEDGE_WEIGHT_TYPE: EUC_2D\n"
COORDS = "NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\n"
DEMANDS = "DEMAND_SECTION\n1 0\n2 {d}\n3 4\n"
DEPOT = "DEPOT_SECTION\n1\n-1\nEOF\n"


def test_lkh3_backhaul_list_reads_as_per_location_backhaul_demands(tmp_path):
    """LKH-3's VRPB files list the backhaul customers in BACKHAUL_SECTION and give every demand in
    DEMAND_SECTION; the project's dialect gives each location's backhaul demand."""
    lkh = HEADER.format(type="VRPB").replace("DIMENSION: 3", "DIMENSION: 4") + COORDS + "4 1 1\n"
    (tmp_path / "lkh.vrp").write_text(lkh + "DEMAND_SECTION\n1 0\n2 1\n3 4\n4 2\nBACKHAUL_SECTION\n2 4 -1\n" + DEPOT)
    (tmp_path / "ours.vrp").write_text(lkh + "DEMAND_SECTION\n1 0\n2 0\n3 4\n4 0\n"
                                       "BACKHAUL_SECTION\n1 0\n2 1\n3 0\n4 2\n" + DEPOT)
    assert_same_instance(read_instance(tmp_path / "lkh.vrp"), read_instance(tmp_path / "ours.vrp"))


FLEET = ("NAME: fleet\nTYPE: HFVRP\nDIMENSION: 3\nVEHICLES: {vehicles}\nEDGE_WEIGHT_TYPE: EUC_2D\n"
         "NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\nDEMAND_SECTION\n1 0\n2 1\n3 4\n")
BAD_FLEET_FILES = [
    (FLEET.format(vehicles=2) + "CAPACITY_SECTION\n1 5\n2 5\n3 5\nDEPOT_SECTION\n1\n-1\nEOF\n",
     "CAPACITY_SECTION has 3 lines but VEHICLES is 2: give one line per vehicle"),
    (FLEET.format(vehicles=3) + "CAPACITY_SECTION\n1 5\n2 6\n3 5\nDEPOT_SECTION\n1\n-1\nEOF\n",
     "vehicle 3 has the type of vehicle 1 but other types are listed between them: list the vehicles of each type together"),
    (FLEET.format(vehicles=2) + "CAPACITY_SECTION\n1 5\n2 3\nVEHICLES_ALLOWED_CLIENTS_SECTION\n1 2 3\n2 1 2\nDEPOT_SECTION\n1\n-1\nEOF\n",
     "VEHICLES_ALLOWED_CLIENTS_SECTION lists a location that is not a customer: give customer numbers 2..3"),
    (FLEET.format(vehicles=2) + "CAPACITY_SECTION\n1 5\n2 3\nVEHICLES_ALLOWED_CLIENTS_SECTION\n1 2\n2 2 3\nDEPOT_SECTION\n1\n-1\nEOF\n",
     "customer 2 has demand 4, more than every vehicle type allowed to serve it holds"),
    (FLEET.format(vehicles=2).replace("EDGE", "CAPACITY: 5\nEDGE") + "VEHICLES_DEPOT_SECTION\n1 1\n2 2\nDEPOT_SECTION\n1\n-1\nEOF\n",
     "VEHICLES_DEPOT_SECTION names a location that is not a depot: give depot numbers 1..1"),
    (FLEET.format(vehicles=1.5).replace("EDGE", "CAPACITY: 5\nEDGE") + "DEPOT_SECTION\n1\n-1\nEOF\n",
     "VEHICLES has 1.5, not a whole number: fix it"),
]


@pytest.mark.parametrize(
    "text, message",
    [
        (HEADER.format(type="CVRP") + COORDS + DEMANDS.format(d=11) + DEPOT, r"demand_linehaul\[1\] = 11 exceeds the capacity 10"),
        (HEADER.format(type="VRPTW") + COORDS + DEMANDS.format(d=1) + DEPOT, "TYPE VRPTW names TW but TIME_WINDOW_SECTION is missing"),
        (HEADER.format(type="VRPB") + COORDS + DEMANDS.format(d=1) + DEPOT, "TYPE VRPB names backhauls but BACKHAUL_SECTION is missing"),
        (HEADER.format(type="CVRP") + COORDS + DEMANDS.format(d=1) + "TIME_WINDOW_SECTION\n1 0 10\n2 0 10\n3 0 10\n" + DEPOT,
         "TIME_WINDOW_SECTION is given but TYPE CVRP does not name TW"),
        (HEADER.format(type="VRPZ") + COORDS + DEMANDS.format(d=1) + DEPOT, "unknown variant 'VRPZ'"),
        (HEADER.format(type="CVRP") + COORDS + DEPOT, "DEMAND_SECTION is missing"),
        (HEADER.format(type="CVRP") + "NODE_COORD_SECTION\n1 0 0\n2 one 0\n3 0 1\n" + DEMANDS.format(d=1) + DEPOT, "NODE_COORD data has entries that are not numbers"),
        (HEADER.format(type="VRPTW") + COORDS + DEMANDS.format(d=1) + "TIME_WINDOW_SECTION\n1 0 10\n2 0 10\n3 0 0.1\n" + DEPOT,
         "customer 2 cannot be served by any route"),
        (HEADER.format(type="CVRP") + "VEHICLES_MAX_RELOADS: 5\n" + COORDS + DEMANDS.format(d=1) + DEPOT,
         "VEHICLES_MAX_RELOADS \\(reloading\\) is a rule that none of this solver's variants has"),
        (HEADER.format(type="CVRP") + COORDS + DEMANDS.format(d=1) + "RELEASE_TIME_SECTION\n1 0\n2 5\n3 0\n" + DEPOT,
         "RELEASE_TIME_SECTION \\(release times\\) is a rule"),
        (HEADER.format(type="VRPTW") + "DISTANCE: 4\n" + COORDS + DEMANDS.format(d=1) + DEPOT,
         "DISTANCE is CVRPLIB's route limit of TYPE: CVRP files; TYPE is VRPTW: write the limit as VEHICLES_MAX_DISTANCE"),
        (HEADER.format(type="CVRP") + "DISTANCE: 4\nVEHICLES_MAX_DISTANCE: 4\n" + COORDS + DEMANDS.format(d=1) + DEPOT,
         "DISTANCE is given beside VEHICLES_MAX_DISTANCE or TIME_WINDOW_SECTION: keep one limit"),
        (HEADER.format(type="CVRP").replace("CAPACITY: 10", "CAPACITY: 10 20") + COORDS + DEMANDS.format(d=1) + DEPOT,
         "CAPACITY is '10 20', not one number: give one, or a CAPACITY_SECTION with one line per vehicle"),
        (HEADER.format(type="CVRP") + COORDS + DEMANDS.format(d=1) + "DEPOT_SECTION\nnan\n-1\nEOF\n",
         "DEPOT_SECTION lists something other than location numbers"),
        ("", "the file is empty: give a VRPLIB"),
        ("\n  \n", "the file is empty"),
        ("Route #1: 1 2\nCost: 3\n", "a solution file \\(Route lines\\), not an instance: pass the instance it solves"),
        (HEADER.format(type="CVRP") + "NODE_COORD_SECTION\n1 0 0\n2 1\n3 0 1\n" + DEMANDS.format(d=1) + DEPOT,
         "a line of a section has more or fewer values than the others \\(a truncated line\\?\\)"),
        (HEADER.format(type="VRPB") + COORDS + DEMANDS.format(d=1) + "BACKHAUL_SECTION\n3 4 -1\n" + DEPOT,
         "BACKHAUL_SECTION is one line but not a list of customer numbers 2..3 ended by -1"),
        *BAD_CORDEAU_FILES,
        *BAD_FLEET_FILES,
    ],
)
def test_bad_files_give_one_line_naming_file_problem_and_fix(tmp_path, text, message):
    path = tmp_path / "bad.vrp"
    path.write_text(text)
    with pytest.raises(InstanceFileError, match=message) as error:
        read_instance(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(InstanceFileError, match="no such file"):
        read_instance(tmp_path / "nope.vrp")


def test_nco_check_judges_a_solution_file(tmp_path, fixtures):
    import subprocess
    import sys

    def check(*args):
        return subprocess.run([sys.executable, "-m", "nco.cli", "check", *map(str, args)], capture_output=True,
                              text=True, timeout=120)

    good = check(fixtures / "X-n101-k25.vrp", fixtures / "X-n101-k25.sol", "--round", "round")
    assert good.returncode == 0 and "feasible, cost 27591" in good.stdout
    (tmp_path / "bad.sol").write_text("Route #1: 1 2 3\nRoute #2: 3 4\nCost 5\n")
    bad = check(fixtures / "X-n101-k25.vrp", tmp_path / "bad.sol")
    assert bad.returncode == 1 and "customers served more than once: [3]" in bad.stdout
    (tmp_path / "empty.sol").write_text("")
    unreadable = check(fixtures / "X-n101-k25.vrp", tmp_path / "empty.sol")
    assert unreadable.returncode == 2 and "no 'Route #k: ...' lines" in unreadable.stderr


def test_solution_with_an_empty_cost_gives_one_line(tmp_path):
    # found by the fuzzing below on a fresh clone: vrplib keeps "Cost: " as the empty string
    path = tmp_path / "empty-cost.sol"
    path.write_text("Route #1: 1 2\nCost: \n")
    with pytest.raises(InstanceFileError, match="'Cost' line .* not a number"):
        read_solution(path)


# ---------------------------------------------------------------- fuzzing every bundled format
BUNDLED = Path(__file__).resolve().parents[2] / "nco" / "data"
GARBAGE = ["", "x", "-1", "-0", "0", "1e400", "nan", "inf", "3.5", "99999999999999999999", "\x00", "ÿ", ":", "EOF"]


@st.composite
def mutated(draw, text: str) -> str:
    """``text`` after one to three edits: truncation, a deleted, repeated or swapped line, a
    token replaced by garbage, or random bytes inserted."""
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        edit = draw(st.sampled_from(["truncate", "delete", "repeat", "swap", "token", "insert"]))
        where = draw(st.integers(0, max(0, len(lines) - 1)))
        if edit == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
            continue
        if edit == "delete":
            del lines[where]
        elif edit == "repeat":
            lines.insert(where, lines[where])
        elif edit == "swap":
            other = draw(st.integers(0, max(0, len(lines) - 1)))
            lines[where], lines[other] = lines[other], lines[where]
        elif edit == "token":
            tokens = lines[where].split(" ")
            tokens[draw(st.integers(0, len(tokens) - 1))] = draw(st.sampled_from(GARBAGE))
            lines[where] = " ".join(tokens)
        else:
            lines.insert(where, draw(st.text(max_size=20)))
        text = "\n".join(lines)
    return text


def assert_reads_or_says_one_line(read, path: Path) -> None:
    try:
        read(path)
    except InstanceFileError as error:
        message = str(error)
        assert message and "\n" not in message.strip(), message
        assert "Traceback" not in message


def _fuzz(name: str, read, examples: int):
    source = BUNDLED / name

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(text=mutated(source.read_text()))
    def check(tmp_path, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        assert_reads_or_says_one_line(read, path)

    return check


@pytest.mark.parametrize("name", sorted(p.name for p in BUNDLED.iterdir() if p.suffix in INSTANCE_SUFFIXES))
def test_mutated_bundled_instances_read_or_give_one_line(tmp_path, name):
    examples = 10 if "ORTEC" in name else 40  # the ORTEC file is a 207 x 207 matrix: slow to parse
    _fuzz(name, read_instance, examples)(tmp_path)


@pytest.mark.parametrize("name", sorted(p.name for p in BUNDLED.iterdir() if p.suffix == ".sol"))
def test_mutated_bundled_solutions_read_or_give_one_line(tmp_path, name):
    _fuzz(name, read_solution, 40)(tmp_path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["num_depot_slots", "locs", "demand_linehaul", "demand_backhaul", "capacity",
                              "time_windows", "service_time", "distance_limit", "open_route", "backhaul",
                              "num_depots"]),
       position=st.integers(0, 10**6),
       value=st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0, 1e30, 2.5, 7.0]))
def test_mutated_dataset_values_read_or_give_one_line(tmp_path, field, position, value):
    arrays = dataset_fields(tmp_path)
    flat = arrays[field].astype(np.float64).reshape(-1)
    flat[position % flat.size] = value
    np.savez(tmp_path / "mutated.npz", **{**arrays, field: flat.reshape(arrays[field].shape)})
    assert_reads_or_says_one_line(read_instances, tmp_path / "mutated.npz")


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=200))
def test_binary_junk_is_one_line(data):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".vrp", ".txt", ".npz", ".sol"):
            path = Path(folder) / f"junk{suffix}"
            path.write_bytes(data)
            assert_reads_or_says_one_line(read_solution if suffix == ".sol" else read_instance, path)


TINY_EUC = """NAME : tiny
TYPE : CVRP
DIMENSION : {dimension}
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 1 0
3 0 1
DEMAND_SECTION
1 0
2 3
3 4
DEPOT_SECTION
1
-1
EOF
"""


def peak_memory_of(code: str) -> tuple[str, int]:
    """What ``code`` prints in a fresh Python process, and that process's peak RSS in MB."""
    import os
    import subprocess
    import sys

    wrapped = f"import resource\n{code}\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    result = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    *printed, peak = result.stdout.strip().splitlines()
    return "\n".join(printed), int(peak)


@pytest.mark.parametrize("dimension", ["1e999", "3.5", "-3", "nan", "many"])
def test_a_dimension_that_is_not_a_whole_number_is_one_line(tmp_path, dimension):
    path = tmp_path / "tiny.vrp"
    path.write_text(TINY_EUC.format(dimension=dimension))
    with pytest.raises(InstanceFileError, match=f"DIMENSION is {dimension}: give the number of locations"):
        read_instance(path)
    path.write_text(TINY_EUC.format(dimension=3))
    assert read_instance(path).num_customers == 2


def test_small_files_cannot_claim_huge_memory(tmp_path):
    # a matrix section that EUC_2D does not use (31 bytes built a 4000 x 4000 matrix)
    unused = tmp_path / "unused.vrp"
    unused.write_text(TINY_EUC.format(dimension=4000).replace(
        "DEMAND_SECTION", "EDGE_WEIGHT_FORMAT : FUNCTION\nEDGE_WEIGHT_SECTION\n1 2 3\nDEMAND_SECTION"))
    # a dataset of one instance of 100,000 locations (a dense distance matrix of 40 GB)
    huge = tmp_path / "huge.npz"
    arrays = dataset_fields(tmp_path)
    np.savez_compressed(huge, **{**arrays, "locs": np.zeros((1, 100_000, 2), np.float32)})
    printed, peak = peak_memory_of(
        "from nco.io import read_instance, read_instances\n"
        f"for reader, path in ((read_instance, {str(unused)!r}), (read_instances, {str(huge)!r})):\n"
        "    try:\n        reader(path)\n    except ValueError as error:\n        print(error)")
    unused_line, huge_line = printed.splitlines()
    assert "EDGE_WEIGHT_SECTION is given but EDGE_WEIGHT_TYPE EUC_2D does not use it" in unused_line
    assert "the distance matrices of 1 instances of 100000 locations need about" in huge_line
    assert "split the dataset" in huge_line
    assert peak < 1500, f"{peak} MB"


def test_a_compressed_dataset_that_would_expand_beyond_memory_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, **{**dataset_fields(tmp_path), "padding": np.zeros(50_000_000, np.uint8)})
    assert path.stat().st_size < 200_000
    monkeypatch.setattr("nco.memory.available_memory", lambda: 60_000_000)
    with pytest.raises(ValueError, match="bomb.npz .*MB uncompressed.* split the file"):
        read_instances(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dimension=st.one_of(st.integers(-10, 10**12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                           st.sampled_from(["1e999", "-inf", "3.0", "0x10", ""])),
       matrix=st.sampled_from(["", "EDGE_WEIGHT_FORMAT : FUNCTION\nEDGE_WEIGHT_SECTION\n1 2 3\n"]),
       edge_type=st.sampled_from(["EUC_2D", "EXPLICIT"]))
def test_header_sizes_read_or_give_one_line_without_building_a_matrix(tmp_path, dimension, matrix, edge_type):
    """The size dimension of the readers' fuzzing: a header can claim any size; reading either
    works or says one line, and no matrix of the claimed size is built (a 10**12 DIMENSION would
    need terabytes)."""
    path = tmp_path / "claimed.vrp"
    text = TINY_EUC.format(dimension=dimension).replace("EUC_2D", edge_type)
    path.write_text(text.replace("DEMAND_SECTION", matrix + "DEMAND_SECTION"))
    assert_reads_or_says_one_line(read_instance, path)


def test_a_fleet_file_reads_as_vehicle_types_and_its_solution_is_judged_per_vehicle(fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    types = instance.vehicle_types
    assert instance.variant.name == "VRPTW" and instance.capacity == 15
    assert types.capacity.tolist() == [10, 15] and types.num_available.tolist() == [2, 1]
    assert types.fixed_cost.tolist() == [5, 20] and types.unit_distance_cost.tolist() == [1, 2]
    assert types.max_duration.tolist() == [70, 70] and types.depot.tolist() == [-1, -1]
    assert np.flatnonzero(~types.allowed[0, 1:]).tolist() == [6]  # file number 8: location 7
    routes, _ = read_solution(fixtures / "fleet-sd7.sol")
    result = check_solution(instance, routes)
    assert result.feasible, result.violations
    assert result.cost == pytest.approx(219.574173)
    # the truck's route waits at 7 (window 60-90) unless it leaves late: leaving at 0 it would be
    # back after more than its limit of 70
    clock, path = 0.0, [0, 2, 7, 3, 0]
    for here, there in zip(path, path[1:]):
        clock = max(clock + instance.distances[here, there], instance.time_windows[there, 0]) + instance.service_time[there]
    assert clock > 90
    assert check_solution(instance, [[2, 7, 3], [6, 1], [4, 5]]).violations == [
        "route 1 (vehicle type 0): serves [7], which its vehicle type may not serve",
        "route 1 (vehicle type 0): load 12 on board exceeds the capacity 10"]


def test_a_fleet_round_trips_through_vrplib(tmp_path, fixtures):
    instance = read_instance(fixtures / "fleet-sd7.vrp")
    write_instance(tmp_path / "copy.vrp", instance)
    again = read_instance(tmp_path / "copy.vrp")
    for name in ("capacity", "num_available", "fixed_cost", "unit_distance_cost", "max_duration", "depot", "allowed"):
        assert np.array_equal(getattr(again.vehicle_types, name), getattr(instance.vehicle_types, name)), name
    assert_same_instance(instance, again)


def test_generated_fleets_with_limits_and_windows_round_trip_through_vrplib(tmp_path):
    from nco.envs.generator import generate

    # seed 0: fleets on OVRPBL, OVRPBLTW, OVRPL, OVRPLTW and VRPBLTW instances (a length limit, a
    # specification, once came after the vehicle sections and made the file unreadable)
    for index, instance in enumerate(generate(6, 12, "all16", seed=0, distribution="broad_fleet").instances()):
        write_instance(tmp_path / f"{index}.vrp", instance)
        again = read_instance(tmp_path / f"{index}.vrp")
        assert again.distance_limit == pytest.approx(instance.distance_limit)
        assert np.array_equal(again.vehicles, instance.vehicles)  # a batch with fleets: every instance has one


def test_vehicles_stay_informational_in_a_file_that_does_not_describe_them(fixtures):
    assert read_instance(fixtures / "X-n101-k25.vrp").vehicle_types is None


def test_a_huge_fleet_of_identical_vehicles_reads_as_one_type(tmp_path):
    # no per-vehicle section: nothing is built per vehicle, however many VEHICLES says
    path = tmp_path / "huge.vrp"
    path.write_text(FLEET.format(vehicles=10**12).replace("EDGE", "CAPACITY: 10\nEDGE") + "DEPOT_SECTION\n1\n-1\nEOF\n")
    types = read_instance(path).vehicle_types
    assert types.num_available.tolist() == [10**12] and types.capacity.tolist() == [10]
    assert types.vehicle_types(2).tolist() == [0, 0]  # no more vehicles than customers are useful
