"""Mandarin transcripts of real people: a CER bound, no loops, Simplified characters, same text on re-run.

The audio is real recorded Mandarin that PyPI packages carry with its transcript
(:data:`app.services.voice_eval.REAL_ZH`, fetched by ``tests/conftest.py``): two AISHELL-1 test
utterances (one woman, read news) and two voice-cloning reference prompts (two men, a film line and a
short interview line), 17 s and 46 reference characters in all. Everything goes through the product
path of ``vigil bench --voice``: the whole voice analysis (VAD, utterances, one Whisper call per
utterance), then the CER of :func:`app.services.voice_eval.error_rate`.

The bound :data:`MAX_CER` was not tuned on these clips as a whole: the decoding settings were chosen
on the two AISHELL clips (CER 0.038, 1 error in 26 characters), and the film and interview prompts
were kept as the proof subset (CER 0.20, 4 in 20); see ``models/cards/whisper_base.md``. Run with
``-s`` to see the transcripts.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from app.core.voice.asr import Transcriber, looping
from app.services import voice, voice_eval as ve

pytestmark = pytest.mark.slow

#: Corpus CER over the four clips, and over the same four answers in one session. The held-out
#: target is 0.15; 0.25 leaves room for about five more errors than measured on 46 characters
#: (0.109 single clips, 0.130 session), as a new CTranslate2 or a slower machine may shift a
#: homophone or two, while a transcript in the wrong language, a loop or a lost answer (each a CER
#: of 0.3 or more on this set) still fails.
MAX_CER = 0.25
MAX_CLIP_CER = 0.5  # a single clip (2-7 s): half its characters wrong means something broke


@pytest.fixture(scope="module", autouse=True)
def data_dir(module_data_dir: Path) -> Path:
    """A temporary user data dir for the module (whisper-base is assembled there, removed after)."""
    return module_data_dir


def simplified_only(text: str) -> bool:
    """No Traditional-only character: GB 2312, the mainland's basic set, has the Simplified forms only
    (the Traditional 申請 and 貸款 are not in it)."""
    try:
        re.sub(r"[^\u3400-\u9fff]", "", text).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _cer(refs: list[str], hyps: list[str]) -> float:
    rate = ve.error_rate(refs, hyps, "zh")["rate"]
    assert rate is not None
    return float(rate)


def _check_answer(ref: str, hyp: str) -> None:
    """One answer's transcript: Simplified, not a loop, not longer than its reference, right enough."""
    assert simplified_only(hyp), hyp
    assert not looping(hyp, "zh"), hyp
    assert len(ve.normalise_zh(hyp)) <= len(ve.normalise_zh(ref)) + 2, (ref, hyp)
    assert _cer([ref], [hyp]) <= MAX_CLIP_CER, (ref, hyp)


def test_real_mandarin_clips_are_transcribed_within_the_cer_bound(real_mandarin: list) -> None:
    refs, hyps = [], []
    for name, y, ref in real_mandarin:
        item = ve.Labelled(f"real-zh/{name}", "zh", "clip", *ve.session([(y, ref)]))
        (hyp,) = ve.assign(item.answers, ve.transcribe_session(item), "zh")
        print(f"\n  {name}: {ref} -> {hyp}  CER {_cer([ref], [hyp]):.3f}")
        _check_answer(ref, hyp)
        refs.append(ref)
        hyps.append(hyp)
    cer = _cer(refs, hyps)
    print(f"  corpus CER {cer:.3f} over {len(refs)} clips")
    assert cer <= MAX_CER


def test_real_mandarin_session_keeps_each_answer_within_the_cer_bound(real_mandarin: list) -> None:
    # the four answers, three speakers, 1.5 s apart: no answer empty, none holds a neighbour's words
    item = ve.Labelled("real-zh session", "zh", "session", *ve.session([(y, ref) for _, y, ref in real_mandarin]))
    hyps = ve.assign(item.answers, ve.transcribe_session(item), "zh")
    refs = [a[2] for a in item.answers]
    for ref, hyp in zip(refs, hyps):
        print(f"\n  {ref} -> {hyp}")
        _check_answer(ref, hyp)
    assert _cer(refs, hyps) <= MAX_CER


def test_real_mandarin_transcript_is_the_same_on_a_rerun(real_mandarin: list) -> None:
    asr: Transcriber = voice._asr("whisper-base")
    _, y, _ = max(real_mandarin, key=lambda c: len(c[1]))
    clip = np.concatenate([np.zeros(8000, np.float32), y, np.zeros(8000, np.float32)])
    runs = [asr.transcribe(clip, language="zh") for _ in range(2)]
    first, second = ([(s.text, [(w.text, w.start, w.end) for w in s.words]) for s in r.segments] for r in runs)
    assert first and first == second
