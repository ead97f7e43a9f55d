from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).resolve().parents[1] / "nco" / "data"


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A small random-weight policy in the slim checkpoint format."""
    from models.policy import Policy

    torch.manual_seed(0)
    model = dict(dim=32, num_heads=4, num_layers=1, hidden=64)
    path = tmp_path_factory.mktemp("checkpoint") / "tiny.pt"
    torch.save({"config": {"model": model}, "state_dict": Policy(**model).state_dict()}, path)
    return path
