"""Speech recognition with Whisper (faster-whisper / CTranslate2, CPU), and subtitle import.

Models are local, verified folders (:mod:`app.core.voice.whisper_models`); nothing is downloaded.
Only Mandarin (``"zh"``) and English (``"en"``) are reported; Chinese is always returned in
Simplified characters. Decoding is deterministic: the same audio gives the same transcript.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import MediaError, ModelError
from app.core.voice.whisper_models import whisper_model_dir

SAMPLE_RATE = 16000
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LANGUAGES = ("zh", "en")
# Neutral on purpose: a topical prompt ("...关于贷款申请。") made Whisper loop "贷款申请" over unclear
# Mandarin in our tests, putting words in the applicant's mouth.
ZH_PROMPT = "以下是普通话的句子。"
BEAM_SIZE = 5  # beam 1 was 1.5x faster, equal on English, but CER 0.50 vs 0.46 on espeak Mandarin
# Greedy/beam decoding only, no temperature-fallback sampling: the same audio always gives the same
# transcript (re-runs must reproduce a case), and fallback at T=1.0 invented text ("我跟你订阅") on
# unclear Mandarin in our tests while giving the same CER on the rest.
TEMPERATURE = 0.0

__all__ = ["Segment", "Transcriber", "Transcript", "Word", "read_subtitles", "whisper_model_dir"]


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


def _simplified(text: str) -> str:
    """``text`` with any Chinese characters in their Simplified (mainland) form."""
    if not _HAN.search(text):
        return text
    import zhconv

    return zhconv.convert(text, "zh-cn")


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
        if audio.size == 0:
            return Transcript(language, prob, [])
        kwargs: dict[str, Any] = {"language": language} if self.multilingual else {}
        raw, _ = self.model.transcribe(audio, beam_size=BEAM_SIZE, temperature=TEMPERATURE, word_timestamps=True,
                                       vad_filter=False, initial_prompt=initial_prompt, **kwargs)
        segments = [_segment(s) for s in raw]
        return Transcript(language, prob, [s for s in segments if s.text and not _echo(s.text, initial_prompt)])

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


def _echo(text: str, prompt: str | None) -> bool:
    """True if a segment merely repeats (part of) the prompt, a known Whisper hallucination."""
    core = re.sub(r"[\W_]+", "", text.lower())
    return prompt is not None and len(core) >= 4 and core in re.sub(r"[\W_]+", "", prompt.lower())


def _segment(seg: Any) -> Segment:
    """faster-whisper segment -> :class:`Segment` (Chinese always in Simplified characters)."""
    words = [Word(_simplified(w.word.strip()), float(w.start), float(w.end), float(w.probability))
             for w in (seg.words or []) if w.word.strip()]
    return Segment(float(seg.start), float(seg.end), _simplified(seg.text.strip()), words)


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
