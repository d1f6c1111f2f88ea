"""`bench gen`: plan samples from a profile, generate them (resumably) and write the manifest.

Candidate ``i`` is a pure function of (profile, i): its seed is ``stable_seed(profile.seed, "sample", i)``
and its object is the i-th entry of a seeded cycle over the objects, so a larger ``--n`` only appends.
``--n N`` asks for N *usable* samples: candidates 0..N-1 are made first; while some failed, the next
``deficit`` candidates are made as replacements (a bounded number, ``max_candidates``). Failures stay in
the manifest with their reason. The set of candidates made depends only on the profile, never on the
number of workers or the executor, so the manifest bytes do not either.

Each sample is written into a temp dir and renamed into place; a killed run leaves no half sample. A
re-run skips complete samples whose files still match the manifest, regenerates those that do not
(and those whose failure was transient: a timeout, a crash, an I/O error), and refuses to touch a
directory holding files the generator did not write.
"""
from __future__ import annotations

import platform
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core.atomic import atomic_dir, remove_stale_temps
from core.dataset import (DATASET_FORMAT, DATASET_JSON, FAILURE_JSON, MANIFEST, SampleDir, read_manifest,
                          verify_sample, write_manifest)
from core.errors import UserError
from core.hashing import sha256_bytes, stable_seed
from core.jsonio import dumps, read_json, write_json
from core.splits import split_of
from datagen.profile import DatasetProfile, observed_frames, profile_from_dict
from datagen.writer import UNHASHED

GENERATION_LOG = "generation.jsonl"
#: exception types whose failure may not recur (retried on resume); anything else is deterministic
TRANSIENT = ("TimeoutError", "TimeoutExpired", "MemoryError", "OSError", "ConnectionError", "BrokenProcessPool",
             "BlenderWorkerError", "URLError")


def object_ids(profile: DatasetProfile) -> list[str]:
    from datagen.assets.sources import list_object_ids

    return list_object_ids(profile.assets)


def max_candidates(n: int) -> int:
    """How many candidates ``--n n`` may try before it stops with fewer usable samples (replacements are
    also not drawn when the first ``n`` candidates gave nothing usable: the profile itself is broken)."""
    return n + max(4, n)


def plan_candidates(profile: DatasetProfile, n: int) -> list[dict[str, Any]]:
    """The first ``n`` candidates: sample id, index, seed, object id, category, split, physics draw.

    Objects are visited in a seeded order; each visit yields ``splits.samples_per_object[split]``
    consecutive candidates (different physics, same object); the cycle repeats as long as needed.
    """
    ids = object_ids(profile)
    order = np.random.default_rng(stable_seed(profile.seed, "objects")).permutation(len(ids))
    s = profile.splits
    per = s.samples_per_object.model_dump()
    plan: list[dict[str, Any]] = []
    visit = 0
    while len(plan) < n:
        oid = ids[order[visit % len(ids)]]
        split = split_of(oid, s.train, s.val, s.test)
        for rep in range(per[split]):
            i = len(plan)
            if i >= n:
                break
            plan.append({"sample_id": f"s{i:05d}", "index": i, "seed": stable_seed(profile.seed, "sample", i),
                         "object_id": oid, "category": oid.split("/")[1] if oid.startswith("proc/") else "",
                         "split": split, "physics_draw": rep})
        visit += 1
    return plan


def plan_samples(profile: DatasetProfile) -> list[dict[str, Any]]:
    """The deterministic plan when no candidate fails: the first ``n_samples`` candidates."""
    return plan_candidates(profile, profile.n_samples)


def wanted(profile: DatasetProfile, splits: Sequence[str] | None = None) -> int:
    """Usable samples a run asks for: ``n_samples``, or with ``splits`` those of the first ``n_samples``
    candidates that fall in them."""
    if not splits:
        return profile.n_samples
    return sum(p["split"] in splits for p in plan_samples(profile))


def split_candidates(profile: DatasetProfile, m: int, splits: Sequence[str]) -> list[dict[str, Any]]:
    """The first ``m`` candidates of the full candidate sequence whose split is in ``splits`` (same sample ids,
    seeds and objects as in a run over every split)."""
    n = max(m, 1)
    while True:
        picked = [p for p in plan_candidates(profile, n) if p["split"] in splits]
        if len(picked) >= m:
            return picked[:m]
        if not picked and n >= 64 * max(m, 1):
            raise UserError("--splits", f"no object of this profile falls in {', '.join(splits)}",
                            "check the profile's splits fractions, or choose other splits")
        n *= 2


def _time_split(profile: DatasetProfile) -> dict[str, Any]:
    sc = profile.scenario
    n_obs = observed_frames(sc.n_frames, sc.observed_fraction)
    return {"fps": sc.fps, "n_frames": sc.n_frames, "n_observed": n_obs,
            "observed": [0, n_obs], "future": [n_obs, sc.n_frames], "frame_time": "t / fps"}


def _record(plan: dict[str, Any], profile: DatasetProfile, status: str, reason: str | None, files: dict[str, str]) -> dict[str, Any]:
    return {
        "sample_id": plan["sample_id"], "object_id": plan["object_id"], "category": plan["category"],
        "split": plan["split"], "seed": plan["seed"], "physics_model": plan.get("physics_model", profile.physics.model),
        "scenario": plan.get("scenario", profile.scenario.kind), "status": status, "reason": reason, "files": files,
    }


def generate_one(root: str, profile_json: dict[str, Any], plan: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """Generate one sample into ``root/<sample_id>`` atomically; failures are recorded, not raised."""
    from core.processes import limit_threads
    from datagen.sample_build import build_scene
    from datagen.writer import write_sample

    if threads:
        limit_threads(threads)
    profile = profile_from_dict(profile_json)
    final = Path(root) / plan["sample_id"]
    rng = np.random.default_rng(plan["seed"])
    meta = {k: plan[k] for k in ("sample_id", "object_id", "category", "split", "seed")}
    meta.update({"profile": profile.name, "time": _time_split(profile)})
    try:
        scene = build_scene(profile, plan["object_id"], rng)
        plan = {**plan, "category": plan["category"] or scene.mesh.category, "physics_model": scene.physics["model"],
                "scenario": scene.scenario["kind"]}
        meta["category"] = plan["category"]
        with atomic_dir(final) as tmp:
            files = write_sample(tmp, meta, scene, profile)
        return _record(plan, profile, "ok", None, files)
    except Exception as exc:  # a failure is a result: record it with its reason
        reason = _reason(exc)
        transient = type(exc).__name__ in TRANSIENT or isinstance(exc, (TimeoutError, MemoryError, ConnectionError))
        with atomic_dir(final) as tmp:
            write_json(tmp / FAILURE_JSON, {**meta, "status": "failed", "reason": reason, "transient": transient,
                                            "traceback": traceback.format_exc(limit=8)})
        return _record(plan, profile, "failed", reason, {})


def _reason(exc: Exception) -> str:
    kind = getattr(exc, "reason", None)
    name = type(exc).__name__
    text = " ".join(str(exc).split())[:300]
    return f"{name}[{kind}]: {text}" if isinstance(kind, str) and kind else f"{name}: {text}"


def _listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}


def existing_record(root: Path, plan: dict[str, Any], profile: DatasetProfile,
                    recorded: dict[str, Any] | None) -> dict[str, Any] | None:
    """The manifest record of an already complete sample dir, or None if it must be (re)made.

    A complete sample is kept only if its files match ``recorded`` (its manifest line) byte for byte;
    a transient failure is retried. A directory with files the generator did not write is refused.
    """
    s = SampleDir(root / plan["sample_id"])
    if not s.path.exists():
        return None
    files = _listing(s.path)
    if s.sample_json.exists():
        if recorded is not None and recorded.get("status") == "ok":
            foreign = files - set(recorded["files"]) - {f for f in files if Path(f).name in UNHASHED}
            if foreign:
                _refuse(s.path, sorted(foreign))
            if verify_sample(root, recorded):
                return None  # corrupted or incomplete since it was recorded: regenerate, never re-hash
            return recorded
        if recorded is None:  # no manifest line (e.g. the manifest was lost): hash what is there
            from core.hashing import sha256_file

            meta = read_json(s.sample_json)
            hashed = {f: sha256_file(s.path / f) for f in sorted(files) if Path(f).name not in UNHASHED}
            return _record({**plan, "category": meta["category"], "physics_model": meta["physics"]["model"],
                            "scenario": meta["scenario"]["kind"]},
                           profile, "ok", None, hashed)
        return None
    if s.failure_json.exists():
        if files != {FAILURE_JSON}:
            _refuse(s.path, sorted(files - {FAILURE_JSON}))
        fail = read_json(s.failure_json)
        return None if fail.get("transient") else _record(plan, profile, "failed", fail["reason"], {})
    _refuse(s.path, sorted(files))
    return None


def _refuse(d: Path, files: list[str]) -> None:
    shown = ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
    raise UserError(str(d), f"holds files `bench gen` did not write ({shown or 'an empty folder'}); nothing was deleted",
                    "move them out of the dataset directory, or use another --out")


def prepare_root(root: Path, profile: DatasetProfile, force: bool = False) -> None:
    """Create/validate ``dataset.json``; refuse to mix configs in one dataset dir, or to write into a folder
    that is not a dataset."""
    cfg = profile.model_dump(mode="json")
    cfg_hash = sha256_bytes(dumps({k: v for k, v in cfg.items() if k != "n_samples"}).encode())
    ds = root / DATASET_JSON
    if root.exists() and not root.is_dir():
        raise UserError("--out", f"'{root}' is a file, not a folder", "pass a folder for the dataset")
    if root.is_dir() and not ds.exists() and any(p for p in root.iterdir() if not p.name.startswith(".tmp-")):
        raise UserError("--out", f"'{root}' exists and is not a dataset (no {DATASET_JSON}); nothing was written",
                        "pass a new or empty folder")
    if ds.exists():
        old = read_json(ds)
        if old.get("config_sha256") != cfg_hash and not force:
            raise UserError(str(ds), "this dataset was generated with a different profile/config",
                            "use a new --out directory, or --force to overwrite it")
    try:
        root.mkdir(parents=True, exist_ok=True)
        write_json(ds, {"format": DATASET_FORMAT, "profile": profile.name, "config": cfg, "config_sha256": cfg_hash,
                        "note": "n_samples may grow across resumed runs; samples are a pure function of (config, index)"})
    except OSError as exc:
        raise UserError("--out", f"cannot write '{root}' ({exc.strerror or exc})", "choose a folder you can write to") from None
    remove_stale_temps(root)


def _log_generation(root: Path, entry: dict[str, Any]) -> None:
    with open(root / GENERATION_LOG, "a") as f:
        f.write(dumps(entry).replace("\n", " ").strip() + "\n")


def generate(root: Path, profile: DatasetProfile, workers: int = 1, force: bool = False,
             on_progress: Callable[[int, int, dict[str, Any]], None] | None = None,
             executor: str = "local", address: str | None = None, threads: int | None = None,
             splits: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Generate until ``profile.n_samples`` usable samples exist; write the manifest after each one.

    ``splits`` (e.g. ``["test"]``) makes only the candidates of those splits: as many usable samples as the
    first ``n_samples`` candidates hold in them, each the same bytes as in a run over every split, a failed one
    replaced by the next candidate of the same splits. A later run without ``splits`` into the same directory
    keeps them and adds the rest. Returns the records of every candidate made (usable and failed), in candidate
    order.
    """
    from core.executors import map_tasks
    from core.processes import cpu_count, thread_share

    bad = sorted(set(splits or ()) - {"train", "val", "test"})
    if bad:
        raise UserError("--splits", f"unknown split {bad[0]!r}", "use train, val and/or test")
    prepare_root(root, profile, force)
    t_start = time.time()
    n_threads = thread_share(workers, threads)
    old = {r["sample_id"]: r for r in read_manifest(root)} if (root / MANIFEST).exists() and not force else {}
    want = wanted(profile, splits)
    if splits:
        if want == 0:
            raise UserError("--splits", f"the first {profile.n_samples} candidates hold no {'/'.join(splits)} sample",
                            "raise --n, or choose other splits")
        sequence = lambda m: split_candidates(profile, m, splits)  # noqa: E731
    else:
        sequence = lambda m: plan_candidates(profile, m)  # noqa: E731
    limit = max_candidates(want)
    order: list[str] = []
    # with --splits, the manifest keeps the records of the other splits' samples already in the directory
    others = {sid: r for sid, r in old.items() if splits and r.get("split") not in splits}

    def save() -> None:
        write_manifest(root, list({**others, **records}.values()))

    pj = profile.model_dump(mode="json")
    records: dict[str, dict[str, Any]] = {}
    n_cand, n_ok = 0, 0
    while n_ok < want and n_cand < limit:
        batch = sequence(min(limit, n_cand + (want - n_ok)))[n_cand:]
        n_cand += len(batch)
        order += [p["sample_id"] for p in batch]
        todo = []
        for p in batch:
            rec = None if force else existing_record(root, p, profile, old.get(p["sample_id"]))
            if rec is None:
                todo.append(p)
            else:
                records[p["sample_id"]] = rec
        save()
        for rec in map_tasks(generate_one, [(str(root), pj, p, n_threads) for p in todo], workers=workers,
                             executor=executor, address=address):
            records[rec["sample_id"]] = rec
            save()
            if on_progress:
                on_progress(sum(r["status"] == "ok" for r in records.values()), want, rec)
        n_ok = sum(r["status"] == "ok" for r in records.values())
        if n_ok == 0:
            break  # not one usable sample among the first candidates: replacements would fail the same way
    save()
    _log_generation(root, {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t_start)),
                           "seconds": round(time.time() - t_start, 1), "usable": n_ok, "wanted": want,
                           "candidates": n_cand, "splits": sorted(splits) if splits else "all", "workers": workers, "threads_per_worker": n_threads,
                           "executor": executor, "cpus": cpu_count(), "host": platform.node(),
                           "machine": f"{platform.system()} {platform.machine()}"})
    return [records[sid] for sid in order]
