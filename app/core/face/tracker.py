"""Stable face identities across frames.

Faces are matched to tracks by box overlap with each track's last known box. A face that reappears
where a lost track was last seen (after looking away, say) gets that track back, so a single applicant
stays one identity for the whole session. Track ids are provisional labels; the *face* number shown to
users is assigned once the session is known: face 0 is the applicant, the largest persistent face
(largest summed box area over the session), then the others by the same measure. See
:func:`face_order`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.face.landmarker import FaceObservation
from app.core.face.roi import iou

__all__ = ["FaceTracker", "Track", "face_order", "iou"]


@dataclass
class Track:
    """What is known about one face identity so far."""

    id: int
    box: tuple[float, float, float, float]
    last_frame: int
    frames: int = 0
    area_sum: float = 0.0


@dataclass
class FaceTracker:
    """Greedy IoU tracker with re-acquisition of lost tracks at their last position.

    Parameters
    ----------
    min_iou : overlap needed to continue a track seen in the previous frames.
    reacquire_iou : overlap needed to give a lost track back to a reappearing face.
    """

    min_iou: float = 0.3
    reacquire_iou: float = 0.2
    tracks: dict[int, Track] = field(default_factory=dict)
    _next: int = 0

    def assign(self, frame: int, faces: list[FaceObservation]) -> list[int]:
        """Return a track id for each face of this frame (same order as ``faces``)."""
        pairs = sorted(
            ((iou(f.bbox, t.box), i, t.id) for i, f in enumerate(faces) for t in self.tracks.values()),
            reverse=True,
        )
        out: list[int | None] = [None] * len(faces)
        used: set[int] = set()
        for score, i, tid in pairs:
            if out[i] is not None or tid in used:
                continue
            recent = frame - self.tracks[tid].last_frame <= 2
            if score >= (self.min_iou if recent else self.reacquire_iou):
                out[i], _ = tid, used.add(tid)
        for i, f in enumerate(faces):
            if out[i] is None:
                out[i] = self._next
                self.tracks[self._next] = Track(self._next, f.bbox, frame)
                self._next += 1
            t = self.tracks[out[i]]
            t.box, t.last_frame = f.bbox, frame
            t.frames += 1
            t.area_sum += f.area
        return [int(x) for x in out]  # type: ignore[arg-type]

    @classmethod
    def restore(cls, states: dict[int, dict]) -> FaceTracker:
        """A tracker continuing from saved per-track states (``box``, ``last_frame``, ``frames``,
        ``area_sum``), as a resumed run needs."""
        tracker = cls()
        for tid, st in states.items():
            tracker.tracks[tid] = Track(tid, tuple(st["box"]), st["last_frame"], st["frames"], st["area_sum"])
        tracker._next = max(tracker.tracks, default=-1) + 1
        return tracker

    def order(self) -> dict[int, int]:
        """Provisional track -> face number mapping from what has been seen so far."""
        return face_order({t.id: t.area_sum for t in self.tracks.values()})


def face_order(area_sums: dict[int, float]) -> dict[int, int]:
    """Map track ids to face numbers: 0 for the largest summed area (the applicant), then 1, 2..."""
    ranked = sorted(area_sums, key=lambda tid: (-area_sums[tid], tid))
    return {tid: rank for rank, tid in enumerate(ranked)}
