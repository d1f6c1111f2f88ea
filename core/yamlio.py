"""YAML files read into mappings, with one-line errors that name the file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UserError

#: the shipped YAML: dataset profiles (configs/profiles) and method settings (configs/methods)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.exists():
        raise UserError(str(path), "file not found", "check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UserError(where, f"malformed YAML ({problem})", "fix the syntax (indentation, colons, quotes)") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(str(path), "top level must be a mapping of keys to values", "see configs/profiles/tiny.yaml")
    return data
