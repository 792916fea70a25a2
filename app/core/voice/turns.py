"""Utterances and speakers: who speaks when, who is the applicant, how fast each turn answers.

:func:`utterances` turns VAD segments into speaker turns. A track that keeps one party per
channel (``AudioTrack.channels``) is labelled by channel energy. A mono track is clustered: each
turn is embedded by a pretrained speaker encoder (Resemblyzer's GE2E d-vector, run with
onnxruntime: :mod:`app.core.voice.speaker`), and the turns of at least :data:`MIN_TURN_S` are
split in two by average-linkage clustering on the cosine distance between their embeddings. The
distance is absolute, the same in every recording, so it is compared with a fixed threshold
(:data:`SAME_SPEAKER_MAX`, chosen on one set of voices and checked on another: see
``models/cards/speaker_encoder.md``): two speakers when the groups lie further apart, otherwise
everyone is "A". Shorter turns join the nearer speaker. The number of turns does not move the
threshold, so a four-turn interview is split as readily as a long one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from app.core.voice.audio import AudioTrack

HOP_S = 0.05  # energy frame for splitting long turns
READ_S = 60.0  # seconds read from the memmap at a time
SAME_SPEAKER_MAX = 0.30  # between-group cosine distance up to which two groups of turns are one voice
#                          (tools/speaker_threshold.py on the tune set; see models/cards/speaker_encoder.md)
MIN_TURN_S = 1.0  # shorter turns do not shape the split; they join the nearer speaker afterwards
EDGE_S = 0.1  # a turn this close to the recording's start or end was cut by it: it does not shape the split

_WH_EN = re.compile(r"^\s*(what|why|how|when|where|who|whom|whose|which|"
                    r"(do|does|did|are|is|was|were|can|could|would|will|have|has|had|should|may|shall)"
                    r"\s+(you|your|i|we|they|he|she|it|there|this|that))\b", re.IGNORECASE)
_ZH_END = ("吗", "呢", "？", "?")
_ZH_ANY = ("什么", "多少", "哪", "为什么", "怎么", "是不是", "有没有")


@dataclass
class Utterance:
    """One speaker turn.

    Attributes
    ----------
    start, end : float
        Seconds from the start of the track.
    speaker : str
        ``"A"`` or ``"B"``.
    channel : int or None
        The channel the turn was heard on (stereo, one party per channel), else ``None``.
    """

    start: float
    end: float
    speaker: str
    channel: int | None = None

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start


def _frame_energy(track: AudioTrack, t0: float, t1: float, channel: int | None = None) -> np.ndarray:
    """Mean square per :data:`HOP_S` frame between ``t0`` and ``t1``, read in bounded chunks."""
    hop = int(HOP_S * track.sr)
    step = int(READ_S / HOP_S) * hop
    src = track.samples if channel is None else track.channels[channel]
    i0, i1 = track.sample_range(t0, t1)
    out = []
    for i in range(i0, i1, step):
        block = src[i:min(i + step, i1)].astype(np.float32)
        m = -(-len(block) // hop)
        padded = np.zeros(m * hop, dtype=np.float32)
        padded[:len(block)] = block
        out.append((padded.reshape(m, hop) ** 2).mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _split(track: AudioTrack, start: float, end: float, max_len_s: float) -> list[tuple[float, float]]:
    """Cut a turn longer than ``max_len_s`` at its quietest 150 ms (searched in its middle half),
    again and again until every piece is short enough."""
    if end - start <= max_len_s:
        return [(start, end)]
    energy = np.convolve(_frame_energy(track, start, end), np.ones(3) / 3, mode="same")

    def cut(a: int, b: int) -> list[tuple[float, float]]:
        if (b - a) * HOP_S <= max_len_s or b - a < 8:
            return [(start + a * HOP_S, min(end, start + b * HOP_S))]
        lo, hi = a + (b - a) // 4, b - (b - a) // 4
        k = lo + int(np.argmin(energy[lo:hi]))
        return cut(a, k) + cut(k, b)

    return cut(0, len(energy))


def _merge(spans: list[tuple[float, float]], gap_s: float, labels: list[int] | None = None
           ) -> list[tuple[float, float]]:
    """Join consecutive spans less than ``gap_s`` apart (only those with the same label, if given)."""
    out: list[tuple[float, float]] = []
    last = None
    for k, (s, e) in enumerate(spans):
        lab = labels[k] if labels is not None else None
        if out and s - out[-1][1] < gap_s and lab == last:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
        last = lab
    return out


def _loudest_channel(track: AudioTrack, s: float, e: float) -> int:
    return int(_frame_energy(track, s, e, 1).sum() > _frame_energy(track, s, e, 0).sum())


def speaker_embedding(track: AudioTrack, start: float, end: float) -> np.ndarray:
    """The 256-d unit speaker vector of a turn (GE2E voice encoder, :func:`app.core.voice.speaker.embed`)."""
    from app.core.voice import speaker

    return speaker.embed(track.slice(start, end))


def _two_way(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Average-linkage split of unit vectors ``x`` in two on cosine distance, and the mean cosine
    distance between the two groups (the height of the last merge)."""
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(n_clusters=2, metric="cosine", linkage="average").fit_predict(x)
    between = 1.0 - x[labels == 0] @ x[labels == 1].T
    return labels, float(between.mean())


def cluster_speakers(embeddings: np.ndarray, durations: np.ndarray | None = None,
                     threshold: float = SAME_SPEAKER_MAX) -> tuple[np.ndarray, float, float]:
    """Split turns into one or two speakers.

    The turns of at least :data:`MIN_TURN_S` (all turns, when fewer than two are that long) are
    split in two by average-linkage agglomerative clustering on the cosine distance between their
    embeddings. It is two speakers when the mean cosine distance between the two groups exceeds
    ``threshold``; the shorter turns then join the speaker whose mean vector is nearer. The
    distance is absolute (it does not depend on how many turns there are), so a short interview is
    judged like a long one.

    Parameters
    ----------
    embeddings : numpy.ndarray
        One row per turn (:func:`speaker_embedding`).
    durations : numpy.ndarray, optional
        Seconds per turn; without it every turn counts as long enough.
    threshold : float, default :data:`SAME_SPEAKER_MAX`
        Largest between-group distance still taken for one speaker.

    Returns
    -------
    labels : numpy.ndarray
        0/1 per turn, 0 for the speaker of the first turn; all 0 for one speaker.
    distance, threshold : float
        The split's between-group distance (NaN with fewer than two turns: always one speaker)
        and the threshold it was compared with.
    """
    n = len(embeddings)
    if n < 2:
        return np.zeros(n, dtype=int), float("nan"), threshold
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    core = np.ones(n, dtype=bool) if durations is None else np.asarray(durations) >= MIN_TURN_S
    if core.sum() < 2:
        core[:] = True
    core_labels, distance = _two_way(x[core])
    if distance <= threshold:
        return np.zeros(n, dtype=int), distance, threshold
    centroids = np.stack([x[core][core_labels == k].mean(axis=0) for k in (0, 1)])
    labels = np.argmax(x @ (centroids / np.linalg.norm(centroids, axis=1, keepdims=True)).T, axis=1)
    labels[core] = core_labels
    return (labels != labels[0]).astype(int), distance, threshold


def utterances(track: AudioTrack, segments: list[tuple[float, float]], merge_gap_s: float = 0.5,
               max_len_s: float = 20.0) -> list[Utterance]:
    """Speaker turns from VAD segments.

    Parameters
    ----------
    track : AudioTrack
    segments : list of (float, float)
        Speech segments, e.g. from :func:`app.core.voice.vad.speech_segments`.
    merge_gap_s : float, default 0.5
        Segments closer than this are one turn (on a two-channel track: only when the same
        channel is the louder one in both).
    max_len_s : float, default 20.0
        Longer turns are cut at their quietest point until no piece is longer.

    Returns
    -------
    list of Utterance
        In time order. Two-channel tracks: the louder channel names the speaker (channel 0 is "A",
        channel 1 is "B"). Mono tracks: :func:`cluster_speakers`; "A" speaks first, and everyone is
        "A" when one speaker is found.
    """
    spans = sorted((float(s), float(e)) for s, e in segments if e > s)
    if not spans:
        return []
    if track.channels is not None:
        labels = [_loudest_channel(track, s, e) for s, e in spans]
        spans = [p for s, e in _merge(spans, merge_gap_s, labels) for p in _split(track, s, e, max_len_s)]
        chans = [_loudest_channel(track, s, e) for s, e in spans]
        return [Utterance(s, e, "AB"[c], c) for (s, e), c in zip(spans, chans)]
    spans = [p for s, e in _merge(spans, merge_gap_s) for p in _split(track, s, e, max_len_s)]
    # A turn cut off by the start or end of the recording (a word or two, mid-sentence) is not a whole
    # turn: its embedding is as unreliable as a short turn's, so it is placed like one (duration 0).
    # Measured: speech_en.flac cut at 19.8 s ends on a 1.7-s fragment of the same reader 0.31 from the
    # other turns, which alone split one reader in two; the whole file's turns stay within 0.27.
    cut = [s <= EDGE_S or e >= track.duration_s - EDGE_S for s, e in spans]
    who, _, _ = cluster_speakers(np.array([speaker_embedding(track, s, e) for s, e in spans]),
                                 np.array([0.0 if c else e - s for (s, e), c in zip(spans, cut)]))
    return [Utterance(s, e, "AB"[k]) for (s, e), k in zip(spans, who)]


def is_question(text: str) -> bool:
    """Whether a transcribed turn reads as a question (English or Chinese).

    English: ends with "?", or starts with a wh-word, or with an auxiliary followed by a pronoun
    ("do you", "are they", "is there" ...). Chinese: ends with 吗, 呢 or a question mark, or
    contains 什么, 多少, 哪, 为什么, 怎么, 是不是 or 有没有.
    """
    t = text.strip().rstrip("。.!！ ")
    if not t:
        return False
    return t.endswith(_ZH_END) or any(w in t for w in _ZH_ANY) or bool(_WH_EN.match(t))


def _talk_time(utts: list[Utterance]) -> dict[str, float]:
    totals = {"A": 0.0, "B": 0.0}
    for u in utts:
        totals[u.speaker] = totals.get(u.speaker, 0.0) + u.duration
    return totals


def guess_applicant(utts: list[Utterance], texts: list[str] | None = None) -> str:
    """The speaker who answers the questions: ``"A"`` or ``"B"``.

    Parameters
    ----------
    utts : list of Utterance
    texts : list of str, optional
        Transcript of each utterance (same order). When given, the interviewer is the speaker
        whose turns are more often questions (:func:`is_question`, as a share of their turns) and
        the applicant is the other one; on a tie, or without texts, the applicant is the speaker
        with more speech time. With only one speaker, that speaker.
    """
    present = sorted({u.speaker for u in utts})
    if len(present) < 2:
        return present[0] if present else "A"
    if texts is not None:
        if len(texts) != len(utts):
            raise ValueError(f"{len(texts)} texts for {len(utts)} utterances")
        rate = {}
        for spk in ("A", "B"):
            mine = [is_question(t) for u, t in zip(utts, texts) if u.speaker == spk]
            rate[spk] = sum(mine) / len(mine)
        if rate["A"] != rate["B"]:
            return "B" if rate["A"] > rate["B"] else "A"
    talk = _talk_time(utts)
    return "A" if talk["A"] >= talk["B"] else "B"


def response_latency(utts: list[Utterance]) -> list[float | None]:
    """For each turn, seconds from the end of the other speaker's previous turn to its start.

    ``None`` when the turn before it is by the same speaker (or there is none); negative when the
    turn starts before the other speaker has finished (overlap).
    """
    out: list[float | None] = [None] * len(utts)
    for k in range(1, len(utts)):
        if utts[k - 1].speaker != utts[k].speaker:
            out[k] = utts[k].start - utts[k - 1].end
    return out
