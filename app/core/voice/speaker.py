"""Speaker embeddings: Resemblyzer's GE2E voice encoder, run with onnxruntime.

The network (``speaker_encoder`` in ``models/manifest.json``, exported from the ``Resemblyzer==0.1.4``
wheel by ``tools/export_speaker_onnx.py``; see ``models/cards/speaker_encoder.md``) maps 1.6 s of
40-band mel frames to a 256-d unit vector; voices are compared by cosine distance, which is absolute:
it means the same in every recording, so a short interview can be judged as well as a long one.

What runs here is Resemblyzer's own front end, re-done without its torch and webrtcvad dependencies:

* ``preprocess_wav``: the volume is raised (never lowered) to -30 dBFS RMS. Its second step, cutting
  silences longer than 0.2 s with webrtcvad, is left out: Vigil embeds speech turns that its own VAD
  has already cut, with pauses of at most ``merge_gap_s``.
* ``wav_to_mel_spectrogram``: librosa's mel power spectrogram, 25 ms window (400 samples), 10 ms
  hop, 40 bands, librosa's defaults otherwise (Hann, centred, Slaney mel), frames as rows.
* ``VoiceEncoder.embed_utterance``: partial utterances of 160 frames, 1.3 per second
  (``compute_partial_slices``; the last one is kept when it is at least 75 % covered, the waveform is
  zero-padded to the end of the last one), each embedded, averaged and L2-normed.

``tests/test_voice_speaker.py`` checks the result against Resemblyzer's own ``VoiceEncoder`` on real
speech.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from app.core.models import model_path

SR = 16000
N_MELS = 40
WIN = 400  # 25 ms
HOP = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
RATE = 1.3  # partial utterances per second
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
INT16_MAX = 2 ** 15 - 1
BATCH = 32  # partial utterances per onnxruntime call


@lru_cache(maxsize=1)
def _session() -> object:
    """The onnxruntime session of the verified model file (one thread: a small LSTM, run beside Whisper)."""
    from app.core.onnx_cpu import cpu_session

    return cpu_session(model_path("speaker_encoder"), threads=1)


def normalize_volume(wav: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise ``wav`` (float, [-1, 1]) to ``target_dbfs`` RMS; louder input is left as it is."""
    rms = np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2)) if len(wav) else 0.0
    if rms <= 0:
        return wav
    change = target_dbfs - 20 * np.log10(rms / INT16_MAX)
    return wav if change < 0 else (wav * 10 ** (change / 20)).astype(np.float32)


def partial_slices(n_samples: int, rate: float = RATE, min_coverage: float = MIN_COVERAGE
                   ) -> tuple[list[slice], list[slice]]:
    """Waveform and mel-frame slices of the partial utterances (Resemblyzer's ``compute_partial_slices``)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SR / rate) / HOP))
    wav_slices, mel_slices = [], []
    for i in range(0, max(1, n_frames - PARTIAL_FRAMES + frame_step + 1), frame_step):
        mel_slices.append(slice(i, i + PARTIAL_FRAMES))
        wav_slices.append(slice(i * HOP, (i + PARTIAL_FRAMES) * HOP))
    last = wav_slices[-1]
    if (n_samples - last.start) / (last.stop - last.start) < min_coverage and len(mel_slices) > 1:
        wav_slices, mel_slices = wav_slices[:-1], mel_slices[:-1]
    return wav_slices, mel_slices


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """Mel power frames ``(n_frames, 40)`` float32, as Resemblyzer's ``wav_to_mel_spectrogram``."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(wav, dtype=np.float32), sr=SR, n_fft=WIN,
                                         hop_length=HOP, n_mels=N_MELS)
    return mel.astype(np.float32).T


def partial_embeddings(wav: np.ndarray) -> np.ndarray:
    """One unit vector per partial utterance of ``wav`` (float32 at 16 kHz, volume not yet normalised)."""
    wav = normalize_volume(np.asarray(wav, dtype=np.float32))
    wav_slices, mel_slices = partial_slices(len(wav))
    if wav_slices[-1].stop >= len(wav):
        wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
    mel = mel_frames(wav)
    mels = np.stack([mel[s] for s in mel_slices])
    sess = _session()
    return np.concatenate([sess.run(None, {"mels": mels[k:k + BATCH]})[0]
                           for k in range(0, len(mels), BATCH)])


def embed(wav: np.ndarray) -> np.ndarray:
    """The 256-d unit speaker vector of one utterance (mean of its partials, L2-normed)."""
    raw = partial_embeddings(wav).mean(axis=0)
    return raw / np.linalg.norm(raw)
