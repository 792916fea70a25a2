"""A generated recording for synthetic cases: a small looping test picture with speech-like sound.

Encoding an hour of video frame by frame would take minutes, so a two-second unit (a moving test
pattern, one key frame) is encoded once and its packets are muxed again and again with shifted
timestamps: an hour-long, seekable file in a few seconds. The sound is generated for the whole
length, so the waveform follows the case's speaker turns (a syllable-rate hum during each
utterance, near-silence between them), and stored losslessly (FLAC) so nothing is resampled.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

UNIT_S = 2.0  # one encoded video unit, repeated
WIDTH, HEIGHT = 320, 180
AUDIO_SR = 8000
AUDIO_BLOCK = AUDIO_SR  # samples per muxed audio frame (one second)


def _unit_frames(fps: float, width: int, height: int) -> list[np.ndarray]:
    """RGB frames of one unit: a face-like oval on a gradient, bobbing slightly (so motion is visible)."""
    n = int(round(UNIT_S * fps))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([40 + 60 * xx / width, 50 + 40 * yy / height, np.full_like(xx, 90)], axis=-1)
    frames = []
    for k in range(n):
        phase = 2 * np.pi * k / n
        cx, cy = width * 0.5 + 6 * np.sin(phase), height * 0.45 + 3 * np.cos(phase)
        oval = ((xx - cx) / (width * 0.16)) ** 2 + ((yy - cy) / (height * 0.32)) ** 2 <= 1.0
        img = base.copy()
        img[oval] = (205, 170, 150)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def _speech(duration_s: float, spans: Sequence[tuple[float, float, float]], seed: int) -> np.ndarray:
    """Mono int16 sound: ``(start, end, pitch_hz)`` spans carry an amplitude-modulated harmonic hum."""
    rng = np.random.default_rng(seed + 17)
    n = int(round(duration_s * AUDIO_SR))
    out = (rng.normal(0.0, 6.0, n)).astype(np.float32)  # room noise, about -75 dBFS
    for a, b, f0 in spans:
        i0, i1 = max(int(a * AUDIO_SR), 0), min(int(b * AUDIO_SR), n)
        if i1 <= i0:
            continue
        t = np.arange(i1 - i0, dtype=np.float32) / AUDIO_SR
        syll = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3.0, 5.0) * t + rng.uniform(0, 6.3))
        edge = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)  # 50 ms fades, no clicks
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        out[i0:i1] += (9000.0 * rng.uniform(0.6, 1.0)) * syll * edge * tone
    return np.clip(out, -32767, 32767).astype(np.int16)


def write_clip(path: Path, duration_s: float, fps: float, spans: Sequence[tuple[float, float, float]],
               seed: int = 0) -> Path:
    """Write an MP4 file (MPEG-4 video at ``fps``, FLAC mono sound) of ``duration_s`` seconds.

    Parameters
    ----------
    path : where to write (the folder is created).
    duration_s, fps : length and frame rate of the video.
    spans : ``(start_s, end_s, pitch_hz)`` of each utterance, for the sound.
    seed : varies the sound.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    unit = _encode_unit(path.with_suffix(".unit.mp4"), rate)
    sound = _speech(duration_s, spans, seed)
    n_frames = int(round(duration_s * fps))
    partial = path.with_suffix(".partial.mp4")  # renamed when complete: a crash leaves no half file behind
    with av.open(str(unit)) as src, av.open(str(partial), "w", format="mp4") as out:
        sv = src.streams.video[0]
        vs = out.add_stream_from_template(sv)
        packets = [p for p in src.demux(sv) if p.size]
        unit_tb = sv.time_base
        as_ = out.add_stream("flac", rate=AUDIO_SR, layout="mono")
        frame_s = 1.0 / float(rate)
        per_unit = len(packets)
        audio_next = 0  # sample index of the next audio block
        for k in range(n_frames):
            # Interleave: write the sound up to this frame's time before the frame itself.
            while audio_next < len(sound) and audio_next / AUDIO_SR <= k * frame_s:
                block = sound[audio_next:audio_next + AUDIO_BLOCK]
                af = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
                af.sample_rate, af.pts = AUDIO_SR, audio_next
                af.time_base = Fraction(1, AUDIO_SR)
                for p in as_.encode(af):
                    out.mux(p)
                audio_next += len(block)
            src_p = packets[k % per_unit]
            loop = k // per_unit
            p = av.Packet(bytes(src_p))
            offset = round(Fraction(loop * per_unit) / rate / unit_tb)  # whole units of frames, exactly
            p.pts = None if src_p.pts is None else src_p.pts + offset
            p.dts = None if src_p.dts is None else src_p.dts + offset
            p.time_base, p.stream = unit_tb, vs
            p.is_keyframe = src_p.is_keyframe
            out.mux(p)
        for p in as_.encode(None):
            out.mux(p)
    unit.unlink(missing_ok=True)
    partial.replace(path)
    return path


def _encode_unit(path: Path, rate: Fraction) -> Path:
    """Encode one unit (key frame first, no B-frames, so every unit decodes on its own)."""
    frames = _unit_frames(float(rate), WIDTH, HEIGHT)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("mpeg4", rate=rate)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.codec_context.gop_size = len(frames)
        vs.codec_context.max_b_frames = 0
        vs.codec_context.bit_rate = 40_000
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    return path
