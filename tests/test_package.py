"""The package as a user installs it: a wheel built from the sources, installed without the
repository, trains from its packaged configs and solves a bundled file."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "nco", "envs", "models", "configs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """The wheel, and a folder it is installed into (the environment's dependencies beside it)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True)
    return wheel, target


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m ...`` in ``cwd`` (outside the repository) with the installed package first."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_the_configs_and_shipped_models_but_no_test_fixtures(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "nco/configs/train.yaml" in names and "nco/configs/experiment/smoke.yaml" in names
    shipped = sorted(name for name in names if name.startswith("nco/checkpoints/") and name.endswith(".pt"))
    assert shipped == ["nco/checkpoints/all48-broad.pt", "nco/checkpoints/all48-road.pt"]
    assert "nco/data/X-n101-k25.vrp" in names
    assert not [name for name in names if name.startswith(("tests/", "envs/", "models/", "configs/"))]


def test_the_installed_package_trains_and_solves_outside_the_repository(installed, tmp_path):
    _, target = installed
    where = run_installed(target, tmp_path, "-c", "import nco; print(nco.__file__)")
    assert where.stdout.startswith(str(target)), where.stderr  # not the repository's sources
    trained = run_installed(target, tmp_path, "-m", "nco.cli", "train", "experiment=smoke",
                            "trainer.max_time=00:00:00:30", "run_dir=run")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    solved = run_installed(target, tmp_path, "-m", "nco.cli", "solve", str(target / "nco" / "data" / "X-n101-k25.vrp"),
                           "--out", "solved")
    assert solved.returncode == 0, solved.stderr[-2000:]
    assert (tmp_path / "solved" / "X-n101-k25.sol").is_file()
