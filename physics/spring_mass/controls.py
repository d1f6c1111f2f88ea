"""Control springs shared by every spring-mass method that can be driven by control points.

Convention (PhysTwin App. A, the datasets' GT interaction model): at the first frame of a rollout each
control point is tied to the simulation nodes within ``radius`` of it (at most ``max_neighbors``,
nearest first) by a Hooke spring of stiffness ``SpringMassParams.control_stiffness`` (N/m) whose rest
length is that initial distance; the engine interpolates the control positions linearly inside each
frame. A control point with no node in range is tied to its single nearest node (``nearest_fallback``)
so that a queried interaction never silently does nothing.

:func:`attach_controls` builds a :class:`ControlDrive` (trajectory + control springs + rest lengths)
once; :meth:`ControlDrive.rollout_kwargs` gives the keyword arguments of ``simulate`` /
``rollout_torch`` for the whole trajectory or for a window of it (chunked rollouts keep the frame-0
rest lengths, so a chunk started from a simulated state is the same dynamics as one long rollout).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from physics.spring_mass.topology import control_springs


@dataclass(frozen=True)
class ControlDrive:
    """A control trajectory attached to a node set: what the engine needs to follow it."""

    controls: np.ndarray  # (T, C, 3) float64 control-point positions per frame
    edges: np.ndarray  # (E, 2) int32 rows (control index, node index)
    rest: np.ndarray  # (E,) float64 rest lengths = distances at the first frame

    def rollout_kwargs(self, start: int = 0, stop: int | None = None) -> dict[str, Any]:
        """``controls`` / ``control_edges`` / ``control_rest`` for frames ``start..stop-1`` of the trajectory."""
        return {"controls": self.controls[start:stop], "control_edges": self.edges, "control_rest": self.rest}


def attach_controls(controls: np.ndarray | None, x0: np.ndarray, radius: float, max_neighbors: int,
                    nearest_fallback: bool = True) -> ControlDrive | None:
    """Attach control points (their positions at ``controls[0]``) to the nodes ``x0`` (N, 3).

    Returns None without controls (free fall) or when no spring could be made (no nodes).
    """
    if controls is None:
        return None
    c = np.asarray(controls, np.float64)
    if c.ndim != 3 or c.shape[-1] != 3:
        raise ValueError(f"controls must be (T, C, 3), got {c.shape}")
    x = np.asarray(x0, np.float64).reshape(-1, 3)
    if c.shape[1] == 0 or x.shape[0] == 0:
        return None
    edges, _ = control_springs(c[0], x, float(radius), int(max_neighbors))
    if nearest_fallback:
        from scipy.spatial import cKDTree

        lonely = np.setdiff1d(np.arange(c.shape[1]), edges[:, 0])
        if lonely.size:
            near = cKDTree(x).query(c[0][lonely])[1]
            extra = np.stack([lonely, np.asarray(near).reshape(-1)], axis=1)
            edges = np.concatenate([edges, extra]).astype(np.int32)
            edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]
    if len(edges) == 0:
        return None
    rest = np.linalg.norm(x[edges[:, 1]] - c[0][edges[:, 0]], axis=1)
    return ControlDrive(controls=c, edges=np.ascontiguousarray(edges, np.int32), rest=rest)


def drive_kwargs(drive: ControlDrive | None, start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """:meth:`ControlDrive.rollout_kwargs`, or no keyword arguments at all for a free rollout."""
    return {} if drive is None else drive.rollout_kwargs(start, stop)


def drive_edges(drive: ControlDrive | None) -> np.ndarray | None:
    """The control springs for substep estimates (``recommend_substeps(..., control_edges=...)``)."""
    return None if drive is None else drive.edges
