"""Head-pose inconsistency cue (Yang, Li & Lyu 2019, "Exposing deep fakes using inconsistent head
poses", ICASSP).

A face swap replaces the central face (eyes, nose, mouth) and leaves the outer face and head of the
original. Head pose estimated from the central landmarks alone then disagrees with the pose from the
whole face, more than the landmarker's noise and expression changes make it disagree on a real face.

Method, per usable frame:

1. The 3-D model is the subject's own mean shape: each frame's landmarks are brought into the face
   frame (:func:`app.core.face.geometry.face_frame`: head rotation undone, units of outer-eye
   distance) and the session's per-coordinate median taken; axes are flipped to OpenCV's (x right, y down, z away).
2. ``cv2.solvePnP`` with a pinhole camera (focal length = image width, principal point = centre)
   gives the pose from all 478 landmarks, then from the central set (eyes, nose and lips of the
   MediaPipe mesh topology), the latter started from the former.
3. The frame's disagreement is the angle of ``R_whole^T R_central`` in degrees; the translation
   difference is reported relative to the whole-face distance.

A window scores the median angle with :func:`base.squash` against :data:`REFERENCE`; the session
score is the mean of the window scores.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.core.face.geometry import face_frame
from app.core.forensics.cues.base import CueResult, FaceSeries, empty_result, nan_mean, squash, windows

NAME = "headpose"
# MediaPipe face-mesh topology: eye contours, nose and lip contours.
EYES = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
        249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327,
        344, 440)
LIPS = (0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191,
        267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415)
# Measured on WolfgangLanger: eyes+nose alone gave 2.6-7.7 deg per window (too few, too flat
# points), adding all lip contours 1.3-3.0 deg, so the whole lip set is kept.
CENTRAL = np.array(sorted(set(EYES + NOSE + LIPS)))
WHOLE = np.arange(468)  # the mesh without the iris points (they move with gaze, not the head)
MIN_FRAMES = 5
#: Poses solved per second of video at most (every 2nd frame at 30 fps): the window medians barely
#: move, and the two iterative solves per frame are most of the forgery pass's time.
SOLVE_RATE = 15.0

# Measured on real clips (median angle per 2 s window): WolfgangLanger 1.3-3.0 deg, its looped
# copy in the interview clip 1.6-2.2 deg, single_face 0.6 deg. Reference at the top of that range;
# score 0.5 at 6 deg (a 10 deg yaw of the central face measures ~9.7 deg).
REFERENCE = (3.0, 6.0)


def mean_shape(data: FaceSeries) -> np.ndarray | None:
    """(478, 3) session median face in OpenCV model axes, or None without a usable frame."""
    idx = np.flatnonzero(data.usable)
    if len(idx) == 0:
        return None
    step = max(1, len(idx) // 300)  # at most ~300 frames feed the (robust) median shape
    shapes = [face_frame(data.landmarks[i], data.matrix[i], data.width, data.height) for i in idx[::step]]
    return np.median(np.asarray(shapes), axis=0) * np.array([1.0, -1.0, -1.0])


def _camera(width: int, height: int) -> np.ndarray:
    f = float(width)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def pose_disagreement(data: FaceSeries, model: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(angle_deg, translation_rel)`` between whole-face and central-face poses.

    Parameters
    ----------
    data : the face series.
    model : (478, 3) 3-D model in OpenCV axes; the session mean shape when None.

    Returns
    -------
    Two (N,) arrays, NaN where the frame is unusable, a solve failed, or the frame was skipped to
    keep to :data:`SOLVE_RATE` solves per second.
    """
    n = len(data)
    ang, trel = np.full(n, np.nan), np.full(n, np.nan)
    model = mean_shape(data) if model is None else model
    if model is None:
        return ang, trel
    cam, dist = _camera(data.width, data.height), np.zeros(4)
    size = np.array([data.width, data.height], dtype=np.float64)
    prev: tuple[np.ndarray, np.ndarray] | None = None
    steps = np.diff(np.asarray(data.t, dtype=np.float64))
    fps = 1.0 / float(np.median(steps)) if len(steps) and np.median(steps) > 0 else SOLVE_RATE
    stride = max(1, int(round(fps / SOLVE_RATE)))
    for i in np.flatnonzero(data.usable)[::stride]:
        img = data.landmarks[i, :, :2].astype(np.float64) * size
        # start from the previous frame's pose: the head moves little between frames (about 2x faster)
        if prev is not None:
            ok1, rv1, tv1 = cv2.solvePnP(model[WHOLE], img[WHOLE], cam, dist, prev[0].copy(), prev[1].copy(),
                                         useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        else:
            ok1, rv1, tv1 = cv2.solvePnP(model[WHOLE], img[WHOLE], cam, dist, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok1 or not np.all(np.isfinite(tv1)) or float(tv1.ravel()[2]) <= 0:
            prev = None
            continue
        prev = (rv1, tv1)
        ok2, rv2, tv2 = cv2.solvePnP(model[CENTRAL], img[CENTRAL], cam, dist, rv1.copy(), tv1.copy(),
                                     useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok2:
            continue
        r1, r2 = cv2.Rodrigues(rv1)[0], cv2.Rodrigues(rv2)[0]
        cos = (np.trace(r1.T @ r2) - 1.0) / 2.0
        ang[i] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        trel[i] = float(np.linalg.norm(tv1 - tv2) / max(np.linalg.norm(tv1), 1e-9))
    return ang, trel


def score_windows(data: FaceSeries, window_s: float = 2.0) -> CueResult:
    """Score head-pose inconsistency per window (see module doc).

    Parameters
    ----------
    data : the face series.
    window_s : window length in seconds (non-overlapping).

    Returns
    -------
    CueResult
        Evidence per window: ``angle_deg`` (median), ``angle_p90``, ``translation_rel`` (median),
        ``frames`` and ``n_frames``.
    """
    if len(data) == 0:
        return empty_result(NAME)
    ang, trel = pose_disagreement(data)
    starts, ends, scores, evidence = [], [], [], []
    for t0, t1, idx in windows(data.t, window_s):
        good = idx[np.isfinite(ang[idx])]
        ev: dict = {"frames": (int(idx[0]), int(idx[-1])) if len(idx) else None, "n_frames": int(len(good))}
        score = float("nan")
        if len(good) >= MIN_FRAMES:
            med = float(np.median(ang[good]))
            ev.update(angle_deg=med, angle_p90=float(np.percentile(ang[good], 90)),
                      translation_rel=float(np.median(trel[good])))
            score = squash(med, *REFERENCE)
        starts.append(t0), ends.append(t1), scores.append(score), evidence.append(ev)
    sc = np.asarray(scores, dtype=np.float64)
    return CueResult(NAME, np.asarray(starts), np.asarray(ends), sc, evidence, nan_mean(sc))
