"""Capture integrity of a media file: frozen and looped frames, timing breaks, format changes.

:func:`file_integrity` makes one streaming pass over the video (PyAV, threaded decoding, a 32 x 18
grey thumbnail per frame, nothing else kept) and returns one :class:`Finding` per check; an analysis
instead hands an :class:`IntegrityScan` to the video pass's decoder, which fills it on the way (the
file is decoded once). Each finding scores 0-1 on its own scale; the report's score is a noisy-OR of
the finding scores, each first multiplied by the weight in :data:`WEIGHTS`:
``score = 1 - prod(1 - WEIGHTS[check] * finding.score)``.

Only what honest capture cannot produce carries weight: a frozen or looped picture, frames missing
from the timeline or a picture that changes format (a splice), a virtual camera. Re-encoding and
re-packaging are what every meeting recorder, messenger and converter does to an honest recording
(H.264/H.265 at any quality, any container), so the ``metadata`` (which program wrote the file) and
``reencode`` (bitrate, sound/picture alignment, edit lists) findings are shown as context with
weight 0; irregular frame spacing (variable-frame-rate phones, screen captures) is context too, and
only a gap in the timeline or a timestamp running backwards scores in ``timing``. A jump cut
re-encoded into one continuous stream of one format is *not* detected: on the devset, an honest
clip's largest frame-to-frame change stood out from its neighbours as much as such a cut did.

A frozen stretch must be still at two scales: the 32 x 18 thumbnail, and a 128 x 72 picture compared
only where the thumbnail already is (nearly) still. A live face sitting still for half a second
changes the 128 x 72 picture by 0.02-0.3 grey levels on average (camera noise, small movements); a
repeated frame re-encoded by x264, x265 or VP9 at any quality by 0.00-0.01. FINE_SAME / FINE_NEAR
were set on the devset clips the 32 x 18 test alone called frozen (a still news presenter, two
LivePortrait driving clips, a video-retalking head, a DFDC clip) and on frozen copies of one of them;
``tests/test_integrity_reencode.py`` proves them on other clips.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av.error
import cv2
import numpy as np

from app.core.forensics._virtualcam import (VIRTUAL_CAMERAS, CaptureRecord, interval_summary, judge_metadata,
                                            match_virtual_camera)
from app.core.media.probe import damaged, open_media

__all__ = ["VIRTUAL_CAMERAS", "CaptureRecord", "Finding", "IntegrityReport", "IntegrityScan", "WEIGHTS",
           "file_integrity", "match_virtual_camera"]

WEIGHTS = {"virtual_camera": 1.0, "frozen": 0.9, "loop": 1.0, "format_change": 0.8, "timing": 0.8,
           "metadata": 0.0, "reencode": 0.0}  # metadata and reencode: context only (module doc)
THUMB = (32, 18)  # width, height of the grey thumbnail compared between frames
FINE = (128, 72)  # the finer grey picture compared where the thumbnail is still
FINE_SAME, FINE_NEAR = 0.015, 0.15  # 128 x 72 mean |diff| of a pair that is "the same" / "nearly the same"
FROZEN_MAX, FROZEN_MEAN = 2, 0.1  # consecutive thumbnails this close (max / mean |diff|) are "the same"
NEAR_MAX, NEAR_MEAN = 3, 0.25  # ... and this close "nearly" (an encoder still refining a repeated frame)
EDGE_S = 0.5  # timing gaps this close to the first or last frame are not counted
FROZEN_MIN_S = 0.5  # a still picture at least this long is reported
LOOP_MIN = 15  # frames a repeated sequence must span
LOOP_MIN_GAP = 30  # frames between the two copies, at least
# The copies must match better than LOOP_SHARP x the same frames shifted by LOOP_SHIFT: a replayed
# copy matches at one exact offset, a look-alike stretch of honest video about as well at nearby
# ones. Set on the devset originals (no honest chain below 0.53) and on looped copies of one of
# them (0.03 near-lossless, 0.08 in VP9, 0.19 after x264 CRF 35).
LOOP_SHIFT, LOOP_SHARP = 3, 0.35
_LUMA_FIRST = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray",
               "yuv411p", "yuv440p", "yuvj440p"}  # 8-bit formats whose first plane is the grey picture
BUCKET_MAX = 64  # hash buckets larger than this (static background rows) are not searched

@dataclass
class Finding:
    """One check's result: ``score`` 0 (nothing odd) to 1 (strong sign of manipulation)."""

    check: str
    score: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class IntegrityReport:
    """All findings for one file; ``score`` is the weighted noisy-OR described in the module doc."""

    path: str
    findings: list[Finding]
    score: float
    capture: CaptureRecord | None
    summary: dict[str, Any]

    def finding(self, check: str) -> Finding | None:
        """The finding of one check, ``None`` when it did not run."""
        return next((f for f in self.findings if f.check == check), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view."""
        return dict(path=self.path, score=self.score, summary=self.summary,
                    capture=self.capture.to_dict() if self.capture else None,
                    findings=[asdict(f) for f in self.findings])


def metadata_finding(container: Any) -> Finding:
    """Which program wrote the file, and whether it looks like a camera/phone original (a weak cue)."""
    return Finding("metadata", *judge_metadata(container))


def _seconds(value: Any, tb: Any) -> float | None:
    return float(value * tb) if value is not None and tb else None


def reencode_finding(container: Any, video: Any, scan: dict[str, Any]) -> Finding:
    """Cheap re-encoding traces: bits per pixel, audio/video offsets, edit lists, keyframe spacing."""
    cues, ev, score = [], {}, 0.0
    w, h, n = video.codec_context.width, video.codec_context.height, len(scan["times"])
    if n and w and h:
        ev["bits_per_pixel"] = round(scan["bytes"] * 8 / (w * h * n), 4)
        if ev["bits_per_pixel"] < 0.01:
            cues.append(f"very low bitrate for its size ({ev['bits_per_pixel']} bits/pixel)")
            score += 0.1
    v0, vd = _seconds(video.start_time, video.time_base), _seconds(video.duration, video.time_base)
    if container.streams.audio:
        a = container.streams.audio[0]
        a0, ad = _seconds(a.start_time, a.time_base), _seconds(a.duration, a.time_base)
        ev.update(audio_start_s=a0, video_start_s=v0, audio_duration_s=ad, video_duration_s=vd)
        if a0 is not None and v0 is not None and abs(a0 - v0) > 0.5:
            cues.append(f"sound and picture start {abs(a0 - v0):.1f} s apart")
            score += 0.15
        if ad is not None and vd is not None and abs(ad - vd) > 0.5:
            cues.append(f"sound and picture lengths differ by {abs(ad - vd):.1f} s")
            score += 0.15
    entries = video.index_entries if video.frames and video.frames < 500_000 else ()
    ev["discarded_frames"] = sum(e.is_discard for e in entries)
    if ev["discarded_frames"]:
        cues.append(f"an edit list hides {ev['discarded_frames']} frames")
        score += 0.1
    keys = np.flatnonzero(np.asarray(scan["keyframes"], bool))
    gops = np.diff(keys)
    ev.update(keyframes=int(keys.size), gop_median=float(np.median(gops)) if gops.size else None,
              gop_min=int(gops.min()) if gops.size else None, gop_max=int(gops.max()) if gops.size else None,
              b_frames=bool(video.codec_context.has_b_frames))
    if not cues:
        return Finding("reencode", 0.0, "No cheap re-encoding traces (bitrate, sound/picture alignment, "
                       "edit lists) stand out.", ev)
    return Finding("reencode", min(score, 0.4), "Possible re-encoding traces: " + "; ".join(cues)
                   + ". Each has innocent causes: context only, not counted in the score.", ev)


def timing_finding(times: list[float]) -> Finding:
    """Frame-interval regularity from presentation timestamps: jitter, irregular share, dropped stretches."""
    t = np.asarray(times, float)
    backwards = int(np.sum(np.diff(t) <= 0)) if t.size > 1 else 0
    t = np.unique(t)  # sorted, repeats dropped
    iv = np.diff(t) * 1000.0
    if iv.size < 2:
        return Finding("timing", 0.0, "Too few frames to judge frame timing.", dict(intervals=int(iv.size)))
    med = float(np.median(iv))
    irregular = float(np.mean(np.abs(iv - med) > 0.5 * med))
    # A gap within EDGE_S of either end is not a join: trimming a file by stream copy drops the
    # frames that referenced a cut-off one (the last few B-frames), with nothing after them.
    inner = (t[:-1] - t[0] >= EDGE_S) & (t[-1] - t[1:] >= EDGE_S)
    gap_idx = np.flatnonzero((iv > 3 * med) & inner)
    gaps = [dict(after_s=round(float(t[i] - t[0]), 3), ms=round(float(iv[i]), 1)) for i in gap_idx]
    gap_s = float(iv[gap_idx].sum() - med * gap_idx.size) / 1000.0
    ev = dict(interval_summary(iv.tolist()), jitter_cv=float(np.std(iv) / med), irregular_share=irregular,
              gaps=gaps[:50], gap_count=int(gap_idx.size), missing_s=round(gap_s, 3), backwards=backwards,
              vfr=bool(irregular > 0.02 or np.std(iv) / med > 0.1))
    # Irregular spacing alone is context (phones and screen captures record so); only missing
    # stretches and timestamps running backwards score.
    score = (min(0.9, 0.5 + 0.3 * gap_s) if gaps else 0.0) + (0.2 if backwards else 0.0)
    if gaps:
        text = (f"The video skips {gap_s:.1f} s in {len(gaps)} place(s) (first after {gaps[0]['after_s']:.1f} s): "
                "frames are missing, as when a recording is cut or the camera stalls.")
    elif irregular > 0.02:
        text = (f"Frame timing is irregular ({irregular:.0%} of intervals off by more than half); phones record "
                "this way, and so do screen and virtual-camera captures (context only, not counted).")
    else:
        text = f"Frame timing is regular (about {1000 / med:.1f} frames per second)."
    return Finding("timing", min(1.0, score), text, ev)


def frozen_finding(dmax: np.ndarray, dmean: np.ndarray, times: list[float],
                   fmean: np.ndarray | None = None) -> Finding:
    """Runs of identical consecutive pictures: a frozen picture (a stalled or replayed feed).

    A run is a stretch of "nearly the same" pairs, at least half of them "the same", lasting at least
    FROZEN_MIN_S; the loose bound keeps the first frames of a freeze, which an encoder still refines.
    ``fmean`` (the 128 x 72 mean difference of each pair, see the module doc) must also stay within
    FINE_SAME / FINE_NEAR for a pair to count as "the same" / "nearly the same".
    """
    fine = np.zeros(len(dmax)) if fmean is None or len(fmean) != len(dmax) else np.asarray(fmean, float)
    same = (dmax <= FROZEN_MAX) & (dmean <= FROZEN_MEAN) & (fine <= FINE_SAME)
    near = (dmax <= NEAR_MAX) & (dmean <= NEAR_MEAN) & (fine <= FINE_NEAR)
    runs, start = [], None
    for i, s in enumerate(np.append(near, False)):
        if s and start is None:
            start = i
        elif not s and start is not None:  # pairs start..i-1 are the same: frames start..i
            dur = times[i] - times[start]
            if dur >= FROZEN_MIN_S and same[start:i].mean() >= 0.5:
                runs.append(dict(first_frame=start, last_frame=i, start_s=round(times[start] - times[0], 3),
                                 seconds=round(dur, 3)))
            start = None
    ev = dict(duplicate_frames=int(same.sum()), duplicate_share=float(same.mean()) if same.size else 0.0,
              runs=runs[:50], run_count=len(runs))
    if not runs:
        return Finding("frozen", 0.0, "No frozen stretches (the picture never stands still for "
                       f"{FROZEN_MIN_S} s or more).", ev)
    longest = max(runs, key=lambda r: r["seconds"])
    total = sum(r["seconds"] for r in runs)
    return Finding("frozen", min(1.0, 0.6 + 0.3 * total), f"The picture is completely frozen for {total:.1f} s "
                   f"in {len(runs)} stretch(es), the longest {longest['seconds']:.1f} s from frame "
                   f"{longest['first_frame']} to {longest['last_frame']}. A frozen face is typical of a "
                   "replayed or stalled feed.", ev)


def loop_finding(small: np.ndarray, dmean: np.ndarray, times: list[float]) -> Finding:
    """Repeated sequences: the same run of >= LOOP_MIN moving frames appearing twice (a looped clip).

    Each 16 x 9 thumbnail row gives a 15-bit gradient-sign key; frames sharing a key are candidate
    pairs, pairs along one diagonal (same offset) that chain for LOOP_MIN frames are verified on the
    thumbnails: in a moving picture, the copies must match much more closely at their offset than
    at the offset shifted by LOOP_SHIFT frames (a sharp match survives re-encoding; honest
    look-alike stretches match about as well a few frames off).
    """
    n = len(small)
    ev: dict[str, Any] = dict(loops=[])
    if n < 2 * LOOP_MIN + LOOP_MIN_GAP:
        return Finding("loop", 0.0, "Too short to look for repeated sequences.", ev)
    f = small.astype(np.int16)
    bits = (f[:, :, 1:] > f[:, :, :-1]).astype(np.int64)
    keys = (bits << np.arange(bits.shape[2])).sum(axis=2)  # n x rows
    found_pairs = []  # each pair encoded as offset * n + first frame
    for col in keys.T:
        order = np.argsort(col, kind="stable")
        bounds = np.flatnonzero(np.diff(col[order])) + 1
        for group in np.split(order, bounds):
            if 1 < group.size <= BUCKET_MAX:
                g = np.sort(group)
                a, b = np.triu_indices(g.size, 1)
                off = g[b] - g[a]
                keep = off >= LOOP_MIN_GAP
                found_pairs.append(off[keep] * n + g[a][keep])
    codes = np.unique(np.concatenate(found_pairs)) if found_pairs else np.zeros(0, np.int64)
    offs, firsts = codes // n, codes % n
    breaks = np.flatnonzero((np.diff(offs) != 0) | (np.diff(firsts) > 3)) + 1
    motion = np.append(dmean, 0.0)
    found = []
    for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, codes.size]):  # chains along one diagonal
        off, a, b = int(offs[lo]), int(firsts[lo]), int(firsts[hi - 1]) + 1
        if b - a < LOOP_MIN or b + off > n:
            continue
        cross = np.abs(f[a:b] - f[a + off:b + off]).mean(axis=(1, 2))
        move = motion[a:b - 1]
        side = min((float(np.abs(f[a:b] - f[a + o:b + o]).mean()) for o in (off - LOOP_SHIFT, off + LOOP_SHIFT)
                    if o >= 1 and b + o <= n), default=np.inf)
        sharp = float(cross.mean()) / side if side > 0 else 0.0
        if np.median(move) > FROZEN_MEAN and sharp < LOOP_SHARP:
            found.append(dict(first=a, last=b - 1, copy_first=a + off, copy_last=b - 1 + off,
                              start_s=round(times[a] - times[0], 3), copy_start_s=round(times[a + off] - times[0], 3),
                              seconds=round(times[b - 1] - times[a], 3), cross_diff=float(cross.mean()),
                              motion=float(move.mean()), sharpness=round(sharp, 3)))
    ev["candidate_pairs"] = int(codes.size)
    found.sort(key=lambda r: -r["seconds"])
    ev["loops"] = found[:20]
    if not found:
        return Finding("loop", 0.0, "No repeated sequences of frames were found.", ev)
    top = found[0]
    return Finding("loop", min(1.0, 0.6 + 0.2 * top["seconds"]), f"A {top['seconds']:.1f} s stretch of moving "
                   f"video appears twice (at {top['start_s']:.1f} s and again at {top['copy_start_s']:.1f} s): "
                   "the clip is looped, as when a prepared recording is replayed.", ev)


def format_finding(changes: list[dict[str, Any]]) -> Finding:
    """Frame size or pixel format changing mid-stream (spliced sources)."""
    ev = dict(changes=changes[:50], change_count=len(changes))
    if not changes:
        return Finding("format_change", 0.0, "Frame size and pixel format stay the same throughout.", ev)
    c = changes[0]
    return Finding("format_change", min(0.9, 0.6 + 0.1 * (len(changes) - 1)),
                   f"The picture changes from {c['from']} to {c['to']} at {c['t']:.1f} s (frame {c['frame']}): "
                   "material from different sources or settings was joined.", ev)


def _thumbs(frame: Any) -> tuple[np.ndarray, np.ndarray]:
    """THUMB- and FINE-sized grey pictures: the luma plane read in place (no colour conversion), area-averaged."""
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        grey = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:frame.height, :frame.width]
    else:
        grey = frame.to_ndarray(format="gray")
    # Halve while the picture is still 4x the thumbnail or more (OpenCV's 2x2 area path is ~5x
    # faster than one large area resize; this runs on every decoded frame of an analysis).
    w, h = THUMB
    fine = None
    while grey.shape[1] >= 4 * w and grey.shape[0] >= 4 * h and not grey.shape[0] % 2 and not grey.shape[1] % 2:
        if fine is None and grey.shape[1] < 2 * FINE[0]:
            fine = cv2.resize(grey, FINE, interpolation=cv2.INTER_AREA)
        grey = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if fine is None:
        fine = cv2.resize(grey, FINE, interpolation=cv2.INTER_AREA)
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA), fine


class IntegrityScan:
    """The per-frame half of the check, fed by a decoder that is reading the file anyway.

    :class:`~app.core.media.reader.FrameReader` accepts it as an observer, so the video pass of an
    analysis collects what the checks need while it decodes (no second decode of the file):
    ``on_packet`` for every demuxed video packet, ``on_frame`` for every decoded frame, and
    ``on_end`` once the stream has ended (``error`` when decoding stopped on damaged data) while the
    container is still open. A scan whose reader was closed early (a cancelled analysis) never sees
    ``on_end`` and stays incomplete; :meth:`report` then refuses.
    """

    def __init__(self, max_frames: int | None = None) -> None:
        self.max_frames = max_frames
        self.times: list[float] = []
        self.keyframes: list[bool] = []
        self.changes: list[dict[str, Any]] = []
        self.small: list[np.ndarray] = []
        self.dmax: list[int] = []
        self.dmean: list[float] = []
        self.fmean: list[float] = []  # 128 x 72 mean |diff| of consecutive frames (255: thumbnails differ)
        self.bytes = 0
        self.error: str | None = None
        self.complete = False
        self.scan_s = 0.0
        self._prev: np.ndarray | None = None
        self._prev_fine: np.ndarray | None = None
        self._fmt: str | None = None
        self._fixed: list[Finding] = []
        self._tb: Any = None

    @property
    def full(self) -> bool:
        """``max_frames`` frames seen: the caller may stop decoding."""
        return self.max_frames is not None and len(self.times) >= self.max_frames

    def on_packet(self, packet: Any) -> None:
        """Count the bytes and keyframes of one demuxed video packet."""
        self._tb = self._tb or packet.time_base
        if packet.size and not self.full:
            self.bytes += packet.size
            self.keyframes.append(bool(packet.is_keyframe))

    def on_frame(self, frame: Any) -> None:
        """Timestamp, format and a grey thumbnail of one decoded frame."""
        if self.full:
            return
        t0 = time.perf_counter()
        times, (w, h) = self.times, THUMB
        tb = frame.time_base or self._tb
        t = float(frame.pts * tb) if frame.pts is not None and tb else (times[-1] if times else 0.0)
        now = f"{frame.width}x{frame.height} {frame.format.name}"
        if self._fmt is not None and now != self._fmt:
            self.changes.append({"frame": len(times), "t": t - times[0], "from": self._fmt, "to": now})
        self._fmt = now
        thumb, fine = _thumbs(frame)
        thumb = thumb.astype(np.int16)
        if self._prev is not None:
            d = np.abs(thumb - self._prev)
            self.dmax.append(int(d.max()))
            self.dmean.append(float(d.mean()))
            near = self.dmax[-1] <= NEAR_MAX and self.dmean[-1] <= NEAR_MEAN  # else the fine picture is not compared
            self.fmean.append(float(cv2.absdiff(fine, self._prev_fine).mean()) if near else 255.0)
        self._prev, self._prev_fine = thumb, fine
        self.small.append(thumb.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).astype(np.uint8))
        times.append(t)
        self.scan_s += time.perf_counter() - t0

    def on_end(self, container: Any, video: Any, error: str | None = None) -> None:
        """The stream ended (``error``: why decoding stopped early); read the container-level facts."""
        self.error = error
        if self.times:
            self._fixed = [metadata_finding(container), reencode_finding(container, video, self._arrays())]
        self.complete = True

    def _arrays(self) -> dict[str, Any]:
        w, h = THUMB
        return dict(error=self.error, times=self.times, keyframes=self.keyframes, changes=self.changes,
                    bytes=self.bytes, dmax=np.asarray(self.dmax), dmean=np.asarray(self.dmean, float),
                    fmean=np.asarray(self.fmean, float),
                    small=np.asarray(self.small, np.uint8).reshape(-1, h // 2, w // 2))

    def report(self, path: str | os.PathLike[str], capture: CaptureRecord | None = None) -> IntegrityReport:
        """The findings and the weighted score of a complete scan of ``path``.

        Raises
        ------
        MediaError
            No frame was decoded.
        ValueError
            The scan is incomplete (the decoder was stopped before the end).
        """
        if not self.complete:
            raise ValueError("integrity scan incomplete: the file was not read to its end")
        if not self.times:
            raise damaged(Path(path), self.error or "no frame could be decoded")
        t0 = time.perf_counter()
        scan = self._arrays()
        findings = [*self._fixed, timing_finding(scan["times"]),
                    frozen_finding(scan["dmax"], scan["dmean"], scan["times"], scan["fmean"]),
                    loop_finding(scan["small"], scan["dmean"], scan["times"]), format_finding(scan["changes"])]
        if capture is not None:
            vc = capture.virtual_camera or (match_virtual_camera(capture.device_name) if capture.device_name else None)
            findings.insert(0, Finding("virtual_camera", 1.0 if vc else 0.0,
                                       f"Captured through a virtual camera ({vc}): software, not a lens, supplied "
                                       "the picture." if vc else "The capture device is not a known virtual camera.",
                                       dict(device_name=capture.device_name, product=vc)))
        score = 1.0 - float(np.prod([1.0 - WEIGHTS[f.check] * f.score for f in findings]))
        summary = dict(frames=len(self.times), seconds=round(self.times[-1] - self.times[0], 3),
                       scan_s=round(self.scan_s + time.perf_counter() - t0, 3), weights=dict(WEIGHTS),
                       decode_error=self.error,
                       flagged=[f.check for f in findings if WEIGHTS[f.check] * f.score >= 0.15])
        return IntegrityReport(os.path.abspath(path), findings, round(score, 4), capture, summary)


def file_integrity(path: str | os.PathLike[str], max_frames: int | None = None,
                   capture: CaptureRecord | None = None) -> IntegrityReport:
    """Check a recorded video for signs that it was replayed, frozen, looped, spliced or re-encoded.

    Parameters
    ----------
    path : str or os.PathLike
    max_frames : int or None
        Stop after this many decoded frames (the tail is not checked).
    capture : CaptureRecord or None
        What live capture recorded about the source, when the file came from Vigil's own capture;
        a known virtual camera there becomes a ``virtual_camera`` finding.

    Returns
    -------
    IntegrityReport

    Raises
    ------
    MediaError
        The file is missing, empty, not a video, or damaged before any frame decodes.
    """
    t0 = time.perf_counter()
    container, video = open_media(path)
    scan = IntegrityScan(max_frames)
    video.thread_type = "AUTO"
    try:
        error = None
        try:
            for packet in container.demux(video):
                scan.on_packet(packet)
                for frame in packet.decode():
                    scan.on_frame(frame)
                if scan.full:
                    break
        except av.error.FFmpegError as exc:
            if not scan.times:
                raise damaged(Path(path), str(exc)) from exc
            error = f"decoding stopped at frame {len(scan.times)}: {exc}"
        scan.on_end(container, video, error)
    finally:
        container.close()
    scan.scan_s = time.perf_counter() - t0
    return scan.report(path, capture)
