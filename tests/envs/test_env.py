import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nco.envs.check import check_solution
from nco.envs.env import (action_mask, actions_to_routes, cost, fleet_penalty, gather_rows, keep_instances,
                          keep_rollouts, random_rollout, reset, rollout, step)
from nco.envs.generator import generate
from nco.envs.instance import Instance
from nco.envs.problem import Problem
from nco.envs.variants import ALL48, BACKHAUL_MIXED

SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def judge_rollouts(problem: Problem, actions: torch.Tensor) -> None:
    """Every rollout is feasible per the independent check, at the env's cost (to 1e-5)."""
    env_cost = cost(problem, actions)
    for b in range(problem.batch_size):
        instance = problem.instance(b)
        for s in range(actions.shape[1]):
            routes = actions_to_routes(actions[b, s], problem, b)
            result = check_solution(instance, routes)
            assert result.feasible, (instance.variant.name, result.violations)
            assert env_cost[b, s].item() == pytest.approx(result.cost, rel=1e-5)


def rollout_checking_masks(problem: Problem, num_starts: int, seed: int) -> torch.Tensor:
    """A random rollout that also asserts that no state is ever left without a feasible action."""
    generator = torch.Generator().manual_seed(seed)

    def choose(active, state, mask):
        assert mask.any(-1).all(), "a rollout has no feasible action"
        assert torch.equal(state.num_served, state.visited.sum(-1)), "the served count drifted from visited"
        rows = state.current[..., None].expand_as(state.visited)
        assert torch.equal(state.distance_from_current, active.distance.gather(1, rows)), "distance row is stale"
        assert torch.equal(state.duration_from_current, active.travel_time.gather(1, rows)), "duration row is stale"
        noise = torch.rand(mask.shape, generator=generator)
        return torch.where(mask, noise, -1.0).argmax(-1)

    return rollout(problem, choose, num_starts)


@pytest.mark.parametrize("variant", ALL48, ids=lambda v: v.name)
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), num_customers=st.integers(1, 15))
def test_random_rollouts_are_feasible_for_every_variant(variant, seed, num_customers):
    problem = generate(6, num_customers, [variant.name], seed=seed)
    assert {v.name for v in problem.variants()} == {variant.name}
    judge_rollouts(problem, rollout_checking_masks(problem, num_starts=3, seed=seed))


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_mixed_batches_of_all48_are_feasible(seed):
    problem = generate(32, 12, "all48", seed=seed)
    judge_rollouts(problem, rollout_checking_masks(problem, num_starts=2, seed=seed))


def asymmetric(problem: Problem, seed: int) -> Problem:
    """The same instances with an explicit asymmetric matrix that only shortens travel (so every
    generated instance stays feasible)."""
    generator = torch.Generator().manual_seed(seed)
    factor = 0.7 + 0.3 * torch.rand(problem.distance.shape, generator=generator)
    matrix = problem.distance * factor
    return Problem(**{**vars(problem), "distance": matrix, "duration": matrix, "explicit_matrix": True})


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1))
def test_explicit_asymmetric_matrices(seed):
    problem = asymmetric(generate(16, 10, "all48", seed=seed), seed)
    assert not torch.allclose(problem.distance, problem.distance.transpose(1, 2))
    judge_rollouts(problem, rollout_checking_masks(problem, num_starts=2, seed=seed))


def test_separate_duration_matrix_drives_time_windows():
    problem = generate(8, 10, "VRPTW", seed=3)
    factor = 0.5 + 0.5 * torch.rand(problem.distance.shape, generator=torch.Generator().manual_seed(3))
    faster = Problem(**{**vars(problem), "duration": problem.distance * factor, "explicit_matrix": True})
    judge_rollouts(faster, rollout_checking_masks(faster, 2, seed=3))


def test_explicit_euclidean_matrix_gives_identical_costs():
    problem = generate(16, 12, "all48", seed=7)
    actions = random_rollout(problem, 4, torch.Generator().manual_seed(0))
    instances = problem.instances()
    implicit = Problem.from_instances(instances)
    explicit = Problem.from_instances(
        [i.replace(distance_matrix=i.distances.copy()) for i in instances]
    )
    assert explicit.explicit_matrix and not implicit.explicit_matrix
    torch.testing.assert_close(cost(implicit, actions), cost(explicit, actions), rtol=0, atol=0)
    torch.testing.assert_close(cost(implicit, actions), cost(problem, actions), rtol=1e-6, atol=1e-6)


def test_multi_start_shares_static_data():
    problem = generate(4, 10, "all16", seed=0)
    state = reset(problem, num_starts=10)
    assert state.visited.shape == (4, 10, problem.num_locations)
    assert state.current.shape == (4, 10)
    # the only (B, ., N) static tensor held by the state is per depot, not per start
    assert state.depot_serves.shape == (4, problem.num_depot_slots, problem.num_locations)


def test_multi_depot_batches_mix_depot_counts():
    single = generate(3, 8, "VRPTW", seed=1).instances()
    multi = generate(3, 8, "MDVRPTW", seed=2).instances()
    two_depots = multi[0].replace(
        coords=np.delete(multi[0].coords, 2, 0),
        demand_linehaul=np.delete(multi[0].demand_linehaul, 2),
        demand_backhaul=np.delete(multi[0].demand_backhaul, 2),
        time_windows=np.delete(multi[0].time_windows, 2, 0),
        service_time=np.delete(multi[0].service_time, 2),
        num_depots=2,
    )
    problem = Problem.from_instances(single + multi + [two_depots])
    assert problem.num_depots.tolist() == [1, 1, 1, 3, 3, 3, 2]
    judge_rollouts(problem, rollout_checking_masks(problem, 3, seed=0))


def test_closed_multi_depot_routes_return_to_their_own_depot():
    # depot 0 at the far left, depot 1 at the far right, one customer next to each
    instance = Instance(
        coords=[[0, 0], [10, 0], [1, 0], [9, 0]], demand_linehaul=[0, 0, 1, 1], capacity=1, num_depots=2
    )
    problem = Problem.from_instances([instance])
    # start at depot 1, serve customer 3 (slot 3), then end the route and start from depot 0
    actions = torch.tensor([[[1, 3, 0, 2, 0]]])
    assert cost(problem, actions).item() == pytest.approx(4.0)
    result = check_solution(instance, actions_to_routes(actions[0, 0], problem, 0))
    assert result.feasible and result.cost == pytest.approx(4.0)


def test_mixed_backhaul_mask_applies_the_exact_load_rule():
    # Q = 10; linehaul customer 1 (demand 6), backhaul customer 2 (pickup 8).
    # Route 2 -> 1: leaves with 6 on board, collects 8 -> 14 > 10: infeasible, though each
    # counter alone (delivered 6, collected 8) is within capacity.
    instance = Instance(
        coords=[[0, 0], [1, 0], [0, 1]], demand_linehaul=[0, 6, 0], demand_backhaul=[0, 0, 8],
        capacity=10, backhaul=BACKHAUL_MIXED,
    )
    problem = Problem.from_instances([instance])
    state = step(problem, reset(problem), torch.tensor([[2]]))
    assert not action_mask(problem, state)[0, 0, 1]
    state = step(problem, reset(problem), torch.tensor([[1]]))
    assert action_mask(problem, state)[0, 0, 2]  # 1 -> 2: deliver 6 first, then collect 8


def test_unservable_customer_is_rejected_at_reset():
    problem = generate(2, 5, "VRPTW", seed=0)
    windows = problem.time_windows.clone()
    windows[1, -1] = torch.tensor([0.0, 0.0])  # closes before anyone can arrive
    broken = Problem(**{**vars(problem), "time_windows": windows})
    with pytest.raises(ValueError, match="instance 1: customer 5 cannot be served .* widen"):
        reset(broken)


def test_keep_instances_selects_the_same_instances_in_every_field():
    problem = generate(5, 6, "all16", seed=3)
    state = reset(problem, 4)
    state = step(problem, state, action_mask(problem, state).float().argmax(-1))
    keep = torch.tensor([True, False, True, False, True])
    kept = keep_instances(state, keep)
    for name, value in vars(kept).items():
        original = getattr(state, name)
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, original[keep]), name
        else:
            assert value == original, name
    torch.testing.assert_close(action_mask(problem[keep], kept), action_mask(problem, state)[keep])


def test_trimmed_rollouts_go_on_as_if_the_others_had_never_run():
    problem = generate(4, 8, "all48", seed=5)
    starts = problem.num_depot_slots + torch.arange(6).expand(4, -1)

    def choose(_, state, mask):  # deterministic and independent of the other rollouts
        return torch.where(mask, torch.arange(mask.shape[-1]).flip(0), -1).argmax(-1)

    def trim(state):
        return torch.tensor([1, 4]) if state.num_steps == 3 else None

    every = rollout(problem, choose, 6, starts=starts)
    trimmed = rollout(problem, choose, 6, starts=starts, trim=trim)
    assert trimmed.shape[:2] == (4, 2) and torch.equal(trimmed, every[:, [1, 4], : trimmed.shape[-1]])
    assert (every[:, [1, 4], trimmed.shape[-1] :] < problem.num_depot_slots).all()  # done: at a depot
    state = reset(problem, 6)
    kept = keep_rollouts(state, torch.tensor([0, 5]))
    assert kept.visited.shape[1] == 2 and torch.equal(kept.distance_to_depot, state.distance_to_depot)


@SETTINGS
@given(batch=st.integers(1, 4), rows=st.integers(1, 6), columns=st.integers(1, 6), starts=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
@example(batch=1, rows=3, columns=4, starts=2, seed=0)  # one instance: no row offsets
def test_gather_rows_is_a_gather_of_whole_rows(batch, rows, columns, starts, seed):
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.rand(batch, columns, rows, generator=generator).transpose(1, 2)  # not contiguous
    index = torch.randint(rows, (batch, starts), generator=generator)
    expected = matrix.gather(1, index[..., None].expand(-1, -1, columns))
    assert torch.equal(gather_rows(matrix, index), expected)


def judge_fleet_rollouts(problem: Problem, actions: torch.Tensor) -> int:
    """Every rollout of a batch with vehicle types is feasible per the independent check at the
    env's cost, or breaks only the fleet's counts (a rollout that ran out of vehicles: the judge
    skips the routes beyond the vehicles, so their customers count as not served). Returns how
    many rollouts ran out."""
    env_cost, ran_out = cost(problem, actions), 0
    for b in range(problem.batch_size):
        instance = problem.instance(b)
        for s in range(actions.shape[1]):
            result = check_solution(instance, actions_to_routes(actions[b, s], problem, b))
            if result.feasible:
                assert env_cost[b, s].item() == pytest.approx(result.cost, rel=1e-5)
            else:
                assert "routes for" in result.violations[0], result.violations
                assert all(line.startswith("customers not served") for line in result.violations[1:]), result.violations
                ran_out += 1
    return ran_out


@pytest.mark.parametrize("variants", ["all16", "all48"])
@settings(SETTINGS, max_examples=12)
@given(seed=st.integers(0, 2**31 - 1), num_customers=st.integers(1, 12))
def test_random_rollouts_with_vehicle_types_follow_every_rule_of_the_judge(variants, seed, num_customers):
    from tests.conftest import with_random_fleet

    rng = np.random.default_rng(seed)
    plain = generate(6, num_customers, variants, seed=seed).instances()
    instances = [with_random_fleet(instance, rng) for instance in plain]
    problem = Problem.from_instances(instances)
    for b, instance in enumerate(instances):  # the batch holds each instance as it was
        assert problem.instance(b).vehicle_types.num_types == instance.vehicle_types.num_types
        assert np.array_equal(problem.instance(b).vehicles, instance.vehicles)
    assert judge_fleet_rollouts(problem, rollout_checking_masks(problem, num_starts=3, seed=seed)) == 0


def test_a_fleet_of_the_instance_own_vehicle_decodes_as_the_instance_does():
    from nco.envs.fleet import VehicleTypes

    plain = generate(8, 10, "all48", seed=3).instances()
    fleet = [i.replace(capacity=None, vehicle_types=VehicleTypes(capacity=[i.capacity])) for i in plain]
    before, after = Problem.from_instances(plain), Problem.from_instances(fleet)
    actions = random_rollout(before, 4, torch.Generator().manual_seed(5))
    assert torch.equal(random_rollout(after, 4, torch.Generator().manual_seed(5)), actions)
    torch.testing.assert_close(cost(after, actions), cost(before, actions), rtol=0, atol=0)


def test_a_limited_fleet_that_runs_out_starts_one_vehicle_more_and_the_judge_says_so():
    from nco.envs.fleet import VehicleTypes

    # one vehicle of capacity 4 for demands 1, 2, 3, 4: at least three routes are needed
    instance = Instance(coords=[[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], demand_linehaul=[0, 1, 2, 3, 4],
                        vehicle_types=VehicleTypes(capacity=[4], num_available=[1]))
    problem = Problem.from_instances([instance])
    actions = rollout_checking_masks(problem, num_starts=4, seed=0)
    assert judge_fleet_rollouts(problem, actions) == 4
    # each route beyond the fleet costs more than any solution does
    assert (cost(problem, actions) >= 2 * fleet_penalty(problem)).all()


def test_a_route_may_not_serve_what_its_vehicle_type_may_not_and_counts_its_costs():
    from nco.envs.fleet import VehicleTypes

    # type 0 (fixed 10, 1 per unit) may serve only customer 1; type 1 (no fixed cost, 3 per unit) any
    types = VehicleTypes(capacity=[10, 10], fixed_cost=[10, 0], unit_distance_cost=[1, 3],
                         allowed=[[True, True, False], [True, True, True]])
    instance = Instance(coords=[[0, 0], [1, 0], [0, 2]], demand_linehaul=[0, 1, 1], vehicle_types=types)
    problem = Problem.from_instances([instance])  # slots: type 0, type 1; customers at 2 and 3
    state = reset(problem, 1)
    state = step(problem, state, torch.tensor([[2]]))  # the first route (slot 0, type 0) serves customer 1
    assert action_mask(problem, state)[0, 0].tolist() == [False, True, False, False]  # not customer 2
    actions = torch.tensor([[[2, 1, 3, 0]]])
    assert cost(problem, actions).item() == pytest.approx(10 + 2 + 3 * 4)
    result = check_solution(instance, actions_to_routes(actions[0, 0], problem, 0))
    assert result.feasible and result.cost == pytest.approx(24)


def test_a_route_lasts_what_pyvrp_counts_leaving_as_late_as_it_can():
    from nco.envs.fleet import VehicleTypes

    # customer 1 opens at 10 (1 away): leaving at 0 waits 9, leaving at 9 does not; the route lasts
    # 1 + 1 (service) + 1 = 3, within a limit of 3 but not of 2.9
    def problem_with(limit: float) -> Problem:
        return Problem.from_instances([Instance(
            coords=[[0, 0], [1, 0]], demand_linehaul=[0, 1], time_windows=[[0, 100], [10, 20]], service_time=[0, 1],
            vehicle_types=VehicleTypes(capacity=[5, 5], max_duration=[limit, np.inf]))])

    for limit, feasible in ((3.0, True), (2.9, False)):
        problem = problem_with(limit)
        assert action_mask(problem, reset(problem, 1))[0, 0, 2].item() is feasible
