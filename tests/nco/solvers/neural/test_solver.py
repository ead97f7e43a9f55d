"""The neural solver: how it spends a time limit (searches, the polish, large instances)."""

import math

import pytest

import nco
from nco.clock import SteppingClock


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


def test_the_polish_starts_from_the_networks_routes_on_a_real_matrix_file(checkpoint, fixtures):
    instance = nco.read(fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt")
    once = nco.solve(instance, checkpoint=checkpoint, augment=False)
    polished = nco.solve(instance, checkpoint=checkpoint, augment=False, time_limit=3.0)
    assert polished.feasible and polished.cost < once.cost


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


def test_the_network_solves_a_mixed_limited_fleet_with_every_search(checkpoint, monkeypatch):
    import numpy as np

    from nco.envs.fleet import VehicleTypes
    from nco.envs.generator import generate
    from nco.solvers.neural.solver import NeuralSolver

    plain = generate(1, 12, ["VRPTW"], seed=5).instance(0, "VRPTW")
    types = VehicleTypes(capacity=[plain.capacity / 2, plain.capacity], num_available=[3, np.inf],
                         fixed_cost=[1.0, 2.0], unit_distance_cost=[1.0, 1.5],
                         allowed=np.vstack([np.arange(plain.num_locations) % 2 == 0,
                                            np.ones(plain.num_locations, bool)]))
    instance = plain.replace(capacity=None, vehicle_types=types)
    limited = [{"time_limit": 0.5, "search": search, "clock": SteppingClock(0.01)}
               for search in ("polish", "sampling", "reconstruct")]
    for large in (False, True):  # decoded whole; decomposed into neighbourhoods from one image
        monkeypatch.setattr("nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO", 5 if large else 200)
        for options in ({}, *limited):
            solution = nco.solve(instance, checkpoint=checkpoint, **options)
            assert solution.feasible, (large, options, solution.violations)
            assert len(solution.route_lists()) == len(instance.vehicles)  # aligned to the vehicles
    # where the polish does not fit, a fleet re-constructs as every instance does
    monkeypatch.setattr("nco.solvers.neural.solver.POLISH_SETUP_SECONDS_PER_PAIR", 1.0)
    assert NeuralSolver()._search(instance, 0.5) == NeuralSolver()._search(plain, 0.5) == "reconstruct"
