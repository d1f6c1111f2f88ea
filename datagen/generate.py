"""`bench gen`: plan samples from a profile, generate them (resumably) and write the manifest.

Sample ``i`` is a pure function of (profile, i): its seed is ``stable_seed(profile.seed, "sample", i)``
and its object is the i-th entry of a seeded cycle over the objects, so a larger ``--n`` only appends.
Each sample is written into a temp dir and renamed into place; a killed run leaves no half sample,
and a re-run skips complete samples, redoes missing ones and yields the same manifest bytes.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from datagen.profile import DatasetProfile, profile_from_dict
from core.dataset import DATASET_FORMAT, DATASET_JSON, FAILURE_JSON, write_manifest
from core.errors import UserError
from core.atomic import atomic_dir, remove_stale_temps
from core.hashing import sha256_bytes, stable_seed
from core.jsonio import dumps, read_json, write_json
from core.splits import split_of


def object_ids(profile: DatasetProfile) -> list[str]:
    from datagen.assets.sources import list_object_ids

    return list_object_ids(profile.assets)


def plan_samples(profile: DatasetProfile) -> list[dict[str, Any]]:
    """The deterministic plan: sample id, index, seed, object id, category and split per sample.

    Objects are visited in a seeded order; each visit yields ``splits.samples_per_object[split]``
    consecutive samples (different physics, same object); the cycle repeats until ``n_samples``.
    Sample ``i`` depends only on (profile, i), so a larger ``--n`` only appends.
    """
    ids = object_ids(profile)
    order = np.random.default_rng(stable_seed(profile.seed, "objects")).permutation(len(ids))
    s = profile.splits
    per = s.samples_per_object.model_dump()
    plan: list[dict[str, Any]] = []
    visit = 0
    while len(plan) < profile.n_samples:
        oid = ids[order[visit % len(ids)]]
        split = split_of(oid, s.train, s.val, s.test)
        for rep in range(per[split]):
            i = len(plan)
            if i >= profile.n_samples:
                break
            plan.append({"sample_id": f"s{i:05d}", "index": i, "seed": stable_seed(profile.seed, "sample", i),
                         "object_id": oid, "category": oid.split("/")[1] if oid.startswith("proc/") else "",
                         "split": split, "physics_draw": rep})
        visit += 1
    return plan


def _time_split(profile: DatasetProfile) -> dict[str, Any]:
    sc = profile.scenario
    n_obs = min(sc.n_frames - 1, max(1, round(sc.n_frames * sc.observed_fraction)))
    return {"fps": sc.fps, "n_frames": sc.n_frames, "n_observed": n_obs,
            "observed": [0, n_obs], "future": [n_obs, sc.n_frames], "frame_time": "t / fps"}


def _record(plan: dict[str, Any], profile: DatasetProfile, status: str, reason: str | None, files: dict[str, str]) -> dict[str, Any]:
    return {
        "sample_id": plan["sample_id"], "object_id": plan["object_id"], "category": plan["category"],
        "split": plan["split"], "seed": plan["seed"], "physics_model": plan.get("physics_model", profile.physics.model),
        "scenario": profile.scenario.kind, "status": status, "reason": reason, "files": files,
    }


def generate_one(root: str, profile_json: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    """Generate one sample into ``root/<sample_id>`` atomically; failures are recorded, not raised."""
    from datagen.scene import build_scene
    from datagen.writer import write_sample

    profile = profile_from_dict(profile_json)
    final = Path(root) / plan["sample_id"]
    rng = np.random.default_rng(plan["seed"])
    meta = {k: plan[k] for k in ("sample_id", "object_id", "category", "split", "seed")}
    meta.update({"profile": profile.name, "time": _time_split(profile)})
    try:
        scene = build_scene(profile, plan["object_id"], rng)
        plan = {**plan, "category": plan["category"] or scene.mesh.category, "physics_model": scene.physics["model"]}
        meta["category"] = plan["category"]
        with atomic_dir(final) as tmp:
            files = write_sample(tmp, meta, scene, profile)
        return _record(plan, profile, "ok", None, files)
    except Exception as exc:  # a failure is a result: record it with its reason
        reason = _reason(exc)
        with atomic_dir(final) as tmp:
            write_json(tmp / FAILURE_JSON, {**meta, "status": "failed", "reason": reason,
                                            "traceback": traceback.format_exc(limit=8)})
        return _record(plan, profile, "failed", reason, {})


def _reason(exc: Exception) -> str:
    kind = getattr(exc, "reason", None)
    name = type(exc).__name__
    text = " ".join(str(exc).split())[:300]
    return f"{name}[{kind}]: {text}" if isinstance(kind, str) and kind else f"{name}: {text}"


def existing_record(root: Path, plan: dict[str, Any], profile: DatasetProfile) -> dict[str, Any] | None:
    """The manifest record of an already complete sample dir, or None if it must be (re)made."""
    d = root / plan["sample_id"]
    if (d / "sample.json").exists():
        from core.hashing import sha256_file

        from datagen.writer import UNHASHED

        files = {str(p.relative_to(d)): sha256_file(p) for p in sorted(d.rglob("*")) if p.is_file() and p.name not in UNHASHED}
        meta = read_json(d / "sample.json")
        return _record({**plan, "category": meta["category"], "physics_model": meta["physics"]["model"]}, profile, "ok", None, files)
    if (d / FAILURE_JSON).exists():
        return _record(plan, profile, "failed", read_json(d / FAILURE_JSON)["reason"], {})
    return None


def prepare_root(root: Path, profile: DatasetProfile, force: bool = False) -> None:
    """Create/validate ``dataset.json``; refuse to mix configs in one dataset dir."""
    cfg = profile.model_dump(mode="json")
    cfg_hash = sha256_bytes(dumps({k: v for k, v in cfg.items() if k != "n_samples"}).encode())
    ds = root / DATASET_JSON
    if ds.exists() and not force:
        old = read_json(ds)
        if old.get("config_sha256") != cfg_hash:
            raise UserError(str(ds), "this dataset was generated with a different profile/config",
                            "use a new --out directory, or --force to overwrite it")
    root.mkdir(parents=True, exist_ok=True)
    write_json(ds, {"format": DATASET_FORMAT, "profile": profile.name, "config": cfg, "config_sha256": cfg_hash,
                    "note": "n_samples may grow across resumed runs; samples are a pure function of (config, index)"})
    remove_stale_temps(root)


def generate(root: Path, profile: DatasetProfile, workers: int = 1, force: bool = False,
             on_progress: Callable[[int, int, dict[str, Any]], None] | None = None,
             executor: str = "local", address: str | None = None) -> list[dict[str, Any]]:
    """Generate every planned sample not yet complete; write the manifest after each one."""
    from core.executors import map_tasks

    prepare_root(root, profile, force)
    plan = plan_samples(profile)
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for p in plan:
        rec = None if force else existing_record(root, p, profile)
        if rec is None:
            todo.append(p)
        else:
            records[p["sample_id"]] = rec
    done = len(records)
    write_manifest(root, list(records.values()))
    pj = profile.model_dump(mode="json")
    for rec in map_tasks(generate_one, [(str(root), pj, p) for p in todo], workers=workers, executor=executor,
                         address=address):
        records[rec["sample_id"]] = rec
        write_manifest(root, list(records.values()))
        done += 1
        if on_progress:
            on_progress(done, len(plan), rec)
    return [records[p["sample_id"]] for p in plan]
