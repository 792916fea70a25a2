"""Plain-language sentences for the evidence behind the forgery cues and the voice-risk indicator.

The one place that knows what each evidence key means to a risk officer. :data:`FORGERY` lists, per
cue, sentence templates (English ``N_`` literals with named placeholders, translated with ``tr`` when
shown) and the evidence keys each one reads; the norms quoted come from the cue modules' own
constants, so a re-tuned threshold reads the same here. :data:`VOICE` does the same for the inputs
of the deception-risk model (``app.core.voice.scoring.RISK_CUES``).

A key that no template reads falls back to a readable label and its value (never the raw key); the
GUI tests collect the keys the cues really store and fail on any without a template, so a new key
gets its sentence. Keys in :data:`HIDDEN` are deliberately not sentences (see there).

Output is ``(template, values)`` pairs: the template already translated, each value a display string
or, for frame lists, a list of frame numbers that the HTML layer turns into seek links.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.forensics.cues import avsync, blink, freq, sbi, temporal
from app.ui.i18n import N_, tr

Sentence = tuple[str, dict[str, Any]]
#: Not sentences: ``frames`` is the window's first and last frame (shown as the window's evidence
#: frames under the cues), ``s_*`` are sub-scores already folded into the cue's score.
HIDDEN = frozenset({"frames"})
HIDDEN_PREFIX = "s_"
SKIP: dict[str, Any] = {"": "skip"}  # from a line's values: its keys are read, but it says nothing
# Head-pose reference (real-face level, clearly anomalous level) in degrees: the same numbers as
# app.core.forensics.cues.headpose.REFERENCE (a test checks), kept here because that module
# imports OpenCV, which must not load with the UI.
HEADPOSE_REFERENCE = (3.0, 6.0)


# -- number formatting ------------------------------------------------------------------------------
def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def sig(v: float, n: int = 2) -> str:
    """``v`` to ``n`` significant digits, without exponent (0.00206 -> "0.0021", 12.3 -> "12")."""
    if not math.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    digits = max(0, n - 1 - math.floor(math.log10(abs(v))))
    return f"{v:.{digits}f}"


def plain(v: float) -> str:
    """A threshold as written by hand: 0.3, 4, 12 (no trailing zeros)."""
    return f"{v:g}"


def pct(p: float) -> str:
    """A 0..1 share as a percentage number (no % sign): 0.96 -> "96", 0.012 -> "1.2", 0.0004 -> "0.04"."""
    x = 100.0 * p
    if not math.isfinite(x):
        return "–"
    return f"{x:.0f}" if x >= 10 or x == 0 else sig(x, 2)


def fixed(v: float, digits: int = 1) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else "–"


def signed(v: float, digits: int = 1) -> str:
    return f"{v:+.{digits}f}" if math.isfinite(v) else "–"


def secs(v: float) -> str:
    return fixed(v, 1)


# -- the forgery table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One sentence: the evidence ``keys`` it reads, its ``template`` and the placeholder ``values``.

    ``values(ev)`` returns the placeholder texts, ``SKIP`` (the keys are accounted for, nothing to
    say, e.g. a corrected value equal to the raw one) or None (this line does not apply: the keys
    stay for a later line).
    """

    keys: tuple[str, ...]
    template: str
    values: Callable[[dict[str, Any]], dict[str, Any] | None]


def _finite(ev: dict[str, Any], *keys: str) -> bool:
    return all(math.isfinite(_f(ev.get(k))) for k in keys)


def _frames_based(template: str) -> Line:
    return Line(("n_frames",), template, lambda ev: {"n": int(_f(ev["n_frames"]))} if _finite(ev, "n_frames") else None)


def _links(template: str) -> Line:
    def values(ev: dict[str, Any]) -> dict[str, Any] | None:
        frames = [int(f) for f in ev.get("evidence_frames") or [] if math.isfinite(_f(f))]
        return {"frames": frames[:6]} if frames else SKIP
    return Line(("evidence_frames",), template, values)


def _lag_line(template: str, after: bool) -> Line:
    def values(ev: dict[str, Any]) -> dict[str, Any] | None:
        r, lag = _f(ev["r"]), _f(ev["lag_s"])
        if not (math.isfinite(r) and math.isfinite(lag)) or (lag >= 0) != after:
            return None
        return {"r": fixed(r, 2), "lag": fixed(abs(lag), 2), "ok": plain(avsync.R_OK), "none": plain(avsync.R_NONE)}
    return Line(("r", "lag_s"), template, values)


def _r_effective(ev: dict[str, Any]) -> dict[str, Any] | None:
    r, lag = _f(ev["r_effective"]), _f(ev.get("lag_s"))
    if not math.isfinite(r) or not math.isfinite(lag) or abs(lag) <= avsync.LAG_OK_S:
        return SKIP  # no correction applied: the effective correlation is the one already shown
    return {"r": fixed(r, 2), "lag_ok": plain(avsync.LAG_OK_S)}


def _temporal(key: str, scale: float) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    ref, high = temporal.REFERENCE[key]
    return lambda ev: ({"value": sig(scale * _f(ev[key])), "ref": plain(scale * ref), "high": plain(scale * high)}
                       if _finite(ev, key) else None)


def _blink_rate(ev: dict[str, Any]) -> dict[str, Any] | None:
    if not _finite(ev, "n_blinks", "open_s", "rate_per_min"):
        return None
    return {"n": int(_f(ev["n_blinks"])), "open": secs(_f(ev["open_s"])), "rate": fixed(_f(ev["rate_per_min"]), 1),
            "low": plain(blink.NORM_LOW_PER_MIN)}


def _blink_span(ev: dict[str, Any]) -> dict[str, Any] | None:
    ctx = ev.get("context")
    if not _finite(ev, "span_s") or not (isinstance(ctx, (list, tuple)) and len(ctx) == 2):
        return None
    return {"span": secs(_f(ev["span_s"])), "start": secs(_f(ctx[0])), "end": secs(_f(ctx[1])),
            "min": plain(blink.MIN_SPAN_S)}


def _blink_short(ev: dict[str, Any]) -> dict[str, Any] | None:
    if not _finite(ev, "abstain_short_s", "span_s"):
        return None
    return {"span": secs(_f(ev["span_s"])), "min": plain(_f(ev["abstain_short_s"]))}


def _blink_duration(ev: dict[str, Any]) -> dict[str, Any] | None:
    if not _finite(ev, "median_duration_s"):
        return SKIP  # no blink to time
    ref, high = blink.DURATION_REF
    return {"ms": f"{1000 * _f(ev['median_duration_s']):.0f}", "ref": f"{1000 * ref:.0f}", "high": f"{1000 * high:.0f}"}


def _headpose(ev: dict[str, Any]) -> dict[str, Any] | None:
    if not _finite(ev, "angle_deg", "angle_p90"):
        return None
    ref, high = HEADPOSE_REFERENCE
    return {"angle": fixed(_f(ev["angle_deg"])), "p90": fixed(_f(ev["angle_p90"])), "ref": plain(ref),
            "high": plain(high)}


def _px(key: str, ref_high: tuple[float, float], digits: int = 2) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    return lambda ev: ({"value": fixed(_f(ev[key]), digits), "ref": fixed(ref_high[0], digits),
                        "high": fixed(ref_high[1], digits)} if _finite(ev, key) else None)


def _sharp(ev: dict[str, Any]) -> dict[str, Any] | None:
    # px_sharp is the natural log of (fine detail inside the face / just outside it); the cue scores
    # its negative (blur) against freq.REFERENCE["blur"]: shown as plain ratios.
    if not _finite(ev, "px_sharp"):
        return None
    ref, high = freq.REFERENCE["blur"]
    return {"ratio": sig(math.exp(_f(ev["px_sharp"]))), "ref": sig(math.exp(-ref)), "high": sig(math.exp(-high))}


def _sbi(ev: dict[str, Any]) -> dict[str, Any] | None:
    if not _finite(ev, "px_sbi"):
        return None
    return {"p": pct(_f(ev["px_sbi"])), "ref": pct(sbi.REF), "high": pct(sbi.HIGH)}


FORGERY: dict[str, tuple[Line, ...]] = {
    "temporal": (
        Line(("lm_jitter",), N_("Face landmarks jitter by {value}% of the eye distance between frames, after head "
                                "movement is taken out (real faces: up to {ref}%; clearly abnormal: {high}%)."),
             _temporal("lm_jitter", 100.0)),
        Line(("bs_jitter",), N_("Expression readings jump by {value}% of their range between frames "
                                "(real faces: up to {ref}%; clearly abnormal: {high}%)."),
             _temporal("bs_jitter", 100.0)),
        Line(("shape_drift",), N_("Face proportions differ by {value}% from the rest of the interview "
                                  "(real faces: up to {ref}%; clearly abnormal: {high}%)."),
             _temporal("shape_drift", 100.0)),
        _frames_based(N_("Based on {n} frames.")),
    ),
    "blink": (
        Line(("abstain_short_s",), N_("Only {span} s of visible face here: a blink rate needs at least {min} s, so "
                                      "the blink check abstains."), _blink_short),
        Line(("n_blinks", "open_s", "rate_per_min"),
             N_("{n} blinks in {open} s with the eyes open: {rate} per minute (people blink about 17 times a "
                "minute at rest and 26 in conversation; under {low} is unusual)."), _blink_rate),
        Line(("n_blinks", "open_s"), N_("{n} blinks in {open} s with the eyes open."),
             lambda ev: {"n": int(_f(ev["n_blinks"])), "open": secs(_f(ev["open_s"]))}
             if _finite(ev, "n_blinks", "open_s") else None),
        Line(("p_low_rate",), N_("Even at the lowest normal blink rate, this few blinks would happen {p}% of the "
                                 "time (under 10% is suspicious, under 1% strongly so)."),
             lambda ev: {"p": pct(_f(ev["p_low_rate"]))} if _finite(ev, "p_low_rate") else None),
        Line(("median_duration_s",), N_("A typical blink lasts {ms} ms (normal: up to {ref} ms; clearly too slow: "
                                        "{high} ms)."), _blink_duration),
        Line(("span_s", "context"), N_("Judged on {span} s of visible face between {start} s and {end} s (a blink rate "
                                       "needs at least {min} s)."), _blink_span),
    ),
    "headpose": (
        Line(("angle_deg", "angle_p90"),
             N_("The eyes, nose and mouth point {angle}° away from the rest of the head (median; 90% of frames "
                "under {p90}°). Real faces: up to {ref}°; clearly abnormal: {high}°."), _headpose),
        Line(("translation_rel",), N_("The head positions estimated from the inner face and from the whole face "
                                      "differ by {value}% of the distance to the camera."),
             lambda ev: {"value": pct(_f(ev["translation_rel"]))} if _finite(ev, "translation_rel") else None),
        _frames_based(N_("Based on {n} frames.")),
    ),
    "avsync": (
        Line(("r", "lag_s", "r_effective", "n_pairs"),
             N_("Too little of the applicant's own speech here to compare with the mouth."),
             lambda ev: None if _finite(ev, "r") else {}),
        _lag_line(N_("Mouth opening and speech loudness move together with correlation {r}, best with the sound "
                     "{lag} s after the mouth (a speaking face reaches about {ok}; {none} or less means no link)."),
                  after=True),
        _lag_line(N_("Mouth opening and speech loudness move together with correlation {r}, best with the sound "
                     "{lag} s before the mouth (a speaking face reaches about {ok}; {none} or less means no link)."),
                  after=False),
        Line(("r_effective",), N_("The sound is more than {lag_ok} s off the mouth, so the correlation counts half: "
                                  "{r}."), _r_effective),
        Line(("n_pairs",), N_("Based on {n} frames of the applicant's speech."),
             lambda ev: {"n": int(_f(ev["n_pairs"]))} if _finite(ev, "n_pairs") else None),
    ),
    "sbi": (
        Line(("px_sbi",), N_("The blending detector gives a median {p}% chance that the face was pasted in "
                             "(untouched faces: under {ref}%; clearly abnormal: {high}%)."), _sbi),
        _links(N_("Frames the detector rates highest: {frames}.")),
        _frames_based(N_("Based on {n} sampled frames.")),
    ),
    "freq": (
        Line(("px_block",), N_("JPEG block pattern inside the face, beyond the rest of the frame: {value} "
                               "(untouched faces: up to {ref}; clearly abnormal: {high})."),
             _px("px_block", freq.REFERENCE["block"])),
        Line(("px_sharp",), N_("The face has {ratio} times the fine detail of the area just around it (untouched "
                               "faces: at least {ref} times; clearly abnormal: {high} times)."), _sharp),
        Line(("px_spec",), N_("Excess high-frequency energy in the face (log scale): {value} (untouched faces: up "
                              "to {ref}; clearly abnormal: {high})."), _px("px_spec", freq.REFERENCE["spectrum"])),
        _links(N_("Frames with the strongest block pattern: {frames}.")),
        _frames_based(N_("Based on {n} sampled frames.")),
    ),
}
NOTHING = N_("Nothing was measured in this window.")

# -- why no forgery cue ran -------------------------------------------------------------------------
#: Per quality-gate reason (``app.core.face.quality``, its text up to " ("): why no cue could run.
NO_CUE: dict[str, str] = {
    "no face found": N_("no face was found here, so no forgery cue could run."),
    "face too small": N_("the face is only {h} px high here (the cues need {need} px), too small for them to run."),
    "face blurred": N_("the face is too blurred here for the cues to run."),
    "head turned away": N_("the head is turned too far from the camera here for the cues to run."),
    "head tilted up or down": N_("the head is tilted too far up or down here for the cues to run."),
}
NO_ANALYSIS = N_("no forgery analysis covers this time.")
TOO_FEW = N_("too few frames with a usable face in this span for the cues to measure.")
_NUMBERS = re.compile(r"\((\d+) px high, needs (\d+)\)")


def no_cue_sentence(reason: str | None, quality_reasons: dict[str, Any]) -> str:
    """Why no forgery cue scored a span, as a translated sentence (to follow "Insufficient evidence: ").

    ``reason`` is the forgery part's own (``app.services._explain``), ``quality_reasons`` the quality
    gate's reasons in the span with their frame counts: the commonest one names the cause.
    """
    if reason == "no forgery analysis covers this time":
        return tr(NO_ANALYSIS)
    counts: dict[str, float] = {}
    for text, n in (quality_reasons or {}).items():
        if text:
            counts[str(text).split(" (")[0]] = counts.get(str(text).split(" (")[0], 0.0) + _f(n)
    if not counts:
        return tr(TOO_FEW)
    top = max(counts, key=lambda k: counts[k])
    if top not in NO_CUE:
        return tr(TOO_FEW)
    if top == "face too small":  # the commonest size reading, e.g. "face too small (25 px high, needs 60)"
        texts = sorted((t for t in quality_reasons if _NUMBERS.search(str(t))), key=lambda t: -_f(quality_reasons[t]))
        h, need = _NUMBERS.search(str(texts[0])).groups() if texts else ("–", "60")  # type: ignore[union-attr]
        return tr(NO_CUE[top]).format(h=h, need=need)
    return tr(NO_CUE[top])


FALLBACK = N_("{label}: {value}.")


def readable(key: str) -> str:
    """A readable label for an evidence key that has no sentence yet: "px_sharp" -> "sharp"."""
    words = [w for w in key.split("_") if w not in ("px", "tx", "ac", "")]
    unit = {"s": "(s)", "deg": "(°)", "rel": "(relative)"}.get(words[-1]) if words else None
    if unit:
        words[-1] = unit
    return " ".join(words) or key


def _fallback_value(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float)):
        return sig(float(v), 3) if isinstance(v, float) else str(v)
    text = str(v)
    return text if len(text) <= 40 else text[:39] + "…"


def template_keys(cue: str) -> set[str]:
    """Every evidence key the table has a sentence for (or deliberately hides) for ``cue``."""
    return {k for line in FORGERY.get(cue, ()) for k in line.keys}


def is_hidden(key: str) -> bool:
    return key in HIDDEN or key.startswith(HIDDEN_PREFIX)


def forgery_sentences(cue: str, ev: Any) -> list[Sentence]:
    """The sentences for one cue's evidence dict, in table order, then any unknown keys."""
    if not isinstance(ev, dict):
        return [] if ev in (None, "") else [(tr(FALLBACK), {"label": tr("Evidence"), "value": _fallback_value(ev)})]
    left = {k for k in ev if not is_hidden(k)}
    out: list[Sentence] = []
    for line in FORGERY.get(cue, ()):
        if not all(k in left for k in line.keys):
            continue
        try:
            values = line.values(ev)
        except (TypeError, ValueError, KeyError):
            values = None  # malformed stored evidence: the key falls back to label and value
        if values is None:
            continue
        left.difference_update(line.keys)
        if values is not SKIP:
            out.append((tr(line.template), values))
    for k in ev:  # keys without a template: a readable label, never the raw key
        if k in left and not (isinstance(ev[k], float) and not math.isfinite(ev[k])) and ev[k] is not None:
            out.append((tr(FALLBACK), {"label": readable(k), "value": _fallback_value(ev[k])}))
    return out


def fusion_sentence(forgery: dict[str, Any], label: Callable[[str], str]) -> Sentence | None:
    """What carries the fused probability (``carried_by`` / ``prior`` of the explanation): the cue
    adding the most log-odds, or, when no cue finds anything, the prior. ``label`` names a cue.
    None for runs fused by the former rule (no ``prior``)."""
    if forgery.get("prior") is None or forgery.get("probability") is None:
        return None
    name = forgery.get("carried_by")
    if not name:
        return (tr(N_("No cue finds anything here: the probability is the fusion's prior of {prior}%.")),
                {"prior": pct(_f(forgery["prior"]))})
    add = _f(((forgery.get("cues") or {}).get(name) or {}).get("contribution"))
    if name == "integrity" and not math.isfinite(add):  # the file-level cue's share sits with its record
        add = _f((forgery.get("integrity") or {}).get("contribution"))
    return (tr(N_("Carried by {cue}: it adds {add} to the log-odds of forgery; "
                  "cues that find nothing neither add nor subtract.")),
            {"cue": label(str(name)), "add": fixed(add, 2)})


# -- the voice-risk table ---------------------------------------------------------------------------
#: Plain labels of the risk model's word cues (app.core.voice.scoring.RISK_CUES), used in the sentences.
CUE_TEXT = {
    "tx_hedge_rate": N_("hedging (maybe, 可能, 好像)"),
    "tx_certainty_rate": N_("over-assurance (honestly, 说实话, 保证)"),
    "tx_negation_rate": N_("negation"), "tx_first_singular_rate": N_("self-reference (I, 我)"),
    "tx_distancing_rate": N_("distancing (he, they, 对方)"), "tx_detail_rate": N_("time, place and number detail"),
    "tx_filler_rate": N_("fillers (um, 嗯, 那个)"), "tx_self_correction_rate": N_("self-correction"),
    "tx_evasion_rate": N_("evasive phrasing (I don't remember, 不记得)"),
    "tx_fraud_lexicon_score": N_("lending-fraud slang (e.g. 撸口子, 包装流水)"),
}
_MORE, _LESS = N_("{label}: more often than at baseline ({detail})."), N_("{label}: less often than at baseline ({detail}).")
#: Per risk-model input: (sentence when above the baseline, when below, unit of value and baseline).
VOICE: dict[str, tuple[str, str, str]] = {
    "arousal": (N_("Voice more aroused than at baseline: higher, louder or faster ({detail})."),
                N_("Voice calmer than at baseline ({detail})."), "sd"),
    "ac_pause_ratio": (N_("Paused more than at baseline ({detail})."), N_("Paused less than at baseline ({detail})."),
                       "share"),
    "latency_s": (N_("Took longer to start answering than at baseline ({detail})."),
                  N_("Started answering sooner than at baseline ({detail})."), "s"),
    "tx_fraud_lexicon_score": (N_("Used {label}: score {value}, counted as is, not against the baseline."),
                               N_("Used {label}: score {value}, counted as is, not against the baseline."), "raw"),
    **{k: (_MORE, _LESS, "count" if k.endswith("_count") else "per100")
       for k in CUE_TEXT if k != "tx_fraud_lexicon_score"},
}
_DETAIL = {
    "per100": N_("{value} vs {baseline} per 100 words, {z} SD"),
    "count": N_("{value} vs {baseline} times, {z} SD"),
    "s": N_("{value} s vs {baseline} s, {z} SD"),
    "share": N_("silent {value}% of the time vs {baseline}%, {z} SD"),
}
_DETAIL_Z = N_("{z} SD")
_UNKNOWN_VOICE = N_("{label}: {z} SD from baseline.")


def voice_sentence(cue: dict[str, Any]) -> str:
    """One top cue of the risk model (``evidence["top_cues"]`` item) as a translated sentence."""
    key, z = str(cue.get("cue") or ""), _f(cue.get("input"))
    value, base = _f(cue.get("value")), _f(cue.get("baseline_mean"))
    label = tr(CUE_TEXT.get(key, "")) if key in CUE_TEXT else readable(key)
    if key not in VOICE:
        return tr(_UNKNOWN_VOICE).format(label=label, z=signed(z))
    more, less, unit = VOICE[key]
    if unit == "raw":
        return tr(more).format(label=label, value=sig(_f(cue.get("input")), 2))
    if unit in _DETAIL and math.isfinite(value) and math.isfinite(base):
        scale = 100.0 if unit == "share" else 1.0
        shown = (lambda v: fixed(scale * v, 0)) if unit == "share" else \
            (lambda v: fixed(v, 2)) if unit == "s" else (lambda v: fixed(v, 1))
        detail = tr(_DETAIL[unit]).format(value=shown(value), baseline=shown(base), z=signed(z))
    else:
        detail = tr(_DETAIL_Z).format(z=signed(z))
    text = tr(more if z > 0 else less).format(label=label, detail=detail)
    return text[:1].upper() + text[1:]  # the label may open the sentence
