"""DATASET.md: the card `bench gen` writes into a dataset dir (from its manifest, sample.json files and generation log).

Sources and licences, counts by shape family / physics model / scenario / split, what rendered the frames, the
protocol id of each split and track under the default eval settings, package versions, the generation settings
(the profile as validated), and the generation time and machine. Everything is read back from the dataset, so
the card describes what is on disk, failures included.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from core.jsonio import write_text_atomic
from core.dataset import SampleDir, read_manifest
from core.hashing import sha256_bytes

CARD = "DATASET.md"


def _table(title: str, counts: Counter, total: int) -> list[str]:
    rows = [f"### {title}", "", f"| {title.split(' ')[-1]} | samples | share |", "|---|---:|---:|"]
    rows += [f"| {k} | {n} | {n / max(total, 1):.0%} |" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return rows + [""]


def _cross(recs: list[dict[str, Any]], row: str, col: str) -> list[str]:
    cols = sorted({str(r.get(col)) for r in recs})
    rows = sorted({str(r.get(row)) for r in recs})
    c = Counter((str(r.get(row)), str(r.get(col))) for r in recs)
    out = [f"| {row} \\ {col} | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    out += [f"| {a} | " + " | ".join(str(c[(a, b)]) for b in cols) + " |" for a in rows]
    return out + [""]


def _generations(root: Path) -> list[dict[str, Any]]:
    p = root / "generation.jsonl"
    return [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()] if p.exists() else []


def card_text(root: Path) -> str:
    """The DATASET.md text of the dataset at ``root``."""
    from metrics.evaluate import DEFAULT_EVAL, protocol_of

    root = Path(root)
    recs = read_manifest(root)
    ok = [r for r in recs if r["status"] == "ok"]
    failed = [r for r in recs if r["status"] != "ok"]
    ds = json.loads((root / "dataset.json").read_text()) if (root / "dataset.json").exists() else {}
    prof = ds.get("config", {})
    metas = [json.loads(SampleDir(root / r["sample_id"]).sample_json.read_text()) for r in ok]
    manifest_sha = sha256_bytes((root / "manifest.jsonl").read_bytes())

    lines = [f"# {prof.get('name', root.name)}", "", str(prof.get("description", "")).strip(), "",
             f"{len(ok)} samples ok, {len(failed)} failed (failures are kept in manifest.jsonl with their reason); "
             f"{len({r['object_id'] for r in ok})} objects; manifest sha256 `{manifest_sha}`.", ""]
    lines += ["## Sources and licences", "", "| source | licence | samples | objects |", "|---|---|---:|---:|"]
    licence = lambda m: (m["asset"]["source"], m["asset"].get("license") or "unknown")  # noqa: E731
    src = Counter(licence(m) for m in metas)
    for key, n in sorted(src.items()):
        objs = {m["object_id"] for m in metas if licence(m) == key}
        lines.append(f"| {key[0]} | {key[1]} | {n} | {len(objs)} |")
    lines += ["", "## Counts", ""]
    for title, key in (("by shape family", "category"), ("by physics", "physics_model"), ("by scenario", "scenario"),
                       ("by split", "split")):
        lines += _table(title, Counter(str(r.get(key)) for r in ok), len(ok))
    lines += ["### split x physics", ""] + _cross(ok, "split", "physics_model")
    lines += ["### split x scenario", ""] + _cross(ok, "split", "scenario")
    if failed:
        lines += ["### failures", ""] + [f"- {r['sample_id']}: {r.get('reason')}" for r in failed] + [""]

    lines += ["## Rendering", ""]
    rend = Counter()
    for m in metas:
        r = m["render"]
        scene = (r.get("scene") or {}).get("kind")
        den = None if "denoise" not in r else (f"OIDN ({r.get('denoise_prefilter', 'accurate')} prefilter)"
                                                 if r["denoise"] else "off")
        rend[(r["renderer"], r.get("engine"), r.get("samples"), den, f"{r['width']}x{r['height']}",
              len(r["views"]), len(r["held_out_views"]), scene)] += 1
    lines += ["| renderer | engine | spp | denoiser | size | views | held out | look | samples |",
              "|---|---|---:|---|---|---:|---:|---|---:|"]
    lines += ["| " + " | ".join("—" if v is None else str(v) for v in k) + f" | {n} |" for k, n in sorted(rend.items(), key=str)]
    lines += ["", "## Protocol ids (default eval settings)", "",
              "A score is comparable to another only under the same protocol id (metrics/protocol.py); `bench eval` writes "
              "it into results.json. Default eval settings: `" + json.dumps(DEFAULT_EVAL, sort_keys=True) + "`.", "",
              "| split | track | protocol id |", "|---|---|---|"]
    splits = sorted({r["split"] for r in ok}) + ["all"]
    has_transfer = any(((m.get("scenario") or {}).get("transfer")) for m in metas)
    for sp in splits:
        for track in [None, *(["transfer"] if has_transfer else [])]:
            lines.append(f"| {sp} | {track or 'per sample (freefall / interaction)'} | `{protocol_of(manifest_sha, sp, track)[2]}` |")
    versions = Counter(json.dumps(m.get("versions"), sort_keys=True) for m in metas)
    lines += ["", "## Versions", ""]
    for v, n in versions.most_common():
        lines.append(f"- {n} samples: " + ", ".join(f"{k} {x}" for k, x in sorted(json.loads(v).items())))
    gens = _generations(root)
    lines += ["", "## Generation", ""]
    if gens:
        g = gens[-1]
        total = sum(float(x.get("seconds") or 0.0) for x in gens)
        lines.append(f"{len(gens)} generation run(s) in generation.jsonl, {total:.0f} s in all"
                     + (f" ({3600.0 * len(ok) / total:.1f} samples/hour)" if total > 0 else "") + ".")
        lines.append(f"Last run: started {g.get('started')}, {g.get('seconds')} s, {g.get('executor')} executor, "
                     f"{g.get('workers')} worker(s) x {g.get('threads_per_worker')} thread(s), host {g.get('host')} "
                     f"({g.get('machine')}, {g.get('cpus')} CPUs)"
                     + (f", splits {', '.join(g['splits'])} only" if isinstance(g.get("splits"), list) else "") + ".")
    lines += ["", "## Settings (the validated profile)", "", "```json", json.dumps(prof, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def write_dataset_card(root: Path) -> Path:
    """Write ROOT/DATASET.md atomically; returns its path."""
    path = Path(root) / CARD
    write_text_atomic(path, card_text(root))
    return path
