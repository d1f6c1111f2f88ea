"""Vid2Sim's card and typed settings (light: imported by `bench list` and config validation)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.method_config import MethodConfig, Range, StrictModel
from methods.base import MethodInputs, MethodSpec

CARD = MethodSpec(
    name="vid2sim",
    label="Vid2Sim",
    paper="Vid2Sim: Generalizable, Video-based Reconstruction of Appearance, Geometry and Physics for Mesh-free Simulation",
    description=("Stage I: a video transformer + 4-layer MLP heads regress E, nu and (hypernetwork) the LBS MLP's "
                 "final layer; Stage II: Gaussian refinement, data-free LBS (+ optional Neural Jacobian), then Adam "
                 "on the rendering loss (eq. 6) over random 4-frame windows through the implicit-Euler reduced "
                 "simulator (neo-Hookean, adjoint gradients)."),
    replaces=("VideoMAE backbone -> a 2-layer video transformer (tubelets, space/time embeddings) trained from "
              "scratch; LGM Gaussians -> the sample's canonical Gaussians (asset/gaussians.ply), volume filled in "
              "their convex hull; their simulator -> physics.reduced; bench-scale budgets (4+1 handles, 60 cubature "
              "points, tens of Stage II iterations vs 10 handles, 500 points, 400 iterations); density and floor "
              "friction assumed (config); adds a v0 head and v0 refinement (random launch velocity in the datasets); "
              "optional forward-only line search of log10 E on the observed frames before Stage II's Adam (E_scan)"),
    inputs=MethodInputs(views="mono", rgb=True, masks=True, canonical=True),
    kind="method",
)


class Vid2SimBounds(StrictModel):
    """Ranges of the Stage I outputs and of Stage II (paper: E in [1e4, 1e6], nu in [0.2, 0.5])."""

    log10_E: Range = (3.5, 6.0)  # covers every shipped reduced profile (quick_reduced draws from 10^3.7)
    nu: Range = (0.2, 0.45)


class Vid2SimConfig(MethodConfig):
    """Bench-scale defaults (configs/methods/vid2sim.yaml)."""

    seed: int = 0
    threads: int | None = 1
    checkpoint: str | None = None  # checkpoint dir (default runs/checkpoints/vid2sim/<dataset>)
    checkpoint_step: int | None = Field(None, ge=0)  # load this kept step instead of the latest
    verbose: bool = False
    # geometry + reduced simulator (§3, §5.2: 10 handles, 500 cubature points in the paper)
    n_volume: int = 400
    volume_sampling: Literal["fps", "uniform"] = "fps"
    fill_res: int = 12
    n_cubature: int = 60
    n_handles: int = 4
    lbs_width: int = 64
    lbs_depth: int = 3
    lbs_seed: int = 0
    density: float = 100.0
    friction: float = 0.25
    substeps: int = 2
    floor_stiffness: float = 1e5
    newton_fallback_tol: float = 1e-5
    bounds: Vid2SimBounds = Vid2SimBounds()
    v0_max: float = 1.0
    # Stage I network (VideoMAE stand-in) and training
    enc_size: int = 32
    patch: int = 8
    tubelet: int = 2
    dim: int = 64
    depth: int = 2
    heads: int = 4
    max_tubelets: int = 32
    head_width: int = 64
    steps: int = 60
    batch: int = 2
    lr: float = 1e-3
    grad_clip: float = 1.0
    save_every: int = 10
    w_E: float = 1.0
    w_nu: float = 1.0
    w_v0: float = 1.0
    w_lbs: float = 0.1
    simplicits_batch: int = 4
    perturb_scale: float = 0.3
    w_orth: float = 10.0
    tensorboard: bool = True
    # Stage II (§4.2, §5.2)
    gs_steps: int = 10
    lr_gs: float = 0.01
    lbs_steps: int = 40
    lr_lbs_pre: float = 1e-3
    neural_jacobian: bool = False
    jac_width: int = 64
    jac_steps: int = 600
    lr_jac_pre: float = 3e-3
    jac_points: int = 128
    lambda_jacobian: float = 0.01
    iterations: int = 30
    window: int = 4
    start_tol: float = 1e-6
    lr_log10_E: float = 0.05
    lr_nu: float = 0.02
    lr_lbs: float = 1e-5
    lr_jac: float = 1e-5
    lr_v0: float = 0.005
    E_scan: int = 0
    optimize_v0: bool = True
    v0_steps: int = 20
    v0_frames: int = 4
    lr_v0_fit: float = 0.05
    lambda_alpha: float = 1.0
    deform_covariances: bool = False
