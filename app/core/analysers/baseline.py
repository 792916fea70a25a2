"""A person's neutral face: their own calm frames, blended with a population prior.

Every AU is measured as a change from the person's neutral face. Where a session shows the person
for long enough, their own calmest frames say what neutral is; a photo, or a short clip in which
the face holds one expression, does not, and taking its frames as neutral would read any expression
as "neutral". So the reference is a blend (:func:`estimate_baseline`):

``ref = prior_mean + w * clip(own - prior_mean, +-2.5 prior_sd)``, with ``w = s / (s + 10 s)``

where ``own`` is the median of the least expressive 20 % of the person's frames, ``s`` the seconds
of footage they come from, and the clip keeps a held expression from becoming the reference. The
reference's own uncertainty becomes a dead zone that a change must exceed before it counts as an
action: ``dead = sqrt(((1 - w) * prior_sd)^2 + noise^2)``. A reviewer-marked neutral segment is
trusted as it is (``w = 1``).

The prior (mean and between-person SD of 32 people's own neutral, per raw feature), the spans and
the jitter come from ``models/au_norms.json``, measured by ``tools/au_tune.py`` on the
devset's real faces (see ``models/cards/au_geometry.md``).

While a video streams, :class:`RunningBaseline` keeps a bounded reservoir per face track and
re-estimates every few frames, so memory stays flat; the whole session's baseline replaces these
provisional values when the run ends (:mod:`app.core.finalize`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.core.analysers.raw import EXPRESSIVE, RAW_NAMES
from app.core.models import model_path

HALF_EVIDENCE_S = 10.0  # seconds of own footage at which own and prior weigh the same
MAX_OWN_SD = 2.5  # the own neutral may differ from the population by at most this many SDs
DEAD_SD = 0.75  # without own evidence, a change must exceed this many population SDs to count


@dataclass(frozen=True)
class Norms:
    """Population statistics per raw feature (arrays in :data:`RAW_NAMES` order)."""

    mean: np.ndarray
    sd: np.ndarray
    up: np.ndarray
    down: np.ndarray
    noise: np.ndarray
    n_persons: int


@lru_cache(maxsize=1)
def norms() -> Norms:
    """The shipped norms (``models/au_norms.json``, checked against its sha256 in the manifest)."""
    data = json.loads(model_path("au_norms").read_text())
    feats = data["features"]
    col = {k: np.array([feats[n][k] for n in RAW_NAMES], dtype=np.float64) for k in ("mean", "sd", "up", "down", "noise")}
    return Norms(n_persons=int(data["n_persons"]), **col)


@dataclass(frozen=True)
class Baseline:
    """The neutral reference of one face.

    Attributes
    ----------
    values : (len(RAW_NAMES),) the neutral value of each raw feature.
    dead : (len(RAW_NAMES),) how far a feature must move from ``values`` before it counts.
    weight : 0..1, how much of the reference is the person's own (1 = all own).
    seconds : seconds of the person's own footage behind it.
    """

    values: np.ndarray
    dead: np.ndarray
    weight: float
    seconds: float


def own_neutral(raw: np.ndarray, neutral_share: float = 0.2) -> np.ndarray:
    """Median of every raw feature over the least expressive ``neutral_share`` of the frames."""
    energy = raw[:, EXPRESSIVE].sum(axis=1)
    k = max(1, int(round(neutral_share * raw.shape[0])))
    return np.median(raw[np.argsort(energy, kind="stable")[:k]], axis=0)


def estimate_baseline(raw: np.ndarray, seconds: float, marked: bool = False) -> Baseline:
    """The neutral reference from a person's usable frames (see the module docstring).

    Parameters
    ----------
    raw : (N, len(RAW_NAMES)) raw features of the person's usable frames (a sample is enough).
    seconds : how many seconds of footage the frames cover (0 for a photo).
    marked : the frames are a reviewer-marked neutral segment: trust them fully.
    """
    raw = np.atleast_2d(np.asarray(raw, dtype=np.float64))
    if raw.shape[0] == 0:
        raise ValueError("no usable frames to estimate a baseline from")
    nm = norms()
    own = own_neutral(raw)
    w = 1.0 if marked else float(seconds / (seconds + HALF_EVIDENCE_S))
    shift = np.clip(own - nm.mean, -MAX_OWN_SD * nm.sd, MAX_OWN_SD * nm.sd)
    values = own if marked else nm.mean + w * shift
    dead = np.sqrt((DEAD_SD * (1.0 - w) * nm.sd) ** 2 + nm.noise**2)
    return Baseline(values.astype(np.float64), dead, w, float(seconds))


class RunningBaseline:
    """Reservoir-sampled baseline per track, re-estimated every ``refresh`` frames.

    Parameters
    ----------
    capacity : most frames kept per track.
    refresh : re-estimate after this many new frames.
    seed : random seed (the sample, and so the provisional values, are reproducible).
    """

    def __init__(self, capacity: int = 1500, refresh: int = 30, seed: int = 0) -> None:
        self.capacity, self.refresh = capacity, refresh
        self._rng = np.random.default_rng(seed)
        self._samples: dict[int, list[np.ndarray]] = {}
        self._seen: dict[int, int] = {}
        self._since: dict[int, int] = {}
        self._span: dict[int, list[float]] = {}
        self._base: dict[int, Baseline] = {}

    def add(self, track: int, raw: np.ndarray, t: float) -> None:
        """Offer one usable frame's raw features (at time ``t`` seconds) to the track's reservoir."""
        sample = self._samples.setdefault(track, [])
        seen = self._seen.get(track, 0) + 1
        self._seen[track] = seen
        span = self._span.setdefault(track, [t, t])
        span[1] = t
        if len(sample) < self.capacity:
            sample.append(raw)
        else:
            j = int(self._rng.integers(0, seen))
            if j < self.capacity:
                sample[j] = raw
        self._since[track] = self._since.get(track, 0) + 1
        if track not in self._base or self._since[track] >= self.refresh:
            self._base[track] = estimate_baseline(np.stack(sample), span[1] - span[0])
            self._since[track] = 0

    def get(self, track: int) -> Baseline | None:
        """Current baseline of a track, or ``None`` before its first usable frame."""
        return self._base.get(track)
