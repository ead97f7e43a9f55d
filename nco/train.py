"""Training on mixed-variant batches, in Lightning: REINFORCE, imitation of labelled solutions, or both.

``algorithm=reinforce``: REINFORCE with a shared multi-start baseline. The advantage of a rollout
is its cost minus the mean cost of all rollouts of the same instance (POMO's shared baseline),
divided by a running mean of the cost of that instance's variant; every variant in training keeps
its own running mean.

``algorithm=imitation``: the negative log-likelihood of labelled solutions (``nco label``,
:mod:`nco.labels`) under teacher-forced decoding (:meth:`nco.models.policy.Policy.teacher_forced`),
any order of their routes accepted (``imitation.order``). ``algorithm=mixed``: both losses,
the imitation one weighted by ``imitation.weight``.

Fine-tuning (``nco finetune``) is the same loop on a trained policy extended to new attributes
(:mod:`nco.models.adapters`); the config's ``finetune`` section says from what and how.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_module
from hydra.errors import HydraException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException
from torch.utils.data import DataLoader

from nco.checkpoints import load_policy, read_checkpoint
from nco.envs.distribution import get_distribution
from nco.envs.generator import generate
from nco.envs.problem import Problem
from nco.envs.targets import RouteTargets
from nco.envs.variants import ALL48, resolve_variants
from nco.evaluate import read_reference
from nco.io import read_matrix_pool
from nco.labels import read_labels
from nco.messages import first_line
from nco.models.adapters import extend, new_layers, prepare_finetuning
from nco.models.decoding import Decoding
from nco.models.features import check_attributes
from nco.models.policy import Policy, dihedral_augment

CONFIG_MODULE = "nco.configs"
"""The Hydra configs (the repository's ``configs/``, package data of an installed ``nco``)."""
RUN_DIR_VARIABLE = "NCO_RUN_DIR"  # shared by the processes of one DDP run
TRAINING_DECODING = Decoding(strategy="sampling", multi_start=True)
ALGORITHMS = ("reinforce", "imitation", "mixed")


class PolicyModule(L.LightningModule):
    """The policy with its REINFORCE loss, per-variant reward normalisation and validation."""

    def __init__(self, config: dict):
        super().__init__()
        if config.get("finetune", {}).get("checkpoint"):
            finetune = config["finetune"]
            base, _ = load_policy(finetune["checkpoint"])
            model = config["model"]
            policy = extend(base, model["attributes"], model["neighbours"], model["relative_time"], model["local_view"],
                            model["refinement"])
            self.policy = prepare_finetuning(policy, finetune["base_model"], finetune["mode"], finetune["rank"])
        else:
            self.policy = Policy(**config["model"])
            # the attributes written out: a checkpoint without them reads as one from before fleets
            config = {**config, "model": {**config["model"], "attributes": list(self.policy.attributes)}}
        self.save_hyperparameters({"config": config})
        self.config = config
        self.variants = resolve_variants(config["data"]["variants"])
        self.distributions = distribution_names(config["data"]["distribution"])
        # (distribution, variant) of every validation problem: each variant of every distribution, once
        self.validation_sets = [(d, v) for d in dict.fromkeys(self.distributions) for v in self.variants]
        self.register_buffer("cost_mean", torch.zeros(len(ALL48)))
        self.register_buffer("cost_seen", torch.zeros(len(ALL48), dtype=torch.bool))
        self.register_buffer("cpu_seconds", torch.zeros(()))
        self.validation_costs: dict[str, list[torch.Tensor]] = {}
        self.algorithm = check_algorithm(config)
        self.labelled = []
        if self.algorithm != "reinforce":
            self.labelled = [batch for folder in config["imitation"]["labels"] for batch in read_labels(folder)]
            self.largest_labelled = max(batch.problem.num_customers for batch in self.labelled)
        # real travel matrices: train on the training sources, validate on the held-out ones
        self.train_pool = self.validation_pool = None
        if config["data"].get("matrix_pool"):
            self.train_pool, self.validation_pool = read_matrix_pool(config["data"]["matrix_pool"]).split()

    # ------------------------------------------------------------------ data
    def train_dataloader(self) -> DataLoader:
        return DataLoader(range(self.config["data"]["batches_per_epoch"]), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(range(len(self.validation_sets)), batch_size=None)

    def validation_label(self, position: int) -> str:
        """The name a validation problem logs under: its variant, prefixed by its distribution
        unless that is the first one named (so one-distribution runs keep plain names)."""
        distribution, variant = self.validation_sets[position]
        return variant.name if distribution == self.distributions[0] else f"{distribution}/{variant.name}"

    def _training_batch(self, batch_index: int) -> Problem:
        data = self.config["data"]
        seed = hash((self.config["seed"], self.current_epoch, int(batch_index), self.global_rank)) % 2**62
        generator = torch.Generator().manual_seed(seed)
        smallest, largest = node_range(data["num_nodes"])
        num_nodes = int(torch.randint(smallest, largest + 1, (1,), generator=generator))
        distribution = self.distributions[0]
        if len(self.distributions) > 1:
            distribution = self.distributions[int(torch.randint(len(self.distributions), (1,), generator=generator))]
        return generate(batch_size_for(data["batch_size"], num_nodes, largest), num_nodes, self.variants,
                        generator=generator, device=self.device, pool=self.train_pool,
                        distribution=distribution)

    def validation_problem(self, position: int) -> Problem:
        """The fixed validation set of one variant of one distribution (the same in every epoch
        and run), at the largest training size."""
        data = self.config["data"]
        distribution, variant = self.validation_sets[position]
        return generate(
            data["val_instances_per_variant"], node_range(data["num_nodes"])[1], [variant],
            seed=data["val_seed"] + variant.index, device=self.device, pool=self.validation_pool,
            distribution=distribution,
        )

    # ------------------------------------------------------------------ steps
    def on_train_start(self) -> None:
        self._cpu_mark = time.process_time()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["state_dict"].setdefault("cpu_seconds", torch.zeros(()))  # runs from before it was kept

    def training_step(self, batch_index: int, _) -> torch.Tensor:
        loss = 0.0
        if self.algorithm != "imitation":
            loss = self._reinforce_loss(batch_index)
        if self.algorithm != "reinforce":
            weight = self.config["imitation"]["weight"] if self.algorithm == "mixed" else 1.0
            loss = loss + weight * self._imitation_loss(batch_index)
        return loss

    def _imitation_loss(self, batch_index: int) -> torch.Tensor:
        """Teacher-forced negative log-likelihood of labelled solutions: a random part of one
        random shard (its instances share one size), each in a random dihedral image."""
        settings = self.config["imitation"]
        seed = hash((self.config["seed"], -1, self.current_epoch, int(batch_index), self.global_rank)) % 2**62
        generator = torch.Generator().manual_seed(seed)
        shard = self.labelled[int(torch.randint(len(self.labelled), (1,), generator=generator))]
        size = min(shard.problem.batch_size,
                   batch_size_for(settings["batch_size"], shard.problem.num_customers, self.largest_labelled))
        chosen = torch.randperm(shard.problem.batch_size, generator=generator)[:size]
        problem = shard.problem[chosen].to(self.device)
        targets = RouteTargets.from_routes(problem, [shard.routes[i] for i in chosen.tolist()], settings["order"])
        images = None
        if settings["augment"]:
            image = torch.randint(8, (size,), generator=generator).to(self.device)
            images = dihedral_augment(problem.locs)[torch.arange(size, device=self.device), image][:, None]
        forced = self.policy.teacher_forced(problem, targets, images)
        loss = forced.loss()
        self.log("train/imitation_loss", loss, prog_bar=True, batch_size=size)
        self.log("train/on_label", forced.on_label.float().mean(), batch_size=size)
        return loss

    def _reinforce_loss(self, batch_index: int) -> torch.Tensor:
        problem = self._training_batch(batch_index)
        rollouts = self.policy(problem, TRAINING_DECODING)
        cost = rollouts.cost
        variant = problem.variant_index
        self._update_cost_means(variant, cost.detach().mean(1))
        advantage = (cost - cost.mean(1, keepdim=True)) / self.cost_mean[variant][:, None]
        loss = (advantage.detach() * rollouts.log_likelihood).mean()
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/cost", cost.mean(), prog_bar=True)
        return loss

    @torch.no_grad()
    def _update_cost_means(self, variant: torch.Tensor, mean_cost: torch.Tensor) -> None:
        momentum = self.config["reward_norm_momentum"]
        total = torch.zeros_like(self.cost_mean).index_add_(0, variant, mean_cost)
        count = torch.zeros_like(self.cost_mean).index_add_(0, variant, torch.ones_like(mean_cost))
        present = count > 0
        batch_mean = total[present] / count[present]
        old = self.cost_mean[present]
        seen = self.cost_seen[present]
        self.cost_mean[present] = torch.where(seen, momentum * old + (1 - momentum) * batch_mean, batch_mean)
        self.cost_seen |= present

    def validation_step(self, position: int, _) -> None:
        problem = self.validation_problem(int(position))
        best_cost, _ = self.policy(problem).best()
        name = self.validation_label(int(position))
        self.validation_costs[name] = best_cost
        self.log(f"val/cost/{name}", best_cost.mean(), batch_size=problem.batch_size)
        reference = self._reference(name)
        if reference is not None:
            gap = (best_cost / reference.to(best_cost) - 1).mean() * 100
            self.log(f"val/gap/{name}", gap, batch_size=problem.batch_size)

    def on_validation_epoch_end(self) -> None:
        if self.validation_costs:
            mean = torch.stack([c.mean() for c in self.validation_costs.values()]).mean()
            self.log("val/cost_mean", mean, prog_bar=True, sync_dist=True)
            if len(set(self.distributions)) > 1:  # each distribution's own curve beside the overall one
                per_distribution: dict[str, list[torch.Tensor]] = {}
                for position, (distribution, _) in enumerate(self.validation_sets):
                    cost = self.validation_costs[self.validation_label(position)]
                    per_distribution.setdefault(distribution, []).append(cost.mean())
                for distribution, costs in per_distribution.items():
                    self.log(f"val/cost_mean/{distribution}", torch.stack(costs).mean(), sync_dist=True)
        self.validation_costs = {}
        # CPU time of this process (every thread; kept across resumes): the campaign's x axis
        now = time.process_time()
        self.cpu_seconds += now - getattr(self, "_cpu_mark", now)
        self._cpu_mark = now
        self.log("time/cpu_minutes", self.cpu_seconds / 60, sync_dist=True)

    def _reference(self, variant_name: str) -> torch.Tensor | None:
        path = self.config["data"].get("reference")
        if not path:
            return None
        if not hasattr(self, "_reference_costs"):
            self._reference_costs = read_reference(path)
        return self._reference_costs.get(variant_name)

    def configure_optimizers(self):
        optimizer = self.config["optimizer"]
        trainable = [(name, p) for name, p in self.policy.named_parameters() if p.requires_grad]
        finetune = self.config.get("finetune", {})
        new = new_layers(self.policy, finetune["base_model"]) if finetune.get("checkpoint") else ()
        groups = [
            {"params": [p for name, p in trainable if not name.startswith(new)]},
            {"params": [p for name, p in trainable if name.startswith(new)],
             "lr": finetune.get("new_layers_lr") or optimizer["lr"]},
        ]
        groups = [group for group in groups if group["params"]]
        adam = torch.optim.Adam(groups, lr=optimizer["lr"], weight_decay=optimizer["weight_decay"])
        warmup = optimizer.get("warmup_steps", 0)
        if not warmup:
            return adam
        # every learning rate ramped up linearly over the first steps: a fresh Adam's first updates move
        # every weight by about the learning rate whatever its gradient, which a trained model feels
        ramp = torch.optim.lr_scheduler.LambdaLR(adam, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": adam, "lr_scheduler": {"scheduler": ramp, "interval": "step"}}

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # batches are indices; the data is generated on the module's device


def check_algorithm(config: dict) -> str:
    """The config's ``algorithm`` (``reinforce`` for runs from before it existed), checked.

    Raises
    ------
    ValueError
        For an unknown algorithm, or imitation without labelled data.
    """
    algorithm = config.get("algorithm", "reinforce")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm}: use one of {', '.join(ALGORITHMS)}")
    if algorithm != "reinforce" and not config.get("imitation", {}).get("labels"):
        raise ValueError(f"algorithm={algorithm} learns from labelled solutions: make them with nco label and name "
                         "the folders with imitation.labels=[DIR,...]")
    return algorithm


def distribution_names(distribution) -> list[str]:
    """``data.distribution`` as a list of preset names: one name, or a list of names whose
    training batches are drawn from one of them each, uniformly (repeat a name to weight it).

    Raises
    ------
    ValueError
        For an empty list or an unknown preset.
    """
    names = [distribution] if isinstance(distribution, str) else list(distribution)
    if not names:
        raise ValueError("data.distribution=[]: name a preset such as broad, or a list such as [broad,variants_md]")
    for name in names:
        get_distribution(name)
    return names


def node_range(num_nodes) -> tuple[int, int]:
    """``data.num_nodes`` as (smallest, largest): one size, or a list ``[smallest, largest]``."""
    sizes = [num_nodes] if isinstance(num_nodes, int) else list(num_nodes)
    if len(sizes) not in (1, 2) or not all(isinstance(n, int) and n >= 1 for n in sizes) or sizes[0] > sizes[-1]:
        raise ValueError(f"data.num_nodes={num_nodes}: give one size such as 50 or a range such as [20,100]")
    return sizes[0], sizes[-1]


def batch_size_for(batch_size: int, num_nodes: int, largest: int) -> int:
    """Instances per training step at ``num_nodes`` customers: ``batch_size`` at the largest size,
    scaled by ``(largest / num_nodes) ** 2`` below it, so that a step's memory (rollouts times
    nodes per instance) stays about flat across sizes."""
    return max(1, round(batch_size * (largest / num_nodes) ** 2))


def compose_config(overrides: list[str]) -> DictConfig:
    """The training config: ``configs/train.yaml`` with Hydra overrides such as
    ``experiment=smoke model.num_layers=3``."""
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return compose(config_name="train", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        message = first_line(error)
        raise ValueError(f"bad config override ({message}): see configs/ for the keys and presets") from None


def finetune_config(checkpoint: str | Path, overrides: list[str]) -> DictConfig:
    """The training config for fine-tuning ``checkpoint``: its model, extended to the attributes
    in ``finetune.attributes`` (made matrix-aware with ``finetune.neighbours``, given a local view
    with ``finetune.local_view``, a refinement after the decoder's glimpse with
    ``finetune.refinement``), and the rest
    from ``overrides`` as in :func:`compose_config`. With nothing new, ``finetune.mode=full``
    continues training every weight (on new data, e.g. ``data.matrix_pool``). Unless ``seed=`` is
    given, the seed of the training batches comes from the checkpoint's bytes, so that each stage
    of a campaign trains on batches the previous ones did not see.

    Raises
    ------
    ValueError
        For an unreadable checkpoint, a bad override, or adapters with nothing new to learn.
    """
    config = compose_config(overrides)
    base, _ = load_policy(checkpoint)
    attributes = list(check_attributes([*base.attributes, *config.finetune.attributes]))
    neighbours = base.config["neighbours"] if config.finetune.neighbours is None else config.finetune.neighbours
    local_view = base.config["local_view"] if config.finetune.local_view is None else config.finetune.local_view
    refinement = base.config["refinement"] if config.finetune.refinement is None else config.finetune.refinement
    relative_time = base.relative_time if config.finetune.relative_time is None else config.finetune.relative_time
    nothing_new = (len(attributes) == len(base.attributes) and (neighbours > 0) == (base.config["neighbours"] > 0)
                   and (local_view > 0) == (base.config["local_view"] > 0)
                   and (refinement > 0) == (base.config["refinement"] > 0))
    if relative_time != base.relative_time and config.finetune.mode != "full":
        raise ValueError(
            f"finetune.relative_time={relative_time} changes what every time feature means: "
            "use finetune.mode=full so that every weight can follow"
        )
    if nothing_new and config.finetune.mode != "full":
        raise ValueError(
            f"{checkpoint}: the model already reads {', '.join(config.finetune.attributes) or 'what is asked'}, "
            f"so {config.finetune.mode} fine-tuning has nothing to train: name new attributes with "
            "finetune.attributes=[...], matrix neighbours with finetune.neighbours=16 or a local view with "
            "finetune.local_view=16, a refinement with finetune.refinement=512, or use finetune.mode=full "
            "to fine-tune every weight on new data"
        )
    with open_dict(config):
        config.model = OmegaConf.create(
            {**base.config, "attributes": attributes, "neighbours": neighbours, "relative_time": relative_time,
             "local_view": local_view, "refinement": refinement}
        )
        config.finetune.checkpoint = str(checkpoint)
        config.finetune.base_model = OmegaConf.create(base.config)
        if not any(item.split("=")[0] == "seed" for item in overrides):
            # batches are seeded by (seed, epoch, index) and every stage starts at epoch 0: a seed of
            # the starting weights gives each stage of a campaign new training data
            config.seed = int.from_bytes(hashlib.sha256(Path(checkpoint).read_bytes()).digest()[:4], "big")
    return config


def resume_config(run_dir: str | Path, overrides: list[str]) -> DictConfig:
    """The config of the run in ``run_dir`` (its ``config.yaml``), continuing from its
    ``last.ckpt`` in the same folder; ``overrides`` (``key=value``) change it, e.g.
    ``trainer.max_time=00:02:00:00`` for a longer stage.

    Raises
    ------
    ValueError
        When the folder holds no run to resume or an override is not ``key=value``.
    """
    run_dir = Path(run_dir)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if not (run_dir / "config.yaml").is_file() or not checkpoint.is_file():
        raise ValueError(f"{run_dir}: no config.yaml and checkpoints/last.ckpt there: give the folder of a run "
                         "of nco train or nco finetune")
    bad = [item for item in overrides if "=" not in item or item.startswith(("+", "~"))]
    if bad:
        raise ValueError(f"override {bad[0]!r}: resume takes key=value overrides only, e.g. trainer.max_epochs=50")

    read_checkpoint(checkpoint)  # refused here, with one line, if it is not plain data
    config = OmegaConf.merge(OmegaConf.load(run_dir / "config.yaml"), OmegaConf.from_dotlist(overrides))
    config.run_dir, config.ckpt_path = str(run_dir), str(checkpoint)
    return config


def train(config: DictConfig) -> Path:
    """Trains a policy as ``config`` says; returns the run directory (checkpoints, metrics.csv)."""
    run_dir = os.environ.get(RUN_DIR_VARIABLE) or config.run_dir
    if not run_dir:
        run_dir = f"outputs/train/{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    os.environ[RUN_DIR_VARIABLE] = run_dir  # DDP children re-run the command: same directory
    run_dir = Path(run_dir)
    resolve_variants(config.data.variants)  # fail now, not in a worker
    check_algorithm(OmegaConf.to_container(config))
    distribution_names(config.data.distribution)
    node_range(config.data.num_nodes)
    L.seed_everything(config.seed, workers=True, verbose=False)
    plain = OmegaConf.to_container(config, resolve=True)
    module = PolicyModule(plain)
    # the best epochs by validation, and last.ckpt after every epoch (Lightning's save_last only
    # writes it with an improvement: an interrupted run would lose every epoch since then)
    best = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="epoch{epoch:03d}", auto_insert_metric_name=False,
        monitor="val/cost_mean", mode="min",
    )
    last = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False)
    # ... and every few minutes inside long epochs
    last_in_epoch = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False,
                                    train_time_interval=timedelta(minutes=config.last_checkpoint_minutes))
    trainer = L.Trainer(
        **plain["trainer"],
        default_root_dir=run_dir,
        logger=CSVLogger(run_dir, name="", version=""),
        callbacks=[best, last, last_in_epoch],
        num_sanity_val_steps=0,
    )
    earlier = None
    if trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(config))
        # Lightning's CSV logger deletes an existing metrics.csv: keep a resumed run's curve aside
        if config.ckpt_path and (run_dir / "metrics.csv").is_file():
            earlier = (run_dir / "metrics.csv").rename(run_dir / f"metrics-before-{time.strftime('%Y%m%d-%H%M%S')}.csv")
    try:
        trainer.fit(module, ckpt_path=config.ckpt_path, weights_only=True)
    except MisconfigurationException as error:  # e.g. resuming past max_epochs
        message = first_line(error)
        raise ValueError(f"{message.rstrip('.')}: change the overrides (see configs/) and run again") from None
    finally:
        if earlier is not None:
            _prepend_metrics(run_dir / "metrics.csv", earlier, torch.load(config.ckpt_path, weights_only=True)["global_step"])
    return run_dir


def _prepend_metrics(metrics: Path, earlier: Path, resumed_step: int) -> None:
    """Puts the rows of ``earlier`` logged up to the resumed checkpoint's step before the rows of
    ``metrics`` (one header for both), then removes ``earlier``."""

    def rows(path: Path) -> list[dict]:
        if not path.is_file():
            return []
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))

    combined = [r for r in rows(earlier) if int(r["step"]) <= resumed_step] + rows(metrics)
    names = sorted({name for row in combined for name in row})
    with open(metrics, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(combined)
    earlier.unlink()
