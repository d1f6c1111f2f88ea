"""The Method interface: what a method may see (inputs), and what it must return.

A method declares its inputs; the harness builds an :class:`Observation` holding only those
(observed frames of the allowed views, optionally depth, canonical Gaussians, observed tracks).
``fit`` turns an observation into an asset (per-scene optimisation or a feed-forward pass);
``predict`` renders/simulates the asset for a :class:`Query` (all frames, all cameras).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np


#: keys of a method YAML that the harness reads (not the method's hyper-parameters)
HARNESS_CONFIG_KEYS = frozenset({"timeout_s", "description", "name"})


def merge_config(method: str, defaults: dict[str, Any], config: dict[str, Any] | None,
                 nested: tuple[str, ...] = ()) -> dict[str, Any]:
    """``defaults`` overridden by ``config``; dict-valued ``nested`` keys are merged one level deep.

    Keys that are neither defaults nor harness keys raise ValueError naming the method and the keys.
    """
    cfg = {**defaults, **{k: dict(defaults[k]) for k in nested}}
    unknown = set(config or {}) - set(defaults) - HARNESS_CONFIG_KEYS
    if unknown:
        raise ValueError(f"{method}: unknown config keys {sorted(unknown)}")
    for k, v in (config or {}).items():
        if k in nested:
            cfg[k].update(v or {})
        elif k in defaults:
            cfg[k] = v
    return cfg


@dataclass(frozen=True)
class MethodInputs:
    """What a method is allowed to read from a sample (shown on the leaderboard)."""

    views: Literal["mono", "multi"] = "multi"  # mono: the sample's monocular view; multi: all seen views
    rgb: bool = True
    masks: bool = True  # the alpha channel of the frames
    depth: bool = False
    canonical: bool = False  # the object's canonical Gaussians at frame 0 (asset/gaussians.ply)
    tracks: bool = False  # observed 3D tracks of the surface material points (observed frames only)
    gt_physics: bool = False  # privileged GT parameters + initial state: oracle baselines only
    controls: bool = False  # interaction control-point trajectories (the method can be driven by them)

    def describe(self) -> str:
        parts = [f"{self.views}-view RGB" if self.rgb else f"{self.views}-view"]
        parts += [n for n, on in (("masks", self.masks), ("depth", self.depth), ("canonical Gaussians", self.canonical),
                                  ("3D tracks", self.tracks), ("controls", self.controls),
                                  ("GT physics (privileged)", self.gt_physics)) if on]
        return ", ".join(parts)


@dataclass
class Observation:
    """The inputs a method receives for one sample (observed frames only)."""

    sample_id: str
    object_id: str
    fps: float
    n_frames: int
    n_observed: int
    background: tuple[float, float, float]
    world: dict[str, Any]
    cameras: list[Any]  # render.cameras.Camera of the views the method may see
    rgb: dict[str, np.ndarray] = field(default_factory=dict)  # view -> (T_obs, H, W, 3)
    alpha: dict[str, np.ndarray] = field(default_factory=dict)  # view -> (T_obs, H, W)
    depth: dict[str, np.ndarray] = field(default_factory=dict)  # view -> (T_obs, H, W)
    canonical: dict[str, np.ndarray] | None = None  # means, scales, colors, opacities (frame 0)
    tracks: np.ndarray | None = None  # (T_obs, M, 3)
    controls: np.ndarray | None = None  # (T_obs, C, 3) control-point positions (interaction samples)
    gt: dict[str, Any] | None = None  # privileged: physics, scenario, binding, particles0, points, springs


@dataclass
class Query:
    """What to predict: every frame 0..n_frames-1 for every camera (seen and held-out)."""

    n_frames: int
    fps: float
    cameras: list[Any]
    controls: np.ndarray | None = None  # (T, C, 3) control trajectory to follow (interaction / transfer)


@dataclass
class Prediction:
    """A method's output for one sample. Frames are float [0,1]; points in world metres."""

    rgb: dict[str, np.ndarray]  # view -> (T, H, W, 3)
    alpha: dict[str, np.ndarray]  # view -> (T, H, W)
    points: np.ndarray | None = None  # (T, P, 3) predicted surface points
    points_correspond: bool = False  # True if points[:, m] is GT material point m (enables tracking error)
    params: dict[str, Any] | None = None  # {"model": ..., "params": {name: value}}
    extra_files: dict[str, bytes] = field(default_factory=dict)  # relpath -> bytes (e.g. exported asset)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    paper: str
    description: str
    replaces: str
    inputs: MethodInputs
    kind: Literal["baseline", "method", "external"]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["inputs_text"] = self.inputs.describe()
        return d


class Method(ABC):
    """Base class of built-in and third-party methods. Subclasses set the class attributes."""

    name: str = ""
    label: str = ""
    paper: str = ""
    description: str = ""
    replaces: str = "nothing: no pretrained model is used"
    inputs: MethodInputs = MethodInputs()
    kind: Literal["baseline", "method", "external"] = "method"
    runs_externally: bool = False  # True: run_sample() does fit + predict outside Python

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    def spec(self) -> MethodSpec:
        """The method's card (instance-level: an external method's card comes from its config)."""
        return MethodSpec(self.name, self.label or self.name, self.paper, self.description, self.replaces,
                          self.inputs, self.kind)

    @abstractmethod
    def fit(self, obs: Observation) -> Any:
        """Recover an asset (geometry, appearance, physics) from the observation."""

    @abstractmethod
    def predict(self, asset: Any, query: Query) -> Prediction:
        """Render and simulate the asset for every queried frame and camera."""

    def export_asset(self, asset: Any, out_dir: Path) -> None:
        """Write the simulation-ready asset (e.g. Gaussians PLY + physics JSON) into ``out_dir``.

        Methods without an exportable asset (baselines) leave the base behaviour: nothing written.
        """
        return None

    def run_sample(self, obs: Observation, query: Query, workdir: Path) -> Prediction:
        """Hook for methods that run outside Python (``external``); built-ins use fit + predict."""
        return self.predict(self.fit(obs), query)
