"""Method settings: the YAML a run or training reads, validated into one typed config per method.

Every method declares a pydantic ``MethodConfig`` subclass (its hyper-parameters with defaults) in its
light spec module. The keys the *harness* reads are declared here, once, and every method accepts
them: ``name`` (run-dir and board name), ``description`` (board text), ``timeout_s`` (per-sample
limit), ``threads`` (CPU threads the sample's process may use) and ``seed``. Unknown keys and bad
values are one ``UserError`` line naming the file and key (exit status 2).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import UserError
from core.yamlio import CONFIG_DIR, load_yaml

METHOD_CONFIG_DIR = CONFIG_DIR / "methods"
HARNESS_KEYS = ("name", "description", "timeout_s", "threads", "seed")

Range = tuple[float, float]


class StrictModel(BaseModel):
    """A config block: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class MethodConfig(StrictModel):
    """The harness keys; a method's config subclasses this with its own hyper-parameters."""

    name: str | None = Field(None, min_length=1, max_length=100,
                             description="run-dir and leaderboard name (default: the method's)")
    description: str | None = Field(None, description="text shown on the leaderboard for this configuration")
    timeout_s: float | None = Field(None, gt=0, description="per-sample wall-clock limit (s); `bench run --timeout` wins")
    threads: int | None = Field(None, ge=1, le=1024,
                                description="CPU threads of the sample's process (default: cores / workers); "
                                            "`bench run --threads` wins")
    seed: int = Field(0, ge=0, description="seed of every random choice of the method")
    budget: Literal["bench", "paper"] = Field(
        "bench", description="budget class shown next to the score: bench (this harness's scale, the card lists "
                             "the cuts) or paper (the paper's iteration / size budgets where they fit)")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every key (defaults filled in)."""
        return self.model_dump(mode="json")


def format_config_error(src: str, method: str, err: ValidationError, cls: type[MethodConfig]) -> UserError:
    """One line for the first problem pydantic found (key path, reason, the fix)."""
    e = err.errors()[0]
    key = ".".join(str(p) for p in e["loc"]) or "(top level)"
    if e["type"] == "extra_forbidden":
        top = key.split(".")[0]
        allowed = ", ".join(sorted(cls.model_fields)) if top == key else "see the method's config class"
        return UserError(src, f"unknown key '{key}' for method {method}", f"remove it or check its spelling; keys: {allowed}")
    msg = e["msg"].removeprefix("Value error, ")
    return UserError(src, f"key '{key}' of method {method}: {msg}", "fix the value in the method config")


def validate_method_config(cls: type[MethodConfig], raw: dict[str, Any] | None, method: str,
                           src: str = "method config") -> MethodConfig:
    """``raw`` (a YAML mapping) checked against ``cls``: the typed config, or one ``UserError``."""
    if raw is not None and not isinstance(raw, dict):
        raise UserError(src, "a method config must be a mapping of keys to values", "see configs/methods/")
    try:
        return cls.model_validate(raw or {})
    except ValidationError as err:
        raise format_config_error(src, method, err, cls) from None


def load_method_config(name: str, path: str | None = None) -> dict[str, Any]:
    """The raw YAML mapping of a method's settings: ``configs/methods/<name>.yaml`` (or ``path``); {} if none."""
    p = Path(path) if path else METHOD_CONFIG_DIR / f"{name}.yaml"
    if path is None and not p.exists():
        return {}
    return load_yaml(p)


def method_config_source(name: str, path: str | None = None) -> str:
    """Where a method's settings come from, for error messages."""
    return str(Path(path) if path else METHOD_CONFIG_DIR / f"{name}.yaml")
