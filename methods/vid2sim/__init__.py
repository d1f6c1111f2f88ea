"""Vid2Sim (Chen et al.) reimplemented at benchmark scale; see ``methods.vid2sim.method``."""
from methods.vid2sim.asset import load_asset, simulate_asset
from methods.vid2sim.method import Vid2Sim

__all__ = ["Vid2Sim", "load_asset", "simulate_asset"]
