"""PhysTwin's spring-mass twin: global parameters, topology, forward model and the stage-1 cost.

Physics (PhysTwin App. A, our ``physics.spring_mass`` with ``force_law="phystwin"``,
``ground_model="phystwin"``): Hooke springs per unit strain ``F = Y (|d|/l - 1) n``, an axial
dashpot, drag ``v <- v exp(-drag dt)``, impulse ground contact with restitution / friction, control
springs to control points. The dashpot is parameterised per unit strain rate, gamma_ij = zeta / l_ij,
so ``zeta`` is in the dataset's damping unit (N s per unit strain rate). Total mass is assumed known
(``total_mass_kg``, the benchmark's 1 kg): only Y / m is identifiable from motion.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from physics.spring_mass import (ControlDrive, SpringMassParams, attach_controls, drive_edges, drive_kwargs,
                                 radius_springs, recommend_substeps, simulate)

GRAVITY = (0.0, 0.0, -9.81)


@dataclass
class Globals:
    """The zero-order (CMA-ES) search space: topology + homogeneous physics."""

    radius: float  # spring connection radius (m)
    max_neighbors: int
    log10_Y: float  # homogeneous stiffness, N per unit strain
    log10_zeta: float  # dashpot, N s per unit strain rate
    drag: float  # 1/s
    friction: float
    restitution: float


# CMA-ES box: each entry (lo, hi); the radius is in units of the node spacing.
DEFAULT_BOUNDS = {
    "radius": (2.0, 4.0), "max_neighbors": (8, 30), "log10_Y": (0.5, 4.5), "log10_zeta": (-2.5, 1.0),
    "drag": (0.0, 1.0), "friction": (0.0, 1.5), "restitution": (0.0, 1.0),
}
ORDER = ("radius", "max_neighbors", "log10_Y", "log10_zeta", "drag", "friction", "restitution")


def decode(z: np.ndarray, bounds: dict, spacing: float) -> Globals:
    """Unit-cube CMA vector -> Globals (clipped)."""
    z = np.clip(np.asarray(z, np.float64), 0.0, 1.0)
    v = {k: bounds[k][0] + z[i] * (bounds[k][1] - bounds[k][0]) for i, k in enumerate(ORDER)}
    return Globals(radius=v["radius"] * spacing, max_neighbors=int(round(v["max_neighbors"])),
                   log10_Y=v["log10_Y"], log10_zeta=v["log10_zeta"], drag=v["drag"],
                   friction=v["friction"], restitution=v["restitution"])


def encode(g: Globals, bounds: dict, spacing: float) -> np.ndarray:
    vals = {**asdict(g), "radius": g.radius / spacing}
    return np.array([(vals[k] - bounds[k][0]) / (bounds[k][1] - bounds[k][0]) for k in ORDER]).clip(0, 1)


@dataclass
class Twin:
    """A fitted (or candidate) spring-mass twin: initial state, topology, per-spring parameters."""

    x0: np.ndarray  # (N,3) nodes at frame 0
    v0: np.ndarray  # (3,) or (N,3)
    edges: np.ndarray  # (S,2)
    rest: np.ndarray  # (S,)
    Y: np.ndarray  # (S,) N per unit strain
    zeta: float
    drag: float
    friction: float
    restitution: float
    total_mass: float = 1.0
    control_radius: float = 0.1
    control_max_neighbors: int = 8
    control_stiffness: float = 1e3
    globals: dict = field(default_factory=dict)

    def params(self) -> SpringMassParams:
        return SpringMassParams(
            force_law="phystwin", stiffness=np.asarray(self.Y, np.float64), stiffness_mode="spring",
            damping=self.zeta / np.asarray(self.rest, np.float64), dashpot_axial=True, drag=self.drag,
            total_mass=self.total_mass, ground_model="phystwin", ground_height=0.0,
            restitution=float(np.clip(self.restitution, 0, 1)), friction=max(float(self.friction), 0.0),
            control_stiffness=self.control_stiffness, max_speed=50.0, sanity_box=20.0)

    def substeps(self, fps: float, control_edges=None, max_substeps: int = 2000) -> int:
        s = recommend_substeps(self.edges, self.rest, self.params(), len(self.x0), fps, safety=0.7,
                               control_edges=control_edges)
        return int(min(s, max_substeps))

    def control_drive(self, controls: np.ndarray | None) -> ControlDrive | None:
        """Control springs of ``controls`` (T,C,3): radius + max neighbours around their frame-0 positions."""
        return attach_controls(controls, self.x0, self.control_radius, self.control_max_neighbors)

    def rollout(self, n_frames: int, fps: float, controls: np.ndarray | None = None,
                max_substeps: int = 2000) -> np.ndarray:
        """Node positions (T,N,3); ``controls`` (T,C,3) drive control springs (rest = initial distance)."""
        drive = self.control_drive(controls)
        S = self.substeps(fps, drive_edges(drive), max_substeps)
        res = simulate(self.x0, self.v0, self.edges, self.rest, self.params(), n_frames=n_frames, fps=fps,
                       substeps=S, gravity=GRAVITY, **drive_kwargs(drive))
        return res.positions


def build_twin(nodes: np.ndarray, v0: np.ndarray, g: Globals, total_mass: float, **kw) -> Twin:
    """Topology by radius + max neighbours (PhysTwin), homogeneous Y; isolated nodes get their nearest link."""
    edges, rest = radius_springs(nodes, g.radius, g.max_neighbors)
    if len(edges) == 0:
        raise ValueError("no springs: radius too small")
    return Twin(x0=nodes, v0=v0, edges=edges, rest=rest.astype(np.float64),
                Y=np.full(len(edges), 10.0 ** g.log10_Y), zeta=10.0 ** g.log10_zeta, drag=g.drag,
                friction=g.friction, restitution=g.restitution, total_mass=total_mass,
                globals=asdict(g), **kw)


class Cost:
    """Stage-1 cost of eq. 3: one-sided Chamfer (observed -> predicted) + tracking + acceleration term.

    At bench scale the nodes are far sparser than the paper's, so a node cloud cannot match a surface
    to better than the node spacing; predicted geometry is therefore the frame-0 observed surface
    embedded in the nodes: p_t = p_0 + sum_j w_j (x_j^t - x_j^0), IDW weights of its ``k`` nearest
    nodes (linear in the node positions, exact at frame 0 and for translations).
    ``clouds``: per observed frame a subsample of the fused partial depth cloud (frame 0 is the
    embedded surface). ``tracks`` (T,K,3) lifted tracks with visibility (T,K); a track visible at
    frame 0 is embedded the same way (``k = 1``: the nearest node, as the paper). The acceleration
    term is a smooth-L1 on the change of node acceleration between frames (temporal smoothness).
    """

    def __init__(self, clouds, tracks, vis, nodes0, w_chamfer=1.0, w_track=1.0, w_acc=0.01, k=4):
        from physics.binding import idw_binding

        self.T = len(clouds)
        self.clouds = clouds
        k = int(min(k, len(nodes0)))
        self.s_idx, self.s_w = idw_binding(clouds[0], nodes0, k=k)
        ok0 = vis[0]
        self.tr = np.nan_to_num(tracks[:, ok0])
        self.vis = vis[:, ok0]
        self.t_idx, self.t_w = idw_binding(self.tr[0], nodes0, k=k) if ok0.any() else (np.zeros((0, k), np.int64), None)
        self.w = (w_chamfer, w_track, w_acc)

    def numpy(self, xs: np.ndarray) -> float:
        from scipy.spatial import cKDTree

        T = min(self.T, xs.shape[0])
        surf = self.clouds[0][None] + (self.s_w[None, ..., None] * (xs[:T, self.s_idx] - xs[:1, self.s_idx])).sum(-2)
        ch = np.mean([cKDTree(surf[t]).query(self.clouds[t])[0].mean() for t in range(T)])
        tr = 0.0
        if len(self.t_idx):
            pred = (self.t_w[None, ..., None] * xs[:T, self.t_idx]).sum(-2)
            err = np.linalg.norm(pred - pred[:1] + self.tr[:1] - self.tr[:T], axis=-1)
            tr = float((err * self.vis[:T]).sum() / max(self.vis[:T].sum(), 1))
        acc = 0.0
        if T >= 4:
            a = xs[2:T] - 2 * xs[1:T - 1] + xs[:T - 2]
            acc = float(_smooth_l1_np(a[1:] - a[:-1]).mean())
        return float(self.w[0] * ch + self.w[1] * tr + self.w[2] * acc)

    def torch(self, xs):
        import torch

        T = min(self.T, xs.shape[0])
        sw = torch.as_tensor(self.s_w, dtype=xs.dtype)
        si = torch.as_tensor(self.s_idx)
        surf = torch.as_tensor(self.clouds[0], dtype=xs.dtype)[None] + (sw[None, ..., None] * (xs[:T, si] - xs[:1, si])).sum(-2)
        ch = torch.stack([torch.cdist(torch.as_tensor(self.clouds[t], dtype=xs.dtype), surf[t]).min(1).values.mean()
                          for t in range(T)]).mean()
        loss = self.w[0] * ch
        if len(self.t_idx):
            tw = torch.as_tensor(self.t_w, dtype=xs.dtype)
            pred = (tw[None, ..., None] * xs[:T, torch.as_tensor(self.t_idx)]).sum(-2)
            tr = torch.as_tensor(self.tr[:T], dtype=xs.dtype)
            err = (pred - pred[:1] + tr[:1] - tr).norm(dim=-1)
            vis = torch.as_tensor(self.vis[:T], dtype=xs.dtype)
            loss = loss + self.w[1] * (err * vis).sum() / vis.sum().clamp(min=1)
        if T >= 4:
            a = xs[2:T] - 2 * xs[1:T - 1] + xs[:T - 2]
            loss = loss + self.w[2] * torch.nn.functional.smooth_l1_loss(a[1:], a[:-1], beta=1e-3, reduction="mean")
        return loss


def _smooth_l1_np(d: np.ndarray, beta: float = 1e-3) -> np.ndarray:
    ad = np.abs(d)
    return np.where(ad < beta, 0.5 * ad * ad / beta, ad - 0.5 * beta)

