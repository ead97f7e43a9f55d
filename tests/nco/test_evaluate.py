import os
import subprocess
import sys
from pathlib import Path

import pytest

from nco.envs.generator import generate
from nco.checkpoints import load_policy
from nco.evaluate import evaluate, judge, nearest_neighbour_rollout, read_reference

ROOT = Path(__file__).resolve().parents[2]


def test_nearest_neighbour_is_feasible_on_all48():
    problem = generate(32, 10, "all48", seed=0)
    _, feasible = judge(problem, nearest_neighbour_rollout(problem)[:, 0])
    assert feasible.all()


def test_evaluate_reports_cost_gap_and_feasibility(tmp_path, checkpoint):
    policy, _ = load_policy(checkpoint)
    plain = evaluate(policy, ["CVRP", "VRPTW"], num_customers=8, num_instances=4, seed=3)
    assert [r.variant for r in plain] == ["CVRP", "VRPTW"]
    assert all(r.feasible_share == 1.0 and r.gap is None for r in plain)
    # a reference equal to half of each cost gives a gap of exactly 100%
    reference_file = tmp_path / "reference.csv"
    lines = ["variant,index,cost"] + [f"{r.variant},{i},{c / 2}" for r in plain for i, c in enumerate(r.costs)]
    reference_file.write_text("\n".join(lines))
    reference = read_reference(reference_file)
    with_gap = evaluate(policy, ["CVRP", "VRPTW"], num_customers=8, num_instances=4, seed=3, reference=reference)
    assert [r.gap for r in with_gap] == pytest.approx([100.0, 100.0])


def test_bad_reference_file(tmp_path):
    (tmp_path / "bad.csv").write_text("name,cost\nx,1\n")
    with pytest.raises(ValueError, match="not a reference CSV"):
        read_reference(tmp_path / "bad.csv")


def test_eval_cli_prints_the_table(checkpoint):
    result = subprocess.run(
        [sys.executable, "-m", "nco.cli", "eval", str(checkpoint), "--variants", "VRPB,OVRPL", "--num-nodes", "8",
         "--instances", "4", "--nearest-neighbour"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "| VRPB | 4 |" in result.stdout and "| OVRPL | 4 |" in result.stdout and "100% |" in result.stdout


@pytest.mark.parametrize("distribution, model", [("variants_md", "all48-broad.pt"), ("broad_road", "all48-road.pt")])
def test_eval_without_a_checkpoint_uses_the_shipped_model_for_the_distribution(distribution, model):
    result = subprocess.run(
        [sys.executable, "-m", "nco.cli", "eval", "--variants", "CVRP", "--num-nodes", "8", "--instances", "2",
         "--distribution", distribution], cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"shipped {model}, multi-start greedy, {distribution} distribution")


def test_reference_from_the_results_of_nco_compare(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(
        "instance,variant,solver,setting,cost,time,feasible\n"
        "CVRP-n8-1,CVRP,pyvrp,1s,5.0,1,True\n"
        "CVRP-n8-0,CVRP,pyvrp,1s,4.0,1,True\n"
        "CVRP-n8-0,CVRP,ortools,1s,3.5,1,True\n"  # the best baseline counts
        "CVRP-n8-1,CVRP,matrix-model,greedy,1.0,1,True\n"  # a neural solver never does
        "VRPTW-n8-0,VRPTW,ortools,1s,,1,False\n"  # nor an infeasible row
        "VRPTW-n8-0,VRPTW,pyvrp,1s,7.0,1,True\n"
    )
    reference = read_reference(path)
    assert reference["CVRP"].tolist() == [3.5, 5.0]
    assert reference["VRPTW"].tolist() == [7.0]
