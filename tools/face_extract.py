"""Cache MediaPipe's per-frame output for a set of face media, for tuning and measuring AUs offline.

Development tool (not shipped): the AU spans, the population neutral prior and the expression
thresholds are chosen on the devset's real faces (see ``tools/au_tune.py``); decoding and landmarking
every clip again for each design trial would take minutes, so this writes one ``.npz`` per file with
the landmarks (478x3), the 52 blendshapes, the 4x4 transformation matrix, the image size, the frame
times and the 64x64 expression-CNN crop of the first face in each frame.

Usage::

    python tools/face_extract.py OUT_DIR MEDIA [MEDIA ...]

A still image (jpg/png) is read as one frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.analysers.expression import face_crop  # noqa: E402
from app.core.face.landmarker import FaceLandmarker  # noqa: E402
from app.core.media.reader import iter_frames  # noqa: E402

STILLS = {".jpg", ".jpeg", ".png", ".bmp"}


def _frames(path: Path):
    if path.suffix.lower() in STILLS:
        img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        yield 0, 0.0, img
        return
    with iter_frames(path) as frames:
        for f in frames:
            yield f.index, f.t, f.image


def extract(path: Path, out: Path) -> int:
    """Landmark every frame of ``path`` and save the arrays to ``out``; return the face-frame count."""
    rec: dict[str, list] = {k: [] for k in ("frame", "t", "lm", "bs", "mat", "crop")}
    size = (0, 0)
    with FaceLandmarker(max_faces=1) as lmk:
        for idx, t, img in _frames(path):
            h, w = img.shape[:2]
            size = (w, h)
            faces = lmk.detect(img, t)
            if not faces:
                continue
            obs = faces[0]
            grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            rec["frame"].append(idx)
            rec["t"].append(t)
            rec["lm"].append(obs.landmarks)
            rec["bs"].append(obs.blendshapes)
            rec["mat"].append(obs.matrix)
            rec["crop"].append(face_crop(grey, obs.landmarks[:, :2] * (w, h)))
    arrays = {k: np.asarray(v) for k, v in rec.items()}
    np.savez_compressed(out, size=np.array(size), **arrays)
    return len(rec["frame"])


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    for m in map(Path, argv[1:]):
        dest = out_dir / f"{m.parent.name}__{m.name}.npz"
        if dest.exists():
            continue
        n = extract(m, dest)
        print(f"{m.name}: {n} face frames", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
