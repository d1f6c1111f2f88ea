"""Warp kernels of one semi-implicit Euler substep (imported lazily; imports warp).

Three launches per substep on the tape (what ``Engine.backward`` records with ``adjoint="tape"``), no
atomics, so results are deterministic on every device:

1. ``spring_forces`` (one thread per spring): force on endpoint i from spring (i, j):
   elastic part (Spring-Gaus eq. 9 with eq. 16; PhysTwin Hooke law) + damping (Spring-Gaus
   eq. 10 with eq. 17; PhysTwin dashpot). Endpoint j receives the opposite force.
2. ``gather_forces`` (one thread per particle): sums its springs through a CSR list (first the springs
   it starts, then those it ends, negated) and adds its control springs, writing the total force.
3. ``integrate`` (one thread per particle, no loop): gravity (eq. 7/11), eq. 12-13 (PhysTwin:
   then drag) and the ground boundary condition (Spring-Gaus eq. 14 or PhysTwin impulse with time
   of impact).

Forward-only rollouts use two launches with the same arithmetic (same bytes): ``spring_block``
(1. over a chunk of springs per launch index, with ``per_length``'s k / l0 and c / l0 computed once per
parameter upload) and ``particle_block`` (2. and 3. fused); ``barrier`` lets several CPU threads replay
one captured frame each over shares of them (physics/spring_mass/graphs.py). The default adjoint is
hand-written (physics/spring_mass/adjoint_kernels.py) and reads the forces ``particle_block`` stores in
``f_out``. (Writing each spring force into both endpoints' CSR slots, so that the particle pass reads
contiguously, gives the same bytes but measured slower: 1 437 vs 1 529 substeps/s on one thread, 1 924 vs
2 426 on two, where the scattered writes cross the threads' shares.)

On CPU devices the engine runs the two forward-only passes through physics/spring_mass/native_kernels.py
instead (the same arithmetic in C++ vector lanes, the same bytes, about twice as fast) for the Hooke laws.

Why the gather is its own kernel: warp's adjoint of a dynamic loop does not replay the values a
loop-carried variable takes, so in the backward pass any *nonlinear* use of such a variable after
the loop sees its pre-loop value. The contact branch is nonlinear in the velocity that the spring
force produces; with the sum in the same kernel, dL/dK lost the contact terms (35 % low on a
bouncing 2 000-particle scene, tests/physics/test_spring_mass_gradients.py). Written to an array,
the loop's output reaches ``integrate`` as a plain input and every adjoint is exact.

Kernels are built per float type (float32 or float64) by ``get_kernels``.
"""

import functools

import warp as wp

LAW_SPRING_GAUS = 0
LAW_PHYSTWIN = 1
GROUND_NONE = 0
GROUND_SPRING_GAUS = 1
GROUND_PHYSTWIN = 2

_initialized = False


def init_warp() -> None:
    """Initialise warp once, quietly: without a GPU its native library prints "Could not find or load the
    NVIDIA CUDA driver" on every start; that line is dropped (anything else it prints passes through)."""
    global _initialized
    if not _initialized:
        import os
        import sys
        import tempfile

        wp.config.log_level = wp.LOG_WARNING
        wp.config.quiet = True
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                wp.init()
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().decode(errors="replace").splitlines(True)
                    if "Could not find or load the NVIDIA CUDA driver" not in ln]
        if kept:
            sys.stderr.write("".join(kept))
        _initialized = True


_SPIN_WAIT = """
#if !defined(__CUDA_ARCH__)
    int* c = counter.data;
    __atomic_add_fetch(c, 1, __ATOMIC_ACQ_REL);
    int spins = 0;
    while (__atomic_load_n(c, __ATOMIC_ACQUIRE) < target) {
    #if defined(__x86_64__)
        __builtin_ia32_pause();
    #endif
        if (++spins > 4000 && yield_fn != 0) {
            spins = 0;  // an oversubscribed core must not spin: libc's sched_yield, by address (no headers here)
            typedef void (*yield_t)(void);  // its int result is ignored (no `int` here: a warp macro)
            ((yield_t)yield_fn)();
        }
    }
#endif
"""


@wp.func_native(_SPIN_WAIT)
def _spin_wait(counter: wp.array(dtype=wp.int32), target: int, yield_fn: wp.uint64): ...


@wp.kernel(module="unique", enable_backward=False)
def barrier(counter: wp.array(dtype=wp.int32), target: int, yield_fn: wp.uint64):
    """CPU host threads replaying one frame each meet here: count in, spin until ``target`` arrived.

    Used only by the multi-threaded CPU replays (physics/spring_mass/graphs.py): warp runs a CPU
    launch on the calling thread, so two threads each replaying a graph over half the springs and half
    the particles need this between the spring pass and the particle pass of every substep. ``yield_fn``:
    the address of libc's ``sched_yield`` (``graphs.sched_yield_address``), 0 to spin only."""
    _spin_wait(counter, target, yield_fn)


@functools.lru_cache(maxsize=None)
def get_kernels(precision: str) -> dict:
    """Build (once) the substep kernels for ``precision`` in {"float32", "float64"}."""
    init_warp()
    scalar = wp.float32 if precision == "float32" else wp.float64
    vec3 = wp.types.vector(length=3, dtype=scalar)

    @wp.func
    def spring_force(
        d: vec3,
        dv: vec3,
        l0: scalar,
        k_l: scalar,
        c_eff: scalar,
        p_k: scalar,
        law: int,
        axial: int,
    ):
        """Force on a spring's first endpoint from d = x_j - x_i, dv = v_j - v_i, k_l = k / l0 and c_eff (c / l0
        for Spring-Gaus, c for PhysTwin); the second endpoint receives the opposite."""
        length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))  # safe norm: finite adjoint at 0
        n = d / length
        dl = length - l0
        # eq. 9 (eta folded into k): k/l * sign(dl) |dl|^(1+p_k); p_k = 0 is Hooke / PhysTwin Y(|d|/l-1)
        mag = k_l * dl
        if p_k != scalar(0.0):
            mag = k_l * wp.sign(dl) * wp.pow(wp.abs(dl), scalar(1.0) + p_k)
        fd = vec3()
        if law == 0:
            fd = c_eff * wp.dot(dv, n) * n  # eq. 10 with eq. 17
        else:
            if axial == 1:
                fd = c_eff * wp.dot(dv, n) * n
            else:
                fd = c_eff * dv
        return mag * n + fd

    @wp.kernel(module="unique")
    def spring_forces(
        x: wp.array(dtype=vec3),
        v: wp.array(dtype=vec3),
        edges: wp.array(dtype=wp.int32, ndim=2),
        rest: wp.array(dtype=scalar),
        k: wp.array(dtype=scalar),
        c: wp.array(dtype=scalar),
        p_k: scalar,
        law: int,
        axial: int,
        f: wp.array(dtype=vec3),
    ):
        s = wp.tid()
        i = edges[s, 0]
        j = edges[s, 1]
        l0 = rest[s]
        c_eff = c[s]
        if law == 0:
            c_eff = c[s] / l0
        f[s] = spring_force(x[j] - x[i], v[j] - v[i], l0, k[s] / l0, c_eff, p_k, law, axial)

    @wp.kernel(module="unique", enable_backward=False)
    def per_length(
        k: wp.array(dtype=scalar),
        c: wp.array(dtype=scalar),
        rest: wp.array(dtype=scalar),
        law: int,
        k_l: wp.array(dtype=scalar),
        c_eff: wp.array(dtype=scalar),
    ):
        """The per-spring divisions of ``spring_forces``, done once per parameter upload (same values)."""
        s = wp.tid()
        k_l[s] = k[s] / rest[s]
        c_eff[s] = c[s]
        if law == 0:
            c_eff[s] = c[s] / rest[s]

    @wp.kernel(module="unique", enable_backward=False)
    def spring_block(
        start: int,
        stop: int,
        chunk: int,
        x: wp.array(dtype=vec3),
        v: wp.array(dtype=vec3),
        edges: wp.array(dtype=wp.int32, ndim=2),
        rest: wp.array(dtype=scalar),
        k_l: wp.array(dtype=scalar),
        c_eff: wp.array(dtype=scalar),
        p_k: scalar,
        law: int,
        axial: int,
        f: wp.array(dtype=vec3),
    ):
        """Forward only: springs [start + tid * chunk, ...) of [start, stop), one chunk per launch index (a
        loop costs less than warp's per-index setup on the CPU), from ``per_length``'s arrays; the same
        values as ``spring_forces``."""
        b = start + wp.tid() * chunk
        for s in range(b, wp.min(b + chunk, stop)):
            i = edges[s, 0]
            j = edges[s, 1]
            f[s] = spring_force(x[j] - x[i], v[j] - v[i], rest[s], k_l[s], c_eff[s], p_k, law, axial)

    @wp.func
    def control_force(
        force: vec3,
        xi: vec3,
        i: int,
        c_offsets: wp.array(dtype=wp.int32),
        c_ctrl: wp.array(dtype=wp.int32),
        c_rest: wp.array(dtype=scalar),
        ctrl0: wp.array(dtype=vec3),
        ctrl1: wp.array(dtype=vec3),
        alpha: scalar,
        c_k: scalar,
    ):
        """``force`` plus particle i's control springs (Hooke, to the controls blended by ``alpha``), in order."""
        for b in range(c_offsets[i], c_offsets[i + 1]):
            cid = c_ctrl[b]
            cp = ctrl0[cid] * (scalar(1.0) - alpha) + ctrl1[cid] * alpha
            d = cp - xi
            length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))
            force = force + c_k * (length - c_rest[b]) * (d / length)
        return force

    @wp.func
    def particle_force(
        i: int,
        xi: vec3,
        f_spring: wp.array(dtype=vec3),
        offsets: wp.array(dtype=wp.int32),
        adj_spring: wp.array(dtype=wp.int32),
        mids: wp.array(dtype=wp.int32),
        c_offsets: wp.array(dtype=wp.int32),
        c_ctrl: wp.array(dtype=wp.int32),
        c_rest: wp.array(dtype=scalar),
        ctrl0: wp.array(dtype=vec3),
        ctrl1: wp.array(dtype=vec3),
        alpha: scalar,
        c_k: scalar,
    ):
        """Sum of particle i's spring forces (CSR order) and its control springs."""
        force = vec3()
        for a in range(offsets[i], mids[i]):  # springs (i, j): their force as computed
            force = force + f_spring[adj_spring[a]]
        for a in range(mids[i], offsets[i + 1]):  # springs (j, i): the opposite
            force = force - f_spring[adj_spring[a]]
        return control_force(force, xi, i, c_offsets, c_ctrl, c_rest, ctrl0, ctrl1, alpha, c_k)

    @wp.func
    def advance(
        xi: vec3,
        vi: vec3,
        force: vec3,
        m: scalar,
        gravity: vec3,
        dt: scalar,
        drag: scalar,
        ground: int,
        ground_h: scalar,
        e: scalar,
        mu: scalar,
    ):
        """One particle's semi-implicit Euler step and ground condition -> (x, v)."""
        vn = vi + dt * (force / m + gravity)  # eq. 12
        vn = vn * wp.exp(-drag * dt)  # PhysTwin drag
        xo = xi + vn * dt  # eq. 13
        if ground == 1:
            # Spring-Gaus eq. 14: clamp to the ground, zero normal velocity, tangential friction
            if xo[2] < ground_h:
                xo = vec3(xo[0], xo[1], ground_h)
                if vn[2] < scalar(0.0):
                    vt_len = wp.sqrt(vn[0] * vn[0] + vn[1] * vn[1] + scalar(1.0e-18))
                    fac = wp.max(scalar(0.0), scalar(1.0) - mu * (-vn[2]) / vt_len)
                    vn = vec3(fac * vn[0], fac * vn[1], scalar(0.0))
        elif ground == 2:
            # PhysTwin: impulse at the time of impact, v_n <- -e v_n, Coulomb tangential scaling
            z = xi[2] - ground_h
            if z + vn[2] * dt < scalar(0.0) and vn[2] < scalar(-1.0e-4):
                vt_len = wp.sqrt(vn[0] * vn[0] + vn[1] * vn[1] + scalar(1.0e-18))
                fac = wp.max(scalar(0.0), scalar(1.0) - mu * (scalar(1.0) + e) * (-vn[2]) / vt_len)
                v1 = vec3(fac * vn[0], fac * vn[1], -e * vn[2])
                toi = wp.clamp(-z / vn[2], scalar(0.0), dt)
                xo = xi + vn * toi + v1 * (dt - toi)
                vn = v1
        return xo, vn

    @wp.kernel(module="unique")
    def gather_forces(
        x: wp.array(dtype=vec3),
        f_spring: wp.array(dtype=vec3),
        offsets: wp.array(dtype=wp.int32),
        adj_spring: wp.array(dtype=wp.int32),
        mids: wp.array(dtype=wp.int32),
        c_offsets: wp.array(dtype=wp.int32),
        c_ctrl: wp.array(dtype=wp.int32),
        c_rest: wp.array(dtype=scalar),
        ctrl0: wp.array(dtype=vec3),
        ctrl1: wp.array(dtype=vec3),
        alpha: scalar,
        c_k: scalar,
        f_out: wp.array(dtype=vec3),
    ):
        i = wp.tid()
        f_out[i] = particle_force(i, x[i], f_spring, offsets, adj_spring, mids, c_offsets, c_ctrl, c_rest,
                                  ctrl0, ctrl1, alpha, c_k)

    @wp.kernel(module="unique")
    def integrate(
        x: wp.array(dtype=vec3),
        v: wp.array(dtype=vec3),
        f_total: wp.array(dtype=vec3),
        mass: wp.array(dtype=scalar),
        gravity: vec3,
        dt: scalar,
        drag: scalar,
        ground: int,
        ground_h: scalar,
        restitution: wp.array(dtype=scalar),
        friction: wp.array(dtype=scalar),
        x_out: wp.array(dtype=vec3),
        v_out: wp.array(dtype=vec3),
    ):
        i = wp.tid()
        xo, vn = advance(x[i], v[i], f_total[i], mass[i], gravity, dt, drag, ground, ground_h, restitution[0],
                         friction[0])
        x_out[i] = xo
        v_out[i] = vn

    @wp.kernel(module="unique", enable_backward=False)
    def particle_block(
        start: int,
        stop: int,
        chunk: int,
        x: wp.array(dtype=vec3),
        v: wp.array(dtype=vec3),
        f_spring: wp.array(dtype=vec3),
        offsets: wp.array(dtype=wp.int32),
        adj_spring: wp.array(dtype=wp.int32),
        mids: wp.array(dtype=wp.int32),
        c_offsets: wp.array(dtype=wp.int32),
        c_ctrl: wp.array(dtype=wp.int32),
        c_rest: wp.array(dtype=scalar),
        ctrl0: wp.array(dtype=vec3),
        ctrl1: wp.array(dtype=vec3),
        alpha: scalar,
        c_k: scalar,
        mass: wp.array(dtype=scalar),
        gravity: vec3,
        dt: scalar,
        drag: scalar,
        ground: int,
        ground_h: scalar,
        restitution: wp.array(dtype=scalar),
        friction: wp.array(dtype=scalar),
        x_out: wp.array(dtype=vec3),
        v_out: wp.array(dtype=vec3),
        f_out: wp.array(dtype=vec3),
    ):
        """Forward only (no adjoint; see the module docstring): gather_forces + integrate in one pass over
        particles [start + tid * chunk, ...) of [start, stop); the same values as the two kernels. The
        total force also goes to ``f_out`` (what the hand-written adjoint reads, physics/spring_mass/adjoint.py)."""
        b = start + wp.tid() * chunk
        for i in range(b, wp.min(b + chunk, stop)):
            xi = x[i]
            force = particle_force(i, xi, f_spring, offsets, adj_spring, mids, c_offsets, c_ctrl, c_rest,
                                   ctrl0, ctrl1, alpha, c_k)
            xo, vn = advance(xi, v[i], force, mass[i], gravity, dt, drag, ground, ground_h, restitution[0],
                             friction[0])
            x_out[i] = xo
            v_out[i] = vn
            f_out[i] = force

    return {"spring_forces": spring_forces, "gather_forces": gather_forces, "integrate": integrate,
            "spring_block": spring_block, "per_length": per_length, "particle_block": particle_block, "barrier": barrier,
            "advance": advance, "control_force": control_force, "scalar": scalar, "vec3": vec3}
