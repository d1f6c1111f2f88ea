"""Names read from a dataset or run directory that become parts of paths: one pattern, checked in one place.

A sample id, a view name or any other single path component taken from a manifest, sample.json,
cameras.json, run.json or results.json must match ``NAME_PATTERN`` (letters, digits, ``.``, ``_``,
``-``; not starting with ``.``; at most 128 characters). So it can be neither ``..`` nor absolute,
nor contain a separator, and joining it to the directory the user named can only land inside it.
A relative path from such a file (the manifest's ``files``) is a ``/``-separated sequence of such
components. Anything else is a ``DataError`` naming the file: nothing is written or removed for it.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.errors import DataError

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
NAME_RULE = "letters, digits, '.', '_' or '-', not starting with '.', at most 128 characters"


def safe_name(value: object, what: str, source: str | Path) -> str:
    """``value`` if it is a safe single path component, else a ``DataError`` naming ``source``."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise DataError(str(source), f"{what} {value!r} is not a safe name ({NAME_RULE})",
                        "fix or regenerate that file (`bench check` lists every such entry); nothing was written for it")
    return value


def safe_relpath(value: object, what: str, source: str | Path) -> str:
    """A relative ``a/b/c`` path whose every component is a safe name."""
    if not isinstance(value, str) or not value:
        raise DataError(str(source), f"{what} {value!r} is not a relative path", "fix or regenerate that file")
    for part in value.split("/"):
        safe_name(part, what, source)
    return value


def child(root: Path, name: object, what: str, source: str | Path) -> Path:
    """``root / name`` for a validated single component ``name``."""
    return Path(root) / safe_name(name, what, source)
