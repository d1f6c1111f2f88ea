"""PhysInteract's card and typed settings (light: imported by `bench list` and config validation)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.method_config import MethodConfig, Range
from methods.base import MethodInputs, MethodSpec

CARD = MethodSpec(
    name="physinteract",
    label="PhysInteract (bench-scale)",
    paper="PhysInteract: physics-based modelling of human-object interactions (physinteract.txt)",
    description=("Voxel-filled Gaussians as MLS-MPM particles with a per-particle E / nu field; the field and "
                 "the contact-point trajectory are optimised jointly (L1 + SSIM + mask, smoothness + trajectory "
                 "prior; AdamW, cosine) through the differentiable MPM; novel interactions re-simulate the field."),
    replaces=("VLM + grounding + SAM contact masks -> recorded control points at frame 0 projected into the "
              "monocular view + pixel noise, back-projected with noisy depth (eq. 2); 4D-Humans lifted tracks -> "
              "recorded control displacements + a Gaussian random walk; 5000 iterations -> a few dozen"),
    inputs=MethodInputs(views="mono", canonical=True, controls=True),
    kind="method",
)


class PhysInteractConfig(MethodConfig):
    """Bench-scale defaults (configs/methods/physinteract.yaml)."""

    seed: int = 0
    threads: int | None = 1
    verbose: bool = False
    timeout_s: float | None = 3600
    # perception stand-ins (grounding + SAM contact masks, 4D-Humans trajectory)
    contact_pixel_noise: float = 1.0
    contact_depth_noise_m: float = 0.01
    trajectory_noise_m: float = 0.01
    control_radius_m: float = 0.1
    # geometry / simulation
    n_particles: int = 300
    n_grid: int = Field(16, ge=9)  # 4 cells (3 wall + 1) stay clear on every side
    domain_half_width_m: float = 0.6
    density: float = 100.0
    substeps: int | None = Field(None, ge=1)  # None: the MPM stability rule
    binding_k: int = 8
    smooth_k: int = 6
    ground_friction: float = 0.5
    # optimisation (eq. 3-5, AdamW + cosine)
    material_field: Literal["per_particle", "uniform"] = "per_particle"
    optimize_trajectory: bool = True
    optimize_v0: bool = True
    iterations: int = 30
    log10_E_init: float = 4.0
    log10_E_bounds: Range = (3.0, 6.5)  # covers the MPM profiles, two-region fields included
    nu_init: float = 0.3
    lr_material: float = 0.08
    lr_nu: float = 0.02
    lr_trajectory: float = 0.004
    lr_v0: float = 0.05
    weight_decay: float = 0.0
    lambda_ssim: float = 0.2
    lambda_mask: float = 1.0
    lambda_reg: float = 1.0
    lambda_smooth: float = 0.1
    lambda_trajectory: float = 10.0
    grad_smoothing: int = 0
