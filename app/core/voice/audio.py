"""Decode the audio of a recording to 16 kHz int16 PCM on disk, exposed as a read-only memmap.

:func:`load_audio` decodes the first audio stream of any file FFmpeg reads (wav, flac, mp3, m4a,
mp4, mov, mkv, ...) in packets, resamples with :class:`av.AudioResampler` and writes int16 PCM to a
scratch directory, so memory stays bounded whatever the length of the file. The samples are then
mapped read-only (:class:`numpy.memmap`); :meth:`AudioTrack.slice` converts only the part asked for
to float32.

A stereo source whose two channels carry different signals (one party per channel, as call
recorders write) keeps both channels as well as the mono mix; see :func:`channels_differ`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import av
import av.error
import numpy as np

from app.core.media.probe import damage_hint, damaged, open_media

SR = 16000
SPLIT_CORRELATION = 0.9  # channels correlated more than this are one signal
SPLIT_LEVEL_DB = 6.0  # median frame-by-frame level difference of two separate parties
DEAD_CHANNEL_DB = 60.0  # a channel this far below the other is unused: mono is the live channel
MAX_BAD_PACKETS = 10  # packets that fail to decode before the file counts as damaged
CHUNK = 1 << 20  # samples per chunk when re-reading the PCM files (a multiple of FRAME)
FRAME = 512  # samples per frame of the per-channel level comparison


@dataclass(eq=False)
class AudioTrack:
    """Decoded audio of one file, backed by int16 PCM files on disk.

    Attributes
    ----------
    path : str
        Absolute path of the source file.
    sr : int
        Sample rate of ``samples`` (16 kHz unless asked otherwise).
    duration_s : float
        ``n_samples / sr``; 0 without audio.
    n_samples : int
    source_sr, source_channels : int or None
        Format of the source audio stream (``None`` without one).
    codec : str or None
        Decoder name, e.g. ``"aac"``, ``"mp3"``, ``"pcm_s16le"``.
    has_audio : bool
        False for a video without an audio stream (not an error).
    samples : numpy.ndarray
        Mono mix, int16, shape ``(n_samples,)``: a read-only :class:`numpy.memmap` (an empty
        read-only array when there are no samples).
    channels : numpy.ndarray or None
        int16, shape ``(2, n_samples)`` (a transposed read-only memmap), only when the source is
        stereo and its channels differ; ``None`` otherwise.
    workdir : pathlib.Path or None
        Scratch directory holding the PCM files; removed by :meth:`close` (or when the track is
        garbage collected).
    """

    path: str
    sr: int
    duration_s: float
    n_samples: int
    source_sr: int | None
    source_channels: int | None
    codec: str | None
    has_audio: bool
    samples: np.ndarray = field(repr=False)
    channels: np.ndarray | None = field(default=None, repr=False)
    workdir: Path | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._cleanup = None if self.workdir is None else \
            weakref.finalize(self, shutil.rmtree, str(self.workdir), True)

    def sample_range(self, t0: float, t1: float) -> tuple[int, int]:
        """Sample indices ``[i0, i1)`` of the span ``t0``..``t1`` seconds, clipped to the track."""
        i0 = min(max(int(round(t0 * self.sr)), 0), self.n_samples)
        return i0, min(max(int(round(t1 * self.sr)), i0), self.n_samples)

    def slice(self, t0: float, t1: float, channel: int | None = None) -> np.ndarray:
        """Samples between ``t0`` and ``t1`` seconds as float32 in [-1, 1).

        Parameters
        ----------
        t0, t1 : float
            Clipped to the track; an empty range gives an empty array.
        channel : int or None
            ``None`` for the mono mix, 0 or 1 for one channel of :attr:`channels`.
        """
        if channel is not None and self.channels is None:
            raise ValueError("this track has no separate channels")
        i0, i1 = self.sample_range(t0, t1)
        src = self.samples if channel is None else self.channels[channel]
        return src[i0:i1].astype(np.float32) / 32768.0

    def close(self) -> None:
        """Drop the memory maps and delete the scratch directory (idempotent)."""
        self.samples = _empty()
        self.channels = None
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> AudioTrack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _empty() -> np.ndarray:
    arr = np.zeros(0, dtype=np.int16)
    arr.flags.writeable = False
    return arr


def live_channel(sum_ll: float, sum_rr: float) -> int | None:
    """The only channel in use (0 or 1) when the other is silent or :data:`DEAD_CHANNEL_DB` below
    it, as when a mono microphone is recorded on one side of a stereo file; else ``None``."""
    lo, hi = sorted((sum_ll, sum_rr))
    if hi > 0.0 and (lo <= 0.0 or 10.0 * np.log10(hi / lo) > DEAD_CHANNEL_DB):
        return int(sum_rr > sum_ll)
    return None


def channels_differ(frame_energy: np.ndarray, correlation: float) -> bool:
    """Whether a stereo file holds one party per channel (as call recorders write).

    Parameters
    ----------
    frame_energy : numpy.ndarray
        Mean square of each channel per frame, shape ``(n_frames, 2)``.
    correlation : float
        Whole-file correlation of the two channels.

    Returns
    -------
    bool
        True when the correlation is below :data:`SPLIT_CORRELATION` and, over the active
        frames (louder channel within 30 dB of the file's 95th-percentile frame and above
        -70 dBFS), the median level difference between the channels exceeds
        :data:`SPLIT_LEVEL_DB`. A stereo microphone or music also decorrelates the channels, but
        frame by frame both channels stay at about the same level; with one party per channel the
        other side is silent, or carries only crosstalk, whenever one party speaks.
    """
    if not correlation < SPLIT_CORRELATION or len(frame_energy) == 0:
        return False
    loud = frame_energy.max(axis=1)
    active = loud > max(np.percentile(loud, 95) * 1e-3, 32768.0**2 * 1e-7)
    if active.sum() < 10:
        return False
    diff = np.abs(10.0 * np.log10((frame_energy[active, 0] + 1.0) / (frame_energy[active, 1] + 1.0)))
    return bool(np.median(diff) > SPLIT_LEVEL_DB)


class _Sink:
    """Writes resampled int16 frames to a PCM file and keeps the stereo statistics."""

    def __init__(self, fh: BinaryIO, n_channels: int) -> None:
        self.fh, self.n_channels = fh, n_channels
        self.n = 0
        self.stats = np.zeros(3)  # sum L^2, sum R^2, sum L*R

    def write(self, pcm: np.ndarray) -> None:
        pcm = np.ascontiguousarray(pcm.reshape(-1, self.n_channels), dtype=np.int16)
        if self.n_channels == 2 and len(pcm):
            lr = pcm.astype(np.float64)
            self.stats += [lr[:, 0] @ lr[:, 0], lr[:, 1] @ lr[:, 1], lr[:, 0] @ lr[:, 1]]
        self.fh.write(pcm.tobytes())
        self.n += len(pcm)


def declared_duration(container: Any, stream: Any, has_video: bool) -> float | None:
    """The audio duration the file declares (stream header, else container for audio-only)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if not has_video and container.duration:
        return container.duration / 1e6
    return None


def decoded_frames(container: Any, stream: Any, path: str | os.PathLike[str]) -> Iterator[Any]:
    """The decoded frames of audio ``stream``, skipping packets that fail to decode.

    More than :data:`MAX_BAD_PACKETS` such packets raise the damaged-file error.
    """
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise damaged(path, f"{bad} audio packets failed to decode") from exc
            continue
        yield from frames


def _decode(container: Any, stream: Any, sink: _Sink, sr: int, path: Path) -> None:
    """Decode ``stream`` packet by packet, resample to ``sr`` and write to ``sink``.

    Leading silence is inserted when the stream starts after the container does, so that audio
    time 0 is media time 0 (the frame times of the video line up).
    """
    layout = "stereo" if sink.n_channels == 2 else "mono"
    resampler = av.AudioResampler(format="s16", layout=layout, rate=sr)
    t_start = (container.start_time or 0) / 1e6
    first = True
    for frame in decoded_frames(container, stream, path):
        if first and frame.time is not None and frame.time - t_start > 0.01:
            sink.write(np.zeros(int(round((frame.time - t_start) * sr)) * sink.n_channels))
        first = False
        for out in resampler.resample(frame):
            sink.write(out.to_ndarray())
    for out in resampler.resample(None):
        sink.write(out.to_ndarray())


def _mix_to_mono(stereo: Path, mono: Path, n: int, live: int | None) -> np.ndarray:
    """Write the mono mix (mean of L and R, or the live channel alone) of an int16 stereo file;
    return each channel's mean square per :data:`FRAME`-sample frame, shape ``(n_frames, 2)``."""
    src = np.memmap(stereo, dtype=np.int16, mode="r", shape=(n, 2))
    energy = []
    with open(mono, "wb") as fh:
        for i in range(0, n, CHUNK):
            block = src[i:i + CHUNK]
            out = block[:, live] if live is not None else (block.astype(np.int32).sum(1) // 2)
            fh.write(out.astype(np.int16).tobytes())
            m = len(block) // FRAME * FRAME
            sq = block[:m].astype(np.float32) ** 2
            energy.append(sq.reshape(-1, FRAME, 2).mean(axis=1))
    del src
    return np.concatenate(energy) if energy else np.zeros((0, 2), np.float32)


def _map(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    return np.memmap(path, dtype=np.int16, mode="r", shape=shape) if shape[0] else _empty()


def load_audio(path: str | os.PathLike[str], sr: int = SR, cache_dir: Path | None = None) -> AudioTrack:
    """Decode the first audio stream of a media file to mono int16 PCM at ``sr`` on disk.

    Parameters
    ----------
    path : str or os.PathLike
        Audio (wav, flac, mp3, m4a, ...) or video file.
    sr : int, default 16000
        Output sample rate.
    cache_dir : pathlib.Path or None
        Where the scratch directory for the PCM files is created (default: the system temp
        directory). The track owns that directory and removes it on :meth:`AudioTrack.close`.

    Returns
    -------
    AudioTrack
        ``has_audio`` False (no samples, duration 0) for a video without an audio stream.

    Raises
    ------
    MediaError
        The file is missing, empty, not media, truncated or damaged, with the messages of
        :func:`app.core.media.probe.open_media`. A file whose decoded audio is clearly shorter
        than the duration its header declares counts as truncated.
    """
    container, video = open_media(path, require_video=False)
    p = Path(path)
    try:
        if not container.streams.audio:
            return AudioTrack(os.path.abspath(p), sr, 0.0, 0, None, None, None, False, _empty())
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        n_src = int(ctx.channels or 1)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="vigil-audio-", dir=cache_dir))
        try:
            return _load(container, stream, video is not None, p, sr, workdir, n_src)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    finally:
        container.close()


def _load(container: Any, stream: Any, has_video: bool, p: Path, sr: int, workdir: Path,
          n_src: int) -> AudioTrack:
    ctx = stream.codec_context
    n_out = 2 if n_src == 2 else 1
    raw = workdir / ("stereo.s16" if n_out == 2 else "mono.s16")
    with open(raw, "wb") as fh:
        sink = _Sink(fh, n_out)
        try:
            _decode(container, stream, sink, sr, p)
        except av.error.FFmpegError as exc:
            raise damaged(p, damage_hint(p) or str(exc).split(":")[0].strip().lower()) from exc
    n = sink.n
    declared = declared_duration(container, stream, has_video)
    if declared is not None and n / sr < declared - max(0.5, 0.02 * declared):
        raise damaged(p, f"decoded {n / sr:.1f} s of the {declared:.1f} s the file declares")
    channels = None
    if n_out == 2:
        ll, rr, lr = sink.stats
        live = live_channel(ll, rr)
        energy = _mix_to_mono(raw, workdir / "mono.s16", n, live)
        if live is None and min(ll, rr) > 0 and channels_differ(energy, lr / np.sqrt(ll * rr)):
            channels = _map(raw, (n, 2)).T
        else:
            raw.unlink()
    return AudioTrack(os.path.abspath(p), sr, n / sr, n, int(ctx.sample_rate or 0) or None, n_src,
                      ctx.codec.canonical_name, True, _map(workdir / "mono.s16", (n,)), channels, workdir)
