"""ReconPhys's card and typed settings (light: imported by `bench list` and config validation)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from core.method_config import MethodConfig, Range, StrictModel
from methods.base import MethodInputs, MethodSpec

CARD = MethodSpec(
    name="reconphys",
    label="ReconPhys",
    paper="ReconPhys: feed-forward reconstruction of simulation-ready physical assets from monocular video",
    description=("Feed-forward: a per-frame CNN + temporal ResNet/self-attention + MLP predicts global mass, "
                 "stiffness, damping, friction (and restitution; v0 from a ballistic fit of the pre-contact silhouettes); trained self-supervised through a "
                 "differentiable spring-mass rollout, IDW binding and splat rendering (eq. 11, self forcing)."),
    replaces=("TRELLIS 3DGS predictor (frozen) -> the sample's canonical Gaussians (asset/gaussians.ply); "
              "InternViT-300M encoder -> a 4-layer CNN trained from scratch; their simulator/renderer -> "
              "physics.spring_mass (warp adjoint) + render.splat; bench-scale budgets (40 anchors, 8-NN springs, "
              "tens of Adam steps on a few videos vs 500 objects); adds a restitution head (restitutive ground "
              "in the datasets), silhouette-moment inputs next to the CNN features, and v0 from a closed-form "
              "ballistic fit of the pre-contact silhouettes instead of a regressed v0 (random v0 in the datasets), "
              "optionally refined along the viewing direction by a line search of eq. 11 (v0_refine: depth); "
              "optional local line search of eq. 11 around the predicted stiffness/friction at inference "
              "(physics_refine; not feed-forward any more, reported as such); "
              "optional self-supervised curriculum (config curriculum: invert): per-video line-search inversion "
              "targets of eq. 11, regressed before the end-to-end training; optional held-out calibration "
              "(calibrate: holdout): each output shrunk towards the targets' mean by a factor fitted on "
              "training objects held out from a second distillation (still feed-forward)"),
    inputs=MethodInputs(views="mono", rgb=True, masks=True, canonical=True, controls=True),
    kind="method",
)


class ReconPhysBounds(StrictModel):
    """The decoder's output ranges (network.decode squashes each logit into its range)."""

    log10_stiffness: Range = (1.0, 3.0)
    log10_damping: Range = (-2.5, 0.0)
    friction: Range = (0.0, 1.0)
    restitution: Range = (0.0, 0.9)
    log10_mass: Range = (-0.5, 0.5)


class ReconPhysConfig(MethodConfig):
    """Bench-scale defaults (configs/methods/reconphys*.yaml)."""

    seed: int = 0
    threads: int | None = 1
    checkpoint: str | None = None  # checkpoint dir (default runs/checkpoints/reconphys/<dataset>)
    checkpoint_step: int | None = Field(None, ge=0)  # load this kept step instead of the latest
    # anchors / springs / binding (§4.1, eq. 5, 15)
    n_anchors: int = 40
    n_k: int = 8
    n_b: int = 6
    p_b: float = 2.0
    fill_res: int = 12
    anchor_fill: Literal["hull", "volume"] = "hull"
    # §3.2: anchor *displacements* are IDW-propagated to the Gaussian centres (exact at rest; "idw" is
    # Spring-Gaus eq. 15, which shrinks the canonical Gaussians towards 40 sparse anchors; "lbs" option)
    binding_mode: Literal["idw_disp", "idw", "lbs"] = "idw_disp"
    # simulator (the datasets' spring-mass law; global parameters shared by all springs)
    force_law: Literal["spring_gaus", "phystwin"] = "spring_gaus"
    ground_model: Literal["phystwin", "spring_gaus"] = "phystwin"
    substep_safety: float = 0.8
    min_substeps: int = 4
    max_substeps: int = 600
    max_speed: float = 100.0
    # control springs (interaction): each control point to the anchors within radius (N/m per spring)
    control_radius: float = 0.25
    control_neighbors: int = 8
    control_stiffness: float = 200.0
    bounds: ReconPhysBounds = ReconPhysBounds()
    # bench additions (motion.py): silhouette statistics as predictor inputs; v0 from the pre-contact frames
    silhouette_stats: bool = True
    contact_margin: float = 0.02
    # bench addition: "depth" refines v0 along the camera's ground-plane viewing direction by a line search
    # of eq. 11 over the observed frames (stage A: jointly with the physics; inference: with the predicted
    # physics, 2 x invert_grid-ish rollouts), within +-v0_span m/s of the ballistic estimate
    v0_refine: Literal["none", "depth"] = "none"
    v0_span: float = 0.6
    # bench addition: at inference, a local line search of eq. 11 on the observed frames around the
    # predicted value of these parameters (+- refine_span in the decoder's normalised units, refine_grid
    # points, then 5 across the best cell; forward only), after the v0 refinement. [] = feed-forward only
    physics_refine: list[str] = []
    refine_span: float = 0.2
    refine_grid: int = 5
    # physical predictor (§3.3)
    dim: int = 96
    n_blocks: int = 2
    n_heads: int = 4
    enc_width: int = 16
    enc_size: int = 48
    # training (§3.5): Adam on eq. 11 with self forcing, TBPTT window in frames
    steps: int = 60
    batch: int = 1
    lr: float = 3e-3
    lr_head_scale: float = 1.0
    grad_clip: float = 1.0
    save_every: int = 10
    tbptt_frames: int = 2
    lambda_alpha: float = 1.0
    tensorboard: bool = True
    # bench addition (curriculum.py): per-video inversion targets (stage A), then `distill_steps` of
    # regression onto them (stage B) before the `steps` of end-to-end training; "none": the paper's loop only
    curriculum: Literal["none", "invert"] = "none"
    invert_grid: int = 9
    invert_workers: int = 1
    distill_steps: int = 0
    distill_batch: int = 8
    # stage B: mirror / colour augmentation and the learning rate over its steps ("constant" | "cosine")
    distill_augment: bool = False
    distill_schedule: Literal["constant", "cosine"] = "constant"
    # stage-A search order (restitution is left at its range centre: +-0.1 of it changes eq. 11 by < 1e-4,
    # probes/identifiability.py), and the eq. 11 drop a coordinate must gain to move (0: any drop)
    invert_order: list[str] = ["friction", "log10_stiffness", "log10_damping"]
    invert_tol: float = 0.0
    # bench addition (calibration.py): "holdout" distils a second predictor without calib_fraction of the
    # training objects and shrinks the outputs towards the targets' mean by what it shows on them
    calibrate: Literal["none", "holdout"] = "none"
    calib_fraction: float = Field(0.2, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check(self) -> "ReconPhysConfig":
        from methods.reconphys.outputs import search_order

        search_order(self.invert_order)  # unknown parameter names fail here, not in the middle of a run
        search_order(self.physics_refine)
        if self.calibrate != "none" and (self.curriculum != "invert" or self.distill_steps <= 0 or self.steps != 0):
            raise ValueError("calibrate: holdout measures the stage-B predictor; it needs curriculum: invert, "
                             "distill_steps > 0 and steps: 0")
        return self
