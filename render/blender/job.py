"""Parent side of the Blender renderer: write a job, run the worker process, read the frames back.

Imports no bpy: the worker (:mod:`render.blender.worker`) runs in its own process per sample
(memory is returned to the OS when it exits), with a time limit, and its output is kept as a log.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from core.processes import kill_with_parent_preexec

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_DIR = ".blender-job"


class BlenderRenderError(RuntimeError):
    """The worker failed or ran out of time; ``reason`` is a short code (timeout, worker_failed)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BlenderSettings:
    engine: str = "cycles"  # cycles | workbench
    samples: int = 16
    denoise: bool = True
    denoise_prefilter: str = "accurate"  # accurate | fast (OIDN prefiltering of the albedo / normal guides)
    ground_plane: bool = True
    ground_height: float = 0.0
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    device: str = "auto"  # auto (OptiX / CUDA when present, else CPU) | cpu
    timeout_s: float = 600.0
    seed: int = 0
    look: dict[str, Any] | None = None  # render.blender.look: ground, world, sun (None: the studio look)
    process: str = "subprocess"  # inprocess | subprocess (see render_mesh_frames)

    @classmethod
    def from_render_config(cls, rc: Any, ground_height: float = 0.0, look: dict[str, Any] | None = None) -> "BlenderSettings":
        return cls(engine=rc.blender_engine, samples=rc.samples, denoise=rc.denoise,
                   denoise_prefilter=rc.denoise_prefilter, ground_plane=rc.ground_plane,
                   ground_height=ground_height, background=tuple(rc.background), device=rc.blender_device,
                   timeout_s=rc.timeout_s, look=look, process=rc.blender_process)

    def resolved_look(self) -> dict[str, Any]:
        from render.blender.look import studio_look

        return self.look or studio_look(self.background, self.ground_plane, self.ground_height)


def make_job(faces: np.ndarray, vertices: np.ndarray, cameras: Sequence[Any], settings: BlenderSettings,
             uv: np.ndarray | None = None, texture: np.ndarray | None = None,
             vertex_colors: np.ndarray | None = None, base_color: Sequence[float] = (0.6, 0.6, 0.6),
             manipulator: np.ndarray | None = None, plate: bool = False) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The job record and its arrays. ``manipulator`` (T, C, 3): control points drawn as spheres (render/manipulator.py);
    ``plate``: also render each view once without the object (the background plate)."""
    arrays: dict[str, np.ndarray] = {"faces": np.asarray(faces, np.int32),
                                     "vertices": np.asarray(vertices, np.float32)}
    if uv is not None and texture is not None:
        arrays["uv"], arrays["texture"] = np.asarray(uv, np.float32), np.asarray(texture, np.uint8)
    elif vertex_colors is not None:
        arrays["vertex_colors"] = np.asarray(vertex_colors, np.float32)
    if manipulator is not None:
        arrays["manipulator"] = np.asarray(manipulator, np.float32)
    job = {
        "mesh_file": "mesh.npz",
        "cameras": [{"name": c.name, "width": c.width, "height": c.height, "K": np.asarray(c.K).tolist(),
                     "c2w": np.asarray(c.c2w).tolist()} for c in cameras],
        "engine": settings.engine, "samples": settings.samples, "denoise": settings.denoise,
        **({"denoise_prefilter": settings.denoise_prefilter} if settings.denoise_prefilter != "accurate" else {}),
        "ground_plane": settings.ground_plane, "ground_height": settings.ground_height,
        "background": list(settings.background), "device": settings.device, "seed": settings.seed,
        "look": settings.resolved_look(),
        "base_color": [float(c) for c in base_color],
        **({"plate": True} if plate else {}),
    }
    return job, arrays


def write_job(job_dir: Path, faces: np.ndarray, vertices: np.ndarray, cameras: Sequence[Any], settings: BlenderSettings,
              uv: np.ndarray | None = None, texture: np.ndarray | None = None,
              vertex_colors: np.ndarray | None = None, base_color: Sequence[float] = (0.6, 0.6, 0.6),
              manipulator: np.ndarray | None = None, plate: bool = False) -> Path:
    """``job.json`` + ``mesh.npz`` in ``job_dir`` (subprocess mode); returns the job.json path."""
    job, arrays = make_job(faces, vertices, cameras, settings, uv, texture, vertex_colors, base_color, manipulator, plate)
    job_dir.mkdir(parents=True, exist_ok=True)
    np.savez(job_dir / "mesh.npz", **arrays)
    job["out_dir"] = str(job_dir / "out")
    path = job_dir / "job.json"
    path.write_text(json.dumps(job))
    return path


def _scratch_dir() -> Path:
    """Where the per-frame EXR goes: RAM (/dev/shm) when the machine has it."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@contextlib.contextmanager
def _output_to(log: Any) -> Iterator[None]:
    """Send this process's stdout / stderr file descriptors to ``log`` (Blender's C code prints a line per saved
    frame straight to fd 1, past sys.stdout), restoring them afterwards."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def render_inprocess(job: dict[str, Any], arrays: dict[str, np.ndarray], log_path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Render in this process (bpy imported once per process and reused for every sample it renders); Blender's
    own output goes to ``log_path`` as the worker process's does."""
    from render.blender.worker import render_frames

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log, tempfile.TemporaryDirectory(dir=_scratch_dir(), prefix="bench-exr-") as tmp, \
            _output_to(log):
        try:
            frames, result = render_frames(job, arrays, Path(tmp), log=lambda m: print(m, file=log, flush=True))
        except Exception as exc:
            log.write(f"\n[in-process] failed: {type(exc).__name__}: {exc}\n")
            raise BlenderRenderError("worker_failed", f"Blender render failed in process: {type(exc).__name__}: "
                                                      f"{' '.join(str(exc).split())[:200]}") from exc
        log.write(f"[in-process] {json.dumps(result)}\n")
    return frames


def run_worker(job_path: Path, log_path: Path, timeout_s: float) -> dict[str, Any]:
    """Run the worker in a fresh Python process; its stdout+stderr go to ``log_path``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "render.blender.worker", str(job_path)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        try:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(REPO_ROOT),
                                  preexec_fn=kill_with_parent_preexec,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            log.write(f"\n[parent] killed after {timeout_s:g} s\n")
            raise BlenderRenderError("timeout", f"Blender worker exceeded its time limit of {timeout_s:g} s "
                                                f"(render.timeout_s; log: {log_path})") from None
        log.write(f"\n[parent] exit status {proc.returncode} after {time.perf_counter() - t0:.2f} s\n")
    result_file = Path(json.loads(job_path.read_text())["out_dir"]) / "result.json"
    if proc.returncode != 0 or not result_file.exists():
        lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines()
                 if ln.strip() and not ln.startswith("[parent]")]
        errors = [ln for ln in lines if "Error" in ln or "error" in ln] or lines
        tail = " | ".join(errors[-2:])[:300]
        raise BlenderRenderError("worker_failed", f"Blender worker exited with status {proc.returncode}: {tail}")
    return json.loads(result_file.read_text())


def read_frames(out_dir: Path, cameras: Sequence[Any]) -> dict[str, dict[str, np.ndarray]]:
    """``{view: {"rgb", "alpha", "depth"[, "normal"]}}`` float32 arrays written by the worker."""
    out = {}
    for c in cameras:
        with np.load(out_dir / f"{c.name}.npz") as z:
            out[c.name] = {k: np.ascontiguousarray(z[k], dtype=np.float32) for k in z.files}
    return out


def render_mesh_frames(faces: np.ndarray, vertices: np.ndarray, cameras: Sequence[Any], settings: BlenderSettings,
                       work_dir: Path, log_path: Path, uv: np.ndarray | None = None,
                       texture: np.ndarray | None = None, vertex_colors: np.ndarray | None = None,
                       base_color: Sequence[float] = (0.6, 0.6, 0.6), keep_job: bool = False,
                       manipulator: np.ndarray | None = None, plate: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Render a mesh whose world-space ``vertices`` (T, V, 3) move per frame into every camera (and, with
    ``plate``, each camera once without the object: ``{view: {..., "plate": (H, W, 3)}}``).

    ``settings.process``: ``inprocess`` renders in this process (no Blender start-up per sample, the scene built
    once and every view rendered from it); ``subprocess`` runs the worker in its own process with the time limit,
    its job files in ``work_dir/.blender-job`` (deleted afterwards unless ``keep_job``).
    """
    if settings.process == "inprocess":
        job, arrays = make_job(faces, vertices, cameras, settings, uv, texture, vertex_colors, base_color, manipulator, plate)
        return render_inprocess(job, arrays, Path(log_path))
    job_dir = Path(work_dir) / JOB_DIR
    try:
        job = write_job(job_dir, faces, vertices, cameras, settings, uv, texture, vertex_colors, base_color, manipulator, plate)
        run_worker(job, Path(log_path), settings.timeout_s)
        return read_frames(job_dir / "out", cameras)
    finally:
        if not keep_job:
            shutil.rmtree(job_dir, ignore_errors=True)


def render_scene_blender(rc: Any, scene: Any, cameras: Sequence[Any], sample_dir: Path,
                         manipulator: np.ndarray | None = None, plate: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Render a FreefallScene (``mesh`` + per-frame ``mesh_vertices``) with the profile's settings (``plate``:
    and the object-free background plate of each view).

    The worker log is kept as ``sample_dir/blender.log``.
    """
    if scene.mesh_vertices is None:
        raise ValueError("the Blender renderer needs scene.mesh_vertices (per-frame mesh vertex positions)")
    m = scene.mesh
    settings = BlenderSettings.from_render_config(rc, look=getattr(scene, "look", None))
    return render_mesh_frames(m.faces, scene.mesh_vertices, cameras, settings,
                              Path(sample_dir), Path(sample_dir) / "blender.log", uv=m.uv, texture=m.texture,
                              vertex_colors=m.vertex_colors, base_color=m.meta.get("base_color", (0.6, 0.6, 0.6)),
                              manipulator=manipulator if rc.blender_engine == "cycles" else None, plate=plate)
