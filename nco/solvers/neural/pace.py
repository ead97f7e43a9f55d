"""How much the network decodes before a deadline: the neural solver's pace, given to the policy
(:class:`nco.models.decoding.Pace`), which keeps no time itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from nco.clock import Deadline

PACE_EVERY = 4
"""Decoding steps between two checks that the rollouts will finish in time."""


@dataclass
class DeadlinePace:
    """Decodes the first image alone and then as many images as fit before ``deadline`` at the
    pace of those decoded; within a pass, rollouts whose pace would miss it go on with fewer
    starts (evenly spread). With ``abandon_if_late``, a pass that even one rollout per image
    would finish late is given up instead: for passes that only pay when they end in time (more
    sampling, re-solving a part of a solution), not for one whose solution is needed. One object
    per call of the policy: it remembers that call's pace.
    """

    deadline: Deadline
    abandon_if_late: bool = False
    _began: float | None = field(default=None, init=False)  # when the first image began
    _checked: float = field(default=0.0, init=False)  # the last pace check within a pass
    _checked_steps: int = field(default=0, init=False)

    def images(self, decoded: int, wanted: int) -> int:
        if not decoded:  # one image first, to learn the pace
            self._began = self.deadline.now()
            return min(1, wanted)
        now = self.deadline.now()
        return min(wanted, int((self.deadline.at - now) / ((now - self._began) / decoded)))

    def begin_images(self) -> None:
        self._checked, self._checked_steps = self.deadline.now(), 0

    def starts_to_keep(self, steps: int, served: int, num_customers: int, starts: int) -> int | None:
        if steps % PACE_EVERY:
            return None
        now = self.deadline.now()
        pace = (now - self._checked) / (steps - self._checked_steps)  # seconds per step since the last check
        self._checked, self._checked_steps = now, steps
        steps_left = (num_customers - served) * steps / max(served, 1) + 1
        # starts that fit if a step's time is proportional to them (small batches take longer)
        fit = starts * (self.deadline.at - now) / (pace * steps_left)
        if fit < 1 and self.abandon_if_late:
            return 0
        return max(1, int(fit))
