"""The neural solver's use of a time limit: decode, then polish with PyVRP or re-construct.

Without a time limit the network decodes once (greedy multi-start, ``samples`` sampling passes);
an instance of more than :data:`~nco.solvers.neural.reconstruct.DECODE_WHOLE_UP_TO` customers
without ``samples`` is decoded whole once, in one image with fewer starts (up to
:data:`~nco.solvers.neural.reconstruct.START_DECODED_UP_TO` customers and for every fleet; above,
from one route per customer), and the network then solves neighbourhoods of its routes again, once
(a fleet's neighbourhoods keep its counts). With a time limit it searches as
:class:`~nco.solvers.neural.params.NeuralParams`' ``search`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from nco.checkpoints import shipped_checkpoint
from nco.clock import Deadline
from nco.envs.instance import Instance
from nco.solvers import pyvrp
from nco.solvers.base import Routes, judged_rank
from nco.solvers.classical import memory_shortfall
from nco.solvers.neural import decode, reconstruct  # modules: their thresholds are read at every call
from nco.solvers.neural.model import load_model
from nco.solvers.neural.params import NeuralParams

DEFAULT_SEARCH = "polish"
POLISH_SETUP_SECONDS_PER_PAIR = 2.2e-7
"""The polish's set-up time (PyVRP's data and neighbourhoods) per pair of locations on a 2-core
CPU (measured: docs/constants.md): the default search polishes only where that set-up fits in
:data:`POLISH_SETUP_SHARE` of the polish's time, and re-constructs elsewhere."""
POLISH_SETUP_SHARE = 0.8
"""Share of the polish's time that PyVRP's expected set-up may take (above)."""


@dataclass(frozen=True)
class NeuralSolver:
    """The trained policy, searching as ``params`` say (a :class:`nco.solvers.base.Solver`)."""

    params: NeuralParams = NeuralParams()

    def __call__(self, instance: Instance, deadline: Deadline | None, seed: int,
                 progress: bool = False) -> Routes:
        params, augment = self.params, self.params.augment
        large = instance.num_customers > reconstruct.DECODE_WHOLE_UP_TO
        fleet = instance.vehicle_types is not None  # re-constructed from decoded routes, never from singletons
        time_limit = None if deadline is None else deadline.left()  # before the model loads: its time counts
        params.check_time_limit(time_limit)
        model = load_model(params.checkpoint if params.checkpoint is not None else shipped_checkpoint(instance),
                           params.device)
        generator = torch.Generator(model.device).manual_seed(seed)
        max_starts = reconstruct.WHOLE_DECODING_STARTS if large else None
        if deadline is None:
            if large and not params.samples:  # one round of neighbourhoods
                decoded = fleet or instance.num_customers <= reconstruct.START_DECODED_UP_TO
                start = decode.solve_instance(model, instance, False, 0, generator=generator, max_starts=max_starts,
                                              progress=progress) if decoded else None
                return reconstruct.reconstruct(model, instance, start, None, generator, augment, progress=progress)
            return decode.solve_instance(model, instance, augment, params.samples, generator=generator,
                                         max_starts=max_starts, progress=progress)
        search = self._search(instance, time_limit)
        network_deadline = Deadline(deadline.at - (1 - params.network_share) * time_limit, deadline.clock)
        if search == "sampling":
            routes = decode.solve_instance(model, instance, augment, None, generator=generator, deadline=deadline,
                                           max_starts=max_starts, progress=progress)
        elif large:  # decomposed into neighbourhoods, not decoded whole (a fleet: from one image decoded whole)
            start = decode.solve_instance(model, instance, False, 0, generator=generator, max_starts=max_starts,
                                          deadline=network_deadline, progress=progress) if fleet else None
            routes = reconstruct.reconstruct(model, instance, start,
                                             deadline if search == "reconstruct" else network_deadline,
                                             generator, augment, progress=progress)
        else:  # greedy decoding of the images that fit in the network's share, then the search
            routes = decode.solve_instance(model, instance, augment, 0, generator=generator, progress=progress,
                                           deadline=network_deadline)
            if search == "reconstruct":
                routes = reconstruct.reconstruct(model, instance, routes, deadline, generator, augment,
                                                 progress=progress)
        if search == "polish" and deadline.left() > 0:
            polished = pyvrp.solve(instance, deadline.left(), seed, initial_routes=routes)
            if polished is not None:
                routes = min(routes, polished, key=partial(judged_rank, instance))
        return routes

    def _search(self, instance: Instance, time_limit: float) -> str:
        """The search to run for ``time_limit`` seconds: the one asked for, else the polish unless
        PyVRP's matrices or its set-up would not fit (then the re-construction)."""
        search = self.params.search
        if search is None:
            setup = POLISH_SETUP_SECONDS_PER_PAIR * instance.num_locations**2
            fits = setup <= POLISH_SETUP_SHARE * (1 - self.params.network_share) * time_limit
            if fits and not memory_shortfall("pyvrp", instance):
                return DEFAULT_SEARCH
            return "reconstruct"
        if search == "polish" and (shortfall := memory_shortfall("pyvrp", instance)):
            raise ValueError(f"the polish runs PyVRP: {shortfall}: use the reconstruct search (--search reconstruct), "
                             "or a machine with more memory")
        return search
