import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from nco.envs.generator import generate
from nco.checkpoints import export_policy, load_policy
from nco.evaluate import judge
from nco.train import PolicyModule, compose_config

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "nco.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_decodes_all16(checkpoint: Path):
    policy, config = load_policy(checkpoint)
    problem = generate(32, config["data"]["num_nodes"], "all16", seed=3)
    with torch.inference_mode():
        _, actions = policy(problem).best()
    _, feasible = judge(problem, actions)
    assert feasible.all()


def test_smoke_training_from_the_cli_gives_a_checkpoint_that_decodes(tmp_path):
    result = run_cli("train", "experiment=smoke", "model.num_layers=2", f"run_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "config.yaml").exists()
    metrics = (tmp_path / "metrics.csv").read_text()
    assert "val/cost/OVRPBLTW" in metrics and "train/loss" in metrics
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    assert_decodes_all16(checkpoint)
    # resume: one more epoch from the last checkpoint
    result = run_cli("train", "experiment=smoke", "model.num_layers=2", "trainer.max_epochs=3",
                     f"run_dir={tmp_path}", f"ckpt_path={checkpoint}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert torch.load(checkpoint, weights_only=False)["epoch"] == 2
    slim = export_policy(checkpoint, tmp_path / "slim.pt")
    assert slim.stat().st_size < checkpoint.stat().st_size
    assert_decodes_all16(slim)


def test_ddp_on_cpu_with_gloo_gives_a_valid_checkpoint(tmp_path):
    result = run_cli("train", "experiment=smoke", "trainer.strategy=ddp", "trainer.devices=2",
                     "trainer.accelerator=cpu", f"run_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert_decodes_all16(tmp_path / "checkpoints" / "last.ckpt")


def test_bad_override_is_one_line(tmp_path):
    result = run_cli("train", "experiment=nope", f"run_dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.startswith("nco train: error: bad config override") and result.stderr.count("\n") == 1


def test_each_variant_keeps_its_own_cost_mean():
    config = OmegaConf.to_container(compose_config(["experiment=smoke"]), resolve=True)
    module = PolicyModule(config)
    variant = torch.tensor([0, 0, 4, 8])  # CVRP twice, VRPB, OVRP
    module._update_cost_means(variant, torch.tensor([2.0, 4.0, 10.0, 1.0]))
    assert module.cost_mean[[0, 4, 8]].tolist() == [3.0, 10.0, 1.0]
    assert module.cost_mean[1].item() == 0 and not module.cost_seen[1]
    module._update_cost_means(torch.tensor([4]), torch.tensor([20.0]))
    momentum = config["reward_norm_momentum"]
    assert module.cost_mean[4].item() == pytest.approx(momentum * 10 + (1 - momentum) * 20)
    assert module.cost_mean[0].item() == 3.0  # untouched by other variants


def test_finetune_from_the_cli_extends_the_model_to_the_new_attributes(tmp_path):
    from nco.models.features import ALL16_ATTRIBUTES
    from nco.models.policy import Policy

    policy = Policy(dim=32, num_heads=4, num_layers=1, hidden=64, attributes=ALL16_ATTRIBUTES)
    base = tmp_path / "base.pt"
    torch.save({"config": {"model": policy.config}, "state_dict": policy.state_dict()}, base)
    run = tmp_path / "run"
    result = run_cli("finetune", str(base), "experiment=smoke", "data.variants=all48", "finetune.mode=lora",
                     f"run_dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "val/cost/MDOVRPMBLTW" in (run / "metrics.csv").read_text()
    policy, config = load_policy(run / "checkpoints" / "last.ckpt")
    assert "mixed_backhaul" in policy.attributes and "multi_depot" in policy.attributes
    assert config["finetune"]["base_model"]["attributes"] == list(ALL16_ATTRIBUTES)
    problem = generate(16, 8, "all48", seed=3)
    with torch.inference_mode():
        _, actions = policy(problem).best()
    assert judge(problem, actions)[1].all()
    # adapters with nothing new to learn are a one-line error
    result = run_cli("finetune", str(base), "experiment=smoke", "finetune.attributes=[backhaul]", f"run_dir={run}")
    assert result.returncode == 2
    assert "already reads backhaul, so adapter fine-tuning has nothing" in result.stderr
    assert result.stderr.count("\n") == 1


def test_finetune_on_real_matrices_makes_the_model_matrix_aware(tmp_path, fixtures):
    from nco.models.policy import Policy

    policy = Policy(dim=32, num_heads=4, num_layers=1, hidden=64)
    base = tmp_path / "base.pt"
    torch.save({"config": {"model": policy.config}, "state_dict": policy.state_dict()}, base)
    pool = tmp_path / "pool"
    pool.mkdir()
    for name in ("a", "b"):  # two sources: one trains, one validates
        (pool / f"{name}.txt").write_text((fixtures / "ORTEC-VRPTW-ASYM-31c42adc-d1-n206-k12.txt").read_text())
    run = tmp_path / "run"
    result = run_cli("finetune", str(base), "experiment=smoke", "finetune.attributes=[]", "finetune.neighbours=4",
                     f"data.matrix_pool={pool}", f"run_dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    tuned, config = load_policy(run / "checkpoints" / "last.ckpt")
    assert tuned.config["neighbours"] == 4 and config["data"]["matrix_pool"] == str(pool)
    assert tuned.decoder.travel_weights.abs().sum() > 0  # it learned to use the travel


def test_finetune_on_mixed_fleets_trains_the_fleet_columns(tmp_path):
    from nco.models.features import ATTRIBUTES
    from nco.models.policy import Policy

    policy = Policy(dim=32, num_heads=4, num_layers=1, hidden=64, attributes=[a for a in ATTRIBUTES if a != "fleet"])
    base = tmp_path / "base.pt"
    torch.save({"config": {"model": policy.config}, "state_dict": policy.state_dict()}, base)
    run = tmp_path / "run"
    result = run_cli("finetune", str(base), "experiment=smoke", "finetune.attributes=[fleet]",
                     "data.distribution=broad_fleet", "data.variants=all48", f"run_dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    tuned, _ = load_policy(run / "checkpoints" / "last.ckpt")
    assert "fleet" in tuned.attributes
    fleet_columns = tuned.encoder.depot_embedding.weight[:, -5:]  # the five fleet features, last
    assert fleet_columns.abs().sum() > 0
    problem = generate(16, 8, "all48", seed=3, distribution="broad_fleet")
    with torch.inference_mode():
        _, actions = tuned(problem).best()
    assert judge(problem, actions)[1].all()


def small_base(tmp_path):
    """A small trained-model file to fine-tune, and its policy."""
    from nco.models.policy import Policy

    policy = Policy(dim=32, num_heads=4, num_layers=1, hidden=64)
    base = tmp_path / "base.pt"
    torch.save({"config": {"model": policy.config}, "state_dict": policy.state_dict()}, base)
    return base, policy


def test_layers_the_checkpoint_lacks_get_their_own_learning_rate(tmp_path):
    from nco.train import finetune_config

    base, policy = small_base(tmp_path)

    def groups(*overrides: str) -> list[tuple[int, float]]:
        config = finetune_config(base, ["experiment=smoke", "finetune.attributes=[]", "finetune.mode=full", *overrides])
        optimizer = PolicyModule(OmegaConf.to_container(config, resolve=True)).configure_optimizers()
        return [(len(group["params"]), group["lr"]) for group in optimizer.param_groups]

    everything = len(list(policy.parameters()))
    assert groups("optimizer.lr=5e-5") == [(everything, 5e-5)]  # nothing new: one group
    (old, old_lr), (new, new_lr) = groups("finetune.local_view=4", "optimizer.lr=5e-5", "finetune.new_layers_lr=1e-3")
    assert old == everything and new > 0 and (old_lr, new_lr) == (5e-5, 1e-3)
    assert [lr for _, lr in groups("finetune.local_view=4", "optimizer.lr=5e-5")] == [5e-5, 5e-5]
    assert [lr for _, lr in groups("finetune.refinement=16", "finetune.new_layers_lr=1e-3")] == [1e-4, 1e-3]


def test_a_warm_up_ramps_every_learning_rate_from_a_fraction_to_its_value(tmp_path):
    from nco.train import finetune_config

    config = finetune_config(small_base(tmp_path)[0], ["experiment=smoke", "finetune.attributes=[]", "finetune.mode=full",
                                                      "finetune.local_view=4", "optimizer.lr=1e-4",
                                                      "finetune.new_layers_lr=1e-3", "optimizer.warmup_steps=4"])
    configured = PolicyModule(OmegaConf.to_container(config, resolve=True)).configure_optimizers()
    adam, ramp = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    assert configured["lr_scheduler"]["interval"] == "step"
    rates = []
    for _ in range(6):
        rates += [group["lr"] for group in adam.param_groups]
        adam.step()
        ramp.step()
    assert rates == pytest.approx([lr * k / 4 for k in (1, 2, 3, 4, 4, 4) for lr in (1e-4, 1e-3)])


def test_sizes_drawn_per_batch_keep_memory_flat():
    from nco.train import batch_size_for, node_range

    assert node_range(50) == (50, 50) and node_range([20, 100]) == (20, 100)
    assert batch_size_for(8, 100, 100) == 8 and batch_size_for(8, 50, 100) == 32 and batch_size_for(8, 20, 100) == 200
    for bad in ([100, 20], [0, 5], [1, 2, 3], "50"):
        with pytest.raises(ValueError, match="data.num_nodes"):
            node_range(bad)


def test_distribution_mixtures_name_known_presets():
    from nco.train import distribution_names

    assert distribution_names("broad") == ["broad"]
    assert distribution_names(["broad", "variants_md"]) == ["broad", "variants_md"]
    with pytest.raises(ValueError, match=r"data.distribution=\[\]"):
        distribution_names([])
    with pytest.raises(ValueError, match="unknown distribution 'wide'"):
        distribution_names(["broad", "wide"])


def test_a_next_stage_starts_from_the_shipped_checkpoint_on_the_broad_distribution(tmp_path):
    """The campaign's step: fine-tune a shipped model on sizes drawn per batch from a mixture of
    distributions, switching it to times relative to the horizon; the result reads relative times,
    decodes broad instances and has a validation curve per distribution."""
    result = run_cli(
        "finetune", "tests/data/checkpoints/all48-n20.pt", "experiment=campaign_broad", "finetune.relative_time=true",
        "data.num_nodes=[6,10]", "data.batch_size=2", "data.batches_per_epoch=2", "data.val_instances_per_variant=1",
        "data.variants=[VRPTW,MDOVRPMBL]", "trainer.max_epochs=1", "trainer.max_time=00:00:10:00", f"run_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    policy, config = load_policy(tmp_path / "checkpoints" / "last.ckpt")
    assert policy.relative_time and config["data"]["distribution"] == ["broad", "broad", "variants_md"]
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/cost/VRPTW", "val/cost/variants_md/MDOVRPMBL", "val/cost_mean/broad",
            "val/cost_mean/variants_md", "val/cost_mean"} <= set(header)
    problem = generate(8, 9, "all48", seed=4, distribution="broad")
    with torch.inference_mode():
        _, actions = policy(problem).best()
    assert judge(problem, actions)[1].all()


def test_each_stage_draws_new_training_batches_unless_a_seed_is_given():
    from nco.train import finetune_config

    overrides = ["experiment=campaign_broad"]
    seeds = {path.stem: finetune_config(path, overrides).seed
             for path in (Path("tests/data/checkpoints/all48-n20.pt"), Path("nco/checkpoints/all48-broad.pt"))}
    assert seeds["all48-n20"] != seeds["all48-broad"]
    assert finetune_config("tests/data/checkpoints/all48-n20.pt", overrides).seed == seeds["all48-n20"]  # reproducible
    assert finetune_config("tests/data/checkpoints/all48-n20.pt", [*overrides, "seed=7"]).seed == 7


def test_switching_time_features_needs_full_finetuning(tmp_path):
    result = run_cli("finetune", "tests/data/checkpoints/all48-n20.pt", "finetune.relative_time=true",
                     "finetune.mode=lora", f"run_dir={tmp_path}")
    assert result.returncode == 2
    assert "finetune.relative_time=True changes what every time feature means" in result.stderr


def test_a_preset_that_needs_data_says_which_override(tmp_path):
    result = run_cli("train", "experiment=ortec_n50", f"run_dir={tmp_path}")
    assert result.returncode == 2
    assert "pass data.matrix_pool=DIR" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_last_checkpoint_is_written_every_epoch_even_without_improvement(tmp_path):
    # with a zero learning rate validation never improves after the first epoch
    result = run_cli("train", "experiment=smoke", "optimizer.lr=0.0", "trainer.max_epochs=3",
                     "data.batches_per_epoch=1", f"run_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch000.ckpt", "last.ckpt"]
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2


def test_resume_continues_a_run_in_its_folder_without_repeating_its_overrides(tmp_path):
    result = run_cli("train", "experiment=smoke", "model.num_layers=2", "trainer.max_epochs=1", f"run_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_cli("resume", str(tmp_path), "trainer.max_epochs=2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    policy, config = load_policy(tmp_path / "checkpoints" / "last.ckpt")
    assert config["model"]["num_layers"] == 2 and len(policy.encoder.layers) == 2
    assert "run directory: " + str(tmp_path) in result.stdout  # the same folder, its metrics continued
    assert {row.split(",")[0] for row in (tmp_path / "metrics.csv").read_text().splitlines()[1:]} == {"0", "1"}
    for args, message in [(["resume", str(tmp_path / "nothing")], "no config.yaml and checkpoints/last.ckpt"),
                          (["resume", str(tmp_path), "+extra=1"], "resume takes key=value overrides only")]:
        result = run_cli(*args)
        assert result.returncode == 2 and message in result.stderr


def test_a_run_killed_within_an_epoch_resumes_to_the_same_final_step_count(tmp_path):
    # last.ckpt after every batch: the kill comes in the middle of the first epoch
    args = ["train", "experiment=smoke", "trainer.max_epochs=3", "data.batches_per_epoch=20",
            "last_checkpoint_minutes=0", f"run_dir={tmp_path}"]
    process = subprocess.Popen([sys.executable, "-m", "nco.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    last = tmp_path / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None and not last.is_file():
        time.sleep(0.05)
    time.sleep(0.2)  # past the checkpoint's write
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(last, weights_only=True)["global_step"]
    assert killed_at < 60, "the run ended before it could be killed"
    result = run_cli("resume", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert torch.load(last, weights_only=True)["global_step"] == 60


@pytest.fixture(scope="module")
def tiny_labels(tmp_path_factory):
    from nco.labels import Recipe, label

    folder = tmp_path_factory.mktemp("labels")
    label(folder, Recipe(distribution=("variants_md",), variants="all16", num_nodes=(8, 8), instances=8, shard_size=4,
                         solver="pyvrp", time_per_customer=0.01), progress=False)
    return folder


@pytest.mark.parametrize("algorithm", ["imitation", "mixed"])
def test_imitation_trains_from_labels_and_resumes(tmp_path, tiny_labels, algorithm):
    overrides = ["experiment=smoke", f"algorithm={algorithm}", f"imitation.labels=[{tiny_labels}]", f"run_dir={tmp_path}"]
    result = run_cli("train", *overrides)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = (tmp_path / "metrics.csv").read_text()
    assert "train/imitation_loss" in metrics and "val/cost_mean" in metrics
    assert ("train/loss" in metrics) == (algorithm == "mixed")
    assert_decodes_all16(tmp_path / "checkpoints" / "last.ckpt")
    if algorithm == "imitation":
        result = run_cli("resume", str(tmp_path), "trainer.max_epochs=3")
        assert result.returncode == 0, result.stderr[-2000:]
        assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2


def test_imitation_lowers_the_loss_of_its_labels(tiny_labels):
    from nco.envs.targets import RouteTargets
    from nco.labels import read_labels

    config = OmegaConf.to_container(compose_config(["experiment=smoke", "algorithm=imitation",
                                                    f"imitation.labels=[{tiny_labels}]"]), resolve=True)
    torch.manual_seed(0)
    module = PolicyModule(config)
    batch = read_labels(tiny_labels)[0]
    targets = RouteTargets.from_routes(batch.problem, batch.routes)
    optimizer = torch.optim.Adam(module.policy.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = module.policy.teacher_forced(batch.problem, targets).loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_imitation_without_labels_says_how_to_make_them(tmp_path):
    result = run_cli("train", "experiment=smoke", "algorithm=imitation", f"run_dir={tmp_path}")
    assert result.returncode == 2
    assert "nco label" in result.stderr and "imitation.labels" in result.stderr
    result = run_cli("train", "experiment=smoke", "algorithm=dagger", f"run_dir={tmp_path}")
    assert result.returncode == 2 and "reinforce, imitation, mixed" in result.stderr


class _RunsCode:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["NCO_TEST_MARKER"]),))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.setenv("NCO_TEST_MARKER", str(marker))
    torch.save({"config": {"model": {}}, "state_dict": {}, "payload": _RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="could run code: refusing to load it"):
        load_policy(tmp_path / "evil.pt")
    assert not marker.exists()
    # nco finetune from it, and nco resume of a run whose last.ckpt is such a file
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes((tmp_path / "evil.pt").read_bytes())
    (run / "config.yaml").write_text(OmegaConf.to_yaml(compose_config(["experiment=smoke"])))
    for command in (["finetune", str(tmp_path / "evil.pt"), "experiment=smoke"], ["resume", str(run)]):
        result = run_cli(*command, env={"NCO_TEST_MARKER": str(marker)})
        assert result.returncode == 2 and "could run code: refusing to load it" in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr and not marker.exists()
