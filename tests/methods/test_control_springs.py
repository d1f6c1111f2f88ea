"""Spring-Gaus and ReconPhys driven by control springs on `tiny_interact` data (interaction track).

Both run with status ok (not not_applicable) through `bench run`, and their predicted object follows
the control: the predicted points nearest each control point at frame 0 move along the control's
displacement, which a no-control-spring ablation (same method, controls withheld) does not do.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import run as bench
from core.jsonio import read_json

pytestmark = pytest.mark.slow

RP_FAST = {"steps": 4, "save_every": 2, "dim": 32, "enc_width": 8, "enc_size": 32, "tensorboard": False}


@pytest.fixture(scope="module")
def interact(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    data = tmp_path_factory.mktemp("ctrl") / "data"
    assert bench(["gen", "--profile", "tiny_interact", "--n", "2", "--out", str(data)]) == 0
    return data


def _split(data: Path, split: str) -> list[Path]:
    from core.dataset import select_samples

    return [data / r["sample_id"] for r in select_samples(data, split)]


def follow_stats(points: np.ndarray, controls: np.ndarray, k: int = 30) -> list[dict[str, float]]:
    """Per control point: the mean displacement of the k points nearest to it at frame 0, against the
    control's displacement, at the frame t* where the control is farthest from its start (a poke returns).
    ``cos``: their angle at t*; ``ratio``: the projection on the control direction / |control displacement|
    at t*; ``corr``: Pearson correlation of the two projections over all frames."""
    out = []
    for c in range(controls.shape[1]):
        d = controls[:, c] - controls[0, c]
        ts = int(np.argmax(np.linalg.norm(d, axis=1)))
        u = d[ts] / np.linalg.norm(d[ts])
        near = np.argsort(np.linalg.norm(points[0] - controls[0, c], axis=1))[:k]
        pd = points[:, near].mean(1) - points[0, near].mean(0)
        proj = pd @ u
        out.append({"cos": float(pd[ts] @ u / (np.linalg.norm(pd[ts]) + 1e-12)),
                    "ratio": float(proj[ts] / np.linalg.norm(d[ts])), "corr": float(np.corrcoef(proj, d @ u)[0, 1])})
    return out


def follows(s: dict[str, float]) -> bool:
    """The points near the control move with it: same direction, a comparable amount, in step.
    (A poke into a soft object moves the nearby surface by ~1/3 of the control displacement.)"""
    return s["cos"] > 0.5 and 0.2 < s["ratio"] < 3.0 and s["corr"] > 0.5


def driven(with_c: list[dict[str, float]], without: list[dict[str, float]]) -> bool:
    """Every control is followed, and the ablation does not follow it (or follows it clearly less:
    gravity alone moves the surface along a downward poke)."""
    return all(follows(a) and (not follows(b) or a["ratio"] - b["ratio"] > 0.1) for a, b in zip(with_c, without))


def _future_chamfer(points: np.ndarray, gt: np.ndarray, n_obs: int) -> float:
    from metrics.geometry import chamfer_l2sq_mean

    return float(np.mean([chamfer_l2sq_mean(points[t], gt[t]) for t in range(n_obs, len(gt))]))


def _withheld(obs, query):
    """The no-control-spring ablation: the same observation and query without control trajectories."""
    return type(obs)(**{**obs.__dict__, "controls": None}), type(query)(**{**query.__dict__, "controls": None})


def test_spring_gaus_is_driven_by_control_springs(interact, tmp_path):
    from methods.observation import build_observation, build_query
    from methods.spring_gaus import SpringGaus

    out = tmp_path / "sg"
    assert bench(["run", "--method", "spring_gaus", "--data", str(interact), "--split", "test", "--inline",
                  "--out", str(out)]) == 0
    assert bench(["eval", str(out)]) == 0
    (sp,) = _split(interact, "test")
    st = read_json(out / sp.name / "status.json")
    assert st["status"] == "ok", st
    met = read_json(out / sp.name / "metrics.json")
    assert met["track"] == "interaction" and met["status"] == "ok"
    pred = np.load(out / sp.name / "pred" / "points.npy")
    gt, controls = np.load(sp / "gt" / "points.npy"), np.load(sp / "gt" / "controls.npy")
    n_obs = met["time"]["n_observed"]

    m = SpringGaus({})
    obs, query = _withheld(build_observation(sp, m.inputs), build_query(sp))
    free = m.predict(m.fit(obs), query).points
    with_c, without = follow_stats(pred, controls), follow_stats(free, controls)
    ch_c, ch_free = _future_chamfer(pred, gt, n_obs), _future_chamfer(free, gt, n_obs)
    print({"follow": with_c, "follow_ablation": without, "future_chamfer": ch_c, "future_chamfer_ablation": ch_free,
           "metrics_future_chamfer": met["summary"]["future"]["geometry"]["chamfer"], "fit_s": st["fit_s"]})
    assert driven(with_c, without), (with_c, without)
    assert ch_c < ch_free  # and the controls-withheld fit predicts the future geometry worse
    assert ch_c == pytest.approx(met["summary"]["future"]["geometry"]["chamfer"], rel=1e-4)


def test_reconphys_trains_and_predicts_with_control_springs(interact, tmp_path):
    import torch

    from methods.observation import build_observation, build_query
    from methods.reconphys import ReconPhys

    ck = tmp_path / "ck"
    cfg = tmp_path / "rp.yaml"
    cfg.write_text(json.dumps({**RP_FAST, "checkpoint": str(ck)}))
    assert bench(["train", "--method", "reconphys", "--data", str(interact), "--split", "train", "--out", str(ck),
                  "--method-config", str(cfg)]) == 0
    # training rollouts on interaction videos are driven by the observed controls
    m = ReconPhys({**RP_FAST, "checkpoint": str(ck)})
    item = m.load_training_set(_split(interact, "train"))[0]
    assert item["obs"].controls is not None
    model = m.load_model()
    with torch.no_grad():
        loss_c, _ = m.sample_loss(model, item)
        item["obs"].controls = None
        loss_free, _ = m.sample_loss(model, item)
    assert abs(float(loss_c) - float(loss_free)) > 1e-4

    runs = {}
    for track in ("interaction", "transfer"):
        runs[track] = tmp_path / track
        extra = ["--track", "transfer"] if track == "transfer" else []
        assert bench(["run", "--method", "reconphys", "--data", str(interact), "--split", "test", "--inline",
                      "--method-config", str(cfg), "--out", str(runs[track]), *extra]) == 0
        assert bench(["eval", str(runs[track])]) == 0
    (sp,) = _split(interact, "test")
    for track, run_dir in runs.items():
        met = read_json(run_dir / sp.name / "metrics.json")
        assert met["status"] == "ok" and met["track"] == track, met.get("reason")
    for track, sub in (("interaction", "gt"), ("transfer", "transfer")):
        pred = np.load(runs[track] / sp.name / "pred" / "points.npy")
        controls = np.load(sp / sub / "controls.npy")
        obs, query = _withheld(build_observation(sp, m.inputs), build_query(sp, transfer=track == "transfer"))
        free = m.predict(m.fit(obs), query).points
        with_c, without = follow_stats(pred, controls), follow_stats(free, controls)
        print(track, {"follow": with_c, "follow_ablation": without})
        assert driven(with_c, without), (track, with_c, without)
