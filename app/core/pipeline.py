"""Media -> face landmarker -> analysers -> result batches: a cancellable generator.

:func:`run` streams a video (decoding overlaps analysis in a prefetch thread), finds faces, gates
quality, runs the registered analysers on each batch of frames and yields a :class:`ResultBatch`
of plain rows. It never holds more than one batch of frames; it touches no database or Qt. The
caller writes each batch as it arrives, so a crash or cancel keeps what was done and a rerun
resumes from ``start``.

Every decoded frame gets at least one row: a frame without a usable face has ``usable = 0`` and a
reason, and empty AU and expression cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from app.core.analysers import DEFAULT_ANALYSERS, REGISTRY, FaceBatch, build
from app.core.analysers.raw import RAW_NAMES, raw_vector
from app.core.face.landmarker import FaceLandmarker, FaceObservation
from app.core.face.pose import pose_from_matrix
from app.core.face.quality import NO_FACE, QualityGate, sharpness
from app.core.face.tracker import FaceTracker
from app.core.forensics.pixels import native_patch
from app.core.media import VideoFrame, iter_frames, prefetch
from app.core.analysers.expression import face_crop

WARMUP_FRAMES = 15  # frames re-fed to the landmarker before a resume point so its tracking settles


FACE_FEATURES_VERSION = 2  # raw features and AU/expression design (a run of another version is not resumed)


@dataclass(frozen=True)
class PipelineConfig:
    """Parameters of an analysis run (stored with the run)."""

    max_faces: int = 1
    stride: int = 1
    cnn_stride: int = 3
    pixel_stride: int = 12  # pixel forensics (blending CNN, blocking, sharpness, spectrum) every Nth frame
    batch_frames: int = 32
    analysers: tuple[str, ...] = DEFAULT_ANALYSERS
    keep_mesh: bool = True
    quality: QualityGate = field(default_factory=QualityGate)
    blend_weights: str | None = None  # an activated institution-trained blending CNN (None: shipped)
    blend_sha256: str | None = None
    emotion_refused: str | None = None  # why the emotion analysers were left out (a compliance profile)

    def params(self) -> dict[str, object]:
        """JSON-able parameters for the run record."""
        return {
            "max_faces": self.max_faces, "stride": self.stride, "cnn_stride": self.cnn_stride,
            "pixel_stride": self.pixel_stride, "face_features": FACE_FEATURES_VERSION,
            "analysers": list(self.analysers), "keep_mesh": self.keep_mesh,
            "quality": self.quality.__dict__, **self._blend_model(),
            **({"emotion_refused": self.emotion_refused} if self.emotion_refused else {}),
        }

    def _blend_model(self) -> dict[str, object]:
        """An institution-trained blending model in use (``vigil train-forgery --activate``)."""
        if "forensics" not in self.analysers or not self.blend_weights:
            return {}
        return {"blend_model_sha256": self.blend_sha256}

    def model_names(self) -> list[str]:
        """Models this configuration uses (for the run's provenance record)."""
        names = ["face_landmarker"]
        for a in self.analysers:
            names += [m for m in REGISTRY[a].get("models", ()) if m not in names]
        return names


@dataclass
class RunReport:
    """Filled in by :func:`run` as it goes: how far the decoder got and how it ended."""

    frames_read: int = 0
    ended_early: bool = False
    end_note: str | None = None


@dataclass
class ResultBatch:
    """Rows for a run of consecutive frames, ready to be written in one transaction."""

    rows: list[dict[str, object]]
    meshes: list[dict[str, object]]
    last_frame: int
    t_sec: float


@dataclass
class _Face:
    frame: int
    t: float
    track: int
    obs: FaceObservation
    row: dict[str, object]
    raw: np.ndarray
    usable: bool
    crop: np.ndarray | None
    patch: tuple[np.ndarray, np.ndarray] | None = None


def _measure(frame: VideoFrame, obs: FaceObservation, gate: QualityGate, want_crop: bool,
             want_patch: bool = False) -> tuple:
    """Pose, quality, geometry, the CNN crop and (``want_patch``) the native face patch for one face."""
    img = frame.image
    h, w = img.shape[:2]
    x, y, bw, bh = obs.bbox
    mx, my = 0.15 * bw, 0.15 * bh
    x0, y0 = max(int(x - mx), 0), max(int(y - my), 0)
    x1, y1 = min(int(x + bw + mx) + 1, w), min(int(y + bh + my) + 1, h)
    grey = cv2.cvtColor(np.ascontiguousarray(img[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY) if x1 > x0 and y1 > y0 else None
    yaw, pitch, roll = pose_from_matrix(obs.matrix)
    sharp = sharpness(grey, (x - x0, y - y0, bw, bh)) if grey is not None else 0.0
    usable, reason = gate.check(bh, sharp, yaw, pitch)
    raw = raw_vector(obs.blendshapes, obs.landmarks, obs.matrix, w, h)
    crop = None
    if want_crop and usable and grey is not None:
        pts = obs.landmarks[:, :2] * (w, h) - (x0, y0)
        crop = face_crop(grey, pts)
    forgery_ok = usable or gate.forgery_check(bh, yaw, pitch)[0]  # the cues also read blurred faces
    patch = native_patch(img, obs.landmarks[:, :2] * (w, h)) if want_patch and forgery_ok else None
    row = {
        "present": 1, "usable": int(usable), "reason": reason,
        "face_x": round(x, 1), "face_y": round(y, 1), "face_w": round(bw, 1), "face_h": round(bh, 1),
        "sharpness": round(sharp, 1), "yaw": round(yaw, 2), "pitch": round(pitch, 2), "roll": round(roll, 2),
        "raw": raw.tobytes(),
    }
    return row, raw, usable, crop, patch


def run(
    path: str,
    config: PipelineConfig,
    start: int = 0,
    tracker: FaceTracker | None = None,
    cancel: Callable[[], bool] | None = None,
    landmarker: FaceLandmarker | None = None,
    report: RunReport | None = None,
    observers: Sequence[Any] = (),
) -> Iterator[ResultBatch]:
    """Analyse ``path`` from frame ``start``; yield one :class:`ResultBatch` per batch of frames.

    Parameters
    ----------
    tracker : restored tracker state when resuming (else a fresh one).
    cancel : polled between frames; when it returns True the generator stops after the
        batch in progress is yielded.
    landmarker : reuse an open landmarker (the benchmark does); one is created otherwise.
    report : receives how the decoder ended (a damaged file stops early, with a note).
    observers : passed to the frame reader (see :class:`~app.core.media.reader.FrameReader`): they
        see every packet and frame the pass decodes, e.g. the capture-integrity scan.
    """
    tracker = tracker or FaceTracker()
    analysers = build(config.analysers, cnn_stride=config.cnn_stride, blend_weights=config.blend_weights,
                      blend_sha256=config.blend_sha256)
    own = landmarker is None
    lm = landmarker or FaceLandmarker(max_faces=config.max_faces)
    warm = max(0, start - WARMUP_FRAMES * config.stride)
    reader = iter_frames(path, start=warm, stride=config.stride, observers=observers)

    def detected(frames: Iterator[VideoFrame]) -> Iterator[tuple[VideoFrame, list[FaceObservation]]]:
        for frame in frames:
            yield frame, lm.detect(frame.image, frame.t)

    # Three stages on three threads: decoding, the landmarker (C++, mostly outside the GIL), and
    # everything else here, so the analysers overlap the landmarker on a 2-core machine. Only the
    # thread that iterates a stage may close it, so on the way out we close the outer stage, which
    # stops and joins its thread, which closes the inner one, which closes the reader.
    stream = prefetch(detected(prefetch(reader)), maxsize=4)
    try:
        pending: list[tuple[VideoFrame, list[_Face]]] = []
        for frame, faces in stream:
            if frame.index < start:
                continue  # warm-up only: lets video-mode tracking settle as in an uninterrupted run
            ids = tracker.assign(frame.index, faces)
            want_crop = frame.index % config.cnn_stride == 0 and "expression" in config.analysers
            want_patch = frame.index % config.pixel_stride == 0 and "forensics" in config.analysers
            done = []
            for obs, tid in zip(faces, ids):
                row, raw, usable, crop, patch = _measure(frame, obs, config.quality, want_crop, want_patch)
                done.append(_Face(frame.index, frame.t, tid, obs, row, raw, usable, crop, patch))
            pending.append((frame, done))
            if len(pending) >= config.batch_frames or (cancel is not None and cancel()):
                yield _finish(pending, analysers, tracker, config.keep_mesh)
                pending = []
                if cancel is not None and cancel():
                    return
        if pending:
            yield _finish(pending, analysers, tracker, config.keep_mesh)
    finally:
        stream.close()
        if report is not None:
            report.frames_read = reader.frames_read
            report.ended_early, report.end_note = reader.ended_early, reader.end_note
        if own:
            lm.close()


def _finish(pending: list[tuple[VideoFrame, list[_Face]]], analysers: list, tracker: FaceTracker,
            keep_mesh: bool) -> ResultBatch:
    """Run the analysers over a batch and assemble its rows."""
    faces = [f for _, fs in pending for f in fs]
    order = tracker.order()
    n = len(faces)
    batch = FaceBatch(
        frame=np.array([f.frame for f in faces], dtype=np.int64),
        track=np.array([f.track for f in faces], dtype=np.int64),
        usable=np.array([f.usable for f in faces], dtype=bool),
        raw=np.stack([f.raw for f in faces]) if n else np.zeros((0, len(RAW_NAMES)), np.float32),
        crops=np.stack([f.crop if f.crop is not None else np.zeros((64, 64), np.uint8) for f in faces])
        if n else np.zeros((0, 64, 64), np.uint8),
        has_crop=np.array([f.crop is not None for f in faces], dtype=bool),
        columns={},
        patches=[f.patch[0] if f.patch is not None else None for f in faces],
        patch_pts=[f.patch[1] if f.patch is not None else None for f in faces],
        t=np.array([f.t for f in faces], dtype=np.float64),
    )
    for a in analysers:
        batch.columns.update(a.process(batch))
    rows: list[dict[str, object]] = []
    meshes: list[dict[str, object]] = []
    k = 0
    for frame, fs in pending:
        if not fs:
            rows.append({"frame": frame.index, "t_sec": round(frame.t, 6), "track": -1, "face": 0,
                         "present": 0, "usable": 0, "reason": NO_FACE})
            continue
        for f in fs:
            row = {"frame": f.frame, "t_sec": round(f.t, 6), "track": f.track, "face": order[f.track]}
            row.update(f.row)
            for col, values in batch.columns.items():
                v = values[k]
                row[col] = None if not np.isfinite(v) else round(float(v), 4)
            rows.append(row)
            if keep_mesh:
                meshes.append({"frame": f.frame, "track": f.track,
                               "xyz": f.obs.landmarks.astype(np.float16).tobytes()})
            k += 1
    last = pending[-1][0]
    return ResultBatch(rows, meshes, last.index, last.t)
