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
- **Asterisk short answers** (:data:`ASTERISK_ANSWERS`): 14 telephone-system prompts (1.2-2.8 s,
  78 words) recorded by one professional voice (Allison Smith; CC-BY-SA-3.0), from Debian's
  ``asterisk-core-sounds-en-g722`` (16-kHz wideband G.722), with the prompt texts that
  ``asterisk-core-sounds-en`` ships (``core-sounds-en.txt``). They were picked without listening to
  any recogniser: of the 101 prompts of 1-3 s with 3-8 words and no digits, spelled letters,
  brackets or ellipses, every 13th part of the list in file order (``round(i * 100 / 13)``,
  i = 0..13). Each text was then checked against beam-10 decodes (Whisper-base and tiny.en): for
  every prompt one of the two decodes is the text exactly.
- **Asterisk single words** (:data:`ASTERISK_WORDS`): the same voice saying the first 14 words of
  the NATO spelling alphabet ("alpha" ... "november", 0.7-1.0 s each; ``phonetic/*_p``, texts from
  ``core-sounds-en.txt``): one-word answers, where an answer is most easily lost.

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


ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
#: ``(prompt, sha256 of its .g722 file, text from core-sounds-en.txt)`` (asterisk-core-sounds 1.6.1).
ASTERISK_ANSWERS: tuple[tuple[str, str, str], ...] = (
    ("agent-loggedoff", "5df079d5822da4b5e5b5f81c4cb1e1c1059a86c5c5796dc84f5241d1df0f2ce5",
     "Agent Logged off."),
    ("conf-enteringno", "218c4810efe274db60afec4065c2737ba06da17d08333a860bbd94108784f9b8",
     "You are entering conference number"),
    ("conf-kicked", "7e800b54ceb7581d1e67c4beaa2bd5c1c8381dc1e325106fdfc20d6257451d81",
     "You have been kicked from this conference"),
    ("conf-now-recording", "060b10b54ccc2dc608499a4b99bb6b67cf5e1b51ef5218719b1d0a00efe4a481",
     "The conference is now being recorded."),
    ("conf-userwilljoin", "947eb4bfc023f217cc9e82363cb73d45efcb42c0ed631d203f25606117431ee0",
     "user will join the conference."),
    ("confbridge-removed", "69e3b8978b6bac81c013d27cd7a0fcb6e95537fe496075f1d65d0d0635f0bd7f",
     "You have been removed from the conference."),
    ("enter-num-blacklist", "16856ecca115890a973d869d74f79ad1941170f694e513ee9d72aa87b9594034",
     "Please enter the number to be blacklisted."),
    ("one-moment-please", "a2561859fbf4b58f00dbfc7659ac60df01bef36f8d8d6892d7796be4f7b39a95",
     "One moment, please."),
    ("queue-holdtime", "6db61d68eb0ca348dd35cff36d8f9c415e26a161501e70f2aa269bb7ae0cd0e7",
     "The estimated hold time is currently"),
    ("to-listen-to-it", "e017a2f22b8826cad0f85fabe2aa947bfb6602dfce5946162ea9293f36f2b7d0",
     "To listen to it."),
    ("vm-enter-num-to-call", "814d7e114b6d7ac342f002db17799f3443e911286243e898608d04349f873812",
     "please enter the number you wish to call"),
    ("vm-msgsaved", "62cf1365d2cffbda0f96e97b76325c24d23506be5ab989eaf46743e5c1773e91",
     "Your message has been saved."),
    ("vm-starmain", "309f7d0be7492ce682e0fbf404809c6c5ce3aad12d337202781641a3b3a69385",
     "press star to return to the main menu"),
    ("vm-unknown-caller", "3cf16fb38468c7f4b7b2e96fe5516fcbabb5ed4104d4dabc353eb6ddc40acb9f",
     "from an unknown caller"),
)

#: ``(word, sha256 of phonetic/<first letter>_p.g722)``: the first 14 words of the NATO alphabet.
ASTERISK_WORDS: tuple[tuple[str, str], ...] = (
    ("alpha", "1fdfec74c071450435341e27ea5e3b16d67e8fd8ef87edb1f5080a36742b0db0"),
    ("bravo", "5f4558265bb29ebfb7e2e9c6590a7c32d9b1ace0f1b3fe5272a770a406572f75"),
    ("charlie", "8129f1651ba29ae1bfde18df9c544c31b7fa7197c75fb2452a945c8d39cb7bc2"),
    ("delta", "5e663fb016549ae1b2a2fd9540c7e98ecbd5771485e096722cde47a35c46cea0"),
    ("echo", "fa76f8309a77a8fff7c539bebb70a5ebedd60c68d3de00a546ac70ddb126922b"),
    ("foxtrot", "7c96884563a439feca9826aef94e3eca5a4277fdd3bc9d6cea50ad4c700b37b4"),
    ("golf", "aa76009f0b688ee9517bf04801de74813bf2abdcd7784ccab922fc9f93ae122f"),
    ("hotel", "3a1ceb44e886896da09e532bafec14987096eb59a99dab99b1ac8f370ed0823b"),
    ("india", "b31db6e0457d52377ed5a557b3beb3b5b4a63ddd1777ba0f57dac937a0fb2b8c"),
    ("juliet", "ad1208ad7529c8d2240a4b76ba8fccf8f371ab829dcd56be8b0ffda9702b7a6b"),
    ("kilo", "973192df322d5b928e9d2a5581ed3aa6cad97434e099e2e4bf6c977cd8756e41"),
    ("lima", "9ea5c253409ad5e9a0401be121acdf446c455f5b1e4e1eb24c122c11da2ce85a"),
    ("mike", "878861c9f84a3ce6bd4c54b882152bc772d159bdc3f4a31a51739f6844a314a1"),
    ("november", "375c81ea5edeb9a047d7267408be9ad4d4de5828fb08de592319ac4dc73bfde7"),
)


def _read(path: Path) -> np.ndarray:
    """16 kHz mono float32 samples of a corpus file (``.raw``: headerless 16-bit little-endian)."""
    import soundfile as sf

    if path.suffix == ".raw":
        return (np.fromfile(str(path), "<i2").astype(np.float32) / 32768.0)
    if path.suffix == ".g722":  # headerless G.722 (16 kHz wideband), decoded by FFmpeg through PyAV
        import av

        with av.open(str(path), format="g722") as c:
            pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
        return pcm.astype(np.float32) / 32768.0
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


def _checked(paths: list[Path], shas: list[str]) -> bool:
    """All files there, each with its recorded sha256."""
    import hashlib

    return all(p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == sha for p, sha in zip(paths, shas))


def asterisk_short_answers(folder: Path = ASTERISK_SOUNDS) -> list[tuple[str, np.ndarray, str]]:
    """``(name, audio, words)`` of the Asterisk prompts; empty if not installed or not the recordings
    the texts belong to (sha256)."""
    paths = [folder / f"{name}.g722" for name, _, _ in ASTERISK_ANSWERS]
    if not _checked(paths, [sha for _, sha, _ in ASTERISK_ANSWERS]):
        return []
    return [(name, _read(p), words) for p, (name, _, words) in zip(paths, ASTERISK_ANSWERS)]


def asterisk_single_words(folder: Path = ASTERISK_SOUNDS) -> list[tuple[str, np.ndarray, str]]:
    """``(word, audio, word)`` of the NATO-alphabet words (empty if not installed or changed)."""
    paths = [folder / "phonetic" / f"{word[0]}_p.g722" for word, _ in ASTERISK_WORDS]
    if not _checked(paths, [sha for _, sha in ASTERISK_WORDS]):
        return []
    return [(word, _read(p), word) for p, (word, _) in zip(paths, ASTERISK_WORDS)]
