"""User-interface language: English source strings are the keys, Simplified Chinese is a JSON table.

Why not Qt Linguist: the table must be editable by anyone on the team (and by a bank's own translator)
without the ``lupdate``/``lrelease`` tool chain, and a missing entry must fall back to readable English
instead of a blank. ``resources/i18n/zh_CN.json`` maps each English string to its Chinese text; it is
read once, on first use.

Every widget connects :func:`notifier` ``.changed`` to its ``retranslate()`` so that a language switch
updates visible text at once, without a restart. Strings that are defined in tables at import time and
translated later are marked with :func:`N_` so the completeness test finds them too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
import logging
from functools import lru_cache

from PySide6.QtCore import QLocale, QObject, Signal

from app.paths import resources_dir

log = logging.getLogger(__name__)

LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}  # each shown in its own language
_TABLE_FILES = {"zh": "zh_CN.json"}

_language = "en"


class _Notifier(QObject):
    """Carries the language-changed signal (one instance per process)."""

    changed = Signal(str)


_notifier: _Notifier | None = None


def notifier() -> _Notifier:
    """The object whose ``changed(str)`` signal fires after :func:`set_language` switches language."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


@lru_cache(maxsize=None)
def table(code: str) -> dict[str, str]:
    """The translation table of ``code`` (empty for English or when the file is missing or damaged)."""
    name = _TABLE_FILES.get(code)
    if name is None:
        return {}
    path = resources_dir() / "i18n" / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # A broken table must not stop the app: the UI falls back to English and says why in the log.
        log.warning("cannot read translation table %s (%s); showing English", path, exc)
        return {}
    return {str(k): str(v) for k, v in data.items() if not str(k).startswith("@")}


def tr(text: str) -> str:
    """``text`` in the current language; the English source when no translation exists."""
    if _language == "en":
        return text
    return table(_language).get(text) or text


def N_(text: str) -> str:  # noqa: N802 - the gettext convention, so the marker is recognisable
    """Mark ``text`` for translation without translating it now (translate with :func:`tr` later)."""
    return text


def language() -> str:
    """The current UI language code: ``"en"`` or ``"zh"``."""
    return _language


def normalize(code: str | None) -> str:
    """Map a language or locale code (``zh_CN``, ``zh-Hans``, ``en_US``, ``中文``) to ``"en"``/``"zh"``."""
    c = (code or "").strip().lower()
    if c.startswith("zh") or c in ("chinese", "中文", "简体中文"):
        return "zh"
    return "en"


def set_language(code: str) -> None:
    """Switch the UI language (``"en"`` or ``"zh"``) and notify every widget when it changed."""
    global _language
    new = normalize(code)
    if new == _language:
        return
    _language = new
    notifier().changed.emit(new)


@contextmanager
def borrowed(code: str) -> Iterator[None]:
    """Translate into ``code`` inside the block, then restore the UI's language, without the
    changed signal: a report written in the other language must not retranslate the open window."""
    global _language
    old, _language = _language, normalize(code)
    try:
        yield
    finally:
        _language = old


def system_language() -> str:
    """``"zh"`` when the operating system's locale is any Chinese locale, else ``"en"``."""
    loc = QLocale.system()
    if loc.language() == QLocale.Language.Chinese:
        return "zh"
    return normalize(loc.name())


# Display labels for stored codes. The stored value stays the code; only the label is translated.
STATUS_LABELS: dict[str, str] = {
    "new": N_("new"),
    "in_review": N_("in review"),
    "escalated": N_("escalated"),
    "cleared": N_("cleared"),
    "rejected": N_("rejected (fraud)"),
}

CUE_LABELS: dict[str, str] = {
    "temporal": N_("Temporal consistency"),
    "blink": N_("Blink pattern"),
    "headpose": N_("Head pose"),
    "avsync": N_("Audio-visual sync"),
    "sbi": N_("Blending artefacts (SBI)"),
    "freq": N_("Frequency artefacts"),
    "integrity": N_("Capture integrity"),  # the file-level cue the fusion also counts
}

# Shorter names for the forgery track's colour key, so it fits on one line above the plot.
CUE_SHORT_LABELS: dict[str, str] = {
    "temporal": N_("Temporal"),
    "blink": N_("Blink"),
    "headpose": N_("Head pose"),
    "avsync": N_("A/V sync"),
    "sbi": N_("Blending"),
    "freq": N_("Frequency"),
}


def status_label(code: str) -> str:
    """Translated label of a case status code (``"rejected"`` -> "rejected (fraud)")."""
    return tr(STATUS_LABELS.get(code, code))


def cue_label(name: str) -> str:
    """Translated label of a forgery cue key (``"avsync"`` -> "Audio-visual sync")."""
    return tr(CUE_LABELS.get(name, name))


def cue_short_label(name: str) -> str:
    """Translated short name of a forgery cue for a colour key (``"avsync"`` -> "A/V sync")."""
    return tr(CUE_SHORT_LABELS.get(name, CUE_LABELS.get(name, name)))
