"""Method registry: built-ins by name, third-party methods through the entry-point group
``physrecon_bench.methods`` (value ``module:Class``), and ``external`` configured by YAML.

A built-in is two references: its light card and config (``spec`` modules, imported by `bench list` and
config validation) and its class (imported only to run or train it).
"""
from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

from core.errors import UserError

ENTRY_POINT_GROUP = "physrecon_bench.methods"

#: name -> (spec module, card attribute, config class, method class "module:Class")
BUILTINS: dict[str, tuple[str, str, str, str]] = {
    "static": ("methods.baselines.spec", "STATIC", "StaticConfig", "methods.baselines.static:StaticBaseline"),
    "rigid": ("methods.baselines.spec", "RIGID", "RigidConfig", "methods.baselines.rigid:RigidBaseline"),
    "oracle": ("methods.baselines.spec", "ORACLE", "OracleConfig", "methods.baselines.oracle:OracleBaseline"),
    "train_mean": ("methods.baselines.spec", "TRAIN_MEAN", "TrainMeanConfig",
                   "methods.baselines.train_mean:TrainMeanBaseline"),
    "external": ("methods.external_spec", "CARD", "ExternalConfig", "methods.external:ExternalMethod"),
    "spring_gaus": ("methods.spring_gaus.spec", "CARD", "SpringGausConfig", "methods.spring_gaus.method:SpringGaus"),
    "phystwin": ("methods.phystwin.spec", "CARD", "PhysTwinConfig", "methods.phystwin.method:PhysTwin"),
    "physinteract": ("methods.physinteract.spec", "CARD", "PhysInteractConfig", "methods.physinteract.method:PhysInteract"),
    "reconphys": ("methods.reconphys.spec", "CARD", "ReconPhysConfig", "methods.reconphys.method:ReconPhys"),
    "vid2sim": ("methods.vid2sim.spec", "CARD", "Vid2SimConfig", "methods.vid2sim.method:Vid2Sim"),
}


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_methods() -> list[str]:
    """Names of the built-ins and of the installed third-party methods."""
    return sorted({*_entry_points(), *BUILTINS})


def _unknown(name: str) -> UserError:
    return UserError("--method", f"unknown method '{name}'", f"use one of {', '.join(available_methods())} (see `bench list`)")


def _import(ref: str, name: str) -> Any:
    mod, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError("--method", f"method '{name}' could not be loaded from {ref} ({exc})",
                        "reinstall the package that provides it") from None


def load_method_class(name: str) -> type:
    if name in BUILTINS:
        return _import(BUILTINS[name][3], name)
    eps = _entry_points()
    if name not in eps:
        raise _unknown(name)
    return _import(eps[name], name)


def method_card(name: str) -> Any:
    """The method's ``MethodSpec`` without importing the method (third-party: from its class)."""
    if name in BUILTINS:
        mod, card, _cfg, _cls = BUILTINS[name]
        return _import(f"{mod}:{card}", name)
    cls = load_method_class(name)
    return cls.card if cls.card is not None else cls.class_spec()


def method_config_class(name: str) -> Any:
    """The method's typed config class (a ``core.method_config.MethodConfig``)."""
    if name in BUILTINS:
        mod, _card, cfg, _cls = BUILTINS[name]
        return _import(f"{mod}:{cfg}", name)
    return load_method_class(name).Config


def make_method(name: str, config: dict[str, Any] | None = None) -> Any:
    return load_method_class(name)(config or {})
