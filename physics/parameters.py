"""Facts about the physical parameters every simulator shares (names, scales)."""
from __future__ import annotations

#: Parameters that span orders of magnitude: averaged (train_mean) and also scored in log10 space.
LOG_SCALE_PARAMS: tuple[str, ...] = ("stiffness", "youngs_modulus", "E", "k", "Y")
