"""Typed dataset profiles loaded from YAML (``configs/profiles/*.yaml``): the schema of what datagen makes.

Unknown keys and out-of-range values are errors that name the key (pydantic, ``extra='forbid'``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import UserError
from core.yamlio import CONFIG_DIR, load_yaml

PROFILE_DIR = CONFIG_DIR / "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Range = tuple[float, float]
_DEFORMABLE_LVIS = ("teddy_bear", "stuffed_animal", "pillow", "cushion", "ball", "soccer_ball", "tennis_ball",
                    "beachball", "balloon", "sponge", "doll", "rubber_duck", "toy", "marshmallow", "dumpling",
                    "bun", "bread", "pretzel", "jelly_bean", "mattress", "bean_bag", "slipper", "glove")


def _ordered(r: Range, name: str) -> Range:
    if r[0] > r[1]:
        raise ValueError(f"{name}: lower bound {r[0]} is above upper bound {r[1]}")
    return r


def _check_material(cfg: BaseModel, ranges: tuple[str, ...]) -> None:
    """Every named range ordered; Poisson's ratio inside (-1, 0.5) (shared by the elastic GT models)."""
    for name in ranges:
        _ordered(getattr(cfg, name), name)
    nu = cfg.poisson_ratio  # type: ignore[attr-defined]
    if not (-1.0 < nu[0] and nu[1] < 0.5):
        raise ValueError("poisson_ratio: must lie in (-1, 0.5)")


class ObjaverseConfig(_Strict):
    """Objaverse selection: explicit uids, else LVIS categories (+ optional keyword filter)."""

    uids: list[str] = []
    lvis_categories: list[str] = list(_DEFORMABLE_LVIS)
    keywords: list[str] = []
    max_objects: int = Field(200, ge=1)
    cache_dir: str | None = None  # default: the objaverse package's ~/.objaverse
    download_timeout_s: float = Field(20.0, gt=0.0)


class AssetConfig(_Strict):
    source: Literal["procedural", "objaverse", "gso", "local"] = "procedural"
    root: str | None = None  # folder for gso / local sources
    variants_per_shape: int = Field(3, ge=1, le=1000)
    shapes: list[str] | None = None  # procedural only; None = every family in the pack
    objaverse: ObjaverseConfig = ObjaverseConfig()
    max_faces: int = Field(200_000, ge=4)
    object_size_m: float = Field(1.0, gt=0.0, le=100.0)


class PerSplit(_Strict):
    """Physics samples drawn per object visit, by the object's split (ReconPhys: 10 train, 2 test)."""

    train: int = Field(1, ge=1, le=1000)
    val: int = Field(1, ge=1, le=1000)
    test: int = Field(1, ge=1, le=1000)


class SplitConfig(_Strict):
    """Fractions of *objects* per split; assignment is by a hash of the object id."""

    train: float = Field(0.7, ge=0.0, le=1.0)
    val: float = Field(0.1, ge=0.0, le=1.0)
    test: float = Field(0.2, ge=0.0, le=1.0)
    samples_per_object: PerSplit = PerSplit()

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitConfig":
        s = self.train + self.val + self.test  # samples_per_object is not a fraction
        if abs(s - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1 (got {s:g})")
        return self


def observed_frames(n_frames: int, observed_fraction: float) -> int:
    """Frames 0..n_obs-1 are observed: round(n_frames * observed_fraction), at least 1, at most n_frames - 1."""
    return min(n_frames - 1, max(1, round(n_frames * observed_fraction)))


class InteractionConfig(_Strict):
    """Control points on the surface driven along minimum-jerk trajectories (interaction track)."""

    kinds: list[Literal["lift", "drag", "poke", "stretch"]] = ["lift", "drag", "poke", "stretch"]
    displacement_m: Range = (0.2, 0.5)
    control_radius_m: float = Field(0.2, gt=0.0)
    control_max_neighbors: int = Field(12, ge=1)
    control_stiffness: float = Field(200.0, gt=0.0)  # N/m per control spring
    transfer: bool = True  # also simulate + render a held-out interaction for the transfer track

    @model_validator(mode="after")
    def _check(self) -> "InteractionConfig":
        _ordered(self.displacement_m, "displacement_m")
        if not self.kinds:
            raise ValueError("kinds: list at least one interaction kind")
        return self


class ScenarioConfig(_Strict):
    # mixed: each sample is an interaction with probability interaction_fraction, else a free fall (its seed)
    kind: Literal["freefall", "interaction", "mixed"] = "freefall"
    interaction_fraction: float = Field(0.5, ge=0.0, le=1.0)
    n_frames: int = Field(24, ge=2, le=10_000)
    fps: float = Field(24.0, gt=0.0, le=1000.0)
    observed_fraction: float = Field(2.0 / 3.0, gt=0.0, lt=1.0)
    drop_height_m: Range = (0.3, 1.0)  # height of the object's lowest point at t=0
    initial_speed_mps: Range = (0.0, 1.0)
    random_orientation: bool = True
    interaction: InteractionConfig = InteractionConfig()

    @model_validator(mode="after")
    def _check(self) -> "ScenarioConfig":
        _ordered(self.drop_height_m, "drop_height_m")
        _ordered(self.initial_speed_mps, "initial_speed_mps")
        if self.drop_height_m[0] < 0:
            raise ValueError("drop_height_m: must be >= 0 (the object starts above the ground)")
        return self


class SpringMassConfig(_Strict):
    """GT spring-mass sampling. Ranges are sampled uniformly (log10 ranges in log space)."""

    n_anchors: int = Field(64, ge=4, le=100_000)
    # fps: farthest-point subset of 20 n uniform interior samples — an even cover that reaches the
    # surface (Spring-Gaus eq. 4 volume sampling); uniform: n i.i.d. interior samples, whose sparse outer
    # shell leaves the lowest particle of a 1 m sphere ~10 cm above its surface, so the rendered surface
    # sinks that far into the ground once the particles rest on it; object_hash: ReconPhys §4.1
    # "consistent anchor sampling" (physics.spring_mass.anchors.sample_anchors on the posed canonical
    # Gaussian centres, seeded by a hash of the object id): a method that applies the same sampler
    # with the same settings to the sample's canonical Gaussians reproduces the GT's discretization
    anchor_sampling: Literal["fps", "uniform", "object_hash"] = "fps"
    anchor_fill: Literal["hull", "volume"] = "hull"  # object_hash only: the sampler's interior fill
    anchor_fill_res: int = Field(12, ge=2, le=256)  # object_hash only: the sampler's fill resolution
    knn: int = Field(8, ge=1, le=64)
    substeps: int = Field(0, ge=0, le=100_000)  # 0 = auto: the stability rule of physics.spring_mass.recommend_substeps
    force_law: Literal["spring_gaus", "phystwin"] = "spring_gaus"
    ground_model: Literal["spring_gaus", "phystwin"] = "phystwin"
    log10_stiffness: Range = (1.4, 2.2)
    damping: Range = (0.01, 0.1)
    friction: Range = (0.0, 1.0)
    restitution: Range = (0.2, 0.6)
    mass_kg: float = Field(1.0, gt=0.0)
    binding_k: int = Field(8, ge=1, le=64)

    @model_validator(mode="after")
    def _check(self) -> "SpringMassConfig":
        for name in ("log10_stiffness", "damping", "friction", "restitution"):
            _ordered(getattr(self, name), name)
        if not (0.0 <= self.restitution[0] and self.restitution[1] <= 1.0):
            raise ValueError("restitution: must lie in [0, 1]")
        if self.friction[0] < 0:
            raise ValueError("friction: must be >= 0")
        return self


class ReducedConfig(_Strict):
    """GT reduced-order LBS (Vid2Sim / Simplicits). Ranges default to Vid2Sim's."""

    n_volume_samples: int = Field(1500, ge=10)
    n_cubature: int = Field(150, ge=4)
    n_handles: int = Field(6, ge=1, le=64)
    skinning_steps: int = Field(300, ge=1)
    substeps: int = Field(2, ge=1)
    log10_youngs_modulus: Range = (4.0, 6.0)
    poisson_ratio: Range = (0.2, 0.45)
    density: float = Field(100.0, gt=0.0)  # kg/m^3 (foam-like, so a 1 m object weighs tens of kg at most)
    friction: Range = (0.0, 0.5)
    control_stiffness: float = Field(1e4, gt=0.0)  # 1/s^2: interaction penalty kappa_c (physics.reduced.solver)

    @model_validator(mode="after")
    def _check(self) -> "ReducedConfig":
        _check_material(self, ("log10_youngs_modulus", "poisson_ratio", "friction"))
        return self


class MPMConfig(_Strict):
    """GT MLS-MPM with fixed-corotated elasticity (PhysInteract eq. 1); E per particle."""

    n_particles: int = Field(3000, ge=8)
    n_grid: int = Field(48, ge=8, le=512)
    domain_half_width_m: float = Field(1.5, gt=0.0)
    domain_height_m: float = Field(3.0, gt=0.0)
    log10_youngs_modulus: Range = (4.0, 5.5)
    poisson_ratio: Range = (0.2, 0.4)
    density: float = Field(100.0, gt=0.0)
    friction: Range = (0.2, 0.8)
    ground: Literal["separate", "sticky", "slip"] = "separate"
    two_region_probability: float = Field(0.0, ge=0.0, le=1.0)  # E field split in two by a random plane
    region_log10_ratio: Range = (0.5, 1.0)  # |log10 E_a - log10 E_b| of a two-region field

    @model_validator(mode="after")
    def _check(self) -> "MPMConfig":
        _check_material(self, ("log10_youngs_modulus", "poisson_ratio", "friction", "region_log10_ratio"))
        return self


class PhysicsConfig(_Strict):
    model: Literal["spring_mass", "reduced", "mpm", "mixed"] = "spring_mass"
    mixed_models: list[Literal["spring_mass", "reduced", "mpm"]] = ["spring_mass", "reduced", "mpm"]
    mixed_shares: list[float] | None = None  # probabilities of mixed_models (None: uniform)

    @model_validator(mode="after")
    def _shares(self) -> "PhysicsConfig":
        if self.mixed_shares is not None and (len(self.mixed_shares) != len(self.mixed_models)
                                              or min(self.mixed_shares) < 0 or abs(sum(self.mixed_shares) - 1) > 1e-6):
            raise ValueError("mixed_shares: one non-negative share per mixed_models entry, summing to 1")
        return self
    spring_mass: SpringMassConfig = SpringMassConfig()
    reduced: ReducedConfig = ReducedConfig()
    mpm: MPMConfig = MPMConfig()


class RenderConfig(_Strict):
    renderer: Literal["splat", "blender"] = "splat"
    width: int = Field(64, ge=8, le=4096)
    height: int = Field(64, ge=8, le=4096)
    n_views: int = Field(4, ge=1, le=64)
    held_out_views: int = Field(1, ge=0, le=63)
    fov_deg: float = Field(40.0, gt=1.0, lt=170.0)
    # trajectory: cameras aimed at each sample's simulated trajectory so the object stays in view
    # (render.cameras.framing_cameras); fixed: camera_distance_m / look_at_height_m for every sample
    framing: Literal["trajectory", "fixed"] = "trajectory"
    frame_fill: float = Field(0.95, gt=0.05, le=1.0)  # trajectory: the content's bounding sphere spans this of the fov
    camera_distance_m: float = Field(3.2, gt=0.0)
    camera_elevation_deg: float = Field(15.0, ge=-89.0, le=89.0)
    look_at_height_m: float = 0.6
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    n_surface_points: int = Field(1500, ge=10, le=2_000_000)
    gaussian_scale_factor: float = Field(0.8, gt=0.0, le=10.0)
    preview: bool = True
    # renderer: blender (render/blender/): textured mesh + ground plane, one worker process per sample
    blender_engine: Literal["cycles", "workbench"] = "cycles"
    blender_device: Literal["auto", "cpu"] = "auto"  # auto: OptiX / CUDA when present, else CPU
    samples: int = Field(16, ge=1, le=65_536)  # Cycles samples per pixel (Workbench: AA samples 5/8/16)
    denoise: bool = True  # Cycles OpenImageDenoise
    denoise_prefilter: Literal["accurate", "fast"] = "accurate"  # OIDN prefiltering of its albedo / normal guides
    ground_plane: bool = True  # visible in RGB, never counted in alpha / depth
    # studio: neutral grey ground, flat ambient, one fixed sun; photoreal: textured ground, sky-gradient world and a
    # soft sun drawn per sample from its seed (render/blender/look.py). Recorded in sample.json render.scene
    look: Literal["studio", "photoreal"] = "studio"
    show_manipulator: bool = True  # interaction: draw a sphere at each control point, with its own mask (render/manipulator.py)
    timeout_s: float = Field(1800.0, gt=0.0)  # per-sample limit of the Blender worker process (subprocess mode)
    # inprocess: bpy in the datagen worker itself, imported once and reused (no Blender start-up per sample);
    # subprocess: a fresh Blender worker process per sample, killed past timeout_s
    blender_process: Literal["inprocess", "subprocess"] = "subprocess"

    @model_validator(mode="after")
    def _check(self) -> "RenderConfig":
        if self.held_out_views >= self.n_views:
            raise ValueError("held_out_views: must leave at least one seen view (< n_views)")
        if any(not 0.0 <= c <= 1.0 for c in self.background):
            raise ValueError("background: colour channels must lie in [0, 1]")
        return self


class DatasetProfile(_Strict):
    name: str
    description: str = ""
    seed: int = Field(0, ge=0)
    n_samples: int = Field(8, ge=1, le=1_000_000)
    assets: AssetConfig = AssetConfig()
    splits: SplitConfig = SplitConfig()
    scenario: ScenarioConfig = ScenarioConfig()
    physics: PhysicsConfig = PhysicsConfig()
    render: RenderConfig = RenderConfig()


def _format_validation(src: str, err: ValidationError) -> UserError:
    e = err.errors()[0]
    key = ".".join(str(p) for p in e["loc"]) or "(top level)"
    if e["type"] == "extra_forbidden":
        return UserError(src, f"unknown key '{key}'", "remove it or check its spelling against configs/profiles/tiny.yaml")
    msg = e["msg"].removeprefix("Value error, ")
    return UserError(src, f"key '{key}': {msg}", "fix the value in the YAML file")


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def resolve_profile_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    cand = PROFILE_DIR / f"{name_or_path}.yaml"
    if not cand.exists():
        raise UserError("--profile", f"unknown profile '{name_or_path}'", f"use one of {', '.join(list_profiles())} or a path to a YAML file")
    return cand


def load_profile(name_or_path: str, overrides: dict[str, Any] | None = None) -> DatasetProfile:
    """Load and validate a dataset profile; ``overrides`` are top-level keys (e.g. n_samples)."""
    path = resolve_profile_path(name_or_path)
    data = load_yaml(path)
    data.setdefault("name", path.stem)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return DatasetProfile.model_validate(data)
    except ValidationError as err:
        raise _format_validation(str(path), err) from None


def profile_from_dict(data: dict[str, Any], src: str = "<config>") -> DatasetProfile:
    try:
        return DatasetProfile.model_validate(data)
    except ValidationError as err:
        raise _format_validation(src, err) from None
