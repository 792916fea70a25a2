"""Choose the one-or-two-speakers threshold of :func:`app.core.voice.turns.cluster_speakers`, and check it.

Development tool (not shipped). Speech turns are embedded with the product's speaker encoder
(:func:`app.core.voice.speaker.embed`). A "speaker" is one voice: one espeak-ng voice at one pitch and
speed, one LibriVox reader, or one real person in a video.

* Tune set: six espeak-ng English voices (the first half of the English answers of
  ``tests/data/voice_answers.tsv``, one sentence a turn) and the LibriVox reader of Debian's
  pocketsphinx-testdata (its five clips, cut into turns of up to 4 s at pauses).
* Proof set: other voices, other sentences: six other espeak-ng voices (four English on the second
  half of the English answers, two Mandarin on the Mandarin answers), the real people talking in the
  devset's videos (``deepfake/real``, ``deepfake/unlabelled``; each clip one speaker, cut into turns of
  up to 4 s at pauses; clips with under 4 s of speech are left out) and the real Mandarin
  speakers of the fixture cache (``mandarin-real``: two AISHELL clips of one speaker, two others).

For each set it prints the cosine distances between turns of one speaker and between turns of two
speakers (n, quantiles), then simulates sessions: one-speaker sessions (4-8 turns of one voice)
and two-speaker sessions (2-4 turns of each of two voices, alternating), and takes the
between-group distance of :func:`~app.core.voice.turns.cluster_speakers`. The threshold is the
midpoint between the 99th percentile of one-speaker sessions and the 1st percentile of two-speaker
sessions on the tune set; the proof set gives the error rates at that threshold.

Usage::

    python tools/speaker_threshold.py [CACHE_DIR]   # default /tmp/vigil_speaker
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.voice import speaker  # noqa: E402
from app.core.voice.audio import load_audio  # noqa: E402
from app.core.voice.turns import MIN_TURN_S, _merge, _split, cluster_speakers  # noqa: E402
from app.core.voice.vad import speech_segments  # noqa: E402

SR = 16000
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
DEVSET = REPO.parent / "shared" / "devset"
FIXTURES = Path(os.environ.get("VIGIL_FIXTURE_CACHE", REPO / ".cache" / "fixtures"))
TUNE_VOICES = [("en-us+m3", 70, 190), ("en+f3", 70, 175), ("en+m3", 30, 175), ("en-gb", 50, 160),
               ("en-us", 45, 150), ("en-gb-scotland", 40, 170)]
PROOF_EN = [("en-029", 50, 165), ("en-gb-x-rp", 60, 175), ("en-us+f5", 60, 160), ("en-gb+m4", 35, 150)]
PROOF_ZH = [("cmn", 50, 160), ("cmn+f4", 65, 150)]
#: Clips of one person under two names (checked by eye: the same face; the encoder agrees).
SAME_PERSON = {"videoretalking_face_3": "sadtalker_WDA_AlexandriaOcasioCortez_000"}


def espeak_speaker(voice: tuple[str, int, int]) -> str:
    """The voice an espeak-ng setting sounds like: its female variant (``+f3``, ``+f4``, ``+f5``), else
    the one male formant voice that the language voices, the male variants and pitch/speed changes
    share (their turns lie as close together as one speaker's: see the card)."""
    variant = voice[0].partition("+")[2]
    return f"espeak:{variant}" if variant.startswith("f") else "espeak:male"


def _answers() -> tuple[list[str], list[str]]:
    rows = [r for r in csv.reader((ln for ln in (REPO / "tests/data/voice_answers.tsv").read_text("utf-8").splitlines()
                                   if ln and not ln.startswith("#")), delimiter="\t")]
    return [r[1] for r in rows if r[0] == "en"], [r[1] for r in rows if r[0] != "en"]


def _espeak(voice: tuple[str, int, int], text: str, out: Path) -> np.ndarray:
    if not out.exists():
        subprocess.run(["espeak-ng", "-v", voice[0], "-p", str(voice[1]), "-s", str(voice[2]), "-w", str(out),
                        text], check=True, capture_output=True)
    with load_audio(out) as track:
        segs = speech_segments(track)
        return track.slice(segs[0][0], segs[-1][1]) if segs else np.zeros(0, np.float32)


def _turns_of(path: Path, max_s: float = 4.0) -> list[np.ndarray]:
    """Speech of a media file as turns: VAD segments joined over 0.5 s pauses, cut at pauses to <= max_s."""
    out = []
    with load_audio(path) as track:
        for s, e in _merge(speech_segments(track), 0.5):
            for a, b in _split(track, s, e, max_s):
                if b - a >= 0.5:
                    out.append(track.slice(a, b))
    return out


def tune_set(cache: Path) -> dict[str, list[tuple[np.ndarray, float]]]:
    en, _ = _answers()
    spk: dict[str, list[np.ndarray]] = {}
    for v in TUNE_VOICES:
        spk.setdefault(espeak_speaker(v), []).extend(
            _espeak(v, t, cache / f"t_{v[0]}_{v[1]}_{k}.wav") for k, t in enumerate(en[:len(en) // 2]))
    spk["librivox"] = [y for p in sorted(LIBRIVOX.glob("*.wav")) for y in _turns_of(p)]
    return _embed(spk)


def proof_set(cache: Path) -> dict[str, list[tuple[np.ndarray, float]]]:
    en, zh = _answers()
    spk: dict[str, list[np.ndarray]] = {}
    for v in PROOF_EN:
        spk.setdefault(espeak_speaker(v), []).extend(
            _espeak(v, t, cache / f"p_{v[0]}_{v[1]}_{k}.wav") for k, t in enumerate(en[len(en) // 2:]))
    for v in PROOF_ZH:
        spk.setdefault(espeak_speaker(v), []).extend(
            _espeak(v, t, cache / f"p_{v[0]}_{v[1]}_{k}.wav") for k, t in enumerate(zh))
    for p in sorted((DEVSET / "deepfake" / "real").glob("*.mp4")) + sorted((DEVSET / "deepfake" / "unlabelled").glob("*.mp4")):
        turns = _turns_of(p)
        if sum(len(y) for y in turns) >= 4 * SR and len(turns) >= 2:
            spk.setdefault(f"devset:{SAME_PERSON.get(p.stem, p.stem)}", []).extend(turns)
    mz = FIXTURES / "mandarin-real"
    spk["aishell:S0764"] = [y for p in sorted(mz.glob("aishell-S0764*.wav")) for y in _turns_of(p)]
    for name in ("f5tts-ref-zh", "vallex-zh-1"):
        if (mz / f"{name}.wav").exists():
            spk[f"zh:{name}"] = _turns_of(mz / f"{name}.wav")
    return _embed(spk)


def _embed(spk: dict[str, list[np.ndarray]]) -> dict[str, list[tuple[np.ndarray, float]]]:
    return {k: [(speaker.embed(y), len(y) / SR) for y in v if len(y) >= 0.5 * SR] for k, v in spk.items() if v}


def pair_distances(emb: dict[str, list[tuple[np.ndarray, float]]], min_s: float = MIN_TURN_S
                   ) -> tuple[np.ndarray, np.ndarray]:
    names = list(emb)
    vec = [(i, e) for i, n in enumerate(names) for e, d in emb[n] if d >= min_s]
    x = np.stack([e for _, e in vec])
    who = np.array([i for i, _ in vec])
    d = 1.0 - x @ x.T
    iu = np.triu_indices(len(x), 1)
    same = who[iu[0]] == who[iu[1]]
    return d[iu][same], d[iu][~same]


def sessions(emb: dict[str, list[tuple[np.ndarray, float]]], n: int = 400, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Between-group distances of simulated one-speaker and two-speaker sessions."""
    rng = np.random.default_rng(seed)
    names = [k for k, v in emb.items() if len(v) >= 4]
    one, two = [], []
    for _ in range(n):
        turns = emb[names[rng.integers(len(names))]]
        pick = rng.choice(len(turns), size=min(len(turns), int(rng.integers(4, 9))), replace=False)
        x, d = np.stack([turns[k][0] for k in pick]), np.array([turns[k][1] for k in pick])
        one.append(cluster_speakers(x, d, threshold=np.inf)[1])
        a, b = rng.choice(len(names), size=2, replace=False)
        ka, kb = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        ta = [emb[names[a]][k] for k in rng.choice(len(emb[names[a]]), size=min(ka, len(emb[names[a]])), replace=False)]
        tb = [emb[names[b]][k] for k in rng.choice(len(emb[names[b]]), size=min(kb, len(emb[names[b]])), replace=False)]
        mixed = [t for pair in zip(ta, tb) for t in pair] + ta[len(tb):] + tb[len(ta):]
        x, d = np.stack([t[0] for t in mixed]), np.array([t[1] for t in mixed])
        two.append(cluster_speakers(x, d, threshold=np.inf)[1])
    return np.array(one), np.array(two)


def _q(v: np.ndarray) -> str:
    qs = np.percentile(v, [0, 1, 5, 50, 95, 99, 100])
    return f"n={len(v)}  min {qs[0]:.3f}  p1 {qs[1]:.3f}  p5 {qs[2]:.3f}  median {qs[3]:.3f}  p95 {qs[4]:.3f}  p99 {qs[5]:.3f}  max {qs[6]:.3f}"


def report(name: str, emb: dict, threshold: float | None = None) -> float:
    same, diff = pair_distances(emb)
    print(f"== {name}: {len(emb)} speakers, {sum(len(v) for v in emb.values())} turns")
    print(f"  turn pairs, same speaker:      {_q(same)}")
    print(f"  turn pairs, different speakers: {_q(diff)}")
    one, two = sessions(emb)
    print(f"  sessions, one speaker:  {_q(one)}")
    print(f"  sessions, two speakers: {_q(two)}")
    if threshold is None:
        threshold = float((np.percentile(one, 99) + np.percentile(two, 1)) / 2)
        print(f"  threshold (midpoint of one-speaker p99 and two-speaker p1): {threshold:.3f}")
    print(f"  at {threshold:.3f}: one-speaker sessions split {np.mean(one > threshold):.1%} (n={len(one)}), "
          f"two-speaker sessions missed {np.mean(two <= threshold):.1%} (n={len(two)}); "
          f"turn pairs: same > t {np.mean(same > threshold):.1%}, different <= t {np.mean(diff <= threshold):.1%}")
    return threshold


def main(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    tune = tune_set(cache)
    t = report("tune", tune)
    proof = proof_set(cache)
    for k, v in proof.items():
        print(f"  proof speaker {k}: {len(v)} turns, {sum(d for _, d in v):.1f} s")
    report("proof", proof, t)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/vigil_speaker"))
