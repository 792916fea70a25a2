"""The ``vigil`` command line, run as a real subprocess (``python -m app``) on real clips.

Every run gets ``VIGIL_DATA_DIR`` pointing into a temporary folder, so the log file and the default
workspace never touch the user's own directories.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.core.analysers.au import AU_NAMES
from app.core.analysers.expression import EXPRESSIONS
from app.core.media import probe

REPO = Path(__file__).resolve().parents[1]
HEADER = (
    "frame,time_s,face,usable,yaw,pitch,roll,AU01,AU02,AU04,AU05,AU06,AU07,AU09,AU10,AU11,AU12,AU13,AU14,"
    "AU15,AU16,AU17,AU18,AU20,AU22,AU23,AU24,AU25,AU26,AU27,AU28,AU43,neutral,happiness,sadness,surprise,"
    "fear,disgust,anger,contempt"
)
SCORE_HEADERS = (*AU_NAMES, *EXPRESSIONS)
BENCH_KEYS = ("decode_fps", "landmarker_fps", "pipeline_fps", "pipeline_landmarker_ratio", "realtime_factor",
              "peak_rss_mb")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vigil-data")


@pytest.fixture(autouse=True)
def _data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user directories (the subprocesses inherit this environment)."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data_dir))


def _env(**extra: str) -> dict[str, str]:
    """The test's environment (with VIGIL_DATA_DIR), without any inherited VIGIL_MODELS, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_MODELS"}
    env.update(extra)
    return env


def vigil(*args: str | Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app ARGS`` to completion."""
    assert os.environ.get("VIGIL_DATA_DIR"), "VIGIL_DATA_DIR must be set for CLI runs"
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=_env(**env))


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit status 2, one non-empty stderr line naming the problem, no traceback."""
    err = lines(proc.stderr)
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert len(err) == 1, f"expected one line on stderr, got {len(err)}:\n{proc.stderr}"
    for n in needles:
        assert n.lower() in err[0].lower(), f"{n!r} not in {err[0]!r}"
    return err[0]


def cases_json(ws: Path) -> list[dict[str, Any]]:
    proc = vigil("cases", "--workspace", ws, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def read_csv(path: Path) -> tuple[str, list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8")
    header = text.splitlines()[0]
    with path.open(newline="", encoding="utf-8") as fh:
        return header, list(csv.DictReader(fh))


def db_ro(ws: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{ws}?mode=ro", uri=True, timeout=5)


# --------------------------------------------------------------------------- analyse, list, export


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, single_face: Path) -> dict[str, Any]:
    """single_face.mp4 analysed once through the CLI into workspace W."""
    d = tmp_path_factory.mktemp("cli")
    ws = d / "w.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data_dir))
        proc = vigil("analyze", single_face, "--workspace", ws)
        cases = cases_json(ws) if proc.returncode == 0 else None
    return {"ws": ws, "dir": d, "proc": proc, "frames": probe(single_face).frame_count, "name": single_face.stem,
            "cases": cases}


@pytest.mark.slow
def test_analyze_prints_only_the_case_id(analysed: dict[str, Any], data_dir: Path) -> None:
    proc = analysed["proc"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # stdout is exactly the case id (progress and the summary go to stderr).
    assert proc.stdout.strip().isdigit() and len(proc.stdout.splitlines()) == 1, repr(proc.stdout)
    # VIGIL_DATA_DIR redirected the user directories: the log file is in the test's folder.
    assert (data_dir / "logs" / "vigil.log").is_file()


@pytest.mark.slow
def test_cases_lists_the_case(analysed: dict[str, Any]) -> None:
    case_id = int(analysed["proc"].stdout.strip())
    proc = vigil("cases", "--workspace", analysed["ws"])
    assert proc.returncode == 0, proc.stderr
    row = [ln for ln in lines(proc.stdout) if ln.split()[0] == str(case_id)]
    assert len(row) == 1 and analysed["name"] in row[0] and "completed" in row[0], proc.stdout
    (case,) = analysed["cases"]
    assert case["id"] == case_id and case["name"] == analysed["name"]
    assert case["frames"] == analysed["frames"] and case["last_run"] == "completed"


@pytest.fixture(scope="module")
def latest_csv(analysed: dict[str, Any], data_dir: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``export latest --frames-csv`` run once on workspace W."""
    out = analysed["dir"] / "latest.csv"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data_dir))
        proc = vigil("export", "latest", "--workspace", analysed["ws"], "--frames-csv", out)
    return proc, out


@pytest.mark.slow
def test_export_latest_frames_csv(analysed: dict[str, Any], latest_csv: tuple[Any, Path]) -> None:
    proc, out = latest_csv
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == ""
    header, rows = read_csv(out)
    assert header.startswith(HEADER), header[: len(HEADER) + 20]
    assert header == HEADER or header[len(HEADER)] == ","
    assert [int(r["frame"]) for r in rows] == list(range(analysed["frames"]))
    times = [float(r["time_s"]) for r in rows]
    assert times[0] >= 0 and all(b > a for a, b in zip(times, times[1:]))
    for r in rows:
        empty = [h for h in SCORE_HEADERS if r[h] == ""]
        if r["usable"] == "0":
            assert empty == list(SCORE_HEADERS), f"frame {r['frame']}: unusable but scored"
        else:
            assert r["usable"] == "1" and empty == [], f"frame {r['frame']}: usable but empty {empty}"
            assert all(math.isfinite(float(r[h])) for h in SCORE_HEADERS)
    assert sum(r["usable"] == "1" for r in rows) >= 0.9 * len(rows)


@pytest.mark.slow
def test_export_by_id_and_by_name(analysed: dict[str, Any], latest_csv: tuple[Any, Path]) -> None:
    proc, ref = latest_csv
    assert proc.returncode == 0, proc.stderr
    case_id = analysed["proc"].stdout.strip()
    for which in (case_id, analysed["name"]):
        out = analysed["dir"] / f"by-{which}.csv"
        proc = vigil("export", which, "--workspace", analysed["ws"], "--frames-csv", out)
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == ref.read_bytes(), which


@pytest.mark.slow
def test_export_unknown_case_fails_cleanly(analysed: dict[str, Any]) -> None:
    out = analysed["dir"] / "none.csv"
    proc = vigil("export", "999", "--workspace", analysed["ws"], "--frames-csv", out)
    assert_one_line_error(proc, "999")
    assert not out.exists()


# --------------------------------------------------------------------------- bad input


def _bad_media(kind: str, d: Path, single_face: Path) -> Path:
    if kind == "not a video":
        p = d / "notes.mp4"
        p.write_text("these are meeting notes, not a video\n" * 20, encoding="utf-8")
    elif kind == "empty":
        p = d / "empty.mp4"
        p.write_bytes(b"")
    elif kind == "truncated":
        data = single_face.read_bytes()
        p = d / "truncated.mp4"
        p.write_bytes(data[: int(len(data) * 0.3)])  # the moov atom is at the end: cut off
    elif kind == "missing":
        p = d / "does-not-exist.mp4"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return p


BAD_MEDIA = {
    # kind: words the one-line message must contain (besides the file name)
    "not a video": ("not a video",),
    "empty": ("empty",),
    "truncated": ("truncated",),
    "missing": ("not found",),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(BAD_MEDIA))
def test_bad_media_is_one_line_and_keeps_the_workspace(kind: str, analysed: dict[str, Any], single_face: Path,
                                                        tmp_path: Path) -> None:
    assert analysed["proc"].returncode == 0
    before = analysed["cases"]
    bad = _bad_media(kind, tmp_path, single_face)
    proc = vigil("analyze", bad, "--workspace", analysed["ws"])
    assert_one_line_error(proc, bad.name, *BAD_MEDIA[kind])
    assert proc.stdout.strip() == ""
    after = cases_json(analysed["ws"])
    assert after == before, "a failed analysis changed the workspace's cases"
    assert after[0]["frames"] == analysed["frames"]


def _bad_workspace(kind: str, d: Path) -> tuple[Path, Path, bytes | None]:
    """(workspace path, thing that must be left as it was, its bytes or None for a folder)."""
    if kind == "parent is a file":
        parent = d / "not-a-folder"
        parent.write_text("a plain file\n", encoding="utf-8")
        return parent / "w.db", parent, parent.read_bytes()
    if kind == "is a folder":
        folder = d / "ws-folder"
        folder.mkdir()
        (folder / "keep.txt").write_text("x", encoding="utf-8")
        return folder, folder, None
    if kind == "not a database":
        p = d / "random.db"
        p.write_bytes(os.urandom(8192))
        return p, p, p.read_bytes()
    if kind == "read-only folder":
        folder = d / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        return folder / "w.db", folder, None
    raise AssertionError(kind)  # pragma: no cover


BAD_WORKSPACES = {
    "parent is a file": ("not-a-folder",),
    "is a folder": ("folder",),
    "not a database": ("not a vigil workspace",),
    "read-only folder": ("not writable",),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", [
    *[k for k in BAD_WORKSPACES if k != "read-only folder"],
    pytest.param("read-only folder", marks=pytest.mark.skipif(
        os.geteuid() == 0, reason="root ignores folder permissions; covered by the other unwritable cases")),
])
def test_bad_workspace_is_one_line(kind: str, analysed: dict[str, Any], single_face: Path, tmp_path: Path) -> None:
    assert analysed["proc"].returncode == 0
    before = analysed["cases"]
    ws, keep, content = _bad_workspace(kind, tmp_path)
    try:
        proc = vigil("analyze", single_face, "--workspace", ws)
        assert_one_line_error(proc, *BAD_WORKSPACES[kind])
        assert proc.stdout.strip() == ""
        if content is None:
            assert keep.is_dir()
            if kind == "read-only folder":
                assert list(keep.iterdir()) == []
        else:
            assert keep.is_file() and keep.read_bytes() == content, f"{keep} was modified"
    finally:
        if kind == "read-only folder":
            keep.chmod(0o700)
    assert cases_json(analysed["ws"]) == before


# --------------------------------------------------------------------------- no face is not an error


@pytest.mark.slow
def test_no_face_video_is_not_an_error(no_face: Path, tmp_path: Path) -> None:
    ws = tmp_path / "w.db"
    proc = vigil("analyze", no_face, "--workspace", ws)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    case_id = int(proc.stdout.strip())
    n = probe(no_face).frame_count
    (case,) = cases_json(ws)
    assert case["id"] == case_id and case["frames"] == n and case["last_run"] == "completed"
    out = tmp_path / "frames.csv"
    assert vigil("export", str(case_id), "--workspace", ws, "--frames-csv", out).returncode == 0
    header, rows = read_csv(out)
    assert header.startswith(HEADER)
    assert [int(r["frame"]) for r in rows] == list(range(n))
    for r in rows:
        assert r["usable"] == "0", r["frame"]
        assert "no face" in r["reason"].lower(), r["reason"]
        assert all(r[h] == "" for h in SCORE_HEADERS), r["frame"]


# --------------------------------------------------------------------------- Ctrl-C / SIGTERM and resume


def _latest_run_frames(ws: Path) -> int:
    """Frame rows of the newest run (0 while the workspace or its tables do not exist yet)."""
    if not ws.exists():
        return 0
    try:
        con = db_ro(ws)
        try:
            run = con.execute("select id from runs where kind = 'video' order by id desc limit 1").fetchone()
            return con.execute("select count(*) from frames where run_id = ?", run).fetchone()[0] if run else 0
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _interrupt(ws: Path, video: Path, sig: int, after_rows: int) -> tuple[subprocess.CompletedProcess[str], int]:
    """Start ``analyze``, wait (<= 60 s) until more than ``after_rows`` frame rows are committed, send ``sig``."""
    cmd = [sys.executable, "-m", "app", "analyze", str(video), "--workspace", str(ws)]
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and p.poll() is None:
            seen = _latest_run_frames(ws)
            if seen > after_rows:
                break
            time.sleep(0.02)
        assert p.poll() is None, f"analysis finished before it could be interrupted:\n{p.communicate()[1]}"
        assert seen > after_rows, "no rows were committed within 60 s"
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return subprocess.CompletedProcess(cmd, p.returncode, out, err), seen


def _run_state(ws: Path) -> tuple[list[tuple[Any, ...]], list[int], list[tuple[int, int, int]]]:
    con = db_ro(ws)
    try:
        run_rows = con.execute("select id, status, frames_done, last_frame, note from runs where kind = 'video' order by id").fetchall()
        frames = [r[0] for r in con.execute("select distinct frame from frames order by frame")]
        dupes = con.execute("select frame, face, count(*) from frames group by run_id, frame, face "
                            "having count(*) > 1").fetchall()
    finally:
        con.close()
    return run_rows, frames, dupes


def _check_interrupted(proc: subprocess.CompletedProcess[str], ws: Path, min_frames: int) -> int:
    assert proc.returncode == 130, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    about_resume = [ln for ln in lines(proc.stderr) if "resume" in ln.lower()]
    assert len(about_resume) == 1, proc.stderr
    assert proc.stdout.strip() == ""
    run_rows, frames, dupes = _run_state(ws)
    assert len(run_rows) == 1, run_rows
    _, status, frames_done, last_frame, note = run_rows[0]
    assert status == "interrupted", run_rows
    assert "resume" in (note or "")
    assert frames == list(range(last_frame + 1)), "committed frames are not 0..last_frame"
    assert frames_done == len(frames) >= min_frames
    assert dupes == []
    return len(frames)


@pytest.mark.slow
def test_ctrl_c_keeps_rows_and_rerun_resumes(talking_head: Path, tmp_path: Path) -> None:
    ws = tmp_path / "w.db"
    n = probe(talking_head).frame_count
    proc, seen = _interrupt(ws, talking_head, signal.SIGINT, 0)
    kept = _check_interrupted(proc, ws, seen)
    assert kept < n

    # SIGTERM (what a service manager or `kill` sends) is handled the same way, during the resumed run.
    proc, seen = _interrupt(ws, talking_head, signal.SIGTERM, kept)
    kept2 = _check_interrupted(proc, ws, seen)
    assert kept < kept2 < n

    proc = vigil("analyze", talking_head, "--workspace", ws)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    run_rows, frames, dupes = _run_state(ws)
    assert len(run_rows) == 1 and run_rows[0][1] == "completed", run_rows
    assert int(proc.stdout.strip()) == cases_json(ws)[0]["id"]
    assert frames == list(range(n))
    assert dupes == []
    con = db_ro(ws)
    try:
        assert con.execute("select count(*) from frames where present = 1").fetchone()[0] == n
        assert con.execute("select count(*) from (select distinct frame, track from frames)").fetchone()[0] == n
    finally:
        con.close()
    assert run_rows[0][2] == n


# --------------------------------------------------------------------------- models


def test_models_verify_ok() -> None:
    proc = vigil("models", "--verify")
    assert proc.returncode == 0, proc.stderr
    for name in ("face_landmarker", "fer_mini_xception"):
        row = [ln for ln in lines(proc.stdout) if ln.startswith(name)]
        assert len(row) == 1 and row[0].rstrip().endswith("ok"), proc.stdout


@pytest.fixture(scope="module")
def tampered_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("models") / "models"
    shutil.copytree(REPO / "models", d)
    task = d / "face_landmarker.task"
    data = bytearray(task.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    task.write_bytes(bytes(data))
    return d


def test_models_verify_detects_a_changed_byte(tampered_models: Path) -> None:
    proc = vigil("models", "--verify", VIGIL_MODELS=str(tampered_models))
    assert_one_line_error(proc, "face_landmarker")
    row = [ln for ln in lines(proc.stdout) if ln.startswith("face_landmarker")]
    assert len(row) == 1 and "sha256 mismatch" in row[0], proc.stdout
    ok = [ln for ln in lines(proc.stdout) if ln.startswith("fer_mini_xception")]
    assert len(ok) == 1 and ok[0].rstrip().endswith("ok")


@pytest.mark.slow
def test_analyze_refuses_a_changed_model(tampered_models: Path, single_face: Path, tmp_path: Path) -> None:
    proc = vigil("analyze", single_face, "--workspace", tmp_path / "w.db", VIGIL_MODELS=str(tampered_models))
    assert_one_line_error(proc, "sha256", "face_landmarker")
    assert proc.stdout.strip() == ""


# --------------------------------------------------------------------------- bench


@pytest.mark.slow
def test_bench_json(single_face: Path) -> None:
    proc = vigil("bench", single_face, "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    for key in BENCH_KEYS:
        v = report.get(key)
        assert isinstance(v, (int, float)) and not isinstance(v, bool), (key, v)
        assert math.isfinite(v) and v > 0, (key, v)
