"""Errors that reach the user as one clear line.

Anything raised as a :class:`VigilError` is an expected failure (bad input, missing model,
unwritable workspace). The CLI prints ``str(err)`` on one line and exits with status 2; the GUI shows
it in a dialog. Everything else is a bug and is logged with its traceback.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base class of every error whose message is meant for the user."""

    exit_code = 2


class MediaError(VigilError):
    """The media file is missing, empty, not a video, or damaged."""


class ModelError(VigilError):
    """A model file is missing or does not match its recorded sha256."""


class WorkspaceError(VigilError):
    """The workspace database cannot be created, opened or written."""


class CaseNotFound(VigilError):
    """No case matches the given id or name."""
