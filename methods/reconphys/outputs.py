"""Layout of the ReconPhys decoder's outputs (torch-free, so configs can be checked without torch)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

#: decoder output layout (raw logits before squashing; network.decode maps them into ``bounds``)
PARAM_NAMES = ("log10_stiffness", "log10_damping", "friction", "restitution", "log10_mass")
N_OUT = len(PARAM_NAMES)
#: mass is never searched: the dynamics identify K/m only (stage A keeps it at the range centre)
MASS_INDEX, MASS_U = PARAM_NAMES.index("log10_mass"), 0.5


def search_order(names: Iterable[str]) -> tuple[int, ...]:
    """Parameter names (mass excluded) -> their output indices, in search order; unknown names are errors."""
    names = list(names)
    bad = [n for n in names if n not in PARAM_NAMES[:MASS_INDEX]]
    if bad:
        raise ValueError(f"reconphys: unknown search parameters {bad}; use {', '.join(PARAM_NAMES[:MASS_INDEX])}")
    return tuple(PARAM_NAMES.index(n) for n in names)


def shifted_v0(v0, u_shift: float, axis: np.ndarray, span: float) -> np.ndarray:
    """v0 + s axis with s = (2 u_shift - 1) span (m/s)."""
    return (np.asarray(v0, np.float64) + (2.0 * float(u_shift) - 1.0) * float(span) * axis).astype(np.float32)
