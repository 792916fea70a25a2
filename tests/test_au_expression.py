"""AU arithmetic, baseline estimation, blinks and expression fusion, on real raw features.

The raw features come from the real talking-head clip (WolfgangLanger_Pexels.mp4) run through the
face landmarker once per session; the checks are about the arithmetic built on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.analysers.au import (
    AU_NAMES, LATERAL_AUS, RAW_NAMES, SPECS, blink_mask, estimate_baseline, intensities,
)
from app.core.analysers.expression import EXPRESSIONS, fuse, prototype_match
from app.core.face.geometry import face_frame, geometry_features
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
                geo = geometry_features(face_frame(o.landmarks, o.matrix, f.image.shape[1], f.image.shape[0]))
                rows.append(np.concatenate([o.blendshapes, geo]))
    return np.array(rows, dtype=np.float32)


def test_every_au_has_a_spec_in_order() -> None:
    assert tuple(s.name for s in SPECS) == AU_NAMES
    assert len(AU_NAMES) == 25
    assert len(RAW_NAMES) == len(BLENDSHAPE_NAMES) + 13


def test_intensities_are_within_facs_range(raw: np.ndarray) -> None:
    au, asym = intensities(raw, estimate_baseline(raw))
    assert au.shape == (len(raw), 25) and asym.shape == (len(raw), len(LATERAL_AUS))
    assert np.all(au >= 0) and np.all(au <= 5)
    assert np.all(np.abs(asym) <= 5)
    # Something actually moves on a real expressive clip: smiles and eye closure at least.
    assert au[:, AU_NAMES.index("AU12")].max() > 2.5
    assert au[:, AU_NAMES.index("AU43")].max() > 2.5


def test_the_baseline_frame_itself_scores_zero(raw: np.ndarray) -> None:
    au, asym = intensities(raw[:5], raw[0])
    assert np.allclose(au[0], 0.0) and np.allclose(asym[0], 0.0)


def test_baseline_comes_from_the_calmest_frames(raw: np.ndarray) -> None:
    base = estimate_baseline(raw)
    smile = raw[:, IDX["mouthSmileLeft"]]
    # The clip smiles for half its length: a median baseline would sit high; ours sits near the calm end.
    assert base[IDX["mouthSmileLeft"]] < np.percentile(smile, 40)
    with pytest.raises(ValueError):
        estimate_baseline(np.zeros((0, len(RAW_NAMES))))


def test_raising_one_side_makes_a_signed_asymmetry(raw: np.ndarray) -> None:
    base = estimate_baseline(raw)
    x = base[None].copy()
    x[0, IDX["mouthSmileLeft"]] = base[IDX["mouthSmileLeft"]] + 0.8
    au, asym = intensities(x, base)
    j = LATERAL_AUS.index("AU12")
    assert asym[0, j] > 1.0  # left minus right
    assert au[0, AU_NAMES.index("AU12")] == pytest.approx(asym[0, j] / 2, abs=1e-4)


def test_blinks_are_short_closures_only() -> None:
    t = np.arange(60) / 30.0
    eye = np.zeros(60)
    eye[10:14] = 0.9   # 0.1 s: a blink
    eye[30:55] = 0.9   # 0.8 s: eyes closed, not a blink
    eye[20] = np.nan   # an unusable frame is not a closure
    m = blink_mask(eye, t)
    assert m[10:14].all() and not m[:10].any() and not m[14:].any()


def test_fusion_sums_to_one_and_follows_the_aus(raw: np.ndarray) -> None:
    au, asym = intensities(raw, estimate_baseline(raw))
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
