"""Benchmark: which spring-mass GT parameters does a monocular video identify, against the cost of
simulating the same physics on another anchor layout?

For each sample, the GT is re-simulated with the GT's own particles, springs and binding (the oracle's
path, so the unperturbed loss is ~0) under one perturbed parameter at a time, rendered into the
monocular view, and compared with the observed GT frames by ReconPhys's photometric loss (eq. 11: RGB
MSE + alpha MSE, frames 1..n_obs-1). The reference is the loss of the *unperturbed* GT physics
simulated by ReconPhys's pipeline (its own hash-seeded anchors and binding): a parameter whose
perturbation costs less than that layout change cannot be recovered by a method with another
discretization, however well it is trained.

    python probes/identifiability.py DATA [--split train] [--n 8] [--anchors 120] [--knn 10] [--binding lbs]
                                              [--binding-k 8] [--fill volume]

The "GT sampler" rows re-draw the GT's anchors with its own sampler under other seeds (and at twice the
count): how much the video depends on the discretization rather than on the physical parameters.
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

PERTURBATIONS = {  # name -> (parameter, function of the GT value)
    "log10 K +0.2": ("stiffness", lambda v: v * 10**0.2),
    "log10 K -0.2": ("stiffness", lambda v: v / 10**0.2),
    "zeta0 x2": ("damping", lambda v: v * 2.0),
    "zeta0 /2": ("damping", lambda v: v / 2.0),
    "friction +0.2": ("friction", lambda v: min(v + 0.2, 1.0)),
    "friction -0.2": ("friction", lambda v: max(v - 0.2, 0.0)),
    "restitution +0.1": ("restitution", lambda v: min(v + 0.1, 1.0)),
    "restitution -0.1": ("restitution", lambda v: max(v - 0.1, 0.0)),
    "v0 +0.05 m/s (x)": ("v0", lambda v: [v[0] + 0.05, v[1], v[2]]),
    "substeps x2 (same physics)": ("substeps", lambda v: 2 * v),
}
RELAYOUTS = {  # name -> (anchor count factor, seed of the new layout); the GT's own sampler, same pose
    "GT sampler, other seed (same N)": (1, 1),
    "GT sampler, another seed (same N)": (1, 2),
    "GT sampler, 2x anchors": (2, 1),
}


def posed_mesh_offset(sample_dir: Path, meta: dict, particles0: np.ndarray, means0: np.ndarray) -> tuple:
    """The sample's mesh (object frame) and the translation that datagen.sample_build.build_scene posed it with.

    build_scene poses every point as ``x @ R.T + offset``, with offset_z = drop height - the lowest
    posed mesh vertex and offset_xy = minus the xy mean of (anchors, surface samples, mesh vertices).
    The anchors (particles0) and surface samples (the canonical Gaussians) are stored posed, so the
    offset is recovered exactly up to float32 rounding.
    """
    from datagen.assets.meshio import load_mesh_file
    from datagen.assets.query import inside

    mesh = load_mesh_file(sample_dir / "asset" / "model.obj")
    rot = np.asarray(meta["scenario"]["initial_rotation"], np.float64)
    vr = mesh.vertices @ rot.T
    off = np.zeros(3)
    off[2] = float(meta["scenario"]["drop_height_m"]) - vr[:, 2].min()
    off[:2] = -(particles0[:, :2].sum(0) + means0[:, :2].sum(0) + vr[:, :2].sum(0)) / len(vr)
    if not inside(mesh, (particles0 - off) @ rot).all():
        raise ValueError(f"{sample_dir}: the recovered pose does not put the GT anchors inside the mesh")
    return mesh, rot, off


def relayout(base: dict, sample_dir: Path, meta: dict, factor: int, seed: int) -> dict:
    """The oracle asset with anchors re-drawn by the GT's own sampler (``fps``: 20n mesh-volume samples +
    FPS; ``object_hash``: the shared ``sample_anchors``) under another seed, and new kNN springs: the same
    object, pose and physics, another discretization."""
    from datagen.assets import sample_volume
    from physics.point_sampling import farthest_point_sampling
    from physics.spring_mass import knn_springs

    gt = base["gt"]
    x0 = np.asarray(gt["particles0"], np.float64)
    n = factor * x0.shape[0]
    how = meta["physics"].get("anchor_sampling", {"kind": "fps"})
    if how["kind"] == "object_hash":  # the shared sampler on the canonical centres, another seed
        from physics.spring_mass.anchors import sample_anchors

        anchors = sample_anchors(np.asarray(base["canonical"]["means"], np.float32), n, seed, int(how["fill_res"]),
                                 how["fill"])
    else:
        mesh, rot, off = posed_mesh_offset(sample_dir, meta, x0, np.asarray(base["canonical"]["means"], np.float64))
        rng = np.random.default_rng(seed)
        dense = sample_volume(mesh, 20 * n, rng)
        anchors = (dense[farthest_point_sampling(dense, n, int(rng.integers(len(dense))))] @ rot.T + off)
        anchors = anchors.astype(np.float32)
    edges, rest = knn_springs(anchors, int(meta["physics"]["topology"]["k"]))
    new = copy.deepcopy({k: v for k, v in gt.items() if k != "points"})
    # lighter particles on shorter springs: the explicit step's stability limit shrinks ~ factor^(2/3)
    new["physics"]["substeps"] = int(new["physics"]["substeps"]) * (2 if factor > 1 else 1)
    return {**base, "gt": {**new, "points": gt["points"], "particles0": anchors, "edges": edges, "rest": rest}}


def photometric(pred_rgb: np.ndarray, pred_alpha: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> float:
    """Eq. 11 as ReconPhys trains on it: mean over frames 1.. of RGB MSE + alpha MSE."""
    d_rgb = ((pred_rgb[1:] - rgb[1:]) ** 2).mean(axis=(1, 2, 3))
    d_a = ((pred_alpha[1:] - alpha[1:]) ** 2).mean(axis=(1, 2))
    return float((d_rgb + d_a).mean())


def sample_losses(path: Path, rp_cfg: dict) -> dict[str, float]:
    from methods.base import Query
    from methods.baselines import OracleBaseline
    from methods.observation import build_observation
    from methods.reconphys import ReconPhys
    from methods.reconphys.simulation import build_scene, forward_loss

    oracle, rp = OracleBaseline(), ReconPhys(rp_cfg)
    obs_o = build_observation(path, oracle.inputs)
    item = rp.load_training_set([path])[0]
    view = next(iter(item["obs"].rgb))
    rgb, alpha = item["obs"].rgb[view], item["obs"].alpha[view]
    query = Query(n_frames=item["obs"].n_observed, fps=item["obs"].fps, cameras=[item["camera"]])
    base = oracle.fit(obs_o)

    def oracle_loss(asset) -> float:
        pred = oracle.predict(asset, query)
        v = next(iter(pred.rgb))
        return photometric(pred.rgb[v], pred.alpha[v], rgb, alpha)

    out = {"GT (oracle path)": oracle_loss(base)}
    gt0 = base["gt"]["physics"]["params"]
    for name, (key, fn) in PERTURBATIONS.items():
        asset = {**base, "gt": copy.deepcopy(base["gt"])}
        if key == "v0":
            sc = asset["gt"]["scenario"]
            sc["initial_velocity"] = fn(list(sc["initial_velocity"]))
        elif key == "substeps":  # time-step convergence: the same physics should give the same video
            asset["gt"]["physics"]["substeps"] = fn(int(asset["gt"]["physics"]["substeps"]))
        else:
            p = asset["gt"]["physics"]["params"]
            p[key] = fn(float(p[key]))
            if key == "stiffness":
                p["log10_stiffness"] = float(np.log10(p[key]))
                phys = asset["gt"]["physics"]  # stiffer: more substeps (stability limit ~ 1/sqrt(K))
                phys["substeps"] = int(np.ceil(int(phys["substeps"]) * max(1.0, np.sqrt(p[key] / float(gt0[key])))))
        out[name] = oracle_loss(asset)
    meta = json.loads((path / "sample.json").read_text())
    for name, (factor, seed) in RELAYOUTS.items():
        out[name] = oracle_loss(relayout(base, path, meta, factor, seed))
    gt = base["gt"]["physics"]["params"]
    phys = {"stiffness": gt["stiffness"], "damping": gt["damping"], "friction": gt["friction"],
            "restitution": gt["restitution"], "mass": gt.get("mass_kg", 1.0),
            "v0": np.asarray(base["gt"]["scenario"]["initial_velocity"], np.float32)}
    sc = item["scene"]
    for fill in ("hull", "volume"):
        rp.cfg["anchor_fill"] = fill
        if fill != "hull":  # the item's scene was built with the default (hull) fill
            sc = build_scene(item["obs"].canonical, item["obs"].object_id, sc.ground, rp.cfg)
        out[f"GT physics, ReconPhys layout ({fill})"] = forward_loss(sc, phys, rp.cfg, item["camera"],
                                                                     item["obs"].background, item["target"],
                                                                     item["obs"].fps)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--anchors", type=int, default=120, help="ReconPhys anchors (match the GT's for a fair layout)")
    ap.add_argument("--knn", type=int, default=10)
    ap.add_argument("--binding", default="idw_disp", help="ReconPhys binding_mode (idw_disp | lbs | idw)")
    ap.add_argument("--binding-k", type=int, default=6)
    ap.add_argument("--fill", default="hull", choices=("hull", "volume"),
                    help="ReconPhys anchor fill whose layout row is the reference column")
    args = ap.parse_args()
    import torch

    from core.dataset import select_samples

    torch.set_num_threads(1)
    rows = [r for r in select_samples(args.data, args.split)
            if json.loads((args.data / r["sample_id"] / "sample.json").read_text())["physics"]["model"] == "spring_mass"]
    per = []
    for r in rows[: args.n]:
        per.append(sample_losses(args.data / r["sample_id"], {"n_anchors": args.anchors, "n_k": args.knn,
                                                                   "binding_mode": args.binding, "n_b": args.binding_k}))
        print(r["sample_id"], " ".join(f"{v:.4f}" for v in per[-1].values()), flush=True)
    names = list(per[0])
    layout = np.asarray([p[f"GT physics, ReconPhys layout ({args.fill})"] for p in per])
    print(f"\n{len(per)} samples of {args.data} ({args.split}); eq. 11 loss vs the observed monocular GT frames")
    print(f"{'change':42s} {'mean':>8s} {'median':>8s} {'< ' + args.fill + ' layout':>14s}")
    for k in names:
        v = np.asarray([p[k] for p in per])
        print(f"{k:42s} {v.mean():8.4f} {np.median(v):8.4f} {int((v < layout).sum()):>6d} of {len(v)}")


if __name__ == "__main__":
    main()
