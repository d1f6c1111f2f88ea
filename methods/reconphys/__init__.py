"""ReconPhys at benchmark scale (see ``methods.reconphys.method``)."""
from methods.reconphys.method import ReconPhys

__all__ = ["ReconPhys"]
