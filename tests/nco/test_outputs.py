import pytest

from nco.outputs import safe_name, unique_names, write_atomically, write_text


@pytest.mark.parametrize("text, name", [
    ("../../escaped", "_.._escaped"), ("/tmp/anywhere/evil", "_tmp_anywhere_evil"), ("..", "instance"),
    ("", "instance"), ("X-n101-k25", "X-n101-k25"), ("C101 (copy)", "C101__copy_"), (".hidden", "hidden"),
])
def test_names_are_plain_file_names(text, name):
    assert safe_name(text) == name
    assert "/" not in safe_name(text) and not safe_name(text).startswith(".")


def test_repeated_names_are_kept_apart_in_order_with_one_note_each():
    names, notes = unique_names(["a", "b", "a", "a", "b"])
    assert names == ["a", "b", "a-2", "a-3", "b-2"]
    assert len(notes) == 2 and "several inputs are named a: their outputs are a, a-2" in notes[0]


def test_a_write_killed_midway_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "summary.csv"
    write_text(path, "old\n")

    def killed(partial):
        partial.write_text("half of the ne")
        raise KeyboardInterrupt  # a kill arriving mid-write

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, killed)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
    write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_writers_that_infer_a_format_from_the_suffix_get_it(tmp_path):
    seen = []
    write_atomically(tmp_path / "routes.png", lambda partial: seen.append(partial.suffix) or partial.write_bytes(b"x"))
    assert seen == [".png"] and (tmp_path / "routes.png").read_bytes() == b"x"
