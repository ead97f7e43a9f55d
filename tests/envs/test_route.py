from hypothesis import given, settings
from hypothesis import strategies as st

from nco.envs.route import Route, route_list, routes_of


def test_the_depot_is_written_only_with_several_depots():
    assert Route.from_list([3, 4], 1) == Route(0, (3, 4))
    assert Route.from_list([1, 3, 4], 2) == Route(1, (3, 4))
    assert Route(1, (3, 4)).to_list(2) == [1, 3, 4] and Route(0, (3, 4)).to_list(1) == [3, 4]
    assert Route.from_list([], 2) == Route(-1, ())


def test_without_a_fleet_a_route_list_is_every_route_as_written():
    routes = [Route(1, (3, 4)), Route(0, (5,))]
    assert route_list(routes, 2, None) == [[1, 3, 4], [0, 5]]
    assert routes_of([[1, 3, 4], [0, 5], []], 2, None) == [*routes, Route(-1, ())]  # an empty one kept


def test_the_path_returns_to_the_depot_unless_routes_are_open():
    assert Route(1, (3, 4)).path(open_route=False) == [1, 3, 4, 1]
    assert Route(1, (3, 4)).path(open_route=True) == [1, 3, 4]


@given(kinds=st.lists(st.integers(0, 2), min_size=1, max_size=8), data=st.data())
@settings(max_examples=200, deadline=None)
def test_a_fleets_routes_align_to_free_vehicles_of_their_type_and_back(kinds, data):
    vehicle_types = sorted(kinds)  # the vehicles, type by type
    # some vehicles used, each with a one-customer route, in any order
    used = data.draw(st.lists(st.sampled_from(range(len(vehicle_types))), unique=True))
    routes = [Route(0, (10 + v,), vehicle_types[v]) for v in used]
    aligned = route_list(routes, 1, vehicle_types)
    assert len(aligned) == len(vehicle_types) and sum(map(bool, aligned)) == len(routes)
    back = routes_of(aligned, 1, vehicle_types)
    assert sorted(back, key=lambda r: r.visits) == sorted(routes, key=lambda r: r.visits)  # types kept
    for v, route in enumerate(aligned):
        if route:  # in a vehicle of its own type
            assert vehicle_types[v] == next(r.vehicle_type for r in routes if list(r.visits) == route)


def test_routes_of_a_type_without_a_free_vehicle_come_after_the_vehicles():
    routes = [Route(0, (5,), 1), Route(0, (6,), 1), Route(0, (7,), 0)]
    aligned = route_list(routes, 1, [0, 1])
    assert aligned == [[7], [5], [6]]
    assert routes_of(aligned, 1, [0, 1])[-1].vehicle_type == -1
