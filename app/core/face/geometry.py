"""Pose-normalised mesh geometry: the distances the blendshapes track poorly.

Landmarks are mapped into the face's own frame (the head rotation from the transformation matrix is
undone) and divided by the outer-eye-corner distance, so the numbers do not change with head turn or
distance to the camera. "L" is the subject's left (the image's right).

MediaPipe mesh indices used: eye corners 33/133 (R) and 263/362 (L); lids 159/145 (R), 386/374 (L);
inner brow 55+107 (R), 285+336 (L); outer brow 46+70 (R), 276+300 (L); mouth corners 61 (R) and
291 (L); inner lips 13/14; outer lips 0/17; nose tip 1; chin 152.
"""

from __future__ import annotations

import numpy as np

GEOMETRY_NAMES: tuple[str, ...] = (
    "g_inner_brow_L", "g_inner_brow_R", "g_outer_brow_L", "g_outer_brow_R", "g_brow_gap",
    "g_eye_open_L", "g_eye_open_R", "g_mouth_width", "g_corner_up_L", "g_corner_up_R",
    "g_lip_gap", "g_jaw", "g_lip_thickness",
)

_EYE_L, _EYE_R = (263, 362), (33, 133)
_IN_BROW_L, _IN_BROW_R = (285, 336), (55, 107)
_OUT_BROW_L, _OUT_BROW_R = (276, 300), (46, 70)


def face_frame(landmarks: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """Landmarks in the face's own frame (x right in image, y up), scaled by eye-corner distance.

    Parameters
    ----------
    landmarks : (478, 3) normalised landmarks.
    matrix : (4, 4) facial transformation matrix.
    width, height : image size in pixels.
    """
    p = landmarks.astype(np.float64) * np.array([width, height, width])
    p[:, 1:] *= -1.0  # image y down / z into scene -> camera-style y up, z towards the viewer
    r = matrix[:3, :3].astype(np.float64)
    r /= np.linalg.norm(r, axis=0, keepdims=True)
    q = (p - p.mean(axis=0)) @ r  # apply R^T to each row: undo the head rotation
    iod = np.linalg.norm(q[263] - q[33])
    return q / max(iod, 1e-6)


def geometry_features(q: np.ndarray) -> np.ndarray:
    """The :data:`GEOMETRY_NAMES` values for one face in its own frame (see :func:`face_frame`)."""
    y = q[:, 1]
    eye_l, eye_r = y[list(_EYE_L)].mean(), y[list(_EYE_R)].mean()
    mid_lip = (q[13] + q[14]) / 2.0
    return np.array(
        [
            y[list(_IN_BROW_L)].mean() - eye_l,
            y[list(_IN_BROW_R)].mean() - eye_r,
            y[list(_OUT_BROW_L)].mean() - eye_l,
            y[list(_OUT_BROW_R)].mean() - eye_r,
            abs(q[list(_IN_BROW_L), 0].mean() - q[list(_IN_BROW_R), 0].mean()),
            np.linalg.norm(q[386] - q[374]),
            np.linalg.norm(q[159] - q[145]),
            np.linalg.norm(q[291] - q[61]),
            q[291, 1] - mid_lip[1],
            q[61, 1] - mid_lip[1],
            np.linalg.norm(q[13] - q[14]),
            np.linalg.norm(q[1] - q[152]),
            np.linalg.norm(q[0] - q[13]) + np.linalg.norm(q[14] - q[17]),
        ],
        dtype=np.float32,
    )
