"""Pose-free mesh geometry: the face's own shape, with head pose and size taken out.

:func:`face_frame` maps the 478 landmarks into the face's own frame: the head rotation of MediaPipe's
facial transformation matrix is undone (``scipy.spatial.transform.Rotation``), and every length is
divided by the distance between the outer eye corners (inter-ocular distance, IOD). :func:`geometry_features`
then measures the distances that facial actions change. "L" is the subject's left (the image's right).

Why not the blendshapes alone: on the devset's real talking faces, MediaPipe's brow and eye-wide
blendshapes follow head pitch (browDown r up to +0.88 with pitch on a news clip whose brows do not
move), while the canonical-frame brow heights hardly do (that clip: -0.001 IOD per 10 degrees of
pitch). Measured by ``tools/au_tune.py`` (see ``models/cards/au_geometry.md``).

Landmarks (MediaPipe mesh indices): eye corners 33/133 (R) and 263/362 (L); upper/lower lids
159-145, 158-153, 160-144 (R) and 386-374, 385-380, 387-373 (L); inner brow 55+107 (R), 285+336 (L);
outer brow 46+70 (R), 276+300 (L); mouth corners 61 (R), 291 (L); inner lips 13/14; outer lips 0/17;
nose tip 1; subnasale 2; nose wings 98/129 (R), 327/358 (L); chin 152.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

GEOMETRY_NAMES: tuple[str, ...] = (
    "g_inner_brow_L", "g_inner_brow_R", "g_outer_brow_L", "g_outer_brow_R", "g_brow_gap",
    "g_eye_open_L", "g_eye_open_R", "g_mouth_width", "g_corner_up_L", "g_corner_up_R",
    "g_lip_gap", "g_jaw", "g_lip_thickness",
    # added in analysis version 2
    "g_lower_lid_L", "g_lower_lid_R", "g_corner_nose_L", "g_corner_nose_R", "g_upper_lip",
    "g_nose_wing", "g_brow_eye_in_L", "g_brow_eye_in_R", "g_half_width_L", "g_half_width_R",
)

_EYE_L, _EYE_R = (263, 362), (33, 133)
_LIDS_L = ((386, 374), (385, 380), (387, 373))
_LIDS_R = ((159, 145), (158, 153), (160, 144))
_IN_BROW_L, _IN_BROW_R = (285, 336), (55, 107)
_OUT_BROW_L, _OUT_BROW_R = (276, 300), (46, 70)
_NOSE_WING = (98, 129, 327, 358)


def face_frame(landmarks: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """Landmarks in the face's own frame (x right in image, y up), scaled by eye-corner distance.

    Parameters
    ----------
    landmarks : (478, 3) normalised landmarks.
    matrix : (4, 4) facial transformation matrix (canonical face -> camera; its rotation is undone).
    width, height : image size in pixels.
    """
    p = landmarks.astype(np.float64) * np.array([width, height, width])
    p[:, 1:] *= -1.0  # image y down / z into scene -> camera-style y up, z towards the viewer
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    rot = Rotation.from_matrix(r / np.linalg.norm(r, axis=0, keepdims=True))
    q = rot.inv().apply(p - p.mean(axis=0))
    iod = np.linalg.norm(q[263] - q[33])
    return q / max(iod, 1e-6)


def _lid_gap(q: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> float:
    return float(np.mean([np.linalg.norm(q[a] - q[b]) for a, b in pairs]))


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
            _lid_gap(q, _LIDS_L),
            _lid_gap(q, _LIDS_R),
            np.linalg.norm(q[291] - q[61]),
            q[291, 1] - mid_lip[1],
            q[61, 1] - mid_lip[1],
            np.linalg.norm(q[13] - q[14]),
            np.linalg.norm(q[1] - q[152]),
            np.linalg.norm(q[0] - q[13]) + np.linalg.norm(q[14] - q[17]),
            y[374] - eye_l,
            y[145] - eye_r,
            q[291, 1] - q[2, 1],
            q[61, 1] - q[2, 1],
            q[2, 1] - q[0, 1],
            (eye_l + eye_r) / 2.0 - y[list(_NOSE_WING)].mean(),
            np.linalg.norm(q[362] - q[285]),
            np.linalg.norm(q[133] - q[55]),
            abs(q[291, 0] - q[2, 0]),
            abs(q[61, 0] - q[2, 0]),
        ],
        dtype=np.float32,
    )
