"""Survey: on how many frames of each devset video does the landmarker find a face, with and without
the small-face path (tile search + crop tracking, ``app/core/face/roi.py``)?

Development tool (not shipped). For each video it runs the landmarker twice over every ``--stride``-th
frame (video mode, as the pipeline runs it), once with the whole-frame pass alone (``before``) and
once as shipped (``after``), and reports faces found / frames looked at, the median face height, how
many found faces pass the quality gate (``app/core/face/quality.py``) with the commonest reason for
the rest, and seconds spent. Prints a Markdown table; ``--json`` also writes the rows.

Usage::

    python tools/face_survey.py [--stride 5] [--json OUT.json] [VIDEO ...]

Without videos it surveys ``../shared/devset/deepfake/{real,fake,unlabelled}`` and
``../shared/devset/expression`` beside the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.face.landmarker import FaceLandmarker  # noqa: E402
from app.core.face.quality import QualityGate  # noqa: E402
from app.core.media.reader import iter_frames  # noqa: E402
from app.core.pipeline import _measure  # noqa: E402

DEVSET = REPO.parent / "shared" / "devset"
FOLDERS = ("deepfake/real", "deepfake/fake", "deepfake/unlabelled", "expression")


def survey(path: Path, stride: int, small_faces: bool) -> dict[str, object]:
    """Faces found on every ``stride``-th frame of ``path`` (largest face per frame)."""
    gate = QualityGate()
    n = found = usable = crop = 0
    heights: list[float] = []
    reasons: Counter[str] = Counter()
    t0 = time.perf_counter()
    with FaceLandmarker(small_faces=small_faces) as lm, iter_frames(str(path), stride=stride) as frames:
        for frame in frames:
            n += 1
            faces = lm.detect(frame.image, frame.t)
            if not faces:
                continue
            f = max(faces, key=lambda o: o.area)
            found += 1
            crop += f.source == "crop"
            heights.append(f.bbox[3])
            row = _measure(frame, f, gate, False)[0]
            usable += int(row["usable"])
            if not row["usable"]:
                reasons[str(row["reason"]).split(" (")[0]] += 1
    return {"frames": n, "found": found, "crop": crop, "usable": usable,
            "median_h": round(float(np.median(heights)), 1) if heights else None,
            "reason": reasons.most_common(1)[0][0] if reasons else "", "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    videos = args.videos or [p for d in FOLDERS for p in sorted((DEVSET / d).glob("*.mp4"))]
    rows = []
    print("| file | before: faces/frames | after: faces/frames (crop path) | median face h px | "
          "usable after | commonest reason unusable | s before / after |")
    print("|---|---|---|---|---|---|---|")
    for p in videos:
        b, a = survey(p, args.stride, False), survey(p, args.stride, True)
        name = f"{p.parent.name}/{p.name}"
        rows.append({"file": name, "before": b, "after": a})
        print(f"| {name} | {b['found']}/{b['frames']} | {a['found']}/{a['frames']} ({a['crop']}) | {a['median_h']} | "
              f"{a['usable']} | {a['reason']} | {b['seconds']} / {a['seconds']} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"stride": args.stride, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
