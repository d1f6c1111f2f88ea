"""Vid2Sim's simulation-ready asset on disk, and re-simulation from it (no checkpoint needed).

    ASSET/physics.json      E, nu, density, friction, v0; simulator settings (fps, substeps, dt, floor,
                            ground, gravity); LBS layout (handles, width, depth, object frame); cubature
                            points and volumes; Stage I estimate, timings and optimisation history
    ASSET/lbs.safetensors   the LBS weight MLP (``lbs.*``) and, if used, the Neural Jacobian (``jacobian.*``)
    ASSET/gaussians.ply     the canonical Gaussians (the sample's, appearance refined on frame 0)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "vid2sim-asset/1"


def export_asset(asset: dict[str, Any], cfg: dict[str, Any], out_dir: Path) -> None:
    """Write ``asset`` (the output of ``Vid2Sim.fit``) into ``out_dir`` (see module doc)."""
    from safetensors.torch import save_file

    from render.gaussians_ply import write_gaussians_ply

    sc, est = asset["scene"], asset["estimate"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"lbs.{k}": v.detach().cpu().contiguous() for k, v in est.lbs.state_dict().items()}
    if est.jac is not None:
        tensors.update({f"jacobian.{k}": v.detach().cpu().contiguous() for k, v in est.jac.state_dict().items()})
    save_file(tensors, str(out_dir / "lbs.safetensors"))
    write_gaussians_ply(out_dir / "gaussians.ply", sc.means0, sc.scales, sc.colors, sc.opacities)
    doc = {"format": FORMAT, "model": "reduced (LBS, stable neo-Hookean, implicit Euler)",
           "physics": {"youngs_modulus": est.E, "poisson_ratio": est.nu, "density": cfg["density"],
                       "friction": cfg["friction"], "v0": np.asarray(est.v0).tolist()},
           "stage1": asset["stage1"],
           "simulator": {"fps": asset["fps"], "substeps": cfg["substeps"], "dt": 1.0 / (asset["fps"] * cfg["substeps"]),
                         "floor_stiffness": cfg["floor_stiffness"], "ground_height": sc.ground, "gravity": list(sc.gravity)},
           "lbs": {"weights": "lbs.safetensors", "n_handles": est.lbs.n_handles, "width": cfg["lbs_width"],
                   "depth": cfg["lbs_depth"], "activation": "elu", "constant_handle": 0, "center": sc.center.tolist(),
                   "scale": sc.scale, "neural_jacobian": est.jac is not None, "jacobian_width": cfg["jac_width"]},
           "cubature": {"points": sc.cub_X.tolist(), "volumes": sc.cub_V.tolist()},
           "gaussians": "gaussians.ply (the sample's canonical Gaussians, appearance refined on frame 0)",
           "background": list(asset["background"]),
           "checkpoint": cfg.get("checkpoint"), "checkpoint_step": cfg.get("checkpoint_step"),
           "timing": asset["timing"], "history": est.history}
    (out_dir / "physics.json").write_text(json.dumps(doc, default=float))


def load_asset(path: str | Path) -> dict[str, Any]:
    """Read an exported asset back into ``{"scene", "estimate", "cfg", "fps", "background"}`` (float64 LBS)."""
    import torch
    from safetensors.torch import load_file

    from methods.vid2sim.lbs import NeuralJacobian
    from methods.vid2sim.refine import Estimate, Scene
    from physics.reduced.skinning import SkinningMLP
    from render.gaussians_ply import read_gaussians_ply

    path = Path(path)
    d = json.loads((path / "physics.json").read_text())
    g = read_gaussians_ply(path / "gaussians.ply")
    t = load_file(str(path / "lbs.safetensors"))
    lb, sim, ph = d["lbs"], d["simulator"], d["physics"]
    lbs = SkinningMLP(int(lb["n_handles"]), lb["center"], float(lb["scale"]), width=int(lb["width"]),
                      depth=int(lb["depth"]), dtype=torch.float64)
    lbs.load_state_dict({k[4:]: v for k, v in t.items() if k.startswith("lbs.")})
    jac = None
    if lb["neural_jacobian"]:
        jac = NeuralJacobian(lbs.n_handles, lbs.center, lbs.scale, int(lb["jacobian_width"]))
        jac.load_state_dict({k[9:]: v for k, v in t.items() if k.startswith("jacobian.")})
    cub = np.asarray(d["cubature"]["points"], np.float64)
    s = np.asarray(g["scales"])
    scene = Scene(np.asarray(g["means"], np.float64), np.asarray(g["colors"], np.float32),
                  (s.mean(-1) if s.ndim == 2 else s).astype(np.float32), np.asarray(g["opacities"], np.float32),
                  cub, cub, np.asarray(d["cubature"]["volumes"], np.float64), np.asarray(lb["center"]),
                  float(lb["scale"]), float(sim["ground_height"]), tuple(sim["gravity"]))
    est = Estimate(E=float(ph["youngs_modulus"]), nu=float(ph["poisson_ratio"]), v0=np.asarray(ph["v0"], np.float64),
                   lbs=lbs, jac=jac)
    cfg = {"density": ph["density"], "friction": ph["friction"], "substeps": sim["substeps"],
           "floor_stiffness": sim["floor_stiffness"]}
    return {"scene": scene, "estimate": est, "cfg": cfg, "fps": float(sim["fps"]), "background": tuple(d["background"])}


def simulate_asset(asset: str | Path | dict[str, Any], n_frames: int, fps: float | None = None) -> np.ndarray:
    """Gaussian centres (T, M, 3) float32 of a loaded or exported asset simulated from rest for ``n_frames``."""
    import torch

    from methods.vid2sim.refine import reduced_params, rollout

    a = load_asset(asset) if isinstance(asset, (str, Path)) else asset
    sc, est = a["scene"], a["estimate"]
    with torch.no_grad():
        res = rollout(est.sim_model(), sc, reduced_params(a["cfg"], sc, float(fps or a["fps"])), int(n_frames),
                      est.E, est.nu, est.v0)
    return res.positions.numpy().astype(np.float32)
