"""The ``nco`` command line: a thin layer over the library.

    nco generate OUT --variants all16 --customers 50 --instances 1000 --seed 1 [--vrplib]
                 [--distribution broad] [--matrix-pool DIR --pool-split test]
    nco label OUT --distribution broad variants_md --variants all48 --customers 20 200 --instances 8192
              [--solver neural|network|pyvrp] [--time-per-customer 0.005] [--workers 2] [--quality-sample 16]
    nco train experiment=smoke model.num_layers=3 trainer.max_epochs=2
    nco finetune CHECKPOINT experiment=all48_n20 finetune.mode=adapter
    nco resume RUN_DIR [trainer.max_time=00:02:00:00]
    nco solve PATH... [--checkpoint CKPT] [--out DIR] [--rounding round] [--no-augment] [--plot] [--device cpu]
              [--time-limit 1 [--search polish|sampling|reconstruct]]
    nco check INSTANCE SOLUTION [--rounding round]
    nco eval [CHECKPOINT] --variants all16 --customers 50 [--augment] [--reference CSV]
    nco export CHECKPOINT OUT.pt
    nco compare [PATH...] --variants all16 --customers 50 --instances 32 --time-limits 1,5
    nco demo

Each command imports what it needs when it runs, so that ``nco --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from nco.memory import keep_freed_memory

EXIT_BAD_INPUT = 2


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number 0 or above")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds, e.g. 1 or 0.5")
    return seconds


def _time_limits(text: str) -> list[float]:
    items = [x for x in text.split(",") if x.strip()]
    try:
        if items:
            return [_seconds(x) for x in items]
    except argparse.ArgumentTypeError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r}: give positive seconds, comma-separated, e.g. 1,5")


def _pool(args):
    """The requested part of ``--matrix-pool`` (None: uniform Euclidean instances)."""
    if not args.matrix_pool:
        return None
    from nco.io import read_matrix_pool

    train_pool, test_pool = read_matrix_pool(args.matrix_pool).split()
    return test_pool if args.pool_split == "test" else train_pool


def _generate(args) -> None:
    from nco.envs.generator import generate
    from nco.io import write_instance

    problem = generate(args.instances, args.customers, args.variants, seed=args.seed, pool=_pool(args),
                       distribution=args.distribution)
    out = Path(args.out)
    if args.vrplib:
        out.mkdir(parents=True, exist_ok=True)
        for index in range(problem.batch_size):
            instance = problem.instance(index)
            name = f"{instance.variant.name}-n{args.customers}-s{args.seed}-{index}"
            write_instance(out / f"{name}.vrp", instance.replace(name=name))
        print(f"wrote {problem.batch_size} VRPLIB files to {out}/")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        problem.save(out)
        print(f"wrote {problem.batch_size} instances to {out}")


def _label(args) -> None:
    from nco.labels import Recipe, label, label_report, quality

    recipe = Recipe(tuple(args.distribution), args.variants, tuple(args.customers), args.instances, args.shard_size,
                    args.seed, args.solver, args.time_per_customer, args.checkpoint, args.samples)
    label(args.out, recipe, args.workers, args.backend, args.ray_address)
    report = label_report(args.out)
    print(f"{args.out}: {report['feasible']} of {report['instances']} instances labelled feasibly, "
          f"{report['solver_cpu_hours']:.2f} solver CPU-hours")
    if args.quality_sample:
        gaps = quality(args.out, args.quality_sample, workers=args.workers)
        mean = "no feasible reference" if gaps["mean_gap_percent"] is None else f"{gaps['mean_gap_percent']:.2f}%"
        print(f"label quality: {mean} above {gaps['reference']} on {gaps['compared']} instances "
              f"(written to {Path(args.out) / 'quality.json'})")


def _train(args) -> None:
    from nco.train import compose_config, train

    run_dir = train(compose_config(args.overrides))
    print(f"run directory: {run_dir} (checkpoints/, metrics.csv, config.yaml)")


def _finetune(args) -> None:
    from nco.train import finetune_config, train

    run_dir = train(finetune_config(args.checkpoint, args.overrides))
    print(f"run directory: {run_dir} (checkpoints/, metrics.csv, config.yaml)")


def _resume(args) -> None:
    from nco.train import resume_config, train

    run_dir = train(resume_config(args.run_dir, args.overrides))
    print(f"run directory: {run_dir} (checkpoints/, metrics.csv, config.yaml)")


def _check(args) -> None:
    from nco.batch import cost_note
    from nco.envs.check import check_solution
    from nco.io import read_instance, read_solution

    instance = read_instance(args.instance).replace(rounding=args.rounding)
    routes, written_cost = read_solution(args.solution)
    result = check_solution(instance, routes)
    print(f"{args.solution}: {'feasible' if result.feasible else 'infeasible'}, cost {result.cost:.6g} "
          f"({len(routes)} routes, rounding {args.rounding})"
          + ("" if written_cost is None else f"; the file says {written_cost:g}"))
    for violation in result.violations:
        print(f"  {violation}")
    note = None if written_cost is None else cost_note(instance, routes, written_cost, result.cost, Path(args.solution))
    if note:  # the verdict follows the routes, not the Cost line
        print(f"nco check: note: {note}", file=sys.stderr)
    sys.exit(0 if result.feasible else 1)


def _eval(args) -> None:
    from nco.checkpoints import DEFAULT_CHECKPOINT, MATRIX_CHECKPOINT, load_policy
    from nco.envs.distribution import get_distribution
    from nco.evaluate import evaluate, format_table, read_reference

    draws_matrices = get_distribution(args.distribution).asymmetric_share > 0
    checkpoint = args.checkpoint or (MATRIX_CHECKPOINT if draws_matrices else DEFAULT_CHECKPOINT)
    policy, _ = load_policy(checkpoint)
    reference = read_reference(args.reference) if args.reference else None
    options = dict(variants=args.variants, num_customers=args.customers, num_instances=args.instances,
                   seed=args.seed, batch_size=args.batch_size, distribution=args.distribution)
    results = evaluate(policy, augment=args.augment, reference=reference, **options)
    baseline = evaluate(None, **options) if args.nearest_neighbour else None
    decoding = "multi-start greedy" + (" + 8-fold augmentation" if args.augment else "")
    print(f"{args.checkpoint or 'shipped ' + checkpoint.name}, {decoding}, {args.distribution} distribution, "
          f"n = {args.customers}, seed {args.seed}")
    print(format_table(results, baseline))


def _export(args) -> None:
    from nco.checkpoints import export_policy

    print(f"wrote {export_policy(args.checkpoint, args.out)}")


def _solve(args) -> None:
    from nco.batch import SolveOptions, format_results, solve_files, write_summary
    from nco.io import INSTANCE_SUFFIXES, expand_paths
    from nco.solvers.neural import NeuralParams

    paths = expand_paths(args.paths)
    if not paths:
        raise ValueError(f"no instance files in {' '.join(args.paths)}: give {', '.join(INSTANCE_SUFFIXES)} or Cordeau "
                         "files, or folders of them")
    if args.plot and not args.out:
        raise ValueError("--plot draws into the --out folder: give --out DIR too")
    neural = NeuralParams(args.checkpoint, args.augment, args.samples, args.search, device=args.device)
    neural.check_time_limit(args.time_limit)
    options = SolveOptions(neural, args.time_limit, args.seed, args.rounding, args.out, args.plot)
    results = solve_files(paths, options, args.workers, args.backend, args.ray_address)
    print(format_results(results))
    for note in dict.fromkeys(note for r in results for note in r.notes):
        print(f"nco solve: note: {note}", file=sys.stderr)
    unread = sorted({attribute for r in results for attribute in r.unread})
    if unread:
        advice = ("no shipped model reads vehicle types yet" if "fleet" in unread
                  else "the shipped model (no --checkpoint) reads every attribute")
        print(f"nco solve: note: the model does not read {', '.join(unread)} (it decodes such instances "
              f"feasibly but was not trained on them): {advice}", file=sys.stderr)
    failures = [r.error for r in results if r.error]
    for error in failures:
        print(f"nco solve: error: {error}", file=sys.stderr)
    if args.out:
        summary = write_summary(results, Path(args.out) / "summary.csv")
        print(f"solutions{' and plots' if args.plot else ''} in {args.out}/, one row per instance in {summary}")
    if failures:
        sys.exit(EXIT_BAD_INPUT)


def _compare_folder(args) -> str:
    """The default ``--out`` of a comparison: one folder per set of instances."""
    if args.paths:
        import hashlib

        named = ",".join(sorted(str(Path(p).resolve()) for p in args.paths))
        return f"outputs/compare/files-{hashlib.sha256(named.encode()).hexdigest()[:8]}"
    pool = f"-{Path(args.matrix_pool).name}-{args.pool_split}" if args.matrix_pool else ""
    return (f"outputs/compare/{args.variants.replace(',', '+')}-n{args.customers}-{args.instances}each"
            f"-seed{args.seed}-{args.distribution}{pool}")


def _compare(args) -> None:
    from nco.compare import compare, write_report

    args.out = args.out or _compare_folder(args)
    instances = _compare_instances(args)
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    rows = compare(instances, solvers, args.time_limits, args.out, args.checkpoint, args.workers, args.rounding,
                   args.seed, args.neural_name, args.fresh, args.backend, args.ray_address)
    paths = write_report(rows, instances, args.out)
    print(paths[0].read_text())
    print("written: " + ", ".join(str(p) for p in paths) + f", {args.out}/results.csv, {args.out}/solutions/")


def _compare_instances(args) -> list:
    from nco.envs.generator import generate
    from nco.envs.variants import resolve_variants
    from nco.batch import named_by_file
    from nco.io import expand_paths, read_instances

    if args.paths:
        read = []
        for path in expand_paths(args.paths):
            found = read_instances(path)
            read += [(path, instance, len(found) == 1) for instance in found]
        instances, notes = named_by_file(read)
        for note in notes:
            print(f"nco compare: note: {note}", file=sys.stderr)
        return instances
    instances, pool = [], _pool(args)
    for variant in resolve_variants(args.variants):
        problem = generate(args.instances, args.customers, [variant], seed=args.seed + variant.index, pool=pool,
                           distribution=args.distribution)
        instances += [problem.instance(i, f"{variant.name}-n{args.customers}-{i}") for i in range(args.instances)]
    return instances


def _demo(args) -> None:
    from nco.demo import run_demo

    run_demo(args.out)


def _add_distribution_argument(parser: argparse.ArgumentParser) -> None:
    from nco.envs.distribution import DISTRIBUTIONS

    parser.add_argument("--distribution", default="variants_md", choices=list(DISTRIBUTIONS),
                        help="synthetic distribution (envs/distribution.py): variants_md is the published one")


def _add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="local (--workers processes here) or ray (one Ray task per run; needs the cluster extra)")
    parser.add_argument("--ray-address", help="a running Ray cluster (HOST:6379; default: start Ray on this machine)")


def _add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix-pool", help="folder of VRPLIB files with explicit matrices to draw "
                        "locations and real travel from (default: uniform, Euclidean)")
    parser.add_argument("--pool-split", choices=["train", "test"], default="test",
                        help="which source instances of the pool (the split that training uses)")


def build_parser() -> argparse.ArgumentParser:
    from importlib import metadata

    from nco.envs.instance import ROUNDINGS

    parser = argparse.ArgumentParser(prog="nco", description="Neural multi-attribute VRP solver")
    parser.add_argument("--version", action="version", version=f"nco {metadata.version('nco-vrp')}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="sample synthetic instances")
    generate.add_argument("out", help="an .npz file, or a folder with --vrplib")
    generate.add_argument("--variants", default="all16", help="all16, all48 or names, comma-separated")
    generate.add_argument("--customers", "--num-nodes", type=_positive_int, default=50, help="customers per instance")
    generate.add_argument("--instances", type=_positive_int, default=100)
    generate.add_argument("--seed", type=_non_negative_int, default=1)
    generate.add_argument("--vrplib", action="store_true", help="one .vrp file per instance")
    _add_distribution_argument(generate)
    _add_pool_arguments(generate)
    generate.set_defaults(run=_generate)

    from nco.envs.distribution import DISTRIBUTIONS
    from nco.labels import LABEL_SOLVERS

    label = commands.add_parser(
        "label", help="generate instances and solve them into a labelled dataset (imitation training)",
        description="resumable: run it again on the same folder to continue; more --instances adds shards")
    label.add_argument("out", help="the dataset's folder")
    label.add_argument("--distribution", nargs="+", default=["broad", "variants_md"], choices=list(DISTRIBUTIONS),
                       help="presets (envs/distribution.py); each shard draws one")
    label.add_argument("--variants", default="all48", help="all16, all48 or names, comma-separated")
    label.add_argument("--customers", "--num-nodes", type=_positive_int, nargs=2, default=[20, 200],
                       metavar=("SMALLEST", "LARGEST"),
                       help="customers per instance, drawn per shard")
    label.add_argument("--instances", type=_positive_int, default=1024)
    label.add_argument("--shard-size", type=_positive_int, default=64, help="instances per shard (one size)")
    label.add_argument("--seed", type=_non_negative_int, default=1)
    label.add_argument("--solver", choices=LABEL_SOLVERS, default="neural",
                       help="neural: the network polished by PyVRP under the time limit; network: the "
                       "network's own best of 8 images x multi-start, no time limit; pyvrp: PyVRP alone")
    label.add_argument("--time-per-customer", type=_seconds, default=0.005,
                       help="the solver's seconds per customer of an instance (network: PyVRP's in the quality report)")
    label.add_argument("--checkpoint", help="the network of neural and network (default: the shipped one)")
    label.add_argument("--samples", type=_non_negative_int, default=0,
                       help="network: multi-start sampling passes after the greedy one (the best is the label)")
    label.add_argument("--workers", type=_positive_int, default=1, help="processes sharing the instances")
    label.add_argument("--quality-sample", type=_non_negative_int, default=16,
                       help="instances compared with PyVRP at 10x their time at the end (0: none)")
    _add_backend_arguments(label)
    label.set_defaults(run=_label)

    train = commands.add_parser(
        "train", help="train a policy from the Hydra configs in configs/",
        description="Hydra overrides, e.g. experiment=smoke model.num_layers=3 data.num_nodes=20 "
        "trainer.max_epochs=2; continue a run with nco resume RUN_DIR",
    )
    train.add_argument("overrides", nargs="*", help="Hydra overrides (key=value)")
    train.set_defaults(run=_train)

    resume = commands.add_parser(
        "resume", help="continue an interrupted or finished run in its own folder",
        description="reads RUN_DIR/config.yaml and continues from RUN_DIR/checkpoints/last.ckpt; "
        "key=value overrides change the config, e.g. trainer.max_time=00:02:00:00",
    )
    resume.add_argument("run_dir", help="the run's folder (outputs/train/<run>)")
    resume.add_argument("overrides", nargs="*", help="key=value")
    resume.set_defaults(run=_resume)

    finetune = commands.add_parser(
        "finetune", help="extend a trained policy to new attributes (adapters) and fine-tune it",
        description="Hydra overrides as for train; finetune.attributes=[mixed_backhaul,multi_depot] "
        "names the new attributes, finetune.mode=full|adapter|lora what trains (configs/train.yaml)",
    )
    finetune.add_argument("checkpoint", help="the trained policy (.ckpt from nco train, or a shipped .pt)")
    finetune.add_argument("overrides", nargs="*", help="Hydra overrides (key=value)")
    finetune.set_defaults(run=_finetune)

    solve = commands.add_parser("solve", help="solve instance files (VRPLIB, Solomon, .npz)")
    solve.add_argument("paths", nargs="+", help="files, folders or globs")
    solve.add_argument("--checkpoint", help="default: the shipped model (a matrix-aware one for files with a matrix)")
    solve.add_argument("--out", help="folder for <name>.sol (and <name>.png with --plot)")
    solve.add_argument("--rounding", "--round", default="none", choices=ROUNDINGS,
                       help="cost rounding of the file's convention (CVRPLIB X: round)")
    solve.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                       help="8-fold dihedral augmentation (default on)")
    solve.add_argument("--samples", type=_non_negative_int, default=0, help="extra multi-start sampling passes")
    solve.add_argument("--seed", type=_non_negative_int, default=1, help="seed of the sampling passes")
    solve.add_argument("--time-limit", type=_seconds, help="seconds per instance: decode, then search until it")
    solve.add_argument("--search",
                       help="with --time-limit: polish (PyVRP's local search from the network's solution, the "
                       "default), sampling (more decoding passes) or reconstruct (the network re-solves groups "
                       "of neighbouring routes)")
    solve.add_argument("--device", default="auto", help="auto (a CUDA GPU when there is one), cpu, cuda or cuda:N")
    solve.add_argument("--plot", action="store_true", help="draw the routes (needs --out)")
    solve.add_argument("--workers", type=_positive_int, default=1, help="processes sharing the instances")
    _add_backend_arguments(solve)
    solve.set_defaults(run=_solve)

    check = commands.add_parser("check", help="judge a solution file of any solver against its instance",
                                description="exit status 0: feasible, 1: infeasible, 2: a file cannot be read")
    check.add_argument("instance", help="the instance file (.vrp or Solomon .txt)")
    check.add_argument("solution", help="the .sol file (0-based location indices, docs/formats.md)")
    check.add_argument("--rounding", "--round", default="none", choices=ROUNDINGS,
                       help="cost rounding of the file's convention (CVRPLIB X: round)")
    check.set_defaults(run=_check)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on generated instances")
    evaluate.add_argument("checkpoint", nargs="?", default=None,
                          help="default: the shipped model (the matrix-aware one for a distribution with matrices)")
    evaluate.add_argument("--variants", default="all16")
    evaluate.add_argument("--customers", "--num-nodes", type=_positive_int, default=50)
    evaluate.add_argument("--instances", type=_positive_int, default=128, help="per variant")
    evaluate.add_argument("--seed", type=_non_negative_int, default=12345)
    evaluate.add_argument("--batch-size", type=_positive_int, default=64)
    evaluate.add_argument("--augment", action="store_true", help="8-fold dihedral augmentation")
    evaluate.add_argument("--reference", help="CSV with columns variant,index,cost")
    evaluate.add_argument("--nearest-neighbour", action="store_true", help="compare with that construction")
    _add_distribution_argument(evaluate)
    evaluate.set_defaults(run=_eval)

    export = commands.add_parser("export", help="write a small shippable .pt from a Lightning checkpoint")
    export.add_argument("checkpoint")
    export.add_argument("out")
    export.set_defaults(run=_export)

    compare = commands.add_parser("compare", help="neural solver versus OR-Tools and PyVRP, with plots")
    compare.add_argument("paths", nargs="*", help="instance files or folders (default: generated instances)")
    compare.add_argument("--variants", default="all16")
    compare.add_argument("--customers", "--num-nodes", type=_positive_int, default=50)
    compare.add_argument("--instances", type=_positive_int, default=32, help="per variant")
    compare.add_argument("--seed", type=_non_negative_int, default=2024)
    compare.add_argument("--solvers", default="neural,ortools,pyvrp")
    compare.add_argument("--time-limits", type=_time_limits, default="1,5",
                         help="seconds per instance for the baselines")
    compare.add_argument("--checkpoint", help="default: the shipped model (a matrix-aware one for files with a matrix)")
    compare.add_argument("--neural-name", default="neural",
                         help="name of the neural solver's rows: compare several checkpoints in one --out")
    compare.add_argument("--out", help="results folder (default: outputs/compare/<what is compared>); "
                         "a rerun reuses the rows whose instance, solver, setting, checkpoint and code are unchanged")
    compare.add_argument("--workers", type=_positive_int, default=None,
                         help="processes for the baselines (default and most: the cores)")
    _add_distribution_argument(compare)
    _add_pool_arguments(compare)
    compare.add_argument("--rounding", "--round", default="none", choices=ROUNDINGS)
    compare.add_argument("--fresh", action="store_true", help="recompute every run, reusing no row of --out")
    _add_backend_arguments(compare)
    compare.set_defaults(run=_compare)

    demo = commands.add_parser("demo", help="the product's demonstration (what `make run` runs)")
    demo.add_argument("--out", default="outputs/demo")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    keep_freed_memory()
    # the library logs what a user should see (reused runs, failed tasks): one line each on stderr
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"nco {args.command}: %(message)s"))
    library = logging.getLogger("nco")
    library.handlers, library.level = [handler], logging.INFO
    try:
        args.run(args)
    except ValueError as error:  # bad input: one line naming the problem and the fix
        print(f"nco {args.command}: error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
