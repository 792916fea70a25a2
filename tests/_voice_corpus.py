"""A small speech corpus for the voice feature tests, built from media a test machine can hold.

* LibriVox read speech (Debian's pocketsphinx-testdata, public domain): the five clips with their
  transcripts, and 2-s windows of them (1-s hop; acoustic only, no transcript).
* ``tests/data/voice_answers.tsv``: mock loan-interview answers in English and Mandarin (written
  for the tests), rendered by espeak-ng with a voice, pitch, speed and amplitude that vary with
  the row, so the acoustic features vary too.

Word timings for the text features' timing block come from Whisper (the app's own transcriber)
on each utterance's audio; the transcript itself is the written text.
"""

from __future__ import annotations

import csv
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from tests.conftest import LIBRIVOX

SR = 16000
ANSWERS = Path(__file__).parent / "data" / "voice_answers.tsv"
EN_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-us+f3", "en-gb+m4", "en-029", "en-us+f5")
ZH_VOICES = ("cmn", "cmn+f3", "cmn+m5", "cmn+f4")


def _read(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(SR), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0


def _transcripts() -> dict[str, str]:
    out = {}
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, fid = line.rpartition("(")
        out[fid.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return out


def answers() -> list[tuple[str, str]]:
    """``(lang, text)`` rows of the mock interview answers."""
    rows = [r for r in csv.reader((ln for ln in ANSWERS.read_text(encoding="utf-8").splitlines()
                                   if ln and not ln.startswith("#")), delimiter="\t")]
    return [(r[0], r[1]) for r in rows]


def build(folder: Path) -> list[dict]:
    """Utterances as dicts with ``audio`` (float32, 16 kHz), ``text`` (None for windows), ``lang``, ``source``."""
    utts = []
    texts = _transcripts()
    for wav in sorted(LIBRIVOX.glob("*.wav")):
        y = _read(wav)
        utts.append({"audio": y, "text": texts.get(wav.stem, ""), "lang": "en", "source": f"librivox:{wav.stem}"})
        for k, start in enumerate(range(0, max(1, len(y) - 2 * SR + 1), SR)):
            utts.append({"audio": y[start:start + 2 * SR], "text": None, "lang": "en",
                         "source": f"librivox:{wav.stem}@{k}s"})
    for i, (lang, text) in enumerate(answers()):
        voices = EN_VOICES if lang == "en" else ZH_VOICES
        wav = folder / f"answer{i:02d}.wav"
        args = ["espeak-ng", "-v", voices[i % len(voices)], "-p", str(30 + (i * 17) % 50),
                "-s", str(130 + (i * 23) % 70), "-a", str(60 + (i * 31) % 120), "-w", str(wav), text]
        subprocess.run(args, check=True, capture_output=True)
        utts.append({"audio": _read(wav), "text": text, "lang": lang, "source": f"espeak:{' '.join(args[1:9])}"})
    return utts


WORDS = Path(__file__).parent / "data" / "voice_answers_words.json"


def asr_words() -> dict[str, list[list]]:
    """Whisper word timings of the corpus utterances, by ``source`` (``tests/data/voice_answers_words.json``).

    Whisper-base on these clips takes minutes on a laptop CPU, so its output is kept as test input;
    ``python -m tests._voice_corpus`` writes it again (espeak-ng renders the same audio every time)."""
    import json

    return json.loads(WORDS.read_text(encoding="utf-8"))


def text_samples(utts: list[dict], n_combined: int = 240, seed: int = 0) -> list[dict]:
    """Transcripts for the text features: every utterance with a text, plus answers of one language
    joined two or three at a time (their audio durations added, word times shifted). Three in four
    of the joined ones get one or two clauses built from terms of the repository's lexicons
    (deception, lending fraud) and discourse word classes, so that the rarer categories occur often
    enough to measure."""
    from app.core.voice import _lexicon
    from app.core.voice._text_discourse import WORDS_FILE

    words = asr_words()
    base = []
    for u in utts:
        if u["text"] is None:
            continue
        base.append({"text": u["text"], "lang": u["lang"], "duration_s": len(u["audio"]) / SR,
                     "words": [tuple(w) for w in words.get(u["source"], [])] or None})
    rng = np.random.default_rng(seed)
    terms = {lang: [e.term for e in _lexicon.entries(lang) if not e.term.startswith("re:")] for lang in ("zh", "en")}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            _, lang, ws = line.split("\t")
            terms[lang] += ws.split("|")
    out = list(base)
    for k in range(n_combined):
        lang = ("zh", "en")[k % 2]
        pool = [b for b in base if b["lang"] == lang]
        parts = [pool[i] for i in rng.choice(len(pool), size=int(rng.integers(2, 4)), replace=False)]
        text, dur, wlist = "", 0.0, []
        for p in parts:
            text += p["text"] + ("" if lang == "zh" else " ")
            wlist += [(w[0], w[1] + dur, w[2] + dur) for w in p["words"] or []]
            dur += p["duration_s"]
        for _ in range(int(rng.integers(1, 3)) if k % 4 else 0):
            term = terms[lang][int(rng.integers(len(terms[lang])))]
            text += f"还有{term}，对吧？" if lang == "zh" and rng.random() < 0.3 else (
                f"我说{term}。" if lang == "zh" else f"And {term}, right?" if rng.random() < 0.3 else f"So {term}.")
        out.append({"text": text.strip(), "lang": lang, "duration_s": dur, "words": wlist or None})
    return out


@lru_cache(maxsize=1)
def feature_rows() -> tuple[tuple[dict, ...], tuple[dict, ...], tuple[str, ...], tuple[str, ...]]:
    """``(acoustic, text, voices, langs)``, computed once per test session: acoustic features of every
    utterance (:func:`build`) with its voice (``librivox`` or the espeak-ng voice), and text features
    of every :func:`text_samples` entry with its language."""
    import shutil
    import tempfile

    from app.core.voice.acoustic import acoustic_features
    from app.core.voice.text import text_features
    from tests.conftest import unavailable

    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            unavailable(f"needs {tool} (Debian package; `make test` installs it)")
    if not LIBRIVOX.is_dir():
        unavailable("needs Debian's pocketsphinx-testdata (LibriVox speech); `make test` installs it")
    with tempfile.TemporaryDirectory() as tmp:
        utts = build(Path(tmp))
    acoustic = tuple(acoustic_features(u["audio"], SR) for u in utts)
    text = tuple(text_features(t["text"], t["lang"], duration_s=t["duration_s"], words=t["words"],
                               latency_s=0.2 + 0.15 * (k % 11)) for k, t in enumerate(text_samples(utts)))
    voices = tuple("librivox" if u["source"].startswith("librivox") else u["source"].split()[1] for u in utts)
    samples = text_samples(utts)
    return acoustic, text, voices, tuple(t["lang"] for t in samples)


if __name__ == "__main__":
    import json
    import tempfile

    from app.services.voice import _asr

    with tempfile.TemporaryDirectory() as tmp:
        corpus = build(Path(tmp))
        asr = _asr("whisper-base")
        out = {}
        for u in corpus:
            if u["text"] is not None:
                tr = asr.transcribe(u["audio"], language=u["lang"])
                out[u["source"]] = [[w.text, round(w.start, 2), round(w.end, 2)] for s in tr.segments for w in s.words]
        WORDS.write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
