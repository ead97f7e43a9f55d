"""Variant names and their attribute flags.

A variant is named by the attributes that are on, in the order ``[MD][O]VRP[B|MB][L][TW]``
(``CVRP`` when none is). The rules of each attribute: the README's "The variants".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

BACKHAUL_NONE, BACKHAUL_STRICT, BACKHAUL_MIXED = 0, 1, 2
BACKHAUL_NAMES = {BACKHAUL_NONE: "", BACKHAUL_STRICT: "B", BACKHAUL_MIXED: "MB"}

_NAME_PATTERN = re.compile(r"^(MD)?(O)?VRP(MB|B)?(L)?(TW)?$")


@dataclass(frozen=True)
class Variant:
    """The attribute flags of one VRP variant.

    Parameters
    ----------
    multi_depot
        Several depots; every closed route returns to the depot it started from.
    open_route
        Routes end at their last customer (no return arc, no return constraint).
    backhaul
        ``BACKHAUL_NONE``, ``BACKHAUL_STRICT`` (linehaul before backhaul) or ``BACKHAUL_MIXED``.
    distance_limit
        Every route's travelled distance is limited.
    time_windows
        Customers have time windows and service times; closed routes return before the depot closes.
    """

    multi_depot: bool = False
    open_route: bool = False
    backhaul: int = BACKHAUL_NONE
    distance_limit: bool = False
    time_windows: bool = False

    @property
    def name(self) -> str:
        core = (
            ("MD" if self.multi_depot else "")
            + ("O" if self.open_route else "")
            + "VRP"
            + BACKHAUL_NAMES[self.backhaul]
            + ("L" if self.distance_limit else "")
            + ("TW" if self.time_windows else "")
        )
        return "CVRP" if core == "VRP" else ("MDCVRP" if core == "MDVRP" else core)

    @property
    def index(self) -> int:
        """A number in ``0..47``, unique per variant (see :func:`variant_index`)."""
        return variant_index(
            self.multi_depot, self.open_route, self.backhaul, self.distance_limit, self.time_windows
        )

    @classmethod
    def from_name(cls, name: str) -> Variant:
        """Parses a variant name such as ``"OVRPBLTW"`` or ``"MDCVRP"``."""
        key = re.sub(r"^(MD)?(O)?C(VRP)", r"\1\2\3", name.strip().upper())  # CVRPTW = VRPTW
        match = _NAME_PATTERN.match(key)
        if match is None:
            raise ValueError(
                f"unknown variant {name!r}: use a name of the form [MD][O]VRP[B|MB][L][TW] "
                f"such as CVRP, OVRPTW, VRPMBL or MDOVRPBLTW, or 'all16' / 'all48'"
            )
        md, open_, backhaul, limit, tw = match.groups()
        return cls(
            multi_depot=md is not None,
            open_route=open_ is not None,
            backhaul={None: BACKHAUL_NONE, "B": BACKHAUL_STRICT, "MB": BACKHAUL_MIXED}[backhaul],
            distance_limit=limit is not None,
            time_windows=tw is not None,
        )

    @classmethod
    def from_index(cls, index: int) -> Variant:
        return ALL48[index]


def has_time_windows(time_windows, service_time):
    """Whether an instance has time windows: a finite deadline, a positive start or a service time.
    Works on numpy arrays and tensors alike: ``time_windows`` (..., N, 2), ``service_time``
    (..., N) -> (...)."""
    return (
        (time_windows[..., 1] < float("inf")).any(-1)
        | (time_windows[..., 0] > 0).any(-1)
        | (service_time > 0).any(-1)
    )


def variant_index(multi_depot, open_route, backhaul, distance_limit, time_windows):
    """Index of a variant from its flags; works on Python values and on tensors alike."""
    return multi_depot * 24 + open_route * 12 + backhaul * 4 + distance_limit * 2 + time_windows


ALL48: tuple[Variant, ...] = tuple(
    Variant(bool(md), bool(o), b, bool(lim), bool(tw))
    for md, o, b, lim, tw in itertools.product((0, 1), (0, 1), (0, 1, 2), (0, 1), (0, 1))
)
assert all(v.index == i for i, v in enumerate(ALL48))

ALL16: tuple[Variant, ...] = tuple(
    v for v in ALL48 if not v.multi_depot and v.backhaul != BACKHAUL_MIXED
)


def resolve_variants(spec: str | Variant | list | tuple) -> list[Variant]:
    """Turns ``"all16"``, ``"all48"``, a variant name or a list of names into variants.

    Raises
    ------
    ValueError
        For an unknown name or an empty list.
    """
    if isinstance(spec, Variant):
        return [spec]
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "all16":
            return list(ALL16)
        if key == "all48":
            return list(ALL48)
        if "," in spec:
            return resolve_variants(spec.split(","))
        return [Variant.from_name(spec)]
    variants: list[Variant] = []
    for item in spec:
        for variant in resolve_variants(item):
            if variant not in variants:
                variants.append(variant)
    if not variants:
        raise ValueError("no variants given: name at least one, e.g. ['CVRP'] or 'all16'")
    return variants
