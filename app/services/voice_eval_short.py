"""Real English speech as short answers (1-4 s), for multi-answer sessions of ``vigil bench --voice``.

The held-out failure shape is a session of many short answers separated by short pauses (words
moved into the neighbouring answer, loops, empty answers). Synthetic voices only partly stand in
for it (espeak-ng's word confusions dominate its WER), so these sessions are made of real people's
speech that Debian's ``pocketsphinx-testdata`` (BSD-2, CMU) installs with its own transcripts:

- **LibriVox short answers** (:data:`LIBRIVOX_CUTS`): the five *Sense and Sensibility* clips (one
  reader) cut into 12 phrases of 0.9-3.9 s. The words of each phrase are the corpus transcript's,
  split where the clip is cut; no recogniser's word timing is the reference. Each cut was placed
  on the quietest 10-ms frame of a pause between words found by frame energy (every cut is within
  :data:`CUT_MAX_DB` of the clip's noise floor; ``tests/test_voice_short_answers.py`` checks it),
  and accepted only where beam-10 decodes of each phrase alone (Whisper-base and Whisper-tiny.en)
  put no word of the neighbouring phrase in it and one of them starts and ends with the words the
  split gives it. A cut at 4.78 s in clip 0870 (a stop closure) failed that way: both models heard
  "be" at the start of the right phrase, so the cut moved to the next pause (4.95 s), where
  tiny.en hears both phrases exactly.
  Cuts that fell inside a word (dash|wood, self|ish) were rejected that way. The interior words
  are the corpus's even where Whisper disagrees ("ill disposed", heard as "old-sposed").
- **CMU short answers** (:data:`CMU_ANSWERS`): five playing-card utterances ("ten of clubs", ...,
  1.1-3.5 s) with the corpus's ``cards.transcription``, and "go forward ten meters" (2.8 s; the
  sentence its grammar ``goforward.gram`` and pocketsphinx's own tests expect). Several speakers.

Each set is joined with 1.5 s of silence (as the held-out check) and with 0.8 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 16000
POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
PAUSES_S = (1.5, 0.8)  # silence between answers: the held-out check's, and a faster talker's
CUT_MAX_DB = 6.0  # a cut lies on a 10-ms frame at most this far above the clip's noise floor
#: ``(LibriVox clip number, [(start_s, end_s or None for the clip's end, words), ...])``; the
#: phrases of one clip, joined by spaces, are exactly its line in ``librivox/transcription``.
LIBRIVOX_CUTS: tuple[tuple[str, tuple[tuple[float, float | None, str], ...]], ...] = (
    ("0870", ((0.0, 2.93, "and mister john dashwood had then leisure to"),
              (2.93, 4.95, "consider how much there might be"),
              (4.95, None, "prudently in his power to do for them"))),
    ("0880", ((0.0, 0.89, "he was not"), (0.89, None, "an ill disposed young man"))),
    ("0890", ((0.0, 1.31, "unless to be rather"), (1.31, 3.88, "cold hearted and rather selfish is"),
              (3.88, None, "to be ill disposed"))),
    ("0920", ((0.0, 3.85, "had he married a more a amiable woman he might have been made"),
              (3.85, None, "still more respectable than he was"))),
    ("0930", ((0.0, 1.10, "he might even have"), (1.10, None, "been made amiable himself"))),
)
#: ``(file under the data folder, words)``: whole utterances with the corpus's own transcripts.
CMU_ANSWERS: tuple[tuple[str, str], ...] = (
    ("cards/001.wav", "ten of clubs"), ("cards/002.wav", "four queen of clubs"),
    ("cards/003.wav", "seven of clubs"), ("cards/004.wav", "five five"),
    ("cards/005.wav", "eight of spades four of clubs seven of hearts"),
    ("goforward.raw", "go forward ten meters"),
)


def _read(path: Path) -> np.ndarray:
    """16 kHz mono float32 samples of a corpus file (``.raw``: headerless 16-bit little-endian)."""
    import soundfile as sf

    if path.suffix == ".raw":
        return (np.fromfile(str(path), "<i2").astype(np.float32) / 32768.0)
    y, sr = sf.read(str(path), dtype="float32")
    if sr != SR:
        raise RuntimeError(f"{path.name} is {sr} Hz, expected {SR}")
    return y.mean(axis=1) if y.ndim > 1 else y


def frame_db(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Energy of each 10-ms frame in dB, and the clip's noise floor (its 5th percentile)."""
    n = len(y) // 160
    e = 10 * np.log10(np.mean(y[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-10)
    return e, float(np.percentile(e, 5))


def librivox_short_answers(folder: Path = POCKETSPHINX_DATA / "librivox"
                           ) -> list[tuple[str, np.ndarray, str]]:
    """``(name, audio, words)`` of the LibriVox phrases in clip order (empty if not installed)."""
    out: list[tuple[str, np.ndarray, str]] = []
    for clip, cuts in LIBRIVOX_CUTS:
        path = folder / f"sense_and_sensibility_01_austen_64kb-{clip}.wav"
        if not path.is_file():
            return []
        y = _read(path)
        for k, (a, b, words) in enumerate(cuts):
            out.append((f"{clip}.{k}", y[int(round(a * SR)):len(y) if b is None else int(round(b * SR))], words))
    return out


def cmu_short_answers(folder: Path = POCKETSPHINX_DATA) -> list[tuple[str, np.ndarray, str]]:
    """``(name, audio, words)`` of the CMU utterances (empty if not installed)."""
    paths = [folder / f for f, _ in CMU_ANSWERS]
    if not all(p.is_file() for p in paths):
        return []
    return [(p.stem, _read(p), words) for p, (_, words) in zip(paths, CMU_ANSWERS)]
