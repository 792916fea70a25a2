"""Smoke test of the frozen app: ``python installer/smoke_test.py [dist/vigil]``.

Runs the bundle's own ``vigil`` executable, as a fresh install would, and fails on the first step that
does not work:

1. ``vigil --version`` prints the version of ``pyproject.toml``;
2. ``vigil models --verify`` finds every model intact, each file inside the bundle (none from a
   Python environment or a user cache), except those the bundle leaves out on purpose (Whisper
   tiny.en), which ``vigil analyze --asr-model whisper-tiny.en`` then refuses in one clear line;
3. ``vigil analyze`` of a real interview clip with video and voice (the bundle's own sample face clip
   with its read-speech sample laid under it by ffmpeg): faces on nearly every frame, and a transcript
   that has the words that were read; then a Mandarin sentence spoken by espeak-ng, analysed with
   ``--language zh``, whose transcript must be in Chinese characters (it passes OpenCC's t2s tables);
4. ``vigil gui --screenshot`` of that case (Qt offscreen): a 1600x1000 PNG with content;
5. ``vigil bench --first-paint``: the frozen window's first start on an empty workspace.

Each command starts from an empty user data folder and a temporary working directory, with the
Python and virtual-environment variables removed. Unless ``--online`` is given, the steps run in a
network namespace of their own (``unshare -rn`` or, as root, ``unshare -n``) where no connection can
be made, and the test first proves that. Only the standard library is used, so any Python 3.11 runs
it; ffmpeg and espeak-ng must be on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Words of the LibriVox sample's first 19.7 s (resources/sample/README.md has the whole text).
SPOKEN = ("john", "dashwood", "leisure", "consider", "prudently", "power", "disposed", "young", "man")
_INSIDE_NS = "VIGIL_SMOKE_IN_NETNS"


class SmokeFailure(Exception):
    """A step of the smoke test failed (one line)."""


def executable(path: Path) -> Path:
    """The bundle's executable, from the bundle folder or the executable itself."""
    exe = path / ("vigil.exe" if os.name == "nt" else "vigil") if path.is_dir() else path
    if not exe.is_file():
        raise SmokeFailure(f"{exe}: no frozen vigil executable; run 'make package' first")
    return exe


def clean_env(data: Path) -> dict[str, str]:
    """The environment of a fresh install: no Python variables, an empty user data folder."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "VIGIL_", "QT_"))}
    env.update(VIGIL_DATA_DIR=str(data), QT_QPA_PLATFORM="offscreen", HOME=str(data / "home"))
    return env


def run(exe: Path, args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[str, str, float]:
    """Run the frozen vigil; its stdout, stderr and wall time. Non-zero exit is a failure."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailure(f"vigil {' '.join(args)}: still running after {timeout:.0f} s") from exc
    wall = time.monotonic() - t0
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-15:])
        raise SmokeFailure(f"vigil {' '.join(args)}: exit status {p.returncode}\n{tail}")
    return p.stdout, p.stderr, wall


def network_blocked() -> bool:
    """True if no outside connection (or DNS lookup) can be made from this process."""
    for host, port in (("1.1.1.1", 53), ("8.8.8.8", 443), ("pypi.org", 443)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            return False
        except OSError:
            continue
    return True


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise SmokeFailure(f"{path}: not a PNG")
    return struct.unpack(">II", head[16:24])


def interview_clip(exe: Path, out: Path) -> Path:
    """The bundle's sample face clip with its read-speech sample as the sound track."""
    sample = next(exe.parent.glob("**/resources/sample"), None)
    if sample is None:
        raise SmokeFailure(f"{exe.parent}: the bundle has no resources/sample")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SmokeFailure("ffmpeg is not on PATH (needed to lay the speech sample under the video)")
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(sample / "talking_head.mp4"), "-i",
                    str(sample / "speech_en.flac"), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                    "-shortest", str(out)], check=True)
    return out


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def smoke(bundle: Path, offline: bool) -> dict[str, object]:
    """Every step; returns the figures. Raises :class:`SmokeFailure` on the first failure."""
    exe = executable(bundle)
    report: dict[str, object] = {"executable": str(exe), "offline": offline}
    if offline and not network_blocked():
        raise SmokeFailure("the network namespace still reaches the outside; the offline test would prove nothing")
    with tempfile.TemporaryDirectory(prefix="vigil-smoke-") as tmp_s:
        tmp = Path(tmp_s)
        env = clean_env(tmp / "data")
        ws = str(tmp / "workspace.db")

        out, _, wall = run(exe, ["--version"], env, tmp, 60)
        version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
        if out.strip() != f"vigil {version}":
            raise SmokeFailure(f"--version printed {out.strip()!r}, expected 'vigil {version}'")
        report["version"] = out.strip()
        report["version_s"] = round(wall, 2)
        print(f"ok  --version: {out.strip()} ({wall:.1f} s)", flush=True)

        out, _, wall = run(exe, ["models", "--verify", "--json"], env, tmp, 300)
        rows = json.loads(out)
        inside = exe.parent.resolve()
        left_out = [r["name"] for r in rows if r.get("bundled") is False]
        for r in rows:
            if r["name"] in left_out:  # e.g. Whisper tiny.en: the bundle leaves it out on purpose
                if r["status"] != "not in this installation":
                    raise SmokeFailure(f"models --verify: {r['name']} should be left out of the bundle: {r['status']}")
                continue
            if r["status"] != "ok":
                raise SmokeFailure(f"models --verify: {r['name']}: {r['status']}")
            if not Path(r["file"]).resolve().is_relative_to(inside):
                raise SmokeFailure(f"models --verify: {r['name']} is read from {r['file']}, outside the bundle")
        report["models"] = {r["name"]: "left out" if r["name"] in left_out else "ok" for r in rows}
        print(f"ok  models --verify: {len(rows) - len(left_out)} models intact, all inside the bundle; "
              f"left out: {', '.join(left_out) or 'none'} ({wall:.1f} s)", flush=True)

        clip = interview_clip(exe, tmp / "interview.mp4")
        if "whisper_tiny_en" in left_out:  # asked for anyway: one clear line, exit status 2, no traceback
            p = subprocess.run([str(exe), "analyze", str(clip), "--workspace", ws, "--asr-model", "whisper-tiny.en"],
                               env=env, cwd=tmp, capture_output=True, text=True, timeout=300)
            msg = p.stderr.strip().splitlines()
            if p.returncode != 2 or "Traceback" in p.stderr or not msg or "not part of this installation" not in msg[-1]:
                raise SmokeFailure(f"analyze --asr-model whisper-tiny.en: exit status {p.returncode}, {p.stderr[-500:]!r}")
            report["tiny_en_refused"] = msg[-1]
            print(f"ok  analyze --asr-model whisper-tiny.en refused: {msg[-1]}", flush=True)
        out, err, wall = run(exe, ["analyze", str(clip), "--workspace", ws, "--case", "smoke"], env, tmp, 900)
        case = out.strip().splitlines()[-1]
        frames_csv, utt_csv = tmp / "frames.csv", tmp / "utterances.csv"
        run(exe, ["export", case, "--workspace", ws, "--frames-csv", str(frames_csv),
                  "--utterances-csv", str(utt_csv)], env, tmp, 120)
        frames = read_csv_rows(frames_csv)
        utts = read_csv_rows(utt_csv)
        faced = sum(1 for f in frames if f.get("usable") == "1")
        text = " ".join(u.get("text", "") for u in utts).lower()
        heard = [w for w in SPOKEN if re.search(rf"\b{w}\b", text)]
        report.update(analyze_s=round(wall, 1), frames=len(frames), frames_with_face=faced,
                      utterances=len(utts), words_heard=f"{len(heard)}/{len(SPOKEN)}")
        if len(frames) < 400 or faced < 0.9 * len(frames):
            raise SmokeFailure(f"analyze: {faced} of {len(frames)} frames have a usable face (expected >= 90% of ~472)")
        if not utts or len(heard) < len(SPOKEN) // 2:
            raise SmokeFailure(f"analyze: {len(utts)} utterances, words heard {heard} of {list(SPOKEN)}: {text!r}")
        print(f"ok  analyze: case {case}, {len(frames)} frames ({faced} with a face), {len(utts)} utterances, "
              f"{len(heard)}/{len(SPOKEN)} read words in the transcript ({wall:.1f} s)", flush=True)

        # Mandarin: the transcript goes through OpenCC's t2s tables, which the bundle must carry.
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise SmokeFailure("espeak-ng is not on PATH (needed to speak the Mandarin check)")
        zh_wav = tmp / "zh.wav"
        subprocess.run([espeak, "-v", "cmn-latn-pinyin+f2", "-s", "130", "-w", str(zh_wav), "wo2 xiang3 shen1 qing3 dai4 kuan3. wo3 zai4 yin2 hang2 gong1 zuo4 le5 wu3 nian2."],
                       check=True, capture_output=True)
        out, _, wall = run(exe, ["analyze", str(zh_wav), "--workspace", ws, "--case", "smoke-zh", "--language", "zh"],
                           env, tmp, 300)
        zh_csv = tmp / "zh_utterances.csv"
        run(exe, ["export", out.strip().splitlines()[-1], "--workspace", ws, "--utterances-csv", str(zh_csv)],
            env, tmp, 120)
        zh_text = "".join(u.get("text", "") for u in read_csv_rows(zh_csv))
        if not re.search(r"[\u4e00-\u9fff]", zh_text):
            raise SmokeFailure(f"analyze --language zh: no Chinese characters in the transcript: {zh_text!r}")
        report.update(zh_transcript=zh_text, zh_analyze_s=round(wall, 1))
        print(f"ok  analyze --language zh: transcript {zh_text!r} ({wall:.1f} s)", flush=True)

        png = tmp / "window.png"
        _, _, wall = run(exe, ["gui", case, "--workspace", ws, "--screenshot", str(png)], env, tmp, 300)
        w, h = png_size(png)
        kb = png.stat().st_size / 1024
        if (w, h) != (1600, 1000) or kb < 40:
            raise SmokeFailure(f"gui --screenshot: {w}x{h}, {kb:.0f} KiB (expected 1600x1000 with content)")
        shutil.copyfile(png, ROOT / "build" / "smoke_window.png") if (ROOT / "build").is_dir() else None
        report.update(screenshot=f"{w}x{h}", screenshot_kib=round(kb), gui_screenshot_s=round(wall, 1))
        print(f"ok  gui --screenshot: {w}x{h} PNG, {kb:.0f} KiB ({wall:.1f} s)", flush=True)

        out, _, _ = run(exe, ["bench", "--first-paint", "--json"], env, tmp, 300)
        paint = json.loads(out)
        report["first_paint"] = paint
        print(f"ok  bench --first-paint: {paint['gui_first_paint_s']:.2f} s to a painted window "
              f"(runs {paint['runs_s']}; target <= {paint['target_s']} s)", flush=True)
    return report


def _reexec_offline(argv: list[str]) -> int | None:
    """Run this script again inside a new network namespace; None when none can be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for flags in (["-rn"], ["-n"]):
        if subprocess.run([unshare, *flags, "true"], capture_output=True).returncode == 0:
            env = dict(os.environ, **{_INSIDE_NS: "1"})
            return subprocess.run([unshare, *flags, sys.executable, __file__, *argv], env=env).returncode
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", nargs="?", default=str(ROOT / "dist" / "vigil"), help="dist/vigil or its executable")
    p.add_argument("--online", action="store_true", help="do not cut the network (where no namespace can be made)")
    p.add_argument("--json", metavar="PATH", help="also write the figures to this file")
    args = p.parse_args(argv)
    offline = not args.online
    if offline and not os.environ.get(_INSIDE_NS):
        rc = _reexec_offline(argv)
        if rc is None:
            print("smoke test: cannot make a network namespace (unshare -rn / -n); rerun with --online",
                  file=sys.stderr)
            return 2
        return rc
    try:
        report = smoke(Path(args.bundle), offline)
    except SmokeFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"smoke test passed ({'offline' if offline else 'online'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
