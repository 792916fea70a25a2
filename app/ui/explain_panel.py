"""The explanation panel: why each score is what it is, at the cursor or over a selected interval.

The numbers come from :func:`app.services.timeline.explain`, run on a worker thread (napari's
request/response slicing: the request is a snapshot, the work runs off the UI thread, the result is
applied on the UI thread). Requests are coalesced: while one runs, only the newest waiting request is
kept, so scrubbing the cursor never queues up stale work, and a result that is no longer the newest
request is dropped. The result is rendered as rich text; evidence frames are links that emit
:attr:`ExplanationPanel.seekRequested` with the frame's time in seconds.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from app.core.errors import VigilError
from app.ui import i18n, theme
from app.ui._explain_html import render
from app.ui.i18n import tr

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(int, object, str)  # request id, result (dict or None), error message


class _Job(QRunnable):
    """Runs one explain request on the pool; never touches widgets (it may only emit)."""

    def __init__(self, req: int, fn: Callable[[], dict[str, Any]], signals: _Signals) -> None:
        super().__init__()
        self.req, self.fn, self.signals = req, fn, signals

    def run(self) -> None:  # noqa: D102 - QRunnable API
        result, error = None, ""
        try:
            result = self.fn()
        except VigilError as exc:
            error = str(exc)
        except Exception as exc:  # a bug: log it, show one line, keep the UI alive
            log.exception("explain failed")
            error = f"{type(exc).__name__}: {exc}"
        try:
            self.signals.done.emit(self.req, result, error)
        except RuntimeError:
            pass  # the panel was deleted while this ran


class _FrameClock:
    """Maps analysed frame numbers to seconds (exactly, also for variable-frame-rate video)."""

    def __init__(self, frames: np.ndarray, times: np.ndarray) -> None:
        order = np.argsort(frames)
        self.frames, self.times = np.asarray(frames)[order], np.asarray(times, dtype=float)[order]

    def seconds(self, frame: int) -> float | None:
        """Time of ``frame`` (of the nearest analysed frame); None outside the analysed range."""
        if self.frames.size == 0 or not self.frames[0] <= frame <= self.frames[-1]:
            return None  # e.g. a frame analysed after this clock was taken (live analysis)
        i = int(np.searchsorted(self.frames, frame))
        if self.frames[i] != frame and i > 0 and frame - self.frames[i - 1] < self.frames[i] - frame:
            i -= 1
        return float(self.times[i])


class ExplanationPanel(QWidget):
    """Shows the face, forgery, speech and baseline evidence behind the scores at a time or interval."""

    seekRequested = Signal(float)
    explained = Signal()  # a result (or error) for the newest request is on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws: Any = None
        self._case: int | None = None
        self._clock: _FrameClock | None = None
        self._req = 0
        self._pending: tuple[int, Callable[[], dict[str, Any]]] | None = None
        self._busy = False
        self._result: dict[str, Any] | None = None
        self._error = ""
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)

        self._browser = QTextBrowser(self)
        self._browser.setOpenLinks(False)
        self._browser.anchorClicked.connect(self._on_anchor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._browser, 1)
        i18n.notifier().changed.connect(self.retranslate)
        theme.notifier().changed.connect(self.retranslate)
        self.retranslate()

    # -- public API --------------------------------------------------------------------------------
    def set_case(self, ws: Any, case_id: int | None) -> None:
        """Explain scores of ``case_id`` in workspace ``ws`` from now on (clears what is shown)."""
        self._ws, self._case, self._clock = ws, case_id, None
        self._req += 1  # results for the previous case are stale
        self._pending, self._result, self._error = None, None, ""
        self._render()

    def set_frame_clock(self, frames: np.ndarray, times: np.ndarray) -> None:
        """Give the frame-number -> seconds map (e.g. from the window's TimelineData) to save a query."""
        self._clock = _FrameClock(np.asarray(frames), np.asarray(times))

    def show_at(self, t: float) -> None:
        """Explain the scores at time ``t`` (seconds): the nearest frame and the utterance under it."""
        self._request(float(t), None)

    def show_interval(self, t0: float, t1: float) -> None:
        """Explain the scores over ``[t0, t1]`` seconds."""
        a, b = sorted((float(t0), float(t1)))
        self._request(a, b)

    def result(self) -> dict[str, Any] | None:
        """The explanation on screen (the dict from ``timeline.explain``), or None."""
        return self._result

    def text(self) -> str:
        """The panel's visible text (for tests and copy)."""
        return self._browser.toPlainText()

    def wait_idle(self, msecs: int = 10000) -> bool:
        """Block until the worker is idle (tests, shutdown); True when it finished in time."""
        return self._pool.waitForDone(msecs)

    # -- worker plumbing ---------------------------------------------------------------------------
    def _request(self, t0: float, t1: float | None) -> None:
        if self._ws is None or self._case is None:
            return
        self._req += 1
        ws, case_id, clock = self._ws, self._case, self._clock

        def job() -> dict[str, Any]:
            from app.services import timeline

            res = timeline.explain(ws, case_id, t0, t1)
            return _attach_times(ws, case_id, res, clock)

        self._pending = (self._req, job)
        if not self._busy:
            self._start_next()

    def _start_next(self) -> None:
        if self._pending is None:
            return
        req, job = self._pending
        self._pending = None
        self._busy = True
        if self._result is None and not self._error:
            self._browser.setHtml(f"<p>{html.escape(tr('Computing…'))}</p>")
        self._pool.start(_Job(req, job, self._signals))

    def _on_done(self, req: int, result: object, error: str) -> None:
        self._busy = False
        if req == self._req:
            self._result = result if isinstance(result, dict) else None
            self._error = error
            clock = self._result.pop("_clock", None) if self._result else None
            if isinstance(clock, _FrameClock):
                self._clock = clock
            self._render()
            self.explained.emit()
        self._start_next()

    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("seek:"):
            try:
                self.seekRequested.emit(float(text[5:]))
            except ValueError:
                log.warning("bad seek link %r", text)

    # -- rendering ---------------------------------------------------------------------------------
    def retranslate(self, *_: object) -> None:
        """Re-render headings and texts in the current language and theme colours."""
        c = theme.colors()
        # Set explicitly: the document's own colours assume this background, palette change or not.
        self._browser.setStyleSheet(f"QTextBrowser {{ background-color:{c['bg']}; color:{c['fg']}; }}")
        self._render()

    def _render(self) -> None:
        c = theme.colors()
        if self._error:
            msg = tr("Cannot explain this time: {0}").format(tr(self._error))
            self._browser.setHtml(f'<p style="color:{c["error"]}">{html.escape(msg)}</p>')
            return
        if self._result is None:
            hint = tr("Select a time on the timeline to see why each score is what it is.")
            self._browser.setHtml(f'<p style="color:{c["muted"]}">{html.escape(hint)}</p>')
            return
        self._browser.setHtml(render(self._result, c))


def _attach_times(ws: Any, case_id: int, res: dict[str, Any], clock: _FrameClock | None) -> dict[str, Any]:
    """Add the time in seconds of every forgery evidence frame (the window's and each cue's own
    ``evidence_frames``) as ``forgery["frame_times"]`` {frame: seconds}; runs on the worker."""
    forgery = dict(res.get("forgery") or {})
    frames = {int(f) for f in forgery.get("evidence_frames") or []}
    for cue in (forgery.get("cues") or {}).values():
        frames.update(int(f) for f in ((cue or {}).get("evidence") or {}).get("evidence_frames") or [])
    if not frames:
        return res
    if clock is None or any(clock.seconds(f) is None for f in frames):
        from app.services import timeline

        data = timeline.load_timeline(ws, case_id)  # once per case, or when the analysis has grown
        clock = _FrameClock(np.asarray(data.frame), np.asarray(data.t))
        res = dict(res, _clock=clock)
    forgery["frame_times"] = {f: clock.seconds(f) for f in sorted(frames)}
    return dict(res, forgery=forgery)
