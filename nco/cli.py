"""The ``nco`` command line: a thin layer over the library.

    nco generate OUT --variants all16 --num-nodes 50 --instances 1000 --seed 1 [--vrplib]
    nco demo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _generate(args) -> None:
    from envs.generator import generate
    from nco.io import write_instance

    problem = generate(args.instances, args.num_nodes, args.variants, seed=args.seed)
    out = Path(args.out)
    if args.vrplib:
        out.mkdir(parents=True, exist_ok=True)
        for index in range(problem.batch_size):
            instance = problem.instance(index)
            name = f"{instance.variant.name}-n{args.num_nodes}-s{args.seed}-{index}"
            write_instance(out / f"{name}.vrp", instance.replace(name=name))
        print(f"wrote {problem.batch_size} VRPLIB files to {out}/")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        problem.save(out)
        print(f"wrote {problem.batch_size} instances to {out}")


def _demo(args) -> None:
    from nco.demo import run_demo

    run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nco", description="Neural multi-attribute VRP solver")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="sample synthetic instances (variants.md)")
    generate.add_argument("out", help="an .npz file, or a folder with --vrplib")
    generate.add_argument("--variants", default="all16", help="all16, all48 or names, comma-separated")
    generate.add_argument("--num-nodes", type=int, default=50, help="customers per instance")
    generate.add_argument("--instances", type=int, default=100)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--vrplib", action="store_true", help="one .vrp file per instance")
    generate.set_defaults(run=_generate)

    demo = commands.add_parser("demo", help="the product's demonstration (what `make run` runs)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ValueError as error:  # bad input: one line naming the problem and the fix
        print(f"nco {args.command}: error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
