"""Taichi kernels of one MLS-MPM substep (Hu et al. 2018, quadratic B-splines, APIC).

All kernels take ``ti.ndarray`` arguments, so one compiled set serves every particle count and
grid size; a set is built per (precision, serial) and cached. Particle state arrays have a
leading substep axis (S + 1, N): substep s reads slot s and writes slot s + 1, which keeps every
kernel reverse-mode differentiable (``kernel.grad``) for the per-frame checkpointed adjoint.

Constitutive model: fixed-corotated (PhysInteract eq. 1, Stomakhin et al. 2012)
    psi = mu sum_i (sigma_i - 1)^2 + lambda/2 (J - 1)^2,
    P(F) = 2 mu (F - R) + lambda (J - 1) J F^{-T},   so   P F^T = 2 mu (F - R) F^T + lambda (J - 1) J I,
with R the rotation of the polar decomposition F = R S. ``ti.polar_decompose``/``ti.svd`` are not
differentiable in taichi 1.7.4, so R comes from ``NEWTON_ITERS`` unrolled scaled Newton steps
(Higham 1986): R <- (g R + R^{-T} / g) / 2, g = |det R|^{-1/3}, started at F. The same function is
used forward and backward (the adjoint is the exact derivative of the unrolled iteration, which
converges to the derivative of the polar factor). For det F <= 0 it returns the orthogonal
factor with det -1 (inverted elements are not fixed up).
"""


from typing import Any

from physics.mpm.runtime import taichi_types
from physics.mpm.stencil import make_stencil

NEWTON_ITERS = 5
GROUND_CODE = {"none": 0, "sticky": 1, "slip": 2, "separate": 3}
ERR_NAN, ERR_SPEED, ERR_DOMAIN = 1, 2, 4

_CACHE: dict = {}


def get_kernels(precision: str = "float32", serial: bool = True) -> dict[str, Any]:
    """Compiled-on-first-use kernel set for ``precision`` ("float32"/"float64"); cached."""
    key = (precision, bool(serial))
    if key in _CACHE:
        return _CACHE[key]
    ti, real, vec3, ivec3, nd = taichi_types(precision)

    @ti.func
    def polar_r(F):
        """Rotation factor of F by scaled Newton iterations (module doc)."""
        R = F
        for _ in ti.static(range(NEWTON_ITERS)):
            g = ti.pow(ti.abs(R.determinant()) + 1e-30, -1.0 / 3.0)
            R = 0.5 * (g * R + R.inverse().transpose() / g)
        return R

    @ti.func
    def kirchhoff(F, E, nu):
        """P(F) F^T of fixed-corotated elasticity (eq. 1)."""
        mu = E / (2.0 * (1.0 + nu))
        la = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
        R = polar_r(F)
        J = F.determinant()
        return 2.0 * mu * (F - R) @ F.transpose() + ti.Matrix.identity(real, 3) * (la * J * (J - 1.0))

    stencil = make_stencil(ti, real)  # base node, fractional offset and quadratic B-spline weights of a particle

    @ti.kernel
    def stress(s: ti.i32, C: nd, F: nd, E: nd, nu: nd, vol: nd, tau: nd, dx: real, dt: real):
        for p in range(F.shape[1]):
            newF = (ti.Matrix.identity(real, 3) + dt * C[s, p]) @ F[s, p]  # F update (MLS-MPM)
            F[s + 1, p] = newF
            tau[p] = (-dt * vol[p] * 4.0 / (dx * dx)) * kirchhoff(newF, E[p], nu[p])

    @ti.kernel
    def p2g(s: ti.i32, x: nd, v: nd, C: nd, tau: nd, mass: nd, grid_v: nd, grid_m: nd,
            lo: vec3, gmax: ivec3, dx: real):
        ti.loop_config(serialize=serial)
        for p in range(x.shape[1]):
            inv_dx = 1.0 / dx
            base, fx, w0, w1, w2 = stencil(x[s, p], lo, inv_dx, gmax)
            w = [w0, w1, w2]
            affine = tau[p] + mass[p] * C[s, p]
            mv = mass[p] * v[s, p]
            for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
                dpos = (ti.Vector([i, j, k], real) - fx) * dx
                weight = w[i][0] * w[j][1] * w[k][2]
                gi, gj, gk = base[0] + i, base[1] + j, base[2] + k
                grid_v[gi, gj, gk] += weight * (mv + affine @ dpos)
                grid_m[gi, gj, gk] += weight * mass[p]

    @ti.func
    def grid_node(i, j, k, m, gv, sx, sy, sz, gravity, lo, dx, dt, bound, ground, ground_h, friction):
        vo = ti.Vector.zero(real, 3)
        if m > 0:
            vo = gv / m + dt * gravity
            # domain walls: frictionless, separating (Hu et al. 2018)
            if i < bound and vo[0] < 0:
                vo[0] = 0.0
            if i >= sx - bound and vo[0] > 0:
                vo[0] = 0.0
            if j < bound and vo[1] < 0:
                vo[1] = 0.0
            if j >= sy - bound and vo[1] > 0:
                vo[1] = 0.0
            if k < bound and vo[2] < 0:
                vo[2] = 0.0
            if k >= sz - bound and vo[2] > 0:
                vo[2] = 0.0
            if ground != 0 and lo[2] + k * dx <= ground_h:
                if ground == 1:  # sticky
                    vo = ti.Vector.zero(real, 3)
                elif ground == 2:  # slip: remove the normal component
                    vo[2] = 0.0
                elif vo[2] < 0:  # separate + Coulomb friction
                    vn = vo[2]
                    vt = ti.sqrt(vo[0] * vo[0] + vo[1] * vo[1] + 1e-20)
                    scale = ti.max(0.0, 1.0 + friction * vn / vt)
                    vo = ti.Vector([vo[0] * scale, vo[1] * scale, 0.0], real)
        return vo

    @ti.kernel
    def grid_op(grid_v: nd, grid_m: nd, grid_vo: nd, gravity: vec3, lo: vec3, dx: real, dt: real,
                bound: ti.i32, ground: ti.i32, ground_h: real, friction: real):
        for i, j, k in ti.ndrange(grid_m.shape[0], grid_m.shape[1], grid_m.shape[2]):
            grid_vo[i, j, k] = grid_node(i, j, k, grid_m[i, j, k], grid_v[i, j, k], grid_m.shape[0], grid_m.shape[1],
                                         grid_m.shape[2], gravity, lo, dx, dt, bound, ground, ground_h, friction)

    @ti.kernel
    def active_box(s: ti.i32, x: nd, part_lo: nd, part_hi: nd, box: nd, lo: vec3, gmax: ivec3, dx: real):
        """Forward only: the node box [box[0:3], box[3:6]) that slot s's particles scatter to (their stencil base
        nodes' min and max + 3), by an integer min / max per particle block, then over the blocks (exact, so
        deterministic)."""
        nb = part_lo.shape[0]
        n = x.shape[1]
        inv_dx = 1.0 / dx
        for b in range(nb):
            lo_b = ti.Vector([2**30, 2**30, 2**30], ti.i32)
            hi_b = ti.Vector([-1, -1, -1], ti.i32)
            for p in range(b * n // nb, (b + 1) * n // nb):
                base, fx, w0, w1, w2 = stencil(x[s, p], lo, inv_dx, gmax)
                lo_b = ti.min(lo_b, base)
                hi_b = ti.max(hi_b, base)
            part_lo[b] = lo_b
            part_hi[b] = hi_b
        for _ in range(1):
            lo_a = ti.Vector([2**30, 2**30, 2**30], ti.i32)
            hi_a = ti.Vector([-1, -1, -1], ti.i32)
            for b in range(nb):
                lo_a = ti.min(lo_a, part_lo[b])
                hi_a = ti.max(hi_a, part_hi[b])
            for d in ti.static(range(3)):
                box[d] = lo_a[d]
                box[3 + d] = ti.max(hi_a[d] + 3, lo_a[d])  # empty when there are no particles

    @ti.kernel
    def grid_op_clear(grid_v: nd, grid_m: nd, grid_vo: nd, box: nd, gravity: vec3, lo: vec3, dx: real, dt: real,
                      bound: ti.i32, ground: ti.i32, ground_h: real, friction: real):
        """Forward only: ``grid_op`` over the nodes in ``box`` (``active_box``: every node the scatter wrote) that
        also zeroes the scatter grid it read (no separate fill pass). Nodes outside it have no mass, stay zero
        in the scatter grid and are read by no particle's gather this substep, so skipping them changes no byte
        (tests/physics/test_mpm_scatter.py; 15 625 particles in a 64^3 grid: 0.33 instead of 3.9 ms a substep)."""
        for i, j, k in ti.ndrange((box[0], box[3]), (box[1], box[4]), (box[2], box[5])):
            m = grid_m[i, j, k]
            gv = grid_v[i, j, k]
            grid_vo[i, j, k] = grid_node(i, j, k, m, gv, grid_m.shape[0], grid_m.shape[1], grid_m.shape[2], gravity,
                                         lo, dx, dt, bound, ground, ground_h, friction)
            if m != 0 or gv.norm_sqr() != 0:
                grid_v[i, j, k] = ti.Vector.zero(real, 3)
                grid_m[i, j, k] = 0.0

    @ti.kernel
    def grid_op_box(grid_v: nd, grid_m: nd, grid_vo: nd, box: nd, gravity: vec3, lo: vec3, dx: real, dt: real,
                    bound: ti.i32, ground: ti.i32, ground_h: real, friction: real):
        """``grid_op`` over the nodes in ``box`` (differentiable: the backward pass's re-simulated substep; its
        ``.grad`` visits the same nodes, the only ones with mass or a gathered adjoint)."""
        for i, j, k in ti.ndrange((box[0], box[3]), (box[1], box[4]), (box[2], box[5])):
            grid_vo[i, j, k] = grid_node(i, j, k, grid_m[i, j, k], grid_v[i, j, k], grid_m.shape[0], grid_m.shape[1],
                                         grid_m.shape[2], gravity, lo, dx, dt, bound, ground, ground_h, friction)

    @ti.kernel
    def zero_box(box: nd, gv: nd, gm: nd, gv_adj: nd, gm_adj: nd, gvo_adj: nd):
        """Zero the scatter grid and the grid adjoints over ``box`` (all a backward substep wrote)."""
        for i, j, k in ti.ndrange((box[0], box[3]), (box[1], box[4]), (box[2], box[5])):
            gv[i, j, k] = ti.Vector.zero(real, 3)
            gm[i, j, k] = 0.0
            gv_adj[i, j, k] = ti.Vector.zero(real, 3)
            gm_adj[i, j, k] = 0.0
            gvo_adj[i, j, k] = ti.Vector.zero(real, 3)

    @ti.kernel
    def g2p(s: ti.i32, x: nd, v: nd, C: nd, grid_vo: nd, ctrl_id: nd, ctrl_v: nd,
            lo: vec3, gmax: ivec3, dx: real, dt: real):
        ti.loop_config(serialize=serial)
        for p in range(x.shape[1]):
            inv_dx = 1.0 / dx
            base, fx, w0, w1, w2 = stencil(x[s, p], lo, inv_dx, gmax)
            w = [w0, w1, w2]
            new_v = ti.Vector.zero(real, 3)
            new_C = ti.Matrix.zero(real, 3, 3)
            for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
                dpos = ti.Vector([i, j, k], real) - fx
                gv = grid_vo[base[0] + i, base[1] + j, base[2] + k]
                weight = w[i][0] * w[j][1] * w[k][2]
                new_v += weight * gv
                new_C += (4.0 * inv_dx * weight) * gv.outer_product(dpos)
            c = ctrl_id[p]
            if c >= 0:  # prescribed velocity of a controlled particle
                new_v = ctrl_v[c]
            v[s + 1, p] = new_v
            C[s + 1, p] = new_C
            x[s + 1, p] = x[s, p] + dt * new_v

    @ti.kernel
    def check(s0: ti.i32, s1: ti.i32, step0: ti.i32, x: nd, v: nd, lo: vec3, dx: real, gshape: ivec3,
              max_speed: real, status: nd):
        """Slots [s0, s1) of every particle (one launch per frame: taichi's CPU launch costs ~0.2 ms); slot q is
        substep ``step0 + q - s0``; a bad state ORs its code into status[0], the earliest substep into status[1]
        and the largest particle index into status[2]."""
        for q, p in ti.ndrange((s0, s1), x.shape[1]):
            code = 0
            step = step0 + q - s0
            xp, vp = x[q, p], v[q, p]
            a = xp.norm_sqr() + vp.norm_sqr()  # NaN-propagating (ti.max drops NaN)
            if a != a or a > 1e30:
                code |= ERR_NAN
            elif vp.norm_sqr() > max_speed * max_speed:
                code |= ERR_SPEED
            X = (xp - lo) / dx
            for d in ti.static(range(3)):
                if X[d] < 1.0 or X[d] > gshape[d] - 2.0:
                    code |= ERR_DOMAIN
            if code != 0:
                ti.atomic_or(status[0], code)
                ti.atomic_min(status[1], step)
                ti.atomic_max(status[2], p)

    @ti.kernel
    def put_slot(s: ti.i32, x: nd, v: nd, C: nd, F: nd, bx: nd, bv: nd, bC: nd, bF: nd):
        for p in range(x.shape[1]):
            x[s, p] = bx[p]
            v[s, p] = bv[p]
            C[s, p] = bC[p]
            F[s, p] = bF[p]

    @ti.kernel
    def get_slot(s: ti.i32, x: nd, v: nd, C: nd, F: nd, bx: nd, bv: nd, bC: nd, bF: nd):
        for p in range(x.shape[1]):
            bx[p] = x[s, p]
            bv[p] = v[s, p]
            bC[p] = C[s, p]
            bF[p] = F[s, p]

    @ti.kernel
    def eval_stress(F: nd, E: nd, nu: nd, R: nd, P: nd):
        for p in range(F.shape[0]):
            Fp = F[p]
            R[p] = polar_r(Fp)
            P[p] = kirchhoff(Fp, E[p], nu[p]) @ Fp.inverse().transpose()

    @ti.kernel
    def eval_polar_svd(F: nd, R: nd):
        for p in range(F.shape[0]):
            U, S = ti.polar_decompose(F[p])
            R[p] = U

    ks = dict(real=real, vec3=vec3, ivec3=ivec3, stress=stress, p2g=p2g, grid_op=grid_op, grid_op_clear=grid_op_clear, active_box=active_box, grid_op_box=grid_op_box, zero_box=zero_box, g2p=g2p, check=check,
              put_slot=put_slot, get_slot=get_slot, eval_stress=eval_stress, eval_polar_svd=eval_polar_svd)
    _CACHE[key] = ks
    return ks
