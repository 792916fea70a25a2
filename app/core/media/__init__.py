"""Media input: probe a file, stream its frames, prefetch them in the background."""

from __future__ import annotations

from app.core.media.prefetch import prefetch
from app.core.media.probe import MediaInfo, file_sha256, probe
from app.core.media.reader import FrameReader, VideoFrame, iter_frames

__all__ = [
    "FrameReader",
    "MediaInfo",
    "VideoFrame",
    "file_sha256",
    "iter_frames",
    "prefetch",
    "probe",
]
