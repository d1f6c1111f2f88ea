"""Object-level splits decided by a hash of the object id.

A sample's split is a pure function of its object id and the split fractions, so adding objects
never moves old ones and a test object is never seen in training.
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")


def object_unit_interval(object_id: str) -> float:
    """Map an object id to [0, 1) with sha256 (stable across machines and Python runs)."""
    digest = hashlib.sha256(object_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(object_id: str, train: float, val: float, test: float) -> str:
    """Split name for ``object_id`` given fractions that sum to 1 (train | val | test)."""
    u = object_unit_interval(object_id)
    if u < train:
        return "train"
    if u < train + val:
        return "val"
    return "test"
