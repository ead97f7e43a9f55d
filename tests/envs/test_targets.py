import pytest
import torch

from nco.envs.env import actions_to_routes, cost, random_rollout, rollout
from nco.envs.generator import generate
from nco.envs.route import Route
from nco.envs.targets import RouteTargets


def labelled(variants: str, seed: int = 3, num_customers: int = 12, batch: int = 48):
    """A generated batch, random feasible solutions of it as route lists and their actions."""
    problem = generate(batch, num_customers, variants, seed=seed, distribution="broad")
    actions = random_rollout(problem, 1, torch.Generator().manual_seed(seed))[:, 0]
    routes = []
    for b in range(batch):
        depots = int(problem.num_depots[b])
        parsed = [Route.from_list(route, depots) for route in
                  actions_to_routes(actions[b], problem, b)]
        routes.append([[route.depot, *route.visits] for route in parsed])
    return problem, routes, actions


def follow(problem, targets: RouteTargets, pick) -> torch.Tensor:
    """Actions of one rollout per instance that take ``pick(targets & mask)`` at every step."""
    labels = targets.start(1)
    active = torch.arange(problem.batch_size)

    def choose(active_problem, state, mask):
        nonlocal labels
        wanted = labels.targets(active_problem, state) & mask
        assert (wanted.any(-1) | (mask.sum(-1) == 1)).all(), "a step left the label"
        wanted = torch.where(wanted.any(-1, keepdim=True), wanted, mask)
        action = pick(wanted)
        labels = labels.after(state, action, active_problem.num_depot_slots)
        return action

    def on_drop(running):
        nonlocal labels, active
        labels, active = labels.keep(running), active[running]

    return rollout(problem, choose, 1, on_drop=on_drop)[:, 0]


@pytest.mark.parametrize("variants", ["all48", "CVRP", "MDVRPTW", "OVRPMB"])
def test_the_fixed_order_reproduces_the_labelled_actions(variants):
    problem, routes, actions = labelled(variants)
    followed = follow(problem, RouteTargets.from_routes(problem, routes, "fixed"), lambda wanted: wanted.float().argmax(-1))
    assert torch.equal(followed[:, : actions.shape[1]], actions)


@pytest.mark.parametrize("variants", ["all48", "CVRP", "MDCVRP"])
def test_any_order_reproduces_the_labelled_route_set_whatever_the_choice(variants):
    problem, routes, actions = labelled(variants)
    targets = RouteTargets.from_routes(problem, routes, "any")
    generator = torch.Generator().manual_seed(0)

    def random_pick(wanted):
        noise = torch.rand(wanted.shape, generator=generator)
        return torch.where(wanted, noise, -1.0).argmax(-1)

    followed = follow(problem, targets, random_pick)
    assert torch.allclose(cost(problem, followed[:, None]), cost(problem, actions[:, None]), rtol=1e-5)
    for b in range(problem.batch_size):  # the same routes as sets of arcs, up to direction where allowed
        depots = int(problem.num_depots[b])

        def route_set(actions_of_one):
            routes = [Route.from_list(r, depots) for r in
                      actions_to_routes(actions_of_one, problem, b)]
            if targets.reversible[b]:
                return sorted((r.depot, min(r.visits, r.visits[::-1])) for r in routes)
            return sorted((r.depot, r.visits) for r in routes)

        assert route_set(followed[b]) == route_set(actions[b])


def test_routes_run_backwards_only_where_they_cost_the_same():
    problem, routes, _ = labelled("all48", batch=96)
    reversible = RouteTargets.from_routes(problem, routes, "any").reversible
    variants = problem.variants()
    for b, variant in enumerate(variants):
        same_both_ways = not (variant.open_route or variant.time_windows or variant.backhaul)
        assert bool(reversible[b]) == same_both_ways, variant.name
    assert not RouteTargets.from_routes(problem, routes, "fixed").reversible.any()


@pytest.mark.parametrize("broken", ["missing", "repeated", "bad depot", "empty route"])
def test_a_route_list_that_is_not_a_solution_is_one_line(broken):
    problem, routes, _ = labelled("CVRP", batch=2)
    first = routes[0][0]
    if broken == "missing":
        routes[0][0] = first[:-1] if len(first) > 2 else [0] + routes[0][1][1:]
        routes[0] = [r for r in routes[0] if len(r) > 1]
    elif broken == "repeated":
        routes[0].append([0, first[1]])
    elif broken == "bad depot":
        routes[0][0] = [5, *first[1:]]
    else:
        routes[0].append([0])
    with pytest.raises(ValueError, match="instance 0"):
        RouteTargets.from_routes(problem, routes)


def test_unknown_order_is_refused():
    problem, routes, _ = labelled("CVRP", batch=2)
    with pytest.raises(ValueError, match="use one of any, fixed"):
        RouteTargets.from_routes(problem, routes, "sorted")


def test_labels_of_a_fleet_batch_are_refused_in_one_line():
    problem = generate(2, 5, "all16", seed=0, distribution="broad_fleet")
    assert problem.vehicles is not None
    with pytest.raises(ValueError, match="labels of instances with vehicle types are not read yet"):
        RouteTargets.from_routes(problem, [[[0, 1]], [[0, 2]]])
