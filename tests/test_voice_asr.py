"""Speech recognition on real speech, model assembly/verification, and subtitle import.

English: the five LibriVox clips of Debian's pocketsphinx-testdata with their reference transcripts.
Mandarin: sentences synthesised here with espeak-ng from tone-numbered pinyin (robotic, so the
character error rate bound is loose). Measured figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from app.core.errors import MediaError, ModelError
from app.core.media.probe import file_sha256
from app.core.models import load_manifest
from app.core.voice import whisper_models
from app.core.voice.asr import Segment, Transcriber, Transcript, read_subtitles, whisper_model_dir
from app.paths import models_dir
from tests.conftest import LIBRIVOX, unavailable

# (pinyin with tone sandhi applied, intended characters)
MANDARIN = [("wo2 xiang3 shen1 qing3 dai4 kuan3.", "我想申请贷款"),
            ("wo3 zai4 yin2 hang2 gong1 zuo4 le5 wu3 nian2.", "我在银行工作了五年"),
            ("zhe4 bi3 qian2 yong4 lai2 mai3 fang2 zi5.", "这笔钱用来买房子"),
            ("wo3 hui4 an4 shi2 huan2 kuan3.", "我会按时还款"),
            ("wo3 de5 gong1 si1 zai4 shang4 hai3.", "我的公司在上海")]
HAN = re.compile(r"[\u3400-\u9fff]")


def simplified_only(text: str) -> bool:
    """No Traditional-only character: GB 2312, the mainland's basic set, has the Simplified forms only."""
    try:
        "".join(HAN.findall(text)).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True

# --------------------------------------------------------------------------- helpers


def edit_distance(ref: list[str] | str, hyp: list[str] | str) -> int:
    """Levenshtein distance between two token sequences."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r != h))
    return row[-1]


def words(text: str) -> list[str]:
    """Lower case, hyphens split, punctuation dropped, 'mr' spelled out as in the references."""
    tokens = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return [{"mr": "mister", "mrs": "missus"}.get(t, t) for t in tokens]


def corpus_wer(pairs: list[tuple[list[str], str]]) -> float:
    return sum(edit_distance(ref, words(hyp)) for ref, hyp in pairs) / sum(len(ref) for ref, _ in pairs)


def espeak_pinyin(pinyin: str, dst: Path) -> np.ndarray:
    """16 kHz mono float32 Mandarin speech from espeak-ng (female variant, clearer for Whisper)."""
    if shutil.which("espeak-ng") is None:
        unavailable("espeak-ng is not installed")
    proc = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin+f2", "-s", "130", "-w", str(dst), pinyin],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        unavailable(f"espeak-ng has no Mandarin pinyin voice: {proc.stderr.strip()}")
    return decode_audio(str(dst))


def all_words(t: Transcript) -> list:
    return [w for s in t.segments for w in s.words]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def librivox() -> list[tuple[str, np.ndarray, list[str]]]:
    """(clip id, 16 kHz audio, reference words) for the five LibriVox clips."""
    if not (LIBRIVOX / "transcription").is_file():
        unavailable("pocketsphinx-testdata (LibriVox clips) is not installed")
    clips = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line)
        if m:
            clips.append((m[2], decode_audio(str(LIBRIVOX / f"{m[2]}.wav")), m[1].split()))
    return clips


def _transcriber(name: str, data_dir: Path) -> Transcriber:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data_dir))
        return Transcriber(name)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Transcriber]:
    """whisper-base, assembled once for the session in a temporary user cache (removed afterwards)."""
    data = tmp_path_factory.mktemp("vigil-data")
    yield _transcriber("whisper-base", data)
    shutil.rmtree(data, ignore_errors=True)


def _run(tr: Transcriber, clips: list) -> tuple[list[Transcript], float]:
    """Transcripts with language detection, and the speed in seconds of audio per second."""
    t0, out = time.perf_counter(), [tr.transcribe(audio) for _, audio, _ in clips]
    return out, sum(len(a) for _, a, _ in clips) / 16000 / (time.perf_counter() - t0)


@pytest.fixture(scope="session")
def english(base: Transcriber, librivox: list) -> list[Transcript]:
    out, speed = _run(base, librivox)
    print(f"\nwhisper-base on LibriVox: {speed:.1f}x real time (incl. language detection)")
    return out


# --------------------------------------------------------------------------- English


@pytest.mark.slow
def test_base_transcribes_librivox_english(english: list[Transcript], librivox: list) -> None:
    wer = corpus_wer([(ref, t.text) for t, (_, _, ref) in zip(english, librivox)])
    print(f"\nwhisper-base LibriVox corpus WER {wer:.3f}")
    assert [t.language for t in english] == ["en"] * len(librivox)
    assert all(t.language_prob > 0.5 for t in english)
    assert wer <= 0.15


@pytest.mark.slow
def test_word_timestamps_lie_inside_the_clip_and_increase(english: list[Transcript], librivox: list) -> None:
    for t, (clip, audio, ref) in zip(english, librivox):
        ws, duration = all_words(t), len(audio) / 16000
        assert len(ws) >= len(ref) // 2, clip
        assert all(0.0 <= w.start <= w.end <= duration + 0.05 for w in ws), clip
        assert all(b.start >= a.start for a, b in zip(ws, ws[1:])), clip
        assert all(0.0 < w.prob <= 1.0 for w in ws), clip


@pytest.mark.slow
def test_tiny_en_transcribes_english(librivox: list, tmp_path: Path) -> None:
    tiny = _transcriber("whisper-tiny.en", tmp_path)
    out, speed = _run(tiny, librivox)
    wer = corpus_wer([(ref, t.text) for t, (_, _, ref) in zip(out, librivox)])
    print(f"\nwhisper-tiny.en on LibriVox: WER {wer:.3f}, {speed:.1f}x real time")
    assert {t.language for t in out} == {"en"}
    assert wer <= 0.25
    with pytest.raises(ModelError, match="English-only"):
        tiny.transcribe(librivox[0][1], language="zh")


# --------------------------------------------------------------------------- Mandarin


@pytest.mark.slow
def test_mandarin_paragraph_is_detected_and_simplified(base: Transcriber, tmp_path: Path) -> None:
    audio = espeak_pinyin(" ".join(p for p, _ in MANDARIN), tmp_path / "zh.wav")
    t = base.transcribe(audio)
    han = "".join(HAN.findall(t.text))
    cer = edit_distance("".join(c for _, c in MANDARIN), han) / sum(len(c) for _, c in MANDARIN)
    print(f"\nespeak Mandarin paragraph: {t.text!r}, CER {cer:.2f}")
    assert t.language == "zh"
    assert len(han) >= 10
    assert simplified_only(t.text) and all(simplified_only(w.text) for w in all_words(t))
    assert cer <= 0.5


@pytest.mark.slow
def test_utterances_share_one_detected_language(base: Transcriber, tmp_path: Path) -> None:
    slices = [espeak_pinyin(p, tmp_path / f"u{i}.wav") for i, (p, _) in enumerate(MANDARIN)]
    out = base.transcribe_utterances(slices)
    print("\nespeak Mandarin utterances:", [t.text for t in out])
    assert len(out) == len(slices)
    assert {t.language for t in out} == {"zh"}
    assert len(HAN.findall("".join(t.text for t in out))) >= 10
    for t, audio in zip(out, slices):
        assert simplified_only(t.text)
        assert all(0.0 <= w.start <= w.end <= len(audio) / 16000 + 0.05 for w in all_words(t))
    # deterministic: no temperature-fallback sampling, so a re-run reproduces the text and timings
    assert [base.transcribe(a, language="zh").segments for a in slices[:2]] == [t.segments for t in out[:2]]


# --------------------------------------------------------------------------- model folders


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty user data dir; yields where whisper-base is assembled (145 MB, removed after)."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data" / "cache" / "models" / "whisper-base"
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


def _damage(kind: str, folder: Path) -> None:
    model = folder / "model.bin"
    if kind == "deleted":
        model.unlink()
    elif kind == "truncated":
        with model.open("r+b") as f:
            f.truncate(1000)
    elif kind == "same size, altered":
        with model.open("r+b") as f:
            f.seek(5_000_000)
            f.write(b"\0" * 4096)
    else:
        (folder / "tokenizer.json").write_text("{}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["deleted", "truncated", "same size, altered", "side file changed"])
def test_damaged_assembled_model_is_rebuilt(cache: Path, kind: str) -> None:
    sha = load_manifest()["whisper_base"].sha256
    assert whisper_models.assembled_model("whisper_base") == cache / "model.bin"
    stamp = (cache / "model.bin").stat().st_mtime_ns
    assert whisper_model_dir() == cache and (cache / "model.bin").stat().st_mtime_ns == stamp  # reused
    _damage(kind, cache)
    assert whisper_model_dir() == cache
    assert file_sha256(cache / "model.bin") == sha
    _, carrier = whisper_models._carriers()
    assert {p.name for p in cache.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert all((cache / f).read_bytes() == (carrier / f).read_bytes() for f in ("config.json", "tokenizer.json"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["whisper-base", "whisper-tiny.en"])
def test_wrong_recorded_sha256_is_a_model_error(cache: Path, tmp_path: Path, name: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    manifest = json.loads((models_dir() / "manifest.json").read_text(encoding="utf-8"))
    for m in manifest["models"]:
        if m["name"] == name.replace("-", "_").replace(".", "_"):
            m["sha256"] = "0" * 64
    (models / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("VIGIL_MODELS", str(models))
    with pytest.raises(ModelError, match="sha256") as err:
        Transcriber(name)
    assert "\n" not in str(err.value) and "reinstall" in str(err.value)


def test_missing_carrier_package_is_a_model_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absent = (("vigil_no_such_carrier", "vigil-no-such-carrier", "data/model.bin.part1"),)
    monkeypatch.setattr(whisper_models, "_BASE_PARTS", absent)
    with pytest.raises(ModelError, match="'vigil-no-such-carrier' is not installed"):
        whisper_model_dir("whisper-base")
    with pytest.raises(ModelError, match="unknown speech model 'whisper-large'"):
        whisper_model_dir("whisper-large")
    with pytest.raises(ModelError, match="not assembled"):
        whisper_models.assembled_model("whisper_tiny_en")


# --------------------------------------------------------------------------- subtitles


def test_srt_with_bom_crlf_ids_tags_and_multiline_cues(tmp_path: Path) -> None:
    srt = ("\ufeff1\r\n00:00:01,000 --> 00:00:03,500\r\n{\\an8}Hello <i>there</i>,\r\nhow are you?\r\n\r\n"
           "2\r\n00:01:02,25 --> 01:00:00,000\r\n我想申请\r\n贷款。\r\n\r\n\r\n")
    path = tmp_path / "zoom.srt"
    path.write_bytes(srt.encode("utf-8"))
    assert read_subtitles(path) == [Segment(1.0, 3.5, "Hello there, how are you?", []),
                                    Segment(62.25, 3600.0, "我想申请贷款。", [])]


def test_vtt_voice_tags_hourless_times_and_blocks(tmp_path: Path) -> None:
    vtt = ("\ufeffWEBVTT - Teams export\r\n\r\nNOTE exported by Teams\r\nsecond note line\r\n\r\n"
           "STYLE\r\n::cue { color: white }\r\n\r\n"
           "a1b2-c3/0-1\r\n00:01.500 --> 00:04.000 align:start position:10%\r\n<v Jane Doe>Tom &amp; I\r\n"
           "applied.</v>\r\n\r\n00:00:04.000 --> 00:00:06.250\r\n<v.loud Li Lei>我的公司在上海。</v>\r\n\r\n"
           "3\r\n00:07.000 --> 00:08.000\r\nno speaker here\r\n")
    path = tmp_path / "teams.vtt"
    path.write_bytes(vtt.encode("utf-8"))
    cues = read_subtitles(path)
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (1.5, 4.0, "Tom & I applied.", "Jane Doe"),
        (4.0, 6.25, "我的公司在上海。", "Li Lei"),
        (7.0, 8.0, "no speaker here", None)]


@pytest.mark.parametrize("name, content, message", [
    ("bad.srt", "1\n00:00:01,000 --> soon\nhello\n", "line 2: malformed cue timing"),
    ("prose.srt", "just some words\nwith no timings\n", "line 1: expected a cue timing line"),
    ("empty.srt", "\n\n", "no subtitle cues found"),
    ("noheader.vtt", "00:01.000 --> 00:02.000\nhi\n", "does not start with 'WEBVTT'"),
    ("backwards.vtt", "WEBVTT\n\n00:05.000 --> 00:02.000\nhi\n", "cue ends before it starts"),
])
def test_malformed_subtitles_are_media_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MediaError, match=re.escape(message)) as err:
        read_subtitles(path)
    assert str(err.value).startswith(name) and "\n" not in str(err.value)


def test_missing_or_binary_subtitle_file_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot read subtitle file"):
        read_subtitles(tmp_path / "absent.srt")
    (tmp_path / "noise.srt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError, match="noise.srt"):
        read_subtitles(tmp_path / "noise.srt")
