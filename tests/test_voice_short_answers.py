"""Sessions of real short answers (the held-out failure shape): the references are the corpus's own,
cut in silence, and the whole voice analysis keeps every answer's words in that answer.

The audio is real speech installed by Debian packages (:mod:`app.services.voice_eval_short`): one
LibriVox reader's five clips cut at pauses into 12 phrases of 0.9-3.9 s (71 words;
``pocketsphinx-testdata``), and 14 telephone prompts of one professional voice, 1.2-2.8 s (78 words;
``asterisk-core-sounds-en-g722``, the held-out check's shape: a 50-s session of 14 short answers),
each joined with 1.5 s and with 0.8 s of silence.

The bound :data:`MAX_WER` was not read off these sessions: it is the WER of the other real
short-answer set, the CMU card utterances (several speakers, 6 answers, 25 words; 0.12 at both
pauses, three word confusions "clubs" -> "clothes"/"close"), rounded up to 0.15; that set and the
espeak-ng next-word session are also the ones any decoding setting was tried on
(``models/cards/whisper_base.md``). On the sessions it proves, 0.15 allows 10 errors in 71 words
(LibriVox; 4-6 measured) and 11 in 78 (Asterisk; 5 measured), while a lost or moved 5-word answer or
a loop on top of today's errors fails it. Run with ``-s`` to see the transcripts.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from tests.conftest import unavailable
from app.core.voice.asr import looping
from app.services import voice_eval as ve, voice_eval_short as short

MAX_WER = 0.15  # from the CMU short-answer sessions (0.12), see the module docstring
MAX_ANSWER_WER = 0.6  # one answer: most of its words wrong means it was lost, moved or looped


def _librivox() -> list[tuple[str, object, str]]:
    answers = short.librivox_short_answers()
    if not answers:
        unavailable("needs Debian's pocketsphinx-testdata (LibriVox speech); `make test` installs it")
    return answers


def test_librivox_phrases_are_the_corpus_transcript_cut_in_silence() -> None:
    answers = _librivox()
    lines = (short.POCKETSPHINX_DATA / "librivox" / "transcription").read_text().splitlines()
    corpus = {m[2][-4:]: m[1].strip() for m in (re.match(r"<s>(.*)</s>\s*\((.*)\)", x) for x in lines) if m}
    for clip, cuts in short.LIBRIVOX_CUTS:
        assert " ".join(words for _, _, words in cuts) == corpus[clip]  # the corpus's words, in order
        y = short._read(short.POCKETSPHINX_DATA / "librivox" / f"sense_and_sensibility_01_austen_64kb-{clip}.wav")
        db, floor = short.frame_db(y)
        for (a, b, _), (a2, _, _) in zip(cuts, cuts[1:]):
            assert a < b == a2  # phrases tile the clip: nothing dropped between answers
            assert db[int(round(b * 100))] - floor <= short.CUT_MAX_DB, (clip, b)  # the cut is in a pause
    assert len(answers) == 12 and all(0.8 <= len(y) / short.SR <= 4.0 for _, y, _ in answers)
    assert sum(len(w.split()) for _, _, w in answers) == 71


def _asterisk() -> list[tuple[str, object, str]]:
    answers = short.asterisk_short_answers()
    if not answers:
        unavailable("needs Debian's asterisk-core-sounds-en-g722 and asterisk-core-sounds-en (the 1.6.1 "
                    "recordings, sha256-checked); `make test` installs them")
    return answers


def test_asterisk_answers_carry_the_prompt_texts_the_package_ships() -> None:
    answers = _asterisk()
    text = gzip.decompress(Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz").read_bytes())
    corpus = dict(re.findall(r"^([\w/-]+): (.*?)\s*$", text.decode("utf-8", "replace"), flags=re.M))
    assert [w for _, _, w in answers] == [corpus[name] for name, _, _ in short.ASTERISK_ANSWERS]
    assert len(answers) == 14 and all(1.0 <= len(y) / short.SR <= 3.0 for _, y, _ in answers)
    assert sum(len(ve.normalise_en(w).split()) for _, _, w in answers) == 78
    words = short.asterisk_single_words()
    assert [w for _, _, w in words] == [corpus[f"phonetic/{w[0]}_p"] for w, _ in short.ASTERISK_WORDS]
    assert len(words) == 14 and all(0.6 <= len(y) / short.SR <= 1.1 for _, y, _ in words)


def test_cmu_answers_carry_the_corpus_transcripts() -> None:
    answers = short.cmu_short_answers()
    if not answers:
        unavailable("needs Debian's pocketsphinx-testdata; `make test` installs it")
    cards = (short.POCKETSPHINX_DATA / "cards" / "cards.transcription").read_text().splitlines()
    expected = [re.match(r"<s>(.*)</s>", line)[1].strip() for line in cards if line.strip()]
    assert [w for _, _, w in answers][:5] == expected
    assert all(0.8 <= len(y) / short.SR <= 4.0 for _, y, _ in answers)


@pytest.mark.slow
def test_short_answer_sessions_keep_every_answer_and_bound_the_wer(module_data_dir: object) -> None:
    _librivox()
    _asterisk()
    sessions = [s for s in ve.short_answer_sessions()
                if s.name.startswith(("librivox", "asterisk")) and s.kind == "short_answers"]
    assert [s.pause_s for s in sessions] == list(short.PAUSES_S) * 2
    for s in sessions:
        hyps = ve.assign(s.answers, ve.transcribe_session(s), "en")
        refs = [a[2] for a in s.answers]
        for r, h in zip(refs, hyps):
            print(f"{s.pause_s:g}s  {r!r:65s} -> {h!r}")
            assert h.strip(), f"empty answer for {r!r}"
            assert not looping(h, "en"), h
            assert ve.error_rate([r], [h], "en")["rate"] <= MAX_ANSWER_WER, (r, h)
        wer = ve.error_rate(refs, hyps, "en")
        print(s.name, wer)
        assert wer["units"] == (71 if s.name.startswith("librivox") else 78) and wer["rate"] <= MAX_WER
        if s.pause_s == min(short.PAUSES_S) and s.name.startswith("librivox"):  # a re-run gives the same text
            assert ve.assign(s.answers, ve.transcribe_session(s), "en") == hyps


@pytest.mark.slow
def test_one_word_answers_are_never_lost(module_data_dir: object) -> None:
    """14 one-word answers of 0.7-1.0 s (the easiest to lose) each come back, as at most two words.

    Structural checks only, no WER bound: the one confusion measured ("foxtrot" -> "box trot")
    is the model's ear, not a lost answer.
    """
    _asterisk()
    s = next(s for s in ve.short_answer_sessions() if s.kind == "single_words" and s.pause_s == 1.5)
    hyps = ve.assign(s.answers, ve.transcribe_session(s), "en")
    print(list(zip([a[2] for a in s.answers], hyps)))
    assert all(0 < len(ve.normalise_en(h).split()) <= 2 for h in hyps), hyps
