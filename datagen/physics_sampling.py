"""Sampling of ground-truth physical parameters from a profile's ranges (seeded)."""
from __future__ import annotations

from typing import Any

import numpy as np

from datagen.profile import MPMConfig, ReducedConfig, SpringMassConfig


def _uniform(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(r[0] if r[0] == r[1] else rng.uniform(r[0], r[1]))


def sample_spring_mass_params(cfg: SpringMassConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draw global GT spring-mass parameters; stiffness is log-uniform (log10 range in the config)."""
    log10_k = _uniform(rng, cfg.log10_stiffness)
    return {
        "force_law": cfg.force_law,
        "ground_model": cfg.ground_model,
        "log10_stiffness": log10_k,
        "stiffness": float(10.0**log10_k),
        "damping": _uniform(rng, cfg.damping),
        "friction": _uniform(rng, cfg.friction),
        "restitution": _uniform(rng, cfg.restitution),
        "mass_kg": float(cfg.mass_kg),
    }


def sample_reduced_params(cfg: ReducedConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draw GT Young's modulus (log-uniform), Poisson ratio and friction (Vid2Sim ranges)."""
    log10_e = _uniform(rng, cfg.log10_youngs_modulus)
    return {"log10_youngs_modulus": log10_e, "youngs_modulus": float(10.0**log10_e),
            "poisson_ratio": _uniform(rng, cfg.poisson_ratio), "density": float(cfg.density),
            "friction": _uniform(rng, cfg.friction)}


def sample_mpm_params(cfg: MPMConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draw GT MPM material: log-uniform E (optionally a two-region field), nu, friction."""
    log10_e = _uniform(rng, cfg.log10_youngs_modulus)
    two = bool(rng.uniform() < cfg.two_region_probability)
    out = {"log10_youngs_modulus": log10_e, "youngs_modulus": float(10.0**log10_e),
           "poisson_ratio": _uniform(rng, cfg.poisson_ratio), "density": float(cfg.density),
           "friction": _uniform(rng, cfg.friction), "ground": cfg.ground,
           "E_field": "two_region" if two else "uniform"}
    if two:
        out["region_log10_ratio"] = _uniform(rng, cfg.region_log10_ratio)
        out["region_normal"] = random_unit_vector(rng).tolist()
    return out


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random rotation matrix (normalised Gaussian quaternion, Shoemake)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_unit_vector(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)
