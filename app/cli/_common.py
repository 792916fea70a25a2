"""What the command modules share: the workspace option, progress bars and the stop-on-signal guard.

Every module of this package that defines ``register(sub)`` adds its own subcommands (see
``app.cli.build_parser``), so a new command lives in its own small module.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from app.paths import default_workspace


def add_workspace_arg(sp: argparse.ArgumentParser) -> None:
    """The ``--workspace DB`` option every command that reads or writes cases takes."""
    sp.add_argument("--workspace", metavar="DB", help=f"workspace database (default: {default_workspace()})")


def open_workspace(args: argparse.Namespace) -> Any:
    from app.store.workspace import Workspace

    return Workspace.open(args.workspace or default_workspace())


class Progress:
    """Rich progress bars on stderr, one per task, each shown from its first report.

    Nothing is drawn for a bad input, which fails before any progress is reported.
    """

    def __init__(self) -> None:
        self.bar = None
        self.tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def reporter(self, label: str, unit: str) -> Callable[[int, int, float], None]:
        """A progress callback for one task (thread-safe: voice reports from a worker)."""
        def report(done: int, total: int, t: float) -> None:
            with self._lock:
                if self.bar is None:
                    from rich.console import Console
                    from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                               TimeRemainingColumn)

                    self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                        TextColumn("{task.completed}/{task.total} {task.fields[unit]}"),
                                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                        console=Console(stderr=True))
                    self.bar.start()
                if label not in self.tasks:
                    self.tasks[label] = self.bar.add_task(label, total=total, unit=unit)
                self.bar.update(self.tasks[label], completed=done, total=max(total, done))
        return report

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


class StopOnSignal:
    """Ctrl-C or SIGTERM asks a long analysis to stop at its next batch; a second one stops at once.

    An exception raised at an arbitrary point of a multi-threaded pipeline (what Python does with
    SIGINT) can land while a worker thread waits on the main one. Asking instead lets every stage
    stop where it polls, commit, and mark its run for resuming.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._old: dict[int, Any] = {}

    def is_set(self) -> bool:
        return self._event.is_set()

    def _handle(self, signum: int, frame: object) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self._event.set()
        print("\nvigil: stopping after the current batch (press Ctrl-C again to stop at once)", file=sys.stderr)

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
