"""Voice activity detection with the Silero VAD ONNX model, run by onnxruntime over the memmap.

The model (``silero_vad`` in ``models/manifest.json``: ``silero_vad/data/silero_vad.onnx`` from the
silero-vad 6.2.3 wheel, sha256-checked at load) takes, per call, ``input`` float32 ``(batch, 576)``
(64 samples of context, the last 64 of the previous window, then one 512-sample window at
16 kHz), ``state`` float32 ``(2, batch, 128)`` and ``sr`` int64 ``16000``; it returns ``output``
``(batch, 1)``, the speech probability of the window, and ``stateN``, the state for the next
window. The state is recurrent: each window must see the state left by the one before it.

Short tracks run as one stream, window after window, which reproduces the silero-vad reference
wrapper exactly. Tracks of at least ``2 * STREAM_MIN_S`` are cut into up to ``MAX_STREAMS``
consecutive streams that run side by side as one batch, each carrying its own state; each cut is
placed at the quietest window near the nominal cut, and every stream but the first is first run
over the ``WARMUP_WINDOWS`` windows before its start (outputs discarded), so it reaches its own
windows with a state built from the audio that precedes them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from app.core.models import model_path
from app.core.voice.audio import AudioTrack

SR = 16000
WINDOW = 512  # samples per model call at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window prepended to each window
STREAM_MIN_S = 60.0  # a parallel stream covers at least this much audio
MAX_STREAMS = 16
WARMUP_WINDOWS = 125  # 4 s of preceding audio run through each later stream before its own windows
CUT_SEARCH_WINDOWS = 156  # +-5 s around a nominal cut searched for the quietest window


@lru_cache(maxsize=1)
def _session() -> object:
    """The onnxruntime session of the verified model file (one thread: fastest per window)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_path("silero_vad")), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def _windows(samples: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Model inputs for windows ``idx``: ``(len(idx), CONTEXT + WINDOW)`` float32, zero outside."""
    pos = idx[:, None] * WINDOW - CONTEXT + np.arange(CONTEXT + WINDOW)
    inside = (pos >= 0) & (pos < len(samples))
    out = np.zeros(pos.shape, dtype=np.float32)
    out[inside] = samples[pos[inside]]
    return out / 32768.0


def _cuts(samples: np.ndarray, n_windows: int, n_streams: int) -> list[int]:
    """First window of each stream: 0, then the quietest window within +-5 s of each even cut."""
    cuts = [0]
    for k in range(1, n_streams):
        nominal = k * n_windows // n_streams
        lo, hi = max(nominal - CUT_SEARCH_WINDOWS, cuts[-1] + 1), nominal + CUT_SEARCH_WINDOWS
        block = samples[lo * WINDOW:hi * WINDOW].astype(np.float32)
        m = len(block) // WINDOW
        energy = (block[:m * WINDOW].reshape(m, WINDOW) ** 2).mean(axis=1)
        cuts.append(lo + int(np.argmin(energy)) if m else nominal)
    return cuts


def speech_probabilities(track: AudioTrack) -> np.ndarray:
    """Speech probability of every 512-sample window of the mono mix (window ``i`` covers samples
    ``[512 i, 512 i + 512)``; the last one is zero-padded).

    Parameters
    ----------
    track : AudioTrack
        Must be at 16 kHz.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(ceil(n_samples / 512),)``.
    """
    if track.sr != SR:
        raise ValueError(f"the VAD needs 16 kHz audio, got {track.sr} Hz")
    return _probabilities(track.samples)


def _probabilities(samples: np.ndarray) -> np.ndarray:
    """:func:`speech_probabilities` of int16 samples at 16 kHz."""
    n_windows = -(-len(samples) // WINDOW)
    if n_windows == 0:
        return np.zeros(0, dtype=np.float32)
    n_streams = int(min(MAX_STREAMS, max(1, len(samples) / SR // STREAM_MIN_S)))
    starts = np.array(_cuts(samples, n_windows, n_streams), dtype=np.int64)
    ends = np.append(starts[1:], n_windows)
    warm = np.where(np.arange(n_streams) == 0, 0, np.minimum(WARMUP_WINDOWS, starts))
    first = starts - warm  # first window each stream runs
    steps = int((ends - first).max())
    session = _session()
    state = np.zeros((2, n_streams, 128), dtype=np.float32)
    sr = np.array(SR, dtype=np.int64)
    probs = np.zeros(n_windows, dtype=np.float32)
    for j in range(steps):
        idx = first + j
        out, state = session.run(None, {"input": _windows(samples, idx), "state": state, "sr": sr})
        own = (idx >= starts) & (idx < ends)
        probs[idx[own]] = out[own, 0]
    return probs


def segments_from_probs(probs: np.ndarray, n_samples: int, sr: int = SR, threshold: float = 0.5,
                        min_speech_s: float = 0.25, min_silence_s: float = 0.3,
                        pad_s: float = 0.05) -> list[tuple[float, float]]:
    """Speech segments from window probabilities, with silero-vad's hysteresis.

    Speech starts at a window with probability >= ``threshold`` and ends at the first window below
    ``threshold - 0.15`` that starts a run of at least ``min_silence_s`` without a window back at
    ``threshold``. Segments shorter than ``min_speech_s`` are dropped; the rest are widened by
    ``pad_s`` on each side (by half the gap where two segments are closer than ``2 * pad_s``) and
    clipped to the track.

    Returns
    -------
    list of (float, float)
        ``(start_s, end_s)`` in increasing order, not overlapping.
    """
    neg = max(threshold - 0.15, 0.01)
    min_speech, min_silence = min_speech_s * sr, min_silence_s * sr
    found: list[list[int]] = []
    triggered, start, temp_end = False, 0, 0
    for i, p in enumerate(probs.tolist()):
        cur = i * WINDOW
        if p >= threshold:
            temp_end = 0
            if not triggered:
                triggered, start = True, cur
            continue
        if triggered and p < neg:
            temp_end = temp_end or cur
            if cur - temp_end >= min_silence:
                if temp_end - start > min_speech:
                    found.append([start, temp_end])
                triggered, temp_end = False, 0
    if triggered and n_samples - start > min_speech:
        found.append([start, n_samples])
    pad = int(pad_s * sr)
    gaps = [b[0] - a[1] for a, b in zip(found, found[1:])]
    out = []
    for k, (s, e) in enumerate(found):
        before = pad if k == 0 else min(pad, gaps[k - 1] // 2)
        after = pad if k == len(gaps) else min(pad, gaps[k] // 2)
        out.append((max(0, s - before) / sr, min(n_samples, e + after) / sr))
    return out


def speech_segments(track: AudioTrack, threshold: float = 0.5, min_speech_s: float = 0.25,
                    min_silence_s: float = 0.3, pad_s: float = 0.05) -> list[tuple[float, float]]:
    """Where someone speaks in a track, by the Silero VAD.

    Parameters
    ----------
    track : AudioTrack
        16 kHz (the :func:`~app.core.voice.audio.load_audio` default). A track without audio or
        without samples has no segments.
    threshold : float, default 0.5
        Speech probability that starts a segment (ends use ``threshold - 0.15``).
    min_speech_s : float, default 0.25
        Shorter segments are dropped.
    min_silence_s : float, default 0.3
        Pauses shorter than this do not end a segment.
    pad_s : float, default 0.05
        Added on each side of a segment.

    Returns
    -------
    list of (float, float)
        ``(start_s, end_s)`` in increasing order, not overlapping.

    Raises
    ------
    ModelError
        The model file is missing or does not match its sha256 in the manifest.
    """
    if not track.has_audio or track.n_samples == 0:
        return []
    probs = speech_probabilities(track)
    return segments_from_probs(probs, track.n_samples, track.sr, threshold, min_speech_s,
                               min_silence_s, pad_s)


def clip_speech_segments(audio: np.ndarray, threshold: float = 0.5, min_speech_s: float = 0.1,
                         min_silence_s: float = 0.3, pad_s: float = 0.05) -> list[tuple[float, float]]:
    """:func:`speech_segments` of an in-memory clip: float samples in [-1, 1] at 16 kHz.

    Used by speech recognition to tell speech from silence and noise inside an utterance.
    """
    pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)
    if pcm.size == 0:
        return []
    return segments_from_probs(_probabilities(pcm), len(pcm), SR, threshold, min_speech_s, min_silence_s, pad_s)
