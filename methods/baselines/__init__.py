"""The baselines that bracket every method: ``static`` and ``rigid`` (lower: no motion, rigid extrapolation),
``oracle`` (upper), ``train_mean`` (parameter prior)."""
from methods.baselines.oracle import OracleBaseline
from methods.baselines.rigid import RigidBaseline
from methods.baselines.static import StaticBaseline
from methods.baselines.train_mean import TrainMeanBaseline

__all__ = ["OracleBaseline", "RigidBaseline", "StaticBaseline", "TrainMeanBaseline"]
