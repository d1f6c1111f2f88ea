"""Warp kernels of one semi-implicit Euler substep (imported lazily; imports warp).

Three launches per substep, no atomics, so results are deterministic on every device:

1. ``spring_forces`` (one thread per spring): force on endpoint i from spring (i, j):
   elastic part (Spring-Gaus eq. 9 with eq. 16; PhysTwin Hooke law) + damping (Spring-Gaus
   eq. 10 with eq. 17; PhysTwin dashpot). Endpoint j receives the opposite force.
2. ``gather_forces`` (one thread per particle): sums its springs through a CSR list and adds its
   control springs, writing the total force to an array.
3. ``integrate`` (one thread per particle, no loop): gravity (eq. 7/11), eq. 12-13 (PhysTwin:
   then drag) and the ground boundary condition (Spring-Gaus eq. 14 or PhysTwin impulse with time
   of impact).

Why the gather is its own kernel: warp's adjoint of a dynamic loop does not replay the values a
loop-carried variable takes, so in the backward pass any *nonlinear* use of such a variable after
the loop sees its pre-loop value. The contact branch is nonlinear in the velocity that the spring
force produces; with the sum in the same kernel, dL/dK lost the contact terms (35 % low on a
bouncing 2 000-particle scene, tests/physics/test_spring_mass_gradients.py). Written to an array,
the loop's output reaches ``integrate`` as a plain input and every adjoint is exact.

Kernels are built per float type (float32 or float64) by ``get_kernels``.
"""

from __future__ import annotations

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


@functools.lru_cache(maxsize=None)
def get_kernels(precision: str) -> dict:
    """Build (once) the substep kernels for ``precision`` in {"float32", "float64"}."""
    init_warp()
    scalar = wp.float32 if precision == "float32" else wp.float64
    vec3 = wp.types.vector(length=3, dtype=scalar)

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
        d = x[j] - x[i]
        length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))  # safe norm: finite adjoint at 0
        n = d / length
        l0 = rest[s]
        dl = length - l0
        # eq. 9 (eta folded into k): k/l * sign(dl) |dl|^(1+p_k); p_k = 0 is Hooke / PhysTwin Y(|d|/l-1)
        mag = k[s] / l0 * dl
        if p_k != scalar(0.0):
            mag = k[s] / l0 * wp.sign(dl) * wp.pow(wp.abs(dl), scalar(1.0) + p_k)
        dv = v[j] - v[i]
        fd = vec3()
        if law == 0:
            fd = (c[s] / l0) * wp.dot(dv, n) * n  # eq. 10 with eq. 17
        else:
            if axial == 1:
                fd = c[s] * wp.dot(dv, n) * n
            else:
                fd = c[s] * dv
        f[s] = mag * n + fd

    @wp.kernel(module="unique")
    def gather_forces(
        x: wp.array(dtype=vec3),
        f_spring: wp.array(dtype=vec3),
        offsets: wp.array(dtype=wp.int32),
        adj_spring: wp.array(dtype=wp.int32),
        adj_sign: wp.array(dtype=scalar),
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
        xi = x[i]
        force = vec3()
        for a in range(offsets[i], offsets[i + 1]):
            force = force + adj_sign[a] * f_spring[adj_spring[a]]
        for b in range(c_offsets[i], c_offsets[i + 1]):
            cid = c_ctrl[b]
            cp = ctrl0[cid] * (scalar(1.0) - alpha) + ctrl1[cid] * alpha
            d = cp - xi
            length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))
            force = force + c_k * (length - c_rest[b]) * (d / length)
        f_out[i] = force

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
        xi = x[i]
        force = f_total[i]
        vn = v[i] + dt * (force / mass[i] + gravity)  # eq. 12
        vn = vn * wp.exp(-drag * dt)  # PhysTwin drag
        xo = xi + vn * dt  # eq. 13
        e = restitution[0]
        mu = friction[0]
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
        x_out[i] = xo
        v_out[i] = vn

    return {"spring_forces": spring_forces, "gather_forces": gather_forces, "integrate": integrate, "scalar": scalar, "vec3": vec3}
