"""Method settings: the YAML a run or training reads (``configs/methods/<name>.yaml`` or ``--method-config``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.yamlio import CONFIG_DIR, load_yaml

METHOD_CONFIG_DIR = CONFIG_DIR / "methods"


def load_method_config(name: str, path: str | None = None) -> dict[str, Any]:
    """Hyper-parameters of a method: ``configs/methods/<name>.yaml`` (or ``path``); {} if none."""
    p = Path(path) if path else METHOD_CONFIG_DIR / f"{name}.yaml"
    if path is None and not p.exists():
        return {}
    return load_yaml(p)
