"""CPU forward-only substep passes written as C++ inside warp kernels: the same bytes, about twice as fast.

Warp compiles a kernel body one element at a time, so the spring pass issues a scalar ``sqrt`` and three
scalar divisions per spring and waits on the divider (~14 ns a spring on the 2-core test machine). Here
the spring pass (``spring_simd``) evaluates ``kernels.spring_force`` for W springs at once in clang vector
lanes (8 float32 / 4 float64): per lane the same IEEE operations in the same order (``sqrt`` and ``/``
are correctly rounded, warp's CPU build does not contract to FMA), so every force is bit-identical
to the warp kernels' (tests/physics/test_spring_mass_replay.py compares the bytes of every forward mode).
The particle pass (``particle_native``) sums each particle's CSR list in C++ (the warp loop paid ~3.5 ns
an entry) in the same order, then adds the control springs and integrates in warp code shared with
``kernels.particle_block``.

Used by ``Engine`` on CPU devices for the Hooke laws (``p_k == 0``: eq. 9 with p_k = 0, PhysTwin's
Y (|d|/l - 1)); the power law and CUDA keep the warp kernels (``#if !defined(__CUDA_ARCH__)``: nothing
here is compiled for a GPU). Arrays are addressed through their strides.
"""

import functools

import warp as wp

from physics.spring_mass import kernels as K

_SPRINGS = r"""
#if !defined(__CUDA_ARCH__)
    typedef TT V __attribute__((ext_vector_type(WW)));
    const char* E = (const char*)edges.data;
    const long se0 = edges.strides[0], se1 = edges.strides[1];
    const TT* X = (const TT*)x.data;
    const TT* W_ = (const TT*)v.data;
    const TT* R = (const TT*)rest.data;
    const TT* KL = (const TT*)k_l.data;
    const TT* CE = (const TT*)c_eff.data;
    TT* F = (TT*)f.data;
    const long sx = x.strides[0] / sizeof(TT), sv = v.strides[0] / sizeof(TT), sf = f.strides[0] / sizeof(TT);
    const long sr = rest.strides[0] / sizeof(TT), sk = k_l.strides[0] / sizeof(TT), sc = c_eff.strides[0] / sizeof(TT);
    const bool proj = (law == 0) || (axial == 1);
    int s = b;
    for (; s + WW <= e; s += WW) {
        V dx, dy, dz, wx, wy, wz, l0, kl, ce;
        for (int w = 0; w < WW; ++w) {
            const int i = *(const int*)(E + (s + w) * se0), j = *(const int*)(E + (s + w) * se0 + se1);
            const TT* xi = X + sx * i; const TT* xj = X + sx * j;
            const TT* vi = W_ + sv * i; const TT* vj = W_ + sv * j;
            dx[w] = xj[0] - xi[0]; dy[w] = xj[1] - xi[1]; dz[w] = xj[2] - xi[2];
            wx[w] = vj[0] - vi[0]; wy[w] = vj[1] - vi[1]; wz[w] = vj[2] - vi[2];
            l0[w] = R[sr * (s + w)]; kl[w] = KL[sk * (s + w)]; ce[w] = CE[sc * (s + w)];
        }
        const V len = __builtin_elementwise_sqrt(dx * dx + dy * dy + dz * dz + (TT)1.0e-24);
        const V nx = dx / len, ny = dy / len, nz = dz / len;
        const V mag = kl * (len - l0);
        V fx, fy, fz;
        if (proj) {
            const V c = ce * (wx * nx + wy * ny + wz * nz);
            fx = c * nx; fy = c * ny; fz = c * nz;
        } else {
            fx = ce * wx; fy = ce * wy; fz = ce * wz;
        }
        const V ox = mag * nx + fx, oy = mag * ny + fy, oz = mag * nz + fz;
        for (int w = 0; w < WW; ++w) {
            TT* o = F + sf * (s + w);
            o[0] = ox[w]; o[1] = oy[w]; o[2] = oz[w];
        }
    }
    for (; s < e; ++s) {  // the tail: the same arithmetic, one spring at a time
        const int i = *(const int*)(E + s * se0), j = *(const int*)(E + s * se0 + se1);
        const TT* xi = X + sx * i; const TT* xj = X + sx * j;
        const TT* vi = W_ + sv * i; const TT* vj = W_ + sv * j;
        const TT dx = xj[0] - xi[0], dy = xj[1] - xi[1], dz = xj[2] - xi[2];
        const TT wx = vj[0] - vi[0], wy = vj[1] - vi[1], wz = vj[2] - vi[2];
        const TT len = __builtin_sqrt(dx * dx + dy * dy + dz * dz + (TT)1.0e-24);
        const TT nx = dx / len, ny = dy / len, nz = dz / len;
        const TT mag = KL[sk * s] * (len - R[sr * s]);
        TT fx, fy, fz;
        if (proj) {
            const TT c = CE[sc * s] * (wx * nx + wy * ny + wz * nz);
            fx = c * nx; fy = c * ny; fz = c * nz;
        } else {
            fx = CE[sc * s] * wx; fy = CE[sc * s] * wy; fz = CE[sc * s] * wz;
        }
        TT* o = F + sf * s;
        o[0] = mag * nx + fx; o[1] = mag * ny + fy; o[2] = mag * nz + fz;
    }
#endif
"""

_CSR_SUM = r"""
#if !defined(__CUDA_ARCH__)
    const TT* Fs = (const TT*)f_spring.data;
    const long sf = f_spring.strides[0] / sizeof(TT), sg = g.strides[0] / sizeof(TT);
    const char* O = (const char*)offsets.data;
    const char* M = (const char*)mids.data;
    const char* A = (const char*)adj_spring.data;
    const long so = offsets.strides[0], sm = mids.strides[0], sa = adj_spring.strides[0];
    TT* G = (TT*)g.data;
    for (int i = b; i < e; ++i) {
        TT gx = (TT)0, gy = (TT)0, gz = (TT)0;
        const int m = *(const int*)(M + i * sm), o1 = *(const int*)(O + (i + 1) * so);
        for (int a = *(const int*)(O + i * so); a < m; ++a) {  // springs (i, j): their force as computed
            const TT* p = Fs + sf * *(const int*)(A + a * sa);
            gx = gx + p[0]; gy = gy + p[1]; gz = gz + p[2];
        }
        for (int a = m; a < o1; ++a) {  // springs (j, i): the opposite
            const TT* p = Fs + sf * *(const int*)(A + a * sa);
            gx = gx - p[0]; gy = gy - p[1]; gz = gz - p[2];
        }
        TT* o = G + sg * i;
        o[0] = gx; o[1] = gy; o[2] = gz;
    }
#endif
"""


@functools.lru_cache(maxsize=None)
def get_native_kernels(precision: str) -> dict:
    """Build (once) ``spring_simd`` and ``particle_native`` for ``precision``; launched like ``spring_block``
    and ``particle_block`` (the same arguments) with the same results."""
    base = K.get_kernels(precision)
    scalar, vec3 = base["scalar"], base["vec3"]
    ctype, lanes = ("float", 8) if precision == "float32" else ("double", 4)
    springs_src = _SPRINGS.replace("TT", ctype).replace("WW", str(lanes))
    csr_src = _CSR_SUM.replace("TT", ctype)
    advance, control_force = base["advance"], base["control_force"]

    @wp.func_native(springs_src)
    def spring_range(b: int, e: int, x: wp.array(dtype=vec3), v: wp.array(dtype=vec3),
                     edges: wp.array(dtype=wp.int32, ndim=2), rest: wp.array(dtype=scalar),
                     k_l: wp.array(dtype=scalar), c_eff: wp.array(dtype=scalar), law: int, axial: int,
                     f: wp.array(dtype=vec3)): ...

    @wp.func_native(csr_src)
    def csr_sum(b: int, e: int, f_spring: wp.array(dtype=vec3), offsets: wp.array(dtype=wp.int32),
                adj_spring: wp.array(dtype=wp.int32), mids: wp.array(dtype=wp.int32), g: wp.array(dtype=vec3)): ...

    @wp.kernel(module="unique", enable_backward=False)
    def spring_simd(
        start: int, stop: int, chunk: int, x: wp.array(dtype=vec3), v: wp.array(dtype=vec3),
        edges: wp.array(dtype=wp.int32, ndim=2), rest: wp.array(dtype=scalar), k_l: wp.array(dtype=scalar),
        c_eff: wp.array(dtype=scalar), p_k: scalar, law: int, axial: int, f: wp.array(dtype=vec3),
    ):
        """``kernels.spring_block`` for p_k = 0, W springs at a time (``p_k`` is ignored: the caller checks it)."""
        b = start + wp.tid() * chunk
        spring_range(b, wp.min(b + chunk, stop), x, v, edges, rest, k_l, c_eff, law, axial, f)

    @wp.kernel(module="unique", enable_backward=False)
    def particle_native(
        start: int, stop: int, chunk: int, x: wp.array(dtype=vec3), v: wp.array(dtype=vec3),
        f_spring: wp.array(dtype=vec3), offsets: wp.array(dtype=wp.int32), adj_spring: wp.array(dtype=wp.int32),
        mids: wp.array(dtype=wp.int32), c_offsets: wp.array(dtype=wp.int32), c_ctrl: wp.array(dtype=wp.int32),
        c_rest: wp.array(dtype=scalar), ctrl0: wp.array(dtype=vec3), ctrl1: wp.array(dtype=vec3),
        alpha: scalar, c_k: scalar, mass: wp.array(dtype=scalar), gravity: vec3, dt: scalar, drag: scalar,
        ground: int, ground_h: scalar, restitution: wp.array(dtype=scalar), friction: wp.array(dtype=scalar),
        x_out: wp.array(dtype=vec3), v_out: wp.array(dtype=vec3), f_out: wp.array(dtype=vec3),
    ):
        """``kernels.particle_block``: the CSR sums in C++ into ``f_out``, then the control springs and the
        integration (the same warp functions)."""
        b = start + wp.tid() * chunk
        e = wp.min(b + chunk, stop)
        csr_sum(b, e, f_spring, offsets, adj_spring, mids, f_out)
        for i in range(b, e):
            xi = x[i]
            force = control_force(f_out[i], xi, i, c_offsets, c_ctrl, c_rest, ctrl0, ctrl1, alpha, c_k)
            xo, vn = advance(xi, v[i], force, mass[i], gravity, dt, drag, ground, ground_h, restitution[0],
                             friction[0])
            x_out[i] = xo
            v_out[i] = vn
            f_out[i] = force

    return {"spring_simd": spring_simd, "particle_native": particle_native}
