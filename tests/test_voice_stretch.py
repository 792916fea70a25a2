"""Playback at other speeds (app.core.voice.stretch): pitch kept, length scaled, no warble.

A pure tone shows the pitch and the smoothness exactly; a LibriVox reader shows it on real speech.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.core.voice.stretch import TimeStretch
from tests.conftest import LIBRIVOX, unavailable

SR = 16000


def _stretch(x: np.ndarray, speed: float, **kw) -> np.ndarray:
    ts = TimeStretch(x, SR, speed, **kw)
    out = [ts.read(1000) for _ in range(int(len(x) / speed / 1000) + 3)]  # callback-sized blocks
    return np.concatenate(out)


def _peak_hz(y: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1.0 / SR)[np.argmax(spec)])


def _envelope(y: np.ndarray) -> np.ndarray:
    """Instantaneous amplitude (Hilbert), away from the ends of the block."""
    from scipy.signal import hilbert

    return np.abs(hilbert(y))[500:-500]


def _tone(hz: float = 217.0, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("speed", [0.25, 0.5, 0.75, 1.5, 2.0])
def test_tone_keeps_its_pitch_and_loudness_at_any_speed(speed: float) -> None:
    x = _tone()
    y = _stretch(x, speed)
    body = y[2000:int(len(x) / speed) - 2000]  # away from the fade-in and the end
    assert abs(_peak_hz(body) - 217.0) < 3.0
    # frames laid down in step: the loudness stays even (a misaligned overlap-add beats)
    env = _envelope(body)
    assert env.min() > 0.9 * np.median(env) and env.max() < 1.1 * np.median(env)
    # the sound ends after len/speed samples of output
    loud = np.flatnonzero(np.abs(y) > 0.05)
    assert abs(loud[-1] - len(x) / speed) < 0.03 * len(x) / speed + 600


def test_without_the_waveform_search_the_overlap_beats() -> None:
    """The loudness check above can fail: with no search the frames cancel each other in places."""
    body = _stretch(_tone(), 0.5, search_ms=0.0)[2000:-6000]
    env = _envelope(body)
    assert env.min() < 0.8 * np.median(env)


def test_speed_one_is_the_input_itself() -> None:
    x = (np.random.default_rng(3).standard_normal(SR) * 3000).astype(np.int16)
    ts = TimeStretch(x, SR, 1.0, start=4000)
    ts.read(256)  # the first half frame fades in
    y = ts.read(5000)
    assert np.allclose(y, x[4256:9256] / 32768.0, atol=1e-6)
    assert ts.position >= 4000 + 5256


def test_bad_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        TimeStretch(np.zeros(100, np.int16), SR, 8.0)


def test_real_speech_at_half_speed_keeps_the_voice() -> None:
    clips = sorted(LIBRIVOX.glob("*.wav"))
    if not clips:
        unavailable(f"Debian package pocketsphinx-testdata is not installed (no clips in {LIBRIVOX})")
    import librosa

    x, sr = sf.read(clips[0], dtype="float32")
    assert sr == SR
    x = (x * 32767).astype(np.int16)  # the player reads int16 PCM

    def f0(y: np.ndarray) -> float:
        f, voiced, _ = librosa.pyin(y.astype(np.float32), fmin=60, fmax=400, sr=SR, frame_length=1024)
        return float(np.nanmedian(f[voiced]))

    ref = f0(x / 32768.0)
    slow = _stretch(x, 0.5)
    tape = librosa.resample(x / 32768.0, orig_sr=SR, target_sr=2 * SR)  # played at half speed as tape
    print(f"\nmedian F0: original {ref:.1f} Hz, stretched {f0(slow):.1f} Hz, tape-slowed {f0(tape):.1f} Hz")
    assert abs(f0(slow) - ref) < 0.06 * ref
    assert abs(f0(tape) - ref) > 0.3 * ref  # the measure does tell a lowered voice
    assert abs(len(slow) - 2 * len(x)) < 0.05 * len(slow)
