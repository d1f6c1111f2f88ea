"""What a Blender frame shows besides the object: ground, world (sky) and sun. No bpy: the look is a plain dict
that datagen draws per sample, the worker builds, and sample.json records (``render.scene``), so methods and
metrics know what the pixels around the object are.

``studio``: a neutral grey ground plane, the background colour as ambient world, one fixed sun.
``photoreal``: a textured ground (procedural checker or noise in two seeded colours), soft shadows from a sun
whose direction, size and strength are drawn from the sample's seed, and a sky-gradient world that lights the
scene and shows above the horizon (instead of the flat ``background`` colour).
"""
from __future__ import annotations

from typing import Any

import numpy as np

GROUND_COLOR = (0.5, 0.5, 0.5)  # display (sRGB) value of the neutral ground
GROUND_SIZE_M = 200.0


def studio_look(background: tuple[float, float, float], ground_plane: bool, ground_height: float = 0.0) -> dict[str, Any]:
    return {"kind": "studio",
            "ground": {"visible": bool(ground_plane), "height": float(ground_height), "size_m": GROUND_SIZE_M,
                       "pattern": "none", "color_srgb": list(GROUND_COLOR), "color2_srgb": list(GROUND_COLOR),
                       "scale_m": 1.0, "roughness": 0.5},
            "sun": {"elevation_deg": 50.0, "azimuth_deg": 30.0, "strength_w_m2": 2.0, "angle_deg": 2.0},
            "world": {"kind": "flat", "color_srgb": [float(c) for c in background], "strength": 0.5}}


def photoreal_look(rng: np.random.Generator, background: tuple[float, float, float], ground_plane: bool,
                   ground_height: float = 0.0) -> dict[str, Any]:
    """A per-sample look drawn from ``rng``: ground colours and pattern, sun direction / size / strength."""
    base = rng.uniform(0.25, 0.65, 3)
    tint = np.clip(base * rng.uniform(0.55, 0.8) + rng.uniform(-0.05, 0.05, 3), 0.05, 0.95)
    look = studio_look(background, ground_plane, ground_height)
    look["kind"] = "photoreal"
    look["ground"].update(pattern=str(rng.choice(["checker", "noise"])), color_srgb=base.round(4).tolist(),
                          color2_srgb=tint.round(4).tolist(), scale_m=float(round(rng.uniform(0.15, 0.6), 4)),
                          roughness=float(round(rng.uniform(0.4, 0.9), 4)))
    look["sun"] = {"elevation_deg": float(round(rng.uniform(30.0, 70.0), 3)),
                   "azimuth_deg": float(round(rng.uniform(0.0, 360.0), 3)),
                   "strength_w_m2": float(round(rng.uniform(2.0, 4.0), 3)),
                   "angle_deg": float(round(rng.uniform(3.0, 12.0), 3))}  # angular diameter: soft shadow edges
    look["world"] = {"kind": "sky", "color_srgb": [float(c) for c in background],
                     "zenith_srgb": np.clip(np.asarray(background) * rng.uniform(0.55, 0.8, 3), 0, 1).round(4).tolist(),
                     "strength": float(round(rng.uniform(0.6, 1.0), 3))}
    return look


def splat_look(background: tuple[float, float, float]) -> dict[str, Any]:
    """The splat renderer draws the object's Gaussians over a flat background: no ground, no light."""
    return {"kind": "splat", "ground": {"visible": False}, "sun": None,
            "world": {"kind": "flat", "color_srgb": [float(c) for c in background], "strength": None}}
