"""``vigil bench``: speed and memory of the video pipeline, measured in one run on this machine.

Figures are reported as rates and ratios from the same run, since absolute speed depends on what
else the machine is doing. Stages:

- ``decode_fps``: frames decoded and converted to RGB per second;
- ``landmarker_fps``: decode (in its prefetch thread) + MediaPipe FaceLandmarker, nothing else;
- ``pipeline_fps``: everything ``vigil analyze`` does (quality gate, geometry, AUs, expression CNN,
  writes to a temporary workspace, end-of-run scoring);
- ``pipeline_landmarker_ratio`` = pipeline_fps / landmarker_fps (1.0 means no overhead);
- ``realtime_factor`` = pipeline_fps / the video's own frame rate;
- ``forgery_overhead``: what forgery detection adds to the face pipeline's time: the pixel forensics
  inside the video pass (blending CNN and pixel measures every few frames, and the capture-integrity
  scan, which reads the frames that pass decodes) plus the integrity findings and the forgery cue
  pass, against the same pipeline run without them;
- ``peak_rss_mb``: the peak resident memory of one analysis of the clip, in a fresh process (the
  benchmark itself runs the pipeline several times, and its own peak says more about the
  allocator than about an analysis); ``bench_process_peak_rss_mb`` is that of the whole benchmark.

With ``loop=N`` the clip is also analysed N times over in a child process, and once in another, to
show that memory stays flat in video length (``rss_loop_ratio``).

``gui_first_paint_s`` (``vigil bench --first-paint [EXE]``): a fresh install's window start, from the
frozen bundle when EXE names it (or when the bench itself runs frozen).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from app.core.errors import VigilError
from app.core.face.landmarker import FaceLandmarker
from app.core.media import iter_frames, prefetch, probe
from app.core.pipeline import PipelineConfig
from app.paths import resources_dir
from app.services.analyze import analyze_video
from app.store.workspace import Workspace


def default_video() -> Path:
    """The bundled real talking-head clip (Pexels, 640x360, 20 s)."""
    return resources_dir() / "sample" / "talking_head.mp4"


def default_speech() -> Path:
    """The bundled read-speech sample (LibriVox, public domain, 28 s)."""
    return resources_dir() / "sample" / "speech_en.flac"


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    On Linux this is VmHWM from /proc/self/status: ``ru_maxrss`` survives ``execve``, so a child
    started by the benchmark would report its parent's peak instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_variant(src: Path, out: Path, height: int | None = None, fps: int | None = None, loop: int = 1) -> Path:
    """Re-encode ``src`` (optionally scaled to ``height``, at ``fps``, repeated ``loop`` times) as H.264 mp4."""
    with av.open(str(src)) as inp, av.open(str(out), "w") as outc:
        vin = inp.streams.video[0]
        h = height or vin.codec_context.height
        w = int(round(vin.codec_context.width * h / vin.codec_context.height / 2)) * 2
        rate = Fraction(fps) if fps else (vin.average_rate or Fraction(30))
        vout = outc.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = w, h, "yuv420p"
        vout.options = {"preset": "veryfast", "crf": "20"}
        n = 0
        for _ in range(loop):
            inp.seek(0)
            for frame in inp.decode(vin):
                img = frame.reformat(width=w, height=h, format="yuv420p")
                img.pts, img.time_base = n, 1 / rate
                n += 1
                for pkt in vout.encode(img):
                    outc.mux(pkt)
        for pkt in vout.encode():
            outc.mux(pkt)
    return out


def _decode_fps(path: Path) -> float:
    t0, n = time.perf_counter(), 0
    for _ in iter_frames(str(path)):
        n += 1
    return n / (time.perf_counter() - t0)


def _landmarker_fps(path: Path, lm: FaceLandmarker) -> float:
    t0, n = time.perf_counter(), 0
    for f in prefetch(iter_frames(str(path))):
        lm.detect(f.image, f.t)
        n += 1
    return n / (time.perf_counter() - t0)


def _pipeline(path: Path, config: PipelineConfig) -> tuple[float, int, float]:
    """Frames/s of the video pass, frames, and the forgery pass's time as a share of the video pass.

    As in an analysis: with forgery detection on, the capture-integrity scan rides along on the
    video pass's decoding (its cost lands in the frames/s), and the report is built after it.
    """
    from app.services.analyze import register
    from app.services.forgery import forgery_pass
    from app.services.session import media_integrity

    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "bench.db") as ws:
        t0 = time.perf_counter()
        reg = register(ws, path, "bench", config.model_names())
        res = analyze_video(ws, path, "bench", config, reg=reg)
        video_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        forgery_pass(ws, res.run_id, str(path), media_integrity(ws, reg).get("score"))
        forgery_s = time.perf_counter() - t0
        return res.frames / video_s, res.frames, forgery_s / video_s


def _child_rss(path: str, q: Any, cnn_stride: int) -> None:
    _pipeline(Path(path), PipelineConfig(cnn_stride=cnn_stride))
    q.put(peak_rss_mb())


def _rss_in_child(path: Path, config: PipelineConfig | None = None) -> float:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child_rss, args=(str(path), q, (config or PipelineConfig()).cnn_stride))
    p.start()
    rss = q.get()
    p.join()
    return float(rss)


def run_bench(video: Path | None = None, height: int | None = None, fps: int | None = None,
              loop: int = 0, config: PipelineConfig | None = None, repeats: int = 3) -> dict[str, Any]:
    """Measure every stage on ``video`` (default: the bundled clip); see the module docstring.

    ``repeats``: how many times the full and the forgery-free pipeline each run (alternating); the
    fastest run of each is reported.
    """
    config = config or PipelineConfig()
    src = Path(video) if video else default_video()
    with tempfile.TemporaryDirectory() as tmp:
        path = make_variant(src, Path(tmp) / "bench.mp4", height, fps) if (height or fps) else src
        info = probe(str(path))
        # Warm up imports, the model and the CNN once so every stage is measured warm.
        with FaceLandmarker() as lm:
            _pipeline(path, config)
            decode = _decode_fps(path)
            landmarker = _landmarker_fps(path, lm)
        # The same pipeline without forgery detection gives what it adds. The two alternate
        # ``repeats`` times and each keeps its fastest run (the one least disturbed by the rest of
        # the machine), so a burst of other load does not land on one side only.
        bare = replace(config, analysers=tuple(a for a in config.analysers if a != "forensics"))
        full_runs, bare_runs = [], []
        for _ in range(max(1, repeats)):
            full_runs.append(_pipeline(path, config))
            if bare.analysers != config.analysers:
                bare_runs.append(_pipeline(path, bare))
        pipe, frames, pass_share = max(full_runs)
        bare_fps = max(bare_runs)[0] if bare_runs else pipe
        forgery_share = (bare_fps / pipe) * (1.0 + pass_share) - 1.0
        out: dict[str, Any] = {
            "video": str(src), "width": info.width, "height": info.height, "video_fps": round(info.fps, 3),
            "frames": frames, "decode_fps": round(decode, 1), "landmarker_fps": round(landmarker, 1),
            "pipeline_fps": round(pipe, 1), "pipeline_landmarker_ratio": round(pipe / landmarker, 3),
            "realtime_factor": round(pipe / info.fps, 2), "peak_rss_mb": round(_rss_in_child(path, config), 1),
            "bench_process_peak_rss_mb": round(peak_rss_mb(), 1),
            "cnn_stride": config.cnn_stride, "forgery_overhead": round(forgery_share, 3),
            "pipeline_without_forgery_fps": round(bare_fps, 1), "repeats": max(1, repeats),
            "pipeline_fps_runs": [round(r[0], 1) for r in full_runs],
            "pipeline_without_forgery_fps_runs": [round(r[0], 1) for r in bare_runs],
        }
        out.update(audit_verify_seconds())
        from app.services.record import preview_benchmark  # live recording preview, 720p/30 file source

        out.update(preview_benchmark(make_variant(src, Path(tmp) / "rec720.mp4", 720, 30)))
        if loop > 1:
            looped = make_variant(path, Path(tmp) / "looped.mp4", loop=loop)
            once, many = _rss_in_child(path, config), _rss_in_child(looped, config)
            out.update({"loop": loop, "rss_once_mb": round(once, 1), "rss_loop_mb": round(many, 1),
                        "rss_loop_ratio": round(many / once, 3)})
    return out


def audit_verify_seconds(cases: int = 1000, repeats: int = 3) -> dict[str, Any]:
    """Build a workspace of ``cases`` cases with a reviewer's typical trail each (create, media, two
    analyses started and finished, five annotation edits, a verdict, a sign-off, an export: 13 entries)
    and time :func:`app.store.audit.verify` over the whole chain (fastest of ``repeats``)."""
    from app.store import audit
    from app.store.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "audit.db") as ws:
        entries: list[audit.Entry] = []
        for k in range(cases):
            case_id = ws.create_case(f"bench case {k}")
            E = audit.Entry  # noqa: N806
            entries += [E("media.add", case_id, {"media_id": k, "path": f"/data/interview_{k}.mp4", "sha256": "ab" * 32}),
                        *(E("run.start", case_id, {"run_id": 2 * k + j, "params": {"stride": 1}}) for j in (0, 1)),
                        *(E("run.completed", case_id, {"run_id": 2 * k + j, "last_frame": 5400}) for j in (0, 1)),
                        *(E("annotation.add", case_id, {"id": 5 * k + j, "tier": "Evasive", "start_s": 12.5 * j,
                                                        "end_s": 12.5 * j + 3, "label": "vague answer", "note": ""},
                            "li.wei") for j in range(5)),
                        E("case.status", case_id, {"from": "new", "to": "rejected", "reason": "face swap at 12 s"},
                          "li.wei"),
                        E("case.signoff", case_id, {"verdict": "rejected"}, "zhang.min"),
                        E("export", case_id, {"kind": "frames_csv", "rows": 5400})]
        audit.append_many(ws, entries)
        times, verdict = [], None
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            verdict = audit.verify(ws)
            times.append(time.perf_counter() - t0)
    assert verdict is not None and verdict.ok
    return {"audit_cases": cases, "audit_entries": verdict.entries, "audit_verify_s": round(min(times), 3)}


def format_report(r: dict[str, Any]) -> str:
    """Human-readable bench report."""
    lines = [f"video            {r['video']} ({r['width']}x{r['height']}, {r['video_fps']} fps, {r['frames']} frames)",
             f"decode           {r['decode_fps']:8.1f} frames/s",
             f"landmarker only  {r['landmarker_fps']:8.1f} frames/s",
             f"full pipeline    {r['pipeline_fps']:8.1f} frames/s",
             f"pipeline / landmarker ratio {r['pipeline_landmarker_ratio']:.3f}  (target >= 0.70)",
             f"real-time factor {r['realtime_factor']:.2f}x  (target >= 1.5x at 720p/30)",
             f"forgery cues     +{100 * r['forgery_overhead']:.0f}% of the face pipeline's time  (target <= 25%)",
             f"peak RSS         {r['peak_rss_mb']:.0f} MiB"]
    if "audit_verify_s" in r:
        lines.append(f"audit chain      {r['audit_verify_s']:.3f} s to verify {r['audit_entries']} entries of "
                     f"{r['audit_cases']} cases  (target <= 2 s)")
    if "record_preview_fps" in r:
        lines.append(f"record preview   {r['record_preview_fps']:8.1f} frames/s at {r['record_preview_resolution']} "
                     f"(target >= 15); live analysis {r['record_live_analysis_fps']} frames/s, skipped "
                     f"{r['record_live_skipped']} of {r['record_live_offered']}; {r['record_dropped_frames']} dropped")
    if "loop" in r:
        lines.append(f"memory, clip x{r['loop']} vs once: {r['rss_loop_mb']:.0f} / {r['rss_once_mb']:.0f} MiB "
                     f"= {r['rss_loop_ratio']:.2f}  (target <= 1.2)")
    return "\n".join(lines)


def to_json(r: dict[str, Any]) -> str:
    """JSON report."""
    return json.dumps(r, indent=2)


def run_voice_bench(media: Path | None = None, asr_model: str = "whisper-base", accuracy: bool = True,
                    small: bool = False) -> dict[str, Any]:
    """Voice pipeline speed on ``media`` (default: the bundled read-speech sample), and transcript
    accuracy on labelled speech.

    ``voice_realtime_factor`` is audio seconds analysed per wall-clock second for the whole voice
    analysis (VAD, speaker turns, speech recognition, acoustic and text features, scores, writes);
    the stage figures are measured separately on the same audio, warm.

    With ``accuracy``, the labelled recordings of :mod:`app.services.voice_eval` (LibriVox and
    espeak-ng clips, and multi-answer sessions with 1.5-s pauses; ``small``: a subset) go through
    the same whole voice analysis: ``accuracy`` holds WER (English) and CER (Mandarin) per group,
    each with its answers, words or characters, and a 95% bootstrap interval;
    ``accuracy_realtime_factor`` is the speed of that run.
    """
    from app.core.voice.acoustic import acoustic_features
    from app.core.voice.audio import load_audio
    from app.core.voice.turns import utterances
    from app.core.voice.vad import speech_segments
    from app.services.voice import VoiceConfig, analyze_voice

    src = Path(media) if media else default_speech()
    track = load_audio(str(src))
    try:
        t0 = time.perf_counter()
        segs = speech_segments(track)
        vad_s = time.perf_counter() - t0
        utts = utterances(track, segs)
        speech = sum(u.end - u.start for u in utts)
        acoustic_features(track.slice(utts[0].start, utts[0].end), track.sr) if utts else None  # warm numba
        t0 = time.perf_counter()
        for u in utts:
            acoustic_features(track.slice(u.start, u.end), track.sr)
        ac_s = time.perf_counter() - t0
        duration = track.duration_s
    finally:
        track.close()
    config = VoiceConfig(asr_model=asr_model)
    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "bench.db") as ws:
        case_id = ws.create_case("bench")
        media_id = ws.add_media(case_id, {"path": str(src), "sha256": "bench", "has_audio": 1})
        t0 = time.perf_counter()
        res = analyze_voice(ws, case_id, media_id, src, config)
        total = time.perf_counter() - t0
    out: dict[str, Any] = {
        "media": str(src), "audio_s": round(duration, 2), "speech_s": round(speech, 2),
        "utterances": res.utterances, "asr_model": asr_model,
        "vad_realtime_factor": round(duration / max(vad_s, 1e-9), 1),
        "acoustic_realtime_factor": round(speech / max(ac_s, 1e-9), 1),
        "voice_wall_s": round(total, 2), "voice_realtime_factor": round(duration / total, 2)}
    if accuracy:
        from app.services import voice_eval

        items = voice_eval.labelled_set(small=small)
        t0 = time.perf_counter()
        acc = voice_eval.accuracy(items, asr_model)
        wall = time.perf_counter() - t0
        heard = sum(len(i.audio) for i in items if i.lang == "en" or not asr_model.endswith(".en"))
        out.update({"accuracy": acc["groups"], "accuracy_audio_s": round(heard / voice_eval.SR, 1),
                    "accuracy_realtime_factor": round(heard / voice_eval.SR / wall, 2),
                    "accuracy_items": acc["items"]})
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def format_voice_report(r: dict[str, Any]) -> str:
    """Human-readable voice bench report."""
    lines = [
        f"media            {r['media']} ({r['audio_s']} s audio, {r['speech_s']} s speech, {r['utterances']} utterances)",
        f"VAD              {r['vad_realtime_factor']:8.1f}x real time",
        f"acoustic feats   {r['acoustic_realtime_factor']:8.1f}x real time (of speech)",
        f"whole voice run  {r['voice_wall_s']:8.2f} s  = {r['voice_realtime_factor']:.2f}x real time  (target >= 2x)"
        f"  [{r['asr_model']}]"]
    if "accuracy" in r:
        lines.append(f"accuracy run     {r['accuracy_audio_s']} s of labelled audio at "
                     f"{r['accuracy_realtime_factor']:.2f}x real time (whole voice analysis)")
        for name, g in r["accuracy"].items():
            if g["rate"] is not None:
                unit = "characters" if name.startswith("mandarin") else "words"
                lines.append(f"  {name:46s} {g['rate']:.3f}  95% CI [{g['interval'][0]:.3f}, {g['interval'][1]:.3f}]"
                             f"  ({g['answers']} answers, {g['units']} {unit})")
    lines.append(f"peak RSS         {r['peak_rss_mb']:.0f} MiB")
    return "\n".join(lines)


def run_session_bench(media: Path) -> dict[str, Any]:
    """Wall time of video alone, voice alone, and both side by side on one recording.

    ``overlap_ratio`` = both / (video + voice): 1.0 would mean no overlap at all, 0.5 perfect overlap
    of two equal halves.
    """
    from app.services.session import analyze_media
    from app.services.voice import VoiceConfig

    def timed(video: bool, voice: bool) -> float:  # video alone, or video and voice together
        with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "b.db") as ws:
            t0 = time.perf_counter()
            if video and not voice:
                analyze_video(ws, media, "bench", PipelineConfig())
            else:
                analyze_media(ws, media, "bench", PipelineConfig(), VoiceConfig())
            return time.perf_counter() - t0

    timed(True, True)  # warm caches (models, numba, the assembled Whisper model)
    video_s = timed(True, False)
    both_s = timed(True, True)
    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "b.db") as ws:
        from app.services.analyze import register
        from app.services.voice import analyze_voice

        reg = register(ws, media, "bench", [], require_video=False)
        t0 = time.perf_counter()
        analyze_voice(ws, reg.case_id, reg.media_id, media, VoiceConfig())
        voice_s = time.perf_counter() - t0
    info = probe(str(media), require_video=False)
    return {"media": str(media), "duration_s": round(info.duration_s, 2), "video_s": round(video_s, 2),
            "voice_s": round(voice_s, 2), "both_s": round(both_s, 2),
            "overlap_ratio": round(both_s / (video_s + voice_s), 3),
            "realtime_factor": round(info.duration_s / both_s, 2), "peak_rss_mb": round(peak_rss_mb(), 1)}


def run_report_bench(text_for: Any = None, minutes: float = 20.0) -> dict[str, Any]:
    """Time the case report (build and PDF) of a synthetic ``minutes``-long case, in English and Chinese.

    ``text_for(lang)`` gives the report's text object (the CLI passes the explanation panel's
    sentences); without it the bare English text is used for both. Target: at most 10 s for 20 minutes.
    """
    import tempfile

    from app.services.report import EnglishText, build
    from app.services.report_pdf import write_pdf
    from app.services.synthetic import build_synthetic_case
    from app.store.workspace import Workspace

    out: dict[str, Any] = {"case_minutes": minutes, "target_s": 10.0}
    with tempfile.TemporaryDirectory(prefix="vigil-report-bench-") as d, Workspace.open(Path(d) / "ws.db") as ws:
        case_id = build_synthetic_case(ws, minutes * 60.0, 30.0)
        for lang in ("en", "zh"):
            t0 = time.perf_counter()
            report = build(ws, case_id, text_for(lang) if text_for else EnglishText())
            pages = write_pdf(report, Path(d) / f"report_{lang}.pdf")
            out[f"report_{lang}_s"] = round(time.perf_counter() - t0, 2)
            out[f"pages_{lang}"] = pages
    return out


FIRST_PAINT_TARGET_S = 3.0


def vigil_command(executable: str | Path | None = None) -> list[str]:
    """How to start Vigil: a given frozen executable (or its ``dist/vigil`` folder), this frozen
    app itself, or ``python -m app`` from the source tree."""
    if executable:
        exe = Path(executable)
        exe = exe / ("vigil.exe" if sys.platform == "win32" else "vigil") if exe.is_dir() else exe
        if not exe.is_file():
            raise VigilError(f"{executable}: no vigil executable there (build one with 'make package')")
        return [str(exe)]
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def run_first_paint_bench(executable: str | Path | None = None, repeats: int = 3) -> dict[str, Any]:
    """Seconds from starting ``vigil gui`` on a fresh install (empty user data and settings folders,
    empty workspace) to its painted window, ``repeats`` times, each in a new process.

    The window is rendered offscreen by ``gui --screenshot``, and the figure is the PNG's write time
    less the start time. That includes the screenshot's own 0.3-s wait for the last paints, so it is
    an upper bound. ``gui_first_paint_s`` is the median run; ``runs_s`` lists all, the first first.
    """
    cmd = vigil_command(executable)
    runs, exits = [], []
    with tempfile.TemporaryDirectory(prefix="vigil-first-paint-") as tmp:
        for i in range(max(1, repeats)):
            data, png = Path(tmp) / f"data{i}", Path(tmp) / f"window{i}.png"
            env = dict(os.environ, VIGIL_DATA_DIR=str(data), VIGIL_SETTINGS_DIR=str(data / "settings"),
                       QT_QPA_PLATFORM="offscreen")
            t0 = time.time()
            p = subprocess.run([*cmd, "gui", "--workspace", str(data / "workspace.db"), "--screenshot", str(png)],
                               env=env, capture_output=True, text=True, timeout=300)
            exits.append(time.time() - t0)
            if p.returncode != 0 or not png.is_file():
                tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
                raise VigilError(f"the window did not start (exit status {p.returncode}): {tail[0]}")
            runs.append(png.stat().st_mtime - t0)
    return {"command": " ".join(cmd), "frozen": bool(executable) or bool(getattr(sys, "frozen", False)),
            "gui_first_paint_s": round(statistics.median(runs), 2), "runs_s": [round(r, 2) for r in runs],
            "process_exit_s": [round(e, 2) for e in exits], "target_s": FIRST_PAINT_TARGET_S}


def format_first_paint_report(r: dict[str, Any]) -> str:
    """Human-readable first-start report."""
    kind = "frozen bundle" if r["frozen"] else "source tree"
    return (f"first start      {r['gui_first_paint_s']:.2f} s to a painted window  (target <= {r['target_s']:.0f} s)"
            f"  [{kind}: {r['command']}; runs {', '.join(f'{s:.2f}' for s in r['runs_s'])} s]")
