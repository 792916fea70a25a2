"""A synthetic case that looks like a real analysis, for benchmarks and demos (nothing is decoded).

:func:`build_synthetic_case` writes a case of any length (an hour by default, at 30 fps): face rows
for every frame, utterances with transcripts, voice scores, forgery windows and a session result,
through the same store functions the analysis uses, so the review window cannot tell it from a
real case. The per-frame series are generated the way the pipeline would measure them: smooth
random raw features (MediaPipe blendshapes and mesh geometry, with episodes of smiling, frowning,
brow raising, blinks, and jaw movement while the applicant speaks) are turned into AU intensities
and expression probabilities by the real AU and fusion code, and the voice scores come from the
real text features and scoring against a baseline. So re-scoring with a reviewer's baseline works
on a synthetic case too. The media row points at a generated file of the same length
(:mod:`app.services._synthetic_media`): a moving test picture and a hum during each utterance.

``vigil bench --gui`` uses it to measure that a one-hour case opens in under 2 s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.core.analysers.au import AU_NAMES, LATERAL_AUS, RAW_NAMES, intensities
from app.core.analysers.baseline import estimate_baseline, norms
from app.core.face.blink import blink_mask
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS
from app.core.errors import VigilError
from app.services import _synthetic_text as lines
from app.store import forgery as fstore
from app.store import runs
from app.store import voice as vstore
from app.store.workspace import Workspace

BATCH_ROWS = 4000
WINDOW_S = 2.0
CUES = ("temporal", "blink", "headpose", "avsync", "sbi", "freq")
_RI = {n: i for i, n in enumerate(RAW_NAMES)}


def _smooth(rng: np.random.Generator, n: int, tau_frames: float) -> np.ndarray:
    """Unit-variance noise low-passed with time constant ``tau_frames`` (a smooth random walk)."""
    from scipy.signal import lfilter

    a = math.exp(-1.0 / max(tau_frames, 1.0))
    x = lfilter([1.0 - a], [1.0, -a], rng.normal(size=n))
    x = lfilter([1.0 - a], [1.0, -a], x[::-1])[::-1]  # forward-backward: no lag, smoother
    return (x / (x.std() or 1.0)).astype(np.float64)


def _episodes(rng: np.random.Generator, n: int, fps: float, tau_s: float, share: float) -> np.ndarray:
    """0..1 activity that is on about ``share`` of the time, in smooth episodes of ~``tau_s``."""
    x = _smooth(rng, n, tau_s * fps)
    thr = float(np.quantile(x, 1.0 - share))
    return np.clip((x - thr) / 0.8, 0.0, 1.0)


def _schedule(rng: np.random.Generator, duration_s: float) -> list[dict[str, Any]]:
    """Question/answer turns: interviewer "A", applicant "B"; about one utterance every 6 s."""
    out: list[dict[str, Any]] = []
    t, k = rng.uniform(0.5, 1.5), 0
    while True:
        zh = rng.random() < 0.2
        q_text = str(rng.choice(lines.QUESTIONS_ZH if zh else lines.QUESTIONS_EN))
        q_len = rng.uniform(1.6, 3.2)
        latency = rng.gamma(2.0, 0.45) + 0.25
        a_text = str(rng.choice(lines.ANSWERS_ZH if zh else lines.ANSWERS_EN))
        a_len = float(np.clip(0.07 * len(a_text) * (3.0 if zh else 1.0) + rng.normal(0, 0.6), 1.2, 9.0))
        if t + q_len + latency + a_len > duration_s - 0.5:
            return out
        lang = "zh" if zh else "en"
        out.append({"idx": k, "start_s": t, "end_s": t + q_len, "speaker": "A", "text": q_text, "lang": lang,
                    "latency_s": None})
        a0 = t + q_len + latency
        out.append({"idx": k + 1, "start_s": a0, "end_s": a0 + a_len, "speaker": "B", "text": a_text, "lang": lang,
                    "latency_s": latency})
        k += 2
        t = a0 + a_len + rng.uniform(0.6, 2.2)


def _speaking(t: np.ndarray, utts: list[dict[str, Any]], speaker: str) -> np.ndarray:
    """Boolean mask of the frame times inside ``speaker``'s utterances."""
    starts = np.array([u["start_s"] for u in utts if u["speaker"] == speaker])
    ends = np.array([u["end_s"] for u in utts if u["speaker"] == speaker])
    if not len(starts):
        return np.zeros(len(t), dtype=bool)
    k = np.searchsorted(starts, t, side="right") - 1
    return (k >= 0) & (t < ends[np.clip(k, 0, None)])


def _raw_features(rng: np.random.Generator, t: np.ndarray, fps: float, talking: np.ndarray) -> np.ndarray:
    """(N, len(RAW_NAMES)) blendshapes and geometry with expression episodes, blinks and speech."""
    n = len(t)
    raw = np.zeros((n, len(RAW_NAMES)), dtype=np.float32)
    nb = RAW_NAMES.index("g_inner_brow_L")
    raw[:, 1:nb] = np.clip(0.02 + 0.01 * rng.normal(size=(n, nb - 1)), 0, 1)  # idle blendshape noise
    smile = _episodes(rng, n, fps, 4.0, 0.15)
    frown = _episodes(rng, n, fps, 3.0, 0.06)
    brows = _episodes(rng, n, fps, 1.5, 0.10)
    press = _episodes(rng, n, fps, 2.0, 0.08)
    sneer = _episodes(rng, n, fps, 1.0, 0.02)
    squint = np.clip(0.6 * smile + 0.4 * _episodes(rng, n, fps, 2.0, 0.05), 0, 1)
    syll = 0.5 + 0.5 * np.sin(2 * np.pi * 3.7 * t + 2.0 * _smooth(rng, n, fps))
    jaw = np.where(talking, 0.1 + 0.35 * syll, 0.0)
    # Blinks: about 17 a minute, 130-250 ms each, both eyes.
    blink = np.zeros(n)
    for s in np.flatnonzero(rng.random(n) < 17.0 / 60.0 / fps):
        blink[s:s + max(2, int(rng.uniform(0.13, 0.25) * fps))] = 0.9
    for side in ("Left", "Right"):
        raw[:, _RI[f"mouthSmile{side}"]] = 0.05 + 0.85 * smile
        raw[:, _RI[f"eyeSquint{side}"]] = 0.15 + 0.6 * squint
        raw[:, _RI[f"mouthFrown{side}"]] = 0.6 * frown
        raw[:, _RI[f"browDown{side}"]] = 0.03 + 0.5 * frown
        raw[:, _RI[f"browOuterUp{side}"]] = 0.05 + 0.7 * brows
        raw[:, _RI[f"mouthPress{side}"]] = 0.03 + 0.6 * press
        raw[:, _RI[f"noseSneer{side}"]] = 0.6 * sneer
        raw[:, _RI[f"eyeBlink{side}"]] = 0.08 + blink
        raw[:, _RI[f"mouthLowerDown{side}"]] = 0.5 * jaw
    raw[:, _RI["browInnerUp"]] = 0.04 + 0.6 * brows + 0.2 * frown
    raw[:, _RI["jawOpen"]] = 0.02 + jaw
    nm = norms()  # geometry starts at the population's neutral face
    g = {k: np.full(n, nm.mean[_RI[k]]) for k in RAW_NAMES if k.startswith("g_")}
    for s, side in (("L", "Left"), ("R", "Right")):
        g[f"g_eye_open_{s}"] *= 1.0 - 0.85 * np.clip(blink, 0, 1) - 0.2 * squint
        g[f"g_inner_brow_{s}"] += 0.05 * brows - 0.035 * frown
        g[f"g_outer_brow_{s}"] += 0.05 * brows
        g[f"g_corner_up_{s}"] += 0.08 * smile - 0.04 * frown
        g[f"g_corner_nose_{s}"] += 0.08 * smile - 0.04 * frown
        g[f"g_half_width_{s}"] += 0.05 * smile
        g[f"g_lower_lid_{s}"] += 0.015 * squint
    g["g_mouth_width"] += 0.10 * smile
    g["g_lip_gap"] += 0.25 * jaw
    g["g_jaw"] += 0.25 * jaw
    g["g_brow_gap"] -= 0.03 * frown
    g["g_lip_thickness"] -= 0.03 * press
    for k, v in g.items():
        raw[:, _RI[k]] = v + 0.002 * rng.normal(size=n)
    return np.clip(raw, -5, 5)


def _cnn(rng: np.random.Generator, n: int, fps: float, raw: np.ndarray) -> np.ndarray:
    """(N, 7) CNN-like class probabilities (FER order): mostly neutral, happier while smiling."""
    logits = np.stack([0.6 * _smooth(rng, n, 2.0 * fps) for _ in CNN_NAMES], axis=1)
    logits[:, CNN_NAMES.index("cnn_neutral")] += 1.5
    logits[:, CNN_NAMES.index("cnn_happiness")] += 3.0 * raw[:, _RI["mouthSmileLeft"]]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _quality(rng: np.random.Generator, n: int, fps: float) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """present, usable and reason per frame: a few stretches without a face or turned away."""
    present = np.ones(n, dtype=bool)
    usable = np.ones(n, dtype=bool)
    reason: list[str | None] = [None] * n
    minutes = max(1, int(n / fps / 60))
    for _ in range(max(1, minutes // 3)):
        a = int(rng.integers(0, max(1, n - 1)))
        b = min(n, a + int(rng.uniform(0.5, 4.0) * fps))
        if rng.random() < 0.4:
            present[a:b] = usable[a:b] = False
            reason[a:b] = ["no face found"] * (b - a)
        else:
            usable[a:b] = False
            yaw = rng.uniform(38, 60) * rng.choice([-1, 1])
            reason[a:b] = [f"head turned away (yaw {yaw:+.0f} deg)"] * (b - a)
    return present, usable, reason


def _cue_scores(rng: np.random.Generator, w_mid: np.ndarray, speaking_share: np.ndarray,
                usable_share: np.ndarray, duration_s: float) -> dict[str, np.ndarray]:
    """Per-window cue scores in 0..1: low, with one suspicious stretch; NaN without evidence."""
    nw = len(w_mid)
    start = 0.55 * duration_s
    hot = np.exp(-0.5 * ((w_mid - (start + 45.0)) / 25.0) ** 2)  # about a minute and a half
    out = {}
    for name, base, gain in (("temporal", 0.08, 0.75), ("blink", 0.05, 0.2), ("headpose", 0.06, 0.6),
                             ("avsync", 0.12, 0.7), ("sbi", 0.1, 0.6), ("freq", 0.08, 0.3)):
        x = base * np.exp(0.6 * _smooth(rng, nw, 8.0)) + gain * hot
        s = np.clip(x, 0.0, 0.98)
        s[usable_share < 0.5] = np.nan
        if name == "avsync":
            s[speaking_share < 0.3] = np.nan  # only scored where the applicant speaks
        out[name] = s
    return out


def _forgery(rng: np.random.Generator, t: np.ndarray, usable: np.ndarray, talking: np.ndarray,
             duration_s: float) -> tuple[dict[str, np.ndarray], np.ndarray, list[dict[str, Any]], dict[str, Any]]:
    """Per-frame cue and fused columns, window rows and the session result, fused by the real code."""
    from app.core.forensics.cues.base import CueResult, nan_mean
    from app.core.forensics.cues.fusion import DEFAULT_WEIGHTS, combine, fuse

    nw = max(1, int(math.ceil(duration_s / WINDOW_S)))
    starts = np.arange(nw) * WINDOW_S
    ends = np.minimum(starts + WINDOW_S, duration_s)
    widx = np.minimum((t // WINDOW_S).astype(np.int64), nw - 1)
    counts = np.maximum(np.bincount(widx, minlength=nw), 1)
    usable_share = np.bincount(widx, weights=usable, minlength=nw) / counts
    speaking_share = np.bincount(widx, weights=talking & usable, minlength=nw) / counts
    scores = _cue_scores(rng, 0.5 * (starts + ends), speaking_share, usable_share, duration_s)
    results = []
    for name in CUES:
        # the counts each real cue reports: frames, frames of speech (avsync), blinks in open-eye time
        n = np.round(usable_share * counts).astype(int)
        if name == "blink":
            open_s = n * (duration_s / max(len(t), 1))
            ev = [{"n_blinks": int(round(o * 17.0 / 60.0)), "open_s": round(float(o), 1)} for o in open_s]
        else:
            key = "n_pairs" if name == "avsync" else "n_frames"
            ev = [{key: int(v)} for v in n]
        results.append(CueResult(name, starts, ends, scores[name], ev, nan_mean(scores[name])))
    fused = fuse(results, DEFAULT_WEIGHTS)
    per_frame = {name: np.where(usable, scores[name][widx], np.nan) for name in CUES}
    prob = np.where(usable, fused.probability[widx], np.nan)
    windows = []
    for k in range(nw):
        p = float(fused.probability[k])
        cues = {c.name: {"score": None if not math.isfinite(c.score[k]) else round(float(c.score[k]), 4),
                         "evidence": c.evidence[k]} for c in results}
        windows.append({"start_s": round(float(starts[k]), 3), "end_s": round(float(ends[k]), 3),
                        "probability": round(p, 4) if math.isfinite(p) else None,
                        "cues_json": json.dumps({"contributions": fused.contributions[k], "cues": cues})})
    session_cues = {c.name: c.session_score for c in results}
    sp, contrib = combine(session_cues, DEFAULT_WEIGHTS)
    session = {"probability": round(sp, 4) if math.isfinite(sp) else None,
               "cues": {k: (round(v, 4) if math.isfinite(v) else None) for k, v in session_cues.items()},
               "contributions": contrib, "integrity": None}
    return per_frame, prob, windows, session


def _frame_rows(rng: np.random.Generator, t: np.ndarray, fps: float, width: int, height: int,
                talking: np.ndarray, duration_s: float
                ) -> tuple[Callable[[int, int], list[dict[str, Any]]], list[dict[str, Any]], dict[str, Any]]:
    """Frame rows as the pipeline writes them once finalised (a function giving rows ``k0:k1``),
    the forgery windows and the session result."""
    from app.core.analysers.expression import fuse as fuse_expression

    n = len(t)
    present, usable, reason = _quality(rng, n, fps)
    raw = _raw_features(rng, t, fps, talking)
    au, asym = intensities(raw, estimate_baseline(raw[usable] if usable.any() else raw, float(t[-1] - t[0])))
    cnn = _cnn(rng, n, fps, raw)
    expr = fuse_expression(cnn, au, asym)
    closure = np.where(usable, (raw[:, _RI["eyeBlinkLeft"]] + raw[:, _RI["eyeBlinkRight"]]) / 2.0, np.nan)
    blinks = blink_mask(closure, t)
    cues, prob, windows, session = _forgery(rng, t, usable, talking, duration_s)
    yaw, pitch, roll = (6.0 * _smooth(rng, n, 3 * fps), 4.0 * _smooth(rng, n, 3 * fps), 2.5 * _smooth(rng, n, 4 * fps))
    fh = height * (0.62 + 0.03 * _smooth(rng, n, 20 * fps))
    fw = fh * 0.8
    fx = width * 0.5 - fw / 2 + width * 0.03 * _smooth(rng, n, 10 * fps)
    fy = height * 0.42 - fh / 2 + height * 0.02 * _smooth(rng, n, 10 * fps)
    sharp = 120 + 25 * _smooth(rng, n, fps)
    num_cols = (["t_sec", "face_x", "face_y", "face_w", "face_h", "sharpness", "yaw", "pitch", "roll"]
                + list(AU_NAMES) + [f"{a}_asym" for a in LATERAL_AUS] + list(EXPRESSIONS) + list(CNN_NAMES)
                + ["forgery"] + [f"fg_{c}" for c in CUES])
    block = np.column_stack([t, fx, fy, fw, fh, sharp, yaw, pitch, roll, au, asym, expr, cnn, prob]
                            + [cues[c] for c in CUES])
    nf = 9  # leading columns kept for any present face; the scores only where usable
    block[~usable, nf:] = np.nan
    block = np.round(block, 4)
    block[:, 0] = np.round(t, 6)
    raw32 = raw.astype(np.float32)

    def rows(k0: int, k1: int) -> list[dict[str, Any]]:
        # Rows are built one batch at a time: an hour of dicts at once would take a gigabyte.
        out: list[dict[str, Any]] = []
        for i, vals in enumerate(block[k0:k1].tolist(), start=k0):
            if not present[i]:
                out.append({"frame": i, "t_sec": vals[0], "track": -1, "face": 0, "present": 0, "usable": 0,
                            "reason": reason[i]})
                continue
            r = dict(zip(num_cols, vals))
            r.update(frame=i, track=0, face=0, present=1, usable=int(usable[i]), reason=reason[i] or "",
                     blink=int(blinks[i]) if usable[i] else None, raw=raw32[i].tobytes())
            out.append(r)
        return out

    return rows, windows, session


def _acoustic(rng: np.random.Generator, u: dict[str, Any], hits: list[dict[str, Any]]) -> dict[str, float]:
    """Voice features of one utterance: speaker-typical values, raised a little with risky wording."""
    b = u["speaker"] == "B"
    lift = 0.6 * sum(1 for h in hits if h["group"] == "fraud" or h["category"] in ("evasion", "certainty"))
    return {
        "ac_f0_semitone_mean": (23.0 if b else 17.0) + rng.normal(0, 0.8) + 0.8 * lift,
        "ac_f0_semitone_sd": (3.0 if b else 2.2) + abs(rng.normal(0, 0.4)) + 0.3 * lift,
        "ac_loudness_mean": (0.9 if b else 1.1) + rng.normal(0, 0.08) + 0.08 * lift,
        "ac_loudness_sd": 0.35 + abs(rng.normal(0, 0.05)),
        "ac_alpha_ratio_mean": -12.0 + rng.normal(0, 1.0) + 0.8 * lift,
        "ac_hammarberg_mean": 20.0 + rng.normal(0, 1.5) - 1.0 * lift,
        "ac_syllable_rate": 4.2 + rng.normal(0, 0.4),
        "ac_pause_ratio": float(np.clip(0.2 + rng.normal(0, 0.06) + 0.05 * lift, 0.0, 0.9)),
    }


def _utterance_rows(rng: np.random.Generator, utts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored utterance rows with word timings, real text features and lexicon evidence."""
    from app.core.voice.text import lexicon_hits, text_features

    hits_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
    rows = []
    for u in utts:
        key = (u["text"], u["lang"])
        if key not in hits_cache:
            hits_cache[key] = lexicon_hits(*key)
        hits = hits_cache[key]
        toks = u["text"].split() if u["lang"] == "en" else [u["text"][i:i + 2] for i in range(0, len(u["text"]), 2)]
        step = (u["end_s"] - u["start_s"]) / max(len(toks), 1)
        words = [[w, round(u["start_s"] + k * step, 3), round(u["start_s"] + (k + 0.9) * step, 3), 0.95]
                 for k, w in enumerate(toks)]
        tx = text_features(u["text"], u["lang"], duration_s=u["end_s"] - u["start_s"], latency_s=u["latency_s"],
                           words=[(w[0], w[1] - u["start_s"], w[2] - u["start_s"]) for w in words])
        ac = _acoustic(rng, u, hits)
        rows.append({
            "idx": u["idx"], "start_s": round(u["start_s"], 3), "end_s": round(u["end_s"], 3),
            "speaker": u["speaker"], "channel": 0, "is_applicant": int(u["speaker"] == "B"), "is_baseline": 0,
            "lang": u["lang"], "text": u["text"], "words_json": json.dumps(words, ensure_ascii=False),
            "latency_s": None if u["latency_s"] is None else round(u["latency_s"], 3),
            "acoustic_json": json.dumps({k: round(float(v), 6) for k, v in ac.items()}),
            "text_json": json.dumps({f"tx_{k}": (round(v, 6) if math.isfinite(v) else None) for k, v in tx.items()}),
            "evidence_json": json.dumps({"lexicon_hits": hits}, ensure_ascii=False)})
    return rows


def build_synthetic_case(ws: Workspace, duration_s: float = 3600.0, fps: float = 30.0, seed: int = 0,
                         name: str | None = None) -> int:
    """Write a synthetic, fully "analysed" case into ``ws`` and return its id.

    Parameters
    ----------
    ws : the workspace (its folder also receives the generated recording, under
        ``synthetic_media/``, reused when it already exists).
    duration_s : length of the case in seconds (one hour by default).
    fps : frame rate; the case has ``round(duration_s * fps)`` frames.
    seed : makes the case reproducible; different seeds give different cases.
    name : case name (default "Synthetic interview <minutes> min #<seed>").

    Returns
    -------
    int
        The case id. The case has a completed video run (face 0 on every frame, no meshes), a
        completed voice run (about one utterance per 6 s, applicant "B"), forgery windows and a
        session result.
    """
    from app.core.forensics.cues.fusion import DEFAULT_WEIGHTS
    from app.core.media import probe
    from app.services._synthetic_media import write_clip
    from app.services.voice import rescore

    if not (duration_s >= 5.0 and 1.0 <= fps <= 120.0):
        raise VigilError(f"a synthetic case needs at least 5 s at 1-120 fps (got {duration_s} s at {fps} fps)")
    rng = np.random.default_rng(seed)
    utts = _schedule(rng, duration_s)
    clip = ws.path.parent / "synthetic_media" / f"synthetic_{seed}_{int(duration_s)}s_{fps:g}fps.mp4"
    if not clip.is_file():
        spans = [(u["start_s"], u["end_s"], 120.0 if u["speaker"] == "A" else 190.0) for u in utts]
        write_clip(Path(clip), duration_s, fps, spans, seed)
    info = probe(str(clip))
    case_id = ws.create_case(name or f"Synthetic interview {duration_s / 60:.0f} min #{seed}", f"SYN-{seed:04d}")
    media_id = ws.add_media(case_id, info.to_dict())
    n = int(round(duration_s * fps))
    t = np.arange(n) / fps
    talking = _speaking(t, utts, "B")
    rows, windows, session = _frame_rows(rng, t, fps, info.width, info.height, talking, duration_s)
    params = {"synthetic": True, "seed": seed, "duration_s": duration_s, "fps": fps}
    video_run = runs.start_run(ws, case_id, media_id, params, [], __version__, "video")
    for k in range(0, n, BATCH_ROWS):
        batch = rows(k, min(n, k + BATCH_ROWS))
        runs.write_batch(ws, video_run, batch, [], batch[-1]["frame"], k + len(batch))
    fstore.write_windows(ws, video_run, 0, windows)
    ws.flush()
    fstore.write_session(ws, video_run, 0, session["probability"], None, session, dict(DEFAULT_WEIGHTS))
    runs.set_status(ws, video_run, "completed", "synthetic case")
    voice_run = runs.start_run(ws, case_id, media_id, params, [], __version__, "voice")
    vstore.write_utterances(ws, voice_run, _utterance_rows(rng, utts))
    rescore(ws, voice_run, applicant="B")
    ws.write(lambda db: db["runs"].update(voice_run, {"frames_done": len(utts)}))
    runs.set_status(ws, voice_run, "completed", "synthetic case")
    ws.audit("case.synthetic", case_id, {"duration_s": duration_s, "fps": fps, "seed": seed})
    ws.flush()
    return case_id
