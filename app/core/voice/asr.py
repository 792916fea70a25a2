"""Speech recognition with Whisper (faster-whisper / CTranslate2, CPU), and subtitle import.

Models are local, verified folders (:mod:`app.core.voice.whisper_models`); nothing is downloaded.
Only Mandarin (``"zh"``) and English (``"en"``) are reported; Chinese is always returned in
Simplified characters. Decoding is deterministic: the same audio gives the same transcript.

Guards against Whisper's known failure modes (each one seen on our own test audio):

- **Nothing over silence or noise.** The clip is run through the Silero VAD first
  (:func:`app.core.voice.vad.clip_speech_segments`); a clip without speech gives no text, and a
  word that lies wholly outside the speech found (widened by :data:`WORD_SLACK_S`) is dropped.
  Whisper's own ``no_speech_threshold``/``log_prob_threshold`` skip is kept, and a segment that is
  one of Whisper's stock phrases (:data:`STOCK_PHRASES`, e.g. "Thanks for watching") said with
  low confidence is dropped.
- **No repetition loops.** A transcript whose text is a loop (:func:`looping`: a zlib compression
  ratio above :data:`MAX_COMPRESSION`, or a phrase repeated back to back) is decoded again, still
  at temperature 0, with ``no_repeat_ngram_size`` and ``repetition_penalty`` (:data:`NO_LOOP`);
  ``condition_on_previous_text`` is off, so a loop cannot carry into the next 30-s window.
"""

from __future__ import annotations

import html
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import MediaError, ModelError
from app.core.voice.simplified import to_simplified
from app.core.voice.vad import clip_speech_segments
from app.core.voice.whisper_models import whisper_model_dir

SAMPLE_RATE = 16000
LANGUAGES = ("zh", "en")
# Neutral on purpose: a topical prompt ("...关于贷款申请。") made Whisper loop "贷款申请" over unclear
# Mandarin in our tests, putting words in the applicant's mouth.
ZH_PROMPT = "以下是普通话的句子。"
BEAM_SIZE = 5  # beam 1 was 1.5x faster, equal on English, but CER 0.50 vs 0.46 on espeak Mandarin
# Greedy/beam decoding only, no temperature-fallback sampling: the same audio always gives the same
# transcript (re-runs must reproduce a case), and fallback at T=1.0 invented text ("我跟你订阅") on
# unclear Mandarin in our tests while giving the same CER on the rest.
TEMPERATURE = 0.0
NO_SPEECH_THRESHOLD = 0.6  # Whisper's skip of a window: no-speech probability above this ...
LOG_PROB_THRESHOLD = -1.0  # ... and a mean token log-probability below this (Whisper's defaults)
MAX_LOOP_UNITS = 40  # longest phrase looked for back to back (longer loops show in the compression)
MAX_COMPRESSION = 2.4  # Whisper's own threshold on the zlib compression ratio of a window's text
# The re-decode of a looping transcript: still beam search at temperature 0 (deterministic), but no
# 4-token sequence may occur twice and tokens already said are penalised.
NO_LOOP = {"no_repeat_ngram_size": 4, "repetition_penalty": 1.2}
WORD_SLACK_S = 0.3  # a word may reach this far outside the speech the VAD found
STOCK_PHRASES = ("thank you", "thanks for watching", "thank you for watching", "please subscribe",
                 "subtitles by the amaraorg community", "you", "bye",
                 "谢谢观看", "谢谢大家", "谢谢", "请不吝点赞订阅转发打赏支持明镜与点点栏目", "字幕由amaraorg社区提供",
                 "优优独播剧场yoyotelevisionseries出品", "中文字幕志愿者")
STOCK_MAX_PROB = 0.6  # a stock phrase is dropped when its mean word probability is below this
_STOCK = {re.sub(r"[\W_]+", "", p) for p in STOCK_PHRASES}

__all__ = ["Segment", "Transcriber", "Transcript", "Word", "join_words", "looping", "read_subtitles",
           "whisper_model_dir"]


# --------------------------------------------------------------------------- results

@dataclass
class Word:
    """One recognised word (a character or two for Chinese); times in seconds."""

    text: str
    start: float
    end: float
    prob: float


@dataclass
class Segment:
    """A stretch of text with its times in seconds; ``speaker`` is set only by subtitle import."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None


@dataclass
class Transcript:
    """Recognised speech: language ``"zh"`` or ``"en"``, its probability, and the segments.

    ``language_prob`` is Whisper's language-identification probability, or 1.0 when the caller
    forced the language.
    """

    language: str
    language_prob: float
    segments: list[Segment]

    @property
    def text(self) -> str:
        """All segment texts joined (no separator for Chinese, a space for English)."""
        return ("" if self.language == "zh" else " ").join(s.text for s in self.segments)


# --------------------------------------------------------------------------- transcriber

class Transcriber:
    """Whisper speech-to-text on the CPU, restricted to Mandarin and English.

    Parameters
    ----------
    model : str
        ``"whisper-base"`` or ``"whisper-tiny.en"``.
    compute_type : str
        CTranslate2 compute type (``"int8"`` is the fastest on CPU).
    cpu_threads : int
        Threads CTranslate2 may use.
    """

    def __init__(self, model: str = "whisper-base", compute_type: str = "int8", cpu_threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.name = model
        folder = whisper_model_dir(model)
        try:
            self.model = WhisperModel(str(folder), device="cpu", compute_type=compute_type,
                                      cpu_threads=cpu_threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load speech model {model} from {folder}: {exc}") from exc
        self.multilingual = bool(self.model.model.is_multilingual)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """``("zh" | "en", probability)`` for the first 30 s of ``audio``.

        When Whisper's best guess is another language, the more probable of zh/en is returned with
        its own probability. An English-only model always gives ``("en", 1.0)``; less than 0.1 s of
        audio gives ``("en", 0.0)``.
        """
        audio = _mono16k(audio)
        if not self.multilingual:
            return "en", 1.0
        if audio.size < SAMPLE_RATE // 10:
            return "en", 0.0  # nothing to listen to: a placeholder with no confidence
        _, _, probs = self.model.detect_language(audio)
        table = dict(probs)
        best = max(LANGUAGES, key=lambda code: table.get(code, 0.0))
        return best, float(table.get(best, 0.0))

    def transcribe(self, audio: np.ndarray, language: str | None = None,
                   initial_prompt: str | None = None) -> Transcript:
        """Transcribe 16 kHz mono float32 audio.

        Parameters
        ----------
        audio : numpy.ndarray
            Samples in [-1, 1] at 16 kHz.
        language : str or None
            ``"zh"`` or ``"en"``; ``None`` detects it (restricted to those two).
        initial_prompt : str or None
            Prompt text; for Mandarin a Simplified-Chinese prompt is used when none is given.

        Returns
        -------
        Transcript
            Segments with word timings; Chinese converted to Simplified characters.
        """
        audio = _mono16k(audio)
        if language is None:
            language, prob = self.detect_language(audio)
        else:
            prob = 1.0
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
        if language != "en" and not self.multilingual:
            raise ModelError(f"speech model {self.name} is English-only; use whisper-base for Mandarin")
        if language == "zh" and initial_prompt is None:
            initial_prompt = ZH_PROMPT
        speech = clip_speech_segments(audio) if audio.size else []
        if not speech:
            return Transcript(language, prob, [])  # silence or noise: nothing to write down
        kwargs: dict[str, Any] = {"language": language} if self.multilingual else {}
        segments = self._decode(audio, initial_prompt, kwargs)
        if looping(" ".join(s.text for s in segments), language):
            segments = self._decode(audio, initial_prompt, {**kwargs, **NO_LOOP})
        kept = [_inside(s, speech, language) for s in segments if not _echo(s.text, initial_prompt)]
        return Transcript(language, prob, [s for s in kept if s is not None])

    def _decode(self, audio: np.ndarray, prompt: str | None, kwargs: dict[str, Any]) -> list[Segment]:
        """One deterministic Whisper pass; Whisper's no-speech skip on, stock phrases said with low
        confidence dropped."""
        raw, _ = self.model.transcribe(audio, beam_size=BEAM_SIZE, temperature=TEMPERATURE, word_timestamps=True,
                                       vad_filter=False, initial_prompt=prompt, condition_on_previous_text=False,
                                       no_speech_threshold=NO_SPEECH_THRESHOLD, log_prob_threshold=LOG_PROB_THRESHOLD,
                                       compression_ratio_threshold=MAX_COMPRESSION, **kwargs)
        return [s for s in map(_segment, raw) if s.text and not _stock_phrase(s)]

    def transcribe_utterances(self, track_slices: list[np.ndarray], language: str | None = None,
                              detect_on: int = 3) -> list[Transcript]:
        """Transcribe each utterance; the language is detected once, then forced.

        Parameters
        ----------
        track_slices : list of numpy.ndarray
            One 16 kHz mono float32 array per utterance; times in the results are relative to each.
        language : str or None
            Force ``"zh"`` or ``"en"``; ``None`` detects it on the ``detect_on`` longest utterances
            joined (up to 30 s).
        detect_on : int
            How many of the longest utterances the detection listens to.

        Returns
        -------
        list of Transcript
            One per input utterance, in order, all with the same language.
        """
        slices = [_mono16k(a) for a in track_slices]
        prob = 1.0
        if language is None and slices:
            longest = sorted(slices, key=len, reverse=True)[:max(1, detect_on)]
            language, prob = self.detect_language(np.concatenate(longest)[: 30 * SAMPLE_RATE])
        results = []
        for a in slices:
            t = self.transcribe(a, language=language or "en")
            results.append(Transcript(t.language, prob, t.segments))
        return results


def _mono16k(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples at 16 kHz, got shape {a.shape}")
    return np.ascontiguousarray(a)


def _units(text: str, language: str) -> list[str]:
    """Text as the units a loop repeats: Han characters and Latin words, lower case, no punctuation."""
    return re.findall(r"[\u3400-\u9fff]|[^\W_]+" if language == "zh" else r"[^\W_]+(?:'[^\W_]+)?", text.lower())


def _longest_repeat(units: list[str]) -> tuple[int, int]:
    """``(n, times)`` of the back-to-back repetition covering most units: ``units[i:i+n]`` said
    ``times`` times in a row, ``n`` up to :data:`MAX_LOOP_UNITS`. ``(0, 1)`` when nothing repeats."""
    best = (0, 1)
    for n in range(1, min(len(units) // 2, MAX_LOOP_UNITS) + 1):
        i = 0
        while i + 2 * n <= len(units):
            times = 1
            while units[i + times * n:i + (times + 1) * n] == units[i:i + n]:
                times += 1
            if times > 1 and n * times > best[0] * best[1]:
                best = (n, times)
            i += max(1, (times - 1) * n) if times > 1 else 1
    return best


def looping(text: str, language: str) -> bool:
    """Whether a transcript reads as a Whisper repetition loop.

    True when the UTF-8 text compresses by zlib more than :data:`MAX_COMPRESSION` times (Whisper's
    own test; it needs about 30 characters to say anything), or when a phrase comes back to back:
    one of at least 4 Han characters or 4 English words said twice in a row ("我想申请贷款我想申请
    贷款"), or anything said three times in a row that covers at least 8 units ("the word back
    say the word back say the word back"). Short genuine repeats ("no no no", "对对对",
    "I don't know, I don't know") are not loops.
    """
    raw = text.encode("utf-8")
    if len(raw) >= 30 and len(raw) / len(zlib.compress(raw)) > MAX_COMPRESSION:
        return True
    n, times = _longest_repeat(_units(text, language))
    return (times >= 2 and n >= 4) or (times >= 3 and n * times >= 8)


def join_words(words: list[str], language: str) -> str:
    """Words back into text: no spaces in Chinese; in English none before a word piece that
    continues the previous word ("ill" + "-disposed", "don" + "'t") or before punctuation."""
    if language == "zh":
        return "".join(words).strip()
    out = ""
    for w in words:
        out += w if (not out or w[:1] in "-'’,.;:?!%)") else " " + w
    return out.strip()


def _inside(seg: Segment, speech: list[tuple[float, float]], language: str) -> Segment | None:
    """``seg`` without the words that lie wholly outside the speech the VAD found (``None`` when no
    word is left); the text is rebuilt from the words kept when any was dropped."""
    if not seg.words:
        return seg
    keep = [w for w in seg.words
            if any(w.end > a - WORD_SLACK_S and w.start < b + WORD_SLACK_S for a, b in speech)]
    if not keep:
        return None
    if len(keep) == len(seg.words):
        return seg
    return Segment(keep[0].start, keep[-1].end, join_words([w.text for w in keep], language), keep, seg.speaker)


def _stock_phrase(seg: Segment) -> bool:
    """A stock phrase Whisper writes over silence and noise, said with low confidence."""
    core = re.sub(r"[\W_]+", "", seg.text.lower())
    probs = [w.prob for w in seg.words]
    return core in _STOCK and (not probs or float(np.mean(probs)) < STOCK_MAX_PROB)


def _echo(text: str, prompt: str | None) -> bool:
    """True if a segment merely repeats (part of) the prompt, a known Whisper hallucination."""
    core = re.sub(r"[\W_]+", "", text.lower())
    return prompt is not None and len(core) >= 4 and core in re.sub(r"[\W_]+", "", prompt.lower())


def _segment(seg: Any) -> Segment:
    """faster-whisper segment -> :class:`Segment` (Chinese always in Simplified characters)."""
    words = [Word(to_simplified(w.word.strip()), float(w.start), float(w.end), float(w.probability))
             for w in (seg.words or []) if w.word.strip()]
    return Segment(float(seg.start), float(seg.end), to_simplified(seg.text.strip()), words)


# --------------------------------------------------------------------------- subtitles

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _seconds(h: str | None, m: str, s: str, frac: str | None) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + (int(frac.ljust(3, "0")) / 1000 if frac else 0.0)


def _join(lines: list[str]) -> str:
    """Join cue lines: nothing between Chinese characters, a space otherwise."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if line:
            glue = "" if not out or (_CJK.match(out[-1]) and _CJK.match(line[0])) else " "
            out += glue + line
    return out


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read subtitle file ({exc.strerror or exc})") from exc
    for enc in ("utf-8-sig", "utf-16", "gb18030"):
        if enc == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise MediaError(f"{path.name}: subtitle file is not UTF-8, UTF-16 or GB18030 text")


def read_subtitles(path: str | os.PathLike[str]) -> list[Segment]:
    """Read an SRT or WebVTT file (as exported by Zoom, Teams or Tencent Meeting).

    Handles a byte-order mark, CRLF line ends, cue identifiers, cue settings, multi-line cues,
    VTT timestamps without hours, ``NOTE``/``STYLE``/``REGION`` blocks, formatting tags and
    ``<v Speaker>`` voice tags (kept in :attr:`Segment.speaker`).

    Written here rather than taken from a library, for a measured reason (a Teams-style VTT with
    a non-numeric cue identifier, a ``NOTE`` block between cues, ``&amp;`` and a malformed timing
    line ``00:07.000 --> soon``): pysubs2 1.8.1 appended the ``NOTE`` block and the next cue's
    identifier to the previous cue's text, took the malformed timing line as text, and left
    ``&amp;`` escaped; webvtt-py 0.6.0 read the cues and voices right but dropped the malformed
    cue without a word and also left ``&amp;``. A transcript that silently loses or gains words is
    worse than a clear error, so a malformed file is refused here with its line number.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.srt`` or ``.vtt`` file.

    Returns
    -------
    list of Segment
        Cues in file order, without word timings.

    Raises
    ------
    MediaError
        The file cannot be read, has no cues, or has a cue whose timing line is malformed.
    """
    p = Path(path)
    text = _decode(p).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    vtt = text.lstrip().startswith("WEBVTT")
    if p.suffix.lower() == ".vtt" and not vtt:
        raise MediaError(f"{p.name}: not a WebVTT file (it does not start with 'WEBVTT')")
    cues: list[Segment] = []
    line_no = 1
    for block in re.split(r"\n[ \t]*\n", text):
        start_line, line_no = line_no, line_no + block.count("\n") + 2
        start_line += len(block) - len(block.lstrip("\n"))
        lines = block.strip("\n").split("\n")
        if not block.strip() or (vtt and lines[0].split(maxsplit=1)[0] in ("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        at = next((i for i, ln in enumerate(lines[:3]) if "-->" in ln), None)
        if at is None:
            raise MediaError(f"{p.name}: line {start_line}: expected a cue timing line "
                             "like '00:00:01,000 --> 00:00:04,000'")
        m = _TIMING.match(lines[at])
        if m is None:
            raise MediaError(f"{p.name}: line {start_line + at}: malformed cue timing '{lines[at].strip()[:60]}'")
        start, end = _seconds(*m.groups()[:4]), _seconds(*m.groups()[4:])
        if end < start:
            raise MediaError(f"{p.name}: line {start_line + at}: cue ends before it starts")
        body = lines[at + 1:]
        voice = next((v.group(1).strip() for v in map(_VOICE.search, body) if v), None)
        clean = [_TAG.sub("", ln) for ln in body]
        cue_text = _join([html.unescape(ln) if vtt else ln for ln in clean])
        cues.append(Segment(start, end, cue_text, [], voice))
    if not cues:
        raise MediaError(f"{p.name}: no subtitle cues found; expected an SRT or WebVTT file")
    return cues
