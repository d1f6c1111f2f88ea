"""Package versions recorded in every sample and run (read from metadata, nothing imported)."""
from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("physrecon-bench", "numpy", "scipy", "torch", "warp-lang", "trimesh", "imageio", "pydantic", "pandas")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES + extra:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
