"""Work off the UI thread: a generic background call, the analysis worker, and the live poller.

STYLE.md §3: the UI thread only shows things. Anything that reads more than a handful of rows,
decodes media or analyses runs here and hands its result back by a queued signal:

- :func:`run_in_thread` is Anki's ``QueryOp``: run ``fn()`` on the global thread pool and call
  ``on_success(result)`` (or ``on_failure(exc)``) on the UI thread. As Anki warns: never touch a
  widget inside ``fn``.
- :class:`AnalysisWorker` runs :func:`app.services.session.analyze_media` with a cancel flag and
  reports progress, the case it works on (as soon as it is registered) and how it ended.
- :class:`LivePoller` fetches the rows committed since the last poll once a second while an
  analysis runs, so the timelines grow batch by batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal

log = logging.getLogger("vigil.ui")


class _Relay(QObject):
    """Carries one result from a pool thread to the UI thread (created on the UI thread)."""

    succeeded = Signal(object)
    failed = Signal(object)


_live: set[_Relay] = set()  # relays waiting for their result; keeps them alive until delivery


class _Call(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn, self.relay = fn, relay

    def run(self) -> None:
        try:
            try:
                result = self.fn()
            except BaseException as exc:  # noqa: BLE001 - everything goes back to the UI thread
                self.relay.failed.emit(exc)
                return
            self.relay.succeeded.emit(result)
        except RuntimeError:  # the application is shutting down: nobody is left to receive it
            log.debug("background result dropped at shutdown")


def _report(exc: BaseException) -> None:
    from app.core.errors import VigilError

    if isinstance(exc, VigilError):
        log.warning("background task: %s", exc)
    else:
        log.error("background task failed", exc_info=(type(exc), exc, exc.__traceback__))


def run_in_thread(fn: Callable[[], Any], on_success: Callable[[Any], None] | None = None,
                  on_failure: Callable[[BaseException], None] | None = None) -> None:
    """Run ``fn()`` on the global thread pool; deliver its result on the UI thread.

    Parameters
    ----------
    fn : callable
        Runs on a pool thread. It must not touch any widget (Qt may crash).
    on_success : callable, optional
        Called on the UI thread with ``fn``'s return value.
    on_failure : callable, optional
        Called on the UI thread with the exception; by default the failure is logged.
    """
    relay = _Relay()
    _live.add(relay)

    def done(result: Any) -> None:
        _live.discard(relay)
        if on_success is not None:
            on_success(result)

    def failed(exc: BaseException) -> None:
        _live.discard(relay)
        (on_failure or _report)(exc)

    relay.succeeded.connect(done)
    relay.failed.connect(failed)
    QThreadPool.globalInstance().start(_Call(fn, relay))


class AnalysisWorker(QThread):
    """Analyse one recording (video and voice) into the workspace, cancellable.

    Signals
    -------
    registered(int)
        The case id, as soon as the file is probed and its case exists (before any frame).
    progress(int, int, float)
        Video frames done, total, seconds of video reached.
    voiceProgress(int, int, float)
        Utterances done, total, seconds of audio reached.
    finished_ok(object)
        The :class:`~app.services.session.SessionResult` of a complete run.
    failed(str)
        A plain-language message (bad input, missing model, ...); internal errors are logged.
    cancelled()
        Cancel was pressed; what was committed stays and the run is marked interrupted.
    """

    registered = Signal(int)
    progress = Signal(int, int, float)
    voiceProgress = Signal(int, int, float)
    finished_ok = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, ws: Any, path: str | Path, case_name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ws, self.path, self.case_name = ws, str(path), case_name
        self._cancel = threading.Event()
        self.case_id: int | None = None

    def cancel(self) -> None:
        """Ask the analysis to stop at its next batch (returns at once)."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        """Whether cancel was asked for."""
        return self._cancel.is_set()

    def run(self) -> None:  # noqa: D102 - QThread entry point
        from app.core.errors import VigilError
        from app.core.pipeline import PipelineConfig
        from app.services.analyze import register
        from app.services.session import analyze_media
        from app.services.voice import VoiceConfig

        try:
            video, voice = PipelineConfig(), VoiceConfig()
            # Registering first tells the window which case to show while the frames come in;
            # analyze_media then finds the same case by the file's hash.
            reg = register(self.ws, self.path, self.case_name, video.model_names() + voice.model_names(),
                           require_video=False)
            self.case_id = reg.case_id
            self.registered.emit(reg.case_id)
            res = analyze_media(self.ws, self.path, self.case_name, video, voice,
                                lambda d, n, t: self.progress.emit(int(d), int(n), float(t)),
                                lambda d, n, t: self.voiceProgress.emit(int(d), int(n), float(t)),
                                self._cancel.is_set)
        except KeyboardInterrupt:
            self.cancelled.emit()
            return
        except VigilError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug: say so plainly, keep the details in the log
            log.exception("analysis failed")
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc} (details in the log file)")
            return
        if res.interrupted:
            self.cancelled.emit()
        else:
            self.finished_ok.emit(res)


class LivePoller(QObject):
    """While an analysis runs, fetch the newly committed rows every ``interval_ms`` off the UI thread.

    Signals
    -------
    appended(object)
        A :class:`~app.services.timeline.TimelineData` holding only rows after the last poll.
    """

    appended = Signal(object)

    def __init__(self, ws: Any, case_id: int, after_frame: int = -1, interval_ms: int = 1000,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ws, self.case_id, self.after_frame = ws, case_id, after_frame
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        """Start polling."""
        self._timer.start()

    def stop(self) -> None:
        """Stop polling (a fetch in flight still delivers)."""
        self._timer.stop()

    def poll(self) -> None:
        """Fetch once unless the previous fetch is still running."""
        if self._busy:
            return
        self._busy = True
        ws, case_id, after = self.ws, self.case_id, self.after_frame

        def fetch() -> Any:
            from app.services.timeline import load_since

            return load_since(ws, case_id, after)

        run_in_thread(fetch, self._got, self._fail)

    def _fail(self, exc: BaseException) -> None:
        self._busy = False
        _report(exc)

    def _got(self, data: Any) -> None:
        self._busy = False
        if data is None or len(data.frame) == 0:
            return
        self.after_frame = int(data.frame[-1])
        self.appended.emit(data)


def drain(timeout_s: float = 30.0) -> bool:
    """Wait for the background calls still running (before closing the workspace they read)."""
    return QThreadPool.globalInstance().waitForDone(int(timeout_s * 1000))


def load_case(ws: Any, case_id: int) -> dict[str, Any]:
    """Everything a case needs on opening, read off the UI thread.

    Returns ``{"data": TimelineData, "tiers": [...], "case": row, "load_s": seconds}``; the waveform
    comes separately (it decodes audio) so the timelines show first.
    """
    import time

    from app.services import review, timeline

    t0 = time.perf_counter()
    data = timeline.load_timeline(ws, case_id)
    return {"data": data, "tiers": review.tiers(ws), "case": ws.find_case(case_id),
            "load_s": time.perf_counter() - t0}
