"""Imported AU tracks: another tool's AUs (``vigil import-au``), one line track per tool.

Each track draws the AUs selected for Vigil's "Selected AUs" track, in the same colours, on the
other tool's own scale (OpenFace: intensity 0-5; py-feat: presence probability 0-1), so a reviewer
sees whether the two rise and fall together. The values are the other tool's, never mixed with
Vigil's; the track exists only while the case has an import from that tool.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

from app.ui.i18n import N_, tr
from app.ui.timelines._base import SERIES, Track, fast_curve, fmt_time, nearest
from app.ui.timelines._series import SeriesItem

_TITLE = N_("AU ({source})")
_HINTS = {"intensity 0-5": N_("intensity 0–5"), "probability 0-1": N_("presence probability 0–1")}


class ReferenceAUTrack(Track):
    """One tool's imported AUs as thin lines (the AUs selected for Vigil's AU lines)."""

    stretch = 1.1
    y_range = (0.0, 5.0)

    def __init__(self, source: str, selected: list[str]) -> None:
        self.source = source
        self.key = f"au_ref:{source}"
        self.selected: list[str] = list(selected)
        self.curves: dict[str, SeriesItem] = {}
        self._ref: dict[str, Any] | None = None
        super().__init__()
        self.legend = self.add_legend()

    def set_data(self, data: Any) -> None:
        """Draw this tool's entry of ``data.references`` (nothing when the case has none)."""
        self._ref = next((r for r in (getattr(data, "references", None) or []) if r["source"] == self.source), None)
        top = float(self._ref["scale_max"]) if self._ref else 5.0
        self.set_y_range(0.0, top)
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (top / 2, ""), (top, f"{top:g}")]])
        self.retranslate()
        self._draw()

    def set_selected(self, names: list[str]) -> None:
        """Draw these AUs (those the tool has)."""
        self.selected = list(names)
        self._draw()

    def drawn(self) -> list[str]:
        """The AUs drawn now."""
        return list(self.curves)

    def restyle(self) -> None:
        """Series colours and the legend."""
        if hasattr(self, "legend"):
            self._draw()

    def retranslate(self) -> None:
        """Title "AU (tool)" and the tool's scale as the hint."""
        scale = (self._ref or {}).get("scale", "")
        fg, muted = self.colors["fg"], self.colors.get("muted", self.colors["fg"])
        hint = _HINTS.get(scale, "")
        hint = f"<br><span style='font-size:7pt; color:{muted}'>{tr(hint)}</span>" if hint else ""
        self.label.setText(f"<b>{tr(_TITLE).format(source=self.source)}</b>{hint}", color=fg, size="8pt")
        if hasattr(self, "legend"):
            self._legend()

    def hover_text(self, t: float, y: float) -> str:
        """The tool's values of the drawn AUs at its nearest row."""
        if not self._ref or not self.curves:
            return ""
        i = nearest(self._ref["t"], t)
        if i is None:
            return ""
        names = self._ref["au_names"]
        vals = [f"{a} {float(self._ref['aus'][i, names.index(a)]):.2f}" for a in self.curves
                if np.isfinite(self._ref["aus"][i, names.index(a)])]
        head = f"{tr(_TITLE).format(source=self.source)}  {fmt_time(self._ref['t'][i])}"
        return "\n".join([head, *(vals or [tr("no value")])])

    def _legend(self) -> None:
        entries = [(SERIES[self.selected.index(name) % len(SERIES)], name) for name in self.curves]
        self.legend.set_entries(entries, self.colors)

    def _draw(self) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.curves.clear()
        ref = self._ref
        if ref is not None:
            names = list(ref["au_names"])
            t = np.asarray(ref["t"], np.float64)
            aus = np.asarray(ref["aus"], np.float32).reshape(len(t), len(names))
            for k, name in enumerate(self.selected):
                if name not in names:
                    continue
                # The colour of the AU's line in Vigil's "Selected AUs" track (same position in the selection).
                c = fast_curve(pen=pg.mkPen(SERIES[k % len(SERIES)], width=1.4))
                self.plot.addItem(c)
                c.setData(t, aus[:, names.index(name)])
                self.curves[name] = c
        self._legend()


def sources(data: Any) -> list[str]:
    """The tools whose AUs ``data`` (a TimelineData) holds, in a stable order."""
    return sorted(r["source"] for r in (getattr(data, "references", None) or []))


def sync_tracks(view: Any, data: Any) -> bool:
    """Give ``view`` (a TimelineView) one :class:`ReferenceAUTrack` per tool in ``data``, right under
    its "Selected AUs" track; returns True when tracks were added or removed (the view re-lays out)."""
    want = sources(data)
    old = [t for t in view.tracks if isinstance(t, ReferenceAUTrack)]
    if [t.source for t in old] == want:
        return False
    keep = {t.source: t for t in old if t.source in want}
    for t in old:
        if t.source not in keep:
            t.plot.setXLink(None)
    refs = []
    for s in want:
        track = keep.get(s)
        if track is None:
            track = ReferenceAUTrack(s, view.au_lines.selected)
            view._wire(track)
            track.apply_colors(view._colors)
        refs.append(track)
    base = [t for t in view.tracks if not isinstance(t, ReferenceAUTrack)]
    i = base.index(view.au_lines) + 1
    view.tracks = base[:i] + refs + base[i:]
    return True
