"""Vigil's AUs against the landmark-inversion reference of ``tools/au_reference.py``, over clips.

Development tool (not shipped). For each clip: the reference (py-feat 0.3's Haar + LBF landmarks,
inverted through its CK+ AU-to-shape models ``blue``, OpenFace-labelled, and ``facet``,
FACET-labelled) is written as a py-feat Fex CSV; the clip is analysed by the product
(:func:`app.services.analyze.analyze_video`, the path of ``vigil analyze``) and compared with the
product's ``compare-au`` service (:func:`app.services.au_interop.compare_au`). Frames pair by frame
number (:func:`app.core.au_agreement.pair_frames`).

Pooled over clips, per AU: Pearson r, ICC(3,1) (:func:`app.core.au_agreement.icc_3_1`), frames
and clips paired, the reference's SD and whether the AU *moves* (pooled reference SD >= 0.1 in
OpenFace's 0-5 units, the ``compare-au`` rule for a 0-5 scale), and a 95 % percentile bootstrap
interval over clips (clips resampled with replacement, the pooled r recomputed). The summary is
the issue's metric: the mean r over the AUs that move (an AU flat in Vigil counts as r = 0). Also:
the two references against each other (how far the reference itself is defined), Vigil against
the FACET-labelled reference, and the same means at other ridge strengths.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.core.analysers.au import AU_NAMES
from app.core.au_agreement import icc_3_1, pair_frames
from app.core.au_io import read_au_csv
from app.services.analyze import analyze_video
from app.services.au_interop import case_aus, compare_au
from app.store import runs
from app.store.workspace import Workspace
from tools.au_reference import (FACET_AUS, OPENFACE_AUS, RIDGE, reference_values, video_landmarks,
                                write_pyfeat_csv)

MOVE_SD = 0.1
#: The reference counts as defining an AU when its two label sets (OpenFace, FACET) agree on it at
#: least this well (pooled r, blue vs facet): a rule on the reference alone, never on Vigil.
DEFINED_R = 0.5
BROW_LID = ("AU01", "AU02", "AU04", "AU05", "AU20")
RNG_SEED = 10


def _r(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 5 or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _clip_data(sdist: Path, workdir: Path, ws: Workspace, video: Path) -> dict[str, Any]:
    """Reference CSVs, Vigil's analysis, the product comparison and the paired frames of one clip."""
    cache = workdir / f"{video.stem}.lms.npz"
    if cache.exists():
        z = np.load(cache)
        frames, boxes, lms, n, step = z["frames"], z["boxes"], z["lms"], int(z["n"]), int(z["step"])
    else:
        frames, boxes, lms, n, step = video_landmarks(sdist, video)
        np.savez(cache, frames=frames, boxes=boxes, lms=lms, n=n, step=step)
    face = {"FaceRectX": boxes[:, 0], "FaceRectY": boxes[:, 1], "FaceRectWidth": boxes[:, 2],
            "FaceRectHeight": boxes[:, 3]}
    csvs = {}
    for model in ("blue", "facet"):
        csvs[model] = workdir / f"{video.stem}.{model}.csv"
        write_pyfeat_csv(csvs[model], frames, reference_values(sdist, lms, model), None, video.name, face)
    res = analyze_video(ws, video)
    product = compare_au(ws, res.case_id, csvs["blue"])
    vf, vt, vaus = case_aus(ws, res.case_id)
    ref = read_au_csv(csvs["blue"])
    ic, ir, how = pair_frames(vf, vt, ref.frame, ref.t)
    vig = {a: np.asarray(vaus[a], np.float64)[ic] for a in AU_NAMES}
    refs = {lam: reference_values(sdist, lms, "blue", lam) for lam in (3.0, RIDGE, 30.0)}
    idx = np.searchsorted(frames, ref.frame[ir])
    blue = {lam: {a: v[idx] for a, v in r.items()} for lam, r in refs.items()}
    facet_all = reference_values(sdist, lms, "facet")
    facet = {a: v[idx] for a, v in facet_all.items()}
    cap = cv2.VideoCapture(str(video))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    lm_agree = _landmark_agreement(ws, res.case_id, frames, lms, vaus, vf, size)
    return {"clip": video.name, "frames": n, "landmarks_mp_vs_lbf": lm_agree, "step": step, "with_face": len(frames), "paired": len(ic),
            "paired_by": how, "vigil_usable_paired": int(np.isfinite(vig["AU12"]).sum()),
            "product_mean_r_moving": product["mean_r_moving"], "product_moving": product["moving"],
            "product_r": {r["au"]: r["r"] for r in product["aus"]},
            "vig": vig, "blue": blue, "facet": facet}


def _landmark_agreement(ws: Workspace, case_id: int, frames: np.ndarray, lms: np.ndarray,
                        vig: dict[str, np.ndarray], vig_frames: np.ndarray, size: tuple[int, int]) -> dict[str, float]:
    """Per-clip r between MediaPipe's mesh (what Vigil measures on) and the reference's LBF points
    for three plain image-plane measures, each over the inter-ocular distance: inner-lip gap,
    mouth width, inner-brow height above the inner eye corners. Tells landmark disagreement apart
    from disagreement in how AUs are read from the landmarks."""
    run = runs.case_run(ws, case_id)
    mesh = {r["frame"]: np.frombuffer(r["xyz"], np.float16).reshape(-1, 3).astype(np.float64)
            for r in runs.export_rows(ws, run["id"], ("frame", "face", "usable"), mesh=True)
            if r["face"] == 0 and r["xyz"] is not None and r["usable"]}
    keep = [i for i, f in enumerate(frames) if int(f) in mesh]
    if len(keep) < 5:
        return {}
    lb = lms[keep]
    mp = np.array([mesh[int(frames[i])][:, :2] for i in keep]) * np.array(size, np.float64)

    def dist(p: np.ndarray, i: int, j: int) -> np.ndarray:
        return np.linalg.norm(p[:, i] - p[:, j], axis=1)

    def brow(p: np.ndarray, eyes: tuple[int, int], brows: tuple[int, int]) -> np.ndarray:
        return (p[:, eyes[0], 1] + p[:, eyes[1], 1] - p[:, brows[0], 1] - p[:, brows[1], 1]) / 2

    iod_l, iod_m = dist(lb, 36, 45), dist(mp, 33, 263)
    gap_m, width_m = dist(mp, 13, 14) / iod_m, dist(mp, 61, 291) / iod_m
    brow_m = brow(mp, (133, 362), (107, 336)) / iod_m
    vi = np.searchsorted(vig_frames, frames[keep])
    ok = (vi < len(vig_frames)) & (vig_frames[np.minimum(vi, len(vig_frames) - 1)] == frames[keep])
    v = {a: np.where(ok, np.asarray(vig[a], np.float64)[np.minimum(vi, len(vig_frames) - 1)], np.nan)
         for a in ("AU25", "AU12", "AU01")}
    return {"lip_gap": round(_r(dist(lb, 62, 66) / iod_l, gap_m), 2),
            "mouth_width": round(_r(dist(lb, 48, 54) / iod_l, width_m), 2),
            "inner_brow_height": round(_r(brow(lb, (39, 42), (21, 22)) / iod_l, brow_m), 2),
            "vigil_AU25_vs_mp_lip_gap": round(_r(v["AU25"], gap_m), 2),
            "vigil_AU12_vs_mp_mouth_width": round(_r(v["AU12"], width_m), 2),
            "vigil_AU01_vs_mp_inner_brow": round(_r(v["AU01"], brow_m), 2)}


def _pooled(clips: list[dict], x_of, y_of, rng: np.random.Generator, boot: int) -> dict[str, Any]:
    """Pooled r, ICC, n, clips, ref SD and a clip bootstrap interval of r for one pair of series."""
    xs = [np.asarray(x_of(c), np.float64) for c in clips]
    ys = [np.asarray(y_of(c), np.float64) for c in clips]
    x, y = np.concatenate(xs), np.concatenate(ys)
    ok = np.isfinite(x) & np.isfinite(y)
    n_clips = sum(int((np.isfinite(a) & np.isfinite(b)).sum() > 0) for a, b in zip(xs, ys))
    out: dict[str, Any] = {"n": int(ok.sum()), "clips": n_clips, "ref_sd": float(np.std(y[ok])) if ok.any() else None,
                           "vigil_sd": float(np.std(x[ok])) if ok.any() else None}
    out["r"] = _r(x, y)
    out["vigil_zero_frac"] = float(np.mean(np.abs(x[ok]) < 1e-6)) if ok.any() else None
    # Frame-to-frame jitter (robust SD of first differences / sqrt 2, per clip, pooled median) over
    # the series' SD: how much of the reference's movement is noise (an upper bound at step > 1).
    jit = [1.4826 * np.median(np.abs(np.diff(b[np.isfinite(b)]))) / math.sqrt(2) for b in ys
           if np.isfinite(b).sum() > 5]
    out["ref_jitter_over_sd"] = float(np.median(jit) / out["ref_sd"]) if jit and out["ref_sd"] else None
    out["icc"] = icc_3_1(np.column_stack([x[ok], y[ok]])) if ok.sum() > 2 else float("nan")
    per = [_r(a, b) for a, b in zip(xs, ys)]
    out["per_clip_r"] = [None if not np.isfinite(v) else round(v, 2) for v in per]
    bs = []
    for _ in range(boot):
        pick = rng.integers(0, len(clips), len(clips))
        bs.append(_r(np.concatenate([xs[i] for i in pick]), np.concatenate([ys[i] for i in pick])))
    bs = np.array(bs)
    bs = bs[np.isfinite(bs)]
    out["ci"] = [float(np.percentile(bs, 2.5)), float(np.percentile(bs, 97.5))] if len(bs) > 10 else None
    return out


def _mean_moving(table: dict[str, dict], names) -> tuple[float, list[str]]:
    moving = [a for a in names if table[a]["ref_sd"] is not None and table[a]["ref_sd"] >= MOVE_SD]
    rs = [0.0 if not np.isfinite(table[a]["r"]) else table[a]["r"] for a in moving]
    return (float(np.mean(rs)) if rs else float("nan")), moving


def measure(sdist: Path, workdir: Path, videos: list[Path], boot: int = 2000) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VIGIL_DATA_DIR", str(workdir / "vigil-data"))
    ws = Workspace.open(workdir / "workspace.db")
    try:
        clips = [_clip_data(sdist, workdir, ws, v) for v in videos]
    finally:
        ws.close()
    rng = np.random.default_rng(RNG_SEED)
    common = [a for a in OPENFACE_AUS if a in AU_NAMES]
    main = {a: _pooled(clips, lambda c, a=a: c["vig"][a], lambda c, a=a: c["blue"][RIDGE][a], rng, boot)
            for a in common}
    mean, moving = _mean_moving(main, common)
    # Interval of the mean itself: clips resampled, every moving AU's pooled r recomputed.
    means = []
    for _ in range(boot // 4):
        pick = rng.integers(0, len(clips), len(clips))
        rs = []
        for a in moving:
            r = _r(np.concatenate([clips[i]["vig"][a] for i in pick]),
                   np.concatenate([clips[i]["blue"][RIDGE][a] for i in pick]))
            rs.append(0.0 if not np.isfinite(r) else r)
        means.append(np.mean(rs))
    sens = {}
    for lam in (3.0, 30.0):
        t = {a: _pooled(clips, lambda c, a=a: c["vig"][a], lambda c, a=a, lam=lam: c["blue"][lam][a], rng, 0)
             for a in common}
        sens[f"lam={lam:g}"] = round(_mean_moving(t, common)[0], 3)
    ref_ref = {a: _pooled(clips, lambda c, a=a: c["facet"][a], lambda c, a=a: c["blue"][RIDGE][a], rng, boot)
               for a in OPENFACE_AUS if a in FACET_AUS}
    vs_facet = {a: _pooled(clips, lambda c, a=a: c["vig"][a], lambda c, a=a: c["facet"][a], rng, 0)
                for a in FACET_AUS if a in AU_NAMES}
    blink = _pooled(clips, lambda c: c["vig"]["AU43"], lambda c: c["blue"][RIDGE]["AU45"], rng, boot)
    defined = [a for a in moving if a in ref_ref and np.isfinite(ref_ref[a]["r"]) and ref_ref[a]["r"] >= DEFINED_R]
    brow = [main[a]["r"] if np.isfinite(main[a]["r"]) else 0.0 for a in BROW_LID if a in moving]
    return {
        "clips": [{k: c[k] for k in ("clip", "frames", "step", "with_face", "paired", "paired_by",
                                     "vigil_usable_paired", "product_mean_r_moving", "product_moving",
                                     "landmarks_mp_vs_lbf")}
                  for c in clips],
        "vigil_vs_blue": main,
        "moving": moving,
        "mean_r_moving": mean,
        "mean_r_moving_ci": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))],
        "defined_by_reference": defined,
        "mean_r_moving_defined": float(np.mean([main[a]["r"] if np.isfinite(main[a]["r"]) else 0.0 for a in defined]))
        if defined else None,
        "mean_r_brow_lid_moving": float(np.mean(brow)) if brow else None,
        "ridge_sensitivity": sens,
        "blue_vs_facet": ref_ref,
        "vigil_vs_facet": vs_facet,
        "vigil_AU43_vs_blue_AU45": blink,
        "product_per_clip": {c["clip"]: {"mean_r_moving": c["product_mean_r_moving"], "r": c["product_r"]}
                             for c in clips},
    }
