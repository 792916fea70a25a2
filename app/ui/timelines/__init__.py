"""Synchronised timelines of a case: expression, action units, forgery, voice and annotation lanes.

``TimelineView`` is the public widget; the modules behind it hold one track kind each.
(PySide6 is pinned to 6.11.3: shiboken6 6.12.0 drops a reference to ``None`` on every void Qt call
on Python 3.11 and aborts the interpreter after a few repaints.)
"""

from __future__ import annotations

from app.ui.timelines._view import TimelineView

__all__ = ["TimelineView"]
