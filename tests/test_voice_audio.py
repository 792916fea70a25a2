"""Audio loading, Silero VAD, turns and speakers on real speech.

Speech comes from Debian's ``pocketsphinx-testdata`` (five LibriVox clips of one male reader,
16 kHz) and from ``espeak-ng`` (synthetic voices, deterministic). Dialogues are built by placing
trimmed turns one after the other with known silences; stereo calls put each party on its own
channel. Other formats are made with ``ffmpeg``. Tests skip, saying why, when a tool is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from app.core.errors import MediaError
from app.core.voice.audio import load_audio
from app.core.voice.turns import Utterance, guess_applicant, is_question, response_latency, utterances
from app.core.voice.vad import speech_probabilities, speech_segments
from tests.conftest import LIBRIVOX, unavailable

SR = 16000
QUESTIONS = ["Can you tell me your full name please?", "What is the purpose of this loan?",
             "How long have you worked at your current company?", "What is your monthly income after tax?",
             "Do you have any other outstanding debts?", "Who else lives in your household?",
             "Where do you plan to spend the money?"]
ANSWERS = ["My name is John Smith and I live in Leeds.", "I want to renovate the kitchen and the bathroom.",
           "I have been there for about six years now.", "It is roughly three thousand pounds each month.",
           "Only a small car loan that ends next spring.", "My wife and our two young children.",
           "Mostly on building materials and a plumber."]
GAPS = [0.8, 1.2, 2.0, 0.7, 1.5, 1.0, 2.5, 0.9, 1.8]  # silences between consecutive turns


# --------------------------------------------------------------------------- fixtures and helpers


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        unavailable(f"{tool} is not installed; it is needed to build this audio fixture")
    return path


def _trim(y: np.ndarray, top_db: float = 25.0) -> np.ndarray:
    """Cut leading and trailing silence (below 25 dB under the peak: breaths, room tone), so the
    gaps placed between turns are the gaps between speech."""
    import librosa

    return librosa.effects.trim(y, top_db=top_db)[0]


@pytest.fixture(scope="module")
def librivox() -> list[Path]:
    clips = sorted(LIBRIVOX.glob("*.wav"))
    if len(clips) < 5:
        unavailable(f"Debian package pocketsphinx-testdata is not installed (no clips in {LIBRIVOX})")
    return clips


@pytest.fixture(scope="module")
def reader(librivox: list[Path]) -> list[np.ndarray]:
    """The five LibriVox turns, float32 at 16 kHz, trimmed."""
    return [_trim(sf.read(p, dtype="float32")[0]) for p in librivox]


def espeak(text: str, voice: str, pitch: int, tmp: Path) -> np.ndarray:
    """``espeak-ng`` speech, resampled to 16 kHz float32 and trimmed."""
    import librosa

    out = tmp / f"espeak_{abs(hash((text, voice, pitch)))}.wav"
    subprocess.run([_need("espeak-ng"), "-v", voice, "-p", str(pitch), "-w", str(out), text],
                   check=True, capture_output=True)
    y, sr = sf.read(out, dtype="float32")
    return _trim(librosa.resample(y, orig_sr=sr, target_sr=SR))


def dialogue(turns: list[np.ndarray], gaps: list[float], lead: float = 0.5
             ) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Turns one after another with ``gaps[k]`` seconds between turn k and k+1: (audio, spans)."""
    parts, spans, t = [np.zeros(int(lead * SR), np.float32)], [], lead
    for k, y in enumerate(turns):
        spans.append((t, t + len(y) / SR))
        parts.append(y)
        t += len(y) / SR
        gap = np.zeros(int(round((gaps[k] if k < len(gaps) else 0.5) * SR)), np.float32)
        parts.append(gap)
        t += len(gap) / SR
    return np.concatenate(parts), spans


def write_wav(path: Path, y: np.ndarray, sr: int = SR) -> Path:
    sf.write(path, y, sr, subtype="PCM_16")
    return path


def match_turns(utts: list[Utterance], spans: list[tuple[float, float]]) -> list[Utterance | None]:
    """The utterance overlapping each true turn the most (``None`` if none overlaps)."""
    out = []
    for s, e in spans:
        overlap = [(min(e, u.end) - max(s, u.start), u) for u in utts]
        best = max(overlap, key=lambda o: o[0], default=(0.0, None))
        out.append(best[1] if best[0] > 0 else None)
    return out


@pytest.fixture(scope="module")
def mono_dialogue(tmp_path_factory: pytest.TempPathFactory, reader: list[np.ndarray]) -> dict:
    """LibriVox reader (first, "A") answering-in-turn with an espeak-ng female voice ("B")."""
    tmp = tmp_path_factory.mktemp("mono_dialogue")
    turns = [reader[k // 2] if k % 2 == 0 else espeak(ANSWERS[k // 2], "en+f3", 70, tmp) for k in range(10)]
    y, spans = dialogue(turns, GAPS)
    return {"path": write_wav(tmp / "dialogue.wav", y), "spans": spans, "truth": ["A", "B"] * 5}


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory, reader: list[np.ndarray]) -> dict:
    """Interviewer (espeak-ng male) on the left, applicant (LibriVox reader) on the right, in
    alternating turns with silence on the other channel; 16 kHz stereo FLAC."""
    tmp = tmp_path_factory.mktemp("stereo_call")
    turns = [espeak(QUESTIONS[k // 2], "en+m3", 40, tmp) if k % 2 == 0 else reader[k // 2] for k in range(10)]
    y, spans = dialogue(turns, GAPS)
    stereo = np.zeros((len(y), 2), np.float32)
    for k, (s, e) in enumerate(spans):
        i0, i1 = int(round(s * SR)), int(round(s * SR)) + len(turns[k])
        stereo[i0:i1, k % 2] = turns[k]
    path = tmp / "call.flac"
    sf.write(path, stereo, SR, subtype="PCM_16")
    texts = [QUESTIONS[k // 2] if k % 2 == 0 else ANSWERS[k // 2] for k in range(10)]
    return {"path": path, "spans": spans, "truth": ["A", "B"] * 5, "texts": texts}


# --------------------------------------------------------------------------- loading


def test_talking_head_mp4(talking_head: Path, tmp_path: Path) -> None:
    track = load_audio(talking_head, cache_dir=tmp_path)
    assert track.has_audio and track.codec == "aac" and track.sr == SR
    assert (track.source_sr, track.source_channels) == (48000, 2)
    assert abs(track.duration_s - 19.69) < 0.1 and track.n_samples == round(track.duration_s * SR)
    assert isinstance(track.samples, np.memmap) and not track.samples.flags.writeable
    assert track.channels is None  # two identical channels are one party
    assert track.slice(1.0, 1.5).dtype == np.float32 and len(track.slice(1.0, 1.5)) == SR // 2
    assert speech_segments(track) == []  # this clip's audio track holds digital silence
    workdir = track.workdir
    assert workdir is not None and workdir.parent == tmp_path and any(workdir.iterdir())
    track.close()
    assert not workdir.exists()


@pytest.mark.parametrize("ext,args,codec", [
    ("wav", ["-c:a", "pcm_s16le"], "pcm_s16le"), ("flac", ["-c:a", "flac"], "flac"),
    ("mp3", ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"), ("m4a", ["-c:a", "aac", "-b:a", "64k"], "aac"),
])
def test_audio_formats(librivox: list[Path], tmp_path: Path, ext: str, args: list[str], codec: str) -> None:
    """A LibriVox clip re-encoded (44.1 kHz stereo, identical channels) decodes back to it."""
    dst = tmp_path / f"clip.{ext}"
    subprocess.run([_need("ffmpeg"), "-loglevel", "error", "-i", str(librivox[0]), "-ar", "44100", "-ac", "2",
                    *args, str(dst)], check=True)
    with load_audio(librivox[0]) as ref, load_audio(dst) as track:
        assert track.has_audio and track.codec == codec and track.sr == SR
        assert (track.source_sr, track.source_channels) == (44100, 2) and track.channels is None
        assert abs(track.duration_s - ref.duration_s) < 0.1
        a, b = ref.slice(0, 60), track.slice(0, 60)
        m = min(len(a), len(b))
        assert np.corrcoef(a[:m], b[:m])[0, 1] > 0.98


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent_video.mp4"
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    track = load_audio(path, cache_dir=tmp_path / "cache")
    assert not track.has_audio and track.duration_s == 0.0 and track.n_samples == 0
    assert track.codec is None and len(track.slice(0, 10)) == 0
    assert speech_segments(track) == [] and utterances(track, []) == []
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_zero_sample_wav(tmp_path: Path) -> None:
    track = load_audio(write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32)))
    assert track.has_audio and track.n_samples == 0 and track.duration_s == 0.0
    assert speech_segments(track) == [] and utterances(track, speech_segments(track)) == []
    track.close()


@pytest.mark.parametrize("case", ["random", "truncated_mp3", "empty", "missing"])
def test_broken_files(librivox: list[Path], tmp_path: Path, case: str) -> None:
    cache = tmp_path / "cache"
    if case == "random":
        path = tmp_path / "noise.wav"
        path.write_bytes(np.random.default_rng(0).bytes(30000))
        expect = "not a video file"
    elif case == "truncated_mp3":
        full = tmp_path / "full.mp3"
        subprocess.run([_need("ffmpeg"), "-loglevel", "error", "-i", str(librivox[0]), "-c:a", "libmp3lame",
                        str(full)], check=True)
        path = tmp_path / "cut.mp3"
        path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        expect = "truncated or damaged"
    elif case == "empty":
        path = tmp_path / "zero.wav"
        path.write_bytes(b"")
        expect = "file is empty"
    else:
        path, expect = tmp_path / "absent.m4a", "file not found"
    with pytest.raises(MediaError) as err:
        load_audio(path, cache_dir=cache)
    message = str(err.value)
    assert message.startswith(f"{path.name}: ") and expect in message and "\n" not in message
    assert not cache.exists() or not any(cache.iterdir())  # no scratch left behind


# --------------------------------------------------------------------------- voice activity


def test_vad_finds_speech_on_librivox(librivox: list[Path]) -> None:
    for clip in librivox:
        with load_audio(clip) as track:
            segs = speech_segments(track)
            assert segs, clip.name
            assert all(0 <= s < e <= track.duration_s for s, e in segs)
            assert all(a[1] <= b[0] for a, b in zip(segs, segs[1:]))
            covered = sum(e - s for s, e in segs)
            assert 0.5 * track.duration_s < covered <= track.duration_s, clip.name


def test_vad_matches_silero_reference(librivox: list[Path]) -> None:
    """Window probabilities equal those of silero-vad's own ONNX wrapper (state and context)."""
    pytest.importorskip("torch")
    from silero_vad.utils_vad import OnnxWrapper

    from app.core.models import model_path

    reference = OnnxWrapper(str(model_path("silero_vad")), force_onnx_cpu=True)
    import torch

    with load_audio(librivox[0]) as track:
        ours = speech_probabilities(track)
        theirs = reference.audio_forward(torch.from_numpy(track.slice(0, 60)), SR).numpy()[0]
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4


def test_vad_long_file_in_parallel_streams(reader: list[np.ndarray], tmp_path: Path) -> None:
    """A 2.6 min file runs as two streams side by side: every turn is found, no gap is called
    speech, and the probabilities stay those of the sequential reference (exact in the first
    stream, close after the cut, where the second stream starts from a warmed-up state)."""
    pytest.importorskip("torch")
    import torch
    from silero_vad.utils_vad import OnnxWrapper

    from app.core.models import model_path

    turns = [reader[k % 5] for k in range(24)]
    y, spans = dialogue(turns, [2.0] * 24)
    with load_audio(write_wav(tmp_path / "long.wav", y)) as track:
        assert track.duration_s > 150
        probs = speech_probabilities(track)
        segs = speech_segments(track)
        reference = OnnxWrapper(str(model_path("silero_vad")), force_onnx_cpu=True)
        theirs = reference.audio_forward(torch.from_numpy(track.slice(0, 1e9)), SR).numpy()[0]
    assert probs.shape == theirs.shape
    first_stream = int(60 * SR / 512)  # the cut is searched within +-5 s of the middle (78 s)
    assert np.abs(probs[:first_stream] - theirs[:first_stream]).max() < 1e-4
    assert np.mean((probs >= 0.5) != (theirs >= 0.5)) < 0.01
    for s, e in spans:
        covered = sum(max(0.0, min(e, b) - max(s, a)) for a, b in segs)
        assert covered > 0.8 * (e - s), (s, e)
    assert all(any(min(e, b) > max(s, a) for s, e in spans) for a, b in segs)


def test_vad_silence_and_low_noise(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(10 * SR).astype(np.float32) * 10 ** (-60 / 20)  # -60 dBFS RMS
    for name, y in (("silence", np.zeros(10 * SR, np.float32)), ("noise", noise)):
        with load_audio(write_wav(tmp_path / f"{name}.wav", y)) as track:
            assert track.duration_s == 10.0
            assert speech_segments(track) == [], name


def test_vad_8khz_input(librivox: list[Path], tmp_path: Path) -> None:
    import librosa

    y = sf.read(librivox[0], dtype="float32")[0]
    low = write_wav(tmp_path / "phone.wav", librosa.resample(y, orig_sr=SR, target_sr=8000), sr=8000)
    with load_audio(librivox[0]) as ref, load_audio(low) as track:
        assert track.source_sr == 8000 and track.sr == SR and abs(track.duration_s - ref.duration_s) < 0.01
        segs, ref_segs = speech_segments(track), speech_segments(ref)
        assert sum(e - s for s, e in segs) > 0.5 * track.duration_s
        assert abs(segs[0][0] - ref_segs[0][0]) < 0.2 and abs(segs[-1][1] - ref_segs[-1][1]) < 0.2


@pytest.mark.slow
def test_one_hour_of_silence_is_bounded(tmp_path: Path) -> None:
    """1 h of 16 kHz digital silence (115 MB of PCM): decoded through a memmap, never held whole."""
    path = tmp_path / "hour.wav"
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, subtype="PCM_16") as fh:
        block = np.zeros(60 * SR, np.int16)
        for _ in range(60):
            fh.write(block)
    assert path.stat().st_size > 115_000_000
    tracemalloc.start()
    try:
        track = load_audio(path, cache_dir=tmp_path / "cache")
        segs = speech_segments(track)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert track.duration_s == 3600.0 and segs == []
    assert isinstance(track.samples, np.memmap) and not track.samples.flags.writeable
    assert peak < 40 * 2**20, f"peak traced allocation {peak / 2**20:.0f} MiB"
    track.close()


# --------------------------------------------------------------------------- turns and speakers


def test_stereo_call_one_party_per_channel(stereo_call: dict) -> None:
    with load_audio(stereo_call["path"]) as track:
        assert track.channels is not None and track.channels.shape == (2, track.n_samples)
        assert isinstance(track.channels, np.memmap)
        utts = utterances(track, speech_segments(track))
    assert len(utts) == len(stereo_call["spans"])
    matched = match_turns(utts, stereo_call["spans"])
    assert [u.speaker if u else None for u in matched] == stereo_call["truth"]
    assert [u.channel if u else None for u in matched] == [0, 1] * 5


def test_stereo_with_identical_channels_stays_mono(librivox: list[Path], tmp_path: Path) -> None:
    y = sf.read(librivox[1], dtype="float32")[0]
    dual = tmp_path / "dual.wav"
    sf.write(dual, np.stack([y, y], axis=1), SR, subtype="PCM_16")
    with load_audio(dual) as track:
        assert track.source_channels == 2 and track.channels is None
        assert np.array_equal(np.asarray(track.samples), (y * 32768).round().astype(np.int16))


def test_stereo_one_channel_only_is_that_channel(librivox: list[Path], tmp_path: Path) -> None:
    """A mono microphone recorded on the right side only: mono is that side at full level."""
    y = sf.read(librivox[1], dtype="float32")[0]
    right = tmp_path / "right.wav"
    sf.write(right, np.stack([np.zeros_like(y), y], axis=1), SR, subtype="PCM_16")
    with load_audio(right) as track:
        assert track.channels is None
        assert np.array_equal(np.asarray(track.samples), (y * 32768).round().astype(np.int16))


def test_real_stereo_room_sound_stays_mono(no_face: Path) -> None:
    """Real stereo ambience decorrelates the channels (0.83 here) but is not one party per side."""
    with load_audio(no_face) as track:
        assert track.source_channels == 2 and track.channels is None


def test_response_latency_matches_inserted_gaps(stereo_call: dict) -> None:
    with load_audio(stereo_call["path"]) as track:
        utts = utterances(track, speech_segments(track))
    lat = response_latency(match_turns(utts, stereo_call["spans"]))
    assert lat[0] is None
    for k in range(1, len(lat)):
        assert lat[k] is not None and abs(lat[k] - GAPS[k - 1]) <= 0.3, (k, lat[k], GAPS[k - 1])


@pytest.mark.parametrize("voices", ["librivox_vs_espeak_female", "espeak_female_vs_male"])
def test_mono_two_speakers_are_clustered(mono_dialogue: dict, tmp_path: Path, voices: str) -> None:
    if voices == "librivox_vs_espeak_female":
        case = mono_dialogue
    else:
        turns = [espeak(QUESTIONS[k // 2], "en+f3", 70, tmp_path) if k % 2 == 0
                 else espeak(ANSWERS[k // 2], "en+m3", 30, tmp_path) for k in range(14)]
        y, spans = dialogue(turns, GAPS + GAPS)
        case = {"path": write_wav(tmp_path / "fm.wav", y), "spans": spans, "truth": ["A", "B"] * 7}
    with load_audio(case["path"]) as track:
        assert track.channels is None
        utts = utterances(track, speech_segments(track))
    assert {u.speaker for u in utts} == {"A", "B"} and utts[0].speaker == "A"
    got = [u.speaker if u else None for u in match_turns(utts, case["spans"])]
    right = sum(g == t for g, t in zip(got, case["truth"]))
    assert right >= 0.8 * len(case["truth"]), got


@pytest.mark.parametrize("who", ["librivox_reader", "espeak_male"])
def test_single_speaker_stays_one(reader: list[np.ndarray], tmp_path: Path, who: str) -> None:
    if who == "librivox_reader":
        turns = reader
    else:
        turns = [espeak(t, "en+m3", 30, tmp_path) for t in QUESTIONS + ANSWERS]
    y, spans = dialogue(turns, GAPS + GAPS)
    with load_audio(write_wav(tmp_path / "mono.wav", y)) as track:
        utts = utterances(track, speech_segments(track))
    assert len(utts) >= len(turns) - 1
    assert {u.speaker for u in utts} == {"A"}
    assert all(v is None for v in response_latency(utts))


def test_long_turn_is_split_at_a_pause(librivox: list[Path]) -> None:
    with load_audio(librivox[0]) as track:
        segs = speech_segments(track)
        utts = utterances(track, segs, max_len_s=2.5)
        energy = [float(np.mean(track.slice(u.end - 0.075, u.end + 0.075) ** 2)) for u in utts[:-1]]
        overall = float(np.mean(track.slice(segs[0][0], segs[-1][1]) ** 2))
    assert len(utts) >= 3 and all(u.duration <= 2.5 + 1e-6 for u in utts)
    assert utts[0].start == segs[0][0] and utts[-1].end == segs[-1][1]
    assert all(a.end == b.start for a, b in zip(utts, utts[1:]))
    assert all(e < overall for e in energy)  # each cut lies in a quieter stretch than average


# --------------------------------------------------------------------------- applicant and latency


def test_guess_applicant(stereo_call: dict) -> None:
    with load_audio(stereo_call["path"]) as track:
        utts = utterances(track, speech_segments(track))
    texts = stereo_call["texts"]
    assert guess_applicant(utts, texts) == "B"  # A asks the questions
    assert guess_applicant(utts, [t.rstrip("?.") for t in texts]) == "B"  # wh-words, no punctuation
    talk = {s: sum(u.duration for u in utts if u.speaker == s) for s in "AB"}
    assert guess_applicant(utts) == max(talk, key=talk.get)
    zh = ["请问你叫什么名字", "我叫王小明。", "你每个月收入多少？", "大概一万块。", "你有没有其他贷款",
          "没有。", "贷款用来做什么呢", "装修房子。", "工作几年了吗", "五年了。"]
    assert guess_applicant(utts, zh) == "B"
    assert guess_applicant(utts, zh[1:] + zh[:1]) == "A"


def test_is_question_and_latency_rules() -> None:
    assert is_question("what do you do for a living") and is_question("Are you employed?")
    assert is_question("你是不是自己来的") and is_question("你结婚了吗")
    assert not is_question("I am an engineer.") and not is_question("我在银行工作。") and not is_question("")
    utts = [Utterance(0.0, 2.0, "A"), Utterance(1.6, 3.0, "B"), Utterance(3.5, 4.0, "B"),
            Utterance(5.0, 6.0, "A")]
    lat = response_latency(utts)
    assert lat[0] is None and lat[2] is None
    assert lat[1] == pytest.approx(-0.4) and lat[3] == pytest.approx(1.0)


def test_scratch_directory_is_private(librivox: list[Path], tmp_path: Path) -> None:
    a, b = load_audio(librivox[0], cache_dir=tmp_path), load_audio(librivox[0], cache_dir=tmp_path)
    assert a.workdir != b.workdir and np.array_equal(np.asarray(a.samples), np.asarray(b.samples))
    a.close()
    assert not a.workdir.exists() and b.workdir.exists() and len(b.slice(0, 1)) == SR
    b.close()
    assert os.listdir(tmp_path) == []
