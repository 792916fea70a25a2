"""The one place that knows where resources, models and user directories live.

When frozen by PyInstaller the bundle root is ``sys._MEIPASS``; otherwise it is the repository root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Vigil"
APP_AUTHOR = "Vigil"


def frozen() -> bool:
    """True in the PyInstaller bundle (``make package``), False when run from a source installation."""
    return bool(getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"))


def bundle_root() -> Path:
    """Directory that holds ``models/`` and ``resources/`` (repo root, or PyInstaller's _MEIPASS)."""
    if frozen():
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    """Directory of bundled model files and ``manifest.json`` (``VIGIL_MODELS`` overrides)."""
    return Path(os.environ.get("VIGIL_MODELS", bundle_root() / "models"))


def resources_dir() -> Path:
    """Directory of lexicons, icons and sample media."""
    return bundle_root() / "resources"


def assembled_models_dir() -> Path:
    """Where models joined from carrier packages live (``assembled:`` manifest entries).

    In a frozen bundle they were joined at build time into its ``models/``; otherwise they are joined
    on first use into the user cache.
    """
    if frozen():
        return bundle_root() / "models"
    return user_cache_dir() / "models"


def user_data_dir() -> Path:
    """Per-user data directory (``VIGIL_DATA_DIR`` overrides, e.g. for tests)."""
    override = os.environ.get("VIGIL_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def default_workspace() -> Path:
    """The default case-file database: ``workspace.db`` in the user data directory."""
    return user_data_dir() / "workspace.db"


def user_log_dir() -> Path:
    """Directory for the rotating log file."""
    override = os.environ.get("VIGIL_DATA_DIR")
    return Path(override) / "logs" if override else Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def user_cache_dir() -> Path:
    """Directory for assembled model files and other re-creatable data."""
    override = os.environ.get("VIGIL_DATA_DIR")
    return Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))
