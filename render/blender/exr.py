"""Minimal OpenEXR reader (numpy + zlib only) for the files the Blender worker writes.

Supports scanline images with FLOAT / HALF / UINT channels and the NONE, ZIPS and ZIP codecs,
which is what ``render.blender.worker`` asks Blender for. Returns ``{channel name: (H, W) array}``
with row 0 at the top of the image (EXR's ``INCREASING_Y`` line order, the default).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_MAGIC = 20000630
_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_CODECS = {0: ("NONE", 1), 2: ("ZIPS", 1), 3: ("ZIP", 16)}


def _cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def _attrs(buf: bytes, pos: int) -> tuple[dict[str, tuple[str, bytes]], int]:
    attrs = {}
    while buf[pos] != 0:
        name, pos = _cstr(buf, pos)
        kind, pos = _cstr(buf, pos)
        (size,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        attrs[name] = (kind, buf[pos:pos + size])
        pos += size
    return attrs, pos + 1


def _headers(buf: bytes) -> tuple[list[dict[str, tuple[str, bytes]]], int, bool]:
    """Part headers, position after them, and whether the file is multi-part."""
    magic, version = struct.unpack_from("<ii", buf, 0)
    if magic != _MAGIC:
        raise ValueError("not an OpenEXR file")
    if version & 0x200:
        raise ValueError("tiled EXR files are not supported")
    multi = bool(version & 0x1000)
    parts, pos = [], 8
    while True:
        attrs, pos = _attrs(buf, pos)
        parts.append(attrs)
        if not multi or buf[pos] == 0:
            return parts, pos + (1 if multi else 0), multi


def _channels(raw: bytes) -> list[tuple[str, np.dtype, int, int]]:
    out, pos = [], 0
    while raw[pos] != 0:
        name, pos = _cstr(raw, pos)
        ptype, _linear, xs, ys = struct.unpack_from("<iB3xii", raw, pos)
        pos += 16
        out.append((name, _PIXEL_DTYPES[ptype], xs, ys))
    return out


def _unzip(data: bytes) -> bytes:
    """EXR ZIP: zlib, then undo the byte-delta predictor and the even/odd byte interleave."""
    t = np.frombuffer(zlib.decompress(data), np.uint8)
    t = ((np.cumsum(t.astype(np.int64) - 128) + 128) & 0xFF).astype(np.uint8)  # t[i] = t[i-1] + t[i] - 128
    half = (len(t) + 1) // 2
    out = np.empty_like(t)
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def _part_planes(buf: bytes, attrs: dict[str, tuple[str, bytes]], offsets: np.ndarray, multi: bool) -> dict[str, np.ndarray]:
    chans = _channels(attrs["channels"][1])
    if any(xs != 1 or ys != 1 for _, _, xs, ys in chans):
        raise ValueError("subsampled channels are not supported")
    comp = attrs["compression"][1][0]
    if comp not in _CODECS:
        raise ValueError(f"EXR compression {comp} not supported (use NONE, ZIPS or ZIP)")
    if attrs.get("type", ("", b"scanlineimage"))[1].rstrip(b"\0") != b"scanlineimage":
        raise ValueError("only scanline parts are supported")
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    planes = {name: np.zeros((h, w), dt) for name, dt, _, _ in chans}
    bytes_per_line = w * sum(dt.itemsize for _, dt, _, _ in chans)
    for off in offsets:
        p0 = int(off) + (4 if multi else 0)  # multi-part chunks start with their part number
        y, size = struct.unpack_from("<ii", buf, p0)
        data = buf[p0 + 8:p0 + 8 + size]
        n_lines = min(_CODECS[comp][1], y1 + 1 - y)
        if comp != 0 and size < n_lines * bytes_per_line:
            data = _unzip(data)
        p = 0
        for line in range(n_lines):  # per scanline, channels in header (alphabetical) order
            for name, dt, _, _ in chans:
                planes[name][y - y0 + line] = np.frombuffer(data, dt, w, p)
                p += w * dt.itemsize
    return planes


def read_exr(path: str | Path) -> dict[str, np.ndarray]:
    """Every channel of every part as float32 (HALF/FLOAT) or uint32 (UINT) ``(H, W)`` arrays.

    Channel names are as stored (Blender multilayer: ``<view layer>.<pass>.<channel>``).
    """
    buf = Path(path).read_bytes()
    parts, pos, multi = _headers(buf)
    out: dict[str, np.ndarray] = {}
    for attrs in parts:
        x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
        lines = _CODECS.get(attrs["compression"][1][0], ("", 1))[1]
        n = struct.unpack("<i", attrs["chunkCount"][1])[0] if "chunkCount" in attrs else (y1 - y0 + lines) // lines
        offsets = np.frombuffer(buf, "<u8", n, pos)
        pos += 8 * n
        out.update(_part_planes(buf, attrs, offsets, multi))
    return {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in out.items()}
