"""3DGS PLY read/write (numpy only, no plyfile).

Layout written (binary_little_endian 1.0, one ``vertex`` element, all ``float`` properties), as in the
reference 3DGS ``save_ply`` with SH degree 0::

    x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3

Stored activations: ``f_dc = (rgb - 0.5) / C0`` (C0 = SH band-0 constant), ``opacity = logit(o)``,
``scale_i = log(s_i)``, ``rot = (w, x, y, z)`` quaternion; normals are zero. The reader accepts any
property order and extra properties (e.g. ``f_rest_*``, which it ignores) and returns linear values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_gaussians_ply", "read_gaussians_ply", "SH_C0"]

SH_C0 = 0.28209479177387814
_OPACITY_EPS = 1e-7  # logit is clipped to [eps, 1 - eps] so that fully opaque splats stay finite

_PROPS = (
    ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"]
    + [f"scale_{i}" for i in range(3)]
    + [f"rot_{i}" for i in range(4)]
)
_PLY_TYPES = {
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
    "uchar": "u1", "uint8": "u1", "char": "i1", "int8": "i1",
    "ushort": "u2", "uint16": "u2", "short": "i2", "int16": "i2",
    "uint": "u4", "uint32": "u4", "int": "i4", "int32": "i4",
}


def write_gaussians_ply(
    path: str | Path,
    means: np.ndarray,
    scales: np.ndarray,
    colors: np.ndarray,
    opacities: np.ndarray,
    rotations: np.ndarray | None = None,
) -> None:
    """Write Gaussians (linear scales (N,) or (N,3), colours in [0,1], opacities in [0,1], wxyz quats)."""
    means = np.asarray(means, dtype=np.float64).reshape(-1, 3)
    n = len(means)
    s = np.asarray(scales, dtype=np.float64).reshape(n, -1)
    s = np.broadcast_to(s, (n, 3)) if s.shape[1] == 1 else s
    if s.shape != (n, 3) or np.any(s <= 0):
        raise ValueError("scales must be positive, shape (N,) or (N,3)")
    o = np.clip(np.asarray(opacities, dtype=np.float64).reshape(n), _OPACITY_EPS, 1 - _OPACITY_EPS)
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)) if rotations is None else np.asarray(rotations, np.float64).reshape(n, 4)
    data = np.empty(n, dtype=[(p, "<f4") for p in _PROPS])
    for i, k in enumerate("xyz"):
        data[k] = means[:, i]
        data["n" + k] = 0.0
    for i in range(3):
        data[f"f_dc_{i}"] = (np.asarray(colors, np.float64).reshape(n, 3)[:, i] - 0.5) / SH_C0
        data[f"scale_{i}"] = np.log(s[:, i])
    data["opacity"] = np.log(o) - np.log1p(-o)
    for i in range(4):
        data[f"rot_{i}"] = q[:, i]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
    header += [f"property float {p}" for p in _PROPS] + ["end_header"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(("\n".join(header) + "\n").encode("ascii"))
        fh.write(data.tobytes())


def read_gaussians_ply(path: str | Path) -> dict[str, np.ndarray]:
    """Read a 3DGS PLY -> {"means" (N,3), "scales" (N,3), "colors" (N,3), "opacities" (N,), "rotations" (N,4)}.

    Values are linear (float64): scales = exp(scale_i), opacity = sigmoid, colour = 0.5 + C0 f_dc.
    """
    with open(path, "rb") as fh:
        raw = fh.read()
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise ValueError(f"{path}: not a PLY file")
    body_start = raw.index(b"\n", end) + 1
    lines = raw[:end].decode("ascii").splitlines()
    fmt, n, props, in_vertex = None, 0, [], False
    for line in lines:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "format":
            fmt = tok[1]
        elif tok[0] == "element":
            in_vertex = tok[1] == "vertex"
            if in_vertex:
                n = int(tok[2])
        elif tok[0] == "property" and in_vertex:
            if tok[1] == "list":
                raise ValueError("list properties are not supported in the vertex element")
            props.append((tok[2], _PLY_TYPES[tok[1]]))
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise ValueError(f"unsupported PLY format {fmt!r}")
    endian = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, endian + t) for name, t in props])
    data = np.frombuffer(raw, dtype=dtype, count=n, offset=body_start)
    col = lambda k: data[k].astype(np.float64)  # noqa: E731
    scale_names = sorted((p for p, _ in props if p.startswith("scale_")), key=lambda p: int(p.split("_")[1]))
    rot_names = sorted((p for p, _ in props if p.startswith("rot")), key=lambda p: int(p.split("_")[1]))
    scales = np.exp(np.stack([col(p) for p in scale_names], 1))
    if scales.shape[1] == 1:
        scales = np.repeat(scales, 3, axis=1)
    rot = np.stack([col(p) for p in rot_names], 1) if rot_names else np.tile([1.0, 0, 0, 0], (n, 1))
    return {
        "means": np.stack([col("x"), col("y"), col("z")], 1),
        "scales": scales,
        "colors": 0.5 + SH_C0 * np.stack([col(f"f_dc_{i}") for i in range(3)], 1),
        "opacities": 1.0 / (1.0 + np.exp(-col("opacity"))),
        "rotations": rot,
    }
