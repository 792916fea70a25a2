"""Vocal arousal and deception-risk per utterance, relative to the applicant's own baseline.

Voice-stress "lie detection" has weak scientific support: commercial voice-stress analysers did no
better than chance in independent tests (US NIJ 2007; Harnsberger et al. 2009), and academic systems
reach about 65-73% on lab-induced lies only when they also use the words (Columbia X-Cultural
Deception corpus). So these scores measure *change against the person's own baseline*, show the
cues behind them, and are a prompt for follow-up questions, never a verdict.

**Baseline.** The utterances the reviewer marks as baseline, or by default the applicant's first
three answers of at least one second. Each cue becomes a z-score, clipped to ±3, against the
baseline's mean and a spread that is the larger of two sample standard deviations: the baseline's
(when it has at least three values) and that of all the applicant's answers (when there are at
least three). Why the larger: a standard deviation of three answers has two degrees of freedom and
its 90 % interval runs from 0.23 to 1.7 times the true spread, so dividing by it alone would blow
up the z-scores of any applicant whose first answers happen to be alike; the whole-session spread
bounds that. No floor relative to the mean is used (it would depend on arbitrary zero points such
as the 27.5 Hz reference of semitones); a cue that never varies gets a spread of 1e-6.

**Arousal** is the mean z-score of arousal-linked voice features (Scherer 2003; Juslin & Laukka
2003; Schuller et al. 2013): higher pitch and pitch range, louder and more variable loudness, a
flatter spectrum (higher alpha ratio, lower Hammarberg index), faster syllable rate.

**Arousal level** (0-1) is absolute: it needs no baseline, so single clips and the baseline
answers themselves get one. Pitch is read against the speaker's own range within the utterance,
loudness, spectral tilt and syllable rate against population norms (see
:data:`AROUSAL_LEVEL_CUES`); 0.5 is typical neutral speech of the norm set.

**Deception risk** (0-1) is a logistic model over baseline-relative cues with literature-informed
default weights (DePaulo et al. 2003; Newman et al. 2003; Hauch et al. 2015; Vrij 2008), plus the
lending-fraud lexicon, which counts absolutely. It is labelled ``uncalibrated`` until the
institution fits it on its own outcomes with ``vigil calibrate``; the fitted model
(:mod:`app.core.voice.risk_fit`, ``kind == "full"``) uses every exported feature relative to the
baseline (:func:`full_vector`), per answer as it was fitted, and is labelled with its version and
cross-validated AUC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Z_CLIP = 3.0
BASELINE_DEFAULT_N = 3
BASELINE_MIN_S = 1.0
SD_FLOOR = 1e-6


@dataclass(frozen=True)
class Cue:
    """One input of the risk model: a feature, its default weight per baseline SD, and why."""

    key: str
    weight: float
    label: str
    source: str
    relative: bool = True  # False: used as is (lexicon hits), not against the baseline


AROUSAL_CUES: tuple[tuple[str, float], ...] = (
    ("ac_f0_semitone_mean", 1.0),
    ("ac_f0_semitone_sd", 0.5),
    ("ac_loudness_mean", 1.0),
    ("ac_loudness_sd", 0.5),
    ("ac_alpha_ratio_mean", 0.5),
    ("ac_hammarberg_mean", -0.5),
    ("ac_syllable_rate", 0.5),
)

@dataclass(frozen=True)
class LevelCue:
    """One input of the absolute arousal level: how it is read from the features, its sign and
    weight (from the direction the literature gives), and its population norm (mean, sd)."""

    key: str
    weight: float
    mean: float
    sd: float
    label: str


#: Absolute arousal level (0-1). Directions and weights are set from the literature, not fitted
#: (Juslin & Laukka 2003; Scherer 2003: aroused speech is higher and wider in pitch, louder,
#: richer in high frequencies and faster). Norms: mean and sample sd over 35 neutral clips
#: (7 LibriVox read-speech chunks of up to 3 s and 28 espeak-ng renderings, 6 English and 2
#: Mandarin voices); see ``tools/voice_arousal_norms.py`` and the model card for the check on
#: other voices and sentences.
AROUSAL_LEVEL_CUES: tuple[LevelCue, ...] = (
    LevelCue("pitch_above_floor", 1.0, 2.704, 1.523, "pitch above the speaker's own floor (median - 5th pct, st)"),
    LevelCue("pitch_span", 0.5, 5.756, 4.595, "pitch span (95th - 5th percentile, st)"),
    LevelCue("ac_rms_db_p95", 0.5, -15.617, 2.357, "level of the loud parts (95th percentile, dBFS)"),
    LevelCue("ac_hammarberg_mean", -0.5, 15.754, 4.032, "Hammarberg index (dB; lower = more high-frequency energy)"),
    LevelCue("ac_alpha_ratio_mean", -0.5, 7.613, 3.501, "alpha ratio (dB, low over high band; lower = brighter)"),
    LevelCue("ac_syllable_rate", 0.5, 5.093, 0.910, "syllable rate (1/s)"),
)
LEVEL_SLOPE = 1.5  # logistic slope on the weighted mean z: +1 SD above the norms on every cue -> 0.82


def level_inputs(features: dict[str, Any]) -> dict[str, float]:
    """The arousal-level cues of one utterance, read from its acoustic features (NaN if missing).

    Pitch is taken relative to the speaker's own range within the utterance (semitones above its
    5th percentile, and the 5th-95th percentile span), so a low or a high voice is not by itself
    "aroused"; the other cues are absolute."""
    def g(k: str) -> float:
        v = features.get(k)
        return float(v) if v is not None and math.isfinite(float(v)) else math.nan

    out = {"pitch_above_floor": g("ac_f0_semitone_p50") - g("ac_f0_semitone_p5"),
           "pitch_span": g("ac_f0_semitone_p95") - g("ac_f0_semitone_p5")}
    out.update({c.key: g(c.key) for c in AROUSAL_LEVEL_CUES if c.key.startswith("ac_")})
    return out


def arousal_level(features: dict[str, Any]) -> tuple[float | None, dict[str, float]]:
    """Absolute vocal arousal of one utterance, 0-1, against population norms (no baseline needed).

    0.5 is the norm set's typical neutral speech; each cue becomes a z-score against its norm
    (clipped to ±3), their weighted mean goes through a logistic of slope 1.5. Returns the level
    (None when no cue is defined, e.g. no voiced frames) and the z-score of each cue."""
    x = level_inputs(features)
    z = {c.key: float(np.clip((x[c.key] - c.mean) / c.sd, -Z_CLIP, Z_CLIP))
         for c in AROUSAL_LEVEL_CUES if math.isfinite(x[c.key])}
    den = sum(abs(c.weight) for c in AROUSAL_LEVEL_CUES if c.key in z)
    if not den:
        return None, z
    m = sum(c.weight * z[c.key] for c in AROUSAL_LEVEL_CUES if c.key in z) / den
    return 1.0 / (1.0 + math.exp(-LEVEL_SLOPE * m)), z


RISK_CUES: tuple[Cue, ...] = (
    Cue("arousal", 0.25, "vocal arousal", "DePaulo et al. 2003 (pitch d=0.21, tension d=0.26)"),
    Cue("ac_pause_ratio", 0.15, "pausing", "Vrij 2008; DePaulo et al. 2003 (non-ah disfluency)"),
    Cue("latency_s", 0.15, "delay before answering", "Vrij 2008 (response latency in complex lies)"),
    Cue("tx_hedge_rate", 0.2, "hedging (maybe, 可能, 好像)", "Hauch et al. 2015 (tentative words)"),
    Cue("tx_certainty_rate", 0.15, "over-assurance (honestly, 说实话, 保证)", "DePaulo et al. 2003; Hauch et al. 2015"),
    Cue("tx_negation_rate", 0.1, "negation", "Newman et al. 2003; Hauch et al. 2015"),
    Cue("tx_first_singular_rate", -0.15, "self-reference (I, 我)", "Newman et al. 2003; Hauch et al. 2015 (g=-0.1)"),
    Cue("tx_distancing_rate", 0.1, "distancing (he, they, 对方)", "Newman et al. 2003"),
    Cue("tx_detail_rate", -0.2, "time, place and number detail", "Vrij 2008 (reality monitoring); Hauch et al. 2015"),
    Cue("tx_filler_rate", 0.1, "fillers (um, 嗯, 那个)", "DePaulo et al. 2003"),
    Cue("tx_self_correction_rate", 0.1, "self-correction", "DePaulo et al. 2003 (word and phrase repetitions)"),
    Cue("tx_evasion_rate", 0.3, "evasive phrasing (I don't remember, 不记得)", "Vrij 2008; lender practice"),
    Cue("tx_fraud_lexicon_score", 1.0, "lending-fraud slang (e.g. 撸口子, 包装流水)", "resources/lexicons/lending_fraud_*.tsv",
        relative=False),
)
#: Lexicon categories shown to the reviewer as "risk words" (the others are context, kept in the evidence).
RISK_WORD_GROUPS = {"fraud"}
RISK_WORD_CATEGORIES = {"hedge", "certainty", "evasion", "self_correction", "filler", "negation"}
DEFAULT_INTERCEPT = -1.6  # about 0.17 for an answer that looks exactly like the baseline
#: Cues the default model reads that are sums of exported columns (the sum itself is not exported,
#: since it would be a fixed function of its parts).
DERIVED: dict[str, tuple[str, ...]] = {
    "tx_detail_rate": ("tx_temporal_rate", "tx_spatial_rate", "tx_perceptual_rate", "tx_number_rate"),
}
#: Features used as they are by a fitted model (the lexicon of lending-fraud slang counts
#: absolutely); every other ``ac_``/``tx_`` feature and the latency enter relative to the baseline.
ABSOLUTE_PREFIXES = ("tx_fraud_",)
CONSTANT_FEATURES = frozenset(("tx_lang_zh",))


def default_model() -> dict[str, Any]:
    """The uncalibrated, literature-informed model."""
    return {"version": "default-1 (uncalibrated)", "calibrated": False, "intercept": DEFAULT_INTERCEPT,
            "weights": {c.key: c.weight for c in RISK_CUES}}


@dataclass
class Baseline:
    """Mean and spread of each cue over the baseline utterances."""

    mean: dict[str, float]
    sd: dict[str, float]

    def z(self, key: str, value: float | None) -> float:
        """Clipped z-score of a value against the baseline (0 when either is undefined)."""
        if value is None or not math.isfinite(value):
            return 0.0
        m, s = self.mean.get(key, math.nan), self.sd.get(key, math.nan)
        if not (math.isfinite(m) and math.isfinite(s)) or s <= 0:
            return 0.0
        return float(np.clip((value - m) / s, -Z_CLIP, Z_CLIP))


def _keys() -> list[str]:
    return [k for k, _ in AROUSAL_CUES] + [c.key for c in RISK_CUES if c.relative and c.key != "arousal"]


def default_baseline_indexes(utts: list[dict[str, Any]], applicant: str) -> list[int]:
    """The applicant's first answers of at least a second: the default baseline."""
    own = [i for i, u in enumerate(utts) if u["speaker"] == applicant and u["end_s"] - u["start_s"] >= BASELINE_MIN_S]
    return own[:BASELINE_DEFAULT_N]


def estimate_baseline(utts: list[dict[str, Any]], base_idx: list[int], applicant: str) -> Baseline:
    """Baseline mean and spread of each cue and of every feature a fitted model may use (spread:
    the larger of the baseline's and the whole session's sample sd over the applicant's answers;
    see the module docstring)."""
    own = [u for u in utts if u["speaker"] == applicant] or utts
    mean, sd = {}, {}
    keys = dict.fromkeys(_keys() + (model_features(own[0]) if own else []))
    for key in keys:
        b = np.array([_value(utts[i], key) for i in base_idx], dtype=float)
        a = np.array([_value(u, key) for u in own], dtype=float)
        b, a = b[np.isfinite(b)], a[np.isfinite(a)]
        mean[key] = float(np.mean(b)) if b.size else (float(np.median(a)) if a.size else math.nan)
        spread = float(np.std(b, ddof=1)) if b.size >= 3 else math.nan
        pooled = float(np.std(a, ddof=1)) if a.size >= 3 else math.nan
        finite = [x for x in (spread, pooled) if math.isfinite(x)]
        sd[key] = max(max(finite), SD_FLOOR) if finite else math.nan
    return Baseline(mean, sd)


def _value(u: dict[str, Any], key: str) -> float:
    if key in DERIVED:
        parts = [_value(u, k) for k in DERIVED[key]]
        finite = [p for p in parts if math.isfinite(p)]
        return float(sum(finite)) if finite else math.nan
    v = u.get("features", {}).get(key, u.get(key))
    return float(v) if v is not None else math.nan


def model_features(u: dict[str, Any]) -> list[str]:
    """Every feature a fitted model may use: the utterance's ``ac_*`` and ``tx_*`` features and the latency."""
    feats = u.get("features", {})
    return sorted(k for k in feats if (k.startswith(("ac_", "tx_")) and k not in CONSTANT_FEATURES)
                  or k == "latency_s")


def full_vector(u: dict[str, Any], base: "Baseline", keys: list[str]) -> np.ndarray:
    """A fitted model's inputs for one utterance: each feature as a clipped z-score against the
    baseline (0 where undefined, i.e. "like the baseline"), fraud-lexicon scores as they are."""
    out = np.zeros(len(keys))
    for j, k in enumerate(keys):
        v = _value(u, k)
        if k.startswith(ABSOLUTE_PREFIXES):
            out[j] = v if math.isfinite(v) else 0.0
        else:
            out[j] = base.z(k, v)
    return out


def cue_vector(u: dict[str, Any], base: Baseline) -> dict[str, float]:
    """The model inputs of one utterance: arousal and baseline-relative z-scores (or raw values)."""
    z = {k: base.z(k, _value(u, k)) for k, _ in AROUSAL_CUES}
    weights = sum(abs(w) for _, w in AROUSAL_CUES)
    out = {"arousal": sum(w * z[k] for k, w in AROUSAL_CUES) / weights}
    for c in RISK_CUES:
        if c.key == "arousal":
            continue
        v = _value(u, c.key)
        out[c.key] = base.z(c.key, v) if c.relative else (v if math.isfinite(v) else 0.0)
    return out


def score(u: dict[str, Any], base: Baseline, model: dict[str, Any]) -> dict[str, Any]:
    """Arousal, deception risk and the evidence behind them for one utterance."""
    x = cue_vector(u, base)
    level, level_z = arousal_level(u.get("features", u))
    if model.get("kind") == "full":
        keys = list(model["features"])
        xf = (full_vector(u, base, keys) - np.asarray(model["center"])) / np.asarray(model["scale"])
        parts = np.asarray(model["coef"]) * xf
        contrib = dict(zip(keys, map(float, parts)))
        x = {**x, **{k: float(v) for k, v in zip(keys, full_vector(u, base, keys))}}
    else:
        weights = model["weights"]
        contrib = {k: weights.get(k, 0.0) * x.get(k, 0.0) for k in weights}
    logit = model["intercept"] + sum(contrib.values())
    risk = 1.0 / (1.0 + math.exp(-logit))
    cues = {c.key: c for c in RISK_CUES}
    top = sorted((kv for kv in contrib.items() if abs(kv[1]) > 1e-9), key=lambda kv: -abs(kv[1]))[:5]
    evidence = {
        "model": model["version"], "calibrated": model.get("calibrated", False),
        "top_cues": [{"cue": k, "label": describe(cues[k], x[k]) if k in cues else _describe_feature(k, x[k]),
                      "contribution": round(c, 3),
                      "input": round(x[k], 3), "value": _round(_value(u, k)),
                      "baseline_mean": _round(base.mean.get(k))} for k, c in top],
        "arousal_parts": {k: round(base.z(k, _value(u, k)), 2) for k, _ in AROUSAL_CUES},
        "arousal_level_parts": {k: round(v, 2) for k, v in level_z.items()},
        "words": u.get("lexicon_hits", []),
        "note": "a prompt for follow-up questions, not a finding of deception",
    }
    return {"arousal": round(x["arousal"], 3), "arousal_level": None if level is None else round(level, 3),
            "deception_risk": round(risk, 4), "risk_model": model["version"],
            "evidence": evidence}


def describe(cue: Cue, x: float) -> str:
    """Plain-language reading of one cue's input, e.g. "more hedging than at baseline"."""
    if not cue.relative:
        return f"{cue.label}: {x:g}"
    return f"{'more' if x > 0 else 'less'} {cue.label} than at baseline ({x:+.1f} SD)"


def _describe_feature(key: str, x: float) -> str:
    if key.startswith(ABSOLUTE_PREFIXES):
        return f"{key}: {x:g}"
    return f"{'higher' if x > 0 else 'lower'} {key} than at baseline ({x:+.1f} SD)"


def risk_words(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lexicon hits a reviewer should see next to the risk score."""
    return [h for h in hits if h.get("group") in RISK_WORD_GROUPS or h.get("category") in RISK_WORD_CATEGORIES]


def _round(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)
