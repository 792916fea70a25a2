"""Probe a media file: what it is, how long, how fast, and whether it can be read at all.

Every way a file can be unusable (missing, a directory, empty, not media, truncated, no video)
surfaces as a :class:`~app.core.errors.MediaError` whose message is one clear line that starts with
the file name. :func:`open_media` holds that logic and is shared with the frame reader.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import av.error
from av.stream import Disposition

from app.core.errors import MediaError

CHUNK = 1 << 20  # sha256 streaming chunk: 1 MiB
FPS_SAMPLE = 120  # frames whose timestamps give the measured fps

# A file that starts like one of these containers and still fails to open is damaged, not "not a
# video": Matroska/WebM (EBML), RIFF (AVI, WAV), ASF (WMV), Ogg, FLV.
_SIGNATURES = (b"\x1a\x45\xdf\xa3", b"RIFF", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", b"OggS", b"FLV")
_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"moof"}


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found out about a media file.

    Attributes
    ----------
    path : str
        Absolute path.
    size_bytes : int
    sha256 : str
        Hex sha256 of the whole file (streamed).
    container : str
        FFmpeg's format name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"matroska,webm"``, ``"asf"``.
    duration_s : float or None
        Container duration, else the video stream's, else frame_count / fps.
    fps : float or None
        Measured from the presentation timestamps of the first ~120 frames (see
        :func:`typical_interval`); falls back to the declared rate. ``None`` without video.
    fps_container : float or None
        Declared rate: the stream's average rate, else its base rate (``r_frame_rate``).
    width, height : int
        Coded frame size (0 without video).
    video_codec, audio_codec : str or None
        Decoder names, e.g. ``"h264"``, ``"aac"``.
    has_audio, has_video : bool
        Whether an audio stream / a video stream (cover art excluded) exists.
    audio_sample_rate, audio_channels : int or None
        First audio stream's format.
    frame_count : int
        Declared frame count (less samples the container marks as discarded), else estimated.
    rotation : int
        Display-matrix rotation, degrees counterclockwise in {0, 90, 180, 270}; 0 without one.
        The reader does not rotate frames.
    """

    path: str
    size_bytes: int
    sha256: str
    container: str
    duration_s: float | None
    fps: float | None
    fps_container: float | None
    width: int
    height: int
    video_codec: str | None
    audio_codec: str | None
    has_audio: bool
    has_video: bool
    audio_sample_rate: int | None
    audio_channels: int | None
    frame_count: int
    rotation: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view of the fields."""
        return asdict(self)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (never the whole file at once)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`; :class:`MediaError` when it is missing, a directory or empty."""
    p = Path(path)
    name = p.name or str(p)
    if not p.exists():
        raise MediaError(f"{name}: file not found")
    if p.is_dir():
        raise MediaError(f"{name}: is a directory, not a video file")
    if not p.is_file():
        raise MediaError(f"{name}: not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(f"{name}: file is empty (0 bytes)")
    return p


def damage_hint(path: Path) -> str | None:
    """Why an mp4/mov file looks damaged, from its top-level boxes; ``None`` if it looks whole.

    ``"moov atom not found"`` when the index box is missing, ``"file ends inside the 'mdat' box"``
    when the last box runs past the end of the file (a cut-off download or copy).
    """
    try:
        size, pos, seen = path.stat().st_size, 0, set()
        with open(path, "rb") as fh:
            if fh.read(8)[4:8] not in _BMFF_BOXES:
                return None
            while pos + 8 <= size:
                fh.seek(pos)
                hdr = fh.read(16)
                box, kind = int.from_bytes(hdr[:4], "big"), hdr[4:8]
                box = int.from_bytes(hdr[8:16], "big") if box == 1 else (box or size - pos)
                if box < 8:
                    return "invalid box structure"
                seen.add(kind)
                if pos + box > size:
                    break
                pos += box
    except OSError:
        return None
    if b"moov" not in seen:
        return "moov atom not found"
    return f"file ends inside the '{kind.decode('latin-1')}' box" if pos < size else None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip().lower() or type(exc).__name__


def damaged(path: Path, detail: str) -> MediaError:
    """The error for a file that is media but cannot be read: truncated or damaged."""
    return MediaError(f"{path.name}: cannot read video, the file is truncated or damaged ({detail})")


def open_media(path: str | os.PathLike[str], *, require_video: bool = True) -> tuple[Any, Any]:
    """Open a media file with PyAV: ``(container, video_stream or None)``.

    Raises
    ------
    MediaError
        With a one-line message naming the file for every reason it cannot be used.
    """
    p = check_file(path)
    name = p.name
    try:
        container = av.open(str(p), mode="r")
    except av.error.InvalidDataError as exc:
        with open(p, "rb") as fh:
            head = fh.read(16)
        media = head[4:8] in _BMFF_BOXES or head.startswith(_SIGNATURES)
        hint = damage_hint(p) or (_reason(exc) if media else None)
        if hint is not None:
            raise damaged(p, hint) from exc
        raise MediaError(f"{name}: not a video file (no video stream could be read)") from exc
    except PermissionError as exc:
        raise MediaError(f"{name}: cannot read file (permission denied)") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{name}: cannot read video ({_reason(exc)})") from exc
    videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    has_audio = bool(container.streams.audio)
    if videos or (has_audio and not require_video):
        return container, (videos[0] if videos else None)
    container.close()
    if has_audio:
        raise MediaError(f"{name}: no video stream (audio only)")
    raise MediaError(f"{name}: not a video file (no video stream could be read)")


def declared_frames(stream: Any) -> int:
    """Frames the container declares, less those it marks as discarded (edit lists); 0 if unknown."""
    frames = int(stream.frames or 0)
    entries = stream.index_entries if frames else ()
    return frames - sum(e.is_discard for e in entries) if len(entries) == frames else frames


def typical_interval(steps: Sequence[float]) -> float | None:
    """The frame interval that a list of timestamp steps shows, robust to VFR gaps and rounding.

    The median of the positive steps, refined by averaging the steps within 25 % of it: a dropped
    frame (a double step) does not move it, and millisecond timestamps (33, 34, 33 ms) still give
    30 fps rather than 30.3. ``None`` when no step is positive.
    """
    positive = [s for s in steps if s > 0]
    if not positive:
        return None
    mid = statistics.median(positive)
    near = [s for s in positive if abs(s - mid) <= 0.25 * mid]
    return sum(near) / len(near) if near else mid


def _rate(value: Any) -> float | None:
    return float(value) if value else None


def _video_fields(container: Any, stream: Any, path: Path, duration: float | None) -> dict[str, Any]:
    """fps (measured from the first packets' timestamps), declared rate, size, codec, frame count,
    and the first frame's rotation. Decodes until one frame comes out, only demuxes the rest."""
    stamps: list[int] = []
    rotation: int | None = None
    try:
        for packet in container.demux(stream):
            if rotation is None:
                for frame in packet.decode():
                    rotation = int(round(frame.rotation or 0)) % 360
                    break
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is not None:
                stamps.append(ts)
            if rotation is not None and len(stamps) >= FPS_SAMPLE:
                break
    except av.error.FFmpegError as exc:
        if rotation is None:
            raise damaged(path, damage_hint(path) or _reason(exc)) from exc
    if rotation is None:
        raise damaged(path, "no frame could be decoded")
    stamps.sort()
    step = typical_interval([b - a for a, b in zip(stamps, stamps[1:])])
    declared = _rate(stream.average_rate) or _rate(stream.base_rate)
    fps = (1.0 / float(step * stream.time_base) if step and stream.time_base else None) or declared
    fps = fps or _rate(stream.guessed_rate)
    if duration is None and stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    frames = declared_frames(stream) or (round(duration * fps) if duration and fps else 0)
    ctx = stream.codec_context
    return dict(fps=fps, fps_container=declared, width=ctx.width, height=ctx.height,
                video_codec=ctx.codec.canonical_name, frame_count=frames, rotation=rotation,
                duration_s=duration if duration is not None else (frames / fps if fps else None))


def probe(path: str | os.PathLike[str], *, require_video: bool = True) -> MediaInfo:
    """Describe a media file.

    Parameters
    ----------
    path : str or os.PathLike
    require_video : bool, default True
        When False an audio-only file is accepted (``has_video`` False) instead of raising.

    Returns
    -------
    MediaInfo

    Raises
    ------
    MediaError
        The file is missing, a directory, empty, not media, truncated or damaged, or (with
        ``require_video``) has no video stream.
    """
    container, video = open_media(path, require_video=require_video)
    p = Path(path)
    try:
        audio = container.streams.audio[0].codec_context if container.streams.audio else None
        fields: dict[str, Any] = dict(
            duration_s=container.duration / 1e6 if container.duration else None, fps=None,
            fps_container=None, width=0, height=0, video_codec=None, frame_count=0, rotation=0,
        )
        if video is not None:
            fields.update(_video_fields(container, video, p, fields["duration_s"]))
        return MediaInfo(
            path=os.path.abspath(p), size_bytes=p.stat().st_size, sha256=file_sha256(p),
            container=container.format.name, has_video=video is not None,
            has_audio=audio is not None,
            audio_codec=audio.codec.canonical_name if audio else None,
            audio_sample_rate=(audio.sample_rate or None) if audio else None,
            audio_channels=(audio.channels or None) if audio else None,
            **fields,
        )
    finally:
        container.close()
