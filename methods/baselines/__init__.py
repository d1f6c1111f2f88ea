"""The baselines that bracket every method: ``static`` (lower), ``oracle`` (upper), ``train_mean`` (parameter prior)."""
from methods.baselines.oracle import OracleBaseline
from methods.baselines.static import StaticBaseline
from methods.baselines.train_mean import TrainMeanBaseline

__all__ = ["OracleBaseline", "StaticBaseline", "TrainMeanBaseline"]
