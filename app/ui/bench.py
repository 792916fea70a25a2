"""``vigil bench --gui``: how fast the review window opens an hour-long case, and how smoothly it pans.

A synthetic one-hour case (:func:`app.services.synthetic.build_synthetic_case`, 30 fps, so 108 000
frames) is written to a temporary workspace; then, in this process, the main window is shown
offscreen and the wall time is measured from "open case" to the timelines drawn: the data loaded
on the worker, handed to the views, and one full paint of the window finished. Panning and zooming
are then timed frame by frame (each frame: move the view, let Qt process the change, render the
timelines), which is what a reviewer feels as stutter or not. Throughout, every SQL statement the UI
thread runs and every write it waits for is watched (:meth:`Workspace.watch_slow`): any over
:data:`UI_QUERY_LIMIT_MS` is listed in ``ui_thread_slow``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

OPEN_TARGET_S = 2.0
UI_QUERY_LIMIT_MS = 50.0  # the UI thread never runs a statement (or waits for a write) longer than this
FRAME_BUDGET_MS = 33.0  # p95 slower than two 60 Hz frames: a drag visibly stutters


def _stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"frames": len(s), "median_ms": round(statistics.median(s), 1),
            "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1), "max_ms": round(s[-1], 1)}


class _PaintCounter:
    """Counts paint events of a widget, so a frame is rendered exactly once when timed."""

    def __init__(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class _Filter(QObject):
            def eventFilter(self, obj: Any, ev: Any) -> bool:  # noqa: N802 - Qt override
                if ev.type() == QEvent.Type.Paint:
                    counter.n += 1
                return False

        self.n = 0
        self.filter = _Filter()
        widget.installEventFilter(self.filter)


_counters: dict[int, _PaintCounter] = {}


def _frame(app: Any, widget: Any, action: Any = None) -> float:
    """Do ``action()``, let Qt handle it and paint ``widget`` once; milliseconds taken.

    The timelines' graphics view is shown (offscreen), so processing the events paints it; when
    nothing was painted (no change), one paint is forced so every frame costs a render.
    """
    view = widget.glw.viewport() if hasattr(widget, "glw") else widget
    counter = _counters.setdefault(id(view), _PaintCounter(view))
    t = time.perf_counter()
    before = counter.n
    if action is not None:
        action()
    app.processEvents()
    if counter.n == before:
        view.repaint()
    return (time.perf_counter() - t) * 1000.0


def _pan(app: Any, tl: Any, step_s: float, frames: int) -> list[float]:
    return [_frame(app, tl, lambda: tl.pan(step_s)) for _ in range(frames)]


def measure_open(app: Any, win: Any, case_id: int, timeout_s: float = 60.0) -> dict[str, float]:
    """Seconds from ``open_case`` to the first full paint, split into load and draw."""
    loaded: list[float] = []
    win.caseLoaded.connect(lambda _cid: loaded.append(time.perf_counter()))
    t0 = time.perf_counter()
    win.open_case(case_id)
    end = t0 + timeout_s
    while not loaded:
        if time.perf_counter() > end:
            raise TimeoutError(f"the case did not open within {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()
    win.grab()  # the whole window, timelines included, rendered once
    t1 = time.perf_counter()
    # The audio envelope (and the explanation at the cursor) arrive later from workers: wait for
    # them (bounded), so the frames timed next draw the waveform too and do not share the
    # interpreter with a decoder; what is timed is the window at rest being panned.
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    while ((getattr(win, "waveform_pending", False) or pool.activeThreadCount())
           and time.perf_counter() < t1 + timeout_s):
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    t2 = time.perf_counter()
    return {"open_to_drawn_s": round(t1 - t0, 3), "load_and_set_s": round(loaded[0] - t0, 3),
            "query_s": round(win.timings.get("load_s", 0.0), 3), "views_s": round(win.timings.get("set_s", 0.0), 3),
            "first_paint_s": round(t1 - loaded[0], 3), "waveform_drawn_s": round(t2 - t0, 3)}


def measure_pan_zoom(app: Any, win: Any, duration_s: float, frames: int = 40) -> dict[str, dict[str, float]]:
    """Frame times of panning a 60 s view, zooming in and out, and panning the whole hour."""
    tl = win.timeline
    out: dict[str, dict[str, float]] = {}
    mid = duration_s / 2
    tl.show_range(mid - 30.0, mid + 30.0)
    _frame(app, tl)
    out["pan_60s_view"] = _stats(_pan(app, tl, 1.5, frames))
    factors = [0.8 if (i // 10) % 2 == 0 else 1.25 for i in range(frames)]
    out["zoom"] = _stats([_frame(app, tl, lambda f=f: tl.zoom(f)) for f in factors])
    tl.show_range(0.0, duration_s)
    _frame(app, tl)
    out["pan_full_hour"] = _stats(_pan(app, tl, duration_s / 200, frames))
    return out


def measure_annotation(app: Any, win: Any, duration_s: float, adds: int = 10) -> dict[str, float]:
    """Milliseconds from pressing M (a point annotation added through the undo stack and written to
    the workspace) to the timelines repainted with it, on the open case; median and max of ``adds``."""
    tl = win.timeline
    tl.show_range(duration_s / 2 - 30.0, duration_s / 2 + 30.0)
    _frame(app, tl)
    ms = [_frame(app, tl, lambda k=k: tl.mark_point(duration_s / 2 - 25.0 + 5.0 * k)) for k in range(adds)]
    return {"adds": len(ms), "median_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1)}


def run_gui_bench(duration_s: float = 3600.0, fps: float = 30.0) -> dict[str, Any]:
    """Build the synthetic case, open it in the window offscreen, and time it; returns the report."""
    from app.ui.app import _app

    with tempfile.TemporaryDirectory(prefix="vigil-guibench-") as tmp:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = _app(screenshot=True)
        from app.services.synthetic import build_synthetic_case
        from app.store.workspace import Workspace
        from app.ui import theme
        from app.ui.main_window import MainWindow
        from app.ui.settings import Settings

        t = time.perf_counter()
        ws = Workspace.open(Path(tmp) / "bench.db")
        try:
            case_id = build_synthetic_case(ws, duration_s, fps)
            ws.flush()
            build_s = time.perf_counter() - t
            theme.apply_theme(app, "light")
            win = MainWindow(ws, Settings(Path(tmp) / "vigil.ini"), restore=False)
            win.save_state_on_close = False
            win.resize(1600, 1000)
            win.show()
            app.processEvents()
            watch = ws.watch_slow(UI_QUERY_LIMIT_MS)
            try:
                opened = measure_open(app, win, case_id)
                pan = measure_pan_zoom(app, win, duration_s)
                ann = measure_annotation(app, win, duration_s)
                for _ in range(ann["adds"]):  # and take them back, through the same stack
                    _frame(app, win.timeline, win.undo)
            finally:
                watch.stop()
                win.shutdown()
                win.close()
                win.deleteLater()
                app.processEvents()
        finally:
            from app.ui.workers import drain

            drain()
            ws.close()
    worst = max(v["p95_ms"] for v in pan.values())
    return {"case": {"duration_s": duration_s, "fps": fps, "frames": int(duration_s * fps),
                     "build_s": round(build_s, 1)},
            "open": opened, "open_target_s": OPEN_TARGET_S, "open_ok": opened["open_to_drawn_s"] < OPEN_TARGET_S,
            "pan_zoom": pan, "frame_budget_ms": FRAME_BUDGET_MS, "pan_zoom_ok": worst < FRAME_BUDGET_MS,
            "annotation_update_ms": ann["median_ms"], "annotation_update": ann,
            "ui_query_limit_ms": UI_QUERY_LIMIT_MS, "ui_thread_worst_query_ms": watch.worst_ms,
            "ui_thread_slow": [{"ms": ms, "sql": sql} for ms, sql in watch.slow[:20]],
            "ui_thread_ok": not watch.slow}


def format_gui_report(r: dict[str, Any]) -> str:
    """The report as lines of text."""
    o = r["open"]
    lines = [f"synthetic case: {r['case']['duration_s'] / 3600:.1f} h at {r['case']['fps']:g} fps "
             f"({r['case']['frames']} frames), built in {r['case']['build_s']} s",
             f"open case -> timelines drawn: {o['open_to_drawn_s']:.2f} s "
             f"(query {o['query_s']:.2f} s on a worker, views {o['views_s']:.2f} s, "
             f"first paint {o['first_paint_s']:.2f} s, waveform drawn at {o['waveform_drawn_s']:.2f} s); "
             f"target < {r['open_target_s']:g} s: {'ok' if r['open_ok'] else 'MISSED'}"]
    for name, s in r["pan_zoom"].items():
        lines.append(f"{name:14} {s['frames']} frames: median {s['median_ms']} ms, p95 {s['p95_ms']} ms, "
                     f"max {s['max_ms']} ms")
    a = r["annotation_update"]
    lines.append(f"annotation add (M) -> repainted: median {a['median_ms']} ms, max {a['max_ms']} ms "
                 f"over {a['adds']} adds")
    lines.append(f"pan/zoom p95 under {r['frame_budget_ms']:g} ms (no visible stutter): "
                 f"{'ok' if r['pan_zoom_ok'] else 'MISSED'}")
    lines.append(f"UI thread: slowest statement or write wait {r['ui_thread_worst_query_ms']} ms; over "
                 f"{r['ui_query_limit_ms']:g} ms: {len(r['ui_thread_slow'])} "
                 f"{'(ok)' if r['ui_thread_ok'] else '(MISSED)'}")
    for s in r["ui_thread_slow"][:5]:
        lines.append(f"  {s['ms']:8.1f} ms  {s['sql'][:100]}")
    return "\n".join(lines)
