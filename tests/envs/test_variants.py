import pytest

from nco.envs.variants import ALL16, ALL48, BACKHAUL_MIXED, BACKHAUL_STRICT, Variant, resolve_variants


def test_48_distinct_names_round_trip():
    names = [v.name for v in ALL48]
    assert len(set(names)) == 48
    for index, variant in enumerate(ALL48):
        assert Variant.from_name(variant.name) == variant
        assert variant.index == index


def test_all16_is_the_published_single_depot_set():
    assert {v.name for v in ALL16} == {
        "CVRP", "OVRP", "VRPB", "VRPL", "VRPTW", "OVRPTW", "OVRPB", "OVRPL", "VRPBL", "VRPBTW",
        "VRPLTW", "OVRPBL", "OVRPBTW", "OVRPLTW", "VRPBLTW", "OVRPBLTW",
    }


@pytest.mark.parametrize(
    "name, expected",
    [
        ("CVRP", Variant()),
        ("cvrptw", Variant(time_windows=True)),
        ("MDCVRP", Variant(multi_depot=True)),
        ("OVRPBL", Variant(open_route=True, backhaul=BACKHAUL_STRICT, distance_limit=True)),
        ("MDOVRPMBLTW", Variant(True, True, BACKHAUL_MIXED, True, True)),
    ],
)
def test_parse(name, expected):
    assert Variant.from_name(name) == expected


@pytest.mark.parametrize("name", ["VRPX", "TSP", "VRPTWL", "OMDVRP", ""])
def test_unknown_names_raise_with_the_fix(name):
    with pytest.raises(ValueError, match="unknown variant .* use a name of the form"):
        resolve_variants([name])


def test_resolve_lists_and_sets():
    assert [v.name for v in resolve_variants(["CVRP", "VRPTW", "CVRP"])] == ["CVRP", "VRPTW"]
    assert len(resolve_variants("all48")) == 48
    assert [v.name for v in resolve_variants("CVRP,OVRP")] == ["CVRP", "OVRP"]
    with pytest.raises(ValueError, match="no variants"):
        resolve_variants([])
