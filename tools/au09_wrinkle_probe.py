"""Can a nose-wrinkle texture measure rescue AU09 on photos? A pre-registered feasibility probe.

Development tool (not shipped, nothing in ``app`` uses it). MediaPipe's mesh does not see a nose
wrinkle (``noseSneer`` is 0 on every devset frame), which is why two of four posed disgust stills
miss (``models/cards/au_geometry.md``). Classical AU systems read AU09 from the transient wrinkles
across the nasal root (Tian, Kanade and Cohn, PAMI 2001, detect them as edges). This probe
measures that one idea, fixed before any disgust still was measured with it:

* the face is rotated and scaled so the outer eye corners (mesh 33 and 263) are level and 100 px
  apart; the region is +-20 px around mesh 168 (the nasal root between the eyes), from 168 down to
  197 (a third of the way down the bridge);
* grey levels, Gaussian sigma 1 px, Sobel; the measure is mean |d/dy| over mean |d/dx| in the region:
  wrinkles across the bridge add horizontal edges, the sides of the nose give vertical ones, and the
  ratio cancels most of the image's resolution, blur and compression;
* for a photo (judged against the population, as Vigil judges photos) the mark is the 99th
  percentile over the devset's real clips (20 evenly spaced frames each);
* pass: at least 3 of the 4 posed disgust stills above the mark and at most 2 of the 40 CK+ neutral
  frames.

Written here rather than taken from a library because no library computes this region's ratio;
cv2 does the warp, blur and gradients.

``python tools/au09_wrinkle_probe.py devset DEVSET_REAL_DIR OUT.json`` then
``python tools/au09_wrinkle_probe.py stills MARK IMAGE...``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from app.core.face.landmarker import FaceLandmarker

IOD_PX = 100.0
HALF_WIDTH = 20
FRAMES_PER_CLIP = 20
PERCENTILE = 99.0


def wrinkle_ratio(rgb: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean |vertical gradient| over mean |horizontal gradient| at the nasal root (see module doc)."""
    h, w = rgb.shape[:2]
    p = landmarks[:, :2] * [w, h]
    a, b = p[33], p[263]
    angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
    centre = (a + b) / 2
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, IOD_PX / float(np.linalg.norm(b - a)))
    m[:, 2] += 200.0 - centre
    grey = cv2.warpAffine(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), m, (400, 400))
    grey = cv2.GaussianBlur(grey, (0, 0), 1.0)
    q = np.c_[p, np.ones(len(p))] @ m.T
    y0, y1 = sorted((int(round(q[168, 1])), int(round(q[197, 1]))))
    x0 = int(round(q[168, 0]))
    box = (slice(y0, y1), slice(x0 - HALF_WIDTH, x0 + HALF_WIDTH))
    gx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0)[box]).mean()
    gy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1)[box]).mean()
    return float(gy / max(gx, 1e-6))


def measure(rgb: np.ndarray) -> float | None:
    """The ratio for the largest face in one RGB image, or None without a face (one landmarker per image)."""
    with FaceLandmarker() as lmk:
        faces = lmk.detect(rgb, 0.0)
    return wrinkle_ratio(rgb, max(faces, key=lambda f: f.area).landmarks) if faces else None


def devset(real_dir: Path, out: Path) -> float:
    """Per-clip ratios on evenly spaced frames of every real clip; returns the photo mark."""
    per_clip: dict[str, list[float]] = {}
    for clip in sorted(real_dir.glob("*.mp4")):
        cap = cv2.VideoCapture(str(clip))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        values = []
        for i in np.linspace(0, max(n - 1, 0), FRAMES_PER_CLIP).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
            ok, frame = cap.read()
            r = measure(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) if ok else None
            if r is not None:
                values.append(r)
        cap.release()
        per_clip[clip.name] = values
        print(f"{clip.name:48s} n {len(values):2d}  median {np.median(values):.3f}  max {max(values):.3f}")
    pooled = np.concatenate([v for v in per_clip.values() if v])
    mark = float(np.percentile(pooled, PERCENTILE))
    out.write_text(json.dumps({"mark": mark, "n_frames": int(pooled.size), "per_clip": per_clip}, indent=1))
    print(f"{pooled.size} frames of {len(per_clip)} clips; mark (p{PERCENTILE:g}) {mark:.3f}")
    return mark


def stills(mark: float, images: list[str]) -> None:
    """The ratio of each still, and whether it is above the photo mark."""
    for path in images:
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        r = measure(rgb)
        print(f"{Path(path).name:60s} " + ("no face" if r is None else f"{r:.3f}{'  ABOVE' if r > mark else ''}"))


if __name__ == "__main__":
    if sys.argv[1:2] == ["devset"]:
        devset(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["stills"]:
        stills(float(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)
