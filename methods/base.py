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
from typing import Any, ClassVar, Literal

import numpy as np

from core.method_config import MethodConfig, validate_method_config


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
    manipulator: dict[str, np.ndarray] = field(default_factory=dict)  # view -> (T_obs, H, W) the hand proxy's coverage
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
    """Base class of built-in and third-party methods.

    A subclass sets ``card`` (its ``MethodSpec``, kept in a light ``spec`` module so `bench list` does not
    import the method) and ``Config`` (its typed settings, a ``core.method_config.MethodConfig``). The
    card's fields are copied onto the class (``name``, ``label``, ``inputs``, ``kind`` ...); an instance may
    change its ``label`` (e.g. a configuration that is no longer feed-forward). ``self.config`` is the raw
    mapping it was given, ``self.cfg`` the validated settings with every default filled in.
    """

    card: ClassVar[MethodSpec | None] = None
    Config: ClassVar[type[MethodConfig]] = MethodConfig
    name: str = ""
    label: str = ""
    paper: str = ""
    description: str = ""
    replaces: str = "nothing: no pretrained model is used"
    inputs: MethodInputs = MethodInputs()
    kind: Literal["baseline", "method", "external"] = "method"
    runs_externally: bool = False  # True: run_sample() does fit + predict outside Python

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        card = cls.__dict__.get("card")
        if card is not None:
            for f in ("name", "label", "paper", "description", "replaces", "inputs", "kind"):
                setattr(cls, f, getattr(card, f))

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.cfg: dict[str, Any] = validate_method_config(self.Config, self.config, self.name or type(self).__name__).to_dict()

    @classmethod
    def class_spec(cls) -> MethodSpec:
        """The card from the class attributes (for third-party methods that set them instead of ``card``)."""
        return MethodSpec(cls.name, cls.label or cls.name, cls.paper, cls.description, cls.replaces, cls.inputs, cls.kind)

    def spec(self) -> MethodSpec:
        """The method's card as this instance shows it (an external method's card comes from its config)."""
        return MethodSpec(self.name, self.label or self.name, self.paper, self.description, self.replaces,
                          self.inputs, self.kind)

    @abstractmethod
    def fit(self, obs: Observation) -> Any:
        """Recover an asset (geometry, appearance, physics) from the observation."""

    @abstractmethod
    def predict(self, asset: Any, query: Query) -> Prediction:
        """Render and simulate the asset for every queried frame and camera."""

    def parameter_ranges(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Per GT model this method estimates (``pred/params.json`` model), each reported parameter's reach in
        sample.json units: (lo, hi) searched, or (v, v) for a value it assumes. `bench run` checks them against
        the dataset's ranges (``methods.ranges``). Methods that report no parameters return {}."""
        return {}

    def export_asset(self, asset: Any, out_dir: Path) -> None:
        """Write the simulation-ready asset (e.g. Gaussians PLY + physics JSON) into ``out_dir``.

        Methods without an exportable asset (baselines) leave the base behaviour: nothing written.
        """
        return None

    def run_sample(self, obs: Observation, query: Query, workdir: Path) -> Prediction:
        """Hook for methods that run outside Python (``external``); built-ins use fit + predict."""
        return self.predict(self.fit(obs), query)


class TrainableMethod(ABC):
    """A method with a learned stage (mixed into a ``Method`` subclass): `bench train` calls ``train``;
    `bench run` first calls ``resolve_run_config``, which finds the checkpoint the config names (or the
    default one) and records it in the run config, or raises a ``UserError`` saying how to train one."""

    @abstractmethod
    def train(self, samples: list[Path], out_dir: Path) -> dict[str, Any]:
        """Train on ``samples`` (sample dirs) into the checkpoint dir ``out_dir``; returns a summary."""

    @classmethod
    @abstractmethod
    def resolve_run_config(cls, config: dict[str, Any], data_root: Path) -> dict[str, Any]:
        """``config`` with its checkpoint resolved for a run on ``data_root``."""


def is_trainable(cls: type) -> bool:
    """Whether a method class has a learned stage."""
    return isinstance(cls, type) and issubclass(cls, TrainableMethod)
