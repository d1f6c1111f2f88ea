"""Minimal simulation state shared with renderers and metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SimState:
    """Particle state at one instant: world positions (N,3) and velocities (N,3), SI units."""

    positions: np.ndarray
    velocities: np.ndarray

    @property
    def n(self) -> int:
        """Number of particles."""
        return int(self.positions.shape[0])
