"""Blender worker: ``python -m render.blender.worker JOB.json`` (one process per sample).

Reads the job written by :mod:`render.blender.job` (``job.json`` + ``mesh.npz``), builds the scene
once, and for every frame moves the vertices and renders every camera to a multilayer EXR, which it
reads back (:mod:`render.blender.exr`) and converts to our conventions (docs/CONVENTIONS.md):

* ``rgb``: Blender's premultiplied film (object + ground) composited over the background colour in
  linear light, then sRGB-encoded (the Standard view transform) — float32 (T, H, W, 3) in [0, 1];
* ``alpha``: object coverage only (Cycles AOV ``mask``; Workbench: an object-only second pass);
* ``depth``: camera z-depth in metres (Cycles: AOV ``zobj`` / ``mask``, the coverage-normalised mean
  over the pixel's samples), 0 where alpha < 0.5;
* ``normal``: world-space unit normals of the object (Cycles only), 0 where alpha < 0.5;
* ``plate`` (when the job asks for one): the object-free background plate of each view, (H, W, 3) in the same
  encoding as ``rgb``: the scene rendered once more with the object and the manipulator hidden (no object, so
  no object shadow either).

Writes ``<out_dir>/<view>.npz`` per camera and ``<out_dir>/result.json`` last (its presence = success).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)


def _render_exr(path: Path) -> dict[str, np.ndarray]:
    import bpy

    from render.blender.exr import read_exr

    bpy.context.scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    chans = read_exr(path)
    path.unlink()
    layer = bpy.context.scene.view_layers[0].name
    return {k.removeprefix(layer + "."): v for k, v in chans.items()}


def _combined(ch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.stack([ch["Combined.R"], ch["Combined.G"], ch["Combined.B"]], axis=-1)
    return rgb, ch["Combined.A"]


def _frame_cycles(ch: dict[str, np.ndarray], bg_lin: np.ndarray, manip: bool = False) -> dict[str, np.ndarray]:
    rgb, a_film = _combined(ch)
    mask = ch["mask.X"] if "mask.X" in ch else ch["mask.V"]
    alpha = np.clip(mask, 0.0, 1.0)
    fg = alpha >= 0.5
    safe = np.maximum(mask, 1e-6)
    zkey = "zobj.X" if "zobj.X" in ch else "zobj.V"
    depth = np.where(fg, ch[zkey] / safe, 0.0)
    n = np.stack([ch[f"nobj.{c}"] for c in "RGB"], axis=-1) / safe[..., None]
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    out = {"rgb": linear_to_srgb(rgb + (1.0 - a_film[..., None]) * bg_lin), "alpha": alpha,
           "depth": depth, "normal": np.where(fg[..., None], n, 0.0)}
    if manip:
        out["manip"] = np.clip(ch["manip.X"] if "manip.X" in ch else ch["manip.V"], 0.0, 1.0)
    return out


def _frame_workbench(full: dict[str, np.ndarray], obj: dict[str, np.ndarray], bg_lin: np.ndarray) -> dict[str, np.ndarray]:
    rgb, a_film = _combined(full)
    a = obj["Combined.A"]
    alpha = np.clip(np.where(a > 0.995, 1.0, a), 0.0, 1.0)  # Workbench's AA accumulation tops out at ~0.998
    z = obj["Depth.Z"]
    depth = np.where((alpha >= 0.5) & (z < 1e9), z, 0.0)
    return {"rgb": linear_to_srgb(rgb + (1.0 - a_film[..., None]) * bg_lin), "alpha": alpha, "depth": depth}


def render_frames(job: dict[str, Any], data: Any, exr_dir: Path, log: Any = print) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Build the job's scene once and render every frame into every camera (in this process, which imports bpy).

    ``data`` maps faces, vertices (T, V, 3) and the optional uv / texture / vertex_colors / manipulator to arrays.
    Returns ``{view: {"rgb", "alpha", "depth"[, "normal", "manip"]}}`` float32 and the result record."""
    from render.blender import scene as S

    t0 = time.perf_counter()
    verts = data["vertices"]  # (T, V, 3)
    opt = lambda k: data[k] if k in data else None  # noqa: E731
    engine = job["engine"]
    bg = np.asarray(job["background"], np.float64)
    bg_lin = S.srgb_to_linear(bg).astype(np.float32)

    scene = S.reset_scene()
    device = S.configure_render(scene, engine, job["samples"], job["denoise"], job["device"], job.get("seed", 0),
                                job.get("denoise_prefilter", "accurate"))
    me = S.build_object(scene, data["faces"], verts[0], opt("uv"), opt("texture"), opt("vertex_colors"),
                        np.asarray(job["base_color"], np.float64))
    look = job["look"]
    ground = S.build_ground(scene, look["ground"]) if look["ground"]["visible"] else None
    S.build_lighting(scene, look)
    scene.render.film_transparent = look["world"]["kind"] != "sky"  # a sky shows above the horizon
    manip = opt("manipulator")
    spheres = []
    if manip is not None:
        from render import manipulator as M

        spheres = S.build_manipulator(scene, manip.shape[1], M.RADIUS_M, M.COLOR_SRGB)
    cams = [(c, S.build_camera(scene, c["name"], np.asarray(c["K"]), np.asarray(c["c2w"]), c["width"], c["height"])[0])
            for c in job["cameras"]]
    t_build = time.perf_counter() - t0
    log(f"[worker] engine={engine} device={device} samples={job['samples']} denoise={job['denoise']} "
        f"look={look['kind']} ground={look['ground']['visible']} frames={len(verts)} cameras={len(cams)} vertices={verts.shape[1]}")

    frames: dict[str, list[dict[str, np.ndarray]]] = {c["name"]: [] for c, _ in cams}
    exr_dir.mkdir(parents=True, exist_ok=True)
    exr = exr_dir / "frame.exr"
    for t in range(len(verts)):
        if t > 0:
            S.set_vertices(me, verts[t])
        for i, ob in enumerate(spheres):
            ob.location = tuple(float(x) for x in manip[t, i])
        for c, ob in cams:
            S.activate_camera(scene, ob, c["width"], c["height"])
            if engine == "cycles":
                fr = _frame_cycles(_render_exr(exr), bg_lin, manip=bool(spheres))
            else:
                full = _render_exr(exr)
                if ground is not None:
                    ground.hide_render = True
                    obj = _render_exr(exr)
                    ground.hide_render = False
                else:
                    obj = full
                fr = _frame_workbench(full, obj, bg_lin)
            frames[c["name"]].append(fr)
        log(f"[worker] frame {t} done")
    out = {name: {k: np.stack([f[k] for f in frs]).astype(np.float32) for k in frs[0]} for name, frs in frames.items()}
    if job.get("plate"):
        for name, plate in _render_plates(scene, cams, [bpy_object(me), *spheres], exr, bg_lin).items():
            out[name]["plate"] = plate
        log("[worker] background plates done")
    result = {"ok": True, "engine": engine, "device": device, "blender": _blender_version(),
              "build_s": t_build, "total_s": time.perf_counter() - t0}
    return out, result


def bpy_object(mesh_data: Any) -> Any:
    """The scene object that uses ``mesh_data``."""
    import bpy

    return next(ob for ob in bpy.data.objects if ob.data == mesh_data)


def _render_plates(scene: Any, cams: list[tuple[dict[str, Any], Any]], hide: list[Any], exr: Path,
                   bg_lin: np.ndarray) -> dict[str, np.ndarray]:
    """Every camera once with the ``hide`` objects out of the render: ``{view: rgb (H, W, 3)}`` float32."""
    from render.blender import scene as S

    for ob in hide:
        ob.hide_render = True
    try:
        plates = {}
        for c, ob in cams:
            S.activate_camera(scene, ob, c["width"], c["height"])
            rgb, a_film = _combined(_render_exr(exr))
            plates[c["name"]] = linear_to_srgb(rgb + (1.0 - a_film[..., None]) * bg_lin).astype(np.float32)
        return plates
    finally:
        for ob in hide:
            ob.hide_render = False


def run_job(job_path: Path) -> dict[str, Any]:
    """Subprocess mode: render the job files; writes ``<view>.npz`` per camera and ``result.json`` last."""
    job = json.loads(job_path.read_text())
    out_dir = Path(job["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    with np.load(job_path.parent / job["mesh_file"]) as z:
        data = {k: z[k] for k in z.files}
    frames, result = render_frames(job, data, out_dir, log=lambda m: print(m, flush=True))
    for name, arrays in frames.items():
        np.savez(out_dir / f"{name}.npz", **arrays)
    (out_dir / "result.json").write_text(json.dumps(result))
    return result


def _blender_version() -> str:
    import bpy

    return bpy.app.version_string


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m render.blender.worker JOB.json", file=sys.stderr)
        return 2
    run_job(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
