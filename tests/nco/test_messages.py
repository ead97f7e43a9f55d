"""One-line messages from exceptions."""

from nco.messages import first_line


def test_messages_of_errors_without_text_do_not_raise():
    assert first_line(MemoryError()) == "MemoryError"
    assert first_line(ValueError("first\nsecond")) == "first"
