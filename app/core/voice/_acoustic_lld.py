"""Frame-level low-level descriptors (LLDs) behind :mod:`app.core.voice.acoustic`.

Every function here works at 16 kHz on one shared frame grid: frame ``i`` is centred on sample
``i * HOP`` (10 ms hop, zero padding at both ends), so every LLD of an utterance of ``n`` samples
has ``1 + n // HOP`` frames. Spectral and energy descriptors use a 25 ms Hann window; the
periodicity descriptors (F0, voicing, HNR) use a 64 ms window, which holds almost four periods of
the lowest F0 searched (60 Hz), as Boersma (1993) recommends.

Pitch tracker
    ``librosa.yin`` (de Cheveigné & Kawahara 2002) gives F0; the voicing decision and the voicing
    strength come from the normalised autocorrelation of Boersma (1993) computed here. ``pyin`` was
    measured first (warm, LibriVox clip, 2-core machine): at its default resolution it costs
    0.087-0.096 s of CPU per second of audio, more than the whole extractor's budget of 0.08 s/s;
    with a coarse grid (0.5 semitone, 20 thresholds) it costs 0.015-0.022 s/s but returns F0 on
    that grid (3 % steps). YIN costs about 0.003 s/s and returns a continuous (parabolically
    refined) F0; the whole extractor costs about 0.013-0.03 s/s.

References
----------
Boersma, P. (1993). Accurate short-term analysis of the fundamental frequency and the
harmonics-to-noise ratio of a sampled sound. *Proc. Institute of Phonetic Sciences* 17, 97-110.
de Cheveigné, A., & Kawahara, H. (2002). YIN, a fundamental frequency estimator for speech and
music. *JASA* 111(4), 1917-1930.
Eyben, F. et al. (2016). The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for voice research
and affective computing. *IEEE Trans. Affective Computing* 7(2), 190-202 (definitions of alpha
ratio, Hammarberg index and spectral slopes; no code or configuration of openSMILE is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import librosa
import numpy as np
import scipy.fft
from scipy.signal import get_window

SR = 16000
HOP = 160  # 10 ms
WIN = 400  # 25 ms
NFFT = 512
PERIOD_WIN = 1024  # 64 ms
FMIN, FMAX = 60.0, 500.0
VOICING_THRESHOLD = 0.45  # Praat's default voicing threshold on the normalised autocorrelation
SILENCE_THRESHOLD = 0.03  # Praat's silence threshold, relative to the global peak amplitude
SOUNDING_RANGE_DB = 25.0  # frames within this range below the loud end count as sounding
ABS_FLOOR_DB = -75.0  # frames below this level (dBFS) are never sounding
RMS_FLOOR = 1e-5  # -100 dBFS, the floor of ``rms_db``
MIN_VOICED_RUN = 3  # frames; shorter voiced runs are treated as unvoiced
MAX_JUMP_ST = 7.0  # a larger F0 jump between adjacent frames ends a voiced run
SHORT_RUN = 10  # frames; a shorter run more than an octave off the median F0 is dropped
RUN_RANGE_DB = 20.0  # voiced runs never louder than this below the loud end are dropped (hum)
N_MELS = 26
N_MFCC = 13
LOUDNESS_EXPONENT = 0.3  # Stevens' power law: loudness doubles per +10 dB
CONTRAST_FMIN, CONTRAST_BANDS = 100.0, 6
ROLLOFF = 0.85


def n_frames(n_samples: int) -> int:
    """Number of frames of an ``n_samples`` signal on the shared 10 ms grid."""
    return 1 + n_samples // HOP


def frame(y: np.ndarray, length: int) -> np.ndarray:
    """Centred frames of ``y``, shape ``(n_frames(len(y)), length)`` (a strided view)."""
    pad = length // 2
    return librosa.util.frame(np.pad(y, (pad, pad)), frame_length=length, hop_length=HOP, axis=0)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the runs of True in a boolean vector."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


@lru_cache(maxsize=1)
def _banks() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hann window, mel filterbank, A-weighting per mel band (power) and FFT bin frequencies."""
    window = get_window("hann", WIN, fftbins=True)
    mel = librosa.filters.mel(sr=SR, n_fft=NFFT, n_mels=N_MELS, fmin=20.0, fmax=SR / 2)
    centres = librosa.mel_frequencies(n_mels=N_MELS + 2, fmin=20.0, fmax=SR / 2)[1:-1]
    a_weight = 10.0 ** (librosa.A_weighting(centres) / 10.0)
    freqs = np.fft.rfftfreq(NFFT, 1.0 / SR)
    return window, mel, a_weight, freqs


@lru_cache(maxsize=1)
def _window_autocorr() -> np.ndarray:
    """Normalised autocorrelation of the 64 ms Hann window, r_w(tau) / r_w(0) (Boersma 1993, eq. 9)."""
    w = get_window("hann", PERIOD_WIN, fftbins=False)
    ac = np.correlate(w, w, mode="full")[PERIOD_WIN - 1:]
    return ac / ac[0]


def energy_lld(y: np.ndarray) -> dict[str, np.ndarray]:
    """RMS level in dBFS (floored at -100 dB) of 25 ms frames; ``rms`` is the linear value."""
    rms = np.sqrt(np.mean(np.square(frame(y, WIN), dtype=np.float64), axis=1))
    return {"rms": rms, "rms_db": 20.0 * np.log10(np.maximum(rms, RMS_FLOOR))}


def sounding_mask(rms_db: np.ndarray) -> np.ndarray:
    """Frames within 25 dB of the 99th-percentile level and above -75 dBFS.

    The relative threshold is the silence threshold of de Jong & Wempe (2009): -25 dB re the
    99 % quantile of the intensity. Spectral descriptors, HNR and the pause statistics use it.
    """
    ref = np.percentile(rms_db, 99)
    return (rms_db >= ref - SOUNDING_RANGE_DB) & (rms_db > ABS_FLOOR_DB)


def _band_slope(db: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Least-squares slope (dB per kHz) of the dB power spectrum between ``lo`` and ``hi`` Hz."""
    sel = (freqs >= lo) & (freqs <= hi)
    f = freqs[sel] / 1000.0
    f = f - f.mean()
    return (db[:, sel] @ f) / np.sum(f * f)


def spectral_lld(y: np.ndarray) -> dict[str, np.ndarray]:
    """Spectral, cepstral and loudness LLDs from 25 ms Hann frames (512-point FFT).

    One STFT is computed here (so every descriptor shares the 10 ms grid and the gain-relative
    floors) and handed to librosa for the MFCCs (``librosa.feature.mfcc`` of the dB mel
    spectrum), their deltas (``librosa.feature.delta``, a +-2-frame Savitzky-Golay slope, edges
    repeated), centroid, bandwidth, roll-off, flatness, contrast and the zero-crossing rate. Only
    loudness, flux, alpha ratio, Hammarberg index and the band slopes, which librosa does not
    offer with these definitions (Eyben et al. 2016), are computed here.

    Returns loudness (sum over 26 A-weighted mel bands of band power ** 0.3: Stevens' power law,
    so +10 dB doubles it), MFCC 1-13 of the dB mel spectrum (orthonormal DCT-II, c0 dropped) and
    their +-2-frame regression deltas, spectral centroid / bandwidth (magnitude weighted, Hz),
    85 % magnitude roll-off (Hz, librosa's definition), flatness (geometric / arithmetic mean of
    power), flux (squared difference of L1-normalised magnitude spectra of consecutive frames),
    7 spectral-contrast bands
    (librosa, octave bands from 100 Hz), zero-crossing rate (fraction of sample pairs), alpha ratio
    (dB, 50-1000 Hz vs 1-5 kHz power), Hammarberg index (dB, strongest bin 0-2 kHz vs 2-5 kHz) and
    the spectral slopes (dB/kHz) over 0-500 Hz and 500-1500 Hz (Eyben et al. 2016).
    """
    window, mel, a_weight, freqs = _banks()
    fr = frame(y, WIN)
    spec = scipy.fft.rfft(fr * window, n=NFFT, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    mag = np.sqrt(power)
    ref = max(float(power.max()), 1e-30)  # floors sit far below the loudest bin: gain invariant
    tiny = 1e-12 * ref
    out: dict[str, np.ndarray] = {}
    mel_p = power @ mel.T
    out["loudness"] = np.sum((mel_p * a_weight) ** LOUDNESS_EXPONENT, axis=1)
    mel_db = 10.0 * np.log10(np.maximum(mel_p, 1e-10 * ref))
    ceps = librosa.feature.mfcc(S=mel_db.T, n_mfcc=N_MFCC + 1, dct_type=2, norm="ortho")[1:]
    d_ceps = librosa.feature.delta(ceps, width=5, order=1, axis=-1, mode="nearest")
    for k in range(N_MFCC):
        out[f"mfcc{k + 1:02d}"] = ceps[k]
        out[f"mfcc{k + 1:02d}_delta"] = d_ceps[k]
    S = mag.T + np.sqrt(tiny)  # silent frames get a flat floor instead of 0/0
    centroid = librosa.feature.spectral_centroid(S=S, freq=freqs)
    out["spectral_centroid"] = centroid[0]
    out["spectral_bandwidth"] = librosa.feature.spectral_bandwidth(S=S, freq=freqs, centroid=centroid)[0]
    out["spectral_rolloff"] = librosa.feature.spectral_rolloff(S=S, freq=freqs, roll_percent=ROLLOFF)[0]
    out["spectral_flatness"] = librosa.feature.spectral_flatness(S=mag.T, power=2.0, amin=tiny)[0]
    msum = mag.sum(axis=1) + np.sqrt(tiny)
    norm = mag / msum[:, None]
    flux = np.zeros(len(mag))
    flux[1:] = np.sum(np.diff(norm, axis=0) ** 2, axis=1)
    out["spectral_flux"] = flux
    out["zcr"] = librosa.feature.zero_crossing_rate(
        np.pad(y, (WIN // 2, WIN // 2)), frame_length=WIN, hop_length=HOP, center=False)[0][: len(fr)]
    contrast = librosa.feature.spectral_contrast(
        S=mag.T / np.sqrt(ref), sr=SR, n_fft=NFFT, fmin=CONTRAST_FMIN, n_bands=CONTRAST_BANDS)
    for b in range(CONTRAST_BANDS + 1):
        out[f"spectral_contrast_b{b + 1}"] = contrast[b]
    low = power[:, (freqs >= 50) & (freqs < 1000)].sum(axis=1)
    high = power[:, (freqs >= 1000) & (freqs < 5000)].sum(axis=1)
    out["alpha_ratio"] = 10.0 * np.log10((low + tiny) / (high + tiny))
    p02 = power[:, freqs < 2000].max(axis=1)
    p25 = power[:, (freqs >= 2000) & (freqs < 5000)].max(axis=1)
    out["hammarberg"] = 10.0 * np.log10((p02 + tiny) / (p25 + tiny))
    db = 10.0 * np.log10(power + tiny)
    out["spectral_slope_0_500"] = _band_slope(db, freqs, 0.0, 500.0)
    out["spectral_slope_500_1500"] = _band_slope(db, freqs, 500.0, 1500.0)
    return out


def periodicity(y: np.ndarray, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Boersma's (1993) normalised autocorrelation peak per 64 ms frame.

    Each frame has its mean removed and a Hann window applied; its autocorrelation is divided by
    its value at lag 0 and by the window's own normalised autocorrelation (Boersma 1993, eq. 9),
    and the highest local maximum for lags of 1/500 to 1/60 s is refined by parabolic
    interpolation. Computed in blocks of frames to bound memory.

    Returns
    -------
    r : numpy.ndarray
        Peak height, clipped to [0, 1] (0 for frames without energy).
    lag : numpy.ndarray
        Lag of the peak in samples (fractional).
    """
    lo, hi = int(np.floor(SR / FMAX)), int(np.ceil(SR / FMIN))
    rw = _window_autocorr()[: hi + 2]
    nfft = int(2 ** np.ceil(np.log2(PERIOD_WIN + hi + 2)))
    window = get_window("hann", PERIOD_WIN, fftbins=False)
    frames = frame(y, PERIOD_WIN)
    r = np.zeros(len(frames))
    lag = np.full(len(frames), np.nan)
    for s in range(0, len(frames), block):
        fr = frames[s: s + block].astype(np.float64)
        fr = (fr - fr.mean(axis=1, keepdims=True)) * window
        spec = scipy.fft.rfft(fr, n=nfft, axis=1)
        ac = scipy.fft.irfft(spec.real ** 2 + spec.imag ** 2, n=nfft, axis=1)[:, : hi + 2]
        e0 = ac[:, :1]
        ok = e0[:, 0] > 1e-12
        ac = np.where(ok[:, None], ac / np.where(ok[:, None], e0, 1.0), 0.0) / rw
        k = lo + np.argmax(ac[:, lo: hi + 1], axis=1)
        rows = np.arange(len(k))
        a, b, c = ac[rows, k - 1], ac[rows, k], ac[rows, np.minimum(k + 1, hi + 1)]
        den = a - 2 * b + c
        shift = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, 1.0), 0.0)
        shift = np.clip(shift, -0.5, 0.5)
        r[s: s + len(k)] = np.where(ok, b - 0.25 * (a - c) * shift, 0.0)
        lag[s: s + len(k)] = np.where(ok, k + shift, np.nan)
    return np.clip(r, 0.0, 1.0), lag


def _fix_octaves(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Within each voiced run of >= 5 frames, halve / double F0 values an octave off the run median."""
    f0 = f0.copy()
    for a, b in runs(voiced):
        if b - a < 5:
            continue
        med = np.median(f0[a:b])
        seg = f0[a:b]
        seg[seg > 1.7 * med] /= 2.0
        seg[seg < med / 1.7] *= 2.0
    return f0


@dataclass
class Pitch:
    """Pitch track on the shared grid: F0 in Hz (NaN when unvoiced), voicing mask and strength."""

    f0: np.ndarray
    voiced: np.ndarray
    strength: np.ndarray
    sounding: np.ndarray


def pitch(y: np.ndarray, rms_db: np.ndarray) -> Pitch:
    """YIN F0 with a Boersma-style voicing decision.

    A frame is voiced when it is sounding (see :func:`sounding_mask`), YIN's F0 lies in 60-500 Hz
    and its normalised autocorrelation peak r beats Praat's unvoiced-candidate strength
    ``0.45 + max(0, 2 - (local peak / global peak) / (0.03 / 1.45))`` (Boersma 1993; voicing
    threshold 0.45, silence threshold 0.03). Octave jumps inside a voiced run are folded back,
    a remaining jump of more than 7 semitones between adjacent frames ends the run, and runs
    shorter than 30 ms, never within 20 dB of the utterance's loud end (99th percentile of
    ``rms_db``), or shorter than 100 ms and more than an octave away from the median F0 of the
    longer runs are dropped, so faint periodic background such as mains hum and brief periodic
    noise stay unvoiced.
    """
    f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=PERIOD_WIN, hop_length=HOP, center=True)
    strength, _ = periodicity(y)
    sounding = sounding_mask(rms_db)
    local_peak = np.max(np.abs(frame(y, PERIOD_WIN)), axis=1)
    global_peak = max(float(np.max(np.abs(y))), 1e-12)
    unvoiced = VOICING_THRESHOLD + np.maximum(
        0.0, 2.0 - (local_peak / global_peak) / (SILENCE_THRESHOLD / (1.0 + VOICING_THRESHOLD)))
    voiced = sounding & (strength > unvoiced) & np.isfinite(f0) & (f0 >= FMIN) & (f0 <= FMAX)
    f0 = _fix_octaves(np.where(voiced, f0, np.nan), voiced)
    with np.errstate(invalid="ignore"):
        jump = np.abs(np.diff(12.0 * np.log2(f0))) > MAX_JUMP_ST
    voiced[1:][jump] = False
    loud_end = np.percentile(rms_db, 99)
    spans = runs(voiced)
    long_runs = [np.arange(a, b) for a, b in spans if b - a >= SHORT_RUN]
    centre = np.median(f0[np.concatenate(long_runs)] if long_runs else f0[voiced]) if spans else np.nan
    for a, b in spans:
        off = abs(12.0 * np.log2(np.median(f0[a:b]) / centre))
        if (b - a < MIN_VOICED_RUN or rms_db[a:b].max() < loud_end - RUN_RANGE_DB
                or (b - a < SHORT_RUN and off > 12.0)):
            voiced[a:b] = False
    return Pitch(f0=np.where(voiced, f0, np.nan), voiced=voiced, strength=strength, sounding=sounding)
