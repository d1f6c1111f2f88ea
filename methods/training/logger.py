"""Per-step training metrics: ``log.csv`` (one table across resumed runs) and TensorBoard when installed."""
from __future__ import annotations

import csv
from pathlib import Path

LOG_CSV = "log.csv"


class MetricLogger:
    """Append per-step metrics to ``log.csv`` (header from the first row) and TensorBoard if installed."""

    def __init__(self, out_dir: Path, tensorboard: bool = True) -> None:
        self.path = Path(out_dir) / LOG_CSV
        self._fields: list[str] | None = None  # the file's header, once known
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(Path(out_dir) / "tb"))
            except Exception:  # tensorboard not installed: CSV only
                self.tb = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """One row; an existing file keeps its header (a resumed run whose step logs gained or lost a
        metric writes the header's columns, blank where missing), so the file stays one table."""
        row = {"step": step, **metrics}
        new = not self.path.exists() or self.path.stat().st_size == 0
        if new:
            self._fields = list(row)
        elif self._fields is None:  # read the header once, not on every step
            with self.path.open(newline="") as f:
                self._fields = next(csv.reader(f), list(row))
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (work lost by an interruption is redone on resume)."""
        if not self.path.exists():
            return
        with self.path.open() as f:
            rows = list(csv.DictReader(f))
        keep = [r for r in rows if int(r["step"]) <= step]
        if len(keep) != len(rows):
            with self.path.open("w", newline="") as f:
                if keep:
                    w = csv.DictWriter(f, fieldnames=list(keep[0]))
                    w.writeheader()
                    w.writerows(keep)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
