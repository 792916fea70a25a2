"""Media probing, frame reading and prefetching on real clips and files written here with PyAV."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
import time
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.core.errors import MediaError
from app.core.media import FrameReader, MediaInfo, file_sha256, iter_frames, prefetch, probe
from app.core.media.reader import FrameClock

# --------------------------------------------------------------------------- helpers


def _strictly_increasing(ts: list[float]) -> bool:
    return all(b > a for a, b in zip(ts, ts[1:]))


def _top_boxes(path: Path) -> list[str]:
    """Top-level ISO-BMFF box names, in file order."""
    data, pos, names = path.read_bytes(), 0, []
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8].decode("latin-1"))
        size = int.from_bytes(data[pos + 8 : pos + 16], "big") if size == 1 else size
        pos += size or len(data)
    return names


def _encode(dst: Path, fmt: str, codec: str, images: list[np.ndarray], pts: list[int],
            time_base: Fraction, rate: int = 30, **ctx: object) -> Path:
    """Write RGB images as a video whose frames carry exactly ``pts`` (in ``time_base``)."""
    if codec not in av.codecs_available:
        pytest.skip(f"PyAV's bundled FFmpeg has no {codec} encoder")
    h, w = images[0].shape[:2]
    with av.open(str(dst), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.time_base = time_base
        for key, value in ctx.items():
            setattr(stream.codec_context, key, value)
        for image, p in zip(images, pts):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return dst


@pytest.fixture(scope="module")
def clip(single_face: Path) -> list[np.ndarray]:
    """The first 30 frames (1 s) of single_face.mp4 as RGB arrays: the source for re-encoding."""
    with iter_frames(single_face, max_frames=30) as frames:
        return [f.image for f in frames]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


# --------------------------------------------------------------------------- probe


def test_probe_single_face(single_face: Path) -> None:
    info = probe(single_face)
    assert isinstance(info, MediaInfo)
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(30.0, abs=0.01)
    assert info.fps_container == pytest.approx(30.0)
    assert info.has_video and info.has_audio
    assert (info.video_codec, info.audio_codec) == ("h264", "mp3")
    assert (info.audio_sample_rate, info.audio_channels) == (44100, 2)
    assert info.frame_count == 72 and info.rotation == 0
    assert info.duration_s == pytest.approx(2.4, abs=0.1)
    assert "mp4" in info.container
    assert info.size_bytes == single_face.stat().st_size
    assert info.sha256 == hashlib.sha256(single_face.read_bytes()).hexdigest() == file_sha256(single_face)
    assert json.loads(json.dumps(info.to_dict()))["sha256"] == info.sha256


def test_moov_atom_positions(single_face: Path, talking_head: Path) -> None:
    """single_face.mp4 has its index (moov) after the media data; the talking head has it first."""
    boxes = _top_boxes(single_face)
    assert boxes.index("moov") > boxes.index("mdat")
    boxes = _top_boxes(talking_head)
    assert boxes.index("moov") < boxes.index("mdat")


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_phone_clip_vfr_measured_rate(pyfeat_media: Path, name: str) -> None:
    """HEVC phone clips: VFR, declared r_frame_rate 30 or 120; measured fps is what plays."""
    path = pyfeat_media / name
    info = probe(path)
    assert 24.0 <= info.fps <= 31.0
    with av.open(str(path)) as c:
        declared = float(c.streams.video[0].base_rate)
    assert declared == (120.0 if name == "noface_face.mov" else 30.0)
    with iter_frames(path) as frames:
        ts = [f.t for f in frames]
    assert len(ts) == info.frame_count == 169
    assert ts[0] == 0.0 and _strictly_increasing(ts)
    assert ts[-1] == pytest.approx(info.duration_s, abs=0.2)  # real time, not 169/120 s
    assert len(ts) / ts[-1] == pytest.approx(26.4, abs=1.0)


def test_rotation_from_display_matrix(work: Path, clip: list[np.ndarray]) -> None:
    for degrees, expected in ((90, 90), (-90, 270)):
        dst = work / f"rot{expected}.mp4"
        with av.open(str(dst), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            stream.set_display_rotation(degrees)
            for i, image in enumerate(clip[:3]):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 30)
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
        assert probe(dst).rotation == expected
        # Frames come out upright, as a player (ffmpeg's autorotate) shows them.
        with iter_frames(dst) as reader:
            first = next(iter(reader)).image
        assert first.shape == (640, 360, 3)
        if shutil.which("ffmpeg"):
            ref = subprocess.run(["ffmpeg", "-v", "error", "-i", str(dst), "-frames:v", "1", "-f", "rawvideo",
                                  "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
            ref_img = np.frombuffer(ref, np.uint8).reshape(640, 360, 3)
            assert np.abs(ref_img.astype(int) - first.astype(int)).mean() < 3.0


# --------------------------------------------------------------------------- reading frames


def test_iter_frames_single_face(single_face: Path) -> None:
    reader = iter_frames(single_face)
    assert isinstance(reader, FrameReader)
    with reader:
        frames = list(reader)
    assert [f.index for f in frames] == list(range(72))
    ts = [f.t for f in frames]
    assert ts[0] == 0.0 and _strictly_increasing(ts)
    assert ts[-1] == pytest.approx(71 / 30, abs=1e-6)
    img = frames[0].image
    assert img.shape == (360, 640, 3) and img.dtype == np.uint8 and img.flags.c_contiguous
    assert reader.frames_read == reader.frames_decoded == 72
    assert reader.ended_early is False and reader.end_note is None


def test_stride_start_and_max_frames_match_full_pass(single_face: Path) -> None:
    with iter_frames(single_face) as frames:
        full = {f.index: f for f in frames}
    with iter_frames(single_face, start=10, stride=7) as frames:
        part = list(frames)
    assert [f.index for f in part] == [14, 21, 28, 35, 42, 49, 56, 63, 70]
    for f in part:
        assert f.t == full[f.index].t
        assert np.array_equal(f.image, full[f.index].image)
    with iter_frames(single_face, start=5, max_frames=3) as frames:
        assert [f.index for f in frames] == [5, 6, 7]
        assert frames.ended_early is False
    with iter_frames(single_face, start=1000) as frames:
        assert list(frames) == [] and frames.frames_decoded == 72 and not frames.ended_early
    with pytest.raises(ValueError):
        iter_frames(single_face, stride=0)


def test_late_start_matches_full_pass(talking_head: Path) -> None:
    with iter_frames(talking_head, start=400, max_frames=4) as frames:
        part = list(frames)
    with iter_frames(talking_head, stride=100) as frames:
        ref = {f.index: f for f in frames}
    assert [f.index for f in part] == [400, 401, 402, 403]
    assert part[0].t == ref[400].t == pytest.approx(400 * 1001 / 24000)
    assert np.array_equal(part[0].image, ref[400].image)


CONTAINERS = [
    ("mkv", "matroska", "libx264"),
    ("avi", "avi", "mpeg4"),
    ("webm", "webm", "libvpx"),
    ("wmv", "asf", "wmv2"),
    ("mov", "mov", "libx264"),
]


@pytest.mark.parametrize(("ext", "fmt", "codec"), CONTAINERS, ids=[c[0] for c in CONTAINERS])
def test_container_matrix(work: Path, clip: list[np.ndarray], ext: str, fmt: str, codec: str) -> None:
    dst = _encode(work / f"clip.{ext}", fmt, codec, clip, list(range(30)), Fraction(1, 30))
    info = probe(dst)
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(30.0, abs=0.5)
    with iter_frames(dst) as frames:
        got = list(frames)
    assert abs(len(got) - 30) <= 1 and not frames.ended_early
    ts = [f.t for f in got]
    assert ts[0] == 0.0 and _strictly_increasing(ts)
    assert ts[-1] == pytest.approx(29 / 30, abs=0.01)
    diff = np.abs(got[0].image.astype(np.int16) - clip[0].astype(np.int16)).mean()
    assert diff < 12, f"decoded picture differs from the source (mean abs diff {diff:.1f})"


@pytest.mark.parametrize(("ext", "fmt"), [("mkv", "matroska"), ("mp4", "mp4")])
def test_vfr_timestamps_are_kept(work: Path, clip: list[np.ndarray], ext: str, fmt: str) -> None:
    pts_ms = [0, 33, 50, 117, 150, 250, 267, 300, 400, 433, 467, 600, 610, 700]
    dst = _encode(work / f"vfr.{ext}", fmt, "libx264", clip[: len(pts_ms)], pts_ms, Fraction(1, 1000))
    with iter_frames(dst) as frames:
        ts = [f.t for f in frames]
    assert len(ts) == len(pts_ms)
    assert np.allclose(ts, np.array(pts_ms) / 1000, atol=1e-3)


def _mux_intra(dst: Path, images: list[np.ndarray], pts_ms: list[int], dts_ms: list[int]) -> Path:
    """Intra-only mpeg4 in Matroska whose packets carry exactly the given pts (ms), as written."""
    with av.open(str(dst), "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = 1  # intra only: decode order is presentation order
        packets = []
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            packets += stream.encode(frame)
        packets += stream.encode()
        for packet, p, d in zip(packets, pts_ms, dts_ms, strict=True):
            packet.pts, packet.dts, packet.time_base = p, d, Fraction(1, 1000)
            out.mux(packet)
    with av.open(str(dst)) as c:
        assert [f.pts for f in c.decode(video=0)] == pts_ms  # the file really has these times
    return dst


def test_duplicated_and_backwards_pts_are_repaired(work: Path, clip: list[np.ndarray]) -> None:
    pts_ms = [0, 33, 33, 100, 67, 133, 167, 167, 200]
    dts_ms = [0, 33, 33, 67, 67, 100, 133, 133, 167]  # the muxer wants dts <= pts, never falling
    dst = _mux_intra(work / "badpts.mkv", clip[: len(pts_ms)], pts_ms, dts_ms)
    with iter_frames(dst) as frames:
        got = list(frames)
    ts = [f.t for f in got]
    assert len(ts) == len(pts_ms) and _strictly_increasing(ts)
    assert ts[:4] == pytest.approx([0.0, 0.033, 0.066, 0.100])  # repeat -> previous + interval
    assert ts[4] > ts[3]  # backwards -> moved forward
    assert [f.index for f in got] == list(range(len(pts_ms)))


def test_constant_timestamps_use_declared_rate(work: Path, clip: list[np.ndarray]) -> None:
    """Every frame stamped 0 (a broken muxer): times come from the declared 30 fps."""
    dst = _mux_intra(work / "zeropts.mkv", clip[:10], [0] * 10, [0] * 10)
    with iter_frames(dst) as frames:
        ts = [f.t for f in frames]
    assert ts == pytest.approx([i / 30 for i in range(10)])


def test_frame_clock_directly() -> None:
    clock = FrameClock(fallback_interval=0.04)
    raw = [10.0, None, 10.08, 10.08, 10.06, 10.40, 10.4004]
    ts = [clock(r) for r in raw]
    assert _strictly_increasing(ts)
    assert ts[:2] == pytest.approx([0.0, 0.04])  # missing before any step: fallback interval
    assert ts[2] == pytest.approx(0.08)  # good again: container time minus the first frame's
    assert ts[3] == pytest.approx(0.16)  # repeated: previous + measured interval (0.08)
    assert ts[4] == pytest.approx(0.24)  # backwards: same
    assert ts[5] == pytest.approx(0.40)  # ahead of the repaired time: container time again
    assert ts[6] == pytest.approx(0.48)  # less than 1 ms after the previous: counts as repeated
    assert clock.repaired == 4
    late = FrameClock(fallback_interval=0.05)
    assert [late(r) for r in (None, None, 3.1, 3.15)] == pytest.approx([0.0, 0.05, 0.1, 0.15])


# --------------------------------------------------------------------------- bad input


def _cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="module")
def bad_files(work: Path, single_face: Path) -> dict[str, Path]:
    (work / "folder.mp4").mkdir()
    (work / "empty.mp4").write_bytes(b"")
    (work / "notes.mp4").write_text("Interview notes\nApplicant seemed nervous.\n" * 20)
    (work / "noise.mp4").write_bytes(np.random.default_rng(7).integers(0, 256, 65536, np.uint8).tobytes())
    _cut(single_face, work / "cut.mp4", 0.3)
    return {p.name: p for p in work.iterdir()} | {"no_such.mp4": work / "no_such.mp4"}


BAD = [
    ("no_such.mp4", "no_such.mp4: file not found"),
    ("folder.mp4", "folder.mp4: is a directory, not a video file"),
    ("empty.mp4", "empty.mp4: file is empty (0 bytes)"),
    ("notes.mp4", "notes.mp4: not a video file (no video stream could be read)"),
    ("noise.mp4", "noise.mp4: not a video file (no video stream could be read)"),
    ("cut.mp4", "cut.mp4: cannot read video, the file is truncated or damaged (moov atom not found)"),
]


@pytest.mark.parametrize(("name", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_clear_media_error(bad_files: dict[str, Path], name: str, message: str) -> None:
    with pytest.raises(MediaError) as err:
        probe(bad_files[name])
    assert str(err.value) == message
    with pytest.raises(MediaError) as err:
        iter_frames(bad_files[name])
    assert str(err.value) == message


def test_truncated_with_moov_first_stops_early(work: Path, talking_head: Path) -> None:
    cut = _cut(talking_head, work / "cut_head.mp4", 0.3)
    assert probe(cut).frame_count == 472  # the index is intact; the media data is not
    with iter_frames(cut) as frames:
        ts = [f.t for f in frames]
    assert 50 < len(ts) < 472 and _strictly_increasing(ts)
    assert frames.ended_early is True
    assert frames.end_note.startswith(f"decoding stopped at frame {len(ts)}")
    assert "truncated" in frames.end_note


def test_truncated_matroska_stops_early(work: Path, talking_head: Path) -> None:
    """Matroska declares no frame count: a cut is noticed from the declared duration instead."""
    whole = work / "head.mkv"
    with av.open(str(talking_head)) as src, av.open(str(whole), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(video=0):
            if packet.dts is not None:  # skip the demuxer's final flush packet
                packet.stream = video
                out.mux(packet)
    with iter_frames(whole) as frames:
        assert sum(1 for _ in frames) == 472 and not frames.ended_early
    with iter_frames(_cut(whole, work / "head_cut.mkv", 0.3)) as frames:
        n = sum(1 for _ in frames)
    assert 50 < n < 472 and frames.ended_early
    assert frames.end_note.startswith(f"decoding stopped at frame {n} (")
    assert "of 19.7 s): the file is truncated or damaged" in frames.end_note


def test_damaged_middle_yields_frames_without_raising(work: Path, single_face: Path) -> None:
    data = bytearray(single_face.read_bytes())
    data[60_000:90_000] = np.random.default_rng(3).integers(0, 256, 30_000, np.uint8).tobytes()
    dst = work / "scrambled.mp4"
    dst.write_bytes(bytes(data))
    with iter_frames(dst) as frames:
        ts = [f.t for f in frames]
    assert len(ts) > 10 and _strictly_increasing(ts)
    assert frames.ended_early
    note = f"decoding stopped at frame {len(ts)}: invalid data (the file is truncated or damaged)"
    assert frames.end_note == note


def test_audio_only_wav(work: Path) -> None:
    dst = work / "voice.wav"
    with wave.open(str(dst), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes())
    with pytest.raises(MediaError, match=r"^voice\.wav: no video stream"):
        probe(dst)
    with pytest.raises(MediaError, match=r"^voice\.wav: no video stream"):
        iter_frames(dst)
    info = probe(dst, require_video=False)
    assert (info.has_video, info.has_audio, info.fps) == (False, True, None)
    assert (info.audio_sample_rate, info.audio_channels, info.audio_codec) == (16000, 1, "pcm_s16le")
    assert info.duration_s == pytest.approx(1.0, abs=0.01)


# --------------------------------------------------------------------------- prefetch


def _settled(baseline: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if threading.active_count() <= baseline:
            return True
        time.sleep(0.02)
    return False


def test_prefetch_keeps_order() -> None:
    assert list(prefetch(range(100), maxsize=3)) == list(range(100))
    with pytest.raises(ValueError):
        prefetch([], maxsize=0)


def test_prefetch_propagates_exceptions() -> None:
    baseline = threading.active_count()

    def broken():
        yield from (1, 2, 3)
        raise RuntimeError("decoder exploded")

    got = []
    with pytest.raises(RuntimeError, match="decoder exploded"):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [1, 2, 3]
    assert _settled(baseline)


def test_prefetch_early_break_stops_thread() -> None:
    baseline = threading.active_count()
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    for item in prefetch(endless(), maxsize=2):
        if item == 5:
            break
    assert _settled(baseline), "prefetch thread still alive after the consumer stopped"
    assert closed.wait(1.0), "the source generator was not closed"


def test_prefetch_frame_reader(single_face: Path) -> None:
    baseline = threading.active_count()
    with iter_frames(single_face, stride=9) as frames:
        direct = [(f.index, f.t) for f in frames]
    fetched = [(f.index, f.t) for f in prefetch(iter_frames(single_face, stride=9))]
    assert fetched == direct and len(direct) == 8
    reader = iter_frames(single_face)
    for frame in prefetch(reader, maxsize=2):
        if frame.index == 3:
            break
    assert _settled(baseline)
    assert reader.frames_read <= 3 + 2 + 2
