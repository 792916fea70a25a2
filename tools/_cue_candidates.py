"""Candidate forgery measures for ``tools/forgery_cue_survey.py`` (development only, not shipped).

Every measure works on a face patch scaled down (never up) so that the outer-eye distance is at
most :data:`IOD` px: 1080p and 256 px faces are compared at one scale. Regions come from the
MediaPipe 478-point mesh:

- ``inner``: hull of under-eye and mid-cheek points (cheeks and nose, eyes and lips cut out), the
  part every swap renders; ``cheeks``: the same without the nose;
- ``forehead``: between the upper face oval and the brows, shrunk 15% towards its centre (most
  swaps keep the target's forehead); ``skin``: its pixels within 12 a*b* units and 25 L units of
  the cheeks' median colour (hair, headwear and background removed);
- ``neck``: a band under the jaw line; ``mouth``: inside the inner lip contour, on frames whose lip
  gap is at least :data:`MOUTH_OPEN` outer-eye distances; ``lips``: between the outer and inner lip
  contours; ``eyes``: the two eye contours.

Candidates (larger = more anomalous; per video the median over frames unless said otherwise):

(a) colour and illumination, inner face against its surround
    ``col_ab_fh`` / ``col_ab_neck``: a*b* distance between the inner face's median colour and the
    forehead's / neck's; ``*_jit``: median change of that inner-minus-surround colour difference
    between consecutive sampled frames (a swap's colour correction is re-estimated per frame;
    a real face's relation to its own forehead stays put); ``col_L_fh_jit`` the same for lightness;
    ``illum_gx``: difference of the left-right shading slopes (plane fit of L) of inner face and
    forehead (a pasted face lit from another side), ``illum_gx_jit`` its frame-to-frame change.
(b) mouth interior and teeth (open-mouth frames only, at least 3)
    ``mouth_detail``: minus log of the mouth's mean |Laplacian| over its grey-level spread (blurred
    teeth: little edge for their contrast); ``mouth_vs_eye``: log of the eyes' mean |Laplacian|
    over the mouth's; ``teeth_edges``: minus log of the horizontal gradient on the mouth's brightest
    30% (the gaps between teeth) over the mouth's spread; ``lips_vs_eye``: eyes' detail over the
    lips' (re-enactment regenerates the mouth); ``n_open``: open-mouth frames (a control).
(d) texture and noise, inner face against forehead skin (resolution mismatch of a rendered face,
    Li & Lyu 2019)
    ``sharp_fh``: log of the forehead's mean |Laplacian| over the inner face's; ``sharp_fh_med``
    with medians; ``sharp_fh7_med`` / ``sharp_fh7_cheek`` with the forehead shrunk 30% / against
    the cheeks; ``noise_fh``: log ratio of the high-pass residual (sigma 0.8) forehead over inner
    face, ``noise_fh_abs`` its size, ``noise_fh7_cheek`` on the shrunk forehead against the cheeks;
    ``sharp_skin`` / ``noise_skin``: forehead skin pixels only; ``dog_skin`` / ``sharp_skin50``:
    mean high-pass (sigma 1.0 difference of Gaussians / |Laplacian|) of forehead skin over the
    cheeks', only on frames whose forehead is at least half skin (the validity rule chosen on the
    tuning half); ``skin_frac``: that skin share (a control).

(c) identity drift between inner and outer face is not here but in ``tools/identity_cue_survey.py``
(a face-recognition network; nothing passed, see models/cards/forgery_fusion.md). The mesh alone
cannot see it: it is fitted to the whole face (the head-pose cue showed the inner and outer poses
agree on swaps too).
"""

from __future__ import annotations

import cv2
import numpy as np

IOD = 64.0
EYE_OUTER = (33, 263)
INNER = (117, 118, 119, 346, 347, 348, 205, 425, 206, 426, 36, 266)
FOREHEAD = (103, 67, 109, 10, 338, 297, 332, 334, 296, 336, 9, 107, 66, 105)
JAW = (172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397)
LIPS_OUT = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_IN = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
EYE_R = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_L = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 129, 358, 64, 294, 49, 279, 209, 429, 198, 420)
MOUTH_OPEN = 0.10  # inner-lip gap (13-14) over outer-eye distance

CANDIDATES = ("col_ab_fh", "col_ab_fh_jit", "col_L_fh_jit", "col_ab_neck", "col_ab_neck_jit",
              "illum_gx", "illum_gx_jit", "noise_fh", "noise_fh_abs", "sharp_fh", "sharp_fh_med", "sharp_fh7_med", "sharp_fh7_cheek",
              "noise_fh7_cheek", "sharp_skin", "noise_skin", "skin_frac", "dog_skin", "sharp_skin50",
              "mouth_detail", "mouth_vs_eye", "teeth_edges", "lips_vs_eye", "n_open")


def _canon(patch: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    iod = float(np.linalg.norm(pts[EYE_OUTER[0], :2] - pts[EYE_OUTER[1], :2]))
    s = min(1.0, IOD / max(iod, 1e-3))
    if s < 1.0:
        patch = cv2.resize(patch, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return patch, pts[:, :2] * s


def _poly(shape, pts, idx, shrink: float = 1.0, hull: bool = False) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    p = pts[list(idx)]
    if shrink != 1.0:
        c = p.mean(axis=0)
        p = c + (p - c) * shrink
    p = np.round(p).astype(np.int32)
    if hull:
        cv2.fillConvexPoly(m, cv2.convexHull(p), 1)
    else:
        cv2.fillPoly(m, [p], 1)
    return m > 0


def _neck(shape, pts) -> np.ndarray:
    iod = float(np.linalg.norm(pts[EYE_OUTER[0]] - pts[EYE_OUTER[1]]))
    jaw = pts[list(JAW)]
    down = np.array([0.0, 0.35 * iod])
    poly = np.r_[jaw + [0, 0.08 * iod], (jaw + down)[::-1]]
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    return m > 0


def _hf(grey: np.ndarray) -> np.ndarray:
    return np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))


def _gx(lum: np.ndarray, mask: np.ndarray, iod: float) -> float:
    """Left-right shading: slope over x (per outer-eye distance) of a plane fitted to ``lum`` in ``mask``."""
    yy, xx = np.nonzero(mask)
    a = np.c_[xx / iod, yy / iod, np.ones(len(xx))]
    coef, *_ = np.linalg.lstsq(a, lum[mask], rcond=None)
    return float(coef[0])


def frame_measures(patch: np.ndarray, pts: np.ndarray) -> dict[str, float]:
    img, p = _canon(patch, pts)
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    iod = float(np.linalg.norm(p[EYE_OUTER[0]] - p[EYE_OUTER[1]]))
    eyes = _poly(img.shape, p, EYE_R) | _poly(img.shape, p, EYE_L)
    lips = _poly(img.shape, p, LIPS_OUT)
    inner = _poly(img.shape, p, INNER, hull=True) & ~lips & ~eyes
    fh = _poly(img.shape, p, FOREHEAD, shrink=0.85)
    neck = _neck(img.shape, p) & ~_poly(img.shape, p, JAW + (288, 361, 323, 454, 234, 93, 132, 58), hull=True)
    out: dict[str, float] = {}
    big = inner.sum() >= 80 and fh.sum() >= 40
    hf = _hf(grey)
    if big:
        mi = np.median(lab[inner], axis=0)
        mf = np.median(lab[fh], axis=0)
        out["d_a_fh"], out["d_b_fh"], out["d_L_fh"] = float(mi[1] - mf[1]), float(mi[2] - mf[2]), float(mi[0] - mf[0])
        out["col_ab_fh"] = float(np.hypot(mi[1] - mf[1], mi[2] - mf[2]))
        out["gx_in"], out["gx_fh"] = _gx(lab[..., 0], inner, iod), _gx(lab[..., 0], fh, iod)
        out["illum_gx"] = abs(out["gx_in"] - out["gx_fh"])
        r = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 0.8))
        si = float(np.mean(np.minimum(r[inner], np.percentile(r[inner], 90)))) + 0.05
        sf = float(np.mean(np.minimum(r[fh], np.percentile(r[fh], 90)))) + 0.05
        out["noise_fh"] = float(np.log(sf / si))
        out["noise_fh_abs"] = abs(out["noise_fh"])
        out["sharp_fh"] = float(np.log((hf[fh].mean() + 0.1) / (hf[inner].mean() + 0.1)))
        out["sharp_fh_med"] = float(np.log((np.median(hf[fh]) + 0.1) / (np.median(hf[inner]) + 0.1)))
        fh7 = _poly(img.shape, p, FOREHEAD, shrink=0.7)
        cheeks = inner & ~_poly(img.shape, p, NOSE, hull=True)
        if fh7.sum() >= 30 and cheeks.sum() >= 40:
            out["sharp_fh7_med"] = float(np.log((np.median(hf[fh7]) + 0.1) / (np.median(hf[inner]) + 0.1)))
            out["sharp_fh7_cheek"] = float(np.log((np.median(hf[fh7]) + 0.1) / (np.median(hf[cheeks]) + 0.1)))
            ab0 = np.median(lab[cheeks][:, 1:], axis=0)
            l0 = np.median(lab[cheeks][:, 0])
            skin = fh & (np.hypot(lab[..., 1] - ab0[0], lab[..., 2] - ab0[1]) < 12) & (np.abs(lab[..., 0] - l0) < 25)
            skin = cv2.erode(skin.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            dog = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
            if skin.sum() >= 30 and skin.sum() >= 0.5 * fh.sum():
                out["dog_skin"] = float(np.log((np.mean(dog[skin]) + 0.05) / (np.mean(dog[cheeks]) + 0.05)))
                out["sharp_skin50"] = float(np.log((np.mean(hf[skin]) + 0.1) / (np.mean(hf[cheeks]) + 0.1)))
            if skin.sum() >= 30:
                out["sharp_skin"] = float(np.log((np.median(hf[skin]) + 0.1) / (np.median(hf[cheeks]) + 0.1)))
                out["noise_skin"] = float(np.log((np.median(r[skin]) + 0.05) / (np.median(r[cheeks]) + 0.05)))
                out["skin_frac"] = float(skin.sum() / max(fh.sum(), 1))
            out["noise_fh7_cheek"] = float(np.log((np.median(r[fh7]) + 0.05) / (np.median(r[cheeks]) + 0.05)))
    if big and neck.sum() >= 40:
        mn = np.median(lab[neck], axis=0)
        mi = np.median(lab[inner], axis=0)
        out["d_a_nk"], out["d_b_nk"] = float(mi[1] - mn[1]), float(mi[2] - mn[2])
        out["col_ab_neck"] = float(np.hypot(mi[1] - mn[1], mi[2] - mn[2]))
    gap = float(np.linalg.norm(p[13] - p[14])) / max(iod, 1e-3)
    if eyes.sum() >= 30:
        ring = lips & ~_poly(img.shape, p, LIPS_IN)
        if ring.sum() >= 30:
            out["lips_vs_eye"] = float(np.log((hf[eyes].mean() + 0.1) / (hf[ring].mean() + 0.1)))
    if gap >= MOUTH_OPEN:
        mouth = cv2.erode(_poly(img.shape, p, LIPS_IN).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        if mouth.sum() >= 30 and eyes.sum() >= 30:
            g = grey[mouth]
            out["mouth_detail"] = float(-np.log((hf[mouth].mean() + 0.1) / (g.std() + 1.0)))
            out["mouth_vs_eye"] = float(np.log((hf[eyes].mean() + 0.1) / (hf[mouth].mean() + 0.1)))
            # teeth: bright pixels of the mouth; the vertical edges between teeth (x gradient)
            bright = mouth & (grey > np.percentile(g, 70))
            if bright.sum() >= 10:
                gxm = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))
                out["teeth_edges"] = float(-np.log(gxm[bright].mean() / (g.std() + 1.0) + 0.01))
    return out


def _jit(rows: list[dict], keys: tuple[str, ...]) -> float:
    v = np.array([[r.get(k, np.nan) for k in keys] for r in rows], dtype=np.float64)
    if len(v) < 3:
        return float("nan")
    d = np.linalg.norm(np.diff(v, axis=0), axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) >= 2 else float("nan")


def per_video(data: dict) -> dict[str, float]:
    rows = [frame_measures(p, lm) for p, lm in zip(data["patches"], data["lm"])]
    agg: dict[str, float] = {}
    for c in CANDIDATES:
        v = np.array([r.get(c, np.nan) for r in rows], dtype=np.float64)
        v = v[np.isfinite(v)]
        agg[c] = float(np.median(v)) if len(v) >= 3 else float("nan")
    agg["col_ab_fh_jit"] = _jit(rows, ("d_a_fh", "d_b_fh"))
    agg["col_L_fh_jit"] = _jit(rows, ("d_L_fh",))
    agg["col_ab_neck_jit"] = _jit(rows, ("d_a_nk", "d_b_nk"))
    agg["illum_gx_jit"] = _jit([{"x": r.get("gx_in", np.nan) - r.get("gx_fh", np.nan)} for r in rows], ("x",))
    agg["n_open"] = float(sum("mouth_detail" in r for r in rows))
    return agg
