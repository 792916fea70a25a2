"""Acoustic voice features: the documented name list, known answers on synthetic signals, real speech.

Real speech is the LibriVox material of Debian's pocketsphinx-testdata (16 kHz read English, one
male speaker) and synthetic speech from espeak-ng; both are system packages the Makefile installs.
The synthetic signals are built so that the expected jitter and shimmer follow from their
construction with the same (Praat) formulas the extractor implements.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.core.voice.acoustic import (
    ACOUSTIC_NAMES, FUNCTIONALS, _functionals, acoustic_features, feature_table, write_feature_table,
)
from tests.conftest import LIBRIVOX

SR = 16000
REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "resources" / "voice" / "acoustic_features.tsv"
CLIPS = sorted(LIBRIVOX.glob("*.wav"))
needs_librivox = pytest.mark.skipif(not CLIPS, reason="pocketsphinx-testdata (LibriVox clips) is not installed")
MFCCS = [f"mfcc{k:02d}" for k in range(1, 14)]


def _clip(i: int = 2) -> np.ndarray:
    y, sr = sf.read(CLIPS[i], dtype="float32")
    assert sr == SR
    return y


def _pulse_train(periods: np.ndarray, amps: np.ndarray, start: float = 0.01) -> np.ndarray:
    """Gaussian glottal-like pulses (sd 0.6 ms) at exact fractional times, one per period."""
    times = start + np.concatenate([[0.0], np.cumsum(periods)])
    n = int((times[-1] + start) * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    for tk, a in zip(times, amps):
        lo, hi = max(0, int((tk - 0.004) * SR)), min(n, int((tk + 0.004) * SR) + 1)
        y[lo:hi] += 0.5 * a * np.exp(-0.5 * ((t[lo:hi] - tk) / 0.0006) ** 2)
    return y.astype(np.float32)


def _praat_jitter(p: np.ndarray) -> dict[str, float]:
    """Jitter local / rap / ppq5 of a period sequence (Praat's formulas, no exclusions needed)."""
    mean = p.mean()
    rap = np.abs(p[1:-1] - (p[:-2] + p[1:-1] + p[2:]) / 3).mean()
    ppq5 = np.abs(p[2:-2] - np.lib.stride_tricks.sliding_window_view(p, 5).mean(axis=1)).mean()
    return {"jitter_local": np.abs(np.diff(p)).mean() / mean, "jitter_rap": rap / mean, "jitter_ppq5": ppq5 / mean}


def _hz(semitones: float) -> float:
    """F0 in Hz from semitones re 27.5 Hz (the features keep only semitones)."""
    return 27.5 * 2.0 ** (semitones / 12.0)


def _assert_well_formed(d: dict[str, float]) -> None:
    assert list(d) == list(ACOUSTIC_NAMES)
    assert all(type(v) is float for v in d.values())


# --- the name list ----------------------------------------------------------------------------

def test_names_are_many_unique_and_unprefixed() -> None:
    assert len(ACOUSTIC_NAMES) >= 600
    assert len(set(ACOUSTIC_NAMES)) == len(ACOUSTIC_NAMES)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) and not n.startswith("ac_") for n in ACOUSTIC_NAMES)
    # names other modules rely on (the voice risk score's arousal and pause cues)
    used = ("f0_semitone_mean", "f0_semitone_sd", "loudness_mean", "loudness_sd", "alpha_ratio_mean",
            "hammarberg_mean", "syllable_rate", "pause_ratio", "mfcc03_delta_p95")
    assert set(used) <= set(ACOUSTIC_NAMES)


def test_committed_table_documents_exactly_the_names(tmp_path: Path) -> None:
    with TABLE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0] == ["name", "lld", "functional", "unit", "description"]
    assert tuple(r[0] for r in rows[1:]) == ACOUSTIC_NAMES
    for name, lld, functional, unit, description in rows[1:]:
        assert name == f"{lld}_{functional}" and unit and len(description) > 10
    fresh = tmp_path / "table.tsv"
    write_feature_table(fresh)
    assert fresh.read_text(encoding="utf-8") == TABLE.read_text(encoding="utf-8"), (
        "resources/voice/acoustic_features.tsv is stale: regenerate it with write_feature_table()")
    assert len(feature_table()) == len(ACOUSTIC_NAMES)


def test_functionals_of_a_known_series() -> None:
    idx = np.arange(50)
    x = 2.0 + 3.0 * idx * 0.01  # a ramp rising 3 units per second from 2
    f = _functionals(x, idx)
    assert set(f) == set(FUNCTIONALS)
    assert f["slope"] == pytest.approx(3.0)
    assert f["rise_mean"] == pytest.approx(3.0) and math.isnan(f["fall_mean"])
    assert f["skew"] == pytest.approx(0.0, abs=1e-9) and f["kurt"] == pytest.approx(-1.2, abs=0.01)
    assert f["p50"] == pytest.approx(x.mean()) and f["max"] - f["min"] == pytest.approx(3.0 * 0.49)
    assert not {"range", "iqr", "offset"} & set(f)  # fixed functions of other functionals
    assert f["cv"] == pytest.approx(np.std(x, ddof=1) / x.mean())
    gappy = _functionals(np.array([1.0, 5.0]), np.array([0, 7]))
    assert math.isnan(gappy["rise_mean"]) and gappy["slope"] == pytest.approx(4.0 / 0.07)
    assert all(math.isnan(v) for v in _functionals(np.zeros(0), np.zeros(0, int)).values())


# --- synthetic signals with known answers -----------------------------------------------------

def test_pure_tone_has_its_f0_and_almost_no_jitter() -> None:
    t = np.arange(SR) / SR
    d = acoustic_features((0.5 * np.sin(2 * np.pi * 200.0 * t)).astype(np.float32), SR)
    _assert_well_formed(d)
    assert _hz(d["f0_semitone_mean"]) == pytest.approx(200.0, rel=0.03)
    assert d["f0_semitone_mean"] == pytest.approx(12 * math.log2(200 / 27.5), abs=0.5)
    assert d["voiced_frame_ratio"] > 0.9
    assert d["jitter_local_pooled"] < 0.002 and d["jitter_local_p50"] < 0.002
    assert d["shimmer_local_pooled"] < 0.01
    assert d["hnr_mean"] > 20.0


@pytest.mark.parametrize("alternate", [False, True])
def test_jitter_follows_a_known_period_perturbation(alternate: bool) -> None:
    rng = np.random.default_rng(7)
    n = 300
    signs = np.where(np.arange(n) % 2, 1.0, -1.0) if alternate else rng.choice([-1.0, 1.0], n)
    periods = 0.008 * (1 + 0.02 * signs)  # 125 Hz, every period 2 % long or short
    expected = _praat_jitter(periods)
    d = acoustic_features(_pulse_train(periods, np.ones(n + 1)), SR)
    for name, value in expected.items():
        assert d[f"{name}_pooled"] == pytest.approx(value, rel=0.15), name
    assert d["jitter_local_p50"] == pytest.approx(expected["jitter_local"], rel=0.25)
    steady = acoustic_features(_pulse_train(np.full(n, 0.008), np.ones(n + 1)), SR)
    assert steady["jitter_local_pooled"] < 0.1 * expected["jitter_local"]


def test_shimmer_grows_with_amplitude_perturbation() -> None:
    rng = np.random.default_rng(3)
    n = 300
    signs = rng.choice([-1.0, 1.0], n + 1)
    out = {}
    for depth in (0.0, 0.05, 0.15):
        amps = 1 + depth * signs
        out[depth] = acoustic_features(_pulse_train(np.full(n, 0.008), amps), SR)
        expected = np.abs(np.diff(amps)).mean() / amps.mean()
        assert out[depth]["shimmer_local_pooled"] == pytest.approx(expected, rel=0.15, abs=0.002)
        assert out[depth]["jitter_local_pooled"] < 0.002  # amplitude changes do not leak into jitter
    for name in ("shimmer_local", "shimmer_apq3", "shimmer_apq5"):
        assert out[0.0][f"{name}_pooled"] < out[0.05][f"{name}_pooled"] < out[0.15][f"{name}_pooled"], name
        assert out[0.05][f"{name}_mean"] < out[0.15][f"{name}_mean"], name


def test_white_noise_has_much_lower_hnr_than_a_harmonic_tone() -> None:
    t = np.arange(2 * SR) / SR
    tone = sum(np.sin(2 * np.pi * 150.0 * k * t) / k for k in range(1, 11))
    tone = (0.3 * tone / np.abs(tone).max()).astype(np.float32)
    noise = (0.1 * np.random.default_rng(0).standard_normal(2 * SR)).astype(np.float32)
    h, w = acoustic_features(tone, SR), acoustic_features(noise, SR)
    assert h["hnr_mean"] > 20.0
    assert w["hnr_mean"] < h["hnr_mean"] - 20.0 and w["hnr_mean"] < 5.0
    assert _hz(h["f0_semitone_mean"]) == pytest.approx(150.0, rel=0.03)
    assert w["voiced_frame_ratio"] < 0.05
    assert w["spectral_flatness_mean"] > 10 * h["spectral_flatness_mean"]


@needs_librivox
def test_gain_moves_level_features_only() -> None:
    y = _clip()
    gain = 3.0
    quiet, loud = acoustic_features(y / gain, SR), acoustic_features(y, SR)
    db = 20 * math.log10(gain)
    assert loud["rms_db_p50"] - quiet["rms_db_p50"] == pytest.approx(db, abs=0.05)
    assert loud["rms_db_mean"] - quiet["rms_db_mean"] == pytest.approx(db, abs=0.3)
    assert loud["loudness_mean"] / quiet["loudness_mean"] == pytest.approx(gain ** 0.6, rel=0.02)
    for c in MFCCS:
        assert abs(loud[f"{c}_mean"] - quiet[f"{c}_mean"]) < 0.01 * loud[f"{c}_sd"], c
        assert loud[f"{c}_sd"] == pytest.approx(quiet[f"{c}_sd"], rel=0.01), c
    for name in ACOUSTIC_NAMES:
        if not name.startswith(("rms_db_", "loudness_")) and not math.isnan(loud[name]):
            # contrast in the (MP3-emptied) top bands divides by near-zero valleys: rounding shows
            rel = 1e-2 if name.startswith("spectral_contrast") else 1e-3
            assert loud[name] == pytest.approx(quiet[name], rel=rel, abs=1e-6), name


# --- real and synthetic speech ----------------------------------------------------------------

@needs_librivox
@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.stem[-4:])
def test_real_speech_gives_plausible_values(clip: Path) -> None:
    y, sr = sf.read(clip, dtype="float32")
    d = acoustic_features(y, sr)
    _assert_well_formed(d)
    assert 70.0 <= _hz(d["f0_semitone_mean"]) <= 300.0
    assert 2.0 <= d["syllable_rate"] <= 7.0
    assert np.mean(np.isfinite(list(d.values()))) >= 0.98
    assert 0.3 <= d["voiced_frame_ratio"] <= 0.9
    assert 0.0 < d["jitter_local_pooled"] < 0.05 and 0.0 < d["shimmer_local_pooled"] < 0.3
    assert d["jitter_rap_pooled"] < d["jitter_local_pooled"]
    assert 0.0 <= d["pause_ratio"] < 0.5
    assert d["f0_semitone_p5"] <= d["f0_semitone_p50"] <= d["f0_semitone_p95"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_pitch_setting_orders_f0(tmp_path: Path) -> None:
    text = "The quick brown fox jumps over the lazy dog. Please state your name and occupation."
    f0 = {}
    for pitch in (20, 80):
        wav = tmp_path / f"p{pitch}.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "-p", str(pitch), text], check=True, capture_output=True)
        y, sr = sf.read(wav, dtype="float32")  # 22.05 kHz: also exercises resampling
        d = acoustic_features(y, sr)
        _assert_well_formed(d)
        assert 2.0 <= d["syllable_rate"] <= 7.0
        f0[pitch] = d["f0_semitone_mean"]
    assert f0[80] - f0[20] > 3.0  # semitones


@needs_librivox
def test_resampled_input_gives_the_same_pitch() -> None:
    from scipy.signal import resample_poly

    y = _clip()
    d16 = acoustic_features(y, SR)
    d44 = acoustic_features(resample_poly(y, 441, 160).astype(np.float32), 44100)
    assert d44["f0_semitone_mean"] == pytest.approx(d16["f0_semitone_mean"], abs=0.35)  # 2 % in Hz


# --- degenerate input -------------------------------------------------------------------------

def _degenerate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 180 * t)
    with_nan = tone.copy()
    with_nan[1000:1100] = np.nan
    with_nan[2000] = np.inf
    impulse = np.zeros(SR)
    impulse[SR // 2] = 1.0
    return {
        "silence": np.zeros(SR, np.float32),
        "empty": np.zeros(0, np.float32),
        "50ms_noise": (0.1 * rng.standard_normal(SR // 20)).astype(np.float32),
        "60ms_tone": tone[: int(0.06 * SR)].astype(np.float32),
        "dc": np.full(SR, 0.3, np.float32),
        "impulse": impulse.astype(np.float32),
        "nan_inf": with_nan.astype(np.float32),
        "int16": (tone * 20000).astype(np.int16),
        "stereo": np.stack([tone, tone], axis=1).astype(np.float32),
        "tiny": (1e-7 * rng.standard_normal(SR)).astype(np.float32),
    }


@pytest.mark.parametrize("kind", list(_degenerate()))
def test_degenerate_input_never_raises(kind: str) -> None:
    d = acoustic_features(_degenerate()[kind], SR)
    _assert_well_formed(d)
    if kind in ("int16", "stereo", "nan_inf"):
        assert _hz(d["f0_semitone_mean"]) == pytest.approx(180.0, rel=0.03)
    if kind == "silence":
        assert d["rms_db_mean"] == -100.0 and math.isnan(d["f0_semitone_mean"]) and math.isnan(d["pause_count"])
    if kind == "50ms_noise":
        assert math.isfinite(d["rms_db_mean"])


def test_shorter_than_two_frames_is_all_nan() -> None:
    d = acoustic_features(np.full(int(0.03 * SR), 0.1, np.float32), SR)
    _assert_well_formed(d)
    assert all(math.isnan(v) for v in d.values())


@needs_librivox
def test_clipped_speech_never_raises_and_keeps_pitch() -> None:
    y = _clip()
    d = acoustic_features(np.clip(y * 20.0, -1.0, 1.0), SR)
    _assert_well_formed(d)
    assert 70.0 <= _hz(d["f0_semitone_mean"]) <= 300.0
    assert d["rms_db_max"] <= 0.0
