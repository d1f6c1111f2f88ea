"""Build a method's Observation from a sample dir, restricted to the inputs it declares."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.dataset import SampleDir
from methods.base import MethodInputs, Observation, Query


def visible_views(sample: SampleDir, inputs: MethodInputs) -> list[str]:
    return [sample.monocular_view] if inputs.views == "mono" else sample.seen_views


def cameras_of(sample: SampleDir) -> list[Any]:
    """The sample's cameras (render.cameras.Camera), names checked."""
    from render.cameras import Camera

    return [Camera.from_json(c) for c in sample.camera_records()]


def load_canonical(sample_path: Path) -> dict[str, np.ndarray]:
    from render.gaussians_ply import read_gaussians_ply

    g = read_gaussians_ply(SampleDir(sample_path).gaussians_ply)
    return {k: np.asarray(v) for k, v in g.items()}


#: world-block keys that are sampled GT parameters (spring-mass friction / restitution, MPM friction):
#: only privileged (gt_physics) methods see them; the others must estimate or assume them
GT_WORLD_KEYS = {"ground": ("friction", "restitution")}


def visible_world(world: dict, inputs: MethodInputs) -> dict:
    """The sample's world block minus its GT parameters (unless the method declares ``gt_physics``)."""
    if inputs.gt_physics:
        return world
    out = dict(world)
    for block, keys in GT_WORLD_KEYS.items():
        if isinstance(out.get(block), dict):
            out[block] = {k: v for k, v in out[block].items() if k not in keys}
    return out


def matte(rgb: np.ndarray, alpha: np.ndarray, plate: np.ndarray, background: tuple[float, float, float]) -> np.ndarray:
    """Observed frames (T, H, W, 3) over the scene -> over the flat ``background`` (``core.frames.MATTING``): the inverse of
    evaluation's composite ``rgb + (1 - alpha) * (plate - background)`` wherever the object covers a pixel."""
    from core.frames import replace_background

    bg = np.asarray(background, np.float32)
    return np.where(np.asarray(alpha)[..., None] > 0.0, replace_background(rgb, alpha, plate, bg), bg).astype(np.float32)


def build_observation(sample_path: Path, inputs: MethodInputs) -> Observation:
    s = SampleDir(Path(sample_path))
    meta = s.meta
    t_obs = s.n_observed
    views = visible_views(s, inputs)
    cams = [c for c in cameras_of(s) if c.name in views]
    obs = Observation(
        sample_id=meta["sample_id"], object_id=meta["object_id"], fps=float(meta["time"]["fps"]),
        n_frames=s.n_frames, n_observed=t_obs, background=tuple(meta["render"]["background"]),
        world=visible_world(meta["world"], inputs), cameras=cams,
    )
    for v in views:
        frames = [s.frame(v, t) for t in range(t_obs)]
        if inputs.rgb:
            obs.rgb[v] = np.stack([f[0] for f in frames])
            plate = s.plate(v) if inputs.masks else None
            if plate is not None:
                obs.rgb[v] = matte(obs.rgb[v], np.stack([f[1] for f in frames]), plate, obs.background)
        if inputs.masks:
            obs.alpha[v] = np.stack([f[1] for f in frames])
            manip = [s.main.manip(v, t) for t in range(t_obs)]
            if manip and manip[0] is not None:  # interaction: the manipulator proxy's own mask
                obs.manipulator[v] = np.stack(manip)
        if inputs.depth:
            obs.depth[v] = np.stack([s.depth(v, t) for t in range(t_obs)])
    if inputs.canonical:
        obs.canonical = load_canonical(s.path)
    if inputs.tracks:
        obs.tracks = s.points()[:t_obs].copy()
    controls = s.controls() if (inputs.controls or inputs.gt_physics) else None
    if inputs.controls and controls is not None:
        obs.controls = controls[:t_obs]
    if inputs.gt_physics:
        obs.gt = {"physics": meta["physics"], "scenario": meta["scenario"], "binding": meta["binding"],
                  "particles0": s.particles()[0].copy(), "points": s.points(), "controls": controls}
        obs.gt.update(s.gt_npz("springs") or {})
        fields = s.gt_npz("fields")
        if fields is not None:  # MPM: per-particle E, nu, rest volume
            obs.gt["fields"] = fields
        reduced = s.gt_npz("reduced")
        if reduced is not None:  # reduced LBS: cubature points and the skinning MLP's weights
            obs.gt["reduced"] = reduced
    return obs


def build_query(sample_path: Path, transfer: bool = False) -> Query:
    """Every frame and camera of the sample; the interaction's control trajectory if it has one
    (``transfer``: the held-out interaction ``transfer/controls.npy`` of the transfer track)."""
    s = SampleDir(Path(sample_path))
    gt = s.track("transfer" if transfer else None)
    controls = gt.controls()
    if transfer and controls is None:
        raise FileNotFoundError(f"{gt.controls_path}: the sample has no held-out transfer interaction")
    return Query(n_frames=s.n_frames, fps=float(s.meta["time"]["fps"]), cameras=cameras_of(s), controls=controls)
