"""Hand-written adjoint kernels of one spring-mass substep (no tape, no atomics; imported lazily).

The forward substep (physics/spring_mass/kernels.py) is: spring forces F_s (Spring-Gaus eq. 9-10 with
eq. 16-17, or PhysTwin's Hooke law + dashpot), per-particle sums G_i = sum_(i=e0) F_s - sum_(i=e1) F_s
+ control springs, then eq. 12-13 (with PhysTwin's drag) and the ground condition (Spring-Gaus eq. 14
or PhysTwin's impulse with time of impact). Its reverse, substep s = S-1 .. 0, in two passes like the
forward replay, so the same thread shares and barriers apply (physics/spring_mass/graphs.py):

- ``adj_particles`` (per particle): finishes the adjoint of the state after substep s (gathers the
  spring pass's dL/dd, dL/d(dv) through the particle's CSR list and the control-spring term), then the
  adjoint of the integration and ground step s -> dL/dG_i, the direct dL/dx_i, dL/dv_i, and per-particle
  sums of dL/de, dL/dmu.
- ``adj_springs`` (per spring): dL/dF_s = dL/dG_i - dL/dG_j, then the spring law's vector-Jacobian
  product -> dL/dd, dL/d(dv) (d = x_j - x_i, dv = v_j - v_i) and the per-spring sums of dL/dk_l, dL/dc_eff
  (k_l = k / l0; c_eff = c / l0 for Spring-Gaus, c for PhysTwin: the division by l0 is done once, at the end).

Every accumulator has one owner (a spring or a particle), so the result does not depend on the thread
count: the same bytes on 1 or several threads. The forward values an adjoint needs (x, v and G of each
substep) are stored by ``particle_block``'s ``f_out`` in a recording replay of the frame; the adjoint
recomputes v_n with the forward's expressions, so it takes the forward's branches. Checked against the
tape adjoint and against an independent torch-autograd twin (tests/physics/test_spring_mass_gradients.py).
"""


import functools

import warp as wp

from physics.spring_mass.kernels import init_warp


@functools.lru_cache(maxsize=None)
def get_adjoint_kernels(precision: str) -> dict:
    """Build (once) the adjoint kernels for ``precision`` in {"float32", "float64"}."""
    init_warp()
    scalar = wp.float32 if precision == "float32" else wp.float64
    vec3 = wp.types.vector(length=3, dtype=scalar)
    vec6 = wp.types.vector(length=6, dtype=scalar)  # (dL/dd, dL/d(dv)) of one spring endpoint: one record per slot

    @wp.func
    def step_adjoint(
        xi: vec3, vi: vec3, force: vec3, m: scalar, gravity: vec3, dt: scalar, drag: scalar, ground: int,
        ground_h: scalar, e: scalar, mu: scalar, ax: vec3, av: vec3,
    ):
        """Reverse of ``advance`` given dL/dx_out = ax, dL/dv_out = av -> (dL/dx_i, dL/dv_i, dL/dforce, dL/de,
        dL/dmu)."""
        gam = wp.exp(-drag * dt)
        vn = (vi + dt * (force / m + gravity)) * gam  # as the forward computes it: eq. 12 and drag
        zero = scalar(0.0)
        ge = zero
        gmu = zero
        a_x = ax
        a_vn = av + dt * ax  # no contact: x_out = x + vn dt, v_out = vn
        if ground == 1:
            xo = xi + vn * dt
            if xo[2] < ground_h:  # eq. 14: z clamped (no gradient), normal velocity zeroed, tangential friction
                axp = vec3(ax[0], ax[1], zero)
                a_vn = dt * axp
                a_x = axp
                if vn[2] < zero:
                    vt = wp.sqrt(vn[0] * vn[0] + vn[1] * vn[1] + scalar(1.0e-18))
                    q = -vn[2]
                    fac_raw = scalar(1.0) - mu * q / vt
                    fac = wp.max(zero, fac_raw)
                    a_vn = a_vn + vec3(fac * av[0], fac * av[1], zero)
                    if fac_raw > zero:
                        a_fac = av[0] * vn[0] + av[1] * vn[1]
                        gmu = -a_fac * q / vt
                        a_vt = a_fac * mu * q / (vt * vt)
                        a_vn = a_vn + vec3(a_vt * vn[0] / vt, a_vt * vn[1] / vt, a_fac * mu / vt)
                else:
                    a_vn = a_vn + av
        elif ground == 2:
            z = xi[2] - ground_h
            if z + vn[2] * dt < zero and vn[2] < scalar(-1.0e-4):  # PhysTwin impulse at the time of impact
                vt = wp.sqrt(vn[0] * vn[0] + vn[1] * vn[1] + scalar(1.0e-18))
                q = -vn[2]
                fac_raw = scalar(1.0) - mu * (scalar(1.0) + e) * q / vt
                fac = wp.max(zero, fac_raw)
                v1 = vec3(fac * vn[0], fac * vn[1], -e * vn[2])
                toi_raw = -z / vn[2]
                toi = wp.clamp(toi_raw, zero, dt)
                # x_out = x + vn toi + v1 (dt - toi), v_out = v1
                a_v1 = av + (dt - toi) * ax
                a_vn = toi * ax
                if toi_raw > zero and toi_raw < dt:
                    a_toi = wp.dot(ax, vn - v1)
                    a_x = a_x + vec3(zero, zero, -a_toi / vn[2])
                    a_vn = a_vn + vec3(zero, zero, a_toi * z / (vn[2] * vn[2]))
                a_vn = a_vn + vec3(fac * a_v1[0], fac * a_v1[1], -e * a_v1[2])
                ge = -vn[2] * a_v1[2]
                if fac_raw > zero:
                    a_fac = a_v1[0] * vn[0] + a_v1[1] * vn[1]
                    gmu = -a_fac * (scalar(1.0) + e) * q / vt
                    ge = ge - a_fac * mu * q / vt
                    a_vt = a_fac * mu * (scalar(1.0) + e) * q / (vt * vt)
                    a_vn = a_vn + vec3(a_vt * vn[0] / vt, a_vt * vn[1] / vt, a_fac * mu * (scalar(1.0) + e) / vt)
        a_vn0 = gam * a_vn
        return a_x, a_vn0, (dt / m) * a_vn0, ge, gmu

    @wp.kernel(module="unique", enable_backward=False)
    def adj_particles(
        start: int, stop: int, chunk: int, do_gather: int, do_step: int,
        x_g: wp.array(dtype=vec3), alpha_g: scalar,
        x: wp.array(dtype=vec3), v: wp.array(dtype=vec3), f_total: wp.array(dtype=vec3),
        offsets: wp.array(dtype=wp.int32),
        c_offsets: wp.array(dtype=wp.int32), c_ctrl: wp.array(dtype=wp.int32), c_rest: wp.array(dtype=scalar),
        ctrl0: wp.array(dtype=vec3), ctrl1: wp.array(dtype=vec3), c_k: scalar,
        a_dd: wp.array(dtype=vec6),
        mass: wp.array(dtype=scalar), gravity: vec3, dt: scalar, drag: scalar, ground: int, ground_h: scalar,
        restitution: wp.array(dtype=scalar), friction: wp.array(dtype=scalar),
        adj_g: wp.array(dtype=vec3), adj_x: wp.array(dtype=vec3), adj_v: wp.array(dtype=vec3),
        g_e: wp.array(dtype=scalar), g_mu: wp.array(dtype=scalar),
    ):
        """Particles [start + tid * chunk, ...) of [start, stop). ``do_gather``: add the springs' dL/dd (the
        signed terms in the particle's CSR slots) and the control springs of the substep after (positions ``x_g``,
        blend ``alpha_g``, dL/dG in ``adj_g``) to ``adj_x`` / ``adj_v``. ``do_step``: then the reverse of the
        integration from (``x``, ``v``, ``f_total``), overwriting ``adj_x``, ``adj_v`` with the direct terms and
        ``adj_g`` with dL/dG of this substep."""
        b = start + wp.tid() * chunk
        for i in range(b, wp.min(b + chunk, stop)):
            ax = adj_x[i]
            av = adj_v[i]
            if do_gather == 1:
                for a in range(offsets[i], offsets[i + 1]):  # its springs' terms, signed, in its CSR slots
                    q = a_dd[a]
                    ax = ax + vec3(q[0], q[1], q[2])
                    av = av + vec3(q[3], q[4], q[5])
                ag = adj_g[i]
                xi = x_g[i]
                for c in range(c_offsets[i], c_offsets[i + 1]):
                    cid = c_ctrl[c]
                    cp = ctrl0[cid] * (scalar(1.0) - alpha_g) + ctrl1[cid] * alpha_g
                    d = cp - xi
                    length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))
                    r = c_rest[c]
                    # term = c_k (1 - r / len) d; d/dd . ag = c_k ((1 - r/len) ag + r d (d . ag) / len^3); dd/dx_i = -1
                    ax = ax - c_k * ((scalar(1.0) - r / length) * ag + (r * wp.dot(d, ag) / (length * length * length)) * d)
            if do_step == 1:
                a_x, a_v, a_f, ge, gmu = step_adjoint(x[i], v[i], f_total[i], mass[i], gravity, dt, drag, ground,
                                                      ground_h, restitution[0], friction[0], ax, av)
                ax = a_x
                av = a_v
                adj_g[i] = a_f
                g_e[i] = g_e[i] + ge
                g_mu[i] = g_mu[i] + gmu
            adj_x[i] = ax
            adj_v[i] = av

    @wp.kernel(module="unique", enable_backward=False)
    def adj_springs(
        start: int, stop: int, chunk: int,
        x: wp.array(dtype=vec3), v: wp.array(dtype=vec3), edges: wp.array(dtype=wp.int32, ndim=2),
        slots: wp.array(dtype=wp.int32, ndim=2), rest: wp.array(dtype=scalar), k_l: wp.array(dtype=scalar), c_eff: wp.array(dtype=scalar),
        p_k: scalar, law: int, axial: int, adj_g: wp.array(dtype=vec3),
        a_dd: wp.array(dtype=vec6),
        g_kl: wp.array(dtype=scalar), g_ce: wp.array(dtype=scalar),
    ):
        """Springs [start + tid * chunk, ...) of [start, stop): the reverse of ``spring_force`` for
        dL/dF = dL/dG_i - dL/dG_j -> (dL/dd, dL/d(dv)), negated for endpoint i, into
        ``a_dd`` at the two endpoints' CSR slots; adds dL/dk_l, dL/dc_eff to ``g_kl``, ``g_ce``."""
        b = start + wp.tid() * chunk
        for s in range(b, wp.min(b + chunk, stop)):
            i = edges[s, 0]
            j = edges[s, 1]
            d = x[j] - x[i]
            dv = v[j] - v[i]
            l0 = rest[s]
            kl = k_l[s]
            ce = c_eff[s]
            aF = adj_g[i] - adj_g[j]
            length = wp.sqrt(wp.dot(d, d) + scalar(1.0e-24))
            inv = scalar(1.0) / length  # one division: the products below replace the forward's quotients
            n = d * inv
            dl = length - l0
            # F = mag n + fd; mag = k_l dl, or k_l sign(dl) |dl|^(1+p_k) (eq. 9)
            a_mag = wp.dot(aF, n)
            a_n = vec3()
            a_dvv = vec3()
            a_ce = scalar(0.0)
            a_dl = kl * a_mag
            a_kl = dl * a_mag
            if p_k != scalar(0.0):
                adl = wp.abs(dl)
                a_dl = kl * (scalar(1.0) + p_k) * wp.pow(adl, p_k) * a_mag
                a_kl = wp.sign(dl) * wp.pow(adl, scalar(1.0) + p_k) * a_mag
                a_n = (kl * wp.sign(dl) * wp.pow(adl, scalar(1.0) + p_k)) * aF
            else:
                a_n = (kl * dl) * aF
            if law == 0 or axial == 1:  # fd = c_eff (dv . n) n (eq. 10 with eq. 17; PhysTwin axial dashpot)
                w = wp.dot(dv, n)
                a_ce = w * a_mag
                a_w = ce * a_mag
                a_n = a_n + (ce * w) * aF + a_w * dv
                a_dvv = a_w * n
            else:  # fd = c_eff dv
                a_ce = wp.dot(aF, dv)
                a_dvv = ce * aF
            # n = d / L, L = sqrt(d . d + eps): dL/dd = (a_n - (a_n . n) n) / L + a_dl n
            ad = (a_n - wp.dot(a_n, n) * n) * inv + a_dl * n
            # d = x_j - x_i: x_i gets -dL/dd, x_j +dL/dd (same for v), written to the endpoints' CSR slots
            a_dd[slots[s, 0]] = vec6(-ad[0], -ad[1], -ad[2], -a_dvv[0], -a_dvv[1], -a_dvv[2])
            a_dd[slots[s, 1]] = vec6(ad[0], ad[1], ad[2], a_dvv[0], a_dvv[1], a_dvv[2])
            g_kl[s] = g_kl[s] + a_kl  # dL/dk = dL/dk_l / l0 and (Spring-Gaus) dL/dc = dL/dc_eff / l0: on the host
            g_ce[s] = g_ce[s] + a_ce

    return {"adj_particles": adj_particles, "adj_springs": adj_springs, "vec6": vec6}
