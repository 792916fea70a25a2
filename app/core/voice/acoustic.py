"""Acoustic voice features of one utterance: frame-level descriptors summarised by functionals.

:func:`acoustic_features` turns one utterance (mono float audio, typically 0.3-20 s) into a flat
``dict`` whose keys are exactly :data:`ACOUSTIC_NAMES`, in order, with NaN wherever a value is
undefined (no voiced frames, too few frames, no pauses, ...). It never raises on short, silent or
clipped input; an utterance shorter than two 25 ms frames gives all NaN.

Feature names are ``<lld>_<functional>``: each low-level descriptor (LLD, one value per 10 ms frame,
see :mod:`app.core.voice._acoustic_lld` and :mod:`app.core.voice._acoustic_pulses`) is summarised
over the frames of its domain (voiced frames, sounding frames or all frames) by the functionals
that make sense for it, followed by utterance-level rhythm, pause and pooled perturbation measures.
``resources/voice/acoustic_features.tsv`` documents every name (unit and description); it is
written by :func:`write_feature_table` and a test keeps it equal to :data:`ACOUSTIC_NAMES`.

The feature set follows the spirit of GeMAPS (Eyben et al. 2016) but is computed entirely here
from published definitions; the syllable nuclei follow de Jong & Wempe (2009).

References
----------
Eyben, F. et al. (2016). The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for voice research
and affective computing. *IEEE Trans. Affective Computing* 7(2), 190-202.
de Jong, N. H., & Wempe, T. (2009). Praat script to detect syllable nuclei and measure speech rate
automatically. *Behavior Research Methods* 41(2), 385-390 (method only; the script is not used).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks, resample_poly

from app.core.voice._acoustic_lld import (
    HOP, N_MFCC, SR, WIN, energy_lld, pitch, runs, spectral_lld,
)
from app.core.voice._acoustic_pulses import glottal_pulses, perturbation, perturbation_terms

FRAME_S = HOP / SR
MIN_SAMPLES = 2 * WIN  # two 25 ms frames
PAUSE_MIN_S = 0.15
SYLLABLE_PROMINENCE_DB = 2.0  # de Jong & Wempe (2009): a nucleus rises >= 2 dB above its dips
SYLLABLE_MIN_GAP_S = 0.05

#: Summary statistics; ``name -> (description, unit rule)``; the rule maps the LLD unit to the
#: functional's unit ("=" same unit, "/s" per second, "" dimensionless).
FUNCTIONALS: dict[str, tuple[str, str]] = {
    "mean": ("arithmetic mean", "="),
    "sd": ("sample standard deviation (n - 1)", "="),
    "cv": ("coefficient of variation, sd / mean (only for positive ratio-scale LLDs)", ""),
    "min": ("minimum", "="),
    "max": ("maximum", "="),
    "p5": ("5th percentile (linear interpolation)", "="),
    "p25": ("25th percentile", "="),
    "p50": ("median", "="),
    "p75": ("75th percentile", "="),
    "p95": ("95th percentile", "="),
    "skew": ("skewness, third standardised moment (biased estimator)", ""),
    "kurt": ("excess kurtosis, fourth standardised moment - 3 (biased estimator)", ""),
    "slope": ("slope of the least-squares line against time", "/s"),
    "rise_mean": ("mean of the positive slopes between adjacent frames", "/s"),
    "fall_mean": ("mean of the negative slopes between adjacent frames (a negative number)", "/s"),
}
FULL = tuple(FUNCTIONALS)
SIGNED = tuple(f for f in FULL if f != "cv")
#: MFCC deltas: no mean (a regression delta sums to the end-to-end change over ~n frames, so its
#: mean is about 0 by construction), and no slope or rise/fall (a delta is already a slope).
DELTA_FUNCS = ("sd", "min", "max", "p5", "p25", "p50", "p75", "p95", "skew", "kurt")
#: Pruned after measuring redundancy on speech (``tests/test_voice_redundancy.py``; figures in
#: ``resources/voice/acoustic_redundancy.md``): the frame mean of jitter (|rho| 0.994-0.995 with
#: the pooled jitter of the utterance, which Praat's voice report uses, so that one is kept), the
#: quantiles of voicing strength (the HNR is a fixed per-frame transform of it, 10 log10(r/(1-r)),
#: so its quantiles repeat the HNR's; |rho| up to 0.991), the kurtosis of spectral flatness
#: (|rho| 0.995 with its skewness), the mean 0-500 Hz slope (R^2 0.999 from its p5/p25/p75).
NO_MEAN = tuple(f for f in FULL if f != "mean")
MOMENTS = ("mean", "sd", "cv", "skew", "kurt", "slope", "rise_mean", "fall_mean")

DOMAINS = {
    "voiced": "over voiced frames",
    "sounding": "over sounding frames (within 25 dB of the utterance's loud end)",
    "all": "over all frames",
}

#: LLD catalogue: (name, unit, domain, description, functionals).
LLDS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("f0_semitone", "st", "voiced", "F0 (YIN) in semitones re 27.5 Hz", SIGNED),
    ("voicing_prob", "ratio", "all",
     "voicing strength: normalised autocorrelation peak r in [0, 1] of a 64 ms frame (Boersma 1993)", MOMENTS),
    ("jitter_local", "ratio", "voiced", "jitter (local) of the glottal periods within +-30 ms", NO_MEAN),
    ("jitter_rap", "ratio", "voiced", "jitter (RAP, 3-period average) within +-30 ms", NO_MEAN),
    ("jitter_ppq5", "ratio", "voiced", "jitter (PPQ5, 5-period average) within +-30 ms", NO_MEAN),
    ("shimmer_local", "ratio", "voiced", "shimmer (local) of the pulse peak amplitudes within +-30 ms", FULL),
    ("shimmer_apq3", "ratio", "voiced", "shimmer (APQ3, 3-pulse average) within +-30 ms", FULL),
    ("shimmer_apq5", "ratio", "voiced", "shimmer (APQ5, 5-pulse average) within +-30 ms", FULL),
    ("hnr", "dB", "sounding", "harmonics-to-noise ratio 10 log10(r / (1 - r)) (Boersma 1993), -30..60 dB", SIGNED),
    ("rms_db", "dBFS", "all", "RMS level of a 25 ms frame, floored at -100 dBFS", SIGNED),
    ("loudness", "rel", "all",
     "loudness: sum over 26 A-weighted mel bands of power ** 0.3 (Stevens' law: +10 dB doubles it)", FULL),
    ("spectral_centroid", "Hz", "sounding", "spectral centroid (magnitude weighted)", FULL),
    ("spectral_bandwidth", "Hz", "sounding", "spectral bandwidth (magnitude-weighted sd about the centroid)", FULL),
    ("spectral_rolloff", "Hz", "sounding", "frequency below which 85 % of the spectral magnitude lies", FULL),
    ("spectral_flatness", "ratio", "sounding", "spectral flatness, geometric / arithmetic mean of power",
     tuple(f for f in FULL if f != "kurt")),
    ("spectral_flux", "rel", "sounding",
     "spectral flux, squared difference of consecutive L1-normalised magnitude spectra", FULL),
    ("zcr", "ratio", "sounding", "zero-crossing rate, fraction of adjacent sample pairs changing sign", FULL),
    *((f"spectral_contrast_b{b}", "dB", "sounding",
       f"spectral contrast (peak - valley) of octave band {b} of 7 (librosa, bands from 100 Hz)", SIGNED)
      for b in range(1, 8)),
    ("alpha_ratio", "dB", "sounding", "alpha ratio, power 50-1000 Hz over 1-5 kHz", SIGNED),
    ("hammarberg", "dB", "sounding", "Hammarberg index, strongest bin 0-2 kHz over 2-5 kHz", SIGNED),
    ("spectral_slope_0_500", "dB/kHz", "sounding", "least-squares slope of the dB spectrum 0-500 Hz",
     tuple(f for f in SIGNED if f != "mean")),
    ("spectral_slope_500_1500", "dB/kHz", "sounding", "least-squares slope of the dB spectrum 500-1500 Hz", SIGNED),
    *((f"mfcc{k:02d}", "dB", "sounding", f"MFCC {k} (librosa: DCT-II of the 26-band dB mel spectrum)", SIGNED)
      for k in range(1, N_MFCC + 1)),
    *((f"mfcc{k:02d}_delta", "dB/frame", "sounding", f"delta of MFCC {k} (librosa, +-2-frame regression)", DELTA_FUNCS)
      for k in range(1, N_MFCC + 1)),
)

#: Pooled perturbation; shimmer in dB is left out (a per-period transform of local shimmer,
#: |rho| 0.97-0.99 with it on speech).
POOLED = ("jitter_local", "jitter_rap", "jitter_ppq5", "shimmer_local", "shimmer_apq3", "shimmer_apq5")

#: Utterance-level measures: (lld, functional, unit, description).
UTTERANCE: tuple[tuple[str, str, str, str], ...] = (
    ("voiced_frame", "ratio", "ratio", "fraction of all frames that are voiced"),
    ("voiced_segment", "rate", "1/s", "number of voiced segments per second of utterance"),
    ("voiced_segment", "len_mean", "s", "mean length of the voiced segments"),
    ("voiced_segment", "len_sd", "s", "sd of the lengths of the voiced segments"),
    ("unvoiced_segment", "len_mean", "s", "mean length of the unvoiced gaps between the first and last voiced frame"),
    ("unvoiced_segment", "len_sd", "s", "sd of the lengths of those unvoiced gaps"),
    ("syllable", "rate", "1/s",
     "syllable nuclei per second of speech: peaks (>= 2 dB prominence, >= 50 ms apart) of the "
     "voiced RMS envelope (rms_db at voiced frames, the utterance minimum elsewhere, 30 ms Hann "
     "smoothing) after de Jong & Wempe (2009); speech = first-to-last sounding span minus pauses"),
    ("pause", "count", "count", "number of silent gaps > 150 ms between the first and last sounding frame"),
    ("pause", "total", "s", "total length of those pauses (their mean length is total / count, not exported)"),
    ("pause", "max", "s", "length of the longest pause (0 when there is none)"),
    ("pause", "ratio", "ratio", "total pause length / span from the first to the last sounding frame"),
    *((name, "pooled", "dB" if name.endswith("_db") else "ratio",
       f"{name.replace('_', ' ')} pooled over all glottal periods of the utterance (Praat voice-report style)")
      for name in POOLED),
)


FUNCS_OF = {lld: funcs for lld, _, _, _, funcs in LLDS}


def _names() -> tuple[str, ...]:
    names = [f"{lld}_{f}" for lld, _, _, _, funcs in LLDS for f in funcs]
    names += [f"{lld}_{f}" for lld, f, _, _ in UTTERANCE]
    return tuple(names)


#: Every feature name, in the order of :func:`acoustic_features`' output (exporters prefix ``ac_``).
ACOUSTIC_NAMES: tuple[str, ...] = _names()


def _functionals(x: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """All functionals of LLD values at frame indices ``idx`` (NaN where undefined).

    Parameters
    ----------
    x : numpy.ndarray
        Values, shape ``(n,)`` or ``(n, k)`` for ``k`` LLDs sharing the same frames.
    idx : numpy.ndarray
        Increasing frame indices of the ``n`` rows (10 ms apart when adjacent).

    Returns
    -------
    dict[str, numpy.ndarray]
        Functional name -> values (a 0-d array for 1-D input, shape ``(k,)`` otherwise).
    """
    x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 1
    x = x[:, None] if squeeze else x
    n, k = x.shape
    nan = np.full(k, np.nan)
    out = {f: nan.copy() for f in FUNCTIONALS}
    if n:
        mean = x.mean(axis=0)
        p5, p25, p50, p75, p95 = np.percentile(x, [5, 25, 50, 75, 95], axis=0)
        out.update(mean=mean, min=x.min(axis=0), max=x.max(axis=0), p5=p5, p25=p25, p50=p50, p75=p75, p95=p95)
        dev = x - mean
        m2 = np.mean(dev ** 2, axis=0)
        if n >= 3:
            ok = m2 > 1e-24 + 1e-14 * mean * mean
            safe = np.where(ok, m2, 1.0)
            out["skew"] = np.where(ok, np.mean(dev ** 3, axis=0) / safe ** 1.5, np.nan)
            out["kurt"] = np.where(ok, np.mean(dev ** 4, axis=0) / safe ** 2 - 3.0, np.nan)
    if n >= 2:
        sd = np.sqrt(m2 * n / (n - 1))
        out["sd"] = sd
        out["cv"] = np.where(mean > 0, sd / np.where(mean > 0, mean, 1.0), np.nan)
        t = idx * FRAME_S
        tc = t - t.mean()
        if np.any(tc != 0):
            out["slope"] = tc @ dev / (tc @ tc)
        d = np.diff(x, axis=0)[np.diff(idx) == 1] / FRAME_S
        for name, sel in (("rise_mean", d > 0), ("fall_mean", d < 0)):
            cnt = sel.sum(axis=0)
            out[name] = np.where(cnt > 0, np.where(sel, d, 0.0).sum(axis=0) / np.maximum(cnt, 1), np.nan)
    return {f: v[0] if squeeze else v for f, v in out.items()}


def _prepare(y: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz with NaN / inf replaced by 0; integer PCM scaled to [-1, 1]."""
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer):
        y = y / float(np.iinfo(y.dtype).max)
    y = np.nan_to_num(y.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if y.ndim > 1:
        y = y.mean(axis=int(np.argmin(y.shape))) if y.size else y.reshape(-1)
    y = y.reshape(-1)
    if sr != SR and len(y):
        g = int(np.gcd(int(sr), SR))
        y = resample_poly(y, SR // g, int(sr) // g)
    return y.astype(np.float32)


def _rhythm(rms_db: np.ndarray, voiced: np.ndarray, sounding: np.ndarray) -> dict[str, float]:
    """Voiced / unvoiced segment, pause and syllable-rate measures (see :data:`UTTERANCE`)."""
    nan = float("nan")
    out: dict[str, float] = {}
    duration = len(rms_db) * FRAME_S
    vruns = runs(voiced)
    vlen = np.array([b - a for a, b in vruns]) * FRAME_S
    out["voiced_frame_ratio"] = float(np.mean(voiced))
    out["voiced_segment_rate"] = len(vruns) / duration
    out["voiced_segment_len_mean"] = float(vlen.mean()) if len(vlen) else nan
    out["voiced_segment_len_sd"] = float(vlen.std(ddof=1)) if len(vlen) >= 2 else nan
    ulen = np.array([b - a for a, b in zip([r[1] for r in vruns[:-1]], [r[0] for r in vruns[1:]])]) * FRAME_S
    out["unvoiced_segment_len_mean"] = float(ulen.mean()) if len(ulen) else nan
    out["unvoiced_segment_len_sd"] = float(ulen.std(ddof=1)) if len(ulen) >= 2 else nan
    on = np.flatnonzero(sounding)
    for f in ("count", "total", "max", "ratio"):
        out[f"pause_{f}"] = nan
    out["syllable_rate"] = nan
    if len(on) == 0:
        return out
    first, last = int(on[0]), int(on[-1]) + 1
    gaps = [(b - a) * FRAME_S for a, b in runs(~sounding[first:last])]
    pauses = np.array([g for g in gaps if g > PAUSE_MIN_S])
    span = (last - first) * FRAME_S
    out.update(pause_count=float(len(pauses)), pause_total=float(pauses.sum()),
               pause_max=float(pauses.max()) if len(pauses) else 0.0,
               pause_ratio=float(pauses.sum()) / span)
    speech = span - float(pauses.sum())
    if len(rms_db) >= 3 and speech > 0:
        kernel = np.hanning(5)[1:-1]
        env = np.convolve(np.where(voiced, rms_db, rms_db.min()), kernel / kernel.sum(), mode="same")
        peaks, _ = find_peaks(env, prominence=SYLLABLE_PROMINENCE_DB,
                              distance=max(1, int(round(SYLLABLE_MIN_GAP_S / FRAME_S))))
        nuclei = peaks[voiced[peaks] & sounding[peaks]]
        out["syllable_rate"] = len(nuclei) / speech
    return out


def acoustic_features(y: np.ndarray, sr: int = 16000) -> dict[str, float]:
    """Acoustic features of one utterance.

    Parameters
    ----------
    y : numpy.ndarray
        Mono audio (float in [-1, 1], or integer PCM); multi-channel input is averaged, NaN / inf
        samples are zeroed, and other rates are resampled to 16 kHz.
    sr : int
        Sample rate of ``y`` in Hz.

    Returns
    -------
    dict[str, float]
        Exactly the keys of :data:`ACOUSTIC_NAMES`, in order, as Python floats; NaN where a feature
        is undefined for this utterance. Input shorter than two 25 ms frames gives all NaN.
    """
    out = dict.fromkeys(ACOUSTIC_NAMES, float("nan"))
    y = _prepare(y, sr)
    if len(y) < MIN_SAMPLES:
        return out
    with np.errstate(all="ignore"):
        energy = energy_lld(y)
        p = pitch(y, energy["rms_db"])
        lld = spectral_lld(y)
        lld.update(rms_db=energy["rms_db"], f0_semitone=12.0 * np.log2(p.f0 / 27.5),
                   voicing_prob=p.strength)
        ratio = np.clip(p.strength, 1e-3, 1.0 - 1e-6)
        lld["hnr"] = 10.0 * np.log10(ratio / (1.0 - ratio))
        per_frame, pooled = perturbation(perturbation_terms(*glottal_pulses(y, p)), p.voiced)
        lld.update(per_frame)
        masks = {"voiced": p.voiced, "sounding": p.sounding, "all": np.ones(len(p.voiced), bool)}
        groups: dict[tuple[str, bytes], list[str]] = {}  # LLDs with the same valid frames share one pass
        for name, _, domain, _, _ in LLDS:
            valid = masks[domain] & np.isfinite(lld[name])
            groups.setdefault((domain, np.packbits(valid).tobytes()), []).append(name)
        for (domain, _), names in groups.items():
            idx = np.flatnonzero(masks[domain] & np.isfinite(lld[names[0]]))
            stats = _functionals(np.stack([lld[n][idx] for n in names], axis=1), idx)
            for j, name in enumerate(names):
                for f in FUNCS_OF[name]:
                    out[f"{name}_{f}"] = stats[f][j]
        out.update(_rhythm(energy["rms_db"], p.voiced, p.sounding))
        for name in POOLED:
            out[f"{name}_pooled"] = pooled[name]
    return {k: float(out[k]) for k in ACOUSTIC_NAMES}


def feature_table() -> list[tuple[str, str, str, str, str]]:
    """One ``(name, lld, functional, unit, description)`` row per name of :data:`ACOUSTIC_NAMES`."""
    rows = []
    for lld, unit, domain, desc, funcs in LLDS:
        for f in funcs:
            fdesc, rule = FUNCTIONALS[f]
            funit = unit if rule == "=" else (f"{unit}/s" if rule == "/s" else "1")
            rows.append((f"{lld}_{f}", lld, f, funit, f"{fdesc} of the {desc}, {DOMAINS[domain]}"))
    rows += [(f"{lld}_{f}", lld, f, unit, desc) for lld, f, unit, desc in UTTERANCE]
    return rows


def write_feature_table(path: str | Path) -> None:
    """Write the feature documentation as a tab-separated file with a header row.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination, normally ``resources/voice/acoustic_features.tsv``; parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(("name", "lld", "functional", "unit", "description"))
        writer.writerows(feature_table())
