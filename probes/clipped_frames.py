"""How often does the object touch the image border? Fraction of view-frames (and of samples) of a dataset
whose coverage (alpha) reaches the border, read from the frames themselves (works on any dataset version).

    python probes/clipped_frames.py DATA [DATA ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.dataset import SampleDir, select_samples
from render.cameras import border_clipped_fraction


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="+", type=Path)
    a = ap.parse_args()
    for root in a.data:
        per_sample = []
        for rec in select_samples(root, "all"):
            s = SampleDir(root / rec["sample_id"])
            fr = [border_clipped_fraction(np.stack([s.frame(v, t)[1] for t in range(s.n_frames)])) for v in s.views]
            per_sample.append(float(np.mean(fr)))
        f = np.asarray(per_sample)
        print(f"{root}: {len(f)} samples; view-frames touching the border {100 * f.mean():.1f} %; "
              f"samples with any {int((f > 0).sum())} of {len(f)}")


if __name__ == "__main__":
    main()
