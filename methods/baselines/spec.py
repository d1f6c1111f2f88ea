"""Cards and settings of the baselines that bracket every method (light: `bench list`, config validation)."""
from __future__ import annotations

from pydantic import Field

from core.method_config import MethodConfig
from methods.base import MethodInputs, MethodSpec

STATIC = MethodSpec(
    name="static", label="Static (last observed state)", paper="baseline",
    description="Holds the last observed surface state for every future frame (zero-motion lower bound).",
    replaces="nothing: no pretrained model is used", inputs=MethodInputs(views="multi", canonical=True, tracks=True),
    kind="baseline")

RIGID = MethodSpec(
    name="rigid", label="Rigid (extrapolated rigid motion)", paper="baseline",
    description=("The last observed shape moves on rigidly with the velocity and spin fitted to the observed tracks, "
                 "under gravity, with a ground bounce; no deformation, no controls."),
    replaces="nothing: no pretrained model is used", inputs=MethodInputs(views="multi", canonical=True, tracks=True),
    kind="baseline")

ORACLE = MethodSpec(
    name="oracle", label="Oracle (GT physics)", paper="baseline",
    description=("Re-simulates the GT (spring-mass; MPM and reduced under new controls, replayed otherwise) from "
                 "the GT initial state; renders the canonical Gaussians."),
    replaces="nothing: no pretrained model is used",
    inputs=MethodInputs(views="multi", canonical=True, gt_physics=True, controls=True), kind="baseline")

TRAIN_MEAN = MethodSpec(
    name="train_mean", label="Training-set mean (parameter prior)", paper="baseline",
    description=("Predicts the training split's mean GT parameters for every sample (parameter-error lower "
                 "bound for learned predictors); frames as `static`."),
    replaces="nothing: no pretrained model is used", inputs=MethodInputs(views="multi", canonical=True, tracks=True),
    kind="baseline")


class StaticConfig(MethodConfig):
    """No settings beyond the harness keys."""


class RigidConfig(MethodConfig):
    fit_frames: int = Field(4, ge=2, description="last observed frames the velocity and spin are fitted on")
    restitution: float = Field(0.4, ge=0.0, le=1.0, description="fixed ground restitution of the bounce")
    friction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of tangential velocity / spin lost per bounce")
    substeps: int = Field(10, ge=1)


class OracleConfig(MethodConfig):
    """No settings beyond the harness keys."""


class TrainMeanConfig(MethodConfig):
    checkpoint: str | None = Field(None, description="folder of train_mean.json (default runs/checkpoints/train_mean/<dataset>)")
