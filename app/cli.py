"""Vigil's command line: headless analysis, export, case listing, model checks and the benchmark.

Results go to stdout (or files); progress bars and messages go to stderr. Expected failures (bad
input, unwritable workspace, unknown case) print one line and exit with status 2; Ctrl-C keeps what
was committed and exits with 130. Anything else is a bug: one line on stderr, the traceback in the
log file, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from app import __version__
from app.core.errors import VigilError
from app.paths import default_workspace, user_log_dir

log = logging.getLogger("vigil")


def _setup_logging() -> Path | None:
    try:
        d = user_log_dir()
        d.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(d / "vigil.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return d / "vigil.log"


def _workspace(args: argparse.Namespace) -> Any:
    from app.store.workspace import Workspace

    return Workspace.open(args.workspace or default_workspace())


class _ProgressBar:
    """A rich progress bar on stderr, shown from the first progress report (not for a bad input)."""

    def __init__(self, label: str) -> None:
        self.label, self.bar, self.task = label, None, None

    def __call__(self, done: int, total: int, t: float) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total} frames"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=max(total, done))

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a video into a case and print the case id."""
    from app.core.pipeline import PipelineConfig
    from app.services.analyze import analyze_video

    if args.max_faces < 1 or args.stride < 1:
        raise VigilError("--max-faces and --stride must be at least 1")
    config = PipelineConfig(max_faces=args.max_faces, stride=args.stride)
    with _workspace(args) as ws, _ProgressBar(Path(args.video).name) as progress:
        res = analyze_video(ws, args.video, args.case, config, progress)
    name = Path(args.video).name
    if res.status == "already":
        print(f"{name}: already analysed in case {res.case_id} (same file, same settings)", file=sys.stderr)
    else:
        share = 100.0 * res.usable / res.frames if res.frames else 0.0
        print(f"{name}: case {res.case_id}, {res.frames} frames analysed, {res.usable} with a usable face "
              f"({share:.0f}%)", file=sys.stderr)
    if res.note and res.status != "already":
        print(f"{name}: note: {res.note}", file=sys.stderr)
    print(res.case_id)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the requested exports of a case."""
    from app.services.export import frames_csv

    if not args.frames_csv:
        raise VigilError("nothing to export: give at least one output, e.g. --frames-csv PATH")
    with _workspace(args) as ws:
        case = ws.find_case(args.case)
        n = frames_csv(ws, case["id"], args.frames_csv)
        print(f"{args.frames_csv}: {n} rows", file=sys.stderr)
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    """List the cases of a workspace."""
    with _workspace(args) as ws:
        cases = ws.list_cases()
    if args.json:
        print(json.dumps(cases, indent=2))
        return 0
    if not cases:
        print("no cases yet", file=sys.stderr)
        return 0
    print(f"{'id':>4}  {'name':30}  {'status':10}  {'media':>5}  {'frames':>7}  {'last run':12}  created")
    for c in cases:
        print(f"{c['id']:>4}  {c['name'][:30]:30}  {c['status']:10}  {c['media']:>5}  {c['frames']:>7}  "
              f"{(c['last_run'] or '-'):12}  {c['created_at']}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List every model with its licence, and optionally verify its sha256."""
    from app.core.models import load_manifest, verify

    rows = []
    for m in load_manifest().values():
        status = verify(m) if args.verify else "not checked"
        rows.append({"name": m.name, "task": m.task, "licence": m.licence, "commercial_use": m.commercial_use,
                     "file": str(m.path), "sha256": m.sha256, "status": status, "card": m.card})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:20} {r['licence']:12} {'commercial ok' if r['commercial_use'] else 'NON-COMMERCIAL':14} "
                  f"sha256 {r['sha256'][:12]}…  {r['status']}")
            print(f"{'':20} {r['task']}")
    bad = [r["name"] for r in rows if r["status"] not in ("ok", "not checked")]
    if bad:
        raise VigilError(f"model check failed for: {', '.join(bad)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure decode, landmarker and pipeline speed and memory."""
    from app.core.pipeline import PipelineConfig
    from app.services.bench import format_report, run_bench, to_json

    if args.video and not Path(args.video).exists():
        raise VigilError(f"{args.video}: file not found")
    height = 720 if args.hd else args.height
    fps = 30 if args.hd else args.fps
    print("benchmarking (each stage runs the whole clip)…", file=sys.stderr)
    r = run_bench(args.video, height, fps, args.loop, PipelineConfig(cnn_stride=args.cnn_stride))
    print(to_json(r) if args.json else format_report(r))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI)."""
    p = argparse.ArgumentParser(prog="vigil", description="Vigil: on-device review of video interviews for fraud risk.")
    p.add_argument("--version", action="version", version=f"vigil {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def ws(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--workspace", metavar="DB", help=f"workspace database (default: {default_workspace()})")

    a = sub.add_parser("analyze", help="analyse a video into a case; prints the case id")
    a.add_argument("video", metavar="VIDEO")
    ws(a)
    a.add_argument("--case", metavar="NAME", help="case name (default: the file name); an existing case gets the video")
    a.add_argument("--max-faces", type=int, default=1, metavar="N", help="faces to track per frame (default 1)")
    a.add_argument("--stride", type=int, default=1, metavar="N", help="analyse every Nth frame (default 1: all)")
    a.add_argument("--no-voice", action="store_true", help="skip voice analysis")
    a.set_defaults(func=cmd_analyze)

    e = sub.add_parser("export", help="export a case (several outputs may be given at once)")
    e.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    ws(e)
    e.add_argument("--frames-csv", metavar="PATH", help="per-frame face, AU and expression table")
    e.set_defaults(func=cmd_export)

    c = sub.add_parser("cases", help="list the cases in a workspace")
    ws(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_cases)

    m = sub.add_parser("models", help="list models with licences; --verify checks their sha256")
    m.add_argument("--verify", action="store_true")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)

    b = sub.add_parser("bench", help="measure speed and memory on a video (default: bundled real clip)")
    b.add_argument("video", nargs="?", metavar="VIDEO")
    b.add_argument("--json", action="store_true")
    b.add_argument("--720p", dest="hd", action="store_true", help="re-encode the clip to 1280x720 at 30 fps first")
    b.add_argument("--height", type=int, help="re-encode to this height first")
    b.add_argument("--fps", type=int, help="re-encode to this frame rate first")
    b.add_argument("--loop", type=int, default=0, metavar="N", help="also compare peak memory of the clip x N vs once")
    b.add_argument("--cnn-stride", type=int, default=3, metavar="N", help="expression CNN every Nth frame")
    b.set_defaults(func=cmd_bench)
    return p


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vigil`` console script."""
    args = build_parser().parse_args(argv)
    logfile = _setup_logging()
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        return int(args.func(args) or 0)
    except VigilError as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vigil: interrupted; what was analysed so far is saved, run the same command to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback for us
        log.exception("unexpected error")
        where = f"; details in {logfile}" if logfile else ""
        print(f"vigil: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return 1
