"""Head pose (yaw, pitch, roll in degrees) from MediaPipe's facial transformation matrix.

The matrix maps MediaPipe's canonical face (x towards the image's right, y up, z out of the face)
into an OpenGL-style camera space (y up, the camera looking down -z). We decompose its rotation as
R = Rz(roll) · Ry(yaw) · Rx(pitch). Signs, as seen by the camera: yaw > 0 when the face turns towards
the image's right, pitch > 0 when the face looks down, roll > 0 when the head tilts anticlockwise in
the image. Zero is a face looking straight into the lens. Mirroring the image flips yaw and roll.
"""

from __future__ import annotations

import numpy as np


def pose_from_matrix(matrix: np.ndarray) -> tuple[float, float, float]:
    """Return ``(yaw, pitch, roll)`` in degrees for one 4x4 (or 3x3) transformation matrix."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    # Remove any scale the matrix carries so the rotation is orthonormal.
    r = r / np.linalg.norm(r, axis=0, keepdims=True)
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)


def rotation(matrix: np.ndarray) -> np.ndarray:
    """Orthonormal 3x3 rotation part of a transformation matrix."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    return r / np.linalg.norm(r, axis=0, keepdims=True)
