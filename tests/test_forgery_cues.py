"""Forgery cues on real face series and on manipulations made here from them.

The video-backed series are built once per module (``series_from_video`` runs the FaceLandmarker).
Manipulations are applied to copies of the real arrays, so every "fake" differs from its real
source only in the planted artefact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.forensics.cues import avsync, blink, headpose, temporal
from app.core.forensics.cues.base import CueResult, FaceSeries, windows
from app.core.forensics.cues.fusion import fuse
from app.core.forensics.cues.series import frame_energy, series_from_video


@pytest.fixture(scope="module")
def head(talking_head: Path) -> FaceSeries:
    return series_from_video(talking_head)


@pytest.fixture(scope="module")
def interview(interview_clip: Path) -> FaceSeries:
    return series_from_video(interview_clip)


def _iod(s: FaceSeries, i: int) -> float:
    p = s.landmarks[i, :, :2] * np.array([s.width, s.height])
    return float(np.linalg.norm(p[33] - p[263]))


def _in(res: CueResult, a: float, b: float) -> np.ndarray:
    """Mask of windows lying wholly inside [a, b] seconds."""
    return (res.window_start >= a) & (res.window_end <= b)


def _loop(s: FaceSeries, n: int) -> FaceSeries:
    step = float(np.median(np.diff(s.t)))
    out = s.take(np.tile(np.arange(len(s)), n))
    out.t = np.concatenate([s.t + k * (s.t[-1] - s.t[0] + step) for k in range(n)])
    return out


# --- pure helpers, no media ---------------------------------------------------------------------

def test_windows_cover_times_without_overlap() -> None:
    t = np.arange(0, 10.0, 0.04)
    w = windows(t, 2.0)
    assert [round(a, 6) for a, _, _ in w] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert sum(len(i) for _, _, i in w) == len(t)
    short = windows(t[:20], 2.0)
    assert len(short) == 1 and len(short[0][2]) == 20


def test_frame_energy_follows_the_signal() -> None:
    sr = 16000
    x = np.zeros(sr * 2, np.float32)
    x[sr:] = 0.5 * np.sin(np.arange(sr) * 2 * np.pi * 200 / sr)
    e = frame_energy(x, sr, np.array([0.5, 1.5]))
    assert e[0] == 0.0
    assert abs(e[1] - 0.5 / np.sqrt(2)) < 0.01


# --- real series ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_real_talking_head_scores_low(head: FaceSeries) -> None:
    assert head.usable.mean() > 0.95 and len(head) > 400
    t = temporal.score_windows(head)
    h = headpose.score_windows(head)
    b = blink.score_windows(head)
    assert np.nanmax(t.score) < 0.3 and t.session_score < 0.1
    assert np.nanmax(h.score) < 0.3 and h.session_score < 0.1
    assert b.session_score < 0.2 and np.nanmax(b.score) < 0.2
    assert b.evidence[0]["n_blinks"] >= 2
    a = avsync.score_windows(head)  # its audio is digital silence: no evidence
    assert np.all(np.isnan(a.score)) and np.isnan(a.session_score)
    assert 0.0 < fuse([t, h, b, a]).session_probability < 0.1


@pytest.mark.slow
def test_no_face_series_is_insufficient(no_face: Path) -> None:
    s = series_from_video(no_face, max_frames=60)
    assert not s.usable.any()
    for mod in (temporal, headpose, blink, avsync):
        res = mod.score_windows(s)
        assert np.all(np.isnan(res.score))
    assert np.isnan(fuse([temporal.score_windows(s), headpose.score_windows(s)]).session_probability)


@pytest.mark.slow
def test_injected_landmark_jitter_raises_temporal(head: FaceSeries) -> None:
    fake = head.take(np.arange(len(head)))
    rng = np.random.default_rng(3)
    stretch = np.flatnonzero((fake.t >= 8.0) & (fake.t < 14.0))
    scale = np.array([fake.width, fake.height])
    for i in stretch:
        noise = rng.normal(0.0, 0.015 * _iod(fake, i), (len(headpose.CENTRAL), 2))
        fake.landmarks[i, headpose.CENTRAL, :2] += (noise / scale).astype(np.float32)
    src, res = temporal.score_windows(head), temporal.score_windows(fake)
    inside = _in(res, 8.0, 14.0)
    assert inside.sum() == 3
    assert np.min(res.score[inside]) > 0.5
    assert np.min(res.score[inside]) > np.nanmax(res.score[~inside])
    assert np.all(res.score[inside] > src.score[inside])


def _rotate_central(s: FaceSeries, deg: float, frames: np.ndarray) -> FaceSeries:
    """Yaw the central face (eyes, nose, lips) by ``deg`` about the nose tip, outer face untouched."""
    out = s.take(np.arange(len(s)))
    a = np.radians(deg)
    size = np.array([s.width, s.height, s.width], dtype=np.float64)
    for i in frames:
        p = out.landmarks[i].astype(np.float64) * size
        q = p[headpose.CENTRAL] - p[1]
        x = q[:, 0] * np.cos(a) + q[:, 2] * np.sin(a)
        q[:, 2] = -q[:, 0] * np.sin(a) + q[:, 2] * np.cos(a)
        q[:, 0] = x
        out.landmarks[i, headpose.CENTRAL] = ((q + p[1]) / size).astype(np.float32)
    return out


@pytest.mark.slow
def test_spliced_central_face_raises_headpose(head: FaceSeries) -> None:
    frames = np.flatnonzero((head.t >= 8.0) & (head.t < 12.0))
    src, res = headpose.score_windows(head), headpose.score_windows(_rotate_central(head, 10.0, frames))
    inside = _in(res, 8.0, 12.0)
    assert inside.sum() == 2
    assert np.min(res.score[inside]) > 0.5
    assert np.all(res.score[inside] > src.score[inside] + 0.4)
    assert min(e["angle_deg"] for e, k in zip(res.evidence, inside) if k) > 6.0
    assert res.session_score > src.session_score


@pytest.mark.slow
def test_eyes_never_closing_flags_blink_rate(head: FaceSeries) -> None:
    src = _loop(head, 3)  # ~59 s of the real face
    fake = src.take(np.arange(len(src)))
    fake.blendshapes[:, list(blink.EYE_BLINK)] = 0.0
    rs, rf = blink.score_windows(src, 10.0), blink.score_windows(fake, 10.0)
    assert rs.session_score < 0.1 and np.nanmax(rs.score) < 0.1
    assert rf.session_score > 0.9
    assert np.all(rf.score > rs.score + 0.3)
    assert rf.evidence[0]["n_blinks"] == 0 and rs.evidence[0]["n_blinks"] >= 2
    short = blink.score_windows(head.take(np.arange(200)))  # ~8 s: not enough for a rate
    assert np.all(np.isnan(short.score))
    # it abstains with its reason (the explanation says how much face it had and needs)
    assert short.evidence[0]["abstain_short_s"] == blink.MIN_SPAN_S > short.evidence[0]["span_s"]


def _energy_from_mouth(s: FaceSeries, shift_s: float) -> FaceSeries:
    out = s.take(np.arange(len(s)))
    m = avsync.mouth_opening(s)
    m = np.roll(m, int(round(shift_s * s.fps())))
    out.audio_energy = 0.1 * (0.05 + m / np.nanmax(m))  # about -26 to -19 dBFS
    return out


@pytest.mark.slow
def test_av_sync_synced_low_shifted_and_dubbed_higher(head: FaceSeries, interview: FaceSeries) -> None:
    synced = avsync.score_windows(_energy_from_mouth(head, 0.0))
    shifted = avsync.score_windows(_energy_from_mouth(head, 2.0))
    dubbed = avsync.score_windows(interview)
    assert interview.audio_energy is not None
    assert synced.session_score < 0.1 and np.nanmax(synced.score) < 0.1
    assert all(abs(e["lag_s"]) < 0.05 for e in synced.evidence if "lag_s" in e)
    assert shifted.session_score > synced.session_score + 0.3
    assert np.nanmean(shifted.score) > np.nanmean(synced.score) + 0.3
    assert dubbed.session_score > synced.session_score + 0.3
    assert np.nanmean(dubbed.score) > np.nanmean(synced.score) + 0.3
