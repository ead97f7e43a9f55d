import numpy as np
import pytest
import torch

from nco.api import solve
from nco.envs.check import check_solution
from nco.labels import Recipe, label, label_report, read_labels, read_recipe, read_shard, shard_path

TINY = dict(distribution=("variants_md", "broad"), variants="all48", num_nodes=(6, 9), instances=6, shard_size=4,
            seed=5, solver="pyvrp", time_per_customer=0.01)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels")
    assert label(folder, Recipe(**TINY), progress=False) == 8  # whole shards
    return folder


def test_labels_are_judged_solutions_of_their_generated_instances(dataset):
    batches = read_labels(dataset)
    assert [batch.problem.batch_size for batch in batches] == [4, 4]
    for index, batch in enumerate(batches):
        expected = Recipe(**TINY).shard_problem(index)  # shards are generated from (seed, index) alone
        assert torch.equal(batch.problem.locs, expected.locs)
        for position, routes in enumerate(batch.routes):
            instance = batch.problem.instance(position)
            route_list = [route if instance.num_depots > 1 else route[1:] for route in routes]
            result = check_solution(instance, route_list)
            assert result.feasible and result.cost == pytest.approx(float(batch.cost[position]))
    assert read_recipe(dataset) == Recipe(**TINY)
    assert label_report(dataset)["feasible"] == 8


@pytest.mark.parametrize("samples", [0, 2])
def test_network_labels_are_its_own_decoding_without_a_time_limit(checkpoint, tmp_path, samples):
    recipe = Recipe(**{**TINY, "instances": 4, "solver": "network", "checkpoint": str(checkpoint), "samples": samples})
    assert recipe.time_limit(recipe.shard_problem(0).instance(0)) is None
    label(tmp_path, recipe, progress=False)
    (batch,) = read_labels(tmp_path)
    for position in range(batch.problem.batch_size):
        decoded = solve(batch.problem.instance(position), "neural", checkpoint=checkpoint, device="cpu",
                        samples=samples)
        assert float(batch.cost[position]) == pytest.approx(decoded.cost)


def test_a_killed_run_continues_without_losing_or_repeating_a_label(dataset, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in dataset.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    kept = shard_path(folder, 0).read_bytes()
    shard_path(folder, 1).unlink()  # killed while solving shard 1: a partial write stays behind
    (folder / f".{shard_path(folder, 1).name}.123.part").write_bytes(b"half")
    assert label(folder, Recipe(**TINY), progress=False) == 4
    assert shard_path(folder, 0).read_bytes() == kept
    assert [b.problem.batch_size for b in read_labels(folder)] == [4, 4]
    # more instances add shards; the same recipe otherwise
    assert label(folder, Recipe(**{**TINY, "instances": 9}), progress=False) == 4
    assert sum(b.problem.batch_size for b in read_labels(folder)) == 12


def test_another_recipe_in_the_same_folder_is_refused(dataset):
    with pytest.raises(ValueError, match="another recipe"):
        label(dataset, Recipe(**{**TINY, "seed": 6}), progress=False)


@pytest.mark.parametrize("damage", ["truncated", "routes", "missing field"])
def test_a_damaged_shard_is_one_line_naming_it(dataset, tmp_path, damage):
    path = tmp_path / "shard-00000.npz"
    if damage == "truncated":
        path.write_bytes(shard_path(dataset, 0).read_bytes()[:100])
    else:
        with np.load(shard_path(dataset, 0)) as data:
            arrays = {name: data[name] for name in data.files}
        if damage == "routes":
            arrays["route_sizes"] = arrays["route_sizes"] + 1
        else:
            del arrays["cost"]
        np.savez(path, **arrays)
    with pytest.raises(ValueError, match="shard-00000.npz"):
        read_shard(path)


def test_bad_recipes_are_one_line():
    with pytest.raises(ValueError, match="label solver"):
        Recipe(**{**TINY, "solver": "ortools"})
    with pytest.raises(ValueError, match="num_nodes"):
        Recipe(**{**TINY, "num_nodes": (9, 6)})
    with pytest.raises(ValueError, match="samples=2: give 0, or a number of sampling passes with the network"):
        Recipe(**{**TINY, "samples": 2})  # the polish has a time limit to spend instead
    with pytest.raises(ValueError):
        Recipe(**{**TINY, "distribution": ("nowhere",)})
