"""Screen-region recording under a virtual X server: ffplay shows a real clip in a window at the top
left of an Xvfb screen, Vigil records that region with mss, and the recorded frames must be the
clip's frames (each matched to its best clip frame by correlation of small grey thumbnails)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.core.record import open_video_source, record
from tests.conftest import devset_file, unavailable

THUMB = (64, 36)


def _thumbs(path: Path, limit: int | None = None) -> np.ndarray:
    out = []
    with av.open(str(path)) as c:
        for k, f in enumerate(c.decode(c.streams.video[0])):
            if limit and k >= limit:
                break
            g = cv2.resize(f.to_ndarray(format="gray"), THUMB, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
            out.append((g - g.mean()) / (g.std() + 1e-6))
    return np.asarray(out)


def _best_corr(rec: np.ndarray, clip: np.ndarray) -> np.ndarray:
    return (rec @ clip.T / rec.shape[1]).max(axis=1)


@pytest.fixture
def xdisplay(monkeypatch: pytest.MonkeyPatch):
    for tool in ("Xvfb", "ffplay"):
        if shutil.which(tool) is None:
            unavailable(f"needs {tool} (Debian packages xvfb and ffmpeg)")
    n = 60 + os.getpid() % 200
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/.X11-unix/X{n}")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    monkeypatch.setenv("DISPLAY", f":{n}")
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_screen_region_recording_contains_the_clip_shown_there(xdisplay, tmp_path, talking_head):
    env = dict(os.environ, DISPLAY=xdisplay, SDL_AUDIODRIVER="dummy")
    player = subprocess.Popen(["ffplay", "-v", "error", "-an", "-noborder", "-left", "0", "-top", "0", "-x", "640",
                               "-y", "360", "-loop", "0", str(talking_head)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # the window maps and starts playing
        res = record(open_video_source("screen:0,0,640,360"), None, tmp_path / "screen.mp4", duration=4.0)
    finally:
        player.terminate()
        player.wait(10)
    assert res.stopped_by == "duration" and res.frames > 40
    cap = res.capture
    assert cap["source"] == "screen" and cap["backend"] == "mss" and xdisplay in cap["device_name"]
    rec = _thumbs(res.path)
    clip = _thumbs(talking_head)
    other = _thumbs(devset_file("deepfake/real/fsgan_conan_obrien.mp4"), limit=600)
    own, foreign = _best_corr(rec, clip), _best_corr(rec, other)
    print(f"screen: {len(rec)} frames, best r with the clip median {np.median(own):.3f} (5th pct "
          f"{np.percentile(own, 5):.3f}), with another clip {np.median(foreign):.3f}")
    assert np.median(own) > 0.9, np.percentile(own, [5, 50, 95])
    assert np.mean(own > 0.8) > 0.9
    assert np.median(own) - np.median(foreign) > 0.2, (np.median(own), np.median(foreign))
    # the picture moves: consecutive recorded frames are not all one still frame
    assert np.mean([np.corrcoef(a, b)[0, 1] < 0.995 for a, b in zip(rec[:-1], rec[1:])]) > 0.3
