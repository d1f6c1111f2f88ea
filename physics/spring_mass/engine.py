"""Warp rollout engine: forward frames, divergence checks, per-frame checkpointed adjoint.

Memory of the backward pass: frame states (T x N x 3, positions and velocities) are stored by
the forward pass; the backward pass re-simulates one frame at a time and propagates the adjoint frame
by frame ("checkpointing per frame", exact gradients). The default adjoint (``adjoint="graph"``,
physics/spring_mass/adjoint.py) keeps 3 (substeps + 1) N vectors; warp's tape (``adjoint="tape"``) keeps
``substeps + 1`` state buffers and ``substeps`` spring-force and particle-force buffers. A forward run with
``keep=True`` (a differentiable rollout) keeps the substep states of its last frames, up to ``keep_bytes``,
so that the backward does not simulate those frames again.
"""

from __future__ import annotations

import numpy as np
import warp as wp

from physics.errors import SimulationDiverged
from physics.spring_mass import kernels as K
from physics.spring_mass.parallel import default_threads
from physics.spring_mass.params import SpringMassParams, particle_masses

_LAW = {"spring_gaus": K.LAW_SPRING_GAUS, "phystwin": K.LAW_PHYSTWIN}
#: how ``Engine.forward`` issues substeps (same bytes in each): captured frame graph, fused launches, tape kernels
FORWARD_MODES = ("graph", "fused", "tape")
#: how ``Engine.backward`` runs the adjoint: hand-written kernels replayed as graphs, or warp's tape
ADJOINT_MODES = ("graph", "tape")
#: springs / particles per launch index of the forward-only block kernels (CPU per-index setup amortised)
_CHUNK = 64
_GROUND = {"none": K.GROUND_NONE, "spring_gaus": K.GROUND_SPRING_GAUS, "phystwin": K.GROUND_PHYSTWIN}


def _csr(n: int, rows: np.ndarray, payload: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group entries by particle (stable) -> offsets (n+1,) and the reordered payload arrays."""
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n) if rows.size else np.zeros(n, np.int64)
    offsets = np.zeros(n + 1, np.int32)
    offsets[1:] = np.cumsum(counts)
    return offsets, [p[order] for p in payload]


class Engine:
    """One configured spring-mass system; ``forward`` and ``backward`` over ``n_frames`` frames."""

    def __init__(
        self, x0: np.ndarray, edges: np.ndarray, rest: np.ndarray, params: SpringMassParams,
        n_frames: int, fps: float, substeps: int, gravity, controls: np.ndarray | None,
        control_edges: np.ndarray | None, device: str = "cpu", precision: str = "float32",
        control_rest: np.ndarray | None = None, mode: str = "graph",
        threads: int | None = None, adjoint: str = "graph", keep_bytes: int = 1 << 30,
        native: bool | None = None,
    ) -> None:
        self.kern = K.get_kernels(precision)
        self.np_dtype = np.float32 if precision == "float32" else np.float64
        self.vec3, self.scalar = self.kern["vec3"], self.kern["scalar"]
        self.device = device
        self.params = params
        self.n = int(x0.shape[0])
        self.edges = np.ascontiguousarray(edges, dtype=np.int32).reshape(-1, 2)
        self.s = int(self.edges.shape[0])
        self.T, self.S = int(n_frames), int(substeps)
        self.dt = 1.0 / (float(fps) * self.S)
        self.gravity = self.vec3(*[float(g) for g in gravity])
        self.center = np.asarray(x0, np.float64).mean(axis=0) if self.n else np.zeros(3)
        self.mass = particle_masses(params, self.n)
        self.rest = np.asarray(rest, np.float64).reshape(-1)
        if self.rest.shape[0] != self.s:
            raise ValueError("rest must have one entry per spring")
        self.law = _LAW[params.force_law]
        self.ground = _GROUND[params.ground_model]

        arr = lambda a, dt=None, rg=False: wp.array(  # noqa: E731
            np.ascontiguousarray(a), dtype=dt or self.scalar, device=device, requires_grad=rg)
        self.w_edges = wp.array(self.edges if self.s else np.zeros((1, 2), np.int32), dtype=wp.int32, device=device)
        self.w_rest = arr(self.rest.astype(self.np_dtype) if self.s else np.ones(1, self.np_dtype))
        rows = np.concatenate([self.edges[:, 0], self.edges[:, 1]]).astype(np.int64)
        sid = np.concatenate([np.arange(self.s), np.arange(self.s)]).astype(np.int32)
        offs, (sid, entry) = _csr(self.n, rows, [sid, np.arange(rows.size, dtype=np.int32)])
        # CSR per particle: first the springs where it is endpoint 0 (force as computed), from mids[i] on
        # those where it is endpoint 1 (the opposite); a stable sort keeps each run in spring order
        mids = offs[:-1] + (np.bincount(self.edges[:, 0], minlength=self.n) if self.s else 0)
        self.w_offsets = wp.array(offs, dtype=wp.int32, device=device)
        self.w_mids = wp.array(np.ascontiguousarray(mids, np.int32), dtype=wp.int32, device=device)
        self.w_adj = wp.array(sid if sid.size else np.zeros(1, np.int32), dtype=wp.int32, device=device)
        # each spring's two CSR positions (as endpoint 0, as endpoint 1): where a spring pass can write a per-spring
        # value so that each particle then reads its list contiguously (the hand-written adjoint, adjoint.py)
        slot = np.empty(rows.size, np.int32)
        slot[entry] = np.arange(rows.size, dtype=np.int32)
        self.w_slots = wp.array(slot.reshape(2, -1).T.copy() if self.s else np.zeros((1, 2), np.int32),
                                dtype=wp.int32, device=device)
        self.w_mass = arr(self.mass.astype(self.np_dtype))

        # control springs: rows (control, particle); rest = initial distance unless ``control_rest`` is given
        # (a rollout chunk that starts from a simulated state keeps the rest lengths of the first frame)
        ce = np.zeros((0, 2), np.int32) if control_edges is None else np.asarray(control_edges, np.int64).reshape(-1, 2)
        self.controls = None
        if controls is not None and ce.shape[0]:
            c = np.asarray(controls, np.float64)
            if c.shape[0] != self.T:
                raise ValueError(f"controls have {c.shape[0]} frames, expected n_frames={self.T}")
            self.controls = [wp.array(c[t].astype(self.np_dtype), dtype=self.vec3, device=device) for t in range(self.T)]
            c_rest = (np.linalg.norm(np.asarray(x0, np.float64)[ce[:, 1]] - c[0][ce[:, 0]], axis=1)
                      if control_rest is None else np.asarray(control_rest, np.float64).reshape(-1))
            if c_rest.shape[0] != ce.shape[0]:
                raise ValueError("control_rest must have one entry per control spring")
            coffs, (cc, cr) = _csr(self.n, ce[:, 1], [ce[:, 0].astype(np.int32), c_rest.astype(self.np_dtype)])
        else:
            ce = np.zeros((0, 2), np.int32)
            coffs, cc, cr = np.zeros(self.n + 1, np.int32), np.zeros(1, np.int32), np.zeros(1, self.np_dtype)
        self.control_edges = ce
        self.w_coffs = wp.array(coffs, dtype=wp.int32, device=device)
        self.w_cctrl = wp.array(cc if cc.size else np.zeros(1, np.int32), dtype=wp.int32, device=device)
        self.w_crest = arr(cr if cr.size else np.zeros(1, self.np_dtype))
        self.w_dummy_ctrl = wp.zeros(1, dtype=self.vec3, device=device)
        if mode not in FORWARD_MODES:
            raise ValueError(f"mode must be one of {FORWARD_MODES}, got {mode!r}")
        self.mode = mode
        if adjoint not in ADJOINT_MODES:
            raise ValueError(f"adjoint must be one of {ADJOINT_MODES}, got {adjoint!r}")
        self.adjoint = adjoint
        self.keep_bytes = int(keep_bytes)
        self._adjoint = None
        self._grad_bufs = None
        self._fwd_bufs = None
        self._replay = None
        cpu = wp.get_device(device).is_cpu
        self._chunk = _CHUNK if cpu else 1  # a GPU wants one element per thread
        # forward-only passes in C++ vector lanes (physics/spring_mass/native_kernels.py; same bytes): CPU, Hooke laws
        usable = cpu and float(params.p_k) == 0.0
        if native and not usable:
            raise ValueError("native kernels need a CPU device and p_k == 0")
        self.native = usable if native is None else bool(native)
        if self.native:
            from physics.spring_mass.native_kernels import get_native_kernels

            self.kern = {**self.kern, **get_native_kernels(precision)}
        self.threads = default_threads() if threads is None else max(1, int(threads))

    # ---------------------------------------------------------------- parameters
    def set_params(self, k_spring: np.ndarray, c_spring: np.ndarray, friction: float, restitution: float) -> None:
        """Upload per-spring stiffness/damping and the contact coefficients (float64 host values).

        Later calls write into the same arrays, so a captured frame graph stays valid."""
        one = np.ones(1)
        values = {"w_k": k_spring if self.s else one, "w_c": c_spring if self.s else one * 0,
                  "w_mu": np.array([max(float(friction), 0.0)]),
                  "w_e": np.array([min(max(float(restitution), 0.0), 1.0)])}
        first = not hasattr(self, "w_k")
        for name, a in values.items():
            if first:
                setattr(self, name, wp.array(np.ascontiguousarray(a, dtype=self.np_dtype), dtype=self.scalar,
                                             device=self.device, requires_grad=True))
            else:
                w = getattr(self, name)
                w.assign(np.ascontiguousarray(np.broadcast_to(a, w.shape), dtype=self.np_dtype))
        if first:
            self.w_kl = wp.zeros_like(self.w_k, requires_grad=False)
            self.w_ceff = wp.zeros_like(self.w_c, requires_grad=False)
        if self.s:  # k / l0 and c / l0 once per upload, for the forward-only block kernels
            wp.launch(self.kern["per_length"], dim=self.s, device=self.device,
                      inputs=[self.w_k, self.w_c, self.w_rest, self.law, self.w_kl, self.w_ceff])
        if getattr(self, "_adjoint", None) is not None:
            self._adjoint.forget()  # states kept by a forward belong to the old parameters

    # ---------------------------------------------------------------- stepping
    def _substep(self, t: int, s: int, x, v, f, g, x_out, v_out, fused: bool = False, ctrl=None,
                 springs: tuple[int, int] | None = None, particles: tuple[int, int] | None = None,
                 sync=None) -> None:
        """One substep: spring forces (per spring), their per-particle sums + control springs, integration.

        ``fused`` (forward only) sums and integrates in one launch; same arithmetic, same bytes. ``ctrl``
        replaces this frame's two control arrays (the staging buffers a captured graph reads). ``springs`` /
        ``particles`` restrict the launches to [start, stop) shares and ``sync(index)`` is issued after each
        pass (the multi-threaded replay, physics/spring_mass/parallel.py)."""
        p, kern = self.params, self.kern
        s0, s1 = springs if springs is not None else (0, self.s)
        n0, n1 = particles if particles is not None else (0, self.n)
        spring_args = [x, v, self.w_edges, self.w_rest, self.w_k, self.w_c, float(p.p_k), self.law,
                       int(bool(p.dashpot_axial)), f]
        if s1 > s0:
            if fused:
                wp.launch(kern["spring_simd" if self.native else "spring_block"], dim=-(-(s1 - s0) // self._chunk),
                          device=self.device,
                          inputs=[s0, s1, self._chunk] + spring_args[:4] + [self.w_kl, self.w_ceff] + spring_args[6:])
            else:
                wp.launch(kern["spring_forces"], dim=self.s, device=self.device, inputs=spring_args)
        if sync is not None:
            sync(2 * s)
        if ctrl is not None:
            c0, c1 = ctrl
        else:
            c0 = self.controls[t] if self.controls is not None else self.w_dummy_ctrl
            c1 = self.controls[t + 1] if self.controls is not None else self.w_dummy_ctrl
        gather = [x, f, self.w_offsets, self.w_adj, self.w_mids, self.w_coffs, self.w_cctrl, self.w_crest, c0, c1,
                  float(s + 1) / self.S, float(p.control_stiffness)]
        step = [self.w_mass, self.gravity, self.dt, float(p.drag), self.ground, float(p.ground_height),
                self.w_e, self.w_mu, x_out, v_out]
        if fused:
            if n1 > n0:
                wp.launch(kern["particle_native" if self.native else "particle_block"],
                          dim=-(-(n1 - n0) // self._chunk), device=self.device,
                          inputs=[n0, n1, self._chunk, x, v] + gather[1:] + step + [g])
            if sync is not None:
                sync(2 * s + 1)
            return
        wp.launch(kern["gather_forces"], dim=self.n, device=self.device, inputs=gather + [g])
        wp.launch(kern["integrate"], dim=self.n, device=self.device, inputs=[x, v, g] + step)

    def _frame_replay(self, X, V, F, G):
        """One frame's substeps captured as graphs (CPU: warp's C++ replay, on ``self.threads`` threads;
        CUDA: a CUDA graph); they read the control staging buffers ``self._ctrl``."""
        from physics.spring_mass.parallel import FrameReplay

        if self.controls is not None:
            self._ctrl = (wp.zeros_like(self.controls[0]), wp.zeros_like(self.controls[0]))
        else:
            self._ctrl = (self.w_dummy_ctrl, self.w_dummy_ctrl)
        return FrameReplay(self, X, V, F, G, self._ctrl, self.threads)

    def _bufs(self, count: int, grad: bool) -> tuple[list, list, list, list]:
        """``count`` position / velocity / spring-force / particle-force buffers."""
        mk = lambda m: [wp.zeros(m, dtype=self.vec3, device=self.device, requires_grad=grad) for _ in range(count)]  # noqa: E731
        return mk(self.n), mk(self.n), mk(max(self.s, 1)), mk(self.n)

    def _check(self, x: np.ndarray, v: np.ndarray) -> str | None:
        """Reason string if the state is not sane, else None."""
        if not np.all(np.isfinite(x)):
            return "NaN/inf in positions"
        if not np.all(np.isfinite(v)):
            return "NaN/inf in velocities"
        speed = float(np.sqrt((v.astype(np.float64) ** 2).sum(axis=1)).max()) if v.size else 0.0
        if speed > self.params.max_speed:
            return f"speed {speed:.3g} m/s exceeds max_speed {self.params.max_speed:g} m/s"
        far = float(np.abs(x.astype(np.float64) - self.center).max()) if x.size else 0.0
        if far > self.params.sanity_box:
            return f"particle {far:.3g} m from the initial centroid exceeds sanity_box {self.params.sanity_box:g} m"
        return None

    def _locate(self, t: int, x: np.ndarray, v: np.ndarray) -> SimulationDiverged:
        """Re-run frame t one substep at a time to find the first bad substep."""
        X, V, F, G = self._bufs(2, False)
        X[0].assign(x.astype(self.np_dtype))
        V[0].assign(v.astype(self.np_dtype))
        for s in range(self.S):
            a, b = s % 2, (s + 1) % 2
            self._substep(t, s, X[a], V[a], F[0], G[0], X[b], V[b])
            reason = self._check(X[b].numpy(), V[b].numpy())
            if reason is not None:
                return SimulationDiverged(t * self.S + s, reason, t + 1)
        return SimulationDiverged(t * self.S + self.S - 1, "unsane state at frame end", t + 1)

    def _frame_adjoint(self):
        if self._adjoint is None:
            from physics.spring_mass.adjoint import FrameAdjoint

            self._adjoint = FrameAdjoint(self, self.threads)
        return self._adjoint

    def _kept_from(self, keep: bool) -> int:
        """First frame that a ``keep`` forward runs through the adjoint's recording graph (T - 1: none)."""
        if not keep or self.adjoint != "graph" or self.T < 2:
            return self.T - 1
        adj = self._frame_adjoint()
        copies = min(self.T - 2, self.keep_bytes // max(adj.frame_bytes(), 1))  # the last frame stays resident
        return self.T - 2 - copies

    def forward(self, x0: np.ndarray, v0: np.ndarray, keep: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Frames (T,N,3) of positions and velocities in the engine precision.

        ``self.mode`` picks how the substeps are issued (FORWARD_MODES): "graph" replays one captured
        frame (no per-launch Python cost), "fused" launches the two forward kernels per substep, "tape"
        the three that ``backward`` records. All three give the same bytes (tests/physics). ``keep`` (a
        forward that ``backward`` will follow, graph adjoint): the last frames run through the adjoint's
        recording graph (the same bytes) and their substep states are kept for ``backward``."""
        xs = np.zeros((self.T, self.n, 3), self.np_dtype)
        vs = np.zeros_like(xs)
        xs[0], vs[0] = x0, v0
        reason = self._check(xs[0], vs[0])
        if reason is not None:
            raise SimulationDiverged(0, "initial state: " + reason, 0)
        if self._fwd_bufs is None:
            self._fwd_bufs = self._bufs(2, False)
        X, V, F, G = self._fwd_bufs
        if self._adjoint is not None:
            self._adjoint.forget()
        first_kept = self._kept_from(keep)
        if self.mode == "graph" and self._replay is None and first_kept > 0:
            self._replay = self._frame_replay(X, V, F, G)
        X[0].assign(xs[0])
        V[0].assign(vs[0])
        cur = 0
        for t in range(self.T - 1):
            if t >= first_kept:
                xs[t + 1], vs[t + 1] = self._adjoint.forward_frame(t, xs[t], vs[t], keep=t < self.T - 2)
            elif self.mode == "graph":
                if self.controls is not None:
                    wp.copy(self._ctrl[0], self.controls[t])
                    wp.copy(self._ctrl[1], self.controls[t + 1])
                self._replay.run(cur)
                cur = (cur + self.S) % 2
            else:
                for s in range(self.S):
                    self._substep(t, s, X[cur], V[cur], F[0], G[0], X[1 - cur], V[1 - cur],
                                  fused=self.mode == "fused")
                    cur = 1 - cur
            if t < first_kept:
                xs[t + 1], vs[t + 1] = X[cur].numpy(), V[cur].numpy()
            if self._check(xs[t + 1], vs[t + 1]) is not None:
                raise self._locate(t, xs[t], vs[t])
        return xs, vs

    def backward(self, xs: np.ndarray, vs: np.ndarray, gx: np.ndarray, gv: np.ndarray) -> dict[str, np.ndarray]:
        """Adjoint of ``forward`` given dL/d(frames); returns grads for x0, v0, k, c, friction, restitution.

        ``self.adjoint`` picks how: "graph" (hand-written adjoint kernels, physics/spring_mass/adjoint.py; the same
        bytes on any thread count) or "tape" (warp's tape over the three tape kernels; the two agree to rounding)."""
        if self.adjoint == "graph":
            return self._frame_adjoint().backward(xs, vs, gx, gv)
        return self._tape_backward(xs, vs, gx, gv)

    def _tape_backward(self, xs: np.ndarray, vs: np.ndarray, gx: np.ndarray, gv: np.ndarray) -> dict[str, np.ndarray]:
        """``backward`` through warp's tape: each frame re-simulated under a ``wp.Tape``."""
        if self._grad_bufs is None:
            self._grad_bufs = self._bufs(self.S + 1, True)
        X, V, F, G = self._grad_bufs
        adj_x, adj_v = gx[self.T - 1].astype(self.np_dtype), gv[self.T - 1].astype(self.np_dtype)
        gk = np.zeros(max(self.s, 1))
        gc, ge, gmu = np.zeros_like(gk), 0.0, 0.0
        for t in reversed(range(self.T - 1)):
            X[0].assign(xs[t])
            V[0].assign(vs[t])
            tape = wp.Tape()
            with tape:
                for s in range(self.S):
                    self._substep(t, s, X[s], V[s], F[s], G[s], X[s + 1], V[s + 1])
            tape.backward(grads={
                X[self.S]: wp.array(np.ascontiguousarray(adj_x), dtype=self.vec3, device=self.device),
                V[self.S]: wp.array(np.ascontiguousarray(adj_v), dtype=self.vec3, device=self.device)})
            adj_x = X[0].grad.numpy() + gx[t]
            adj_v = V[0].grad.numpy() + gv[t]
            gk += self.w_k.grad.numpy()
            gc += self.w_c.grad.numpy()
            ge += float(self.w_e.grad.numpy()[0])
            gmu += float(self.w_mu.grad.numpy()[0])
            tape.zero()
        return {"x0": adj_x, "v0": adj_v, "k": gk[: self.s], "c": gc[: self.s],
                "restitution": np.array(ge), "friction": np.array(gmu)}

    # ---------------------------------------------------------------- diagnostics
    def energy(self, xs: np.ndarray, vs: np.ndarray, k_spring: np.ndarray) -> np.ndarray:
        """Energy per frame (J): kinetic + gravitational + elastic (eq. 9 potential); control springs excluded."""
        x, v = xs.astype(np.float64), vs.astype(np.float64)
        g = np.array([float(self.gravity[i]) for i in range(3)])
        e = 0.5 * (self.mass[None, :, None] * v * v).sum(axis=(1, 2)) - (self.mass[None, :] * (x @ g)).sum(axis=1)
        if self.s:
            d = np.linalg.norm(x[:, self.edges[:, 1]] - x[:, self.edges[:, 0]], axis=2)
            dl = np.abs(d - self.rest[None])
            p = float(self.params.p_k)
            e += (k_spring / self.rest * dl ** (p + 2) / (p + 2)).sum(axis=1)
        return e
