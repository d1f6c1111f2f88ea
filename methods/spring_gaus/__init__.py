"""Spring-Gaus (Zhong et al., ECCV 2024) reimplemented at benchmark scale; see ``method.py``."""
from methods.spring_gaus.method import DEFAULTS, SpringGaus, load_asset, simulate

__all__ = ["DEFAULTS", "SpringGaus", "load_asset", "simulate"]
