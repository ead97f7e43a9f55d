"""One instance through the policy: images, starts, units, progress."""

import pytest

import nco
from nco.envs.check import check_solution
from nco.envs.generator import generate
from nco.solvers.neural.decode import solve_instance


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


def test_a_long_neural_solve_shows_its_progress_and_a_short_one_does_not(checkpoint, capsys, monkeypatch):
    instance = nco.read(nco.DATA / "p01.vrp")
    monkeypatch.setattr("nco.solvers.neural.decode.PROGRESS_DELAY", 60.0)
    nco.solve(instance, checkpoint=checkpoint, progress=True)
    assert "decoding" not in capsys.readouterr().err  # well under the delay
    monkeypatch.setattr("nco.solvers.neural.decode.PROGRESS_DELAY", 0.0)
    nco.solve(instance, checkpoint=checkpoint, progress=True)
    assert "decoding n = 50:" in capsys.readouterr().err


@pytest.mark.parametrize("variant", ["CVRP", "OVRPBLTW", "VRPMBTW", "MDVRPTW"])
def test_solve_instance_in_file_units_is_feasible(checkpoint, variant):
    from nco.checkpoints import load_policy

    policy, _ = load_policy(checkpoint)
    base = generate(1, 10, variant, seed=2).instance(0)
    large_units = base.replace(coords=base.coords * 1000, time_windows=base.time_windows * 1000,
                               service_time=base.service_time * 1000, distance_limit=base.distance_limit * 1000)
    for max_rollouts in (2048, 10):  # all images at once, or image by image
        routes = solve_instance(policy, large_units, augment=True, max_rollouts=max_rollouts)
        result = check_solution(large_units, routes)
        assert result.feasible, result.violations


def test_an_unlimited_fleet_decodes_each_type_alone_and_keeps_the_best(checkpoint, monkeypatch):
    from nco.checkpoints import load_policy
    from nco.envs.fleet import VehicleTypes
    from nco.models.policy import Policy

    policy, _ = load_policy(checkpoint)
    plain = generate(1, 12, "CVRP", seed=4).instance(0)
    # a small type cheap per vehicle and dear per distance, a large one the other way round
    types = VehicleTypes(capacity=[plain.capacity / 2, plain.capacity], fixed_cost=[0.1, 5.0],
                         unit_distance_cost=[3.0, 1.0])
    instance = plain.replace(capacity=None, vehicle_types=types)
    forward, decoded = Policy.forward, []

    def recording_forward(self, problem, *args):
        decoded.append(problem.instance(0).vehicle_types.num_types)
        return forward(self, problem, *args)

    monkeypatch.setattr(Policy, "forward", recording_forward)
    routes = solve_instance(policy, instance, augment=False)
    assert decoded == [2, 1, 1]  # the instance, then each type alone
    result = check_solution(instance, routes)
    assert result.feasible, result.violations
    monkeypatch.setattr("nco.solvers.neural.decode.fleet_variants", lambda instance: [instance])
    alone = check_solution(instance, solve_instance(policy, instance, augment=False))
    assert alone.feasible and result.cost <= alone.cost


def test_a_limited_fleet_is_decoded_once_more_filling_its_routes(checkpoint, monkeypatch):
    from nco.checkpoints import load_policy
    from nco.envs.fleet import VehicleTypes
    from nco.models.policy import Policy

    policy, _ = load_policy(checkpoint)
    plain = generate(1, 12, "VRPTW", seed=4).instance(0)
    instance = plain.replace(capacity=None, vehicle_types=VehicleTypes(capacity=[plain.capacity], num_available=[11]))
    forward, fills = Policy.forward, []

    def recording_forward(self, problem, decoding, *args):
        fills.append(decoding.fill_routes)
        return forward(self, problem, decoding, *args)

    monkeypatch.setattr(Policy, "forward", recording_forward)
    result = check_solution(instance, solve_instance(policy, instance, augment=False))
    assert fills == [False, True]
    assert result.feasible, result.violations
    fills.clear()
    solve_instance(policy, plain, augment=False)
    assert fills == [False]  # no fleet to run out of
