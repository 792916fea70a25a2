"""Voice analysis of a case's media: utterances, transcript, features and baseline-relative scores.

Each utterance is committed as soon as it is transcribed and measured, so a stop keeps what was
done and a rerun continues; the scores are (re)computed for the whole session at the end, and
again whenever the reviewer changes the baseline utterances. Nothing is decoded twice for that.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.core.errors import VigilError
from app.core.voice import scoring
from app.store import audit, runs
from app.store import voice as vstore
from app.store.workspace import Workspace

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class VoiceConfig:
    """Parameters of a voice run (stored with the run)."""

    language: str | None = None  # "zh", "en" or None to detect
    asr_model: str = "whisper-base"
    transcript: str | None = None  # an SRT/VTT file to use instead of speech recognition
    emotion_refused: str | None = None  # why arousal and deception risk are not scored (a compliance profile)

    def params(self) -> dict[str, Any]:
        """JSON-able parameters for the run record."""
        return {"language": self.language, "asr_model": self.asr_model, "transcript": self.transcript,
                **({"emotion_refused": self.emotion_refused} if self.emotion_refused else {})}

    def model_names(self) -> list[str]:
        """Models this configuration uses."""
        names = ["silero_vad", "speaker_encoder"]
        if not self.transcript:
            names.append("whisper_base" if self.asr_model == "whisper-base" else "whisper_tiny_en")
        return names


@dataclass
class VoiceResult:
    """Outcome of :func:`analyze_voice`."""

    run_id: int
    utterances: int
    status: str
    note: str | None = None


def _prefixed(features: dict[str, float], prefix: str) -> dict[str, float | None]:
    return {f"{prefix}{k}": (None if v is None or not math.isfinite(v) else round(float(v), 6))
            for k, v in features.items()}


def analyze_voice(ws: Workspace, case_id: int, media_id: int, path: str | Path, config: VoiceConfig | None = None,
                  progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> VoiceResult:
    """Run voice analysis on ``path`` for a case; resumes a stopped run of the same media."""
    from app.core.models import model_path, run_record

    config = config or VoiceConfig()
    for name in config.model_names():
        model_path(name)
    params = config.params()
    run = runs.latest_run(ws, media_id, params, kind="voice")
    if run is not None and run["status"] == "completed":
        return VoiceResult(run["id"], run["frames_done"], "already")
    if run is None:
        run_id = runs.start_run(ws, case_id, media_id, params, run_record(config.model_names()), __version__, "voice")
    else:
        run_id = run["id"]
        runs.set_status(ws, run_id, "running", "resumed")
    done = {u["idx"]: u for u in vstore.utterances(ws, run_id)}
    try:
        return _run(ws, run_id, path, config, done, progress, cancel)
    except BaseException as exc:
        ws.flush()
        stopped = isinstance(exc, KeyboardInterrupt)
        runs.set_status(ws, run_id, "interrupted" if stopped else "failed",
                        "stopped; run again to resume" if stopped else f"failed: {exc}")
        raise


def _run(ws: Workspace, run_id: int, path: str | Path, config: VoiceConfig, done: dict[int, dict[str, Any]],
         progress: Progress | None, cancel: Callable[[], bool] | None) -> VoiceResult:
    from app.core.voice.audio import load_audio
    from app.core.voice.turns import guess_applicant, response_latency, utterances
    from app.core.voice.vad import speech_segments

    track = load_audio(str(path))
    try:
        if not track.has_audio:
            runs.set_status(ws, run_id, "completed", "no audio track: voice timelines are empty")
            return VoiceResult(run_id, 0, "completed", "no audio track")
        utts = utterances(track, speech_segments(track))
        latency = response_latency(utts)
        rows = _measure(track, utts, latency, config, done, progress, cancel,
                        lambda batch: vstore.write_utterances_partial(ws, run_id, batch))
    finally:
        track.close()
    ws.flush()
    if cancel is not None and cancel():
        runs.set_status(ws, run_id, "interrupted", f"stopped after {len(rows)} utterances; run again to resume")
        return VoiceResult(run_id, len(rows), "interrupted")
    applicant = guess_applicant(utts, [r["text"] for r in rows]) if rows else "A"
    rescore(ws, run_id, applicant=applicant)
    note = None if rows else "no speech found"
    ws.write(lambda db: db["runs"].update(run_id, {"frames_done": len(rows)}))
    runs.set_status(ws, run_id, "completed", note)
    return VoiceResult(run_id, len(rows), "completed", note)


def _measure(track: Any, utts: list[Any], latency: list[float | None], config: VoiceConfig,
             done: dict[int, dict[str, Any]], progress: Progress | None, cancel: Callable[[], bool] | None,
             commit: Callable[[list[dict[str, Any]]], None]) -> list[dict[str, Any]]:
    """Transcribe and measure every utterance not yet stored, committing every few utterances."""
    from app.core.voice.acoustic import acoustic_features
    from app.core.voice.text import lexicon_hits, text_features

    transcribe = _transcriber(track, utts, config, done)
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for i, u in enumerate(utts):
        if cancel is not None and cancel():
            break
        if i in done:
            rows.append(done[i])
            continue
        y = track.slice(u.start, u.end)
        text, lang, words = transcribe(i, y)
        ac = acoustic_features(y, track.sr)
        tx = text_features(text, lang, duration_s=u.end - u.start, latency_s=latency[i],
                           words=[(w[0], w[1] - u.start, w[2] - u.start) for w in words] or None)
        row = {"idx": i, "start_s": round(u.start, 3), "end_s": round(u.end, 3), "speaker": u.speaker,
               "channel": u.channel, "is_applicant": 0, "is_baseline": 0, "lang": lang, "text": text,
               "words_json": json.dumps(words, ensure_ascii=False), "latency_s": latency[i],
               "acoustic_json": json.dumps(_prefixed(ac, "ac_")), "text_json": json.dumps(_prefixed(tx, "tx_")),
               "evidence_json": json.dumps({"lexicon_hits": lexicon_hits(text, lang)}, ensure_ascii=False)}
        rows.append(row)
        pending.append(row)
        if len(pending) >= 4:
            commit(pending)
            pending = []
        if progress:
            progress(i + 1, len(utts), u.end)
    if pending:
        commit(pending)
    return rows


def _transcriber(track: Any, utts: list[Any], config: VoiceConfig, done: dict[int, Any]
                 ) -> Callable[[int, Any], tuple[str, str, list[list[Any]]]]:
    """A function giving (text, language, words) of utterance ``i``, from ASR or a subtitle file.

    Speech recognition detects the language once, on the longest utterances still to do (or takes
    the stored language of a resumed run, or the forced one), then transcribes each utterance on
    its own (:func:`_transcribe_one`).
    """
    if config.transcript:
        from app.core.voice.asr import read_subtitles

        subs = read_subtitles(config.transcript)

        def from_subtitles(i: int, y: Any) -> tuple[str, str, list[list[Any]]]:
            u = utts[i]
            text = " ".join(s.text for s in subs if min(s.end, u.end) - max(s.start, u.start) > 0).strip()
            han = any("\u4e00" <= ch <= "\u9fff" for ch in text)
            return text, "zh" if han else (config.language or "en"), []

        return from_subtitles
    asr = _asr(config.asr_model)
    language = config.language or next((d["lang"] for d in done.values() if d.get("lang")), None)
    if config.asr_model.endswith(".en"):
        language = "en"
    if language is None:
        todo = sorted((i for i in range(len(utts)) if i not in done),
                      key=lambda i: utts[i].start - utts[i].end)[:3]
        sample = [track.slice(utts[i].start, utts[i].end) for i in todo]
        language = asr.detect_language(np.concatenate(sample)[: 30 * track.sr])[0] if sample else "en"

    def from_asr(i: int, y: Any) -> tuple[str, str, list[list[Any]]]:
        return _transcribe_one(asr, track, utts, i, language)

    return from_asr


CONTEXT_S = 0.3  # audio added on each side of an utterance for recognition, at most half the gap


def _transcribe_one(asr: Any, track: Any, utts: list[Any], i: int, language: str
                    ) -> tuple[str, str, list[list[Any]]]:
    """Transcribe utterance ``i`` on its own, with up to :data:`CONTEXT_S` of the audio around it
    (never more than half the gap to a neighbour, so no neighbour's speech is heard).

    One Whisper call per utterance: an answer's words can only land in that answer, and short,
    similar answers cannot prime one another into a loop, both of which happened when several
    answers were joined into one call. Word times are clamped to the utterance.
    """
    u = utts[i]
    before = CONTEXT_S if i == 0 else min(CONTEXT_S, max(0.0, u.start - utts[i - 1].end) / 2)
    after = CONTEXT_S if i + 1 == len(utts) else min(CONTEXT_S, max(0.0, utts[i + 1].start - u.end) / 2)
    lo, hi = max(0.0, u.start - before), min(track.duration_s, u.end + after)
    tr = asr.transcribe(track.slice(lo, hi), language=language)
    words = []
    for seg in tr.segments:
        for w in seg.words:
            start = min(max(lo + w.start, u.start), u.end)
            end = min(max(lo + w.end, start), u.end)
            words.append([w.text, round(start, 3), round(end, 3), round(w.prob, 3)])
    return tr.text.strip(), tr.language, words


@lru_cache(maxsize=1)
def _asr(model: str) -> Any:
    """The loaded speech model, kept for the next analysis (loading it takes a second or two)."""
    from app.core.voice.asr import Transcriber

    return Transcriber(model)


def stored_features(row: dict[str, Any]) -> dict[str, float | None]:
    """An utterance row's features as the scores use them: ``ac_*``, ``tx_*`` and ``latency_s``."""
    return {**json.loads(row["acoustic_json"] or "{}"), **json.loads(row["text_json"] or "{}"),
            "latency_s": row["latency_s"]}


def load_scoring_inputs(ws: Workspace, run_id: int, applicant: str | None = None,
                        baseline_idx: list[int] | None = None, speakers: dict[int, str] | None = None
                        ) -> tuple[list[dict[str, Any]], str, list[int], scoring.Baseline | None]:
    """A run's utterances with decoded features, the applicant, the baseline positions and statistics.

    ``baseline_idx`` names the baseline utterances by their ``idx``; without it the reviewer's marked
    ones are kept, or the default (the applicant's first answers) is used. ``speakers`` (``idx ->
    "A"/"B"``) relabels utterances before anything is chosen, as a reviewer's correction not yet
    stored. Positions index the returned list, which is in time order.
    """
    utts = []
    for r in vstore.utterances(ws, run_id):
        ev = json.loads(r["evidence_json"] or "{}")
        speaker = (speakers or {}).get(r["idx"], r["speaker"])
        utts.append({**r, "speaker": speaker, "features": stored_features(r),
                     "lexicon_hits": ev.get("lexicon_hits", [])})
    if applicant is None:
        applicant = next((u["speaker"] for u in utts if u["is_applicant"]), "A")
    if not utts:
        return utts, applicant, [], None
    if baseline_idx is None:
        marked = [k for k, u in enumerate(utts) if u["is_baseline"]]
        positions = marked or scoring.default_baseline_indexes(utts, applicant)
    else:
        wanted = set(baseline_idx)
        positions = [k for k, u in enumerate(utts) if u["idx"] in wanted]
    return utts, applicant, positions, scoring.estimate_baseline(utts, positions, applicant)


def rescore(ws: Workspace, run_id: int, applicant: str | None = None, baseline_idx: list[int] | None = None,
            speakers: dict[int, str] | None = None, entry: audit.Entry | None = None) -> None:
    """Recompute arousal and risk for a voice run (new baseline, new applicant, or a calibrated model).

    Only the applicant's utterances are scored; the other speaker's get no arousal and no risk
    (NULL in the store, empty in the exports). See :func:`load_scoring_inputs` for how the applicant and the baseline are chosen.
    ``speakers`` (a reviewer's relabelling) and the audit ``entry`` are stored in the same
    transaction as the new scores.
    """
    utts, applicant, positions, base = load_scoring_inputs(ws, run_id, applicant, baseline_idx, speakers)
    if base is None:
        if speakers or entry:
            vstore.update_scores(ws, run_id, [], speakers=speakers, entry=entry)
        return
    refused = json.loads(runs.get_run(ws, run_id)["params_json"] or "{}").get("emotion_refused")
    model = vstore.active_risk_model(ws) or scoring.default_model()
    out = []
    for k, u in enumerate(utts):
        if refused:  # a compliance profile refused emotion analysis: arousal and risk are not scored
            s = {"arousal": None, "arousal_level": None, "deception_risk": None, "risk_model": None,
                 "evidence": {"note": refused}}
        elif u["speaker"] == applicant:
            s = scoring.score(u, base, model)
        else:  # only the applicant is scored: the baseline and the model are the applicant's
            s = {"arousal": None, "arousal_level": None, "deception_risk": None, "risk_model": None,
                 "evidence": {"note": "not the applicant: not scored"}}
        s["evidence"]["lexicon_hits"] = u["lexicon_hits"]
        out.append({"idx": u["idx"], "arousal": s["arousal"], "arousal_level": s["arousal_level"],
                    "deception_risk": s["deception_risk"],
                    "risk_model": s["risk_model"], "evidence_json": json.dumps(s["evidence"], ensure_ascii=False),
                    "is_baseline": int(k in positions), "is_applicant": int(u["speaker"] == applicant)})
    vstore.update_scores(ws, run_id, out, speakers=speakers, entry=entry)


def relabel(ws: Workspace, run_id: int, speakers: dict[int, str] | None = None, applicant: str | None = None,
            baseline_idx: list[int] | None = None, actor: str = "reviewer") -> None:
    """Apply a reviewer's corrections (speaker of some utterances, who the applicant is, which
    utterances form the baseline) and recompute the scores; each change is audited."""
    run = runs.get_run(ws, run_id)
    if speakers:
        bad = {s for s in speakers.values() if s not in ("A", "B")}
        if bad:
            raise VigilError(f"speaker labels must be A or B, got {sorted(bad)}")
    if applicant is not None and applicant not in ("A", "B"):
        raise VigilError(f"the applicant must be speaker A or B, got {applicant!r}")
    entry = audit.Entry("voice.relabel", run["case_id"], {"run_id": run_id, "speakers": speakers,
                                                          "applicant": applicant, "baseline_idx": baseline_idx}, actor)
    rescore(ws, run_id, applicant=applicant, baseline_idx=baseline_idx, speakers=speakers or None, entry=entry)
