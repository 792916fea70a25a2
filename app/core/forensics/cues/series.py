"""Build a :class:`FaceSeries` from a video file: landmarker over every frame plus speech energy.

This is the only part of the cues package that decodes media; the cues themselves are pure
functions over the arrays it produces.
"""

from __future__ import annotations

import os

import numpy as np

from app.core.face.landmarker import N_LANDMARKS, FaceLandmarker
from app.core.forensics.cues.base import FaceSeries
from app.core.media import reader
from app.core.voice.audio import load_audio

ENERGY_WIN_S = 0.04  # RMS window around each frame time (one video frame at 25 fps)
N_BLENDSHAPES = 52


def frame_energy(samples: np.ndarray, sr: int, t: np.ndarray, win_s: float = ENERGY_WIN_S) -> np.ndarray:
    """RMS of ``samples`` (float, mono) in a ``win_s`` window centred on each time in ``t``.

    Parameters
    ----------
    samples : (S,) float audio in [-1, 1).
    sr : sample rate in Hz.
    t : (N,) times in seconds.
    win_s : window length in seconds.

    Returns
    -------
    (N,) float64 RMS; 0 where the window falls outside the audio.
    """
    x = np.asarray(samples, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = max(int(round(win_s * sr / 2)), 1)
    centre = np.round(np.asarray(t, dtype=np.float64) * sr).astype(np.int64)
    i0 = np.clip(centre - half, 0, len(x))
    i1 = np.clip(centre + half, 0, len(x))
    n = np.maximum(i1 - i0, 1)
    return np.sqrt(np.maximum(csum[i1] - csum[i0], 0.0) / n) * (i1 > i0)


def series_from_video(path: str | os.PathLike[str], max_frames: int | None = None) -> FaceSeries:
    """Run the FaceLandmarker over every frame of ``path`` (largest face) and read its audio.

    Parameters
    ----------
    path : video file.
    max_frames : stop after this many frames (None: the whole video).

    Returns
    -------
    FaceSeries
        ``usable`` False (and zero arrays) for frames without a face; ``audio_energy`` None when the
        file has no audio stream.
    """
    ts, ok, lms, bss, mats = [], [], [], [], []
    width = height = 0
    with FaceLandmarker(max_faces=1) as lm, reader.iter_frames(path, max_frames=max_frames) as frames:
        for fr in frames:
            height, width = fr.image.shape[:2]
            faces = lm.detect(fr.image, fr.t)
            ts.append(fr.t)
            if faces:
                f = max(faces, key=lambda o: o.area)
                ok.append(True), lms.append(f.landmarks), bss.append(f.blendshapes), mats.append(f.matrix)
            else:
                ok.append(False)
                lms.append(np.zeros((N_LANDMARKS, 3), np.float32))
                bss.append(np.zeros(N_BLENDSHAPES, np.float32))
                mats.append(np.eye(4, dtype=np.float32))
    t = np.asarray(ts, dtype=np.float64)
    n = len(t)
    energy = None
    with load_audio(path) as track:
        if track.has_audio and track.n_samples > 0:
            energy = frame_energy(track.slice(0.0, track.duration_s), track.sr, t)
    return FaceSeries(
        t=t,
        usable=np.asarray(ok, dtype=bool),
        landmarks=np.asarray(lms, dtype=np.float32).reshape(n, N_LANDMARKS, 3),
        blendshapes=np.asarray(bss, dtype=np.float32).reshape(n, N_BLENDSHAPES),
        matrix=np.asarray(mats, dtype=np.float32).reshape(n, 4, 4),
        width=int(width),
        height=int(height),
        audio_energy=energy,
    )
