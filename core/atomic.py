"""Atomic directory writes (temp dir + rename) and the clean-up of killed writers' leftovers."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp dir beside ``final``; on success it replaces ``final`` in one rename.

    On error the temp dir is removed, so a half-written directory never looks whole.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{final.name}-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temps(parent: str | os.PathLike) -> int:
    """Delete ``.tmp-*`` leftovers of killed writers under ``parent``; return how many."""
    n = 0
    parent = Path(parent)
    if parent.exists():
        for p in parent.glob(f"{TEMP_PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n
