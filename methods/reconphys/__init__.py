"""ReconPhys at benchmark scale (see ``methods.reconphys.method``)."""
from methods.reconphys.method import DEFAULTS, ReconPhys

__all__ = ["DEFAULTS", "ReconPhys"]
