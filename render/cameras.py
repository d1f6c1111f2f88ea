"""Pinhole cameras (numpy only; importing this module must not import torch).

Conventions (docs/CONVENTIONS.md):

* ``K`` is 3x3 in pixels. A pixel ``(u, v)`` covers ``[u, u+1) x [v, v+1)``, so pixel centres sit at
  ``(u + 0.5, v + 0.5)`` and ``cx = W/2, cy = H/2`` puts the optical axis at the image centre.
  :func:`project_points` returns these continuous pixel coordinates: ``u = fx x/z + cx``.
* ``c2w`` is 4x4 camera-to-world in the OpenCV convention: camera x right, y down, z forward.
* ``transforms.json`` (NeRF / Blender) stores the OpenGL camera-to-world
  ``c2w_gl = c2w_cv @ diag(1, -1, -1, 1)`` (x right, y up, z backward).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "Camera",
    "look_at",
    "orbit_cameras",
    "intrinsics_from_fov",
    "project_points",
    "backproject_pixels",
    "cameras_to_transforms_json",
    "transforms_json_to_cameras",
    "CV_TO_GL",
]

#: Right-multiplying an OpenCV c2w by this gives the OpenGL/Blender c2w (and vice versa).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass
class Camera:
    """A pinhole camera: intrinsics ``K`` (pixels) and OpenCV camera-to-world ``c2w``."""

    name: str
    width: int
    height: int
    K: np.ndarray
    c2w: np.ndarray

    def __post_init__(self) -> None:
        self.width = int(self.width)
        self.height = int(self.height)
        self.K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        self.c2w = np.asarray(self.c2w, dtype=np.float64).reshape(4, 4)

    @property
    def w2c(self) -> np.ndarray:
        """World-to-camera 4x4 (rigid inverse of ``c2w``)."""
        R, t = self.c2w[:3, :3], self.c2w[:3, 3]
        out = np.eye(4)
        out[:3, :3] = R.T
        out[:3, 3] = -R.T @ t
        return out

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def fov_x(self) -> float:
        """Horizontal field of view in radians, ``2 atan(W / (2 fx))``."""
        return 2.0 * math.atan(self.width / (2.0 * self.fx))

    @property
    def fov_y(self) -> float:
        """Vertical field of view in radians, ``2 atan(H / (2 fy))``."""
        return 2.0 * math.atan(self.height / (2.0 * self.fy))

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return self.c2w[:3, 3].copy()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "c2w": self.c2w.tolist(),
            "convention": "opencv",
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Camera":
        conv = d.get("convention", "opencv")
        c2w = np.asarray(d["c2w"], dtype=np.float64)
        if conv == "opengl":
            c2w = c2w @ CV_TO_GL
        elif conv != "opencv":
            raise ValueError(f"unknown camera convention {conv!r}")
        return cls(d["name"], d["width"], d["height"], np.asarray(d["K"]), c2w)


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    if n < 1e-12:
        raise ValueError("zero-length vector")
    return v / n


def look_at(
    eye: Sequence[float], target: Sequence[float], up: Sequence[float] = (0.0, 0.0, 1.0)
) -> np.ndarray:
    """OpenCV camera-to-world looking from ``eye`` at ``target``: z forward, x = z × up (right), y = z × x (down).

    If the view direction is parallel to ``up``, world +y (or +x) is used as the up hint instead.
    """
    eye_a = np.asarray(eye, dtype=np.float64)
    z = _normalize(np.asarray(target, dtype=np.float64) - eye_a)
    up_a = np.asarray(up, dtype=np.float64)
    x = np.cross(z, up_a)
    if np.linalg.norm(x) < 1e-9 * max(1.0, np.linalg.norm(up_a)):
        alt = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
        x = np.cross(z, alt)
    x = _normalize(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye_a
    return c2w


def intrinsics_from_fov(width: int, height: int, fov_x_deg: float) -> np.ndarray:
    """K with square pixels, horizontal FOV ``fov_x_deg`` and principal point at the image centre."""
    f = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def orbit_cameras(
    n: int,
    radius: float,
    elevation_deg: float,
    target: Sequence[float] = (0.0, 0.0, 0.5),
    width: int = 64,
    height: int = 64,
    fov_deg: float = 40.0,
    start_azimuth_deg: float = 0.0,
    name_prefix: str = "view",
) -> list[Camera]:
    """``n`` cameras on a circle around ``target`` (z up), evenly spaced in azimuth, all looking at it.

    Camera i sits at azimuth ``start + 360 i / n`` (from +x towards +y) and elevation ``elevation_deg``
    above the target. ``fov_deg`` is the horizontal field of view; pixels are square.
    """
    tgt = np.asarray(target, dtype=np.float64)
    el = math.radians(elevation_deg)
    K = intrinsics_from_fov(width, height, fov_deg)
    cams = []
    for i in range(n):
        az = math.radians(start_azimuth_deg + 360.0 * i / n)
        eye = tgt + radius * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        cams.append(Camera(f"{name_prefix}{i}", width, height, K.copy(), look_at(eye, tgt)))
    return cams


def framing_cameras(
    n: int,
    points: np.ndarray,
    elevation_deg: float,
    width: int,
    height: int,
    fov_deg: float,
    fill: float = 0.8,
    margin_m: float = 0.0,
    start_azimuth_deg: float = 0.0,
) -> tuple[list[Camera], dict]:
    """``orbit_cameras`` aimed at ``points`` (every position the content takes, all frames) so that it stays in
    view: the target is the centre of their bounding box, and the distance puts the box's bounding sphere
    (radius r, + ``margin_m``) inside a cone of half-angle ``fill`` times half the smaller field of view,
    ``d = r / sin(fill * fov_min / 2)``. A sphere inside that cone projects inside the image from any direction.
    Returns the cameras and the record of how they were chosen."""
    p = np.asarray(points, np.float64).reshape(-1, 3)
    lo, hi = p.min(axis=0), p.max(axis=0)
    centre = 0.5 * (lo + hi)
    r = 0.5 * float(np.linalg.norm(hi - lo)) + float(margin_m)
    fov_x = math.radians(fov_deg)
    fov_y = 2.0 * math.atan(math.tan(fov_x / 2.0) * height / width)
    half = 0.5 * min(fov_x, fov_y)
    d = max(r / math.sin(fill * half), 1e-3)
    cams = orbit_cameras(n, d, elevation_deg, centre, width, height, fov_deg, start_azimuth_deg)
    rec = {"method": "trajectory_bounds", "target": centre.tolist(), "radius_m": r, "distance_m": d, "fill": fill,
           "fov_deg": fov_deg, "elevation_deg": elevation_deg,
           "rule": "target = centre of the bounding box of every simulated position (all frames, both interactions, "
                   "controls); distance = bounding-sphere radius / sin(fill * min(fov) / 2)"}
    return cams, rec


def border_clipped_fraction(alpha: np.ndarray, threshold: float = 0.5 / 255.0) -> float:
    """Fraction of (frame) images (T, H, W) whose coverage touches the image border (any border pixel > threshold)."""
    a = np.asarray(alpha)
    edge = np.concatenate([a[:, 0, :], a[:, -1, :], a[:, :, 0], a[:, :, -1]], axis=1)
    return float((edge > threshold).any(axis=1).mean()) if a.shape[0] else 0.0


def project_points(points: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection: ``uv = (fx x/z + cx, fy y/z + cy)`` (continuous pixel coords), and camera z."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    w2c = cam.w2c
    pc = p @ w2c[:3, :3].T + w2c[:3, 3]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = pc @ cam.K.T
        uv = uvw[:, :2] / z[:, None]
    return uv, z


def backproject_pixels(uv: np.ndarray, z: np.ndarray, cam: Camera) -> np.ndarray:
    """Inverse of :func:`project_points`: world points at z-depth ``z`` along the rays through ``uv``."""
    uv_a = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    z_a = np.asarray(z, dtype=np.float64).reshape(-1)
    homog = np.concatenate([uv_a, np.ones((len(uv_a), 1))], axis=1)
    pc = (homog @ np.linalg.inv(cam.K).T) * z_a[:, None]
    return pc @ cam.c2w[:3, :3].T + cam.c2w[:3, 3]


def _intrinsics_dict(cam: Camera) -> dict[str, Any]:
    return {
        "camera_angle_x": cam.fov_x,
        "camera_angle_y": cam.fov_y,
        "fl_x": cam.fx,
        "fl_y": cam.fy,
        "cx": cam.cx,
        "cy": cam.cy,
        "w": cam.width,
        "h": cam.height,
    }


def cameras_to_transforms_json(
    cams: Sequence[Camera], frame_paths: dict[str, str] | None = None
) -> dict[str, Any]:
    """NeRF/Blender ``transforms.json``: shared intrinsics at top level, per frame the OpenGL c2w.

    Each frame carries ``file_path`` (``frame_paths[name]`` or ``rgb/<name>``), ``name`` and
    ``transform_matrix = c2w_cv @ diag(1,-1,-1,1)``; when the cameras' intrinsics differ every frame
    also carries its own ``fl_x, fl_y, cx, cy, w, h, camera_angle_x``. Skew (K[0,1]) must be 0.
    """
    if not cams:
        raise ValueError("need at least one camera")
    for c in cams:
        if abs(c.K[0, 1]) > 0 or not np.allclose(c.K[2], [0, 0, 1]):
            raise ValueError(f"camera {c.name}: transforms.json cannot store skew / non-standard K")
    intr = [_intrinsics_dict(c) for c in cams]
    differ = any(d != intr[0] for d in intr[1:])
    out: dict[str, Any] = dict(intr[0])
    frames = []
    for c, d in zip(cams, intr):
        fr: dict[str, Any] = {
            "file_path": (frame_paths or {}).get(c.name, f"rgb/{c.name}"),
            "name": c.name,
            "transform_matrix": (c.c2w @ CV_TO_GL).tolist(),
        }
        if differ:
            fr.update(d)
        frames.append(fr)
    out["frames"] = frames
    return out


def transforms_json_to_cameras(d: dict[str, Any]) -> list[Camera]:
    """Inverse of :func:`cameras_to_transforms_json` (per-frame intrinsics override the top-level ones).

    Missing ``fl_x`` falls back to ``camera_angle_x``; missing ``cx/cy`` to the image centre; a frame
    without ``name`` is named after its ``file_path`` stem.
    """
    cams = []
    for i, fr in enumerate(d["frames"]):
        g = {**d, **fr}
        w, h = int(g["w"]), int(g["h"])
        fx = float(g["fl_x"]) if "fl_x" in g else 0.5 * w / math.tan(0.5 * float(g["camera_angle_x"]))
        fy = float(g.get("fl_y", fx))
        cx, cy = float(g.get("cx", w / 2.0)), float(g.get("cy", h / 2.0))
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        c2w = np.asarray(fr["transform_matrix"], dtype=np.float64) @ CV_TO_GL
        name = fr.get("name") or str(fr.get("file_path", f"frame{i}")).rstrip("/").split("/")[-1].split(".")[0]
        cams.append(Camera(name, w, h, K, c2w))
    return cams
