"""PhysTwin's card and typed settings (light: imported by `bench list` and config validation)."""
from __future__ import annotations

from core.method_config import MethodConfig, Range
from methods.base import MethodInputs, MethodSpec

CARD = MethodSpec(
    name="phystwin",
    label="PhysTwin (bench-scale)",
    paper="Jiang et al., PhysTwin: Physics-Informed Reconstruction and Simulation of Deformable Objects from Videos, 2025",
    description=("Spring-mass twin (radius topology, per-spring Hooke stiffness, dashpot + drag, impulse ground "
                 "contact) fitted by CMA-ES then Adam through a differentiable simulator to fused depth clouds "
                 "and lifted tracks; frame-0 Gaussians deformed by LBS."),
    replaces=("CoTracker3 -> projected GT surface tracks + pixel noise (1 px) + depth-test occlusion + 10% dropout, "
              "lifted with observed depth; Grounded-SAM2 -> dataset masks; TRELLIS shape prior + registration -> "
              "fused first-frame depth points + depth-aware visual hull of the seen views"),
    inputs=MethodInputs(views="multi", rgb=True, masks=True, depth=True, tracks=True, controls=True),
    kind="method",
)


class PhysTwinConfig(MethodConfig):
    """Bench-scale defaults (configs/methods/phystwin.yaml); phystwin_paper.yaml has larger budgets."""

    seed: int = 0
    threads: int | None = 1
    max_views: int = 3
    verbose: bool = False
    timeout_s: float | None = 1800
    # tracker stand-in (CoTracker3 + depth lifting)
    track_noise_px: float = 1.0
    track_dropout: float = 0.1
    track_depth_tol_px: float = 3.0
    n_tracks: int = 300
    v0_frames: int = 4
    embed_k: int = 4
    # geometry (TRELLIS stand-in) and observations
    n_nodes: int = 100
    hull: bool = True
    hull_cells: int = 4000
    hull_tol_px: float = 2.0
    n_obs_points: int = 400
    total_mass_kg: float = 1.0
    max_substeps: int = 1500
    control_radius_spacing: float = 2.0
    control_max_neighbors: int = 8
    control_stiffness: float = 1000.0
    # stage 1a: CMA-ES
    cma_generations: int = 6
    cma_popsize: int = 8
    cma_sigma0: float = 0.25
    bounds: dict[str, Range] | None = None  # e.g. {log10_Y: [1.5, 4.5]}; radius in units of the node spacing
    # stage 1b: Adam on dense stiffness + collision
    adam_iterations: int = 4
    adam_lr: float = 0.05
    adam_lr_collision: float = 0.05
    adam_max_log_shift: float = 1.0
    # cost weights (eq. 3)
    w_chamfer: float = 1.0
    w_track: float = 1.0
    w_acc: float = 0.01
    # stage 2: appearance
    n_gaussians: int = 1200
    appearance_iterations: int = 60
    appearance_lr: float = 0.05
    appearance_lr_means: float = 0.002
    appearance_lambda_dssim: float = 0.2
    binding_k: int = 6
    gaussian_scale_factor: float = 0.9
