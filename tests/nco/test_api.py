import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nco
from nco.envs.route import Route
from nco.solution import Solution

ROOT = Path(__file__).resolve().parents[2]


def test_readme_python_example_runs(tmp_path):
    """The README's "Python" snippet, as written, in a fresh interpreter."""
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"## Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["neural", "pyvrp", "ortools"]
    assert all(line.split()[2] == "True" for line in lines)
    assert (tmp_path / "routes.png").stat().st_size > 0


@pytest.mark.parametrize("solver", ["neural", "pyvrp", "ortools"])
def test_every_solver_returns_a_judged_solution(checkpoint, solver):
    instance = nco.read(nco.DATA / "p01.vrp")  # four depots
    options = dict(checkpoint=checkpoint) if solver == "neural" else dict(time_limit=0.2)
    solution = nco.solve(instance, solver=solver, **options)
    assert solution.feasible and not solution.violations and solution.solver == solver
    assert all(0 <= route.depot < 4 and route.visits for route in solution.routes)
    visits = sorted(v for route in solution.routes for v in route.visits)
    assert visits == list(range(4, instance.num_locations))
    assert solution.seconds > 0


def test_solution_files_and_plots(tmp_path, checkpoint):
    from nco.io import read_solution

    solution = nco.solve(nco.DATA / "C101.txt", checkpoint=checkpoint, augment=False)
    path = solution.to_sol(tmp_path / "out" / "C101.sol")
    routes, cost = read_solution(path)
    assert routes == solution.route_lists() and cost == pytest.approx(solution.cost, rel=1e-6)
    figure = solution.plot(tmp_path / "C101.png")
    assert figure.axes and (tmp_path / "C101.png").is_file()


def test_nothing_found_is_an_infeasible_solution_without_routes():
    instance = nco.read(nco.DATA / "C101.txt")
    solution = Solution.judged(instance, None, "pyvrp", 1.0)
    assert not solution.feasible and not solution.routes and math.isnan(solution.cost)
    assert "no feasible solution" in solution.violations[0]


def test_route_lists_write_the_depot_only_with_several_depots():
    assert Route.from_list([2, 7, 8], num_depots=3) == Route(2, (7, 8))
    assert Route.from_list([7, 8], num_depots=1) == Route(0, (7, 8))
    assert Route(2, (7, 8)).to_list(3) == [2, 7, 8] and Route(0, (7, 8)).to_list(1) == [7, 8]
    assert Route(1, (5,)).path(open_route=False) == [1, 5, 1] and Route(1, (5,)).path(open_route=True) == [1, 5]


def test_solve_many_in_workers_gives_the_same_costs_as_one_by_one():
    instances = nco.read_many([nco.DATA / "C101.txt", nco.DATA / "p01.vrp"])
    alone = {s.instance.name: s.cost for s in nco.solve_many(instances, "ortools", time_limit=0.3)}
    pooled = {s.instance.name: s.cost for s in nco.solve_many(instances, "ortools", time_limit=0.3, workers=2)}
    assert alone.keys() == pooled.keys() == {"C101", "p01"}
    assert all(np.isfinite(cost) for cost in pooled.values())


def test_instances_built_in_code():
    instance = nco.Instance(coords=[[0, 0], [1, 0], [0, 1]], demand_linehaul=[0, 1, 1], capacity=2, name="tiny")
    solution = nco.solve(instance, "pyvrp", time_limit=0.1)
    assert solution.feasible and solution.cost == pytest.approx(2 + math.sqrt(2))
    with pytest.raises(ValueError, match="exceeds the capacity"):
        nco.Instance(coords=[[0, 0], [1, 0]], demand_linehaul=[0, 3], capacity=2)


@pytest.mark.parametrize("call, message", [
    (lambda: nco.solve(nco.DATA / "C101.txt", solver="lkh"), "unknown solver 'lkh': use one of neural, pyvrp, ortools"),
    (lambda: nco.solve(nco.DATA / "C101.txt", solver="pyvrp", time_limit=-1), "time_limit=-1"),
    (lambda: nco.solve(nco.DATA / "C101.txt", search="polish"), "the polish search runs until a time limit"),
    (lambda: nco.solve(nco.DATA / "C101.txt", time_limit=1, search="tabu"), "unknown search 'tabu': use one of"),
    (lambda: nco.solve(nco.DATA / "C101.txt", device="tpu0"), "unknown device 'tpu0'"),
    (lambda: nco.read("data.npz"), "read it with nco.read_many"),
    (lambda: nco.read(nco.DATA / "C101.txt", rounding="floor"), "unknown rounding 'floor'"),
    (lambda: list(nco.solve_many([], workers=0)), "workers=0"),
])
def test_bad_calls_are_one_line_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_a_project_with_its_own_models_and_envs_modules_still_solves(tmp_path):
    """envs/ and models/ install as nco.envs and nco.models: a user's `models.py` and `envs/`
    neither shadow them nor are shadowed."""
    (tmp_path / "models.py").write_text("WHO = 'the user'\n")
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "__init__.py").write_text("WHO = 'the user too'\n")
    script = (
        "import models, envs, nco\n"
        "solution = nco.solve(nco.DATA / 'p01.vrp', solver='ortools', time_limit=0.2)\n"
        "print(models.WHO, '|', envs.WHO, '|', solution.feasible)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "the user | the user too | True"
