"""Manipulations the forgery tests make themselves on real clips (face found by the landmarker).

Each returns a new frame; :func:`tamper_video` applies one to every frame of a clip and writes a
near-lossless H.264 file (CRF 12), so the manipulation, not the final encode, is what is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

from app.core.face.landmarker import FaceLandmarker
from app.core.media.reader import iter_frames

Tamper = Callable[[np.ndarray, np.ndarray], np.ndarray]


def hull_mask(shape: tuple[int, ...], pts: np.ndarray, erode: float = 0.08) -> np.ndarray:
    """Soft (float32 H x W x 1) mask of the face hull, eroded and feathered by ``erode`` x face width."""
    m = np.zeros(shape[:2], np.float32)
    cv2.fillConvexPoly(m, cv2.convexHull(pts.astype(np.int32)), 1.0)
    k = int(erode * float(np.ptp(pts[:, 0]))) | 1
    m = cv2.erode(m, np.ones((k, k), np.uint8))
    return cv2.GaussianBlur(m, (2 * k + 1, 2 * k + 1), 0)[..., None]


def recompress_face(quality: int = 40) -> Tamper:
    """The face re-saved as a JPEG of ``quality`` and blended back (an edited or re-encoded face)."""
    def fn(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
        jpeg = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]
        m = hull_mask(img.shape, pts)
        return np.clip(m * jpeg + (1 - m) * img, 0, 255).astype(np.uint8)
    return fn


def paste_face(donor: np.ndarray, donor_pts: np.ndarray) -> Tamper:
    """``donor``'s face warped onto the frame's face (landmark similarity) under a blurred ellipse."""
    def fn(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
        m, _ = cv2.estimateAffinePartial2D(donor_pts, pts)
        h, w = img.shape[:2]
        warped = cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        (cx, cy), (ax, ay), ang = cv2.fitEllipse(cv2.convexHull(pts.astype(np.float32)))
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, ((cx, cy), (ax * 0.85, ay * 0.85), ang), 1.0, -1)
        k = int(0.06 * max(ax, ay)) * 2 + 1
        mask = cv2.GaussianBlur(mask, (k, k), 0)[..., None]
        return np.clip(mask * warped + (1 - mask) * img, 0, 255).astype(np.uint8)
    return fn


def first_face(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first frame of ``path`` with a face, and its landmark pixel coordinates."""
    with FaceLandmarker(max_faces=1) as lm, iter_frames(path) as frames:
        for fr in frames:
            obs = lm.detect(fr.image, fr.t)
            if obs:
                h, w = fr.image.shape[:2]
                return fr.image.copy(), obs[0].landmarks[:, :2] * np.array([w, h], np.float32)
    raise AssertionError(f"no face in {path}")


def tamper_video(src: Path, out: Path, fn: Tamper) -> Path:
    """Apply ``fn`` to the face of every frame of ``src`` (frames without a face pass unchanged)."""
    with av.open(str(src)) as probe:
        vs = probe.streams.video[0]
        rate = vs.average_rate or 30
    with FaceLandmarker(max_faces=1) as lm, iter_frames(src) as frames, av.open(str(out), "w") as dst:
        stream = None
        for fr in frames:
            img = fr.image
            obs = lm.detect(img, fr.t)
            if obs:
                h, w = img.shape[:2]
                img = fn(img, obs[0].landmarks[:, :2] * np.array([w, h], np.float32))
            if stream is None:
                stream = dst.add_stream("libx264", rate=rate)
                stream.width, stream.height = img.shape[1] // 2 * 2, img.shape[0] // 2 * 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "12", "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:stream.height, :stream.width]), format="rgb24")
            for packet in stream.encode(frame):
                dst.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                dst.mux(packet)
    return out
