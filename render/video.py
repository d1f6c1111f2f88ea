"""Preview writers: GIF (always, via imageio + pillow), MP4 (when imageio-ffmpeg is installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["to_uint8_rgb", "write_gif", "write_mp4", "has_mp4", "side_by_side"]


def to_uint8_rgb(frame: np.ndarray, background: Sequence[float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """(H,W), (H,W,3) or (H,W,4) uint8/float [0,1] -> (H,W,3) uint8; RGBA is composited over ``background``."""
    f = np.asarray(frame)
    if hasattr(frame, "detach"):  # a torch tensor
        f = frame.detach().cpu().numpy()
    f = f.astype(np.float64) / 255.0 if f.dtype == np.uint8 else f.astype(np.float64)
    if f.ndim == 2:
        f = np.repeat(f[..., None], 3, axis=-1)
    if f.shape[-1] == 4:
        a = f[..., 3:4]
        f = f[..., :3] * a + np.asarray(background, dtype=np.float64) * (1 - a)
    if f.ndim != 3 or f.shape[-1] != 3:
        raise ValueError(f"frame of shape {np.shape(frame)} is not an image")
    return np.round(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_gif(path: str | Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """Write an endlessly looping GIF (pillow backend of imageio)."""
    from PIL import Image

    if not frames:
        raise ValueError("no frames")
    imgs = [Image.fromarray(to_uint8_rgb(f)) for f in frames]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=max(1, round(1000.0 / fps)), loop=0,
                 optimize=False)
    return path


def has_mp4() -> bool:
    """Whether imageio-ffmpeg (and hence MP4 writing) is available."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float = 24.0) -> Path:
    """Write an H.264 MP4 (frames padded to even size for yuv420p). Raises ImportError without imageio-ffmpeg."""
    if not has_mp4():
        raise ImportError("write_mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); use write_gif instead")
    import imageio.v2 as iio

    if not frames:
        raise ValueError("no frames")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = iio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", pixelformat="yuv420p",
                            macro_block_size=1, quality=8)
    try:
        for f in frames:
            img = to_uint8_rgb(f)
            h, w = img.shape[:2]
            writer.append_data(np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge"))
    finally:
        writer.close()
    return path


def side_by_side(a: np.ndarray, b: np.ndarray, gap: int = 2, gap_value: int = 255) -> np.ndarray:
    """Two images next to each other as (H, Wa+gap+Wb, 3) uint8 (shorter one padded at the bottom)."""
    a8, b8 = to_uint8_rgb(a), to_uint8_rgb(b)
    h = max(a8.shape[0], b8.shape[0])
    pad = lambda x: np.pad(x, ((0, h - x.shape[0]), (0, 0), (0, 0)), constant_values=gap_value)  # noqa: E731
    sep = np.full((h, gap, 3), gap_value, dtype=np.uint8)
    return np.concatenate([pad(a8), sep, pad(b8)], axis=1)
