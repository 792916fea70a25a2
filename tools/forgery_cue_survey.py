"""Survey candidate forgery cues on the labelled devset before any of them goes into the product.

Development tool (not shipped). Two steps:

``extract``
    For every video under ``deepfake/{real,fake}``: decode the first :data:`MAX_S` seconds, keep
    about :data:`N_FRAMES` evenly strided frames, find the face with the product's landmarker
    (:class:`app.core.face.landmarker.FaceLandmarker`, 478-point mesh) and save the native face patch
    (:func:`app.core.forensics.pixels.native_patch`, scaled down to at most :data:`MAX_PATCH` px a
    side), its landmarks and blendshapes to ``CACHE/<name>.npz``. Existing files are kept, so a rerun
    only does what is missing. This is the slow step (decoding and landmarking: 83 s for the 42
    clips on one core).
``survey``
    Computes every candidate measure (:data:`CANDIDATES`) per frame from the cache, aggregates each
    video (median over frames), and prints, per candidate: the AUC on the tuning half, on the
    held-out half, and on all videos (in-sample), each with a 95% interval from a bootstrap over
    groups (``app.services.forgery_eval.bootstrap_auc``); the real clips' range; and, for the
    0.5 "anomalous" mark chosen on the tuning half (the highest value of a real clip there), how
    many real and fake clips of each half reach it. ``--tune-only`` prints the tuning half alone.

The split (:func:`split`) puts whole groups (``resources/forgery/devset_groups.csv``) on one side,
alternating by a hash of the group name, so correlated clips never straddle it.

Usage::

    python tools/forgery_cue_survey.py extract [--cache DIR]
    python tools/forgery_cue_survey.py survey [--cache DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEVSET = Path("/work/shared/devset/deepfake")
CACHE = Path("/tmp/cue_survey")
MAX_S = 20.0
N_FRAMES = 40
MAX_PATCH = 512


def _videos() -> list[tuple[Path, int]]:
    out = []
    for label, sub in ((0, "real"), (1, "fake")):
        out += [(p, label) for p in sorted((DEVSET / sub).glob("*.mp4"))]
    return out


def extract_one(path: Path, out: Path) -> int:
    from app.core.face.landmarker import FaceLandmarker
    from app.core.forensics.pixels import native_patch
    from app.core.media.probe import probe
    from app.core.media.reader import iter_frames

    info = probe(path)
    fps = float(info.fps or 25.0)
    n = int(min(MAX_S, float(info.duration_s or MAX_S)) * fps)
    stride = max(1, int(np.ceil(n / N_FRAMES)))
    rec: dict[str, list] = {"frame": [], "t": [], "lm": [], "bs": [], "scale": []}
    patches = []
    with FaceLandmarker(max_faces=1) as lmk, iter_frames(path) as frames:
        for f in frames:
            if f.t > MAX_S:
                break
            if f.index % stride:
                continue
            faces = lmk.detect(f.image, f.t)
            if not faces:
                continue
            h, w = f.image.shape[:2]
            got = native_patch(f.image, faces[0].landmarks[:, :2] * (w, h))
            if got is None:
                continue
            patch, pts = got
            scale = min(1.0, MAX_PATCH / max(patch.shape[:2]))
            if scale < 1.0:
                patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                pts = pts * scale
            patches.append(patch)
            rec["frame"].append(f.index), rec["t"].append(f.t), rec["lm"].append(pts)
            rec["bs"].append(faces[0].blendshapes), rec["scale"].append(scale)
    arrays = {k: np.asarray(v) for k, v in rec.items()}
    arrays.update({f"p{i}": p for i, p in enumerate(patches)})
    np.savez_compressed(out, **arrays)
    return len(patches)


def extract(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for path, _ in _videos():
        out = cache / f"{path.stem}.npz"
        if out.exists():
            continue
        t0 = time.time()
        n = extract_one(path, out)
        print(f"{path.name}: {n} face frames, {time.time() - t0:.1f} s", flush=True)


def load(cache: Path, name: str) -> dict:
    z = np.load(cache / f"{name}.npz")
    n = len(z["t"])
    return {"t": z["t"], "lm": z["lm"], "bs": z["bs"], "patches": [z[f"p{i}"] for i in range(n)]}


def groups() -> dict[str, str]:
    from app.services.forgery_eval import read_groups

    return read_groups(REPO / "resources/forgery/devset_groups.csv")


def split(names: list[str], labels: list[int], gmap: dict[str, str]) -> dict[str, int]:
    """0 = tuning half, 1 = held-out half, by whole groups: the groups holding a fake and the
    real-only groups are each sorted by the md5 of their name and dealt out alternately (a fixed
    rule, not a choice), so both halves get fakes."""
    gof = {n: gmap.get(n, f"file:{n}") for n in names}
    fake_groups = {gof[n] for n, y in zip(names, labels) if y == 1}
    real_groups = set(gof.values()) - fake_groups
    side = {}
    for stratum in (fake_groups, real_groups):
        for k, grp in enumerate(sorted(stratum, key=lambda x: hashlib.md5(x.encode()).hexdigest())):
            side[grp] = k % 2
    return {n: side[gof[n]] for n in names}


def labelled(have: Path) -> tuple[list[tuple[Path, int]], np.ndarray, np.ndarray, np.ndarray]:
    """The devset videos with a ``<stem>.npz`` in ``have``, and their labels, groups and split halves."""
    vids = [(p, y) for p, y in _videos() if (have / f"{p.stem}.npz").exists()]
    gmap = groups()
    names = [p.name for p, _ in vids]
    half = split(names, [lab for _, lab in vids], gmap)
    y = np.array([lab for _, lab in vids])
    g = np.array([gmap.get(n, f"file:{n}") for n in names])
    h = np.array([half[n] for n in names])
    return vids, y, g, h


def survey(cache: Path, json_out: Path | None, tune_only: bool = False) -> None:
    from tools._cue_candidates import CANDIDATES, per_video  # noqa: PLC0415
    from app.services.forgery_eval import auc, bootstrap_auc

    vids, y, g, h = labelled(cache)
    names = [p.name for p, _ in vids]
    vals = {c: np.full(len(vids), np.nan) for c in CANDIDATES}
    t0 = time.time()
    for i, (p, _) in enumerate(vids):
        agg = per_video(load(cache, p.stem))
        for c in CANDIDATES:
            vals[c][i] = agg.get(c, np.nan)
    print(f"measured {len(vids)} videos in {time.time() - t0:.0f} s")
    for k in (0, 1):
        sel = h == k
        print(f"half {k}: {int((y[sel] == 0).sum())} real / {int((y[sel] == 1).sum())} fake; groups: "
              + ", ".join(sorted(set(g[sel]))))
    report = {}
    for c in CANDIDATES:
        s = vals[c]
        row = {}
        for tag, sel in (("tune", h == 0), ("held", h == 1), ("all", np.ones(len(y), bool))):
            a = auc(y[sel], s[sel])
            lo, hi = bootstrap_auc(y[sel], s[sel], g[sel])
            ok = np.isfinite(s[sel])
            row[tag] = (round(a, 3), round(lo, 3), round(hi, 3), int((ok & (y[sel] == 0)).sum()),
                        int((ok & (y[sel] == 1)).sum()))
        tune_real = s[(h == 0) & (y == 0) & np.isfinite(s)]
        mark = float(tune_real.max()) if len(tune_real) else float("nan")
        above = {f"{tag}_{cls}": int(((s >= mark) & (h == k) & (y == lab)).sum())
                 for k, tag in ((0, "tune"), (1, "held")) for lab, cls in ((0, "real"), (1, "fake"))}
        real = s[(y == 0) & np.isfinite(s)]
        row.update(mark=round(mark, 4), above=above,
                   real_q=[round(float(q), 4) for q in np.percentile(real, [0, 50, 100])] if len(real) else [],
                   fake=[round(float(v), 4) for v in s[y == 1]])
        report[c] = row
        if tune_only:
            print(f"{c:18s} tune {row['tune']}  tune-real max {mark}  tune fakes >= it {above['tune_fake']}")
            continue
        print(f"{c:18s} tune {row['tune']}  held {row['held']}  all(in-sample) {row['all']}  "
              f"real min/med/max {row['real_q']}  mark {row['mark']}  >=mark {above}")
    if json_out:
        per = {n: {c: (None if not np.isfinite(vals[c][i]) else round(float(vals[c][i]), 4)) for c in CANDIDATES}
               | {"label": int(y[i]), "group": str(g[i]), "half": int(h[i])} for i, n in enumerate(names)}
        json_out.write_text(json.dumps({"candidates": report, "videos": per}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("extract", "survey"))
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tune-only", action="store_true", help="print the tuning half's figures only")
    a = ap.parse_args()
    if a.step == "extract":
        extract(a.cache)
    else:
        survey(a.cache, a.json, a.tune_only)


if __name__ == "__main__":
    main()
