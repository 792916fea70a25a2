"""``vigil record``: record a remote interview (camera, screen region or file; audio) into a case."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli._common import StopOnSignal, add_workspace_arg, open_workspace
from app.core.errors import VigilError


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("record", help="record an interview (camera, screen region or file, plus audio) into a case")
    r.add_argument("--list", action="store_true", help="list the video and audio sources and exit")
    r.add_argument("--video", metavar="SRC", help="camera:N (or camera:NAME), screen:X,Y,W,H or file:PATH")
    r.add_argument("--audio", metavar="SRC", default="default",
                   help="default, none, a device index or name (loopback/monitor devices too), or file:PATH")
    r.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: at Ctrl-C)")
    r.add_argument("--out", metavar="PATH", help="the recording to write (fragmented MP4)")
    add_workspace_arg(r)
    r.add_argument("--case", metavar="NAME", help="case name (default: the file name); an existing case gets it")
    r.add_argument("--analyze", action="store_true", help="run the full analysis after the recording stops")
    r.add_argument("--consent-confirmed", action="store_true",
                   help="the applicant was shown the disclosure and agreed to be recorded")
    r.add_argument("--disclosure", metavar="TEXT|@FILE", help="the disclosure text (default: Chinese and English)")
    r.add_argument("--json", action="store_true", help="with --list: JSON")
    r.set_defaults(func=cmd_record)


def cmd_record(args: argparse.Namespace) -> int:
    from app.services import record as svc

    if args.list:
        return _list(svc.list_sources(), args.json)
    if not args.video or not args.out:
        raise VigilError("record needs --video SRC and --out PATH (see vigil record --list)")
    text = svc.disclosure_text(args.disclosure)
    confirmed = args.consent_confirmed or _ask(text)
    svc.require_consent(confirmed)
    video, audio = svc.open_sources(args.video, args.audio)  # no camera / no audio device: one line, exit 2
    from app.core.record import record

    print(f"recording {video.info.name} ({video.info.backend})"
          + (f" + {audio.name}" if audio else ", no sound") + f" to {args.out}; Ctrl-C stops", file=sys.stderr)
    with StopOnSignal() as stop:
        result = record(video, audio, args.out, args.duration, stop.is_set)
    if result.message:
        print(f"vigil: {result.message}", file=sys.stderr)
    with open_workspace(args) as ws:
        out = svc.add_recording_to_case(ws, result, args.case, text, confirmed, args.video, args.audio)
        cap = result.capture
        print(f"{Path(args.out).name}: case {out.case_id}, {result.seconds:.1f} s, {result.frames} frames, "
              f"{cap.get('dropped_frames', 0)} dropped" + (f"; VIRTUAL CAMERA: {cap['virtual_camera']}"
                                                          if cap.get("virtual_camera") else ""), file=sys.stderr)
        if args.analyze:
            _analyze(ws, args.out, out.case_id)
    print(out.case_id)
    return 2 if result.stopped_by in ("disk-full", "error") else 0


def _ask(text: str) -> bool:
    if not sys.stdin.isatty():
        return False
    print(text + "\n", file=sys.stderr)
    reply = input("Was the applicant shown this and did they agree to be recorded? 申请人是否已知悉并同意录制？[y/N] ")
    return reply.strip().lower() in ("y", "yes", "是", "是的")


def _list(sources: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(sources, indent=2, ensure_ascii=False))
        return 0
    print("video sources:")
    for v in sources["video"] or [dict(spec="(none)", name="no camera or screen found", backend="")]:
        print(f"  {v['spec']:<28} {v['name']}" + (f"  [{v['backend']}]" if v["backend"] else ""))
    print("  file:PATH                    a video file played as if live")
    print("audio sources:")
    for a in sources["audio"]:
        tags = [t for t, on in (("default", a["default"]), ("loopback/monitor", a["loopback"])) if on]
        print(f"  {a['spec']:<28} {a['name']}  [{a['backend']}, {a['channels']} ch]" + (f" ({', '.join(tags)})" if tags else ""))
    if not sources["audio"]:
        print("  (no audio input device found)")
    print("  none                         no sound\n  file:PATH                    the sound of a file played as if live")
    return 0


def _analyze(ws, path: str, case_id: int) -> None:
    from app.cli._common import Progress
    from app.services.session import analyze_media

    name = Path(path).name
    case = ws.find_case(case_id)
    with Progress() as progress, StopOnSignal() as stop:
        res = analyze_media(ws, path, case["name"], None, _voice(), progress.reporter(f"{name} video", "frames"),
                            progress.reporter(f"{name} voice", "utterances"), stop.is_set)
    if res.integrity is not None:
        print(f"{name}: capture integrity score {res.integrity.get('score', 0):.2f}", file=sys.stderr)
    if res.forgery is not None and res.forgery.get("probability") is not None:
        print(f"{name}: forgery indicator {res.forgery['probability']:.2f} [uncalibrated]", file=sys.stderr)
    for note in res.notes:
        print(f"{name}: note: {note}", file=sys.stderr)


def _voice():
    from app.services.voice import VoiceConfig

    return VoiceConfig()
