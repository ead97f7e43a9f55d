import platform

import pytest

from nco.memory import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_glibc_accepts_the_thresholds():
    assert keep_freed_memory() is True
