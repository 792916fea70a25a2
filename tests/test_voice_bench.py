"""``vigil bench --voice`` reports transcript accuracy (WER/CER) next to its speed, and the scoring
behind it counts errors the way jiwer defines them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import unavailable
from app.services import voice_eval as ve
from app.services.bench import format_voice_report, run_voice_bench


def test_error_rates_count_edits_over_reference_units() -> None:
    # 1 substitution + 1 deletion over 7 reference words; the hyphen and case are normalised away
    r = ve.error_rate(["He was not an ill disposed man", "yes"], ["he was NOT an ill-disposed dog", ""], "en")
    assert (r["rate"], r["answers"], r["units"]) == (round(2 / 8, 4), 2, 8)
    assert r["interval"][0] <= r["rate"] <= r["interval"][1]
    # Traditional characters count as their Simplified form; punctuation is not a character
    z = ve.error_rate(["我想申请贷款"], ["我想申請貸款。"], "zh")
    assert (z["rate"], z["units"]) == (0.0, 6)
    assert ve.error_rate(["我想申请贷款"], ["我想申请大官"], "zh")["rate"] == round(2 / 6, 4)
    # full-width forms fold to plain ones; digits and Latin letters are characters, not dropped
    assert ve.normalise_zh("一二线，ＡＢ　12 Ok！") == "一二线ab12ok"
    assert ve.error_rate(["一二线城市"], ["12线城市"], "zh")["rate"] == round(2 / 5, 4)


def test_utterance_text_goes_to_the_answer_it_overlaps() -> None:
    answers = [(0.5, 2.0, "a"), (3.5, 5.0, "b"), (6.5, 8.0, "c")]
    utts = [(0.4, 1.2, "one"), (1.3, 2.1, "two"), (3.6, 5.2, "three"), (5.4, 5.7, "stray")]
    assert ve.assign(answers, utts, "en") == ["one two", "three stray", ""]


@pytest.mark.slow
def test_voice_bench_reports_accuracy_beside_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not ve.librivox_clips() or shutil.which("espeak-ng") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("needs Debian's pocketsphinx-testdata and espeak-ng")
        unavailable("needs Debian's pocketsphinx-testdata and espeak-ng")
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    clip = ve.LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav"
    r = run_voice_bench(clip, accuracy=True, small=True)
    print("\n" + format_voice_report(r))
    acc = r["accuracy"]
    real = {"mandarin_cer_real_clips", "mandarin_cer_real_sessions"}  # when the fixture cache holds them
    assert set(acc) - real == {f"english_wer_{s}" for s in ("librivox_clips", "librivox_sessions", "espeak_clips",
                                                           "espeak_sessions", "librivox_short_answers_1.5s_pauses")
                                       } | {"mandarin_cer_espeak_clips", "mandarin_cer_espeak_sessions"}
    assert len(real & set(acc)) in (0, 2)
    assert [acc[f"english_wer_librivox_{k}"]["answers"] for k in ("clips", "sessions")] == [2, 3]
    assert acc["english_wer_librivox_clips"]["rate"] <= 0.1 and acc["english_wer_espeak_clips"]["rate"] <= 0.1
    assert acc["english_wer_librivox_sessions"]["rate"] <= 0.1
    assert acc["english_wer_librivox_short_answers_1.5s_pauses"]["units"] == 71  # real short answers
    assert all(g["units"] > 0 and g["rate"] is not None for g in acc.values())
    assert r["accuracy_realtime_factor"] > 0 and r["voice_realtime_factor"] > 0
    report = format_voice_report(r)
    assert "english_wer_librivox_sessions" in report and "95% CI" in report and "x real time" in report
