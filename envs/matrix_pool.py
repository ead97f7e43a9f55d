"""A pool of real travel matrices to draw synthetic instances from.

Training on real road networks: each sampled instance takes ``N`` locations of one source
instance of the pool (uniformly, or clustered around a random location), slices its matrix and
keeps its real coordinates; :func:`nco.envs.generator.generate` then attaches the synthetic attributes
of variants.md to them, deriving time windows and limits from the sliced matrix.

Every sample is brought to model units by :func:`nco.envs.units.model_units`, the rule that
``nco solve`` applies to instance files, so training and solving see the same scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nco.envs.units import model_units


@dataclass
class MatrixPool:
    """Source instances: real coordinates and travel matrices (one matrix is both the distance
    and the travel time, as in the ORTEC data).

    Parameters
    ----------
    names
        One name per source instance.
    coords
        (m_i, 2) coordinates of each source.
    matrices
        (m_i, m_i) travel matrix of each source; may be asymmetric.
    clustered_share
        Share of sampled instances whose locations are the nearest ones (by travel from it) to
        a random location, instead of a uniform draw.
    """

    names: list[str]
    coords: list[np.ndarray]
    matrices: list[np.ndarray]
    clustered_share: float = 0.5

    def __post_init__(self):
        if not self.names:
            raise ValueError("the matrix pool is empty: give at least one source instance with a matrix")
        for name, coords, matrix in zip(self.names, self.coords, self.matrices, strict=True):
            if matrix.shape != (len(coords), len(coords)):
                raise ValueError(f"{name}: matrix {matrix.shape} does not match {len(coords)} coordinates")

    @property
    def smallest(self) -> int:
        """Locations of the smallest source: the most an instance can have."""
        return min(len(c) for c in self.coords)

    def split(self, test_share: float = 0.25, seed: int = 0) -> tuple[MatrixPool, MatrixPool]:
        """(train, test) pools with disjoint source instances, a seeded choice of
        ``ceil(test_share * sources)`` test sources (at least one each side)."""
        if len(self.names) < 2:
            raise ValueError(f"a pool of {len(self.names)} source(s) cannot be split: give at least two")
        order = np.random.default_rng(seed).permutation(len(self.names))
        num_test = min(max(1, math.ceil(test_share * len(self.names))), len(self.names) - 1)
        test, train = sorted(order[:num_test]), sorted(order[num_test:])

        def subset(indices) -> MatrixPool:
            return MatrixPool([self.names[i] for i in indices], [self.coords[i] for i in indices],
                              [self.matrices[i] for i in indices], self.clustered_share)

        return subset(train), subset(test)

    def sample(
        self, num_instances: int, num_locations: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Locations (B, N, 2) in the unit square and travel (B, N, N) in model units of
        ``num_instances`` draws of ``num_locations`` distinct locations; the source of each draw
        (B,) and its locations' indices in the source (B, N) say where they come from."""
        if num_locations > self.smallest:
            raise ValueError(
                f"{num_locations} locations asked but the smallest pool instance has {self.smallest}: "
                "sample fewer customers or leave the small sources out of the pool"
            )
        sources = torch.randint(len(self.names), (num_instances,), generator=generator).tolist()
        clustered = (torch.rand(num_instances, generator=generator) < self.clustered_share).tolist()
        locs, travel, chosen_locations = [], [], []
        for source, cluster in zip(sources, clustered):  # data sampling, once per batch
            coords, matrix = self.coords[source], self.matrices[source]
            noise = torch.rand(len(coords), generator=generator).numpy()
            if cluster:  # the nearest by travel from a random centre (noise breaks ties)
                centre = int(torch.randint(len(coords), (1,), generator=generator))
                score = matrix[centre] / max(float(matrix[centre].max()), 1e-9) + 1e-6 * noise
            else:
                score = noise
            chosen = np.argsort(score, kind="stable")[:num_locations]
            chosen = chosen[torch.randperm(num_locations, generator=generator).numpy()]  # depot: random
            unit, factor = model_units(coords[chosen], matrix[np.ix_(chosen, chosen)])
            locs.append(unit)
            travel.append(matrix[np.ix_(chosen, chosen)] / factor)
            chosen_locations.append(chosen)
        as_tensor = lambda arrays: torch.from_numpy(np.stack(arrays)).float()  # noqa: E731
        return as_tensor(locs), as_tensor(travel), torch.tensor(sources), torch.from_numpy(np.stack(chosen_locations))
