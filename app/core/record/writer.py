"""A crash-safe recording file: fragmented MP4 (H.264 + AAC) with sound placed by capture time.

The muxer writes an empty ``moov`` up front and then one self-contained fragment per keyframe
(``movflags=frag_keyframe+empty_moov+default_base_moof``), flushing the file after every packet;
keyframes come every second, so a kill -9 or a power cut leaves a playable file that ends at most a
second or two before the crash.

Picture timestamps are capture times (milliseconds since the first frame). Sound is a continuous
stream, so its position is counted in samples; :class:`AudioAligner` compares that count with the
capture time of each block and inserts silence or drops samples when the two part by more than
:data:`TOLERANCE_S` (a sound card's clock drifts against the system clock by up to ~0.1%, 0.6 s in
ten minutes, if nobody corrects it).
"""

from __future__ import annotations

import errno
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from app.core.errors import VigilError

TOLERANCE_S = 0.02
AAC_PRIMING = 1024  # samples FFmpeg's AAC encoder puts before the sound; no edit list hides them in a fragmented file
KEYFRAME_S = 1.0
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class DiskFull(VigilError):
    """The disk (or the file-size limit) is full: recording stopped, what was written is kept."""


class AudioAligner:
    """Turns timestamped blocks into a gap-free sample stream that stays on the capture clock.

    ``t0`` is the capture time of the first video frame; sound captured before it is dropped and a
    late start is padded with silence, so sample 0 of the file is the first frame's instant.
    """

    def __init__(self, rate: int, channels: int, tolerance_s: float = TOLERANCE_S, lead: int = 0):
        """``lead``: samples the decoder will play before sample 0 (the encoder's priming)."""
        self.rate, self.channels, self.lead = rate, channels, lead
        self.tol = int(round(tolerance_s * rate))
        self.written = 0  # samples handed out so far
        self.inserted = 0  # samples of silence inserted to catch up
        self.dropped = 0  # samples dropped to fall back
        self.max_error_s = 0.0  # largest |position - capture time| seen after correction

    def push(self, samples: np.ndarray, t: float, t0: float) -> np.ndarray:
        """The samples to write for a block whose first sample was captured at ``t`` (seconds)."""
        want = int(round((t - t0) * self.rate)) - self.lead
        err = self.written - want  # > 0: the stream is ahead of the clock
        if self.written == 0 and want < 0:
            samples, err = samples[-want:], 0
        elif err > self.tol or (self.written == 0 and err > 0):
            cut = min(err, len(samples))
            samples = samples[cut:]
            self.dropped += cut
            err -= cut
        elif -err > self.tol or (self.written == 0 and err < 0):
            pad = np.zeros((-err, samples.shape[1]), np.float32)
            samples = np.concatenate([pad, samples])
            self.inserted += -err
            err = 0
        if len(samples):
            self.max_error_s = max(self.max_error_s, abs(err) / self.rate)
        self.written += len(samples)
        return samples


def trim_partial_fragment(path: str | Path) -> int:
    """Cut a fragmented MP4 back to its last complete fragment; returns the bytes removed.

    After a full disk (or a crash in mid-write) the file can end in a half-written ``moof``/``mdat``
    that makes decoders stop with an error. The top-level boxes are walked (8- or 16-byte headers)
    and the file is truncated where the first incomplete box, or a ``moof`` without its ``mdat``,
    begins. A few lines of box walking; no MP4 library offers "truncate to the last fragment".
    """
    p = Path(path)
    size = p.stat().st_size
    good, last_moof, off = 0, None, 0
    with p.open("rb") as f:
        while off + 8 <= size:
            f.seek(off)
            head = f.read(16)
            n, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if n == 1 and len(head) == 16:
                n = int.from_bytes(head[8:16], "big")
            elif n == 0:
                n = size - off
            if n < 8 or off + n > size:
                break
            last_moof = off if kind == b"moof" else (None if kind == b"mdat" else last_moof)
            off += n
            good = off
    cut = last_moof if last_moof is not None else good
    if cut < size:
        with p.open("r+b") as f:
            f.truncate(cut)
    return size - cut


class FragmentedWriter:
    """Writes RGB frames and float32 sound blocks to a fragmented MP4 as they come."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float, audio_rate: int | None = None,
                 audio_channels: int = 1):
        self.path = Path(path)
        self.w, self.h, self.fps = width - width % 2, height - height % 2, fps
        try:
            self.out = av.open(str(self.path), "w", format="mp4",
                               options={"movflags": MOVFLAGS, "flush_packets": "1"})
        except (av.error.FFmpegError, OSError) as exc:
            raise VigilError(f"{path}: cannot write the recording ({exc})".splitlines()[0]) from exc
        self.video = self.out.add_stream("libx264", rate=max(1, round(fps)))
        self.video.width, self.video.height, self.video.pix_fmt = self.w, self.h, "yuv420p"
        self.video.time_base = Fraction(1, 1000)
        self.video.codec_context.time_base = Fraction(1, 1000)
        self.video.codec_context.gop_size = max(1, round(fps * KEYFRAME_S))
        self.video.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "20",
                              "x264-params": f"keyint={max(1, round(fps * KEYFRAME_S))}:scenecut=0"}
        self.audio: Any = None
        self.aligner: AudioAligner | None = None
        if audio_rate:
            self.audio = self.out.add_stream("aac", rate=audio_rate)
            self.audio.layout = "stereo" if audio_channels == 2 else "mono"
            self.audio.time_base = Fraction(1, audio_rate)
            self.aligner = AudioAligner(audio_rate, audio_channels, lead=AAC_PRIMING)
            self._abuf = np.zeros((0, audio_channels), np.float32)
        self.t0: float | None = None
        self.last_ms = -1
        self.frames = 0
        self.bytes_ok = True

    def _mux(self, packets: Any) -> None:
        try:
            self.out.mux(packets)
        except (av.error.FFmpegError, OSError) as exc:
            if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or "space" in str(exc).lower():
                self.bytes_ok = False
                raise DiskFull(f"{self.path}: the disk is full; recording stopped, the file keeps what was "
                               "written until then") from exc
            raise VigilError(f"{self.path}: writing failed ({exc})".splitlines()[0]) from exc

    def write_video(self, image: np.ndarray, t: float) -> None:
        """Encode one RGB frame captured at monotonic time ``t``; a frame of another size is scaled."""
        if self.t0 is None:
            self.t0 = t
        ms = max(int(round((t - self.t0) * 1000)), self.last_ms + 1)
        self.last_ms = ms
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        if frame.width != self.w or frame.height != self.h:
            frame = frame.reformat(width=self.w, height=self.h)
        frame.pts = ms
        frame.time_base = Fraction(1, 1000)
        self._mux(self.video.encode(frame))
        self.frames += 1

    def write_audio(self, samples: np.ndarray, t: float) -> None:
        """Place a block of float32 samples (frames x channels) captured from monotonic time ``t``."""
        if self.audio is None or self.t0 is None or self.aligner is None:
            return  # sound before the first picture has nothing to align with
        self._abuf = np.concatenate([self._abuf, self.aligner.push(samples.astype(np.float32, copy=False), t, self.t0)])
        n = 1024
        while len(self._abuf) >= n:
            self._encode_audio(self._abuf[:n])
            self._abuf = self._abuf[n:]

    def _encode_audio(self, block: np.ndarray) -> None:
        layout = "stereo" if block.shape[1] == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block).reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate = self.audio.rate
        # Sample 0 of the stream is the encoder's priming: real sound starts AAC_PRIMING samples in,
        # which the aligner's lead accounts for. Frames start at pts AAC_PRIMING so the packets start at
        # 0; negative packet times would make the muxer shift every stream, the picture included.
        frame.pts = self._apts = getattr(self, "_apts", AAC_PRIMING - len(block)) + len(block)
        frame.time_base = Fraction(1, self.audio.rate)
        self._mux(self.audio.encode(frame))

    def close(self) -> None:
        """Flush the encoders and finish the file (after a full disk, only close what is open)."""
        try:
            if self.bytes_ok:
                if self.audio is not None and len(self._abuf):
                    self._encode_audio(self._abuf)
                    self._abuf = self._abuf[:0]
                self._mux(self.video.encode(None))
                if self.audio is not None:
                    self._mux(self.audio.encode(None))
        finally:
            try:
                self.out.close()
            except (av.error.FFmpegError, OSError):
                pass  # a full disk: the fragments already out stay playable
            if not self.bytes_ok:
                trim_partial_fragment(self.path)
