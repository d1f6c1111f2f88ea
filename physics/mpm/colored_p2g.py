"""Deterministic *parallel* particle-to-grid transfer: particles sorted by cell, cells scattered in 27 colours.

The serial scatter (``kernels.p2g`` with ``serialize=True``) is bit-reproducible because every grid node sums its
contributions in particle order, but it runs on one thread. Here each substep:

1. ``cell_of`` (parallel): the base cell of each particle's quadratic stencil (the same clamped ``stencil`` base
   as ``kernels.p2g``), flattened; ``count`` (parallel, integer atomics: order-free) its occupancy.
2. ``scan`` / ``place`` (serial, integer only, O(cells + N)): a stable counting sort, so the particles of a cell
   are listed in increasing index order.
3. 27 ``scatter`` launches, one per colour (cell index mod 3 per axis): within one colour the 3x3x3 node stencils
   of two cells never overlap, so the cells of a colour run in parallel, each adding its particles in list order.

Every node receives from the 27 cells ``node - (a, b, c)``, a, b, c in {0, 1, 2}, whose colours are distinct,
so its sum is taken in a fixed order (colour order, then particle order) whatever the thread count or device:
the same seed gives the same bytes at parallel speed. The floating-point order differs from the serial scatter,
so the two agree to rounding, not bit for bit. Forward only: the adjoint keeps the serial scatter and its
``.grad`` (``MPMEngine`` with ``requires_grad``).
"""

from typing import Any

from physics.mpm.runtime import ensure_taichi, taichi_types
from physics.mpm.stencil import make_stencil

_CACHE: dict = {}


def get_colored_kernels(precision: str = "float32") -> dict[str, Any]:
    """Compiled-on-first-use kernels of the coloured scatter for ``precision``; cached."""
    if precision in _CACHE:
        return _CACHE[precision]
    ti, real, vec3, ivec3, nd = taichi_types(precision)

    stencil = make_stencil(ti, real)  # the same stencil as physics/mpm/kernels.py

    @ti.kernel
    def cell_of(s: ti.i32, x: nd, cell: nd, cnt: nd, lo: vec3, gmax: ivec3, dx: real):
        for p in range(x.shape[1]):
            base, _fx, _w0, _w1, _w2 = stencil(x[s, p], lo, 1.0 / dx, gmax)
            c = (base[0] * (gmax[1] + 1) + base[1]) * (gmax[2] + 1) + base[2]
            cell[p] = c
            ti.atomic_add(cnt[c], 1)

    @ti.kernel
    def scan(cnt: nd, start: nd, cursor: nd):
        ti.loop_config(serialize=True)
        for c in range(cnt.shape[0]):
            acc = 0
            if c > 0:
                acc = start[c - 1] + cnt[c - 1]
            start[c] = acc
            cursor[c] = acc

    @ti.kernel
    def place(cell: nd, cursor: nd, order: nd, gmax: ivec3, ccnt: nd, clist: nd):
        ti.loop_config(serialize=True)
        for p in range(cell.shape[0]):
            c = cell[p]
            order[cursor[c]] = p
            cursor[c] += 1
        # the occupied cells by colour, each colour's in increasing cell order (serial: fixed order)
        ti.loop_config(serialize=True)
        for q in range(cell.shape[0]):
            c = cell[order[q]]
            if q == 0 or cell[order[q - 1]] != c:
                bk = c % (gmax[2] + 1)
                bj = (c // (gmax[2] + 1)) % (gmax[1] + 1)
                bi = c // ((gmax[2] + 1) * (gmax[1] + 1))
                col = (bi % 3) * 9 + (bj % 3) * 3 + bk % 3
                clist[col, ccnt[col]] = c
                ccnt[col] += 1

    @ti.kernel
    def scatter(s: ti.i32, col: ti.i32, x: nd, v: nd, C: nd, tau: nd, mass: nd, start: nd, cnt: nd, order: nd,
                ccnt: nd, clist: nd, grid_v: nd, grid_m: nd, lo: vec3, gmax: ivec3, dx: real):
        for t in range(ccnt[col]):
            c = clist[col, t]
            bk = c % (gmax[2] + 1)
            bj = (c // (gmax[2] + 1)) % (gmax[1] + 1)
            bi = c // ((gmax[2] + 1) * (gmax[1] + 1))
            n_c = cnt[c]
            if n_c > 0:
                # the cell's 27 node sums, in particle order, then one plain read-add-write per node: no other
                # cell of this colour touches these nodes, so no atomics (and no float CAS loops) are needed
                acc_v = ti.Matrix.zero(real, 27, 3)
                acc_m = ti.Vector.zero(real, 27)
                for q in range(start[c], start[c] + n_c):
                    p = order[q]
                    base, fx, w0, w1, w2 = stencil(x[s, p], lo, 1.0 / dx, gmax)
                    w = [w0, w1, w2]
                    affine = tau[p] + mass[p] * C[s, p]
                    mv = mass[p] * v[s, p]
                    for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
                        dpos = (ti.Vector([i, j, k], real) - fx) * dx
                        weight = w[i][0] * w[j][1] * w[k][2]
                        val = weight * (mv + affine @ dpos)
                        for d in ti.static(range(3)):
                            acc_v[i * 9 + j * 3 + k, d] += val[d]
                        acc_m[i * 9 + j * 3 + k] += weight * mass[p]
                for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
                    r = i * 9 + j * 3 + k
                    grid_v[bi + i, bj + j, bk + k] = grid_v[bi + i, bj + j, bk + k] + ti.Vector(
                        [acc_v[r, 0], acc_v[r, 1], acc_v[r, 2]], real)
                    grid_m[bi + i, bj + j, bk + k] = grid_m[bi + i, bj + j, bk + k] + acc_m[r]

    @ti.kernel
    def zero_grid(grid_v: nd, grid_m: nd):
        for i, j, k in ti.ndrange(grid_m.shape[0], grid_m.shape[1], grid_m.shape[2]):
            grid_v[i, j, k] = ti.Vector.zero(real, 3)
            grid_m[i, j, k] = 0.0

    ks = dict(cell_of=cell_of, scan=scan, place=place, scatter=scatter, zero_grid=zero_grid, vec3=vec3, ivec3=ivec3)
    _CACHE[precision] = ks
    return ks


class ColoredScatter:
    """Buffers and launches of the coloured P2G for one particle count and grid (see the module doc)."""


    def __init__(self, precision: str, n: int, gmax: tuple[int, int, int]) -> None:
        ti = ensure_taichi()
        self.k = get_colored_kernels(precision)
        n_cells = (gmax[0] + 1) * (gmax[1] + 1) * (gmax[2] + 1)
        self.cell = ti.ndarray(ti.i32, (n,))
        self.order = ti.ndarray(ti.i32, (n,))
        self.cnt = ti.ndarray(ti.i32, (n_cells,))
        self.start = ti.ndarray(ti.i32, (n_cells,))
        self.cursor = ti.ndarray(ti.i32, (n_cells,))
        self.ccnt = ti.ndarray(ti.i32, (27,))
        self.clist = ti.ndarray(ti.i32, (27, min(n, n_cells)))  # occupied cells per colour (<= N in all)

    def __call__(self, s: int, x, v, C, tau, mass, grid_v, grid_m, lo, gmax, dx: float) -> None:
        k = self.k
        self.cnt.fill(0)
        self.ccnt.fill(0)
        k["cell_of"](s, x, self.cell, self.cnt, lo, gmax, dx)
        k["scan"](self.cnt, self.start, self.cursor)
        k["place"](self.cell, self.cursor, self.order, gmax, self.ccnt, self.clist)
        for col in range(27):
            k["scatter"](s, col, x, v, C, tau, mass, self.start, self.cnt, self.order, self.ccnt, self.clist,
                         grid_v, grid_m, lo, gmax, dx)
