"""Spring-Gaus (Zhong et al., ECCV 2024) reimplemented at benchmark scale; see ``method.py``."""
from methods.spring_gaus.method import SpringGaus, load_asset, simulate

__all__ = ["SpringGaus", "load_asset", "simulate"]
