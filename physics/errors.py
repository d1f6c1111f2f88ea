"""Errors raised by the simulators."""

from __future__ import annotations


class SimulationDiverged(RuntimeError):
    """A simulation produced NaN/inf, a speed above the limit, or left the sanity box.

    Attributes:
        step: global substep index (0-based) at which the problem was first seen.
        reason: short human-readable cause, e.g. ``"NaN in positions"``.
        frame: frame index the substep belongs to (``step // substeps``), or -1 if unknown.
    """

    def __init__(self, step: int, reason: str, frame: int = -1) -> None:
        self.step = int(step)
        self.reason = str(reason)
        self.frame = int(frame)
        where = f"substep {self.step}" + (f" (frame {self.frame})" if self.frame >= 0 else "")
        super().__init__(f"simulation diverged at {where}: {self.reason}")

    def __reduce__(self):  # picklable across process pools
        return (SimulationDiverged, (self.step, self.reason, self.frame))
