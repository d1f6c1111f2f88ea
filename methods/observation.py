"""Build a method's Observation from a sample dir, restricted to the inputs it declares."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.dataset import SampleDir
from core.jsonio import read_json
from methods.base import MethodInputs, Observation, Query


def visible_views(sample: SampleDir, inputs: MethodInputs) -> list[str]:
    r = sample.meta["render"]
    return [r["monocular_view"]] if inputs.views == "mono" else list(r["seen_views"])


def load_canonical(sample_path: Path) -> dict[str, np.ndarray]:
    from render.gaussians_ply import read_gaussians_ply

    g = read_gaussians_ply(sample_path / "asset" / "gaussians.ply")
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


def build_observation(sample_path: Path, inputs: MethodInputs) -> Observation:
    s = SampleDir(Path(sample_path))
    meta = s.meta
    t_obs = s.n_observed
    views = visible_views(s, inputs)
    cams = [c for c in s.cameras() if c.name in views]
    obs = Observation(
        sample_id=meta["sample_id"], object_id=meta["object_id"], fps=float(meta["time"]["fps"]),
        n_frames=s.n_frames, n_observed=t_obs, background=tuple(meta["render"]["background"]),
        world=visible_world(meta["world"], inputs), cameras=cams,
    )
    for v in views:
        frames = [s.frame(v, t) for t in range(t_obs)]
        if inputs.rgb:
            obs.rgb[v] = np.stack([f[0] for f in frames])
        if inputs.masks:
            obs.alpha[v] = np.stack([f[1] for f in frames])
        if inputs.depth:
            obs.depth[v] = np.stack([s.depth(v, t) for t in range(t_obs)])
    if inputs.canonical:
        obs.canonical = load_canonical(s.path)
    if inputs.tracks:
        obs.tracks = s.points()[:t_obs].copy()
    controls = s.path / "gt" / "controls.npy"
    if inputs.controls and controls.exists():
        obs.controls = np.load(controls)[:t_obs]
    if inputs.gt_physics:
        obs.gt = {"physics": meta["physics"], "scenario": meta["scenario"], "binding": meta["binding"],
                  "particles0": s.particles()[0].copy(), "points": s.points(),
                  "controls": np.load(controls) if controls.exists() else None}
        springs = s.path / "gt" / "springs.npz"
        if springs.exists():
            obs.gt.update({k: v for k, v in np.load(springs).items()})
        fields = s.path / "gt" / "fields.npz"
        if fields.exists():  # MPM: per-particle E, nu, rest volume
            obs.gt["fields"] = dict(np.load(fields).items())
        reduced = s.path / "gt" / "reduced.npz"
        if reduced.exists():  # reduced LBS: cubature points and the skinning MLP's weights
            obs.gt["reduced"] = dict(np.load(reduced).items())
    return obs


def build_query(sample_path: Path, transfer: bool = False) -> Query:
    """Every frame and camera of the sample; the interaction's control trajectory if it has one
    (``transfer``: the held-out interaction ``transfer/controls.npy`` of the transfer track)."""
    s = SampleDir(Path(sample_path))
    controls = s.path / ("transfer" if transfer else "gt") / "controls.npy"
    if transfer and not controls.exists():
        raise FileNotFoundError(f"{controls}: the sample has no held-out transfer interaction")
    return Query(n_frames=s.n_frames, fps=float(s.meta["time"]["fps"]), cameras=s.cameras(),
                 controls=np.load(controls) if controls.exists() else None)


def gt_meta(sample_path: Path) -> dict:
    return read_json(Path(sample_path) / "sample.json")
