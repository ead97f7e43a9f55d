"""The benchmark suite's entry point (scripts/bench.py) and what its benchmarks share; the
benchmarks themselves measure for minutes and are not run here."""

import argparse
import csv
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return importlib.import_module("bench")


def test_every_topic_has_a_module_with_a_summary_options_and_a_run(bench):
    assert set(bench.TOPICS.values()) == {p.stem for p in (SCRIPTS / "benchmarks").glob("*.py")} - {"__init__", "common"}
    for topic, name in bench.TOPICS.items():
        module = importlib.import_module(f"benchmarks.{name}")
        assert bench.summary(topic) == module.__doc__.splitlines()[0]
        assert bench.summary(topic).endswith((".", "?")), topic  # one whole sentence in the listing
        assert f"python scripts/bench.py {topic}" in module.__doc__  # its usage, with this entry point
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        assert callable(module.run)


def test_the_listing_names_every_topic(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--help"])
    assert exit_.value.code == 0
    listing = capsys.readouterr().out
    assert all(topic in listing for topic in bench.TOPICS)


def test_missing_benchmark_data_or_an_unknown_set_is_one_line_that_says_what_to_pass(bench, capsys, tmp_path):
    for data in ([], ["--data", str(tmp_path / "absent")]):
        with pytest.raises(SystemExit) as exit_:
            bench.main(["dev-sets", *data])
        message = str(exit_.value.code)
        assert message.startswith("bench dev-sets: no benchmark data") and "--data DIR" in message
        assert "\n" not in message
    with pytest.raises(SystemExit) as exit_:
        bench.main(["dev-sets", "--sets", "x250,solomn", "--data", str(tmp_path)])
    assert str(exit_.value.code) == ("bench dev-sets: unknown sets ['solomn']: use some of "
                                     "solomon,x250,x500,x1000,x,cordeau,ortec,vrpb,hfvrp,sdvrptw")
    with pytest.raises(SystemExit) as exit_:
        bench.main(["dev-sets", "--solver", "nearest", "--data", str(tmp_path)])
    assert str(exit_.value.code) == ("bench dev-sets: --solver nearest polishes the nearest-neighbour routes for "
                                     "--time-limit seconds: give one")


def test_every_run_is_stamped_with_its_commit_and_machine(bench, capsys, tmp_path):
    rows = [{"set": "solomon", "instance": name, "n": 100, "checkpoint": "shipped", "cost": 1.0,
             "feasible": feasible, "routes": 9, "reference": 1.0, "gap": gap, "seconds": 0.5}
            for name, feasible, gap in (("C101", True, 1.0), ("R101", True, 3.0), ("RC101", False, 50.0))]
    path = tmp_path / "run.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bench.main(["dev-sets", "--tables", str(path)])
    stamp, *table = capsys.readouterr().out.splitlines()
    assert stamp.startswith("bench dev-sets: commit ") and " CPUs, torch " in stamp
    # the table of the earlier run: gaps over the feasible solutions, a row per Solomon series
    assert "| shipped | solomon | 3 | 2 | 2.00% | 3.00% | 0.50 |" in table
    assert "| shipped | solomon R1 | 1 | 1 | 3.00% | 3.00% | 0.50 |" in table


def test_curves_plot_a_metrics_file_and_refuse_one_without_cpu_minutes(bench, tmp_path):
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("step,val/cost_mean,time/cpu_minutes\n99,15.9,5.0\n199,15.8,10.0\n")
    out = tmp_path / "curves.png"
    bench.main(["curves", "--arms", "--start", "16", "--stage", f"run={metrics}", "--out", str(out)])
    assert out.stat().st_size > 0
    metrics.write_text("step,val/cost_mean\n99,15.9\n")
    with pytest.raises(SystemExit) as exit_:
        bench.main(["curves", "--stage", f"run={metrics}", "--out", str(out)])
    assert "no time/cpu_minutes column" in str(exit_.value.code)


def test_the_entry_point_runs_as_a_script():
    listing = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "--help"], capture_output=True, text=True)
    assert listing.returncode == 0 and "dev-sets" in listing.stdout
