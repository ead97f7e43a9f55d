from nco.solvers.neural.model import MODELS_KEPT, _load, load_model


def test_a_model_is_loaded_once_per_checkpoint_and_device(checkpoint):
    first = load_model(checkpoint, "cpu")
    assert load_model(str(checkpoint), "cpu") is first  # a path or its text: one entry
    assert not first.training  # ready to decode


def test_the_cache_keeps_a_few_models_only(checkpoint, tmp_path):
    _load.cache_clear()
    copies = []
    for index in range(MODELS_KEPT + 2):  # distinct files of the same weights
        copy = tmp_path / f"copy{index}.pt"
        copy.write_bytes(open(checkpoint, "rb").read())
        copies.append(load_model(copy, "cpu"))
    assert _load.cache_info().currsize == MODELS_KEPT
    assert load_model(tmp_path / "copy0.pt", "cpu") is not copies[0]  # the oldest went first
