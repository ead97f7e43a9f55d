import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nco.compare import Task, run_key, summarise
from nco.envs.fleet import VehicleTypes
from nco.envs.generator import generate
from nco.plots import plot_pareto

ROOT = Path(__file__).resolve().parents[2]


def run_compare(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nco.cli", "compare", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ})


def test_compare_writes_every_file_and_resumes(tmp_path, checkpoint):
    args = ["--variants", "CVRP,VRPBTW", "--num-nodes", "8", "--instances", "2", "--time-limits", "0.2",
            "--checkpoint", checkpoint, "--out", tmp_path, "--workers", "2"]
    result = run_compare(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("results.csv", "summary.md", "pareto.png", "gap_by_variant.png", "routes.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    settings = {(r["solver"], r["setting"]) for r in rows}
    assert settings == {("neural", "greedy"), ("neural", "aug"), ("neural", "0.2s"), ("ortools", "0.2s"),
                        ("pyvrp", "0.2s")}
    assert len(rows) == 2 * 2 * 5 and all(r["feasible"] == "True" for r in rows)
    for solver, setting in settings:
        assert len(list((tmp_path / "solutions" / f"{solver}-{setting}").glob("*.sol"))) == 4
    assert "| VRPBTW | pyvrp | 0.2s | 2 | 2 |" in (tmp_path / "summary.md").read_text()
    # a rerun finds every row done and adds none
    again = run_compare(*args)
    assert again.returncode == 0
    with open(tmp_path / "results.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)
    # a second checkpoint under its own name joins the same table
    other = run_compare(*args[:-4], "--solvers", "neural", "--neural-name", "other", "--out", tmp_path)
    assert other.returncode == 0, other.stderr[-2000:]
    with open(tmp_path / "results.csv") as handle:
        named = [r for r in csv.DictReader(handle) if r["solver"] == "other"]
    assert len(named) == 2 * 2 * 3 and "| CVRP | other | aug |" in (tmp_path / "summary.md").read_text()


def test_summary_gaps_are_to_the_best_run_of_each_instance():
    rows = [
        dict(instance="a", variant="CVRP", solver="x", setting="1s", cost="10", time="1", feasible="True"),
        dict(instance="a", variant="CVRP", solver="y", setting="1s", cost="11", time="2", feasible="True"),
        dict(instance="b", variant="CVRP", solver="x", setting="1s", cost="", time="1", feasible="False"),
        dict(instance="b", variant="CVRP", solver="y", setting="1s", cost="5", time="2", feasible="True"),
    ]
    text, stats = summarise(rows)
    assert stats[("CVRP", "x", "1s")][0] == 0.0
    assert stats[("CVRP", "y", "1s")][0] == pytest.approx(5.0)  # (10% + 0%) / 2
    assert "| CVRP | x | 1s | 2 | 1 | 0.00% |" in text


def test_a_solver_that_solved_nothing_has_no_gap_and_no_point(tmp_path, recwarn):
    rows = [dict(instance="a", variant="VRPTW", solver="neural", setting="greedy", cost="", time="0", feasible="False"),
            dict(instance="a", variant="VRPTW", solver="pyvrp", setting="1s", cost="5", time="1", feasible="True")]
    text, stats = summarise(rows)
    assert "| neural | greedy | - | 0.000 |" in text and "| pyvrp | 1s | 0.00% | 1.000 |" in text
    plot_pareto(stats, tmp_path / "pareto.png")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_unknown_solver_is_one_line(tmp_path):
    result = run_compare("--solvers", "neural,lkh", "--instances", "1", "--out", tmp_path)
    assert result.returncode == 2 and "unknown solver 'lkh'" in result.stderr and "Traceback" not in result.stderr


def test_generated_comparison_instances_can_come_from_the_held_out_real_matrices(tmp_path, fixtures):
    from argparse import Namespace

    from nco.cli import _compare_instances

    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text((fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt").read_text())
    args = Namespace(paths=[], variants="CVRP,VRPTW", instances=2, customers=10, seed=0, distribution="variants_md",
                     matrix_pool=str(tmp_path), pool_split="test")
    instances = _compare_instances(args)
    assert [i.variant.name for i in instances] == ["CVRP", "CVRP", "VRPTW", "VRPTW"]
    assert all(i.distance_matrix is not None for i in instances)
    assert any((i.distance_matrix != i.distance_matrix.T).any() for i in instances)


@pytest.mark.parametrize("args, message", [
    (["solve", "nco/data/C101.txt", "--workers", "0"], "argument --workers: '0' is not a positive whole number"),
    (["solve", "nco/data/C101.txt", "--workers", "-3"], "argument --workers"),
    (["solve", "nco/data/C101.txt", "--plot"], "--plot draws into the --out folder: give --out DIR too"),
    (["solve", "nco/data/C101.txt", "--search", "tabu"],
     "unknown search 'tabu': use one of polish, sampling, reconstruct"),
    (["solve", "nco/data/C101.txt", "--search", "reconstruct"],
     "the reconstruct search runs until a time limit: give one (--time-limit SECONDS)"),
    (["compare", "nco/data/C101.txt", "--time-limits", "-1"], "give positive seconds, comma-separated"),
    (["compare", "nco/data/C101.txt", "--solvers", "lkh"], "unknown solver 'lkh': use some of neural, pyvrp, ortools"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "nco.cli", *args, *(["--out", str(tmp_path)] if "lkh" in args else [])],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""


def test_rows_are_recomputed_when_what_they_depend_on_changes(tmp_path, checkpoint):
    """A rerun after the checkpoint or an instance changed recomputes exactly the affected rows."""
    import shutil

    import torch

    from nco.compare import compare, read_results
    from nco.envs.generator import generate

    instances = generate(2, 6, "CVRP", seed=0).instances()
    first = compare(instances, ["neural", "ortools"], [0.1], tmp_path, str(checkpoint), workers=1)
    keys = {(r["instance"], r["solver"], r["setting"]): r["key"] for r in first}
    assert len(keys) == 2 * 4 and all(keys.values())
    # the same run again: nothing recomputed, every row kept
    assert read_results(tmp_path / "results.csv") == compare(instances, ["neural", "ortools"], [0.1], tmp_path,
                                                             str(checkpoint), workers=1)
    # other weights: the neural rows are recomputed, the classical rows kept
    other = tmp_path / "other.pt"
    shutil.copy(checkpoint, other)
    content = torch.load(other, weights_only=True)
    content["state_dict"] = {k: v + 0.01 for k, v in content["state_dict"].items()}
    torch.save(content, other)
    rows = compare(instances, ["neural", "ortools"], [0.1], tmp_path, str(other), workers=1)
    changed = {(r["instance"], r["solver"], r["setting"]) for r in rows if r["key"] != keys[r["instance"], r["solver"], r["setting"]]}
    assert changed == {(i.name, "neural", s) for i in instances for s in ("greedy", "aug", "0.1s")} and len(rows) == 8
    # an instance with other data under the same name: its rows are recomputed
    moved = [instances[0].replace(capacity=instances[0].capacity + 1), instances[1]]
    rows = compare(moved, ["ortools"], [0.1], tmp_path, str(other), workers=1)
    ortools = {r["instance"]: r["key"] for r in rows if r["solver"] == "ortools"}
    assert ortools["instance-0"] != keys["instance-0", "ortools", "0.1s"]
    assert ortools["instance-1"] == keys["instance-1", "ortools", "0.1s"]


def test_a_killed_comparison_completes_on_the_next_run_with_no_row_lost_or_doubled(tmp_path, checkpoint):
    args = ["--variants", "CVRP", "--num-nodes", "8", "--instances", "6", "--solvers", "pyvrp", "--time-limits",
            "0.5", "--checkpoint", checkpoint, "--out", tmp_path, "--workers", "1"]
    process = subprocess.Popen([sys.executable, "-m", "nco.cli", "compare", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results = tmp_path / "results.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if results.is_file() and len(results.read_text().splitlines()) >= 3:  # the header and two rows
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the command and its worker processes, as a terminal's kill
    process.wait()
    with open(results, "a") as handle:  # and as if the kill had cut a row short
        handle.write("CVRP-n8-5,CVRP,pyvrp,0.5s,12.3")
    done = [r["instance"] for r in csv.DictReader(open(results)) if None not in r.values()]
    assert 2 <= len(done) < 6
    again = run_compare(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"reusing {len(done)} of 6 runs" in again.stderr
    with open(results) as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["instance"] for r in rows) == [f"CVRP-n8-{i}" for i in range(6)]
    assert all(r["feasible"] == "True" and None not in r.values() for r in rows)


def test_files_of_one_name_are_compared_apart_and_write_inside_out(tmp_path, checkpoint):
    from nco.envs.generator import generate
    from nco.io import write_instance

    instance = generate(1, 6, "CVRP", seed=2).instance(0)
    for folder, scale in (("a", 1), ("b", 10)):
        (tmp_path / folder).mkdir()
        write_instance(tmp_path / folder / "one.vrp", instance.replace(name="../../same", coords=instance.coords * scale))
    out = tmp_path / "deep" / "out"
    result = run_compare(tmp_path / "a" / "one.vrp", tmp_path / "b" / "one.vrp", "--solvers", "pyvrp",
                         "--time-limits", "0.1", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "several inputs are named one" in result.stderr
    with open(out / "results.csv", newline="") as handle:
        costs = {row["instance"]: float(row["cost"]) for row in csv.DictReader(handle)}
    assert costs.keys() == {"one", "one-2"} and costs["one-2"] == pytest.approx(10 * costs["one"])
    assert sorted(p.name for p in (out / "solutions" / "pyvrp-0.1s").iterdir()) == ["one-2.sol", "one.sol"]
    assert not (tmp_path / "same").exists() and not (tmp_path / "deep" / "same").exists()


@pytest.mark.parametrize("command, new, old, value", [
    ("compare", "--customers", "--num-nodes", "8"), ("generate", "--customers", "--num-nodes", "8"),
    ("eval", "--customers", "--num-nodes", "8"), ("compare", "--rounding", "--round", "round"),
    ("solve", "--rounding", "--round", "round"), ("check", "--rounding", "--round", "round"),
])
def test_one_name_per_concept_with_the_old_option_names_kept(command, new, old, value):
    from nco.cli import build_parser

    positional = {"generate": ["out.npz"], "solve": ["file.vrp"], "check": ["file.vrp", "file.sol"]}.get(command, [])
    parse = build_parser().parse_args
    assert vars(parse([command, *positional, new, value])) == vars(parse([command, *positional, old, value]))


def test_the_run_key_sees_every_entry_of_a_fleet():
    instance = generate(1, 1500, ["CVRP"], seed=1).instance(0)
    allowed = np.ones((2, instance.num_locations), dtype=bool)
    one = instance.replace(capacity=None, vehicle_types=VehicleTypes([instance.capacity] * 2, allowed=allowed))
    allowed[1, 700] = False  # deep inside an array that a repr would elide
    other = instance.replace(capacity=None, vehicle_types=VehicleTypes([instance.capacity] * 2, allowed=allowed))
    task = Task("pyvrp", "1s", False)
    assert run_key(one, task, None, 1) != run_key(other, task, None, 1)
