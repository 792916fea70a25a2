"""Shows the decoded frame with its overlays: face box, mesh, live AU bars, forgery heat map.

Only painting happens here: the frame arrives as a ``QImage`` and the overlay as a dict from
:func:`app.services.timeline.frame_overlay`, both prepared off the UI thread by the player.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui.i18n import tr

OVERLAYS = ("box", "mesh", "aus", "forgery")
TOP_AUS = 5


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class VideoView(QWidget):
    """The picture of the current frame, scaled to fit, with switchable overlays."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self.overlay: dict[str, Any] | None = None
        self.frame_number: int | None = None
        self.enabled: dict[str, bool] = {k: True for k in OVERLAYS}
        self.enabled["mesh"] = False  # 478 points hide the face they describe; on demand
        self.message = ""

    def set_frame(self, image: QImage | None, overlay: dict[str, Any] | None, frame_number: int | None = None) -> None:
        """Show ``image`` with ``overlay`` (either may be None)."""
        self.image, self.overlay, self.frame_number = image, overlay, frame_number
        self.update()

    def set_message(self, text: str) -> None:
        """A line shown when there is no picture (e.g. "no video")."""
        self.message = text
        self.update()

    def set_overlay_enabled(self, name: str, on: bool) -> None:
        """Switch one of :data:`OVERLAYS` on or off."""
        self.enabled[name] = bool(on)
        self.update()

    def _target(self) -> QRectF:
        """Where the picture goes: centred, aspect ratio kept."""
        iw, ih = self.image.width(), self.image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#101214"))
        if self.image is None or self.image.isNull():
            p.setPen(QColor("#9aa0a6"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message or tr("No video"))
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self._target()
        p.drawImage(target, self.image)
        ov = self.overlay
        if ov:
            sx = target.width() / self.image.width()
            sy = target.height() / self.image.height()
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_face(p, ov, target, sx, sy)
            if self.enabled["aus"]:
                self._paint_aus(p, ov, target)
        p.end()

    def _paint_face(self, p: QPainter, ov: dict[str, Any], target: QRectF, sx: float, sy: float) -> None:
        box = ov.get("bbox")
        rect = None
        if box is not None and all(_finite(v) is not None for v in box):
            x, y, w, h = (float(v) for v in box)
            rect = QRectF(target.x() + x * sx, target.y() + y * sy, w * sx, h * sy)
        if rect is not None and self.enabled["forgery"]:
            score = _finite(ov.get("forgery"))
            if score is None:  # insufficient evidence: grey hatch, never a colour that reads as a score
                p.fillRect(rect, QBrush(QColor(160, 160, 160, 150), Qt.BrushStyle.BDiagPattern))
                tag = tr("Forgery: insufficient evidence")
            else:
                a = int(170 * min(max(score, 0.0), 1.0))  # faint when low: a tint must not alarm by itself
                p.fillRect(rect, QColor(220, 40, 40, a) if score >= 0.5 else QColor(240, 170, 30, a))
                tag = tr("Forgery") + f" {100 * score:.0f}%"
            fm = p.fontMetrics()
            box = QRectF(rect.x(), rect.y() - fm.height() - 4, fm.horizontalAdvance(tag) + 8, fm.height() + 4)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor("#f1f3f4"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, tag)
        if rect is not None and self.enabled["box"]:
            usable = bool(ov.get("usable", True))
            p.setPen(QPen(QColor("#34c759") if usable else QColor("#ff9f0a"), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
            if not usable and ov.get("reason"):
                p.drawText(rect.bottomLeft() + QPointF(2, 14), tr(str(ov["reason"])))
        mesh = ov.get("mesh")
        if self.enabled["mesh"] and mesh is not None and len(mesh):
            pts = np.asarray(mesh, dtype=np.float64)
            p.setPen(QPen(QColor(80, 200, 255, 220), 2.5))
            p.drawPoints([QPointF(target.x() + x * sx, target.y() + y * sy) for x, y in pts[:, :2]
                          if math.isfinite(x) and math.isfinite(y)])

    def _paint_aus(self, p: QPainter, ov: dict[str, Any], target: QRectF) -> None:
        aus = {k: _finite(v) for k, v in (ov.get("aus") or {}).items()}
        top = sorted(((v, k) for k, v in aus.items() if v is not None), reverse=True)[:TOP_AUS]
        if not top:
            return
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        p.setFont(font)
        fm = p.fontMetrics()
        row, bar_w, label_w = fm.height() + 2, 90.0, fm.horizontalAdvance("AU00 5.0 ")
        panel = QRectF(target.x() + 8, target.y() + 8, label_w + bar_w + 16, row * len(top) + 10)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(panel, 4, 4)
        for i, (v, name) in enumerate(top):
            y = panel.y() + 5 + i * row
            p.setPen(QColor("#f1f3f4"))
            p.drawText(QRectF(panel.x() + 6, y, label_w, row), Qt.AlignmentFlag.AlignVCenter, f"{name} {v:.1f}")
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#4da3ff"))
            p.drawRect(QRectF(panel.x() + 6 + label_w, y + 3, bar_w * min(max(v, 0.0), 5.0) / 5.0, row - 6))
