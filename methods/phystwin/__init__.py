"""PhysTwin (Jiang et al. 2025) reimplemented at benchmark scale; see ``methods.phystwin.method``."""
from methods.phystwin.method import PhysTwin, export_asset, load_asset, simulate

__all__ = ["PhysTwin", "export_asset", "load_asset", "simulate"]
