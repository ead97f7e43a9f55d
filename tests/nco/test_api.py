import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nco
from nco.clock import SteppingClock
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


@pytest.mark.parametrize("variant", ["CVRP", "OVRPBLTW", "VRPMBTW", "MDOVRPMBL", "MDVRPBLTW"])
@pytest.mark.parametrize("search", ["sampling", "polish", "reconstruct"])
def test_the_neural_solver_within_a_time_limit_is_feasible_and_keeps_it(checkpoint, variant, search):
    from nco.envs.generator import generate

    instance = generate(1, 12, [variant], seed=5, distribution="broad").instance(0, variant)
    first_image = nco.solve(instance, checkpoint=checkpoint, augment=False)
    # on a stepping clock: the pacing does the same work however busy the machine is
    clock = SteppingClock(0.01)
    limited = nco.solve(instance, checkpoint=checkpoint, time_limit=0.5, search=search, clock=clock)
    assert limited.feasible, limited.violations
    assert limited.cost <= first_image.cost + 1e-9  # the first image is always decoded greedily
    assert limited.seconds <= 0.5 + 0.1  # on its own clock: at most a few readings past the limit
    # on the wall clock, properties that hold at any speed
    assert nco.solve(instance, checkpoint=checkpoint, time_limit=0.5, search=search).feasible


@pytest.mark.parametrize("search", ["sampling", "polish", "reconstruct"])
def test_a_large_instance_within_a_time_limit_is_feasible_and_keeps_it(checkpoint, search, monkeypatch):
    from nco.envs.generator import generate

    monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 10)  # 30 customers count as large
    instance = generate(1, 30, ["VRPTW"], seed=5, distribution="broad").instance(0, "VRPTW")
    limited = nco.solve(instance, checkpoint=checkpoint, time_limit=0.5, search=search, clock=SteppingClock(0.01))
    assert limited.feasible, limited.violations
    assert limited.seconds <= 0.5 + 0.1  # on its own clock: at most a few readings past the limit


def test_a_large_instance_decoded_whole_caps_its_starts(checkpoint, monkeypatch):
    from nco.envs.generator import generate
    from nco.models.policy import Policy

    monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 10)
    monkeypatch.setattr("nco.solvers.neural.reconstruct.WHOLE_DECODING_STARTS", 3)
    forward, starts = Policy.forward, []

    def recording_forward(self, problem, decoding, *args):
        starts.append(decoding.max_starts)
        return forward(self, problem, decoding, *args)

    monkeypatch.setattr(Policy, "forward", recording_forward)
    instance = generate(1, 12, ["CVRP"], seed=5).instance(0, "CVRP")
    assert nco.solve(instance, checkpoint=checkpoint, samples=1).feasible
    assert starts == [3, 3]  # the greedy pass and the sampling pass
    starts.clear()
    monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 12)
    assert nco.solve(instance, checkpoint=checkpoint, samples=1).feasible
    assert starts == [None, None]  # every customer starts a rollout


def test_the_polish_starts_from_the_networks_routes_on_a_real_matrix_file(checkpoint, fixtures):
    instance = nco.read(fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt")
    once = nco.solve(instance, checkpoint=checkpoint, augment=False)
    polished = nco.solve(instance, checkpoint=checkpoint, augment=False, time_limit=3.0)
    assert polished.feasible and polished.cost < once.cost


def test_a_long_neural_solve_shows_its_progress_and_a_short_one_does_not(checkpoint, capsys, monkeypatch):
    instance = nco.read(nco.DATA / "p01.vrp")
    monkeypatch.setattr("nco.solvers.neural.decode.PROGRESS_DELAY", 60.0)
    nco.solve(instance, checkpoint=checkpoint, progress=True)
    assert "decoding" not in capsys.readouterr().err  # well under the delay
    monkeypatch.setattr("nco.solvers.neural.decode.PROGRESS_DELAY", 0.0)
    nco.solve(instance, checkpoint=checkpoint, progress=True)
    assert "decoding n = 50:" in capsys.readouterr().err


def test_a_file_with_a_matrix_gets_the_shipped_matrix_aware_model(monkeypatch):
    from nco.solvers.neural import solver
    from nco.checkpoints import DEFAULT_CHECKPOINT, MATRIX_CHECKPOINT, shipped_checkpoint

    matrix_file = nco.read(nco.DATA / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt")
    assert shipped_checkpoint(matrix_file) == MATRIX_CHECKPOINT
    assert shipped_checkpoint(nco.read(nco.DATA / "C101.txt")) == DEFAULT_CHECKPOINT
    load_model, loaded = solver.load_model, []
    monkeypatch.setattr(solver, "load_model", lambda checkpoint, device: loaded.append(checkpoint) or
                        load_model(checkpoint, device))
    assert nco.solve(matrix_file, augment=False).feasible
    assert loaded == [MATRIX_CHECKPOINT]
    assert load_model(MATRIX_CHECKPOINT, "cpu").config["neighbours"] > 0  # it reads the matrix


def test_solvers_whose_matrices_would_not_fit_in_memory_or_time_are_refused_or_replaced(checkpoint, monkeypatch):
    from nco.envs.generator import generate

    instance = generate(1, 12, ["CVRP"], seed=5).instance(0, "CVRP")
    monkeypatch.setattr("nco.memory.available_memory", lambda: 10 * 13**2 * 8 - 1)  # one byte short of OR-Tools'
    refused = nco.solve(instance, solver="ortools", time_limit=0.1)  # nothing found, and why
    assert not refused.feasible and not refused.routes and math.isnan(refused.cost)
    assert refused.violations == ("ortools needs about 0.0 GB for the travel matrices of 13 locations and 0.0 GB are "
                                  "available: use the neural solver, or a machine with more memory",)
    assert nco.solve(instance, solver="pyvrp", time_limit=0.1).feasible  # PyVRP's fit
    monkeypatch.setattr("nco.memory.available_memory", lambda: 1000)
    with pytest.raises(ValueError, match="^the polish runs PyVRP: pyvrp needs .* use the reconstruct search"):
        nco.solve(instance, checkpoint=checkpoint, time_limit=0.3, search="polish")

    def no_polish(*args, **kwargs):
        raise AssertionError("the polish ran")

    monkeypatch.setattr("nco.solvers.pyvrp.solve", no_polish)
    assert nco.solve(instance, checkpoint=checkpoint, time_limit=0.3).feasible  # the default re-constructs instead
    monkeypatch.setattr("nco.memory.available_memory", lambda: None)  # a system that does not say
    with pytest.raises(AssertionError, match="the polish ran"):  # time left after decoding, at any speed
        nco.solve(instance, checkpoint=checkpoint, time_limit=0.3, clock=SteppingClock(1e-4))
    # nor where PyVRP's set-up would take most of the polish's time
    monkeypatch.setattr("nco.solvers.neural.solver.POLISH_SETUP_SECONDS_PER_PAIR", 0.3 / 13**2)
    assert nco.solve(instance, checkpoint=checkpoint, time_limit=0.3).feasible
