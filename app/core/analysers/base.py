"""What an analyser sees and returns.

An analyser is a pure function of a :class:`FaceBatch` plus its own small state (a running baseline,
the last CNN output of a track): it never touches Qt, SQL or files other than its verified model.
It returns named per-face columns, which the pipeline puts into the rows it yields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class FaceBatch:
    """The faces found in a batch of consecutive frames, one entry per (frame, face).

    Attributes
    ----------
    frame : (N,) frame indexes.
    track : (N,) track ids of the faces.
    usable : (N,) bool, passed the quality gate.
    raw : (N, F) raw features (:data:`app.core.analysers.au.RAW_NAMES`).
    crops : (N, 64, 64) uint8 upright grey face crops, or ``None`` rows are all-zero where not cut.
    has_crop : (N,) bool, whether ``crops`` holds a fresh crop for the entry.
    columns : the columns computed so far by the analysers before this one.
    patches : per entry, the face at native resolution with a wide margin (RGB) on the frames that
        get pixel forensics (every ``pixel_stride``-th usable frame), else None.
    patch_pts : the landmarks (478, 2) in each patch's pixel coordinates, or None.
    t : (N,) frame times in seconds.
    """

    frame: np.ndarray
    track: np.ndarray
    usable: np.ndarray
    raw: np.ndarray
    crops: np.ndarray
    has_crop: np.ndarray
    columns: dict[str, np.ndarray]
    patches: list[np.ndarray | None] = field(default_factory=list)
    patch_pts: list[np.ndarray | None] = field(default_factory=list)
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.frame)


class Analyser(Protocol):
    """A per-frame analyser behind the registry (see :mod:`app.core.analysers`)."""

    name: str
    models: tuple[str, ...]
    columns: tuple[str, ...]

    def process(self, batch: FaceBatch) -> dict[str, np.ndarray]:
        """Return ``{column: (N,) values}``; NaN on frames it cannot score."""
        ...
