"""Light and dark themes: the Qt palette (Fusion style), pyqtgraph's colours and named plot colours.

Colours that carry meaning (the 8 expressions, the default annotation tiers, speakers, risk) come from
the Okabe–Ito palette, which stays distinguishable for the common forms of colour blindness; black is
replaced by grey so that it shows on both backgrounds. Widgets that already exist when the theme
changes listen to :func:`notifier` and re-read :func:`colors`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.paths import resources_dir

THEMES = ("light", "dark")

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "grey": "#999999",
}
_O = OKABE_ITO

EXPRESSION_COLORS = {
    "neutral": _O["grey"], "happiness": _O["yellow"], "sadness": _O["blue"], "surprise": _O["sky_blue"],
    "fear": _O["reddish_purple"], "disgust": _O["bluish_green"], "anger": _O["vermillion"],
    "contempt": _O["orange"],
}
TIER_COLORS = {
    "Evasive": _O["orange"], "Inconsistent": _O["reddish_purple"], "Suspected deepfake": _O["vermillion"],
    "Baseline": _O["bluish_green"], "Note": _O["sky_blue"],
}
CUE_COLORS = {
    "temporal": _O["sky_blue"], "blink": _O["bluish_green"], "headpose": _O["orange"],
    "avsync": _O["reddish_purple"], "sbi": _O["blue"], "freq": _O["yellow"],
}

_BASE = {
    "light": {
        "bg": "#FFFFFF", "fg": "#1A1A1A", "panel": "#F4F5F7", "muted": "#6B6F76", "grid": "#D0D3D8",
        "cursor": "#D55E00", "selection": "#56B4E955", "link": "#0060A0", "error": "#B00020",
        "ok": "#00704F", "banner_bg": "#FFF4D6", "banner_fg": "#5A4500", "highlight_bg": "#FFD9A8",
        "highlight_fg": "#1A1A1A", "insufficient": "#9999994D", "waveform": "#4A5560",
        "risk": _O["vermillion"], "arousal": _O["blue"], "forgery": _O["reddish_purple"],
        "speaker_a": _O["sky_blue"], "speaker_b": _O["orange"], "applicant": _O["orange"],
        "heatmap_lo": "#FFFFFF", "heatmap_hi": "#0072B2",
    },
    "dark": {
        "bg": "#1E1F22", "fg": "#E6E6E6", "panel": "#2B2D31", "muted": "#A0A4AB", "grid": "#44474D",
        "cursor": "#F0E442", "selection": "#56B4E955", "link": "#7CC4F2", "error": "#FF6B6B",
        "ok": "#5CD6A8", "banner_bg": "#3A3320", "banner_fg": "#F5DFA0", "highlight_bg": "#8A4B00",
        "highlight_fg": "#FFFFFF", "insufficient": "#9999994D", "waveform": "#A8B4C0",
        "risk": "#FF7F3F", "arousal": _O["sky_blue"], "forgery": _O["reddish_purple"],
        "speaker_a": _O["sky_blue"], "speaker_b": _O["orange"], "applicant": _O["orange"],
        "heatmap_lo": "#1E1F22", "heatmap_hi": "#F0E442",
    },
}

_current = "light"


class _ThemeNotifier(QObject):
    """Carries the theme-changed signal (one instance per process)."""

    changed = Signal(str)


_notifier: _ThemeNotifier | None = None


def notifier() -> _ThemeNotifier:
    """Object whose ``changed(str)`` fires after :func:`apply_theme`; widgets re-read :func:`colors`."""
    global _notifier
    if _notifier is None:
        _notifier = _ThemeNotifier()
    return _notifier


def current() -> str:
    """Name of the theme last applied (``"light"`` until one is applied)."""
    return _current


def colors(name: str | None = None) -> dict[str, str]:
    """Named ``#rrggbb`` (or ``#rrggbbaa``) colours of theme ``name`` (default: the current theme).

    Keys: ``bg``, ``fg``, ``grid``, ``cursor``, ``risk``, ``forgery``, ``arousal``, ``waveform``,
    ``speaker_a``/``speaker_b``, ``applicant``, ``insufficient`` (shading where there is no evidence),
    ``selection``, ``link``, ``error``, ``highlight_bg``/``highlight_fg`` (risk words), one per
    expression (``"happiness"`` and ``"expr.happiness"``), one per default tier (``"Evasive"`` and
    ``"tier.Evasive"``), and one per forgery cue (``"cue.avsync"``).
    """
    theme = name or _current
    if theme not in _BASE:
        raise ValueError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    out = dict(_BASE[theme])
    for k, v in EXPRESSION_COLORS.items():
        out[k] = out[f"expr.{k}"] = v
    for k, v in TIER_COLORS.items():
        out[k] = out[f"tier.{k}"] = v
    for k, v in CUE_COLORS.items():
        out[f"cue.{k}"] = v
    if theme == "dark":
        out["neutral"] = out["expr.neutral"] = "#BBBBBB"
    return out


def palette(name: str) -> QPalette:
    """The Qt palette of theme ``name`` (built on the Fusion style's defaults)."""
    c = colors(name)
    fusion = QStyleFactory.create("Fusion")
    pal = fusion.standardPalette() if fusion is not None else QPalette()
    if name == "light":
        # Fusion's own light palette is already good; only links and highlights are set for contrast.
        pal.setColor(QPalette.ColorRole.Link, QColor(c["link"]))
        return pal
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    window, base, text = QColor(c["panel"]), QColor(c["bg"]), QColor(c["fg"])
    for role, col in {
        R.Window: window, R.WindowText: text, R.Base: base, R.AlternateBase: QColor("#26282C"),
        R.ToolTipBase: QColor("#33363B"), R.ToolTipText: text, R.Text: text, R.Button: window,
        R.ButtonText: text, R.BrightText: QColor("#FF6B6B"), R.Link: QColor(c["link"]),
        R.Highlight: QColor("#3D6FA5"), R.HighlightedText: QColor("#FFFFFF"),
        R.PlaceholderText: QColor(c["muted"]), R.Light: QColor("#3A3D42"), R.Midlight: QColor("#33363B"),
        R.Mid: QColor("#25272A"), R.Dark: QColor("#151618"), R.Shadow: QColor("#000000"),
    }.items():
        pal.setColor(role, col)
    grey = QColor("#7A7E85")
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(G.Disabled, role, grey)
    return pal


def apply_theme(app: QApplication, name: str) -> None:
    """Apply theme ``name`` (``"light"`` or ``"dark"``): Fusion style, palette, pyqtgraph defaults.

    Plots created afterwards pick up pyqtgraph's global background/foreground; existing plot widgets
    update through :func:`notifier` and :func:`colors`.
    """
    global _current
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    import pyqtgraph as pg

    c = colors(name)
    app.setStyle("Fusion")
    app.setPalette(palette(name))
    pg.setConfigOption("background", c["bg"])
    pg.setConfigOption("foreground", c["fg"])
    _current = name
    notifier().changed.emit(name)


def install_fonts() -> list[str]:
    """Register fonts shipped under ``resources/fonts`` (e.g. a CJK font); return their family names.

    Qt falls back to any system font that has the glyphs; on a machine without a Chinese font the
    Chinese UI shows empty boxes, so an installer can ship one here without code changes.
    """
    families: list[str] = []
    folder = Path(resources_dir()) / "fonts"
    if not folder.is_dir():
        return families
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".ttf", ".otf", ".ttc"):
            fid = QFontDatabase.addApplicationFont(str(path))
            if fid >= 0:
                families += QFontDatabase.applicationFontFamilies(fid)
    return families


def has_cjk_font() -> bool:
    """Whether any installed font can show Simplified Chinese."""
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))
