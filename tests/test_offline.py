"""Offline proof: a whole analysis, video and voice, runs with network sockets blocked.

A ``sitecustomize`` module on ``PYTHONPATH`` replaces ``socket.socket`` before Vigil starts: creating
any socket other than a local (AF_UNIX) one raises and is written to a log. The mock interview (a real
talking-head clip with espeak-ng questions and real LibriVox answers) is analysed end to end by the
real CLI in that process; the analysis must complete and the log must stay empty.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SITECUSTOMIZE = '''
import os, socket, traceback
_LOG = os.environ["VIGIL_SOCKET_LOG"]
_Real = socket.socket

class _Blocked(_Real):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        fam = socket.AF_INET if family == -1 else family
        if fileno is None and fam != socket.AF_UNIX:
            with open(_LOG, "a") as fh:
                fh.write(f"socket(family={fam}, type={type})\\n" + "".join(traceback.format_stack(limit=8)) + "\\n")
            raise OSError(101, "network access is blocked by the offline test")
        super().__init__(family, type, proto, fileno)

socket.socket = _Blocked
socket.SocketType = _Blocked
'''


def _blocked_env(tmp: Path) -> dict[str, str]:
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp / "sockets.log"
    log.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIL_MODELS", "HTTP_PROXY", "HTTPS_PROXY")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(REPO)]), VIGIL_SOCKET_LOG=str(log),
               VIGIL_DATA_DIR=os.environ.get("VIGIL_DATA_DIR") or str(tmp / "data"), PYTHONNOUSERSITE="1")
    return env


def test_the_block_works(tmp_path: Path) -> None:
    """Without this, a passing analysis would prove nothing."""
    env = _blocked_env(tmp_path)
    code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\nexcept OSError as e:\n"
            "    print('blocked' if 'offline test' in str(e) else 'other: ' + str(e))\n"
            "a, b = socket.socketpair(); a.close(); b.close(); print('unix ok')")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["blocked", "unix", "ok"], out.stderr
    assert "socket(family=" in Path(env["VIGIL_SOCKET_LOG"]).read_text()


def test_whole_analysis_video_and_voice_without_network(interview_clip: Path, tmp_path: Path) -> None:
    env = _blocked_env(tmp_path)
    ws = tmp_path / "offline.db"
    proc = subprocess.run([sys.executable, "-m", "app", "analyze", str(interview_clip), "--workspace", str(ws),
                           "--language", "en"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    log = Path(env["VIGIL_SOCKET_LOG"]).read_text()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert log == "", f"Vigil tried to open a network socket:\n{log[:3000]}"
    con = sqlite3.connect(ws)
    runs = dict(con.execute("select kind, status from runs").fetchall())
    assert runs == {"video": "completed", "voice": "completed"}
    frames = con.execute("select count(*) from frames where usable = 1").fetchone()[0]
    texts = [t for (t,) in con.execute("select text from utterances where text != ''")]
    assert frames > 100 and len(texts) >= 4
    words = " ".join(texts).lower()
    assert "income" in words or "loan" in words or "work" in words, words[:400]
    sessions = con.execute("select probability from forgery_sessions").fetchall()
    assert sessions and all(p is None or 0.0 <= p <= 1.0 for (p,) in sessions)
    con.close()
    verify = subprocess.run([sys.executable, "-m", "app", "audit", "verify", "--workspace", str(ws)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "intact" in verify.stdout
    assert Path(env["VIGIL_SOCKET_LOG"]).read_text() == ""
