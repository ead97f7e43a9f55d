"""The project's benchmarks, one entry point: ``python scripts/bench.py TOPIC [options]``.

Each topic is a module of ``scripts/benchmarks`` (its docstring says what it measures and how);
``python scripts/bench.py TOPIC --help`` lists its options. Every run first prints one line naming
the commit and the machine, to paste under the tables it prints or writes. Benchmarks that read
benchmark files (which a clone of the repository does not have) take them with ``--data DIR``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path

from benchmarks.common import OptionError, stamp
from nco.memory import keep_freed_memory

# topic: module of scripts/benchmarks, grouped by the results page (docs/results/) they feed
TOPICS = {
    # quality.md, training.md, fleets.md
    "dev-sets": "dev_sets",
    "route-length": "route_length",
    # anytime.md
    "anytime": "anytime",
    # large.md
    "size": "size",
    "decomposition": "decomposition",
    "large-start": "large_start",
    # speed.md
    "env": "env",
    "model": "model",
    "glimpse": "glimpse",
    "local-view": "local_view",
    "backends": "backends",
    # training.md
    "curves": "curves",
    "adapters": "adapters",
}


def summary(topic: str) -> str:
    """The first line of a topic's docstring, read without importing its module."""
    source = (Path(__file__).parent / "benchmarks" / f"{TOPICS[topic]}.py").read_text()
    return ast.get_docstring(ast.parse(source)).splitlines()[0]


def main(argv: list[str] | None = None) -> None:
    """Parse the topic, import its module alone (a child run's memory stays its own), run it."""
    argv = sys.argv[1:] if argv is None else argv
    listing = "\n".join(f"  {topic:14} {summary(topic)}" for topic in TOPICS)
    entry = argparse.ArgumentParser(prog="bench.py", description=__doc__, epilog=f"topics:\n{listing}",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    entry.add_argument("topic", choices=TOPICS, metavar="TOPIC", help="one of the topics below")
    entry.add_argument("options", nargs=argparse.REMAINDER, help="the topic's own (TOPIC --help)")
    topic = entry.parse_args(argv[:1]).topic
    module = importlib.import_module(f"benchmarks.{TOPICS[topic]}")
    parser = argparse.ArgumentParser(prog=f"bench.py {topic}", description=module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    keep_freed_memory()  # as the nco command does
    print(stamp(topic), flush=True)
    try:
        module.run(args)
    except OptionError as error:  # options or data that do not fit: one line, no traceback
        sys.exit(f"bench {topic}: {error}")


if __name__ == "__main__":
    main()
