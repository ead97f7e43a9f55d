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
