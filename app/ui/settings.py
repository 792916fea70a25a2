"""Per-user settings: language, theme, reviewer and supervisor names, window geometry and dock state.

Stored with QSettings in INI format (readable and editable by an administrator) as ``vigil.ini`` in
the platform's user config directory; ``VIGIL_SETTINGS_DIR`` points it elsewhere (tests, kiosks).
The file carries a ``schema_version``; :meth:`Settings._migrate` upgrades older files in place so
that a new release never loses a reviewer's name or layout (Friture's ``migrateSettings``).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from app.paths import APP_AUTHOR, APP_NAME

SCHEMA_VERSION = 1
# Bumped when the dock layout changes shape, so that restoreState() ignores an incompatible layout.
WINDOW_STATE_VERSION = 1
_LANGS = ("en", "zh")
_THEMES = ("light", "dark")


def settings_dir() -> Path:
    """Folder of ``vigil.ini``: ``VIGIL_SETTINGS_DIR`` if set, else the user config directory."""
    override = os.environ.get("VIGIL_SETTINGS_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


class Settings:
    """Typed access to the settings file; every setter writes through at once.

    Parameters
    ----------
    path : path-like, optional
        The INI file; default ``settings_dir() / "vigil.ini"``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else settings_dir() / "vigil.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._q = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._migrate()

    # -- schema ------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """Version of the file's layout (``SCHEMA_VERSION`` after opening)."""
        return int(self._q.value("schema_version", 0) or 0)

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            return  # written by a newer Vigil: read what we know, change nothing structural
        # Version 0 -> 1: an early build kept the names at top level ("reviewer"); move them to [user].
        if version < 1:
            for key in ("reviewer", "supervisor"):
                old = self._q.value(key)
                if old and not self._q.value(f"user/{key}"):
                    self._q.setValue(f"user/{key}", old)
                self._q.remove(key)
            self._q.setValue("schema_version", SCHEMA_VERSION)
            self._q.sync()

    # -- plain values ------------------------------------------------------------------------------
    def _get(self, key: str, default: str) -> str:
        value = self._q.value(key, default)
        return default if value is None else str(value)

    def _set(self, key: str, value: str) -> None:
        self._q.setValue(key, value)
        self._q.sync()

    @property
    def language(self) -> str:
        """UI language, ``"en"`` or ``"zh"``; defaults to the operating system's language."""
        from app.ui.i18n import normalize, system_language

        value = self._q.value("ui/language")
        return normalize(str(value)) if value else system_language()

    @language.setter
    def language(self, code: str) -> None:
        if code not in _LANGS:
            raise ValueError(f"unknown language {code!r}; choose one of {', '.join(_LANGS)}")
        self._set("ui/language", code)

    @property
    def theme(self) -> str:
        """``"light"`` (default) or ``"dark"``."""
        value = self._get("ui/theme", "light")
        return value if value in _THEMES else "light"

    @theme.setter
    def theme(self, name: str) -> None:
        if name not in _THEMES:
            raise ValueError(f"unknown theme {name!r}; choose one of {', '.join(_THEMES)}")
        self._set("ui/theme", name)

    @property
    def reviewer(self) -> str:
        """Name recorded with this user's decisions and annotations (empty until set)."""
        return self._get("user/reviewer", "").strip()

    @reviewer.setter
    def reviewer(self, name: str) -> None:
        self._set("user/reviewer", (name or "").strip())

    @property
    def supervisor(self) -> str:
        """Name last used to sign a case off (pre-fills the sign-off prompt)."""
        return self._get("user/supervisor", "").strip()

    @supervisor.setter
    def supervisor(self, name: str) -> None:
        self._set("user/supervisor", (name or "").strip())

    def value(self, key: str, default: object = None) -> object:
        """Any other value (e.g. a component's own ``group/key``), for components without a property."""
        return self._q.value(key, default)

    def set_value(self, key: str, value: object) -> None:
        """Store any other value under ``key`` and write the file."""
        self._q.setValue(key, value)
        self._q.sync()

    # -- window ------------------------------------------------------------------------------------
    def save_window(self, window: QMainWindow) -> None:
        """Remember ``window``'s geometry and its docks' and toolbars' layout."""
        self._q.setValue("window/geometry", window.saveGeometry())
        self._q.setValue("window/state", window.saveState(WINDOW_STATE_VERSION))
        self._q.sync()

    def restore_window(self, window: QMainWindow) -> bool:
        """Restore what :meth:`save_window` stored; ``False`` when nothing (usable) was stored."""
        geometry, state = self._q.value("window/geometry"), self._q.value("window/state")
        ok = False
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            ok = window.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            ok = window.restoreState(state, WINDOW_STATE_VERSION) and ok
        return ok

    def sync(self) -> None:
        """Write pending changes to disk."""
        self._q.sync()
