"""MLS-MPM rollout engine: forward frames with divergence checks, per-frame checkpointed adjoint.

Memory: particle state (x, v, C, F) has S + 1 slots (one frame of substeps) plus one grid; the
forward pass keeps only frame-boundary checkpoints (T x N x 24 numbers). The backward pass
re-simulates one frame from its checkpoint, then walks its substeps in reverse, recomputing
each substep's grid (P2G + grid update) before calling ``g2p.grad``, ``grid_op.grad``,
``p2g.grad`` (the difftaichi MPM scheme). Exact gradients, memory O(T N + S N + grid).
Forward-only CPU rollouts replay each frame's launches as one taichi graph (physics/mpm/frame_graph.py) and
check a frame's substep slots in one pass after it. Every grid pass (forward, re-simulation, adjoint) visits
only the node box the substep's scatter reaches; the grid and its adjoints stay zero outside it, so no pass
fills the whole grid (the backward's per-substep fills were a quarter of its time).
"""

from __future__ import annotations

import os

import numpy as np

from physics.errors import SimulationDiverged
from physics.mpm import kernels as K
from physics.mpm.params import MPMParams, grid_geometry
from physics.mpm.runtime import ensure_taichi

State = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x, v, C, F


def p2g_mode(params: MPMParams) -> str:
    """The deterministic scatter a forward-only rollout uses: ``params.p2g``, "auto" = colored on CUDA, serial on
    the CPU (where the serial scatter is faster on few cores: 4.3 vs 8.9 ms a substep at 15 625 particles)."""
    if params.p2g != "auto":
        return params.p2g
    from physics.mpm.runtime import taichi_arch

    return "colored" if taichi_arch() == "cuda" else "serial"


class MPMEngine:
    """One configured particle set on one grid; ``forward`` / ``backward`` over frames."""

    def __init__(self, params: MPMParams, n: int, substeps: int, fps: float, n_controls: int = 0,
                 requires_grad: bool = False) -> None:
        ti = ensure_taichi()
        self.params = params
        self.k = K.get_kernels(params.precision, params.deterministic)
        self.np_dtype = np.float64 if params.precision == "float64" else np.float32
        real = self.k["real"]
        lo, dx, shape = grid_geometry(params)
        self.n, self.S, self.C = int(n), int(substeps), int(n_controls)
        self.dx, self.dt = dx, 1.0 / (float(fps) * self.S)
        self.shape = shape
        self.lo = self.k["vec3"](*lo.tolist())
        self.hi_m = lo + np.asarray(shape) * dx
        self.gmax = self.k["ivec3"](*[s - 3 for s in shape])
        self.gshape = self.k["ivec3"](*shape)
        self.gravity = self.k["vec3"](*[float(g) for g in params.gravity])
        self.ground = K.GROUND_CODE[params.ground]
        v3, m3 = ti.types.vector(3, real), ti.types.matrix(3, 3, real)
        g = bool(requires_grad)
        st = (self.S + 1, self.n)
        self.x, self.v = ti.ndarray(v3, st, needs_grad=g), ti.ndarray(v3, st, needs_grad=g)
        self.Cm, self.F = ti.ndarray(m3, st, needs_grad=g), ti.ndarray(m3, st, needs_grad=g)
        self.E, self.nu = ti.ndarray(real, (self.n,), needs_grad=g), ti.ndarray(real, (self.n,), needs_grad=g)
        self.vol, self.mass = ti.ndarray(real, (self.n,)), ti.ndarray(real, (self.n,))
        self.tau = ti.ndarray(m3, (self.n,), needs_grad=g)  # -dt V0 4/dx^2 P F^T of the substep
        self.ctrl_id = ti.ndarray(ti.i32, (self.n,))
        self.ctrl_v = ti.ndarray(v3, (max(self.C, 1),), needs_grad=g)
        self.grid_v = ti.ndarray(v3, shape, needs_grad=g)
        self.grid_m = ti.ndarray(real, shape, needs_grad=g)
        self.grid_vo = ti.ndarray(v3, shape, needs_grad=g)
        self.bx, self.bv = ti.ndarray(v3, (self.n,)), ti.ndarray(v3, (self.n,))
        self.bC, self.bF = ti.ndarray(m3, (self.n,)), ti.ndarray(m3, (self.n,))
        self.status = ti.ndarray(ti.i32, (3,))
        self.ctrl_id.from_numpy(np.full(self.n, -1, np.int32))
        self.ctrl_v.from_numpy(np.zeros((max(self.C, 1), 3), self.np_dtype))
        # forward only: the grid update zeroes the scatter grid as it reads it (no fill pass per substep) and G2P,
        # a gather, runs in parallel; deterministic + "colored" (the default on CUDA): the parallel order-fixed
        # scatter. With gradients the serial scatter and the separate fill stay (p2g.grad is the adjoint of them).
        self.forward_only = not g
        self._frame = None
        ivec = ti.types.vector(3, ti.i32)
        blocks = max(1, min(64, self.n // 256))  # particle blocks of active_box's first pass
        self.box_lo, self.box_hi = ti.ndarray(ivec, (blocks,)), ti.ndarray(ivec, (blocks,))
        self.box = ti.ndarray(ti.i32, (6,))
        self.colored = None
        self.g2p = self.k["g2p"]
        if self.forward_only:
            self.g2p = K.get_kernels(params.precision, serial=False)["g2p"]
            if params.deterministic and p2g_mode(params) == "colored":
                from physics.mpm.colored_p2g import ColoredScatter

                self.colored = ColoredScatter(params.precision, self.n, tuple(s - 3 for s in shape))

    # -- setup ------------------------------------------------------------------------------
    def set_material(self, E: np.ndarray, nu: np.ndarray, vol: np.ndarray, mass: np.ndarray) -> None:
        """Per-particle Young's modulus, Poisson ratio, rest volume (m^3) and mass (kg)."""
        for arr, val in ((self.E, E), (self.nu, nu), (self.vol, vol), (self.mass, mass)):
            arr.from_numpy(np.ascontiguousarray(val, dtype=self.np_dtype).reshape(self.n))

    def set_control_index(self, ctrl_id: np.ndarray) -> None:
        """(N,) control point followed by each particle, -1 = free."""
        self.ctrl_id.from_numpy(np.ascontiguousarray(ctrl_id, dtype=np.int32).reshape(self.n))

    def _set_ctrl_v(self, ctrl_vel: np.ndarray | None, f: int) -> None:
        if ctrl_vel is not None and self.C:
            self.ctrl_v.from_numpy(np.ascontiguousarray(ctrl_vel[f], dtype=self.np_dtype))

    def _put(self, s: int, state: State, grad: bool = False) -> None:
        for buf, a in zip((self.bx, self.bv, self.bC, self.bF), state):
            buf.from_numpy(np.ascontiguousarray(a, dtype=self.np_dtype))
        arrs = (self.x, self.v, self.Cm, self.F)
        if grad:
            arrs = tuple(a.grad for a in arrs)
        self.k["put_slot"](s, *arrs, self.bx, self.bv, self.bC, self.bF)

    def _get(self, s: int, grad: bool = False) -> State:
        arrs = (self.x, self.v, self.Cm, self.F)
        if grad:
            arrs = tuple(a.grad for a in arrs)
        self.k["get_slot"](s, *arrs, self.bx, self.bv, self.bC, self.bF)
        return tuple(b.to_numpy().astype(np.float64) for b in (self.bx, self.bv, self.bC, self.bF))  # type: ignore

    # -- one substep ------------------------------------------------------------------------
    def _grid(self, s: int, grad: bool = False) -> None:
        """Stress, scatter and grid update of substep s, over the node box the scatter reaches (the scatter grid
        is zero on entry). Forward: the update zeroes the scatter grid as it reads it. ``grad`` (the backward
        pass): the differentiable update, the scatter grid kept for the adjoints (``zero_box`` clears it after)."""
        k, p = self.k, self.params
        k["stress"](s, self.Cm, self.F, self.E, self.nu, self.vol, self.tau, self.dx, self.dt)
        p2g = k["p2g"] if grad else (self.colored or k["p2g"])
        p2g(s, self.x, self.v, self.Cm, self.tau, self.mass, self.grid_v, self.grid_m, self.lo, self.gmax, self.dx)
        k["active_box"](s, self.x, self.box_lo, self.box_hi, self.box, self.lo, self.gmax, self.dx)
        k["grid_op_box" if grad else "grid_op_clear"](
            self.grid_v, self.grid_m, self.grid_vo, self.box, self.gravity, self.lo, self.dx, self.dt,
            p.boundary_cells, self.ground, p.ground_height, p.friction)

    def _grid_whole(self, s: int) -> None:
        """The grid pass as it was before the box: fill the scatter grid, then update every node. Not used by
        the engine: the reference that tests/physics/test_mpm_scatter.py and perf/mpm.py's "previous" row
        compare the box-limited pass with (install it as ``engine._grid``)."""
        k, p = self.k, self.params
        self.grid_v.fill(0)
        self.grid_m.fill(0)
        k["stress"](s, self.Cm, self.F, self.E, self.nu, self.vol, self.tau, self.dx, self.dt)
        k["p2g"](s, self.x, self.v, self.Cm, self.tau, self.mass, self.grid_v, self.grid_m, self.lo, self.gmax,
                 self.dx)
        k["grid_op"](self.grid_v, self.grid_m, self.grid_vo, self.gravity, self.lo, self.dx, self.dt,
                     p.boundary_cells, self.ground, p.ground_height, p.friction)

    def _g2p_args(self, s: int) -> tuple:
        return (s, self.x, self.v, self.Cm, self.grid_vo, self.ctrl_id, self.ctrl_v,
                self.lo, self.gmax, self.dx, self.dt)

    def _substep(self, s: int) -> None:
        self._grid(s)
        self.g2p(*self._g2p_args(s))

    def _raise_if_bad(self, frame: int, state: State) -> None:
        code, step, p = (int(a) for a in self.status.to_numpy())
        bad = ~(np.isfinite(state[0]).all(1) & np.isfinite(state[1]).all(1))
        if bad.any():  # host-side too: taichi's fast math may fold the in-kernel NaN test away
            code |= K.ERR_NAN
            step, p = min(step, (frame + 1) * self.S - 1), max(p, int(np.flatnonzero(bad)[-1]))
        if code == 0:
            return
        why = []
        if code & K.ERR_NAN:
            why.append("NaN/inf in particle state")
        if code & K.ERR_SPEED:
            why.append(f"particle speed above max_speed={self.params.max_speed:g} m/s")
        if code & K.ERR_DOMAIN:
            why.append(f"particle left the simulation domain {np.round(self.params.domain_lo, 4).tolist()}"
                       f"..{np.round(self.hi_m, 4).tolist()} (m)")
        raise SimulationDiverged(step, "; ".join(why) + f" (particle index up to {p})", step // self.S)

    def _graph_frames(self) -> bool:
        """Forward-only CPU rollouts with the serial or atomics scatter replay each frame as one taichi graph
        (``PHYSRECON_MPM_GRAPH=0``: launch kernel by kernel; the same bytes)."""
        from physics.mpm.runtime import taichi_arch

        return (self.forward_only and self.colored is None and taichi_arch() == "cpu"
                and os.environ.get("PHYSRECON_MPM_GRAPH", "1") != "0")

    # -- rollouts ---------------------------------------------------------------------------
    def forward(self, x0: np.ndarray, v0: np.ndarray, n_frames: int, ctrl_vel: np.ndarray | None = None,
                check: bool = True) -> list[State]:
        """Simulate; returns the frame-boundary states [(x, v, C, F)] * n_frames (float64)."""
        eye = np.broadcast_to(np.eye(3), (self.n, 3, 3))
        state: State = (np.asarray(x0, np.float64), np.asarray(v0, np.float64), np.zeros((self.n, 3, 3)), eye)
        self._put(0, state)
        self.grid_v.fill(0)  # kept zero from here on by grid_op_clear
        self.grid_m.fill(0)
        out = [tuple(np.array(a) for a in state)]
        self.status.from_numpy(np.array([0, 2**31 - 1, -1], np.int32))
        for f in range(n_frames - 1):
            self._set_ctrl_v(ctrl_vel, f)
            if self._graph_frames():  # the frame's launches replayed from C++ (physics/mpm/frame_graph.py)
                if self._frame is None:
                    from physics.mpm.frame_graph import FrameGraph

                    self._frame = FrameGraph(self)
                self._frame.run()
            else:
                for s in range(self.S):
                    self._substep(s)
            if check:  # every substep's state of the frame is in its slot: one pass over them all
                self.k["check"](1, self.S + 1, f * self.S, self.x, self.v, self.lo, self.dx, self.gshape,
                                self.params.max_speed, self.status)
            state = self._get(self.S)
            if check:
                self._raise_if_bad(f, state)
            out.append(state)
            self.k["put_slot"](0, self.x, self.v, self.Cm, self.F, self.bx, self.bv, self.bC, self.bF)
        return out  # type: ignore[return-value]

    def backward(self, states: list[State], gx: np.ndarray, gv: np.ndarray,
                 ctrl_vel: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Adjoint of ``forward`` for loss gradients gx, gv (T, N, 3) on frame positions/velocities.

        Returns d loss / d {x0, v0 (N,3), E, nu (N,), ctrl (T-1, C, 3) control velocities}.
        """
        T = len(states)
        self.E.grad.fill(0)
        self.nu.grad.fill(0)
        zeros = np.zeros((self.n, 3, 3))
        adj = [np.array(gx[T - 1], np.float64), np.array(gv[T - 1], np.float64), zeros, zeros]
        g_ctrl = np.zeros((max(T - 1, 0), self.C, 3))
        for a in (self.grid_v, self.grid_m, self.grid_v.grad, self.grid_m.grad, self.grid_vo.grad):
            a.fill(0)  # kept zero from here on: each substep clears the box it wrote
        for f in reversed(range(T - 1)):
            self._put(0, states[f])
            self._set_ctrl_v(ctrl_vel, f)
            for s in range(self.S):
                self._substep(s)
            for a in (self.x, self.v, self.Cm, self.F, self.ctrl_v):
                a.grad.fill(0)
            self._put(self.S, tuple(adj), grad=True)  # type: ignore[arg-type]
            for s in reversed(range(self.S)):
                self.tau.grad.fill(0)
                self._grid(s, grad=True)
                self.k["g2p"].grad(*self._g2p_args(s))
                p = self.params
                self.k["grid_op_box"].grad(self.grid_v, self.grid_m, self.grid_vo, self.box, self.gravity, self.lo,
                                           self.dx, self.dt, p.boundary_cells, self.ground, p.ground_height,
                                           p.friction)
                self.k["p2g"].grad(s, self.x, self.v, self.Cm, self.tau, self.mass, self.grid_v, self.grid_m,
                                   self.lo, self.gmax, self.dx)
                self.k["stress"].grad(s, self.Cm, self.F, self.E, self.nu, self.vol, self.tau, self.dx, self.dt)
                self.k["zero_box"](self.box, self.grid_v, self.grid_m, self.grid_v.grad, self.grid_m.grad,
                                   self.grid_vo.grad)
            adj = list(self._get(0, grad=True))
            adj[0] = adj[0] + gx[f]
            adj[1] = adj[1] + gv[f]
            if self.C:
                g_ctrl[f] = self.ctrl_v.grad.to_numpy()[: self.C]
        return {"x0": adj[0], "v0": adj[1], "E": self.E.grad.to_numpy().astype(np.float64),
                "nu": self.nu.grad.to_numpy().astype(np.float64), "ctrl": g_ctrl}
