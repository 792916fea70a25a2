"""Vigil's command line: headless analysis, export, case listing, model checks and the benchmark.

Results go to stdout (or files); progress bars and messages go to stderr. Expected failures (bad
input, unwritable workspace, unknown case) print one line and exit with status 2; Ctrl-C keeps what
was committed and exits with 130. Anything else is a bug: one line on stderr, the traceback in the
log file, exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import signal
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from app import __version__
from app.core.errors import VigilError
from app.cli._common import Progress, StopOnSignal, add_workspace_arg, open_workspace
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


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a recording (video and voice) into a case and print the case id."""
    from app.core.pipeline import PipelineConfig
    from app.services.session import analyze_media
    from app.services.voice import VoiceConfig

    if args.max_faces < 1 or args.stride < 1:
        raise VigilError("--max-faces and --stride must be at least 1")
    config = PipelineConfig(max_faces=args.max_faces, stride=args.stride)
    if not args.no_voice and args.asr_model != "whisper-base":
        from app.core.voice.whisper_models import whisper_model_dir

        whisper_model_dir(args.asr_model)  # a model this installation lacks is refused before the video is read
    voice = None if args.no_voice else VoiceConfig(language=args.language, asr_model=args.asr_model,
                                                   transcript=args.transcript)
    name = Path(args.video).name
    with open_workspace(args) as ws, Progress() as progress, StopOnSignal() as stop:
        res = analyze_media(ws, args.video, args.case, config, voice,
                            progress.reporter(f"{name} video", "frames"), progress.reporter(f"{name} voice", "utterances"),
                            stop.is_set, purpose=getattr(args, "purpose", None))
    if res.interrupted:
        raise KeyboardInterrupt  # everything is committed and marked; main() says how to resume
    v, a = res.video, res.voice
    if v is not None and v.status == "already":
        print(f"{name}: video already analysed in case {res.case_id} (same file, same settings)", file=sys.stderr)
    elif v is not None:
        share = 100.0 * v.usable / v.frames if v.frames else 0.0
        print(f"{name}: case {res.case_id}, {v.frames} frames analysed, {v.usable} with a usable face "
              f"({share:.0f}%)", file=sys.stderr)
        if v.note:
            print(f"{name}: note: {v.note}", file=sys.stderr)
    if a is not None:
        what = "already analysed" if a.status == "already" else f"{a.utterances} utterances"
        print(f"{name}: voice: {what}" + (f" ({a.note})" if a.note else ""), file=sys.stderr)
    if res.integrity is not None:
        flagged = [f for f in res.integrity.get("findings", []) if f.get("score", 0) >= 0.3]
        print(f"{name}: capture integrity score {res.integrity.get('score', 0):.2f}"
              + "".join(f"\n{name}:   {f['check']}: {f['summary']}" for f in flagged), file=sys.stderr)
    if res.forgery is not None and res.forgery.get("probability") is not None:
        cues = ", ".join(f"{k} {v:.2f}" for k, v in res.forgery["cues"].items() if v is not None)
        print(f"{name}: forgery indicator (applicant's face) {res.forgery['probability']:.2f} "
              f"[uncalibrated; cues: {cues}]", file=sys.stderr)
    for note in res.notes:
        print(f"{name}: note: {note}", file=sys.stderr)
    if res.emotion_refused:
        print(f"{name}: {res.emotion_refused}", file=sys.stderr)
    print(res.case_id)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the requested exports of a case (several in one call)."""
    from app.services import export
    from app.services.au_interop import pyfeat_csv
    from app.services.export_eaf import export_eaf
    from app.services.export_json import export_json

    outputs = [(args.frames_csv, export.frames_csv), (args.utterances_csv, export.utterances_csv),
               (args.features_csv, export.features_csv), (args.pyfeat_csv, pyfeat_csv),
               (args.eaf, export_eaf), (args.json, export_json)]
    outputs = [(path, fn) for path, fn in outputs if path]
    if not outputs:
        raise VigilError("nothing to export: give at least one output, e.g. --frames-csv PATH")
    with open_workspace(args) as ws:
        case = ws.find_case(args.case)
        for path, fn in outputs:
            if fn is export.frames_csv:
                n = fn(ws, case["id"], path, landmarks=bool(getattr(args, "landmarks", False)))
            else:
                n = fn(ws, case["id"], path)
            print(f"{path}: {n} {'annotations' if fn is export_eaf else 'seconds' if fn is export_json else 'rows'}",
                  file=sys.stderr)
    return 0


def cmd_import_au(args: argparse.Namespace) -> int:
    """Store another tool's AU intensities (OpenFace 2.0, py-feat) on a case as their own track."""
    from app.core.au_io import read_au_csv
    from app.services.au_interop import import_au

    table = read_au_csv(args.csv, args.format)  # a bad file fails here, before the workspace is touched
    with open_workspace(args) as ws:
        r = import_au(ws, args.case, args.csv, table=table)
    if args.json:
        print(json.dumps(r, indent=2, ensure_ascii=False))
        return 0
    print(f"case {r['case']['id']} ({r['case']['name']}): {r['source']} AUs imported as their own track, "
          f"{r['frames']} frames ({r['valid_frames']} with values), {len(r['aus'])} AUs, {r['scale']}")
    for note in r["notes"]:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_compare_au(args: argparse.Namespace) -> int:
    """Per-AU agreement (Pearson r, ICC(3,1), offset) of a case's AUs with another tool's CSV."""
    from app.core.au_io import read_au_csv
    from app.services.au_interop import compare_au

    table = read_au_csv(args.reference, args.format)
    with open_workspace(args) as ws:
        report = compare_au(ws, args.case, args.reference, table=table)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    _print_agreement(report)
    return 0


def _print_agreement(report: dict[str, Any]) -> None:
    """The compare-au report as a Rich table on stdout (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    from app.services.timeline import AU_LABELS

    ref, fr = report["reference"], report["frames"]
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: wide enough that no row wraps
        console = Console(highlight=False, width=150)

    def num(v: float | None, fmt: str = "{:.2f}") -> str:
        return "n/a" if v is None else fmt.format(v)

    table = Table(title=f"Vigil vs {ref['source']} ({ref['scale']}) — case {report['case']['id']} "
                        f"{report['case']['name']}", title_justify="left")
    for name, just in (("AU", "left"), ("name", "left"), ("r", "right"), ("ICC(3,1)", "right"),
                       ("offset", "right"), ("frames", "right"), ("moves", "center"), ("note", "left")):
        table.add_column(name, justify=just)  # type: ignore[arg-type]
    for a in report["aus"]:
        table.add_row(a["au"], AU_LABELS.get(a["au"], "blink" if a["au"] == "AU45" else ""), num(a["r"]),
                      num(a["icc"]), num(a["offset"], "{:+.2f}"), str(a["n"]), "yes" if a["moves"] else "",
                      a["reason"])
    console.print(table)
    console.print(f"paired by {report['paired_by']}: {fr['paired']} frames "
                  f"(reference {fr['reference']} rows, {fr['reference_valid']} valid; case {fr['case']} frames)")
    mean = report["mean_r_moving"]
    console.print(f"mean r over the {len(report['moving'])} AUs that move in the reference: "
                  f"{'n/a' if mean is None else f'{mean:.2f}'}")
    console.print(f"({report['move_rule']}; offset is Vigil minus reference)")
    for note in report["notes"]:
        console.print(f"note: {note}")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the deception-risk model on the institution's own labelled cases."""
    from app.services.calibrate import calibrate, calibrate_summary

    with open_workspace(args) as ws:
        report = calibrate(ws, args.labels, args.outcome_threshold)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(calibrate_summary(report))
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    """List the cases of a workspace."""
    with open_workspace(args) as ws:
        cases = ws.list_cases()
    if args.json:
        print(json.dumps(cases, indent=2))
        return 0
    if not cases:
        print("no cases yet", file=sys.stderr)
        return 0
    print(f"{'id':>4}  {'name':30}  {'status':10}  {'media':>5}  {'frames':>7}  {'utterances':>10}  {'last run':12}  created")
    for c in cases:
        print(f"{c['id']:>4}  {c['name'][:30]:30}  {c['status']:10}  {c['media']:>5}  {c['frames']:>7}  "
              f"{c['utterances']:>10}  {(c['last_run'] or '-'):12}  {c['created_at']}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List every model with its licence, and optionally verify its sha256."""
    from app.core.models import NOT_INSTALLED, load_manifest, verify

    rows = []
    for m in load_manifest().values():
        status = verify(m) if args.verify else "not checked"
        rows.append({"name": m.name, "task": m.task, "licence": m.licence, "commercial_use": m.commercial_use,
                     "file": str(m.path), "sha256": m.sha256, "status": status, "card": m.card,
                     "bundled": m.bundled})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:20} {r['licence']:12} {'commercial ok' if r['commercial_use'] else 'NON-COMMERCIAL':14} "
                  f"sha256 {r['sha256'][:12]}…  {r['status']}")
            print(f"{'':20} {r['task']}")
    bad = [r["name"] for r in rows if r["status"] not in ("ok", "not checked", NOT_INSTALLED)]
    if bad:
        raise VigilError(f"model check failed for: {', '.join(bad)}")
    return 0


def cmd_check_image(args: argparse.Namespace) -> int:
    """Check a still image (ID photo, screenshot, document) for signs of editing."""
    from app.services.check_image import run_check

    report = run_check(args.image, args.heatmap)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"{Path(args.image).name}: tampering score {report['score']:.2f} (0 = no sign, 1 = strong signs)")
    for f in sorted(report["findings"], key=lambda f: -f["score"]):
        print(f"  {f['check']:12} {f['score']:.2f}  {f['summary']}")
    if args.heatmap:
        print(f"heat map: {args.heatmap}", file=sys.stderr)
    print("A high score asks for a closer look at the original document; it is not proof of forgery.",
          file=sys.stderr)
    return 0


def cmd_forgery_eval(args: argparse.Namespace) -> int:
    """Measure the forgery indicator on labelled real and fake videos (and optionally re-fit it)."""
    from app.services.forgery_eval import evaluate

    with open_workspace(args) as ws, Progress() as progress:
        report = evaluate(args.real, args.fake, args.plot, args.fit, progress.reporter("videos", "videos"),
                          workspace=ws, cache=args.cache, groups=args.groups)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0

    def fig(f: dict) -> str:
        n = f"(n {f['n_real']} real / {f['n_fake']} fake)"
        if f["auc"] is None:
            return f"AUC not measurable {n}"
        ci = "no interval" if f["ci95"][0] is None else f"95% CI {f['ci95'][0]}-{f['ci95'][1]}"
        return f"AUC {f['auc']} [{ci}] {n}"

    print(f"{report['n_real']} real, {report['n_fake']} fake videos in {report['n_groups']} groups: "
          f"{fig(report)}, EER {report['eer']}")
    for c, f in report["cues"].items():
        print(f"  cue {c:9} {fig(f)}")
    for v in report["videos"]:
        print(f"  {v['label']:4}  {v['score'] if v['score'] is not None else '-':>6}  {v['path']}"
              + (f"  (carried by {v['carried_by']})" if v.get("carried_by") else "")
              + (f"  ({v['error']})" if v.get("error") else ""))
    if "fit" in report:
        f = report["fit"]
        print(f"leave-one-group-out cross-validated {fig(f['cv'])}")
        print(f"leave-pair-of-groups-out cross-validated {fig(f['cv_pairs'])}")
        print(f"fitted fusion {f['version']} now active in {f['saved']}: {f['weights']}")
    return 0


def cmd_train_forgery(args: argparse.Namespace) -> int:
    """Train the blending-boundary CNN on real faces (self-blended images) and optionally use it."""
    try:
        from app.core.forensics.sbi.train import onnx_path, train
    except ModuleNotFoundError as exc:  # the frozen bundle carries no torch (installer/README.md)
        if exc.name != "torch":
            raise
        raise VigilError("vigil train-forgery needs torch, which this installation does not carry; "
                         "train in a source installation (pip install -e .) and activate the model there") from exc
    from app.services.forgery import activate_blend_model

    missing = [p for p in args.real if not Path(p).exists()]
    if missing:
        raise VigilError(f"not found: {', '.join(missing)}")
    out = Path(args.out)
    if out.is_dir():
        raise VigilError(f"{out}: is a folder; give the file to write, e.g. {out / 'blendnet.pt'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out.parent / f".{out.name}.probe", "wb"):
            pass
        (out.parent / f".{out.name}.probe").unlink()
    except OSError as exc:
        raise VigilError(f"{out}: cannot write there ({exc.strerror or exc})") from exc
    try:
        onnx_path(out)
    except ValueError as exc:
        raise VigilError(str(exc)) from exc
    if args.epochs < 1 or args.every < 1:
        raise VigilError("--epochs and --every must be at least 1")
    try:
        report = train(args.real, out, epochs=args.epochs, seed=args.seed, every=args.every,
                       holdout=args.holdout, say=lambda line: print(line, file=sys.stderr), xray=args.xray)
    except ValueError as exc:
        raise VigilError(str(exc)) from exc
    if args.activate:
        with open_workspace(args) as ws:
            report["activated"] = activate_blend_model(ws, report["onnx"], report)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    val = report.get("val") or {}
    print(f"{out}: trained on {report['n_train']} faces from {len(report['train_files'])} files, "
          f"validated on {report['n_val']} faces (ROC AUC {val.get('auc', float('nan')):.3f} against self-blends)")
    print(f"sha256 {report['sha256']}")
    if args.activate:
        print(f"active: later analyses in {args.workspace or default_workspace()} use it ({report['activated']})")
    else:
        print("not active: run again with --activate to use it in analyses")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure decode, landmarker and pipeline speed and memory."""
    from app.core.pipeline import PipelineConfig
    from app.services.bench import format_report, run_bench, to_json

    if args.video and not Path(args.video).exists():
        raise VigilError(f"{args.video}: file not found")
    if args.first_paint is not None:
        from app.services.bench import format_first_paint_report, run_first_paint_bench

        r = run_first_paint_bench(args.first_paint or None)
        print(to_json(r) if args.json else format_first_paint_report(r))
        return 0
    if args.gui:
        from app.ui.bench import format_gui_report, run_gui_bench

        print("building a synthetic one-hour case and opening it in the review window…", file=sys.stderr)
        r = run_gui_bench()
        print(json.dumps(r, indent=2) if args.json else format_gui_report(r))
        return 0
    if args.report:
        from app.services.bench import run_report_bench
        from app.ui.report_text import ReportText

        print("building a synthetic 20-minute case and timing its report…", file=sys.stderr)
        print(to_json(run_report_bench(ReportText)))
        return 0
    height = 720 if args.hd else args.height
    fps = 30 if args.hd else args.fps
    print("benchmarking (each stage runs the whole clip)…", file=sys.stderr)
    if args.session:
        from app.services.bench import run_session_bench

        if not args.video:
            raise VigilError("--session needs a recording with video and audio, e.g. vigil bench --session interview.mp4")
        print(to_json(run_session_bench(Path(args.video))))
        return 0
    if args.voice:
        from app.services.bench import format_voice_report, run_voice_bench

        r = run_voice_bench(args.video, args.asr_model, accuracy=not args.no_accuracy)
        print(to_json(r) if args.json else format_voice_report(r))
        return 0
    r = run_bench(args.video, height, fps, args.loop, PipelineConfig(cnn_stride=args.cnn_stride))
    print(to_json(r) if args.json else format_report(r))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the review workstation (Qt is imported only here, so the other commands stay Qt-free)."""
    from app.ui.app import run_gui

    return run_gui(args.workspace, args.target, args.screenshot)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the CLI)."""
    p = argparse.ArgumentParser(prog="vigil", description="Vigil: on-device review of video interviews for fraud risk.")
    p.add_argument("--version", action="version", version=f"vigil {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ws = add_workspace_arg
    a = sub.add_parser("analyze", help="analyse a recording (video and voice) into a case; prints the case id")
    a.add_argument("video", metavar="VIDEO")
    ws(a)
    a.add_argument("--case", metavar="NAME", help="case name (default: the file name); an existing case gets the video")
    a.add_argument("--max-faces", type=int, default=1, metavar="N", help="faces to track per frame (default 1)")
    a.add_argument("--stride", type=int, default=1, metavar="N", help="analyse every Nth frame (default 1: all)")
    a.add_argument("--no-voice", action="store_true", help="skip voice analysis")
    a.add_argument("--language", choices=("zh", "en"), help="force the transcript language (default: detect)")
    a.add_argument("--asr-model", choices=("whisper-base", "whisper-tiny.en"), default="whisper-base",
                   help="speech recognition model (tiny.en: faster, English only)")
    a.add_argument("--transcript", metavar="SRT|VTT", help="use this subtitle file instead of speech recognition")
    a.add_argument("--purpose", metavar="PURPOSE",
                   help="why the interview was held (credit, kyc, fraud_investigation, employee, hiring, other)")
    a.set_defaults(func=cmd_analyze)

    e = sub.add_parser("export", help="export a case (several outputs may be given at once)")
    e.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    ws(e)
    e.add_argument("--frames-csv", metavar="PATH", help="per-frame face, AU and expression table")
    e.add_argument("--utterances-csv", metavar="PATH", help="per-utterance transcript, arousal and risk")
    e.add_argument("--features-csv", metavar="PATH", help="per-utterance acoustic (ac_*) and text (tx_*) features")
    e.add_argument("--pyfeat-csv", metavar="PATH", help="the AUs in py-feat's Fex CSV layout (Vigil's 0-5 intensities)")
    e.add_argument("--eaf", metavar="PATH", help="ELAN 3.0 document: annotation tiers, transcript, expression and AU events")
    e.add_argument("--json", metavar="PATH", help="the whole case as JSON (resources/schema/case_export.schema.json)")
    e.add_argument("--landmarks", action="store_true",
                   help="add the raw 478-point face mesh to --frames-csv (biometric data: left out by default)")
    e.set_defaults(func=cmd_export)

    ia = sub.add_parser("import-au", help="put another tool's AUs (OpenFace 2.0, py-feat CSV) on a case's timelines")
    ia.add_argument("csv", metavar="CSV")
    ia.add_argument("--case", required=True, metavar="CASE", help="case id, name, or 'latest'")
    ia.add_argument("--format", choices=("openface", "pyfeat"), help="the CSV's tool (default: tell from its header)")
    ws(ia)
    ia.add_argument("--json", action="store_true")
    ia.set_defaults(func=cmd_import_au)

    ca = sub.add_parser("compare-au", help="agreement (Pearson r, ICC) of a case's AUs with OpenFace or py-feat")
    ca.add_argument("case", metavar="CASE", help="case id, name, or 'latest'")
    ca.add_argument("--reference", required=True, metavar="CSV", help="OpenFace 2.0 or py-feat (Fex) AU CSV")
    ca.add_argument("--format", choices=("openface", "pyfeat"), help="the CSV's tool (default: tell from its header)")
    ws(ca)
    ca.add_argument("--json", action="store_true")
    ca.set_defaults(func=cmd_compare_au)

    c = sub.add_parser("cases", help="list the cases in a workspace")
    ws(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_cases)

    m = sub.add_parser("models", help="list models with licences; --verify checks their sha256")
    m.add_argument("--verify", action="store_true")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)

    k = sub.add_parser("calibrate", help="fit the risk model on your own labelled cases (needs >= 20)")
    k.add_argument("--labels", required=True, metavar="CSV", help="columns: case, and label (0/1) or outcome")
    k.add_argument("--outcome-threshold", type=float, default=30.0, metavar="N",
                   help="outcome above N counts as bad (default 30, e.g. days overdue)")
    ws(k)
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_calibrate)

    ci = sub.add_parser("check-image", help="check an ID photo, screenshot or document image for editing traces")
    ci.add_argument("image", metavar="IMAGE")
    ci.add_argument("--json", action="store_true")
    ci.add_argument("--heatmap", metavar="PNG", help="write the image with suspicious regions highlighted")
    ci.set_defaults(func=cmd_check_image)

    fe = sub.add_parser("forgery-eval", help="ROC AUC of the forgery indicator on your real and fake videos")
    fe.add_argument("--real", required=True, metavar="DIR")
    fe.add_argument("--fake", required=True, metavar="DIR")
    fe.add_argument("--json", action="store_true")
    fe.add_argument("--plot", metavar="ROC.png", help="write the ROC curve")
    fe.add_argument("--fit", action="store_true",
                    help="cross-validate a fitted fusion (leave one group out), then fit it on all these videos and "
                         "make it the workspace's active fusion")
    fe.add_argument("--groups", metavar="CSV", help="path,group rows: correlated videos kept in one group "
                    "(default: one group per file)")
    fe.add_argument("--cache", metavar="DB", help="analysis workspace to keep and reuse between evaluations "
                    "(default: a temporary one)")
    ws(fe)
    fe.set_defaults(func=cmd_forgery_eval)

    tf = sub.add_parser("train-forgery", help="train the blending-boundary detector on your own real face media")
    tf.add_argument("--real", nargs="+", required=True, metavar="DIR",
                    help="folders or files of real (untampered) face videos and images")
    tf.add_argument("--out", required=True, metavar="MODEL", help="where to write the weights (.pt; their ONNX export goes beside them)")
    tf.add_argument("--epochs", type=int, default=12)
    tf.add_argument("--seed", type=int, default=0)
    tf.add_argument("--every", type=int, default=4, metavar="K", help="keep every K-th video frame")
    tf.add_argument("--holdout", nargs="*", default=None, metavar="FILE",
                    help="file names kept out of training for validation (default: about a fifth)")
    tf.add_argument("--xray", type=float, default=0.0, metavar="SHARE",
                    help="share of pseudo-fakes blended from another file's face (Face X-ray) instead of self-blends")
    tf.add_argument("--activate", action="store_true", help="use the trained weights in later analyses of the workspace")
    ws(tf)
    tf.add_argument("--json", action="store_true")
    tf.set_defaults(func=cmd_train_forgery)

    b = sub.add_parser("bench", help="measure speed and memory on a video (default: bundled real clip); --gui: the review window")
    b.add_argument("video", nargs="?", metavar="VIDEO")
    b.add_argument("--json", action="store_true")
    b.add_argument("--720p", dest="hd", action="store_true", help="re-encode the clip to 1280x720 at 30 fps first")
    b.add_argument("--height", type=int, help="re-encode to this height first")
    b.add_argument("--fps", type=int, help="re-encode to this frame rate first")
    b.add_argument("--loop", type=int, default=0, metavar="N", help="also compare peak memory of the clip x N vs once")
    b.add_argument("--cnn-stride", type=int, default=3, metavar="N", help="expression CNN every Nth frame")
    b.add_argument("--voice", action="store_true",
                   help="benchmark voice analysis instead (VAD, ASR, features), with WER/CER on labelled speech")
    b.add_argument("--no-accuracy", action="store_true", help="with --voice: speed only, skip the WER/CER run")
    b.add_argument("--asr-model", choices=("whisper-base", "whisper-tiny.en"), default="whisper-base")
    b.add_argument("--session", action="store_true",
                   help="time video alone, voice alone and both side by side on one recording")
    b.add_argument("--report", action="store_true", help="time the case report (PDF) of a synthetic 20-minute case")
    b.add_argument("--gui", action="store_true",
                   help="time opening a synthetic one-hour case in the review window, and its pan/zoom frames")
    b.add_argument("--first-paint", nargs="?", const="", metavar="EXE",
                   help="time a fresh install's window start to its first paint (EXE: a frozen bundle, e.g. dist/vigil)")
    b.set_defaults(func=cmd_bench)

    g = sub.add_parser("gui", help="open the review workstation (a VIDEO is analysed; a CASE is opened)")
    g.add_argument("target", nargs="?", metavar="VIDEO|CASE", help="a recording to analyse, or a case id, name or 'latest'")
    ws(g)
    g.add_argument("--screenshot", metavar="PNG", help="render the window at 1600x1000 with the case open, write PNG, exit")
    g.set_defaults(func=cmd_gui)
    _register_command_modules(sub)
    return p


def _register_command_modules(sub: Any) -> None:
    """Each module of this package with a ``register(sub)`` function adds its own subcommands."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)


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
