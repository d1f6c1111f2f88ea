"""Method registry: built-ins by name, third-party methods through the entry-point group
``physrecon_bench.methods`` (value ``module:Class``), and ``external`` configured by YAML."""
from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any

from core.errors import UserError

ENTRY_POINT_GROUP = "physrecon_bench.methods"

BUILTINS: dict[str, str] = {
    "static": "methods.baselines:StaticBaseline",
    "oracle": "methods.baselines:OracleBaseline",
    "train_mean": "methods.baselines:TrainMeanBaseline",
    "external": "methods.external:ExternalMethod",
    "spring_gaus": "methods.spring_gaus:SpringGaus",
    "phystwin": "methods.phystwin:PhysTwin",
    "physinteract": "methods.physinteract:PhysInteract",
    "reconphys": "methods.reconphys:ReconPhys",
    "vid2sim": "methods.vid2sim:Vid2Sim",
}


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_methods() -> dict[str, str]:
    """name -> 'module:Class' for built-ins and installed third-party methods."""
    return {**_entry_points(), **BUILTINS}


def load_method_class(name: str) -> type:
    table = available_methods()
    if name not in table:
        raise UserError("--method", f"unknown method '{name}'", f"use one of {', '.join(sorted(table))} (see `bench list`)")
    mod, _, cls = table[name].partition(":")
    try:
        return getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError) as exc:
        raise UserError("--method", f"method '{name}' could not be loaded from {table[name]} ({exc})",
                        "reinstall the package that provides it") from None


def make_method(name: str, config: dict[str, Any] | None = None) -> Any:
    return load_method_class(name)(config or {})
