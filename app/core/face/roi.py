"""Faces that are small in the frame: where to search for them, the crop to track one in, and the
exact mapping of a crop's landmarks back to the frame.

Why this exists: MediaPipe's FaceLandmarker runs its short-range BlazeFace detector on the whole
frame scaled down to 128x128, so a face needs to span roughly a sixth of the frame's longer side to
be found. A 1080p DFDC clip with a 110-px face, or a 500x338 movie shot with a 20-px face, gets no
face at all. :class:`app.core.face.landmarker.FaceLandmarker` therefore, when the whole-frame pass
finds fewer faces than asked for,

1. **searches** the frame in overlapping square tiles (:func:`tile_sides`, :func:`tiles`), coarse to
   fine, with the detector alone, so that a face spans a larger share of each tile;
2. **tracks** a face it found by running the landmarker on a square crop around the face's last box
   (:class:`Crop`, side :data:`CROP_SCALE` x the face size), moved only when the face drifts or
   changes size enough (:meth:`Crop.follow`), so the landmarker's own video-mode tracking keeps a
   steady input; a lost face is searched for again.

Mapping back (:meth:`Crop.to_frame`) is exact: a crop spans frame pixels ``[x0, x1) x [y0, y1)``
(width ``cw``, height ``ch``), and is only ever rescaled uniformly, edge to edge, so a landmark at
normalised crop coordinates ``(u, v, d)`` lies at ``((x0 + u cw) / W, (y0 + v ch) / H)`` in a ``W x
H`` frame, and its depth, which MediaPipe scales like x (normalised by the image width), becomes
``d cw / W``.

The facial transformation matrix of a crop-path face keeps its rotation: MediaPipe fits it to the
shape of the mesh, which the crop does not change. Its translation does change: it places the head
in a virtual camera looking at the crop, so x and y are relative to the crop's centre and z reflects
the face's size relative to the crop (the head looks closer than in the frame). Vigil reads only
the rotation (pose, :func:`app.core.face.geometry.face_frame`); do not compare translations between
whole-frame and crop-path faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_TILE = 48  # px: the smallest search tile (faces down to ~16 px high are found in it)
MAX_TILES = 160  # search budget: finer tile sizes are dropped once the tiles would exceed it
TILE_INPUT = 256  # px: larger tiles are scaled down to this before detection (the detector sees 128)
CROP_SCALE = 2.4  # crop side / face size (larger of the landmark box's width and height) when tracking
SEED_SCALE = 3.0  # crop side / detector box side for a face a search just found
MIN_CROP_INPUT = 256  # px: smaller crops are scaled up (uniformly) before the landmarker sees them
RECENTRE = 0.12  # move the crop when the face centre is this share of the crop side off its centre
RESIZE = 0.2  # or when the wanted crop side differs from the current one by this share


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def contains(box: tuple[float, float, float, float], x: float, y: float) -> bool:
    """Whether point ``(x, y)`` lies inside the ``(x, y, w, h)`` box."""
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def tile_sides(width: int, height: int, min_tile: int = MIN_TILE, max_tiles: int = MAX_TILES) -> list[int]:
    """Square tile sides to search, coarse to fine: the shorter frame side, then halves of it, down to
    ``min_tile``, as long as the tiles of all sides together stay within ``max_tiles``.

    The whole frame itself is not among them: the whole-frame pass has just looked at it.
    """
    sides: list[int] = []
    side, total = min(width, height), 0
    while side >= min_tile:
        n = len(tiles(width, height, side))
        if sides and total + n > max_tiles:
            break
        if n > 1 or width != height:  # a single tile equal to the frame adds nothing
            sides.append(side)
            total += n
        side //= 2
    return sides


def tiles(width: int, height: int, side: int) -> list[tuple[int, int]]:
    """Top-left corners of ``side`` x ``side`` tiles covering the frame with half-tile overlap (the
    last row and column are moved in to end at the frame's edge)."""
    def starts(extent: int) -> list[int]:
        last = max(extent - side, 0)
        out = list(range(0, last + 1, max(side // 2, 1)))
        if out[-1] != last:
            out.append(last)
        return out
    return [(x, y) for y in starts(height) for x in starts(width)]


def tile_image(image: np.ndarray, x: int, y: int, side: int) -> tuple[np.ndarray, float]:
    """The tile at ``(x, y)`` as a contiguous RGB array, scaled down to :data:`TILE_INPUT` when larger,
    and the factor from its pixels to frame pixels."""
    tile = image[y:y + side, x:x + side]
    if max(tile.shape[:2]) <= TILE_INPUT:
        return np.ascontiguousarray(tile), 1.0
    k = TILE_INPUT / max(tile.shape[:2])
    size = (max(1, round(tile.shape[1] * k)), max(1, round(tile.shape[0] * k)))
    return cv2.resize(tile, size, interpolation=cv2.INTER_AREA), tile.shape[1] / size[0]


def merge(candidates: list[tuple[tuple[float, float, float, float], float]],
          min_iou: float = 0.3) -> list[tuple[tuple[float, float, float, float], float]]:
    """Greedy non-maximum suppression of ``(box, score)`` detections from overlapping tiles: the
    best-scoring box of each overlapping group, best first."""
    kept: list[tuple[tuple[float, float, float, float], float]] = []
    for box, score in sorted(candidates, key=lambda c: -c[1]):
        if all(iou(box, k) < min_iou for k, _ in kept):
            kept.append((box, score))
    return kept


@dataclass(frozen=True)
class Crop:
    """A square region of the frame around a face (``cx``, ``cy`` its nominal centre, ``side`` its
    nominal side in frame pixels), clipped to a ``width`` x ``height`` frame."""

    cx: float
    cy: float
    side: float
    width: int
    height: int

    @classmethod
    def around(cls, box: tuple[float, float, float, float], scale: float, width: int, height: int) -> Crop:
        """The crop centred on ``box`` with side ``scale`` x the box's larger dimension."""
        x, y, w, h = box
        return cls(x + w / 2.0, y + h / 2.0, max(scale * max(w, h), 8.0), width, height)

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the frame pixels the crop covers (clipped; never empty)."""
        half = self.side / 2.0
        x0 = min(max(int(math.floor(self.cx - half)), 0), self.width - 1)
        y0 = min(max(int(math.floor(self.cy - half)), 0), self.height - 1)
        x1 = max(min(int(math.ceil(self.cx + half)), self.width), x0 + 1)
        y1 = max(min(int(math.ceil(self.cy + half)), self.height), y0 + 1)
        return x0, y0, x1, y1

    def cut(self, image: np.ndarray) -> np.ndarray:
        """The crop's pixels as a contiguous array, scaled up uniformly (edge to edge) when its longer
        side is under :data:`MIN_CROP_INPUT`; normalised coordinates are the same either way."""
        x0, y0, x1, y1 = self.bounds
        crop = image[y0:y1, x0:x1]
        longer = max(x1 - x0, y1 - y0)
        if longer >= MIN_CROP_INPUT:
            return np.ascontiguousarray(crop)
        k = MIN_CROP_INPUT / longer
        size = (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k)))
        return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)

    def to_frame(self, landmarks: np.ndarray) -> np.ndarray:
        """Landmarks normalised to the crop -> normalised to the frame (x, y and z; see the module
        docstring). The crop's upscaling, if any, does not enter: it maps edges onto edges."""
        x0, y0, x1, y1 = self.bounds
        cw, ch = x1 - x0, y1 - y0
        out = np.asarray(landmarks, dtype=np.float64).copy()
        out[:, 0] = (x0 + out[:, 0] * cw) / self.width
        out[:, 1] = (y0 + out[:, 1] * ch) / self.height
        out[:, 2] = out[:, 2] * cw / self.width
        return out.astype(np.float32)

    def follow(self, box: tuple[float, float, float, float]) -> Crop:
        """The crop for the next frame given the face's new box: this one while the face stays near
        its centre at a similar size (a steady input keeps video-mode tracking stable), else a
        new one centred on the face."""
        x, y, w, h = box
        want = CROP_SCALE * max(w, h)
        off = math.hypot(x + w / 2.0 - self.cx, y + h / 2.0 - self.cy)
        if off <= RECENTRE * self.side and abs(want / self.side - 1.0) <= RESIZE:
            return self
        return Crop.around(box, CROP_SCALE, self.width, self.height)
