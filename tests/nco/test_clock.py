from nco.clock import Deadline, SteppingClock, now


def test_a_stepping_clock_advances_only_when_read():
    clock = SteppingClock(step=0.5)
    assert [clock(), clock(), clock()] == [0.5, 1.0, 1.5]


def test_a_deadline_counts_down_on_its_own_clock():
    clock = SteppingClock(step=1.0)
    deadline = Deadline.after(3.0, clock)  # read once: at = 1 + 3
    assert deadline.at == 4.0
    assert deadline.left() == 2.0  # the clock reads 2
    assert deadline.now() == 3.0
    assert deadline.left() == 0.0
    assert deadline.left() == -1.0  # passed: negative
    assert now(deadline) == 6.0


def test_without_a_deadline_now_is_the_wall_clock():
    first = now(None)
    assert now(None) >= first
