import csv
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import nco
from nco.cluster import check_backend
from nco.compare import compare
from nco.envs.generator import generate

ray = pytest.importorskip("ray", reason="the cluster extra (make test installs it)")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance on 2 CPUs, as on the CI machine."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def tiny_instances():
    instances = []
    for variant in ("CVRP", "VRPBTW", "MDOVRPL"):
        problem = generate(2, 8, [variant], seed=3)
        instances += [problem.instance(i, f"{variant}-{i}") for i in range(2)]
    return instances


def costs(path) -> dict:
    with open(path / "results.csv", newline="") as handle:
        return {(r["instance"], r["solver"], r["setting"]): (r["cost"], r["feasible"]) for r in csv.DictReader(handle)}


def test_ray_gives_the_rows_of_the_local_backend(tmp_path, checkpoint, local_ray):
    instances = tiny_instances()
    options = dict(solvers=["neural", "ortools", "pyvrp"], time_limits=[0.2], checkpoint=str(checkpoint))
    compare(instances, out=tmp_path / "local", workers=2, **options)
    compare(instances, out=tmp_path / "ray", backend="ray", **options)
    local, remote = costs(tmp_path / "local"), costs(tmp_path / "ray")
    assert len(remote) == 6 * 5 and remote.keys() == local.keys()
    assert all(feasible == "True" for _, feasible in remote.values())
    # costs equal, times aside, where they do not depend on the machine's speed: the neural search
    # at 0.2 s paces itself against the wall clock (two processes share two cores under Ray)
    paced = {key for key in local if key[1:] == ("neural", "0.2s")}
    assert {key: remote[key] for key in remote.keys() - paced} == {key: local[key] for key in local.keys() - paced}
    assert len(list((tmp_path / "ray" / "solutions" / "pyvrp-0.2s").glob("*.sol"))) == 6


def _kill_a_running_task(stop: threading.Event, killed: list) -> None:
    while not stop.is_set():
        found = subprocess.run(["pgrep", "-f", "ray::_task"], capture_output=True, text=True).stdout.split()
        if found:
            os.kill(int(found[0]), signal.SIGKILL)
            killed.append(int(found[0]))
            return
        time.sleep(0.05)


def test_a_killed_worker_is_retried_and_the_batch_completes(checkpoint, local_ray):
    instances = tiny_instances()
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_a_running_task, args=(stop, killed))
    killer.start()
    try:
        solutions = list(nco.solve_many(instances, "pyvrp", time_limit=1.0, backend="ray"))
    finally:
        stop.set()
        killer.join()
    assert killed, "no task was running to kill"
    assert sorted(s.instance.name for s in solutions) == sorted(i.name for i in instances)
    assert all(s.feasible for s in solutions)


def test_the_ray_backend_without_ray_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(ValueError, match=r'needs Ray, an optional extra: pip install -e "\.\[cluster\]"'):
        check_backend("ray")
    with pytest.raises(ValueError, match="unknown backend 'slurm': use local or ray"):
        check_backend("slurm")
    with pytest.raises(ValueError, match="needs Ray"):
        next(nco.solve_many([], backend="ray"))
