"""Transcripts you can quote: no repetition loops, nothing over silence or noise, and every word in
the answer it was spoken in.

Real audio only: LibriVox read speech (Debian's pocketsphinx-testdata) and espeak-ng speech
synthesised here (English, and Mandarin from tone-numbered pinyin). One whisper-base model is
loaded for the module. Run with ``-s`` to see the transcripts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import unavailable
from app.core.voice.asr import NO_LOOP, Transcriber, looping
from app.services import voice, voice_eval as ve

pytestmark = pytest.mark.slow
SR = 16000


def _need(ok: bool, what: str) -> None:
    """Skip without the test audio's source, but fail under CI, where it must be installed."""
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {what}")
        unavailable(f"needs {what}")


@pytest.fixture(scope="module", autouse=True)
def data_dir(module_data_dir: Path) -> Path:
    """A temporary user data dir for the module (whisper-base is assembled there, removed after)."""
    return module_data_dir


@pytest.fixture(scope="module")
def asr(data_dir: Path) -> Transcriber:
    """whisper-base, loaded once: the same model the voice analysis uses in the session tests."""
    return voice._asr("whisper-base")


@pytest.fixture(scope="module")
def librivox() -> list[tuple[str, np.ndarray, str]]:
    clips = ve.librivox_clips()
    _need(bool(clips), "Debian's pocketsphinx-testdata (LibriVox clips)")
    return clips


@pytest.fixture(scope="module")
def espeak_ok() -> None:
    _need(shutil.which("espeak-ng") is not None, "espeak-ng")


# --------------------------------------------------------------------------- loops


@pytest.mark.parametrize("text, language", [
    ("the word back, say the word back, say the word back, say", "en"),  # the held-out loop
    ("我想申请贷款。我想申请贷款。", "zh"),  # a sentence given twice
    ("3-1-3-1-3-1-3-1-3-1-3-1-3-1-3-1", "zh"),
    ("and so on and so on and so on and so on and so on and so on and so on", "en"),
])
def test_loops_are_recognised(text: str, language: str) -> None:
    assert looping(text, language)


@pytest.mark.parametrize("text, language", [
    ("no no no", "en"), ("对对对", "zh"), ("I don't know, I don't know.", "en"),
    ("He was not an ill-disposed young man.", "en"), ("the word dog, say", "en"), ("我的公司在上海。", "zh"),
    ("Had he married a more amiable woman, he might have been made still more respectable than he was.", "en"),
])
def test_ordinary_text_is_not_a_loop(text: str, language: str) -> None:
    assert not looping(text, language)


def test_a_looping_decode_is_decoded_again_without_the_loop_and_reruns_identically(
        asr: Transcriber, espeak_ok: None) -> None:
    # espeak-ng's 'cmn' voice reads Chinese characters as pinyin with tone digits; forced to
    # Mandarin, whisper-base's plain beam search loops "3-1-3-1-..." over it.
    audio = ve.espeak("我想申请贷款。", "cmn", speed=130)
    plain = " ".join(s.text for s in asr._decode(audio, "以下是普通话的句子。", {"language": "zh"}))
    first, again = asr.transcribe(audio, language="zh"), asr.transcribe(audio, language="zh")
    print(f"\nplain decode: {plain[:80]!r}\nguarded: {first.text!r}")
    assert looping(plain, "zh")  # the failure is real on this audio ...
    assert not looping(first.text, "zh")  # ... and the guarded transcript is free of it
    assert len(first.text) < len(plain) / 2
    assert again.segments == first.segments  # deterministic: a re-run gives the same text and times
    assert NO_LOOP["no_repeat_ngram_size"] > 0


# --------------------------------------------------------------------------- silence and noise


@pytest.mark.parametrize("kind", ["silence", "white noise", "brown noise", "hum"])
@pytest.mark.parametrize("language", [None, "zh"])
def test_nothing_is_written_over_silence_or_noise(asr: Transcriber, kind: str, language: str | None) -> None:
    rng = np.random.default_rng(7)
    n = 4 * SR
    if kind == "silence":
        audio = np.zeros(n, np.float32)
    elif kind == "white noise":
        audio = 0.1 * rng.standard_normal(n)
    elif kind == "brown noise":
        walk = np.cumsum(rng.standard_normal(n))
        audio = 0.3 * (walk - walk.mean()) / np.abs(walk - walk.mean()).max()
    else:
        t = np.arange(n) / SR
        audio = 0.2 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.standard_normal(n)
    tr = asr.transcribe(np.asarray(audio, np.float32), language=language)
    assert tr.segments == [] and tr.text == ""


def test_no_words_over_the_silence_after_speech(asr: Transcriber, librivox: list) -> None:
    _, y, ref = librivox[1]  # "he was not an ill disposed young man", 3 s
    audio = np.concatenate([y, np.zeros(5 * SR, np.float32)])
    tr = asr.transcribe(audio, language="en")
    words = [w for s in tr.segments for w in s.words]
    print(f"\n{tr.text!r}")
    assert ve.normalise_en(tr.text) in (ref, ref.replace("ill disposed", "illdisposed"))
    assert words and max(w.end for w in words) <= len(y) / SR + 0.5


# --------------------------------------------------------------------------- answers stay apart


def _hyps(item: ve.Labelled) -> tuple[list[str], list[tuple[float, float, str]]]:
    utts = ve.transcribe_session(item)
    for s, e, text in utts:
        print(f"  {s:6.2f}-{e:6.2f} {text}")
    return ve.assign(item.answers, utts, item.lang), utts


def test_short_similar_answers_stay_in_their_own_answer(espeak_ok: None) -> None:
    words = ve.NEXT_WORDS[:7]
    item = ve.Labelled("next-word", "en", "session", *ve.session(ve.next_word_answers(words)))
    hyps, utts = _hyps(item)
    print(f"  WER {ve.error_rate([a[2] for a in item.answers], hyps, 'en')}")
    assert len(utts) == len(words)  # one utterance per answer, none split, none invented
    for hyp in hyps:
        tokens = ve.normalise_en(hyp).split()
        # the carrier once, nothing carried over from a neighbour ("the word dog, say")
        assert tokens.count("next") == 1 and 3 <= len(tokens) <= 6 and not looping(hyp, "en"), hyp
        assert tokens[-1] not in ("the", "next"), hyp  # no start of the next answer ("bird" may be "word")
    # a target word is never heard in another answer (whether espeak-ng's word is recognised at
    # all, "dog" or "Todd", is a matter of the synthesiser, not of where words land)
    placed = [[k for k, h in enumerate(hyps) if w in ve.normalise_en(h).split()] for w in words]
    assert all(p in ([], [k]) for k, p in enumerate(placed)) and any(placed), placed


def test_librivox_answers_with_pauses_keep_their_words(librivox: list) -> None:
    item = ve.Labelled("librivox", "en", "session", *ve.session([(y, ref) for _, y, ref in librivox[:3]]))
    hyps, _ = _hyps(item)
    for (_, _, ref), hyp in zip(item.answers, hyps):
        got = ve.normalise_en(hyp).split()
        assert got[:2] == ref.split()[:2] and got[-2:] == ref.split()[-2:], (ref, hyp)  # edges stay put
    rate = ve.error_rate([a[2] for a in item.answers], hyps, "en")
    print(f"  WER {rate}")
    assert rate["rate"] <= 0.1


def test_mandarin_answers_with_pauses_are_not_repeated_or_swapped(espeak_ok: None) -> None:
    zh = ve.ZH_SENTENCES[:3]
    item = ve.Labelled("zh", "zh", "session",
                       *ve.session([(ve.espeak(p, "cmn-latn-pinyin+f2", speed=130), c) for p, c in zh]))
    hyps, _ = _hyps(item)
    refs = [c for _, c in zh]
    # espeak-ng's Mandarin is robotic and whisper-base mishears many of its syllables, so what is
    # checked is where the characters land: each answer once, none moved to a neighbour (the
    # answers are 6, 9 and 8 syllables long), no loop
    for k, hyp in enumerate(hyps):
        han = ve.normalise_zh(hyp)
        assert abs(len(han) - len(refs[k])) <= 2 and not looping(hyp, "zh"), (refs[k], hyp)
    assert ve.normalise_zh(hyps[0]).startswith("我想申请"), hyps[0]
