"""`bench show`: one sample's GT physics, its files, and a terminal preview of its first frames."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.dataset import SampleDir
from core.errors import UserError
from core.jsonio import read_json


def _blocks(rgb: np.ndarray, width: int = 32) -> "object":
    """Render an image as rich text with half-block characters (two pixel rows per line)."""
    from rich.text import Text

    h, w = rgb.shape[:2]
    step = max(1, w // width)
    img = (np.clip(rgb[::step, ::step], 0, 1) * 255).astype(int)
    text = Text()
    for y in range(0, img.shape[0] - 1, 2):
        for x in range(img.shape[1]):
            top, bot = img[y, x], img[y + 1, x]
            text.append("▀", style=f"rgb({top[0]},{top[1]},{top[2]}) on rgb({bot[0]},{bot[1]},{bot[2]})")
        text.append("\n")
    return text


def show_sample(path: Path, data: Path | None = None, preview: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    if data is not None and not path.exists():
        from core.names import child

        path = child(data, str(path), "sample id", "the command line")
    s = SampleDir(path)
    if s.failure_json.exists():
        f = read_json(s.failure_json)
        Console().print(f"[red]sample {f['sample_id']} failed[/red]: {f['reason']}")
        return
    if not s.sample_json.exists():
        raise UserError(str(path), "not a sample directory (no sample.json)", "pass DATA/<sample_id>, or the id with --data DATA")
    m = s.meta
    con = Console()
    con.print(f"[bold]{m['sample_id']}[/bold]  object {m['object_id']}  split {m['split']}  seed {m['seed']}")
    t = Table(title=f"GT physics: {m['physics']['model']}")
    t.add_column("parameter")
    t.add_column("value", justify="right")
    for k, v in m["physics"]["params"].items():
        t.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
    for k in ("n_particles", "substeps", "dt"):
        t.add_row(k, f"{m['physics'][k]:.6g}" if isinstance(m["physics"][k], float) else str(m["physics"][k]))
    con.print(t)
    tm = m["time"]
    con.print(f"frames {tm['n_frames']} at {tm['fps']} fps; observed {tm['observed']}, future {tm['future']}; "
              f"views {m['render']['views']} (held out {m['render']['held_out_views']}); "
              f"background {m['render']['background']}; gravity {m['world']['gravity']}")
    files = sorted(p for p in path.rglob("*") if p.is_file())
    con.print(f"{len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.2f} MB; preview: {s.preview_gif}")
    if preview:
        v = s.monocular_view
        frames = [s.frame(v, t)[0] for t in (0, s.n_observed - 1, s.n_frames - 1)]
        con.print(f"{v} at frames 0, {s.n_observed - 1}, {s.n_frames - 1}:")
        con.print(_blocks(np.concatenate(frames, axis=1), width=96))
