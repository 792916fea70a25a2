"""Per-window manipulation cues over per-frame face data (see :mod:`app.core.forensics.cues.base`)."""
